"""ASGI applications the host tests serve: Socket.IO beside a framework's own routes.

``echo_server()`` is the Socket.IO app every host test talks to (an ``echo`` event
with an ack, a ``whoami`` that returns the handshake). ``granian_app`` is a module-level
app for granian, which imports its target by name in its own process.
"""

from __future__ import annotations

from typing import Any

from sioscope.server import Server, Socket


def echo_server(**options: Any) -> Server:
    """A Server whose sockets echo ``echo`` (by ack) and answer ``whoami`` with their
    handshake (less the two clock fields)."""
    options.setdefault("ping_interval", 0.5)
    options.setdefault("ping_timeout", 0.5)
    io = Server(**options)

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        @socket.on("echo")
        def echo(*args: Any, ack: Any = None) -> None:
            if ack is not None:
                ack(*args)
            else:
                socket.emit("echo", *args)

        @socket.on("whoami")
        def whoami(ack: Any) -> None:
            shake = {k: v for k, v in socket.handshake.items() if k not in ("time", "issued")}
            ack(shake)

    return io


def fastapi_app(io: Server) -> Any:
    """A FastAPI app with its own routes and lifespan, Socket.IO beside them."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    state: dict[str, Any] = {"started": False, "stopped": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        state["started"] = True
        yield
        state["stopped"] = True

    api = FastAPI(lifespan=lifespan)
    api.state.lifecycle = state

    @api.get("/hello/{name}")
    async def hello(name: str) -> dict[str, Any]:
        return {"hello": name, "sockets": len(io.of("/").sockets)}

    return api


def _granian_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ping(request: Any) -> PlainTextResponse:
        return PlainTextResponse("pong")

    return echo_server().asgi_app(Starlette(routes=[Route("/ping", ping)]))


granian_app = _granian_app()
