"""python-socketio 5.18 on aiohttp as a server under test, in its stock configuration.

Defaults are kept on purpose (async handlers, aiohttp's permessage-deflate negotiation,
the stdlib loop unless ``--loop`` says otherwise): the table compares what a user gets.
"""

from __future__ import annotations

import socketio
from aiohttp import web

from bench.servers._common import serve


def make_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=25, ping_timeout=20)
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid: str, environ: dict, auth: object = None) -> None:
        await sio.enter_room(sid, "all")

    @sio.event
    async def echo(sid: str, arg: object) -> object:
        return arg

    @sio.event
    async def broadcast(sid: str, payload: object) -> None:
        await sio.emit("broadcast", payload, room="all")

    return app


if __name__ == "__main__":
    serve(make_app)
