"""Rooms keep join order, as Node's adapter (``Map``/``Set``) does, seen by real clients.

python-socketio AsyncClients drive the joins; the order shows in what the clients are
sent (``list(socket.rooms)`` in an ack), in ``fetch_sockets``, in the order a broadcast
visits its recipients, and in ``disconnecting`` / ``leave-room`` on disconnect. Room
names and join orders are chosen so that neither sorting nor a hash order could pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from sioscope.server import Server, Socket
from tests.server.sio_support import (  # noqa: F401
    Factory,
    Recorder,
    py_client_fixture,
    serve_fixture,
    wait_for,
)

pytestmark = pytest.mark.interop

ROOMS = ["b", "a", "h", "c", "g", "d", "f", "e"]  # 8! orders: a hash order will not match


def rooms_app(io: Server) -> None:
    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        @socket.on("join")
        def join(*rooms: str, ack: Any = None) -> None:
            socket.join(list(rooms))
            if ack is not None:
                ack()

        socket.on("leave", lambda room: socket.leave(room))
        socket.on("rooms", lambda ack: ack(list(socket.rooms)))


async def test_socket_rooms_in_join_order_as_the_client_sees_them(
    serve: Factory, py_client: Any
) -> None:
    io, url = await serve(setup=rooms_app)
    client = await py_client(url)
    sid = client.get_sid("/")
    assert await wait_for(client.call("rooms")) == [sid]  # own id first, from connect
    for room in ROOMS[:4]:  # one join per event, in order
        await client.emit("join", room)
    await client.emit("join", (*ROOMS[4:], "a"))  # several args; "a" is already in
    assert await wait_for(client.call("rooms")) == [sid, *ROOMS]

    socket = io.sockets.sockets[sid]
    rooms = socket.rooms  # still a set for users
    assert rooms == {sid, *ROOMS} and {sid, *ROOMS} == rooms
    assert rooms - {sid} == set(ROOMS) and rooms & {"a", "zz"} == {"a"}
    assert "h" in rooms and "zz" not in rooms and len(rooms) == 9
    assert list(rooms) == [sid, *ROOMS]

    await client.emit("leave", "b")
    await client.emit("join", "b")  # left and joined again: last now
    assert await wait_for(client.call("rooms")) == [sid, *ROOMS[1:], "b"]
    assert list(rooms) == [sid, *ROOMS]  # a snapshot: taken before the changes
    for room in socket.rooms:  # so leaving while iterating is safe
        if room != sid:
            socket.leave(room)
    assert await wait_for(client.call("rooms")) == [sid]


async def test_members_fetch_sockets_and_broadcast_in_join_order(
    serve: Factory, py_client: Any
) -> None:
    io, url = await serve(setup=rooms_app)
    clients = [await py_client(url) for _ in range(5)]
    sockets = [io.sockets.sockets[c.get_sid("/")] for c in clients]  # connect order
    order = [3, 0, 4, 2, 1]  # the order they join "room"
    for i in order:
        await wait_for(clients[i].call("join", "room"))  # acked: joined before the next
    joined = [sockets[i] for i in order]
    assert await io.in_("room").fetch_sockets() == joined
    assert await io.fetch_sockets() == sockets  # no room: every socket, connect order
    assert [s.id for s in await io.except_(sockets[3].id).fetch_sockets()] == [
        s.id for s in sockets if s is not sockets[3]
    ]

    visited: list[str] = []
    for socket in sockets:
        socket.on_any_outgoing(lambda *_, sid=socket.id: visited.append(sid))
    inboxes = [Recorder() for _ in clients]
    for client, inbox in zip(clients, inboxes, strict=True):
        client.on("news", inbox)
    io.to("room").emit("news", 1)
    assert visited == [s.id for s in joined]  # recipients visited in join order
    for inbox in inboxes:
        assert await inbox.wait() == [(1,)]  # and every client got it

    # several rooms: the rooms in the order given, each room's members in join order
    await wait_for(clients[2].call("join", "other"))
    await wait_for(clients[1].call("join", "other"))
    visited.clear()
    io.to("other").to("room").emit("news", 2)
    assert visited == [sockets[2].id, sockets[1].id, sockets[3].id, sockets[0].id, sockets[4].id]


async def test_disconnect_leaves_rooms_in_join_order(serve: Factory, py_client: Any) -> None:
    io, url = await serve(setup=rooms_app)
    seen = Recorder()

    @io.on("connection")
    def watch(socket: Socket) -> None:
        socket.on("disconnecting", lambda reason: seen("disconnecting", list(socket.rooms)))
        socket.on("disconnect", lambda *_: seen("disconnect", list(socket.rooms)))

    left: list[tuple[str, str]] = []
    io.sockets.adapter.on("leave-room", lambda room, sid: left.append((room, sid)))
    client = await py_client(url)
    sid = client.get_sid("/")
    await wait_for(client.call("join", tuple(ROOMS)))
    await client.disconnect()  # from the client's side
    assert await seen.wait(2) == [
        ("disconnecting", [sid, *ROOMS]),
        ("disconnect", []),
    ]
    assert left == [(room, sid) for room in (sid, *ROOMS)]
