"""Every cluster operation across two servers on one real Redis, in each direction:
a Node socket.io 4.8 server with the real @socket.io/redis-adapter 8.3 beside a
sioscope server (each one initiating), and two sioscope servers. The clients are npm
socket.io-client, two on each server.

Each test drives server A (the initiator) and observes clients and server B; the
same test body runs for every pair, so a difference between Node and sioscope shows
as a failure of one parametrisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cluster.peers import WAIT, Clients, NodePeer, PyPeer, sioscope_server
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop

PAIRS = [("sioscope", "node"), ("node", "sioscope"), ("sioscope", "sioscope")]


@dataclass
class Cluster:
    a: Any  # the initiator: a NodePeer or a PyPeer
    b: Any
    clients: Clients
    sid: dict[str, str]  # client name -> socket id

    async def rooms(self, name: str) -> list[Any]:
        """The rooms of client ``name``'s socket, asked of its own server."""
        server = self.a if name.startswith("a") else self.b
        return list(await server.call("rooms", sid=self.sid[name]))


async def start_peer(
    kind: str, node_bin: str, redis_url: str, stack: contextlib.AsyncExitStack, **options: Any
) -> Any:
    """A Node or sioscope server of the cluster, closed with ``stack``."""
    if kind == "node":
        config = {"redisUrl": redis_url, "serverSide": ["hello"], "requestsTimeout": 1000}
        script = "cluster-node-server.js"
        peer = await NodePeer.start(node_bin, script, json.dumps(config | options))
        stack.push_async_callback(peer.close)
        return peer
    server_options = {"requests_timeout": 1.0}
    if "publishOnSpecificResponseChannel" in options:
        server_options["publish_on_specific_response_channel"] = options[
            "publishOnSpecificResponseChannel"
        ]
    io, url = await stack.enter_async_context(sioscope_server(redis_url, **server_options))
    return PyPeer(io, url)


@contextlib.asynccontextmanager
async def two_servers(
    kinds: tuple[str, str], node_bin: str, redis_url: str, **options: Any
) -> AsyncIterator[Cluster]:
    """Servers A and B of ``kinds`` on one Redis, clients a1, a2 on A and b1, b2 on B;
    rooms: a1, b1 in r1; a2, b2 in r2; b1 in r3."""
    async with contextlib.AsyncExitStack() as stack:
        a = await start_peer(kinds[0], node_bin, redis_url, stack, **options)
        b = await start_peer(kinds[1], node_bin, redis_url, stack, **options)
        clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
        stack.push_async_callback(clients.peer.close)
        for server in (a, b):
            counts: list[int] = []

            async def counted(server: Any = server, counts: list[int] = counts) -> bool:
                counts.append(await server.call("serverCount"))
                return counts[-1] == 2

            for _ in range(500):
                if await counted():
                    break
                await asyncio.sleep(0.01)
            assert counts[-1] == 2
        sid = {}
        for name, server in (("a1", a), ("a2", a), ("b1", b), ("b2", b)):
            sid[name] = await clients.connect(name, server.url)
        for name, room in (("a1", "r1"), ("b1", "r1"), ("a2", "r2"), ("b2", "r2"), ("b1", "r3")):
            await (a if name.startswith("a") else b).call("join", sid=sid[name], room=room)
        yield Cluster(a, b, clients, sid)


@pytest.fixture(params=PAIRS, ids=[f"{x}-to-{y}" for x, y in PAIRS])
async def cluster(
    request: pytest.FixtureRequest, node_bin: str, redis_server: RedisServer
) -> AsyncIterator[Cluster]:
    async with two_servers(request.param, node_bin, redis_server.url) as made:
        yield made


