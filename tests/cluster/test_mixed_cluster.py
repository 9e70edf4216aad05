"""A Node socket.io 4.8 server with a real npm adapter and a sioscope server with ours,
on one redis-server; real socket.io-client clients on both. Each cluster operation runs
in both directions, once with ``createShardedAdapter`` (``@socket.io/redis-adapter``
8.3.0) and once with the streams adapter (``@socket.io/redis-streams-adapter`` 0.3.1)."""

from __future__ import annotations

import asyncio
from typing import Any

from sioscope.server import Server
from sioscope.server.adapters import redis_streams
from sioscope.server.adapters.sharded import create_sharded_adapter
from tests.cluster.cluster_support import Cluster, eventually, is_type
from tests.redis_server import RedisServer


def python_app(io: Server) -> None:
    """The same application as cluster-node-server.js's (as the mixed tests start it):
    rooms and data from auth, a "ping" answered ["pong", arg]."""

    @io.on("connection")
    def on_connection(socket: Any) -> None:
        auth = socket.handshake["auth"]
        socket.join(auth.get("rooms", []))
        socket.data = auth.get("data", {})

    @io.on("ping")
    def on_ping(arg: Any, callback: Any = None) -> None:
        if callback is not None:
            callback(["pong", arg])


async def start(cluster: Cluster, redis_server: RedisServer, kind: str = "sharded") -> Any:
    node = await cluster.node_server(kind, redis_server.url)
    redis = cluster.redis(redis_server.url)
    adapter: Any = (
        create_sharded_adapter(redis) if kind == "sharded" else redis_streams.create_adapter(redis)
    )
    io, url = await cluster.sioscope(python_app, adapter=adapter)
    clients = await cluster.clients()
    clients.open("n1", node.url, auth={"rooms": ["r1"], "data": {"who": "n1"}})
    clients.open("n2", node.url, auth={"rooms": ["r2"], "data": {"who": "n2"}})
    clients.open("p1", url, auth={"rooms": ["r1"], "data": {"who": "p1"}})
    clients.open("p2", url, auth={"rooms": ["r2"], "data": {"who": "p2"}})
    ids = {name: (await clients.connected(name))["id"] for name in ("n1", "n2", "p1", "p2")}
    await eventually(lambda: io.of("/").adapter.server_count())
    assert await eventually(lambda: _count_is(io, 2))
    assert await node.run("serverCount") == 2
    if kind == "streams":
        await _prime_node_stream_reader(io, clients)
    return node, io, clients, ids


async def _prime_node_stream_reader(
    io: Server, clients: Any, targets: dict[str, str] | None = None
) -> None:
    """Node's streams adapter reads ``$`` until it got its first entry, so an entry we
    add while its loop is between two reads is lost (a race seen under load). Once one
    of ours reached its client, it reads from a concrete id and misses nothing.
    ``targets``: namespace -> a client of the Node server on it (``n1`` on ``/``)."""
    for nsp, name in (targets or {"/": "n1"}).items():
        for _ in range(20):
            io.of(nsp).emit("prime")
            try:
                await clients.wait_for(is_type("event", name=name, event="prime"), timeout=0.5)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError(f"Node's streams adapter never read our entries on {nsp}")


async def _count_is(io: Server, n: int) -> bool:
    return await io.of("/").adapter.server_count() == n


async def test_broadcasts_both_ways(redis_server: RedisServer, cluster: Cluster, kind: str) -> None:
    node, io, clients, ids = await start(cluster, redis_server, kind)
    io.emit("from-py", "all", b"\x01\x02")
    io.to("r1").emit("from-py", "r1")
    io.except_("r1").emit("from-py", "not-r1")
    io.to(ids["n2"]).emit("from-py", "to-n2")  # a socket-id room: the main channel
    io.local.emit("from-py", "local")
    await node.run("emit", event="from-node", args=["all", {"$bin": "0304"}])
    await node.run("emit", event="from-node", rooms=["r2"], args=["r2"])
    await node.run("emit", event="from-node", args=["done"])
    # Each client's last message from each side: messages of one side arrive in order,
    # but the two sides race (Node's "done" reaches n1 at once, while our broadcasts
    # are still on their way to Node through Redis), so wait for both ends.
    last_from_py = {"n1": ["r1"], "n2": ["to-n2"], "p1": ["r1"], "p2": ["not-r1"]}
    for name, last in last_from_py.items():
        await clients.wait_for(is_type("event", name=name, event="from-node", args=["done"]))
        await clients.wait_for(is_type("event", name=name, event="from-py", args=last))
    got = {
        name: [e["args"] for e in clients.events(name, "from-py")]
        for name in ("n1", "n2", "p1", "p2")
    }
    assert got["n1"] == [["all", {"$bin": "0102"}], ["r1"]]
    assert got["n2"] == [["all", {"$bin": "0102"}], ["not-r1"], ["to-n2"]]
    # a local broadcast is delivered at once, the others once their publish returned:
    # Node's ClusterAdapter orders them the same way
    assert got["p1"] == [["local"], ["all", {"$bin": "0102"}], ["r1"]]
    assert got["p2"] == [["local"], ["all", {"$bin": "0102"}], ["not-r1"]]
    from_node = {
        name: [e["args"] for e in clients.events(name, "from-node")] for name in ("n1", "p2")
    }
    assert from_node["n1"] == [["all", {"$bin": "0304"}], ["done"]]
    assert from_node["p2"] == [["all", {"$bin": "0304"}], ["r2"], ["done"]]


