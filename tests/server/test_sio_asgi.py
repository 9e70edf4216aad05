"""``io.asgi_app()`` inside real frameworks and on real ASGI servers.

The conformance sets run on aiohttp and uvicorn through the parametrised ``serve``
fixture; this module covers what only ASGI has: a FastAPI app's own routes and lifespan
beside Socket.IO, mounting under a ``root_path`` (FastAPI, Starlette, Litestar), the
lifespan shutdown closing the server, the handshake the same as on aiohttp, and the other
ASGI servers (uvicorn on h11 + wsproto and on websockets' legacy protocol, hypercorn,
granian) with real peers (python-socketio's client, npm socket.io-client).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from multidict import CIMultiDict

from sioscope.server import Server, Socket
from tests.asgi_hosts import (
    HYPERCORN,
    UVICORN,
    UVICORN_H11,
    UVICORN_LEGACY_WS,
    granian_process,
    self_signed_cert,
    serve_asgi,
)
from tests.conftest import free_port
from tests.server.asgi_apps import echo_server, fastapi_app
from tests.server.sio_support import WAIT, Recorder, listen
from tests.server.test_sio_node_client import NodeClient

pytestmark = pytest.mark.interop


@asynccontextmanager
async def py_client(url: str, **kwargs: Any) -> AsyncIterator[socketio.AsyncClient]:
    """A connected python-socketio client, disconnected on exit."""
    client = socketio.AsyncClient(reconnection=False)
    kwargs.setdefault("wait_timeout", WAIT)
    await client.connect(url, **kwargs)
    try:
        yield client
    finally:
        if client.connected:
            await asyncio.wait_for(client.disconnect(), WAIT)


async def echo_round_trip(client: socketio.AsyncClient) -> None:
    assert await client.call("echo", ({"n": 1}, b"\x00\xff"), timeout=WAIT) == (
        {"n": 1},
        b"\x00\xff",
    )


async def _polling_client(url: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, transports=["polling"], wait_timeout=WAIT)
    return client


async def _drop(client: socketio.AsyncClient) -> None:
    """Disconnect a client whose server is gone (its close POST may fail)."""
    if client.connected:
        try:
            await asyncio.wait_for(client.disconnect(), WAIT)
        except Exception:  # the server went away first; nothing to clean up
            pass


# ASGI servers close their connections before they run the lifespan shutdown (uvicorn
# sends its WebSockets 1012 and answers nothing new), so the sessions io.close() finds
# at lifespan shutdown are those not tied to an open connection: polling sessions
# between two GETs. A long ping_timeout keeps those sessions open until then.
SHUTDOWN_OPTIONS = {"ping_interval": 0.3, "ping_timeout": 5}


async def test_fastapi_routes_lifespan_and_socketio_side_by_side() -> None:
    io = echo_server(**SHUTDOWN_OPTIONS)
    api = fastapi_app(io)
    closed = Recorder()
    io.on("connection", lambda socket: socket.on("disconnect", closed))
    lifecycle = api.state.lifecycle
    async with serve_asgi(io.asgi_app(api), UVICORN) as url:
        assert lifecycle == {"started": True, "stopped": False}
        async with py_client(url) as client:
            await echo_round_trip(client)  # polling, then upgraded to websocket
        client = await _polling_client(url)
        await echo_round_trip(client)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/hello/ada") as resp:
                assert resp.status == 200
                assert await resp.json() == {"hello": "ada", "sockets": 1}
            async with http.get(f"{url}/nope") as resp:
                assert resp.status == 404  # FastAPI's own answer
                assert await resp.json() == {"detail": "Not Found"}
    # leaving serve_asgi ran the lifespan shutdown: io.close(), then FastAPI's own
    calls = await closed.wait(2)
    assert len(calls) == 2 and calls[1][0] == "server shutting down"  # the polling one
    assert lifecycle == {"started": True, "stopped": True}
    assert not io.engine.clients
    await _drop(client)


async def test_lifespan_shutdown_without_other_app_closes_the_server() -> None:
    io = echo_server(**SHUTDOWN_OPTIONS)
    reasons = Recorder()
    io.on("connection", lambda socket: socket.on("disconnect", reasons))
    async with serve_asgi(io.asgi_app(), UVICORN) as url:
        client = await _polling_client(url)
        await echo_round_trip(client)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/other") as resp:
            assert resp.status == 404  # no other app: 404 outside io.path
    assert (await reasons.wait())[0][0] == "server shutting down"
    assert not io.engine.clients
    await _drop(client)


async def test_lifespan_runs_for_an_other_app_without_lifespan_support() -> None:
    """A bare ASGI app that raises on any scope but HTTP: the server still closes at
    shutdown, and the app still answers its own requests."""

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported scope {scope['type']}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"bare"})

    io = echo_server(**SHUTDOWN_OPTIONS)
    reasons = Recorder()
    io.on("connection", lambda socket: socket.on("disconnect", reasons))
    async with serve_asgi(io.asgi_app(bare), UVICORN) as url:
        client = await _polling_client(url)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/x") as resp:
            assert await resp.text() == "bare"
    assert (await reasons.wait())[0][0] == "server shutting down"
    await _drop(client)


def _starlette_mount(io: Server) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    return Starlette(routes=[Mount("/ws", app=io.asgi_app())])


def _fastapi_mount(io: Server) -> Any:
    api = fastapi_app(io)
    api.mount("/ws", io.asgi_app())
    return api


def _litestar_mount(io: Server) -> Any:
    from litestar import Litestar, asgi

    sio = io.asgi_app()

    @asgi("/ws", is_mount=True)
    async def socketio_mount(scope: Any, receive: Any, send: Any) -> None:
        await sio(scope, receive, send)

    return Litestar([socketio_mount])


@pytest.mark.parametrize("mount", [_starlette_mount, _fastapi_mount, _litestar_mount])
async def test_mounted_app_honours_root_path(mount: Any) -> None:
    io = echo_server()
    async with serve_asgi(mount(io), UVICORN) as url:
        for transports in (["polling", "websocket"], ["websocket"]):
            async with py_client(url, socketio_path="/ws/socket.io", transports=transports) as c:
                await echo_round_trip(c)
                shake = await c.call("whoami", timeout=WAIT)
                assert shake["url"].startswith("/ws/socket.io/?")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as resp:
                assert resp.status == 404  # only under the mount point


async def _raw_handshake(url: str) -> dict[str, Any]:
    """A polling session by hand, with repeated headers and keys, that asks the server
    for its ``socket.handshake``."""
    headers = CIMultiDict(
        [
            ("Origin", "http://example.com"),
            ("X-Dup", "a"),
            ("X-Dup", "b"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("User-Agent", "sioscope-test"),
            ("X-Forwarded-For", "203.0.113.9"),
        ]
    )
    base = f"{url}/socket.io/?EIO=4&transport=polling&room=x&room=y&blank="
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
        async with http.get(base, headers=headers) as resp:
            sid = json.loads((await resp.text())[1:])["sid"]
        session = f"{base}&sid={sid}"
        async with http.post(session, data="40", headers=headers) as resp:
            assert await resp.text() == "ok"
        async with http.get(session, headers=headers) as resp:
            assert (await resp.text()).startswith("40{")
        async with http.post(session, data='421["whoami"]', headers=headers) as resp:
            assert await resp.text() == "ok"
        async with http.get(session, headers=headers) as resp:
            body = await resp.text()
    assert body.startswith("431")
    shake: dict[str, Any] = json.loads(body[3:])[0]
    shake["query"].pop("sid", None)
    return shake


def _without_port(shake: dict[str, Any]) -> dict[str, Any]:
    headers = dict(shake["headers"])
    assert headers.pop("host").startswith("127.0.0.1:")
    return {**shake, "headers": headers}


@pytest.mark.parametrize("trust_forwarded", [False, True])
async def test_handshake_on_asgi_is_the_handshake_on_aiohttp(trust_forwarded: bool) -> None:
    shakes = []
    io = echo_server(trust_forwarded=trust_forwarded)
    runner, url = await listen(io)
    try:
        shakes.append(await _raw_handshake(url))
    finally:
        await io.close()
        await runner.cleanup()
    io = echo_server(trust_forwarded=trust_forwarded)
    async with serve_asgi(io.asgi_app(), UVICORN) as url:
        shakes.append(await _raw_handshake(url))
    on_aiohttp, on_asgi = (_without_port(s) for s in shakes)
    assert on_asgi == on_aiohttp
    assert on_asgi["address"] == ("203.0.113.9" if trust_forwarded else "127.0.0.1")
    assert on_asgi["secure"] is False and on_asgi["xdomain"] is True
    assert on_asgi["headers"]["x-dup"] == "a, b" and on_asgi["headers"]["cookie"] == "a=1; b=2"
    assert on_asgi["query"] == {"EIO": "4", "transport": "polling", "room": "y", "blank": ""}
    assert on_asgi["url"].startswith("/socket.io/?EIO=4&transport=polling&room=x&room=y")


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
@pytest.mark.parametrize("host", ["aiohttp", UVICORN])
async def test_secure_from_the_scheme_over_tls(tmp_path: Any, host: str, transports: Any) -> None:
    """``handshake["secure"]`` is true over TLS on both hosts (https, and wss for a
    websocket-only client), from the connection itself, not from a header."""
    tls = self_signed_cert(tmp_path)
    if tls is None:
        pytest.skip("openssl is not installed")
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ssl_context.load_cert_chain(*tls)
    io = echo_server()
    async with contextlib.AsyncExitStack() as stack:
        if host == "aiohttp":
            app = web.Application()
            io.attach(app)
            runner = web.AppRunner(app, shutdown_timeout=0.1)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
            url = f"https://127.0.0.1:{runner.addresses[0][1]}"
        else:
            url = await stack.enter_async_context(serve_asgi(io.asgi_app(), host, tls=tls))
        stack.push_async_callback(io.close)
        client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
        await client.connect(url, transports=transports, wait_timeout=WAIT)
        try:
            shake = await client.call("whoami", timeout=WAIT)
        finally:
            await client.disconnect()
    assert shake["secure"] is True
    assert shake["query"]["transport"] == transports[0]


@pytest.fixture
async def node(node_bin: str) -> AsyncIterator[Any]:
    started: list[NodeClient] = []

    async def start(url: str, **options: Any) -> NodeClient:
        client = await NodeClient.start(node_bin, url, **options)
        started.append(client)
        return client

    yield start
    for client in started:
        await client.close()


async def _peers_round_trip(url: str, node: Any) -> None:
    """npm socket.io-client (polling, then the upgrade) and python-socketio's client
    (websocket only, and polling only) against the echo server at ``url``."""
    client = await node(url)
    await client.next("connect")  # over polling, or already upgraded
    assert (await client.next("upgrade"))["transport"] == "websocket"
    async with py_client(url, transports=["websocket"]) as ws_client:
        await echo_round_trip(ws_client)
    async with py_client(url, transports=["polling"]) as polling_client:
        await echo_round_trip(polling_client)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # uvicorn's legacy ws protocol
@pytest.mark.parametrize("host", [UVICORN_H11, UVICORN_LEGACY_WS, HYPERCORN])
async def test_real_peers_on_other_asgi_servers(host: str, node: Any) -> None:
    io = echo_server()
    upgraded = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.conn.on("upgrade", lambda transport: upgraded(transport.name))

    async with serve_asgi(io.asgi_app(), host) as url:
        await _peers_round_trip(url, node)
        assert (await upgraded.wait())[0] == ("websocket",)
        await io.close()


async def test_real_peers_on_granian(node: Any) -> None:
    port = free_port()
    with granian_process("tests.server.asgi_apps:granian_app", port):
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http, http.get(f"{url}/ping") as resp:
            assert await resp.text() == "pong"  # the Starlette app beside Socket.IO
        await _peers_round_trip(url, node)
