"""The in-memory Adapter: rooms <-> socket ids, and fan-out of packets to them.

Node's ``socket.io-adapter`` ``Adapter`` under Python names. It is the one seam a
cluster adapter (Redis pub/sub, sharded Redis, Redis streams) replaces: such an adapter
subclasses :class:`Adapter`, keeps its local bookkeeping and fan-out (``super()``), and
overrides what crosses servers. The surface, as rules:

1. **Room bookkeeping** (``add_all``, ``delete``, ``del_all``, ``socket_rooms``, and the
   ``rooms`` / ``sids`` maps) is synchronous and emits the Node events ``create-room``,
   ``join-room``, ``leave-room``, ``delete-room``. A cluster adapter keeps it as is
   (every server knows only its own sockets' rooms) and may listen to those events
   (e.g. to subscribe to a room's channel).
2. **Selection.** :meth:`Adapter.select` yields the local connected sockets that a
   :class:`BroadcastOptions` (rooms, except rooms, flags) matches, in Node's order; every
   local operation below is built on it, and a subclass uses it for the local part of
   a remote request.
3. **Fan-out writes through one path.** ``broadcast`` encodes a packet once and hands
   the same messages to :meth:`Socket.deliver <sioscope.server.socket.Socket.deliver>`
   of each recipient (outgoing catch-alls, volatile, compress, write); no task per
   recipient. ``broadcast_with_ack`` takes one ack id from ``nsp.next_ack_id()``,
   registers the shared ack on each recipient (``socket.register_ack``) and reports the
   local client count through its callback.
4. **Methods that may cross servers** are of two kinds:

   - *queries*, always coroutines: ``fetch_sockets``, ``server_count``, ``sockets``,
     ``restore_session``, ``close``;
   - *commands*, which return ``None`` here and **may be overridden as coroutines**:
     ``init``, ``broadcast``, ``broadcast_with_ack``, ``add_sockets``,
     ``del_sockets``, ``disconnect_sockets``, ``server_side_emit``,
     ``persist_session``. Their callers stay synchronous: they pass what the command
     returned to :meth:`Adapter.settle`, which runs an awaitable as a task of the
     server (``nsp.server.tasks``, cancelled by ``io.close()``) and ignores ``None``.
     Such tasks start in call order; an adapter that must keep order across its own
     awaits (a publish, then the local effect) serialises itself, as Node's do with
     one publishing connection.
5. Every :class:`BroadcastOptions` serialises to Node's ``{rooms, except, flags}``
   (``to_dict``); its ``flags`` keep sioscope's keys (``timeout`` in seconds,
   ``expect_single_response``), so a wire codec converts them (milliseconds,
   ``expectSingleResponse``; ``local`` never published; ``volatile`` only when true).
6. **Receiving from other servers**: a remote broadcast is the local ``broadcast``
   (``super().broadcast``), remote joins/leaves/disconnects the local ``add_sockets``
   / ``del_sockets`` / ``disconnect_sockets``, a remote ``server_side_emit`` is
   ``nsp.receive_server_side_emit([event, *args])``. Background work of the adapter
   itself (subscriptions, timers) runs on ``self.tasks``.
7. ``persist_session`` / ``restore_session`` are the connection-state-recovery hooks
   (no-ops here), so a session-aware adapter slots in.

Order is Node's: ``rooms`` (room -> member ids) and ``sids`` (id -> rooms) are dicts used
as insertion-ordered sets (``dict[str, None]``), as JS ``Map``/``Set`` are. So a socket's
rooms iterate in join order (its own id first), a room's members in join order, and
every selection (``broadcast``, ``fetch_sockets``, ...) visits the target rooms in the
order given and each room's members in join order; ``del_all`` leaves in join order.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sioscope.server.emitter import EventEmitter
from sioscope.server.parser import Packet, encode

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace
    from sioscope.server.socket import Socket
    from sioscope.server.tasks import TaskSet

__all__ = ["Adapter", "BroadcastOptions", "Command"]

Command = Awaitable[None] | None
"""What a command of rule 4 returns: ``None`` (done) or an awaitable to settle."""

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

    @property
    def volatile(self) -> bool:
        """Drop the packet for a recipient whose transport is not writable right now."""
        return bool(self.flags.get("volatile"))

    @property
    def compress(self) -> bool:
        """Compress (when the transport negotiated it); true unless set to false."""
        return self.flags.get("compress", True) is not False


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

    @property
    def tasks(self) -> TaskSet:
        """The server's tasks (``nsp.server.tasks``): coroutine listeners of the room
        events, settled commands (rule 4) and the adapter's own background work (rule 6)."""
        return self.nsp.server.tasks

    def settle(self, result: Command) -> None:
        """Run what a command of rule 4 returned: nothing for ``None`` (the in-memory
        adapter, done already), a task of the server for an awaitable (a coroutine
        override). Callers of the commands use this so that they stay synchronous."""
        if result is not None and inspect.isawaitable(result):
            self.tasks.spawn(_awaited(result), name=f"adapter {self.nsp.name}")

    def init(self) -> Command:
        """Called once after construction; a cluster adapter subscribes here."""
        return None

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
        return {socket.id for socket in self.select(opts)}

    # -- fan-out -----------------------------------------------------------------

    def select(self, opts: BroadcastOptions) -> Iterator[Socket]:
        """Matching local connected sockets, each once, in room then join order (Node's
        ``apply``; rule 2).

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

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> Command:
        """Write ``packet`` to every matching local socket, encoded once (rule 3)."""
        packet.nsp = self.nsp.name
        encoded = encode(packet)
        volatile = opts.volatile
        compress = opts.compress
        data = packet.data
        for socket in self.select(opts):
            socket.deliver(data, encoded, volatile, compress)
        return None

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count_callback: Callable[[int], None],
        ack: Callable[..., None],
    ) -> Command:
        """Broadcast with one shared ack id (rule 3): ``ack(*reply)`` per client reply;
        the local client count is reported synchronously, before any reply."""
        packet.nsp = self.nsp.name
        ack_id = packet.id = self.nsp.next_ack_id()
        encoded = encode(packet)
        volatile = opts.volatile
        compress = opts.compress
        data = packet.data
        count = 0
        for socket in self.select(opts):
            count += 1
            socket.register_ack(ack_id, ack)
            socket.deliver(data, encoded, volatile, compress)
        client_count_callback(count)
        return None

    # -- remote-capable operations -----------------------------------------------

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """Matching sockets (local ones as real ``Socket`` objects, remote ones as
        :class:`~sioscope.server.broadcast.RemoteSocket`)."""
        return list(self.select(opts))

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> Command:
        """Make the matching sockets join ``rooms``."""
        rooms = list(rooms)
        for socket in list(self.select(opts)):
            socket.join(rooms)
        return None

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> Command:
        """Make the matching sockets leave ``rooms``."""
        rooms = list(rooms)
        for socket in list(self.select(opts)):
            for room in rooms:
                socket.leave(room)
        return None

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> Command:
        """Disconnect the matching sockets (``close`` also closes their connection)."""
        for socket in list(self.select(opts)):
            socket.disconnect(close)
        return None

    def server_side_emit(
        self, packet: list[Any], ack: Callable[..., None] | None = None
    ) -> Command:
        """Send ``[event, *args]`` to the other servers: there are none in memory.

        With ``ack``, it is called at once with ``(None, [])``: no server, no reply. Node's
        in-memory adapter only warns and never calls it, which leaves a Python awaiter
        hanging forever; the cluster adapters answer this way for a lone server.
        """
        log.warning("this adapter does not support the serverSideEmit() functionality")
        if ack is not None:
            ack(None, [])
        return None

    # -- connection state recovery hooks ------------------------------------------

    def persist_session(self, session: dict[str, Any]) -> Command:
        """Store a disconnected socket's session (no-op without recovery)."""
        return None

    async def restore_session(self, pid: str, offset: str) -> dict[str, Any] | None:
        """A stored session and its missed packets, or ``None`` (always, here)."""
        return None


async def _awaited(awaitable: Awaitable[None]) -> None:
    """A coroutine of any awaitable, since a task needs one (``settle``)."""
    await awaitable
