"""The in-memory Adapter: rooms <-> socket ids, and fan-out of packets to them.

Node's ``socket.io-adapter`` ``Adapter`` under Python names. It is the one seam a
cluster adapter (Redis pub/sub, sharded Redis) replaces, so its shape follows Node's:

1. Room bookkeeping (``add_all``, ``delete``, ``del_all``) is synchronous and emits the
   Node events ``create-room``, ``join-room``, ``leave-room``, ``delete-room``. A cluster
   adapter keeps this local bookkeeping and publishes beside it.
2. Every operation that may cross servers takes a :class:`BroadcastOptions` (rooms,
   except rooms, flags) that serialises to Node's ``{rooms, except, flags}``, and the
   ones that need replies from other servers (``fetch_sockets``, ``server_count``) are
   coroutines, so a cluster adapter overrides them without changing a caller.
3. ``broadcast`` encodes a packet once and writes the same messages to every recipient;
   no task per recipient.
4. ``persist_session`` / ``restore_session`` are the connection-state-recovery hooks
   (no-ops here), so a session-aware adapter slots in later.

Order is Node's: ``rooms`` (room -> member ids) and ``sids`` (id -> rooms) are dicts used
as insertion-ordered sets (``dict[str, None]``), as JS ``Map``/``Set`` are. So a socket's
rooms iterate in join order (its own id first), a room's members in join order, and
every selection (``broadcast``, ``fetch_sockets``, ...) visits the target rooms in the
order given and each room's members in join order; ``del_all`` leaves in join order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sioscope.server.emitter import EventEmitter
from sioscope.server.parser import Packet, encode

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace
    from sioscope.server.socket import Socket

__all__ = ["Adapter", "BroadcastOptions"]

log = logging.getLogger("sioscope")


@dataclass(slots=True)
class BroadcastOptions:
    """Who a fan-out targets: Node's ``{rooms, except, flags}``.

    ``flags`` keeps Node's keys (``volatile``, ``compress``, ``local``, ``broadcast``,
    ``timeout`` in seconds) so it can be sent to other servers as is.
    """

    rooms: tuple[str, ...] = ()
    except_rooms: tuple[str, ...] = ()
    flags: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape other servers of a cluster expect."""
        return {"rooms": list(self.rooms), "except": list(self.except_rooms), "flags": self.flags}


