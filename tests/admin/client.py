"""A recording admin client (python-socketio AsyncClient) with bounded waits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

ADMIN = "/admin"
WAIT = 5.0


class AdminClient:
    """Records every admin event in order; ``wait_for`` blocks (bounded) for one."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.connect_error: Any = None
        self._changed = asyncio.Event()

        @self.sio.on("*", namespace=ADMIN)
        def _any(event: str, *args: Any) -> None:
            self.events.append((event, args))
            self._changed.set()

        @self.sio.on("connect_error", namespace=ADMIN)
        def _error(data: Any) -> None:
            self.connect_error = data
            self._changed.set()

    async def connect(self, url: str, auth: Any, *, expect_ok: bool = True) -> None:
        try:
            await asyncio.wait_for(
                self.sio.connect(
                    url, namespaces=[ADMIN], auth=auth, transports=["websocket"], wait_timeout=WAIT
                ),
                WAIT * 2,
            )
        except socketio.exceptions.ConnectionError:
            if expect_ok:
                raise
            return
        if not expect_ok:
            raise AssertionError("admin login unexpectedly accepted")

    @property
    def client_id(self) -> str:
        return self.sio.eio.sid[:12]

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for ev, args in self.events if ev == name]

    async def wait_for(
        self,
        name: str,
        pred: Callable[..., bool] = lambda *a: True,
        *,
        since: int = 0,
        timeout: float = WAIT,
    ) -> tuple[Any, ...]:
        """The first ``name`` event at index >= ``since`` whose args satisfy ``pred``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for ev, args in self.events[since:]:
                if ev == name and pred(*args):
                    return args
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"no {name} within {timeout}s; got {[e for e, _ in self.events]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    async def command(self, name: str, *args: Any) -> None:
        await self.sio.emit(name, tuple(args), namespace=ADMIN)  # a tuple: one arg each

    async def close(self) -> None:
        await self.sio.disconnect()


async def polling_admin_login(
    http: aiohttp.ClientSession, server_url: str, auth: dict[str, Any], until: str
) -> str:
    """Log in to ``/admin`` over hand-written Engine.IO long-polling; return the poll URL.

    Tests that must stop reading (a stalled admin client) cannot use a real client
    library, which always polls. This reads until the CONNECT ack and the event named
    ``until`` have both arrived (bounded: 20 polls of at most 5 s), then the caller
    stops polling.
    """
    base = f"{server_url}/socket.io/?EIO=4&transport=polling"
    async with http.get(base) as resp:
        sid = json.loads((await resp.text())[1:])["sid"]
    url = f"{base}&sid={sid}"
    async with http.post(url, data="40/admin," + json.dumps(auth)) as resp:
        assert resp.status == 200
    seen = ""
    for _ in range(20):
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            seen += await resp.text()
        if "40/admin," in seen and until in seen:
            break
    assert "40/admin," in seen and until in seen
    return url
