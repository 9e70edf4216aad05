"""The admin namespace across a Redis cluster (issue item 6), as @socket.io/admin-ui
does with a cluster adapter: each server is instrumented on one Redis; an admin client
connected to server A sees server B's sockets (``all_sockets`` through fetch_sockets),
B's ``server_stats`` and events (B's admin namespace broadcasts through Redis), and its
commands reach B's sockets (sockets_join / disconnect_sockets / emit across servers)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from sioscope.server import Server
from sioscope.server.admin import instrument
from tests.admin.client import AdminClient
from tests.cluster.peers import Clients, NodePeer, sioscope_server, wait_until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop


@contextlib.asynccontextmanager
async def instrumented(redis_url: str, server_id: str) -> AsyncIterator[tuple[Server, str]]:
    def setup(io: Server) -> None:
        instrument(io, auth=False, server_id=server_id, stats_interval=0.2)

    async with sioscope_server(redis_url, setup=setup) as made:
        yield made


async def test_an_admin_on_one_server_sees_and_drives_the_whole_cluster(
    node_bin: str, redis_server: RedisServer
) -> None:
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    admin = AdminClient()
    try:
        async with (
            instrumented(redis_server.url, "server-a") as (io_a, url_a),
            instrumented(redis_server.url, "server-b") as (io_b, url_b),
        ):
            on_a = await clients.connect("on-a", url_a)
            on_b = await clients.connect("on-b", url_b)
            await admin.connect(url_a, auth={})
            (listed,) = await admin.wait_for("all_sockets")
            assert {(s["id"], s["nsp"]) for s in listed} == {(on_a, "/"), (on_b, "/")}
            remote = next(s for s in listed if s["id"] == on_b)
            assert remote["rooms"] == [on_b]
            assert remote["handshake"]["url"].startswith("/socket.io/")

            # B's server_stats reach the admin connected to A.
            for server_id in ("server-a", "server-b"):
                await admin.wait_for("server_stats", lambda s, sid=server_id: s["serverId"] == sid)

            # B's events reach it too.
            later = await clients.connect("later-on-b", url_b)
            connected = await admin.wait_for("socket_connected", lambda s, *_: s["id"] == later)
            assert connected[0]["nsp"] == "/"
            await admin.wait_for("room_joined", lambda nsp, room, sid, *_: sid == later)

            # Commands reach B's sockets.
            await admin.command("join", "/", "picked", on_b)
            await wait_until(lambda: "picked" in io_b.of("/").sockets[on_b].rooms)
            await admin.wait_for("room_joined", lambda nsp, room, sid, *_: room == "picked")
            await admin.command("emit", "/", "picked", "hello", 1)
            assert await clients.wait_event("on-b", "hello") == [["hello", 1]]
            await admin.command("_disconnect", "/", False, on_b)
            assert await clients.wait_disconnect("on-b") == "io server disconnect"
            await admin.wait_for("socket_disconnected", lambda nsp, sid, *_: sid == on_b)
            assert on_b not in io_b.of("/").sockets
            assert on_a in io_a.of("/").sockets
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
        await clients.peer.close()
