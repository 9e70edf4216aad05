"""The adapter options a cluster must agree on, against Node: the sharded adapter's
``static`` and ``dynamic-private`` subscription modes (``@socket.io/redis-adapter``
8.3.0) and the streams adapter over several streams (``streamCount`` 3,
``@socket.io/redis-streams-adapter`` 0.3.1), each with a Node server and a sioscope
server on one redis-server and socket.io-client clients on both: broadcasts (to all, a
room, a socket id room, except a room) on two namespaces both ways, and fetch_sockets."""

from __future__ import annotations

from typing import Any

import pytest

from sioscope.server import Server
from sioscope.server.adapters import redis_streams
from sioscope.server.adapters.sharded import create_sharded_adapter
from tests.cluster.cluster_support import Cluster, eventually, is_type
from tests.cluster.test_mixed_cluster import _prime_node_stream_reader, python_app
from tests.redis_server import RedisServer

NAMESPACES = ("/", "/chat")

MODES = {
    "sharded-static": ("sharded", {"subscriptionMode": "static"}),
    "sharded-dynamic-private": ("sharded", {"subscriptionMode": "dynamic-private"}),
    "streams-3": ("streams", {"streamCount": 3}),
}


def _ours(kind: str, options: dict[str, Any], redis: Any) -> Any:
    if kind == "sharded":
        return create_sharded_adapter(redis, subscription_mode=options["subscriptionMode"])
    return redis_streams.create_adapter(redis, stream_count=options["streamCount"])


def _app(io: Server) -> None:
    python_app(io)

    @io.of("/chat").on("connection")
    def on_chat(socket: Any) -> None:
        socket.join(socket.handshake["auth"].get("rooms", []))


@pytest.mark.parametrize("mode", list(MODES))
async def test_broadcasts_and_fetch_both_ways(
    redis_server: RedisServer, cluster: Cluster, mode: str
) -> None:
    kind, options = MODES[mode]
    node = await cluster.node_server(
        kind, redis_server.url, adapterOptions=options, namespaces=list(NAMESPACES)
    )
    io, url = await cluster.sioscope(
        _app, adapter=_ours(kind, options, cluster.redis(redis_server.url))
    )
    clients = await cluster.clients()
    for nsp in NAMESPACES:
        for side, target in (("n", node.url), ("p", url)):
            for room in ("r1", "r2"):
                name = f"{side}-{room}{nsp}"
                clients.open(name, target, nsp=nsp, auth={"rooms": [room]})
    names = [f"{s}-{r}{n}" for n in NAMESPACES for s in "np" for r in ("r1", "r2")]
    ids = {name: (await clients.connected(name))["id"] for name in names}
    for nsp in NAMESPACES:
        assert await eventually(lambda nsp=nsp: _count_is(io, nsp, 2))
    assert await node.run("serverCount") == 2
    if kind == "streams":
        # each namespace has its own stream here: prime Node's reader of each
        await _prime_node_stream_reader(io, clients, {nsp: f"n-r1{nsp}" for nsp in NAMESPACES})

    for nsp in NAMESPACES:
        io.of(nsp).emit("from-py", "all")
        io.of(nsp).to("r1").emit("from-py", "r1")
        io.of(nsp).to(ids[f"n-r2{nsp}"]).emit("from-py", "to-n-r2")
        io.of(nsp).except_("r1").emit("from-py", "last")
        await node.run("emit", nsp=nsp, event="from-node", args=["all"])
        await node.run("emit", nsp=nsp, event="from-node", rooms=["r2"], args=["r2"])
        await node.run("emit", nsp=nsp, event="from-node", rooms=[ids[f"p-r1{nsp}"]], args=["id"])
        await node.run("emit", nsp=nsp, event="from-node", args=["last"], **{"except": ["r2"]})
    expected_py = {
        "r1": [["all"], ["r1"]],
        "r2": [["all"], ["last"]],
    }
    for nsp in NAMESPACES:
        for side in "np":
            for room in ("r1", "r2"):
                name = f"{side}-{room}{nsp}"
                wanted_py = list(expected_py[room])
                if name == f"n-r2{nsp}":
                    wanted_py = [["all"], ["to-n-r2"], ["last"]]
                wanted_node = [["all"], ["r2"]] if room == "r2" else [["all"]]
                if name == f"p-r1{nsp}":
                    wanted_node = [["all"], ["id"], ["last"]]
                elif room == "r1":
                    wanted_node = [["all"], ["last"]]
                await clients.wait_for(
                    is_type("event", name=name, event="from-py", args=wanted_py[-1])
                )
                await clients.wait_for(
                    is_type("event", name=name, event="from-node", args=wanted_node[-1])
                )
                got_py = [e["args"] for e in clients.events(name, "from-py")]
                got_node = [e["args"] for e in clients.events(name, "from-node")]
                assert got_py == wanted_py, (mode, name)
                assert got_node == wanted_node, (mode, name)

    for nsp in NAMESPACES:
        fetched = {s.id for s in await io.of(nsp).fetch_sockets()}
        assert fetched == {ids[n] for n in names if _nsp_of(n) == nsp}, (mode, nsp)
        seen = await node.run("fetchSockets", nsp=nsp, rooms=["r2"])
        assert {s["id"] for s in seen} == {ids[f"n-r2{nsp}"], ids[f"p-r2{nsp}"]}, (mode, nsp)


def _nsp_of(name: str) -> str:
    """``n-r1/chat`` -> ``/chat``."""
    return name[name.index("/") :]


async def _count_is(io: Server, nsp: str, n: int) -> bool:
    return await io.of(nsp).adapter.server_count() == n
