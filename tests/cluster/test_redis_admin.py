"""The admin namespace across a Redis cluster (issue item 6), as @socket.io/admin-ui
does with a cluster adapter: each server is instrumented on one Redis; an admin client
connected to server A sees server B's sockets (``all_sockets`` through fetch_sockets),
B's ``server_stats`` and events (B's admin namespace broadcasts through Redis), and its
commands reach B's sockets (sockets_join / disconnect_sockets / emit across servers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
            # each socket names its server (serverId: B's from its socket.data._admin),
            # and B's carries its client id and transport across as Node's do
            assert {s["id"]: s.get("serverId") for s in listed} == {
                on_a: "server-a",
                on_b: "server-b",
            }
            assert remote["transport"] == "websocket"
            assert remote["clientId"] == io_b.of("/").sockets[on_b].conn.id[:12]
            assert "_admin" not in remote["data"]

            # B's server_stats reach the admin connected to A.
            for server_id in ("server-a", "server-b"):
                await admin.wait_for("server_stats", lambda s, sid=server_id: s["serverId"] == sid)

            # B's events reach it too.
            later = await clients.connect("later-on-b", url_b)
            connected = await admin.wait_for("socket_connected", lambda s, *_: s["id"] == later)
            assert connected[0]["nsp"] == "/"
            assert connected[0]["serverId"] == "server-b"
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


async def test_admins_of_a_mixed_cluster_see_each_other_servers(
    node_bin: str, redis_server: RedisServer
) -> None:
    """A Node server instrumented with the real @socket.io/admin-ui and a sioscope
    server instrumented with ours, on one Redis: an admin client of either sees both
    servers' sockets and server_stats, and its commands reach the other's sockets."""
    config = {"redisUrl": redis_server.url, "admin": "node-server", "nsps": ["/", "/admin"]}
    node = await NodePeer.start(node_bin, "cluster-node-server.js", json.dumps(config))
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    admins = [AdminClient(), AdminClient()]
    try:
        async with instrumented(redis_server.url, "py-server") as (io, url):
            for _ in range(500):
                if await io.of("/").adapter.server_count() == 2:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            on_py = await clients.connect("on-py", url)
            on_node = await clients.connect("on-node", node.url)
            for admin, server_url in zip(admins, (url, node.url), strict=True):
                await admin.connect(server_url, auth={})
                (listed,) = await admin.wait_for("all_sockets")
                by_id = {s["id"]: s for s in listed if s["nsp"] == "/"}
                assert set(by_id) == {on_py, on_node}, server_url
                # Node's admin-ui keeps clientId/transport in socket.data._admin, and so
                # do we: each admin reads them from the other server's sockets.
                for sid in (on_node, on_py):
                    assert by_id[sid]["transport"] == "websocket", (server_url, sid)
                    assert len(by_id[sid]["clientId"]) == 12, (server_url, sid)
                    assert "_admin" not in by_id[sid]["data"]
                assert by_id[on_py]["clientId"] == io.of("/").sockets[on_py].conn.id[:12]
                for server_id in ("py-server", "node-server"):
                    await admin.wait_for(
                        "server_stats", lambda s, sid=server_id: s["serverId"] == sid
                    )
            py_admin, node_admin = admins
            await py_admin.command("join", "/", "from-py-admin", on_node)
            await node.call("rooms", sid=on_node)
            for _ in range(500):
                if "from-py-admin" in await node.call("rooms", sid=on_node):
                    break
                await asyncio.sleep(0.01)
            assert "from-py-admin" in await node.call("rooms", sid=on_node)
            await node_admin.command("emit", "/", on_py, "from-node-admin", 2)
            assert await clients.wait_event("on-py", "from-node-admin") == [["from-node-admin", 2]]
            await node_admin.command("_disconnect", "/", False, on_py)
            assert await clients.wait_disconnect("on-py") == "io server disconnect"
            await wait_until(lambda: on_py not in io.of("/").sockets)
    finally:
        for admin in admins:
            with contextlib.suppress(Exception):
                await admin.close()
        await clients.peer.close()
        await node.close()
