"""Development mode's per-socket events: Node's ``registerVerboseListeners``.

For every namespace but the admin one, the observer tells the admin namespace when a
socket connects, changes (``socket.data``, transport), joins or leaves a room, receives
or sends an event, and disconnects. Rules:

1. Observe, never patch: ``nsp.prepend_listener("connection")``, the adapter's
   ``join-room`` / ``leave-room``, the socket's ``on_any`` / ``on_any_outgoing`` /
   ``disconnect`` and its connection's ``upgrade``. ``socket.data`` (a public, writable
   attribute) is replaced by a :class:`TrackedDict` holding the same items, as Node
   replaces it with a Proxy, plus Node's ``_admin`` entry (``clientId``, ``transport``,
   and our ``serverId`` in a cluster), so the other servers of a cluster, Node's
   admin-ui included, can describe our sockets. Like Node's, it is lost when the
   application replaces ``socket.data`` as a whole.
2. Nothing is built for nobody: each listener first asks whether an admin client may
   listen (``Backpressure.listening``: one connected here, or any with a cluster
   adapter) and returns at once when not (a serialisation costs more than the event
   it describes).
3. Node's order: ``room_left`` is deferred to the next loop turn (Node's
   ``process.nextTick``), so on a disconnect ``socket_disconnected`` comes first.
4. Every message goes out through :class:`Backpressure` (a broadcast that skips lagging
   admin clients).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sioscope.server.admin import protocol
from sioscope.server.admin.backpressure import Backpressure
from sioscope.server.admin.serialize import (
    admin_tag,
    crosses_servers,
    describe_socket,
    iso_now,
    serialize_data,
)
from sioscope.server.admin.tracked import TrackedDict


def _call_soon(fn: Callable[[], None]) -> None:
    try:
        asyncio.get_running_loop().call_soon(fn)
    except RuntimeError:
        fn()


class NamespaceObserver:
    """Reports the sockets of the observed namespaces to the admin namespace ``admin_nsp``."""

    def __init__(
        self,
        admin_nsp: Any,
        backpressure: Backpressure,
        redact_headers: frozenset[str],
        *,
        server_id: str | None = None,
    ) -> None:
        self.admin_nsp = admin_nsp
        self.backpressure = backpressure
        self.redact = redact_headers
        self.server_id = server_id

    def observe(self, nsp: Any) -> None:
        """Start reporting ``nsp`` (a no-op for the admin namespace itself)."""
        if nsp is self.admin_nsp:
            return
        name = nsp.name
        nsp.prepend_listener("connection", lambda socket: self._on_connection(nsp, socket))
        broadcast = self.backpressure.broadcast
        listening = self.backpressure.listening  # rule 2

        def joined(room: str, sid: str) -> None:
            if not listening():
                return
            broadcast(protocol.ROOM_JOINED, name, room, sid, iso_now())

        def left(room: str, sid: str) -> None:
            if not listening():
                return
            ts = iso_now()
            _call_soon(lambda: broadcast(protocol.ROOM_LEFT, name, room, sid, ts))  # rule 3

        nsp.adapter.on("join-room", joined)
        nsp.adapter.on("leave-room", left)

    def _on_connection(self, nsp: Any, socket: Any) -> None:
        name = nsp.name
        sid = socket.id
        listening = self.backpressure.listening  # rule 2
        broadcast = self.backpressure.broadcast

        def data_changed() -> None:
            if not listening():
                return
            update: protocol.SocketUpdate = {
                "id": sid,
                "nsp": name,
                "data": serialize_data(socket.data),
            }
            broadcast(protocol.SOCKET_UPDATED, update)

        conn = socket.conn
        clustered = crosses_servers(nsp.adapter)
        server_id = self.server_id if clustered else None
        tag = admin_tag(conn.id, conn.transport.name, server_id)
        previous = socket.data
        if isinstance(previous, dict) and not isinstance(previous, TrackedDict):
            # Node starts the Proxy with ``_admin`` (a plain object: changing it reports
            # nothing), then re-assigns every key a middleware set, which emits one
            # socket_updated per key with the data so far: the same, in order.
            tracked = TrackedDict({}, data_changed)
            dict.__setitem__(tracked, "_admin", tag)
            socket.data = tracked
            for key, value in previous.items():
                tracked[key] = value
        if listening():
            described = describe_socket(socket, name, self.redact, server_id)
            broadcast(protocol.SOCKET_CONNECTED, described, iso_now())

        def upgraded(transport: Any) -> None:
            tag["transport"] = transport.name  # Node's socket.data._admin.transport = ...
            update: protocol.SocketUpdate = {"id": sid, "nsp": name, "transport": transport.name}
            broadcast(protocol.SOCKET_UPDATED, update)

        conn.on("upgrade", upgraded)

        def incoming(*args: Any) -> None:
            if not listening():
                return
            if args and callable(args[-1]):
                args = args[:-1]  # the ack function, stripped as Node does
            broadcast(protocol.EVENT_RECEIVED, name, sid, list(args), iso_now())

        def outgoing(*args: Any) -> None:
            if not listening():
                return
            broadcast(protocol.EVENT_SENT, name, sid, list(args), iso_now())

        socket.on_any(incoming)
        socket.on_any_outgoing(outgoing)

        def disconnected(reason: str, *_: Any) -> None:
            conn.off("upgrade", upgraded)
            broadcast(protocol.SOCKET_DISCONNECTED, name, sid, reason, iso_now())

        socket.on("disconnect", disconnected)