async def test_broadcasts_with_rooms_except_and_flags(cluster: Cluster) -> None:
    """Node's 'broadcasts to all clients', '... in a room', '... except in room',
    '... to all clients once', '... to a single client', '... local clients only',
    binary content, volatile and compress: each client gets exactly its events, in
    order."""
    a, c = cluster.a, cluster.clients
    binary = [1, "2", b"\x00\x01\xff", {"nested": b"\x02"}]
    # First, while every transport is idle: a volatile packet is dropped for a client
    # whose transport is still writing (Node's rule), which a burst would make likely.
    await a.call("emit", event="vol", flags={"volatile": True})
    await a.call("emit", event="all")
    await a.call("emit", event="r1", rooms=["r1"])
    await a.call("emit", event="not-r1", **{"except": ["r1"]})
    await a.call("emit", event="r1r2-not-r3", rooms=["r1", "r2"], **{"except": ["r3"]})
    await a.call("emit", event="bin", args=binary, rooms=["r2"])
    await a.call("emit", event="nocompress", flags={"compress": False})
    await a.call("emit", event="local", flags={"local": True})
    await a.call("emit", event="direct", rooms=[cluster.sid["b2"]])
    await a.call("emit", event="end")
    expected = {
        "a1": ["vol", "all", "r1", "r1r2-not-r3", "nocompress", "local", "end"],
        "a2": ["vol", "all", "not-r1", "r1r2-not-r3", "bin", "nocompress", "local", "end"],
        "b1": ["vol", "all", "r1", "nocompress", "end"],
        "b2": ["vol", "all", "not-r1", "r1r2-not-r3", "bin", "nocompress", "direct", "end"],
    }
    for name, events in expected.items():
        await c.wait_event(name, "end")
        assert [e[0] for e in c.events(name)] == events, name
        if "bin" in events:
            assert c.events(name, "bin") == [["bin", *binary]]


async def test_fetch_sockets_across_servers(cluster: Cluster) -> None:
    """The seed's example: socket.data.username set on server B, read with
    fetch_sockets on server A; remote sockets carry id, handshake, rooms and data as
    their own server has them, local ones come first; rooms, except and local apply."""
    a, b, sid = cluster.a, cluster.b, cluster.sid
    await b.call("setData", sid=sid["b1"], data={"username": "alice", "n": [1, 2]})
    sockets = await a.call("fetchSockets")
    assert [s["id"] for s in sockets[:2]] == [sid["a1"], sid["a2"]]
    assert sorted(s["id"] for s in sockets[2:]) == sorted([sid["b1"], sid["b2"]])
    assert [s["local"] for s in sockets] == [True, True, False, False]
    b_own = {s["id"]: s for s in await b.call("fetchSockets", flags={"local": True})}
    for fetched in sockets[2:]:
        own = b_own[fetched["id"]]
        assert fetched["handshake"] == own["handshake"]
        assert fetched["rooms"] == own["rooms"]
        assert fetched["data"] == own["data"]
    by_id = {s["id"]: s for s in sockets}
    assert by_id[sid["b1"]]["data"] == {"username": "alice", "n": [1, 2]}
    assert by_id[sid["b1"]]["rooms"] == [sid["b1"], "r1", "r3"]
    assert set(by_id[sid["b1"]]["handshake"]) >= {"headers", "time", "address", "query", "auth"}

    assert [s["id"] for s in await a.call("fetchSockets", rooms=["r3"])] == [sid["b1"]]
    not_r1 = await a.call("fetchSockets", **{"except": ["r1"]})
    assert sorted(s["id"] for s in not_r1) == sorted([sid["a2"], sid["b2"]])
    local = await a.call("fetchSockets", flags={"local": True})
    assert [s["id"] for s in local] == [sid["a1"], sid["a2"]]
    rooms = set(await a.call("allRooms"))
    assert rooms == {*sid.values(), "r1", "r2", "r3"}


async def test_remote_socket_operations(cluster: Cluster) -> None:
    """A RemoteSocket from fetch_sockets: emit (binary too), join, leave, emit with an
    ack (a single response) and disconnect reach the socket on the other server."""
    a, c, sid = cluster.a, cluster.clients, cluster.sid
    await a.call("remote", sid=sid["b1"], action="emit", event="hi", args=["there", b"\x07"])
    assert await c.wait_event("b1", "hi") == [["hi", "there", b"\x07"]]
    assert c.events("b2", "hi") == []
    await a.call("remote", sid=sid["b1"], action="join", room="joined")
    await wait_until_rooms(cluster, "b1", [sid["b1"], "r1", "r3", "joined"])
    await a.call("remote", sid=sid["b1"], action="leave", room="r1")
    await wait_until_rooms(cluster, "b1", [sid["b1"], "r3", "joined"])
    reply = await a.call("remote", sid=sid["b1"], action="emitWithAck", event="q", timeout=2000)
    assert reply == {"error": None, "responses": "b1"}
    await a.call("remote", sid=sid["b1"], action="disconnect")
    assert await c.wait_disconnect("b1") == "io server disconnect"
    assert [s["id"] for s in await a.call("fetchSockets", rooms=["r3"])] == []


