"""The README's cluster example runs as printed: two servers on one real Redis, a
python-socketio client on each; each sees the other's users and chat lines."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest
import socketio

from tests.cluster.peers import WAIT
from tests.conftest import ROOT, free_port
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A cluster on Redis", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def connect(port: int, name: str) -> socketio.AsyncClient:
    """A client of the server on ``port``, retried until the server listens."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(f"http://127.0.0.1:{port}", auth={"name": name}, wait_timeout=WAIT)
            return client
        except socketio.exceptions.ConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_readme_cluster_example(redis_server: RedisServer) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_cluster"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    ports = [free_port(), free_port()]
    servers = [asyncio.ensure_future(namespace["serve"](p, redis_server.url)) for p in ports]
    clients: list[socketio.AsyncClient] = []
    try:
        alice = await connect(ports[0], "alice")
        bob = await connect(ports[1], "bob")
        clients += [alice, bob]
        lines: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        bob.on("chat", lambda user, text: lines.put_nowait((user, text)))
        who: Any = None
        for _ in range(100):  # until both servers' subscriptions are confirmed
            who = await bob.call("who", timeout=WAIT)
            if who == ["alice", "bob"]:
                break
            await asyncio.sleep(0.05)
        assert who == ["alice", "bob"]
        assert await alice.call("who", timeout=WAIT) == ["alice", "bob"]
        await alice.emit("chat", "hi from server one")
        assert await asyncio.wait_for(lines.get(), WAIT) == ("alice", "hi from server one")
    finally:
        for client in clients:
            if client.connected:
                await asyncio.wait_for(client.disconnect(), WAIT)
        for server in servers:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(server, WAIT)
