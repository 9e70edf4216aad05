"""An echo Engine.IO server on 127.0.0.1:0, configured as the official conformance suite.

The same ``EngineServer`` is served by either driver: ``echo`` and ``make_echo`` are
parametrised over ``ENGINE_HOSTS`` (aiohttp, and the ASGI driver on uvicorn), so every
test that uses them runs on both hosts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sioscope.server.engine import Conn, EngineServer
from sioscope.server.engine.asgi import ASGIApp
from sioscope.server.engine.httptools import serve
from tests.asgi_hosts import UVICORN, serve_asgi

AIOHTTP = "aiohttp"
LEAN = "httptools"  # the engine's own host (server/engine/httptools.py)
ENGINE_HOSTS = [AIOHTTP, UVICORN]


@dataclass
class EchoServer:
    """A running echo server, the events it saw, and its base URL."""

    eng: EngineServer
    url: str
    conns: list[Conn] = field(default_factory=list)
    events: list[tuple[str, str, tuple[Any, ...]]] = field(default_factory=list)
    closed: dict[str, asyncio.Future[tuple[str, object]]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def endpoint(self, query: str) -> str:
        return f"{self.url}/engine.io/?{query}"

    def ws_endpoint(self, query: str) -> str:
        return self.endpoint(query).replace("http://", "ws://")

    async def closed_with(self, sid: str, timeout: float = 2.0) -> tuple[str, object]:
        """The (reason, description) the connection ``sid`` closed with."""
        return await asyncio.wait_for(asyncio.shield(self.closed[sid]), timeout)

    def names(self, sid: str) -> list[str]:
        return [name for s, name, _ in self.events if s == sid]


TRACED = (
    "packet",
    "packetCreate",
    "message",
    "flush",
    "drain",
    "heartbeat",
    "upgrading",
    "upgrade",
    "close",
)


def _options(options: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "ping_interval": 0.3,
        "ping_timeout": 0.2,
        "max_http_buffer_size": 1_000_000,
        "cors_allowed_origins": "*",
    }
    opts.update(options)
    return opts


async def start_echo(
    handler_cancellation: bool = False,
    control: bool = False,
    server_class: type[EngineServer] = EngineServer,
    **options: Any,
) -> tuple[EchoServer, web.AppRunner]:
    """An echo server on aiohttp that the caller shuts down (``eng.close()``, then
    ``runner.cleanup()``); ``running_echo`` is the managed form, on any host."""
    eng = server_class(**_options(options))
    app = web.Application()
    eng.attach(app)
    runner = web.AppRunner(app, handler_cancellation=handler_cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv = EchoServer(eng, f"http://127.0.0.1:{runner.addresses[0][1]}")
    _trace(srv, control)
    return srv, runner


@asynccontextmanager
async def running_echo(
    handler_cancellation: bool = False,
    control: bool = False,
    server_class: type[EngineServer] = EngineServer,
    host: str = AIOHTTP,
    **options: Any,
) -> AsyncIterator[EchoServer]:
    """An echo server on ``host`` for the duration of the block, then shut down.

    ``control`` adds engine-node-server.js's control messages (``close-me``,
    ``bye-close``) so the differential test can trigger server closes;
    ``handler_cancellation`` is aiohttp's option (ASGI hosts report a client that left
    as a message, which the driver watches either way)."""
    async with AsyncExitStack() as stack:
        if host == AIOHTTP:
            srv, runner = await start_echo(handler_cancellation, control, server_class, **options)
            stack.push_async_callback(runner.cleanup)
        elif host == LEAN:
            eng = server_class(**_options(options))
            listener = await serve(eng, "127.0.0.1", 0)
            stack.push_async_callback(listener.wait_closed)
            stack.callback(listener.close)
            srv = EchoServer(eng, f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}")
            _trace(srv, control)
        else:
            eng = server_class(**_options(options))
            url = await stack.enter_async_context(
                serve_asgi(ASGIApp(eng), host, per_message_deflate=eng.per_message_deflate)
            )
            srv = EchoServer(eng, url)
            _trace(srv, control)
        stack.push_async_callback(srv.eng.close)
        yield srv


def _trace(srv: EchoServer, control: bool) -> None:
    eng = srv.eng
    loop = asyncio.get_running_loop()

    def tracer(conn: Conn, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            srv.events.append((conn.id, name, args))

        return record

    @eng.on("connection")
    def on_connection(conn: Conn) -> None:
        srv.conns.append(conn)
        fut: asyncio.Future[tuple[str, object]] = loop.create_future()
        srv.closed[conn.id] = fut
        for name in TRACED:
            conn.on(name, tracer(conn, name))
        if control:
            conn.on("message", lambda data: _control(conn, data))
        else:
            conn.on("message", conn.send)

        @conn.on("close")
        def on_close(reason: str, description: object) -> None:
            if not fut.done():
                fut.set_result((reason, description))

    eng.on("connection_error", srv.errors.append)


def _control(conn: Conn, data: str | bytes) -> None:
    if data == "close-me":
        conn.close()
    elif data == "bye-close":
        conn.send("bye")
        conn.close()
    else:
        conn.send(data)


@pytest.fixture(params=ENGINE_HOSTS)
def engine_host(request: pytest.FixtureRequest) -> str:
    """The host the test's echo servers run on (each test runs once per host)."""
    return str(request.param)


@pytest.fixture
async def echo(engine_host: str) -> AsyncIterator[EchoServer]:
    async with running_echo(host=engine_host) as srv:
        yield srv


@pytest.fixture
async def make_echo(engine_host: str) -> AsyncIterator[Callable[..., Awaitable[EchoServer]]]:
    """``await make_echo(**options)``: an echo server with other options, on the test's
    host, shut down after the test."""
    async with AsyncExitStack() as stack:

        async def make(**options: Any) -> EchoServer:
            if options.get("handler_cancellation") and engine_host != AIOHTTP:
                pytest.skip("handler_cancellation is an aiohttp option")
            return await stack.enter_async_context(running_echo(host=engine_host, **options))

        yield make


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session
