"""Real servers for the inspector's tests: Node's socket.io + @socket.io/admin-ui, and ours."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import start_node_script

STARTUP_TIMEOUT = 15.0


@dataclass
class NodeAdminServer:
    """A running ``inspector-node-server.js``; ``lines`` gets its JSON output lines."""

    proc: asyncio.subprocess.Process
    port: int
    sockets: list[str]
    lines: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def next_line(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict:
        async def find() -> dict[str, Any]:
            while True:
                line = await self.lines.get()
                if pred(line):
                    return line

        return await asyncio.wait_for(find(), timeout)


async def start_node_admin(node_bin: str, *args: str) -> NodeAdminServer:
    proc, info = await start_node_script(
        node_bin, "inspector-node-server.js", *args, timeout=STARTUP_TIMEOUT
    )
    server = NodeAdminServer(proc, info["port"], info["sockets"])

    async def pump() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            with contextlib.suppress(ValueError):
                server.lines.put_nowait(json.loads(line))

    server._pump = asyncio.ensure_future(pump())  # type: ignore[attr-defined]
    return server


async def stop_node_admin(server: NodeAdminServer) -> None:
    assert server.proc.stdin is not None
    server.proc.stdin.close()
    try:
        await asyncio.wait_for(server.proc.wait(), 5)
    except TimeoutError:
        server.proc.kill()
        await server.proc.wait()
    server._pump.cancel()  # type: ignore[attr-defined]


@pytest.fixture
async def node_admin(node_bin: str) -> AsyncIterator[NodeAdminServer]:
    server = await start_node_admin(node_bin, "--clients", "3")
    yield server
    await stop_node_admin(server)


@pytest.fixture
async def node_admin_readonly(node_bin: str) -> AsyncIterator[NodeAdminServer]:
    server = await start_node_admin(node_bin, "--clients", "2", "--readonly")
    yield server
    await stop_node_admin(server)


@pytest.fixture
async def our_demo() -> AsyncIterator[Any]:
    from sioscope.inspector.demo import Demo

    demo = Demo(clients=4, seed=3)
    await asyncio.wait_for(demo.start(), STARTUP_TIMEOUT)
    yield demo
    await demo.stop()


async def wait_for(pred: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Poll ``pred`` until true; fail with the timeout instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


@dataclass
class PysioAdminServer:
    """python-socketio's own ``AsyncServer.instrument()`` on aiohttp, with one app socket."""

    url: str
    sio: Any
    runner: Any
    clients: list[Any]


@pytest.fixture
async def pysio_admin() -> AsyncIterator[PysioAdminServer]:
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp")
    # python-socketio compares the whole auth object with this dict (admin-ui.md §6).
    sio.instrument(auth={"username": "admin", "password": "s3cret"}, server_stats_interval=1)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    app_client = socketio.AsyncClient()
    await app_client.connect(url, transports=["websocket"])
    server = PysioAdminServer(url, sio, runner, [app_client])
    yield server
    for client in server.clients:
        with contextlib.suppress(Exception):
            await client.disconnect()
    with contextlib.suppress(Exception):
        await sio.shutdown()
    await runner.cleanup()