async def wait_until_rooms(cluster: Cluster, name: str, rooms: list[Any]) -> None:
    """Wait until client ``name``'s socket is in ``rooms`` (in join order)."""
    seen: list[Any] = []
    deadline = asyncio.get_running_loop().time() + WAIT
    while asyncio.get_running_loop().time() < deadline:
        seen = await cluster.rooms(name)
        if seen == rooms:
            return
        await asyncio.sleep(0.01)
    assert seen == rooms


async def test_sockets_join_leave_and_disconnect(cluster: Cluster) -> None:
    """sockets_join / sockets_leave / disconnect_sockets reach the matching sockets of
    both servers; a packet sent before disconnect_sockets arrives before it ('sends a
    packet before all socket instances disconnect')."""
    a, c, sid = cluster.a, cluster.clients, cluster.sid
    await a.call("socketsJoin", room="j", rooms=["r1"])
    await wait_until_rooms(cluster, "a1", [sid["a1"], "r1", "j"])
    await wait_until_rooms(cluster, "b1", [sid["b1"], "r1", "r3", "j"])
    await a.call("socketsLeave", room="r2")
    await wait_until_rooms(cluster, "b2", [sid["b2"]])
    await wait_until_rooms(cluster, "a2", [sid["a2"]])
    assert await cluster.rooms("b1") == [sid["b1"], "r1", "r3", "j"]  # not in r2: untouched

    await a.call("emit", event="bye", rooms=["j"])
    await a.call("disconnectSockets", rooms=["j"])
    for name in ("a1", "b1"):
        assert await c.wait_disconnect(name) == "io server disconnect"
        kinds = [e.get("event", e["type"]) for e in c.peer.events if e.get("name") == name]
        assert kinds[-2:] == ["bye", "disconnect"], name
    await a.call("disconnectSockets", close=True)
    for name in ("a2", "b2"):  # a DISCONNECT packet first, then the connection closes
        assert await c.wait_disconnect(name) == "io server disconnect"


async def test_server_side_emit(cluster: Cluster) -> None:
    """server_side_emit reaches the other server, not the sender; with an ack, one
    reply per other server."""
    a, b = cluster.a, cluster.b
    await a.call("serverSideEmit", event="hello", args=[1, "x", {"k": [True]}])
    got = await b.wait_for(lambda e: e.get("event") == "serverSide")
    assert got["args"] == [1, "x", {"k": [True]}]
    reply = await a.call("serverSideEmit", event="hello", args=[2], ack=True)
    kind = "node" if isinstance(b, NodePeer) else "sioscope"
    assert reply == {"error": None, "responses": [{"server": kind, "name": "hello", "args": [2]}]}
    assert not [e for e in a.events if e.get("event") == "serverSide"]


async def test_broadcast_acks_from_every_server(cluster: Cluster) -> None:
    """timeout().emit_with_ack() collects one reply per client on every server
    ('broadcasts with multiple acknowledgements', '... (no client)', binary)."""
    a = cluster.a
    reply = await a.call("emitWithAck", event="q", args=[b"\x01"], timeout=3000)
    assert reply["error"] is None
    assert sorted(reply["responses"]) == ["a1", "a2", "b1", "b2"]
    reply = await a.call("emitWithAck", event="q", rooms=["r3"], timeout=3000)
    assert reply == {"error": None, "responses": ["b1"]}
    reply = await a.call("emitWithAck", event="q", rooms=["nobody"], timeout=3000)
    assert reply == {"error": None, "responses": []}
    assert cluster.clients.events("b1", "q")[0] == ["q", b"\x01"]


@pytest.mark.parametrize("kinds", [("sioscope", "node"), ("node", "sioscope")], ids=str)
async def test_specific_response_channel(
    kinds: tuple[str, str], node_bin: str, redis_server: RedisServer
) -> None:
    """With publish_on_specific_response_channel on both, answers travel on the
    requester's own channel: fetch_sockets and broadcast acks still complete."""
    async with two_servers(
        kinds, node_bin, redis_server.url, publishOnSpecificResponseChannel=True
    ) as cluster:
        sockets = await cluster.a.call("fetchSockets", rooms=["r1"])
        assert sorted(s["id"] for s in sockets) == sorted([cluster.sid["a1"], cluster.sid["b1"]])
        reply = await cluster.a.call("emitWithAck", event="q", rooms=["r1"], timeout=3000)
        assert sorted(reply["responses"]) == ["a1", "b1"]
