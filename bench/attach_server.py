"""The server the attach benchmark inspects: sioscope with ``instrument()`` and N namespaces.

Namespaces ``/``, ``/n1`` … ``/n{N-1}`` each join every socket to ``lobby`` and accept a
``chat`` event, so the admin namespace has rooms and events to report. One Engine.IO
connection opens a socket in every namespace (bench/attach_load.js), which is how a
process limited to 20,000 file descriptors serves 100,000 sockets.

    python -m bench.attach_server --namespaces 10 [--password s3cret] [--loop auto]

The collector is tuned as a deployment does (``tune_collector``); ``--gc-log FILE``
(bench/servers/_common.py) logs each full collection.

Prints ``{"port": N, "pid": P}`` once listening (bench/servers/_common.py); runs until
SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aiohttp import web

from bench.servers._common import serve


def namespaces(count: int) -> list[str]:
    """The namespace names for ``count`` namespaces: ``/`` first."""
    return ["/", *(f"/n{i}" for i in range(1, count))]


def make_app(count: int, password: str | None) -> web.Application:
    from sioscope.server import Server, Socket
    from sioscope.server.admin import instrument

    io = Server(ping_interval=25, ping_timeout=20)
    app = web.Application()
    io.attach(app)
    auth: Any = False
    if password is not None:
        import bcrypt

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
        auth = {"type": "basic", "username": "admin", "password": hashed}
    instrument(io, auth=auth, server_id="attach-bench")

    def setup(socket: Socket) -> None:
        socket.join("lobby")

        @socket.on("chat")
        def chat(text: Any = None) -> None:
            socket.data["messages"] = int(socket.data.get("messages", 0)) + 1

    for name in namespaces(count):
        io.of(name).on("connection", setup)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespaces", type=int, default=1)
    parser.add_argument("--password", help="basic auth for user admin (default: no auth)")
    args, rest = parser.parse_known_args(argv)
    serve(lambda: make_app(args.namespaces, args.password), rest, on_listening=tune)


def tune() -> None:
    """The collector tuning a sioscope deployment does after start-up, as the bench's
    other sioscope server (bench/servers/sioscope_server.py)."""
    from sioscope.server import tune_collector

    tune_collector()


if __name__ == "__main__":
    main(sys.argv[1:])
