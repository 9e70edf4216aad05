"""Raw Engine.IO/Socket.IO peers for conformance tests: frames written by hand.

``RawWs`` speaks WebSocket with the ``websockets`` library; ``RawPolling`` speaks HTTP
long-polling with aiohttp's client. Neither knows Socket.IO: tests write the exact
strings the protocol documents and read back what the server sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

WAIT = 5.0


class RawWs:
    """A WebSocket Engine.IO v4 peer that answers pings unless told not to."""

    def __init__(self, ws: ClientConnection, handshake: dict[str, Any]) -> None:
        self.ws = ws
        self.handshake = handshake
        self.auto_pong = True

    @classmethod
    async def open(cls, base_url: str, path: str = "/socket.io/", query: str = "") -> RawWs:
        url = base_url.replace("http://", "ws://") + f"{path}?EIO=4&transport=websocket{query}"
        ws = await asyncio.wait_for(connect(url, compression=None), WAIT)
        first = await asyncio.wait_for(ws.recv(), WAIT)
        assert isinstance(first, str) and first.startswith("0"), first
        return cls(ws, json.loads(first[1:]))

    async def send(self, *messages: str | bytes) -> None:
        """Send Engine.IO messages: text gets the ``4`` prefix, bytes go as is."""
        for message in messages:
            await self.ws.send("4" + message if isinstance(message, str) else message)

    async def send_raw(self, frame: str | bytes) -> None:
        await self.ws.send(frame)

    async def recv(self, timeout: float = WAIT) -> str | bytes:
        """The next Socket.IO message (pings answered and skipped)."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            if isinstance(frame, bytes):
                return frame
            if frame == "2":
                if self.auto_pong:
                    await self.ws.send("3")
                continue
            assert frame.startswith("4"), frame
            return frame[1:]

    async def recv_frame(self, timeout: float = WAIT) -> str | bytes:
        """The next raw frame, pings included."""
        return await asyncio.wait_for(self.ws.recv(), timeout)

    async def closed(self, timeout: float = WAIT) -> bool:
        """Wait until the server closes the WebSocket (frames before it are skipped)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed:
            return True

    async def close(self) -> None:
        await self.ws.close()


class RawPolling:
    """An HTTP long-polling Engine.IO v4 peer."""

    def __init__(self, session: aiohttp.ClientSession, url: str, sid: str) -> None:
        self.session = session
        self.url = url
        self.sid = sid

    @classmethod
    async def open(cls, base_url: str, session: aiohttp.ClientSession) -> RawPolling:
        url = f"{base_url}/socket.io/?EIO=4&transport=polling"
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=WAIT)) as resp:
            body = await resp.text()
        assert body.startswith("0"), body
        sid = json.loads(body[1:])["sid"]
        return cls(session, f"{url}&sid={sid}", sid)

    async def post(self, *packets: str) -> int:
        body = "\x1e".join(packets)
        async with self.session.post(
            self.url,
            data=body.encode(),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
            timeout=aiohttp.ClientTimeout(total=WAIT),
        ) as resp:
            await resp.read()
            return resp.status

    async def get(self) -> tuple[int, list[str]]:
        async with self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=WAIT)) as resp:
            body = await resp.text()
            return resp.status, body.split("\x1e") if resp.status == 200 else [body]
