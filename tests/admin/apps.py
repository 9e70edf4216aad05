"""Our side of the admin tests: the same small app as tests/interop/admin-node-server.js.

A real aiohttp server on 127.0.0.1, port 0, with ``instrument()`` applied; used by the
parity, browser and bad-input tests alike. ``host="uvicorn"`` serves the same app as
``io.asgi_app()`` on uvicorn instead (static files through Starlette).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
from aiohttp import web

from sioscope.server import Server
from sioscope.server.admin import Admin, instrument

PASSWORD = "changeit"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
AUTH = {"type": "basic", "username": "admin", "password": HASH}


@dataclass
class Running:
    io: Server
    admin: Admin
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def build_app(io: Server) -> None:
    """The parity app: data from a middleware, a lobby, and client-driven rooms/data."""

    @io.use
    def set_role(socket: Any) -> None:
        socket.data["role"] = "guest"

    @io.on("connection")
    def on_connection(socket: Any) -> None:
        socket.join("lobby")

        def hello(msg: Any, ack: Any = None) -> None:
            socket.emit("welcome", {"to": msg, "n": 42})
            if ack is not None:
                ack("ok")

        def set_data(key: str, value: Any) -> None:
            socket.data[key] = value

        socket.on("hello", hello)
        socket.on("set", set_data)
        socket.on("join", lambda room: socket.join(room))
        socket.on("leave", lambda room: socket.leave(room))


@contextlib.asynccontextmanager
async def running_server(
    *,
    ui_dir: Path | None = None,
    server_options: dict[str, Any] | None = None,
    host: str = "aiohttp",
    **admin_kw: Any,
) -> AsyncIterator[Running]:
    """Start io + instrument(); yield it; close everything (bounded) on the way out."""
    io = Server(**(server_options or {}))
    build_app(io)
    admin_kw.setdefault("auth", AUTH)
    admin_kw.setdefault("server_id", "parity")
    admin_kw.setdefault("failure_delay", 0.05)
    admin = instrument(io, **admin_kw)
    if host != "aiohttp":
        async with _asgi_server(io, admin, ui_dir, host) as running:
            yield running
        return
    app = web.Application()
    io.attach(app)
    if ui_dir is not None:
        app.router.add_static("/ui/", ui_dir)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Running(io, admin, port)
    finally:
        admin.close()
        with contextlib.suppress(Exception):
            await io.close()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _asgi_server(
    io: Server, admin: Admin, ui_dir: Path | None, host: str
) -> AsyncIterator[Running]:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from tests.asgi_hosts import serve_asgi

    routes = [] if ui_dir is None else [Mount("/ui", app=StaticFiles(directory=ui_dir))]
    async with serve_asgi(io.asgi_app(Starlette(routes=routes)), host) as url:
        try:
            yield Running(io, admin, int(url.rsplit(":", 1)[1]))
        finally:
            admin.close()
            with contextlib.suppress(Exception):
                await io.close()
