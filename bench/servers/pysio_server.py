"""python-socketio 5.18 on aiohttp as a server under test, in its stock configuration.

Defaults are kept on purpose (async handlers, aiohttp's permessage-deflate negotiation,
the stdlib loop unless ``--loop`` says otherwise): the table compares what a user gets.
``--asgi`` serves the same handlers as python-socketio's ``ASGIApp`` on uvicorn, with
uvicorn's defaults (its WebSocket deflate negotiation included).
"""

from __future__ import annotations

import socketio
from aiohttp import web

from bench.servers._common import serve, serve_asgi


def make_app() -> web.Application:
    sio = make_sio("aiohttp")
    app = web.Application()
    sio.attach(app)
    return app


def make_asgi_app() -> socketio.ASGIApp:
    return socketio.ASGIApp(make_sio("asgi"))


def make_sio(async_mode: str) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(async_mode=async_mode, ping_interval=25, ping_timeout=20)

    @sio.event
    async def connect(sid: str, environ: dict, auth: object = None) -> None:
        await sio.enter_room(sid, "all")

    @sio.event
    async def echo(sid: str, arg: object) -> object:
        return arg

    @sio.event
    async def broadcast(sid: str, payload: object) -> None:
        await sio.emit("broadcast", payload, room="all")

    return sio


if __name__ == "__main__":
    import sys

    if "--asgi" in sys.argv:
        serve_asgi(make_asgi_app, [a for a in sys.argv[1:] if a != "--asgi"])
    else:
        serve(make_app)