async def test_fetch_sockets_and_remote_sockets_both_ways(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    node, io, clients, ids = await start(cluster, redis_server, kind)
    sockets = await io.fetch_sockets()
    by_id = {s.id: s for s in sockets}
    assert set(by_id) == set(ids.values())
    remote = by_id[ids["n1"]]
    assert remote.data == {"who": "n1"}
    assert set(remote.rooms) == {ids["n1"], "r1"}
    assert remote.handshake["auth"] == {"rooms": ["r1"], "data": {"who": "n1"}}
    in_r2 = {s.id for s in await io.in_("r2").fetch_sockets()}
    assert in_r2 == {ids["n2"], ids["p2"]}

    seen = await node.run("fetchSockets")
    from_py = {s["id"]: s for s in seen if not s["local"]}
    assert set(from_py) == {ids["p1"], ids["p2"]}
    assert from_py[ids["p2"]]["data"] == {"who": "p2"}
    assert from_py[ids["p2"]]["rooms"] == [ids["p2"], "r2"]
    assert from_py[ids["p2"]]["handshake"]["query"]["EIO"] == "4"

    # a RemoteSocket's emit and ack, in both directions
    remote.emit("direct", "to-n1")
    await clients.wait_for(is_type("event", name="n1", event="direct", args=["to-n1"]))
    reply = await remote.timeout(2).emit_with_ack("ask", 1)
    assert reply == ["n1", 1]
    assert await node.run("remoteEmit", sid=ids["p1"], event="ask", args=[2], timeout=2000) == [
        "p1",
        2,
    ]


async def test_sockets_join_leave_disconnect_both_ways(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    node, io, clients, ids = await start(cluster, redis_server, kind)
    io.in_("r1").sockets_join("joined")
    await eventually(lambda: "joined" in io.of("/").adapter.rooms)
    fetched = await node.run("fetchSockets", rooms=["joined"])
    assert {s["id"] for s in fetched} == {ids["n1"], ids["p1"]}
    await node.run("socketsLeave", rooms=["joined"], room="joined")
    await eventually(lambda: "joined" not in io.of("/").adapter.rooms)
    assert await node.run("fetchSockets", rooms=["joined"]) == []

    await node.run("socketsJoin", rooms=["r2"], room="from-node")
    await eventually(lambda: ids["p2"] in io.of("/").adapter.rooms.get("from-node", {}))
    io.in_("r2").sockets_leave("r2")
    await eventually(lambda: _node_rooms_lack(node, "r2"))

    io.in_("from-node").disconnect_sockets()
    for name in ("n2", "p2"):
        await clients.wait_for(is_type("disconnect", name=name, reason="io server disconnect"))
    await node.run("disconnectSockets", rooms=["r1"], close=True)
    await clients.wait_for(is_type("disconnect", name="p1"))
    await node.wait_for(is_type("disconnect", id=ids["n1"]))
    assert io.of("/").sockets == {}


async def _node_rooms_lack(node: Any, room: str) -> bool:
    return await node.run("fetchSockets", rooms=[room]) == []


async def test_server_side_emit_and_broadcast_acks_both_ways(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    node, io, _clients, _ids = await start(cluster, redis_server, kind)
    notes: list[Any] = []
    io.on("note", lambda *args: notes.append(args))
    io.server_side_emit("note", "from-py", b"\x00")
    await node.wait_for(is_type("serverSide", args=["note", "from-py", {"$bin": "00"}]))
    await node.run("serverSideEmit", args=["note", "from-node"])
    await eventually(lambda: notes == [("from-node",)])
    assert await io.server_side_emit_with_ack("ping", "py") == [["pong", "py"]]
    reply = await node.run("serverSideEmit", args=["ping", "node"], ack=True)
    assert reply == {"err": None, "responses": [["pong", "node"]]}

    responses = await io.timeout(2).emit_with_ack("ask", "all")
    assert sorted(r[0] for r in responses) == ["n1", "n2", "p1", "p2"]
    reply = await node.run("emit", event="ask", args=["r2"], rooms=["r2"], flags={"timeout": 2000})
    assert reply["err"] is None
    assert sorted(r[0] for r in reply["responses"]) == ["n2", "p2"]
    await asyncio.sleep(0)


async def test_sharded_wire_bytes_match_nodes(redis_server: RedisServer, cluster: Cluster) -> None:
    """What Node's sharded adapter SPUBLISHes, byte for byte: we decode it, and our
    encoder gives the same bytes for the same message (JSON and msgpack paths)."""
    from sioscope.server.adapters.sharded import decode_message, encode_message

    node = await cluster.node_server("sharded", redis_server.url)
    pubsub = cluster.redis(redis_server.url).pubsub()
    await pubsub.ssubscribe("socket.io#/#", "socket.io#/#r1#")
    await node.run("emit", event="bin", args=[{"$bin": "010203"}], flags={"volatile": True})
    await node.run("emit", event="txt", rooms=["r1"], args=["é", 1.5, None])
    payloads = []
    while len(payloads) < 2:
        message = await pubsub.get_message(timeout=5)
        assert message is not None
        if message["type"] == "smessage":
            payloads.append((message["channel"], message["data"]))
    await pubsub.aclose()
    (chan_bin, raw_bin), (chan_txt, raw_txt) = payloads
    assert chan_bin == b"socket.io#/#" and raw_bin[0] != 0x7B  # msgpack
    assert decode_message(raw_bin) == {
        "type": 3,
        "data": {
            "packet": {"type": 2, "data": ["bin", b"\x01\x02\x03"]},
            "opts": {"rooms": [], "except": [], "flags": {"volatile": True}},
        },
        "uid": node.uid,
        "nsp": "/",
    }
    assert encode_message(decode_message(raw_bin)) == raw_bin
    assert chan_txt == b"socket.io#/#r1#" and raw_txt[0] == 0x7B  # JSON, per-room channel
    assert encode_message(decode_message(raw_txt)) == raw_txt


async def test_streams_wire_matches_nodes(redis_server: RedisServer, cluster: Cluster) -> None:
    """What Node's streams adapter writes, byte for byte: its stream entries (JSON and
    base64 msgpack data) and its pub/sub requests decode, and encode back to the same."""
    from sioscope.server.adapters.codec import pack, unpack
    from sioscope.server.adapters.redis_streams import decode_entry, encode_entry

    node = await cluster.node_server("streams", redis_server.url)
    redis = cluster.redis(redis_server.url)
    pubsub = redis.pubsub()
    await pubsub.subscribe("socket.io#/#")
    await node.run("emit", event="bin", args=[{"$bin": "010203"}], rooms=["r1"])
    await node.run("emit", event="txt", args=["é", 1.5, None], flags={"volatile": True})
    await node.run("socketsJoin", rooms=["r1"], room="r2")
    fetched = asyncio.ensure_future(node.run("serverSideEmit", args=["note", 1]))
    entries = await eventually(lambda: _three_entries(redis))
    for entry_id, fields in entries:
        strings = {k.decode(): v.decode() for k, v in fields.items()}
        assert encode_entry(decode_entry(fields)) == strings, entry_id
    bin_entry = decode_entry(entries[0][1])
    assert bin_entry["data"] == {
        "packet": {"type": 2, "data": ["bin", b"\x01\x02\x03"]},
        "opts": {"rooms": ["r1"], "except": [], "flags": {}},
    }
    assert not entries[0][1][b"data"].startswith(b"{")  # base64 msgpack
    assert entries[1][1][b"data"].startswith(b"{")  # JSON
    await fetched
    while True:
        message = await pubsub.get_message(timeout=5)
        assert message is not None
        if message["type"] == "message":
            break
    await pubsub.aclose()
    request = unpack(message["data"])
    assert request == {"type": 9, "data": {"packet": ["note", 1]}, "uid": node.uid, "nsp": "/"}
    assert pack(request) == message["data"]


async def _three_entries(redis: Any) -> Any:
    entries = await redis.xrange("socket.io", "-", "+")
    return entries if len(entries) == 3 else None
