"""Connection state recovery with real socket.io-client clients: on one server with the
in-memory adapter (the same scenario against a Node socket.io 4.8 server and against
ours, compared), and across servers with the streams adapter (a client that lost its
connection to the Node server recovers on ours, and the other way round)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sioscope.server import Server
from sioscope.server.adapters import redis_streams
from tests.cluster.cluster_support import Cluster, NodeClients, eventually, is_type
from tests.conftest import free_port
from tests.redis_server import RedisServer

YEAST = re.compile(r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)?$")
STREAM_ID = re.compile(r"^[0-9]+-[0-9]+$")

Emit = Callable[..., Awaitable[Any]]


def python_app(io: Server) -> None:
    @io.on("connection")
    def on_connection(socket: Any) -> None:
        if not socket.recovered:
            auth = socket.handshake["auth"]
            socket.join(auth.get("rooms", []))
            socket.data = auth.get("data", {})


def py_emitter(io: Server) -> Emit:
    """``emit(event, *args, rooms=, except_=, volatile=)`` on a sioscope server."""

    async def emit(
        event: str, *args: Any, rooms: Any = (), except_: Any = (), volatile: bool = False
    ) -> None:
        op: Any = io.sockets
        if rooms:
            op = op.to(rooms)
        if except_:
            op = op.except_(except_)
        if volatile:
            op = op.volatile
        op.emit(event, *args)

    return emit


def node_emitter(node: Any) -> Emit:
    async def emit(
        event: str, *args: Any, rooms: Any = (), except_: Any = (), volatile: bool = False
    ) -> None:
        await node.run(
            "emit",
            event=event,
            args=list(args),
            rooms=list(rooms),
            **({"except": list(except_)} if except_ else {}),
            flags={"volatile": True} if volatile else {},
        )

    return emit


async def away_and_back(
    clients: NodeClients,
    name: str,
    first_url: str,
    emit_first: Emit,
    gone: Callable[[], Awaitable[Any]],
    emit_away: Emit,
    back_url: str,
) -> tuple[dict[str, Any], dict[str, Any], list[list[Any]]]:
    """Connect to ``first_url``, get one offset, lose the connection, let the server
    broadcast while away, come back on ``back_url``: (first connect, second connect,
    the events received after the first one)."""
    clients.open(name, first_url, auth={"rooms": ["r1"], "data": {"n": 1}})
    first = await clients.connected(name)
    await emit_first("init")
    await clients.wait_for(is_type("event", name=name, event="init"))
    clients.switch(name, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    await clients.wait_for(is_type("disconnect", name=name))
    await gone()
    await emit_away("m", 1)
    await emit_away("m", 2, rooms=["r1"])
    await emit_away("m", 3, rooms=["r2"])
    await emit_away("m", 4, except_=["r1"])
    await emit_away("m", 5, volatile=True)
    clients.switch(name, back_url)
    second = await clients.connected(name, after=1)
    events = [[e["event"], *e["args"]] for e in clients.events(name)]
    # the missed packets were written before the CONNECT reply: the client emits them
    # before its "connect" (it would after, had they come later)
    mine = [r for r in clients.records if r.get("name") == name and r["type"] != "connect_error"]
    replayed = len(events) - 1
    assert [r["type"] for r in mine[-replayed - 1 :]] == ["event"] * replayed + ["connect"]
    return first, second, events


def shape(events: list[list[Any]], offset: re.Pattern[str]) -> list[list[Any]]:
    """The events with each offset replaced by ``"<offset>"`` (checked, and distinct)."""
    offsets = [e[-1] for e in events]
    assert all(isinstance(o, str) and offset.match(o) for o in offsets), offsets
    assert len(set(offsets)) == len(offsets)
    return [[*e[:-1], "<offset>"] for e in events]


async def test_in_memory_recovery_matches_node(cluster: Cluster) -> None:
    recovery = {"max_disconnection_duration": 5}
    io, url = await cluster.sioscope(python_app, connection_state_recovery=recovery)
    node = await cluster.node_server("memory", "", recovery={"maxDisconnectionDuration": 5000})
    clients = await cluster.clients()

    async def py_gone() -> None:
        await eventually(lambda: not io.of("/").sockets)

    async def node_gone() -> None:
        await node.wait_for(is_type("disconnect"))

    runs = {}
    for name, url_, emit, gone in (
        ("py", url, py_emitter(io), py_gone),
        ("node", node.url, node_emitter(node), node_gone),
    ):
        first, second, events = await away_and_back(clients, name, url_, emit, gone, emit, url_)
        assert second["recovered"] is True and second["id"] == first["id"]
        runs[name] = shape(events, YEAST)
    assert (
        runs["py"]
        == runs["node"]
        == [["init", "<offset>"], ["m", 1, "<offset>"], ["m", 2, "<offset>"]]
    )
    socket = next(iter(io.of("/").sockets.values()))
    assert socket.recovered and set(socket.rooms) == {socket.id, "r1"} and socket.data == {"n": 1}


async def test_unknown_session_and_middlewares(cluster: Cluster) -> None:
    calls: list[bool] = []

    def setup(io: Server) -> None:
        python_app(io)
        io.use(lambda socket: calls.append(socket.recovered))

    io, url = await cluster.sioscope(setup, connection_state_recovery=True)
    clients = await cluster.clients()
    clients.open("stranger", url, auth={"pid": "foo", "offset": "bar"})
    assert (await clients.connected("stranger"))["recovered"] is False
    _first, second, _events = await away_and_back(
        clients,
        "c",
        url,
        py_emitter(io),
        lambda: eventually(lambda: len(io.of("/").sockets) == 1),
        py_emitter(io),
        url,
    )
    assert second["recovered"] is True
    assert calls == [False, False]  # skipped on recovery (skip_middlewares defaults to True)

    io2, url2 = await cluster.sioscope(setup, connection_state_recovery={"skip_middlewares": False})
    _first, second, _events = await away_and_back(
        clients,
        "d",
        url2,
        py_emitter(io2),
        lambda: eventually(lambda: not io2.of("/").sockets),
        py_emitter(io2),
        url2,
    )
    assert second["recovered"] is True
    assert calls == [False, False, False, True]  # run, and the middleware sees recovered


async def test_streams_recovery_across_node_and_sioscope(
    redis_server: RedisServer, cluster: Cluster
) -> None:
    redis = cluster.redis(redis_server.url)
    node = await cluster.node_server(
        "streams", redis_server.url, recovery={"maxDisconnectionDuration": 5000}
    )
    io, url = await cluster.sioscope(
        python_app,
        adapter=redis_streams.create_adapter(redis),
        connection_state_recovery={"max_disconnection_duration": 5},
    )
    await eventually(lambda: _count_is(io, 2))
    clients = await cluster.clients()

    async def session_stored() -> None:
        await eventually(lambda: _session_keys(redis))

    # a client of the Node server recovers on ours, with what Node sent meanwhile
    first, second, events = await away_and_back(
        clients,
        "from-node",
        node.url,
        node_emitter(node),
        session_stored,
        node_emitter(node),
        url,
    )
    assert second["recovered"] is True and second["id"] == first["id"]
    # the volatile broadcast is replayed too: it is in the stream (Node's streams adapter)
    assert shape(events, STREAM_ID) == [
        ["init", "<offset>"],
        ["m", 1, "<offset>"],
        ["m", 2, "<offset>"],
        ["m", 5, "<offset>"],
    ]
    socket = io.of("/").sockets[first["id"]]
    assert socket.recovered and set(socket.rooms) == {socket.id, "r1"} and socket.data == {"n": 1}
    assert await redis.keys("sio:session:*") == []  # consumed by the restore

    # and a client of ours recovers on the Node server
    first, second, events = await away_and_back(
        clients, "from-py", url, py_emitter(io), session_stored, py_emitter(io), node.url
    )
    assert second["recovered"] is True and second["id"] == first["id"]
    # the volatile broadcast is replayed too: it is in the stream (Node's streams adapter)
    assert shape(events, STREAM_ID) == [
        ["init", "<offset>"],
        ["m", 1, "<offset>"],
        ["m", 2, "<offset>"],
        ["m", 5, "<offset>"],
    ]
    recovered = await node.wait_for(is_type("connection", id=first["id"]))
    assert recovered["recovered"] is True and recovered["data"] == {"n": 1}


async def _count_is(io: Server, n: int) -> bool:
    return await io.of("/").adapter.server_count() == n


async def _session_keys(redis: Any) -> bool:
    return bool(await redis.keys("sio:session:*"))


async def test_an_expired_session_is_not_restored_as_in_node(cluster: Cluster) -> None:
    """Back after ``max_disconnection_duration``: a new id, ``recovered`` false, on
    Node's server and on ours alike."""
    io, url = await cluster.sioscope(
        python_app, connection_state_recovery={"max_disconnection_duration": 0.2}
    )
    node = await cluster.node_server("memory", "", recovery={"maxDisconnectionDuration": 200})
    clients = await cluster.clients()

    async def py_gone() -> None:
        await eventually(lambda: not io.of("/").sockets)
        await asyncio.sleep(0.4)

    async def node_gone() -> None:
        await node.wait_for(is_type("disconnect"))
        await asyncio.sleep(0.4)

    for name, url_, emit, gone in (
        ("py", url, py_emitter(io), py_gone),
        ("node", node.url, node_emitter(node), node_gone),
    ):
        first, second, events = await away_and_back(clients, name, url_, emit, gone, emit, url_)
        assert second["recovered"] is False and second["id"] != first["id"]
        assert [e[0] for e in events] == ["init"]  # nothing replayed
