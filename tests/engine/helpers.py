"""Raw-protocol helpers: a polling handshake and bounded WebSocket reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import websockets

from tests.conftest import start_node_script

from .conftest import EchoServer


@asynccontextmanager
async def node_engine_server(
    node_bin: str, *args: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """Node's engine.io echo server (engine-node-server.js): the process, which logs
    each session's events as JSON lines on stdout, and its port. Stopped on exit."""
    proc, first = await start_node_script(node_bin, "engine-node-server.js", *args, timeout=10)
    assert proc.stdin is not None
    try:
        yield proc, first["port"]
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def show_data(data: object) -> object:
    """A packet's data as engine-node-server.js logs it: text as is, binary as hex."""
    if data is None or isinstance(data, str):
        return data
    return {"hex": bytes(data).hex()}  # type: ignore[arg-type]


def conn_trace(srv: EchoServer, sid: str) -> list[dict[str, Any]]:
    """The ``conn`` events ``srv`` recorded for ``sid``, in the shape
    engine-node-server.js logs Node's, so the two traces compare with ``==``."""
    trace: list[dict[str, Any]] = []
    for s, name, args in srv.events:
        if s != sid:
            continue
        if name in ("packet", "packetCreate"):
            packet = args[0]
            trace.append(
                {"ev": name, "type": packet["type"], "data": show_data(packet.get("data"))}
            )
        elif name == "message":
            trace.append({"ev": name, "data": show_data(args[0])})
        elif name == "close":
            trace.append({"ev": name, "reason": args[0]})
        else:
            trace.append({"ev": name})
    return trace


async def handshake(http: aiohttp.ClientSession, srv: EchoServer) -> dict[str, Any]:
    """Open a polling session; returns the parsed open packet."""
    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.status == 200
        body = await resp.text()
    assert body[0] == "0"
    return json.loads(body[1:])


async def get(http: aiohttp.ClientSession, srv: EchoServer, sid: str) -> tuple[int, str]:
    async with http.get(srv.endpoint(f"EIO=4&transport=polling&sid={sid}")) as resp:
        return resp.status, await resp.text()


async def post(
    http: aiohttp.ClientSession, srv: EchoServer, sid: str, body: str | bytes
) -> tuple[int, str]:
    async with http.post(srv.endpoint(f"EIO=4&transport=polling&sid={sid}"), data=body) as resp:
        return resp.status, await resp.text()


async def recv(ws: websockets.ClientConnection, timeout: float = 2.0) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_skipping_pings(ws: websockets.ClientConnection, timeout: float = 2.0) -> str | bytes:
    """Next frame that is not a ping (answering pings so the session stays up)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.recv()
            if frame == "2":
                await ws.send("3")
                continue
            return frame
