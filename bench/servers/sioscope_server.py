"""sioscope as a server under test: the same three behaviours as the Node server.

Handlers are plain functions, as a Node user writes them; ``--loop auto`` (the default in
the registry) takes uvloop when the ``speed`` extra is installed. ``--asgi`` serves the
same Server as ``io.asgi_app()`` on uvicorn instead of attaching it to aiohttp, with
WebSocket compression off as the aiohttp host has it (the README's uvicorn flags).
``--lean`` serves it on the engine's own httptools host
(``sioscope.server.engine.httptools``) instead, with no web framework at all.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bench.servers._common import run, serve, serve_asgi


def make_server() -> tuple[Any, web.Application]:
    """The Server with the three behaviours, attached to a new aiohttp app."""
    io = make_io()
    app = web.Application()
    io.attach(app)
    return io, app


def make_io() -> Any:
    """The Server with the three behaviours, on no host yet."""
    from sioscope.server import Server, Socket

    io = Server(ping_interval=25, ping_timeout=20)

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

    return io


def make_app() -> web.Application:
    return make_server()[1]


async def listen_lean(args: Any) -> int:
    """Serve the Server's engine on the httptools driver; the bound port."""
    from sioscope.server.engine.httptools import serve as serve_engine

    listener = await serve_engine(make_io().engine, args.host, args.port)
    return int(listener.sockets[0].getsockname()[1])


def tune() -> None:
    """The process tuning a sioscope deployment does after start-up (the collector)."""
    from sioscope.server import tune_collector

    tune_collector()


if __name__ == "__main__":
    import sys

    if "--lean" in sys.argv:
        run(listen_lean, [a for a in sys.argv[1:] if a != "--lean"], tune)
    elif "--asgi" in sys.argv:
        argv = [a for a in sys.argv[1:] if a != "--asgi"]
        serve_asgi(lambda: make_io().asgi_app(), argv, tune, ws_per_message_deflate=False)
    else:
        serve(make_app, on_listening=tune)