class Adapter(EventEmitter):
    """Rooms of one namespace, kept in memory; fan-out to local sockets.

    ``rooms`` maps a room to its member ids and ``sids`` a socket id to its rooms, each
    a ``dict[str, None]`` used as an ordered set (join order), like Node's ``Set``.
    """

    def __init__(self, nsp: Namespace) -> None:
        super().__init__()
        self.nsp = nsp
        self.rooms: dict[str, dict[str, None]] = {}
        self.sids: dict[str, dict[str, None]] = {}

    # -- lifecycle ---------------------------------------------------------------

    def init(self) -> None:
        """Called once after construction; a cluster adapter subscribes here."""

    async def close(self) -> None:
        """Called by ``io.close()``; a cluster adapter unsubscribes here."""

    async def server_count(self) -> int:
        """How many servers share this namespace (1 in memory)."""
        return 1

    # -- rooms -------------------------------------------------------------------

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Add socket ``sid`` to each room of ``rooms``."""
        own = self.sids.get(sid)
        if own is None:
            own = self.sids[sid] = {}
        for room in rooms:
            own[room] = None  # a room already joined keeps its place
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = {}
                self.emit("create-room", room)
            if sid not in members:
                members[sid] = None
                self.emit("join-room", room, sid)

    def delete(self, sid: str, room: str) -> None:
        """Remove socket ``sid`` from ``room`` (Node's ``del``)."""
        own = self.sids.get(sid)
        if own is not None:
            own.pop(room, None)
        self._del(room, sid)

    def _del(self, room: str, sid: str) -> None:
        members = self.rooms.get(room)
        if members is not None and sid in members:
            del members[sid]
            self.emit("leave-room", room, sid)
            if not members:
                del self.rooms[room]
                self.emit("delete-room", room)

    def del_all(self, sid: str) -> None:
        """Remove socket ``sid`` from all its rooms, in join order.

        As in Node, the socket's entry goes once every ``leave-room`` has been emitted
        (a listener still sees its rooms).
        """
        own = self.sids.get(sid)
        if own is None:
            return
        for room in tuple(own):
            self._del(room, sid)
        self.sids.pop(sid, None)

    def socket_rooms(self, sid: str) -> dict[str, None] | None:
        """The live rooms of ``sid`` (an ordered set: join order), or ``None``."""
        return self.sids.get(sid)

    async def sockets(self, rooms: Iterable[str]) -> set[str]:
        """Ids of the connected sockets in any of ``rooms`` (all when empty)."""
        opts = BroadcastOptions(rooms=tuple(dict.fromkeys(rooms)))
        return {socket.id for socket in self._apply(opts)}

    # -- fan-out -----------------------------------------------------------------

    def _apply(self, opts: BroadcastOptions) -> Iterable[Socket]:
        """Matching connected sockets, each once, in room then join order (Node's).

        The target rooms in the order given, each room's members in join order; with
        no rooms, every socket in the order its first room was joined (connect order).
        """
        sockets = self.nsp.sockets
        excepted: set[str] = set()
        for room in opts.except_rooms:
            members = self.rooms.get(room)
            if members:
                excepted.update(members)
        rooms = opts.rooms
        if len(rooms) == 1 and not excepted:  # the common case: one room, nobody excepted
            members = self.rooms.get(rooms[0])
            if members:
                for sid in tuple(members):
                    socket = sockets.get(sid)
                    if socket is not None:
                        yield socket
        elif rooms:
            seen: set[str] = set()
            for room in rooms:
                members = self.rooms.get(room)
                if not members:
                    continue
                for sid in tuple(members):
                    if sid in seen or sid in excepted:
                        continue
                    socket = sockets.get(sid)
                    if socket is not None:
                        seen.add(sid)
                        yield socket
        else:
            for sid in tuple(self.sids):
                if sid in excepted:
                    continue
                socket = sockets.get(sid)
                if socket is not None:
                    yield socket

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Write ``packet`` to every matching socket, encoded once."""
        packet.nsp = self.nsp.name
        encoded = encode(packet)
        flags = opts.flags
        volatile = bool(flags.get("volatile"))
        compress = flags.get("compress", True) is not False
        data = packet.data
        if len(encoded) != 1:
            for socket in self._apply(opts):
                if socket._any_outgoing:
                    socket._notify_outgoing(data)
                socket.client._write_encoded(encoded, volatile, compress)
            return
        # One text message (no attachments): the per-recipient loop, inlined.
        message = encoded[0]
        for socket in self._apply(opts):
            if socket._any_outgoing:
                socket._notify_outgoing(data)
            conn = socket.client.conn
            if conn.ready_state == "open" and (not volatile or conn.transport.writable):
                conn.send(message, compress=compress)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count_callback: Callable[[int], None],
        ack: Callable[..., None],
    ) -> None:
        """Broadcast with one shared ack id; report the client count synchronously."""
        packet.nsp = self.nsp.name
        packet.id = self.nsp._next_ack_id()
        encoded = encode(packet)
        flags = opts.flags
        volatile = bool(flags.get("volatile"))
        compress = flags.get("compress", True) is not False
        data = packet.data
        count = 0
        for socket in self._apply(opts):
            count += 1
            socket._acks[packet.id] = ack
            if socket._any_outgoing:
                socket._notify_outgoing(data)
            socket.client._write_encoded(encoded, volatile, compress)
        client_count_callback(count)

    # -- remote-capable operations -----------------------------------------------

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """Matching sockets (local ones as real ``Socket`` objects)."""
        return list(self._apply(opts))

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make the matching sockets join ``rooms``."""
        rooms = list(rooms)
        for socket in list(self._apply(opts)):
            socket.join(rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make the matching sockets leave ``rooms``."""
        rooms = list(rooms)
        for socket in list(self._apply(opts)):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the matching sockets (``close`` also closes their connection)."""
        for socket in list(self._apply(opts)):
            socket.disconnect(close)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        """Send ``[event, *args]`` to the other servers: there are none in memory.

        With ``ack``, it is called at once with ``(None, [])``: no server, no reply. Node's
        in-memory adapter only warns and never calls it, which leaves a Python awaiter
        hanging forever; the cluster adapters answer this way for a lone server.
        """
        log.warning("this adapter does not support the serverSideEmit() functionality")
        if ack is not None:
            ack(None, [])

    # -- connection state recovery hooks ------------------------------------------

    def persist_session(self, session: dict[str, Any]) -> None:
        """Store a disconnected socket's session (no-op without recovery)."""

    async def restore_session(self, pid: str, offset: str) -> dict[str, Any] | None:
        """A stored session and its missed packets, or ``None`` (always, here)."""
        return None
