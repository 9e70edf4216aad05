"""Fixtures for the Socket.IO server tests: a real server on 127.0.0.1:0.

Test modules import ``serve_fixture`` (the fixture named ``serve``) by name, so each
module says which fixtures it uses. ``serve`` is parametrised over ``SIO_HOSTS``: each
test that uses it runs with the same ``Server`` attached to aiohttp and served as an
ASGI app by uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp import web

from sioscope.server import Server
from tests.asgi_hosts import UVICORN, serve_asgi

WAIT = 5.0
"""Upper bound of any single wait in these tests (seconds)."""

Factory = Callable[..., Awaitable[tuple[Server, str]]]

AIOHTTP = "aiohttp"
SIO_HOSTS = [AIOHTTP, UVICORN]


async def listen(io: Server) -> tuple[web.AppRunner, str]:
    """Serve ``io`` on 127.0.0.1 at a free port: (runner, "http://127.0.0.1:<port>")."""
    app = web.Application()
    io.attach(app)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture(name="serve", params=SIO_HOSTS)
async def serve_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """``await serve(**server_options)`` -> (io, "http://127.0.0.1:<port>"), on aiohttp
    or (``io.asgi_app()``) on uvicorn."""
    host = str(request.param)
    servers: list[Server] = []
    async with AsyncExitStack() as stack:

        async def start(
            setup: Callable[[Server], Any] | None = None, **opts: Any
        ) -> tuple[Server, str]:
            opts.setdefault("ping_interval", 0.5)
            opts.setdefault("ping_timeout", 0.5)
            io = Server(**opts)
            if setup is not None:
                setup(io)
            if host == AIOHTTP:
                runner, url = await listen(io)
                stack.push_async_callback(_bounded, runner.cleanup())
            else:
                url = await stack.enter_async_context(serve_asgi(io.asgi_app(), host))
            stack.push_async_callback(_bounded, io.close())
            servers.append(io)
            return io, url

        yield start


async def _bounded(aw: Awaitable[Any]) -> None:
    await asyncio.wait_for(aw, WAIT)


async def wait_for(fut: Awaitable[Any], timeout: float = WAIT) -> Any:
    """Await with the suite's bound."""
    return await asyncio.wait_for(fut, timeout)


@pytest.fixture(name="py_client")
async def py_client_fixture() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await py_client(url, **connect_kwargs)`` -> a connected python-socketio client."""
    import socketio

    made: list[socketio.AsyncClient] = []

    async def connect(
        url: str, *, setup: Callable[[Any], Any] | None = None, **kwargs: Any
    ) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        if setup is not None:
            setup(client)
        made.append(client)
        kwargs.setdefault("wait_timeout", WAIT)
        await client.connect(url, **kwargs)
        return client

    yield connect
    for client in made:
        if client.connected:
            await asyncio.wait_for(client.disconnect(), WAIT)


class Recorder:
    """Collects calls and lets a test await the n-th one, bounded."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._changed = asyncio.Event()

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)
        self._changed.set()

    async def wait(self, count: int = 1, timeout: float = WAIT) -> list[tuple[Any, ...]]:
        async def until() -> None:
            while len(self.calls) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.calls

    async def wait_until(
        self, predicate: Callable[[list[tuple[Any, ...]]], bool], timeout: float = WAIT
    ) -> list[tuple[Any, ...]]:
        """Wait until ``predicate(calls)`` holds."""

        async def until() -> None:
            while not predicate(self.calls):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.calls
