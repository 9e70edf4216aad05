"""sioscope as a server under test: the same three behaviours as the Node server.

Handlers are plain functions, as a Node user writes them; ``--loop auto`` (the default in
the registry) takes uvloop when the ``speed`` extra is installed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bench.servers._common import serve


def make_server() -> tuple[Any, web.Application]:
    """The Server with the three behaviours, attached to a new aiohttp app."""
    from sioscope.server import Server, Socket

    io = Server(ping_interval=25, ping_timeout=20)
    app = web.Application()
    io.attach(app)

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.join("all")

        @socket.on("echo")
        def echo(arg: Any = None, ack: Any = None) -> None:
            if ack is not None:
                ack(arg)

        @socket.on("broadcast")
        def broadcast(payload: Any = None) -> None:
            io.to("all").emit("broadcast", payload)

    return io, app


def make_app() -> web.Application:
    return make_server()[1]


if __name__ == "__main__":
    serve(make_app)
