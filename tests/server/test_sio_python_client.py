"""The seed's examples, run against python-socketio's AsyncClient (a real peer)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
import socketio

from sioscope.server import ConnectionRefused, RemoteSocket, Server, Socket
from tests.server.sio_support import (  # noqa: F401
    WAIT,
    Factory,
    Recorder,
    py_client_fixture,
    serve_fixture,
    wait_for,
)

pytestmark = pytest.mark.interop


def capture_connections(io: Server | Any) -> Recorder:
    recorder = Recorder()
    io.on("connection", recorder)
    return recorder


async def test_same_id_both_sides_and_not_the_engine_id(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    client = await py_client(url)
    ((socket,),) = await connections.wait()
    assert client.get_sid("/") == socket.id
    assert len(socket.id) == 20 and re.fullmatch(r"[A-Za-z0-9_-]{20}", socket.id)
    assert socket.id != socket.conn.id == socket.client.id
    assert io.sockets.sockets == {socket.id: socket}
    assert io.namespaces["/"] is io.sockets


async def test_handshake_holds_real_values(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    before = int(time.time() * 1000)
    await py_client(
        url + "?room=lobby",
        auth={"token": "123"},
        headers={"Origin": "http://example.com"},
        transports=["polling"],
    )
    ((socket,),) = await connections.wait()
    hs = socket.handshake
    assert set(hs) == {
        "headers",
        "time",
        "address",
        "xdomain",
        "secure",
        "issued",
        "url",
        "query",
        "auth",
    }
    assert hs["auth"] == {"token": "123"}
    assert hs["headers"]["host"] == url.removeprefix("http://")
    assert hs["headers"]["origin"] == "http://example.com" and hs["xdomain"] is True
    assert "user-agent" in hs["headers"]
    assert hs["query"]["EIO"] == "4" and hs["query"]["transport"] == "polling"
    assert hs["query"]["room"] == "lobby"
    assert hs["url"].startswith("/socket.io/?") and "room=lobby" in hs["url"]
    assert hs["address"] == "127.0.0.1"
    assert hs["secure"] is False
    assert before - 5 <= hs["issued"] <= int(time.time() * 1000)
    assert re.fullmatch(
        r"\w{3} \w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4} \(.+\)", hs["time"]
    )


async def test_rooms_data_and_fetch_sockets(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    at_connection: list[tuple[bool, bool]] = []

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        # recorded, not asserted here: the emitter logs a listener's exception
        at_connection.append((socket.connected, socket.rooms == {socket.id}))
        socket.join("room1")
        socket.data["username"] = "alice"
        socket.custom_attribute = 42  # any attribute a user sets

    connections = capture_connections(io)
    await py_client(url)
    await py_client(url)
    await connections.wait(2)
    a, b = (call[0] for call in connections.calls)
    assert at_connection == [(True, True), (True, True)]
    assert a.rooms == {a.id, "room1"} and a.data == {"username": "alice"}
    assert a.custom_attribute == 42
    assert {s.id for s in await io.fetch_sockets()} == {a.id, b.id}
    io.in_(a.id).sockets_join(["solo", "room2"])
    assert a.rooms == {a.id, "room1", "solo", "room2"} and "solo" not in b.rooms
    fetched = await io.in_("solo").fetch_sockets()
    assert fetched == [a]
    assert await io.except_("solo").fetch_sockets() == [b]
    io.sockets_leave("room1")
    assert a.rooms == {a.id, "solo", "room2"} and b.rooms == {b.id}
    assert await io.in_("room2").all_sockets() == {a.id}


async def test_upgrade_polling_to_websocket(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    upgrades = Recorder()
    transports_at_open: list[str] = []

    # python-engineio upgrades right after the Engine.IO handshake, before the Socket.IO
    # CONNECT, so watch from the engine's connection (the Node test watches socket.conn).
    @io.engine.on("connection")
    def on_conn(conn: Any) -> None:
        transports_at_open.append(conn.transport.name)
        conn.once("upgrade", lambda transport: upgrades(transport.name, conn.transport.name))

    connections = capture_connections(io)
    await py_client(url, transports=["polling", "websocket"])
    assert await upgrades.wait() == [("websocket", "websocket")]
    assert transports_at_open == ["polling"]
    ((socket,),) = await connections.wait()
    assert socket.conn.transport.name == "websocket" and socket.conn.upgraded


async def test_conn_packet_packet_create_and_drain(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    received, created, drained = Recorder(), Recorder(), Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.conn.on("packet", received)
        socket.conn.on("packetCreate", created)
        socket.conn.on("drain", drained)

        @socket.on("hello")
        def hello(name: str) -> None:
            socket.emit("welcome", name)

    client = await py_client(url, transports=["websocket"])
    got = asyncio.get_running_loop().create_future()
    client.on("welcome", got.set_result)
    await client.emit("hello", "bob")
    assert await wait_for(got) == "bob"
    await received.wait()
    assert {"type": "message", "data": '2["hello","bob"]'} in [c[0] for c in received.calls]
    await created.wait()
    assert {"type": "message", "data": '2["welcome","bob"]'} in [c[0] for c in created.calls]
    assert await drained.wait()


async def test_middleware_refusal_reaches_connect_error(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    seen: list[tuple[bool, set[str], bool]] = []

    @io.use
    async def auth(socket: Socket) -> None:
        seen.append((socket.connected, socket.rooms, socket.id in io.sockets.sockets))
        if socket.handshake["auth"].get("token") != "123":
            raise ConnectionRefused("not authorized", data={"code": 401})

    errors = Recorder()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await py_client(url, auth={"token": "nope"}, setup=lambda c: c.on("connect_error", errors))
    assert (await errors.wait())[0] == ({"message": "not authorized", "data": {"code": 401}},)
    assert seen == [(False, set(), False)]
    assert io.sockets.sockets == {}
    client = await py_client(url, auth={"token": "123"})
    assert client.connected


async def test_plain_exception_refuses_with_its_message(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    io.use(lambda socket: 1 / 0)
    errors = Recorder()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await py_client(url, setup=lambda c: c.on("connect_error", errors))
    assert (await errors.wait())[0] == ({"message": "division by zero"},)


async def test_socket_use_refusal_reaches_error_handler(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    errors, delivered, any_seen = Recorder(), Recorder(), Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.on_any(any_seen)

        @socket.use
        async def guard(packet: list[Any]) -> None:
            if packet[0] == "admin only":
                raise PermissionError("unauthorized event")
            packet.append("added by middleware")

        socket.on("error", errors)
        socket.on("admin only", delivered)
        socket.on("chat", delivered)

    client = await py_client(url)
    await client.emit("admin only", 1)
    await client.emit("chat", "hi")
    ((err,),) = await errors.wait()
    assert isinstance(err, PermissionError) and str(err) == "unauthorized event"
    assert await delivered.wait() == [("hi", "added by middleware")]
    # on_any runs before the middlewares, even for the refused event
    assert [c[0] for c in await any_seen.wait(2)] == ["admin only", "chat"]


async def test_disconnecting_sees_rooms_disconnect_does_not(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    states = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.join("room1")
        socket.on(
            "disconnecting",
            lambda reason: states(
                "disconnecting",
                reason,
                socket.rooms,
                socket.connected,
                socket.id in io.sockets.sockets,
            ),
        )
        socket.on(
            "disconnect",
            lambda reason, description: states(
                "disconnect",
                reason,
                socket.rooms,
                socket.connected,
                socket.id in io.sockets.sockets,
            ),
        )

    connections = capture_connections(io)
    client_side = Recorder()
    client = await py_client(url, setup=lambda c: c.on("disconnect", client_side))
    ((socket,),) = await connections.wait()
    assert socket.disconnect() is socket
    calls = await states.wait(2)
    assert calls == [
        ("disconnecting", "server namespace disconnect", {socket.id, "room1"}, True, True),
        ("disconnect", "server namespace disconnect", set(), False, False),
    ]
    assert await client_side.wait() == [("server disconnect",)]  # python-socketio wording
    assert not client.connected
    socket.join("late")  # a no-op once cleaned up
    assert socket.rooms == set() and socket.disconnected


async def test_reserved_emit_raises_everywhere(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    await py_client(url)
    ((socket,),) = await connections.wait()
    for name in (
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ):
        for target in (socket, io, io.sockets, io.to("x"), socket.broadcast):
            with pytest.raises(ValueError, match=f'"{name}" is a reserved event name'):
                target.emit(name)
    socket.timeout(1)
    with pytest.raises(ValueError):
        socket.emit("disconnect")
    assert socket._flags == {"timeout": 1}  # not reset: the throw comes first, as in Node
    for name in ("connect", "connection", "new_namespace"):
        with pytest.raises(ValueError, match="reserved"):
            io.server_side_emit(name)
    assert io.emit("error", 1) and io.emit("message") and io.emit("connection")


async def test_acks_both_ways(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)

    def setup(client: socketio.AsyncClient) -> None:
        client.on("double", lambda n: n * 2)
        client.on("silent", lambda: None)
        client.on("binary", lambda: b"\x00\x01")

    client = await py_client(url, setup=setup)
    ((socket,),) = await connections.wait()
    assert await wait_for(socket.emit_with_ack("double", 21)) == 42
    assert await wait_for(socket.emit_with_ack("binary")) == b"\x00\x01"
    replies = Recorder()
    socket.emit("double", 5, callback=replies)
    assert await replies.wait() == [(10,)]
    with_timeout = Recorder()
    socket.timeout(2).emit("double", 1, callback=with_timeout)
    assert await with_timeout.wait() == [(None, 2)]

    # a handler that never acks: TimeoutError after the timeout
    slow = asyncio.get_running_loop().create_future()
    client.on("never", lambda: slow)  # python-socketio awaits it: no ack until resolved
    with pytest.raises(TimeoutError, match="operation has timed out"):
        await wait_for(socket.timeout(0.2).emit_with_ack("never"))
    slow.set_result(None)

    # client -> server acks, the keyword and the positional conventions
    @socket.on("sum")
    def add(a: int, b: int, ack: Any = None) -> None:
        ack(a + b)

    @socket.on("echo")
    def echo(value: Any, callback: Any) -> None:
        callback(value, "and more")
        callback("a second call sends nothing")

    assert await client.call("sum", (2, 3), timeout=WAIT) == 5
    assert await client.call("echo", {"é": [1]}, timeout=WAIT) == ({"é": [1]}, "and more")
    assert await client.call("echo", b"\x01\x02", timeout=WAIT) == (b"\x01\x02", "and more")


async def test_broadcast_acks(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    ids: list[str] = []

    def answering(client: socketio.AsyncClient) -> None:
        client.on("question", lambda q: f"{q}!")

    await py_client(url, setup=answering)
    await py_client(url, setup=answering)
    await connections.wait(2)
    for (socket,) in connections.calls:
        ids.append(socket.id)
    assert sorted(await wait_for(io.timeout(2).emit_with_ack("question", "q"))) == ["q!", "q!"]
    assert await wait_for(io.to("nobody").timeout(2).emit_with_ack("question", "q")) == []
    # one client that never answers: TimeoutError carrying the partial responses
    silent = asyncio.get_running_loop().create_future()
    await py_client(url, setup=lambda c: c.on("question", lambda q: silent))
    await connections.wait(3)
    with pytest.raises(TimeoutError) as info:
        await wait_for(io.timeout(0.3).emit_with_ack("question", "q"))
    assert info.value.responses == ["q!", "q!"]  # type: ignore[attr-defined]
    assert all(not s._acks for s in io.sockets.sockets.values())
    # without timeout(): about 1 ms, as Node
    results = Recorder()
    io.emit("question", "q", callback=results)
    ((err, responses),) = await results.wait()
    assert isinstance(err, TimeoutError) and isinstance(responses, list)
    silent.set_result(None)


async def test_on_any_and_outgoing_see_direct_and_broadcast(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    incoming, outgoing = Recorder(), Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.on_any(incoming)
        socket.on_any_outgoing(outgoing)

    connections = capture_connections(io)
    client = await py_client(url)
    ((socket,),) = await connections.wait()
    await client.emit("ping", (1, {"a": 2}))
    assert await incoming.wait() == [("ping", 1, {"a": 2})]
    socket.emit("direct", 1)
    io.emit("everyone", 2)
    socket.broadcast.emit("not me", 3)
    assert await outgoing.wait(2) == [("direct", 1), ("everyone", 2)]
    assert socket.listeners_any() == [incoming]
    socket.off_any(incoming).off_any_outgoing()
    assert socket.listeners_any() == [] and socket.listeners_any_outgoing() == []


async def test_to_except_broadcast_and_volatile(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    inboxes: list[Recorder] = []

    for _ in range(3):
        inbox = Recorder()
        inboxes.append(inbox)
        await py_client(url, setup=lambda c, inbox=inbox: c.on("*", inbox))
    await connections.wait(3)
    a, b, _ = (call[0] for call in connections.calls)
    a.join("red")
    b.join(["red", "blue"])
    a.to("red").emit("from a", 1)  # b only (a excluded)
    io.to("red").to("blue").emit("rb", 2)  # a and b once each
    io.except_("blue").emit("not blue", 3)  # a and c
    b.broadcast.emit("all but b", 4)  # a and c
    io.volatile.emit("volatile", 5)  # may be dropped; never errors
    io.compress(False).emit("plain", 6)  # everyone
    expected = {
        0: {("rb", 2), ("not blue", 3), ("all but b", 4), ("plain", 6)},
        1: {("from a", 1), ("rb", 2), ("plain", 6)},
        2: {("not blue", 3), ("all but b", 4), ("plain", 6)},
    }
    for index, inbox in enumerate(inboxes):
        calls = await inbox.wait_until(lambda calls, want=expected[index]: want <= set(calls))
        assert {c for c in calls if c[0] != "volatile"} == expected[index]
        assert len(calls) == len(set(calls))  # nobody got anything twice


async def test_custom_and_dynamic_namespaces(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    created = Recorder()
    io.on("new_namespace", created)
    custom = io.of("/custom")
    custom_connections = capture_connections(custom)
    parent = io.of(re.compile(r"^/dyn-\d+$"))
    parent.use(lambda socket: socket.data.update(parent="regex"))
    dynamic_connections = capture_connections(parent)
    allowed_names = {"/fn-ok"}

    async def check(name: str, auth: dict[str, Any]) -> bool:
        return name in allowed_names

    fn_parent = io.of(check)
    fn_connections = capture_connections(fn_parent)
    assert parent.name.startswith("/_") and parent.name not in io.namespaces

    client = await py_client(url, namespaces=["/custom", "/dyn-12", "/fn-ok"])
    ((custom_socket,),) = await custom_connections.wait()
    ((dyn_socket,),) = await dynamic_connections.wait()
    ((fn_socket,),) = await fn_connections.wait()
    assert client.get_sid("/custom") == custom_socket.id
    assert client.get_sid("/dyn-12") == dyn_socket.id
    assert dyn_socket.nsp.name == "/dyn-12" and dyn_socket.nsp in parent.children
    assert dyn_socket.data == {"parent": "regex"}
    assert fn_socket.nsp.name == "/fn-ok"
    assert [c[0].name for c in await created.wait(3)] == ["/custom", "/dyn-12", "/fn-ok"]
    # "/" middlewares do not run for other namespaces; "/" itself was not joined here
    assert io.sockets.sockets == {}

    errors = Recorder()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await py_client(
            url,
            namespaces=["/unknown"],
            setup=lambda c: c.on("connect_error", errors, namespace="/unknown"),
        )
    assert (await errors.wait())[0] == ({"message": "Invalid namespace"},)

    got = asyncio.get_running_loop().create_future()
    client.on("hello", got.set_result, namespace="/dyn-12")
    parent.emit("hello", "children")
    assert await wait_for(got) == "children"
    in_room = asyncio.get_running_loop().create_future()
    client.on("room news", in_room.set_result, namespace="/dyn-12")
    dyn_socket.join("lobby")
    parent.to("lobby").emit("room news", "via the parent")
    assert await wait_for(in_room) == "via the parent"
    with pytest.raises(RuntimeError, match="not supported on parent namespaces"):
        await parent.fetch_sockets()


async def test_cleanup_empty_child_namespaces(serve: Factory, py_client: Any) -> None:
    io, url = await serve(cleanup_empty_child_namespaces=True)
    parent = io.of(re.compile(r"^/room-"))
    connections = capture_connections(parent)
    client = await py_client(url, namespaces=["/room-1"])
    ((socket,),) = await connections.wait()
    assert "/room-1" in io.namespaces
    gone = Recorder()
    socket.on("disconnect", gone)
    await client.disconnect()
    await gone.wait()
    assert "/room-1" not in io.namespaces and not parent.children


async def test_cleanup_drops_a_child_whose_only_connection_was_refused(
    serve: Factory, py_client: Any
) -> None:
    """Node's override of ``_remove`` runs for a refused socket too; without that, each
    refused name of a dynamic parent would stay in ``io.namespaces`` for good."""
    io, url = await serve(cleanup_empty_child_namespaces=True)
    parent = io.of(re.compile(r"^/room-"))

    @parent.use
    def refuse(socket: Socket) -> None:
        raise ConnectionRefused("no such room")

    errors = Recorder()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await py_client(
            url, namespaces=["/room-9"], setup=lambda c: c.on("connect_error", errors, "/room-9")
        )
    assert (await errors.wait())[0] == ({"message": "no such room"},)
    assert "/room-9" not in io.namespaces and not parent.children


async def test_server_side_emit_single_server(serve: Factory) -> None:
    io, _ = await serve()
    assert await wait_for(io.server_side_emit_with_ack("hello", 1)) == []
    assert io.server_side_emit("disconnect") is True  # allowed, as in Node


async def test_binary_events_from_python_client(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    got = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.on(
            "upload",
            lambda name, blob, meta: (got(name, blob, meta), socket.emit("stored", blob[::-1])),
        )

    client = await py_client(url)
    stored = asyncio.get_running_loop().create_future()
    client.on("stored", stored.set_result)
    await client.emit("upload", ("f.bin", b"\x01\x02\x03", {"parts": [b"\x04"]}))
    assert await got.wait() == [("f.bin", b"\x01\x02\x03", {"parts": [b"\x04"]})]
    assert await wait_for(stored) == b"\x03\x02\x01"


async def test_broadcast_encodes_once_and_prepend_any(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    created = Recorder()
    order: list[str] = []

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.conn.on("packetCreate", created)
        socket.on_any_outgoing(lambda *args: order.append("second"))
        socket.prepend_any_outgoing(lambda *args: order.append("first"))

    connections = capture_connections(io)
    for _ in range(3):
        await py_client(url, transports=["websocket"])
    await connections.wait(3)
    created.calls.clear()
    io.emit("news", {"x": 1})
    calls = await created.wait(3)
    messages = [packet["data"] for (packet,) in calls if packet["type"] == "message"]
    assert messages == ['2["news",{"x":1}]'] * 3
    assert messages[0] is messages[1] is messages[2]  # the same string, encoded once
    assert order == ["first", "second"] * 3


async def test_async_ack_callbacks_run(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    await py_client(url, setup=lambda c: c.on("q", lambda: "a"))
    await connections.wait()
    done = Recorder()

    async def on_acks(err: Exception | None, responses: list[Any]) -> None:
        done(err, responses)

    io.timeout(2).emit("q", callback=on_acks)
    assert await done.wait() == [(None, ["a"])]


async def test_remote_socket_acts_through_the_adapter(serve: Factory, py_client: Any) -> None:
    io, url = await serve()
    connections = capture_connections(io)
    inbox = Recorder()
    client = await py_client(url, setup=lambda c: (c.on("hi", inbox), c.on("q", lambda: "a")))
    ((socket,),) = await connections.wait()
    details = {
        "id": socket.id,
        "handshake": socket.handshake,
        "rooms": list(socket.rooms),
        "data": {"from": "elsewhere"},
    }
    remote = RemoteSocket(io.sockets.adapter, details)
    assert remote.rooms == {socket.id} and remote.data == {"from": "elsewhere"}
    remote.emit("hi", 1)
    assert await inbox.wait() == [(1,)]
    single = Recorder()
    remote.timeout(2).emit("q", callback=single)
    assert await single.wait() == [(None, "a")]  # one response, not a list
    remote.join("r")
    assert socket.rooms == {socket.id, "r"}
    remote.leave("r")
    assert socket.rooms == {socket.id}
    assert remote.disconnect() is remote
    await asyncio.wait_for(_until(lambda: not client.connected), WAIT)


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


async def test_once_then_on_with_the_same_handler(serve: Factory, py_client: Any) -> None:
    """Node removes the ``once`` wrapper that fired, never a plain registration of the
    same function: so ``f`` runs 2, 1, 1 times for three events."""
    io, url = await serve()
    calls = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.once("tick", calls)
        socket.on("tick", calls)

    client = await py_client(url)
    for n in (1, 2, 3):
        await client.emit("tick", n)
    assert await calls.wait(4) == [(1,), (1,), (2,), (3,)]


async def test_missing_arguments_are_none_as_javascript_passes_undefined(
    serve: Factory, py_client: Any
) -> None:
    """A client may send fewer arguments than a handler names: JavaScript binds the rest
    to ``undefined`` and the handler still runs; here they are ``None``."""
    io, url = await serve()
    seen = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        @socket.on("chat")
        def chat(room: Any, text: Any, ack: Any = None) -> None:
            seen(room, text)
            if ack:
                ack("ok")

        socket.on("pair", lambda a, b: seen(a, b))

    client = await py_client(url)
    await client.emit("chat")
    assert await client.call("chat", "lobby", timeout=WAIT) == "ok"
    await client.emit("pair", 1)
    assert await seen.wait(3) == [(None, None), ("lobby", None), (1, None)]
