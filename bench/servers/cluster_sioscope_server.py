"""sioscope on the Redis adapter, as a member of a two-server bench cluster.

The bench behaviours of ``sioscope_server.py`` (every socket in room ``all``; a
``broadcast`` event re-broadcast to ``all``; ``fetch`` answers how many sockets
``fetch_sockets()`` found in the cluster), with ``create_adapter`` on the Redis at
``$REDIS_URL``. It announces its port only once Redis confirmed its subscriptions.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web

from bench.servers._common import serve


def make_app() -> web.Application:
    from redis.asyncio import Redis

    from sioscope.server import Server, Socket
    from sioscope.server.adapters.redis import create_adapter

    redis = Redis.from_url(os.environ["REDIS_URL"])
    io = Server(adapter=create_adapter(redis), ping_interval=25, ping_timeout=20)
    app = web.Application()
    io.attach(app)

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.join("all")

        @socket.on("broadcast")
        def broadcast(payload: Any = None) -> None:
            io.to("all").emit("broadcast", payload)

        @socket.on("fetch")
        async def fetch(ack: Any = None) -> None:
            sockets = await io.fetch_sockets()
            if ack is not None:
                ack(len(sockets))

    async def subscribed(_app: web.Application) -> None:
        await asyncio.wait_for(io.of("/").adapter.ready(), 10)  # type: ignore[attr-defined]

    app.on_startup.append(subscribed)
    return app


if __name__ == "__main__":
    serve(make_app)
