"""sioscope on the Redis adapter, as a member of a two-server bench cluster.

The bench behaviours of ``sioscope_server.py`` (every socket in room ``all``; a
``broadcast`` event re-broadcast to ``all``; ``fetch`` answers how many sockets
``fetch_sockets()`` found in the cluster), with the adapter ``$CLUSTER_ADAPTER`` picks
("classic": ``adapters.redis.create_adapter``, "sharded": ``create_sharded_adapter``,
"streams": ``adapters.redis_streams.create_adapter``) on the Redis at ``$REDIS_URL``. It
announces its port only once Redis confirmed its subscriptions.
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
    from sioscope.server.adapters import redis_streams
    from sioscope.server.adapters.redis import create_adapter, create_sharded_adapter

    redis = Redis.from_url(os.environ["REDIS_URL"])
    kind = os.environ.get("CLUSTER_ADAPTER", "classic")
    factories: dict[str, Any] = {
        "classic": create_adapter,
        "sharded": create_sharded_adapter,
        "streams": redis_streams.create_adapter,
    }
    io = Server(adapter=factories[kind](redis), ping_interval=25, ping_timeout=20)
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
        adapter: Any = io.of("/").adapter
        if kind == "classic":
            await asyncio.wait_for(adapter.ready(), 10)
            return
        for _ in range(1000):  # until our own subscription counts (Node's bench server too)
            if await adapter.server_count() >= 1:
                return
            await asyncio.sleep(0.01)

    app.on_startup.append(subscribed)
    return app


if __name__ == "__main__":
    serve(make_app)
