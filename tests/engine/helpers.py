"""Raw-protocol helpers: a polling handshake and bounded WebSocket reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import websockets

from .conftest import EchoServer


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
