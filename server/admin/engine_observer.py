"""The Engine.IO side: Node's ``registerEngineListeners``, plus the packet stream's feed.

Each Engine.IO connection is observed through its public events (``packet``,
``packetCreate``, ``drain``, ``upgrade``, ``close``). Rules:

1. ``server_stats`` counts: one ``rawConnection`` / ``rawDisconnection`` per connection,
   and per data packet in or out its count and byte length (Node: ``if (data)``, so a
   ping or pong without payload is not counted). ``polling_clients`` is the number of
   connections still on long-polling.
2. The packet stream's feed: while anyone subscribes, each of those events appends one
   raw record to the shared ring (``stream.PacketLog``); that is the whole hot path.
3. The diagnostics feed (``diagnostics_observer`` rules 1 and 2): pings created and
   pongs received, every CONNECT_ERROR written, and, while anyone subscribes to the
   diagnostics, each Socket.IO text packet that names an event or an ack.
4. The admin namespace never counts itself: once an admin socket shows up on a
   connection (:meth:`EngineObserver.admin_socket_joined`), the connection leaves the
   counts and the stream, its earlier records are hidden, and it stays out until its
   last admin socket is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sioscope.server.admin import protocol
from sioscope.server.admin.host import now_ms
from sioscope.server.admin.stats import EventBuffer, byte_length
from sioscope.server.admin.stream import PacketLog

if TYPE_CHECKING:
    from sioscope.server.admin.diagnostics_observer import DiagnosticsObserver

_ACK_HEADS = frozenset("2356")  # EVENT, ACK, BINARY_EVENT, BINARY_ACK


def _no_acks(ms: int, client_id: str, outgoing: bool, data: str) -> None:
    """Stands for the ack pairer when diagnostics are off (never called then)."""


class EngineObserver:
    """Counts and records the server's Engine.IO connections (see the module rules)."""

    def __init__(
        self,
        buffer: EventBuffer,
        log: PacketLog,
        subscribers: Mapping[str, object],
        *,
        stream: bool,
        on_connection: Callable[[], None],
        diagnostics: DiagnosticsObserver | None = None,
    ) -> None:
        self.buffer = buffer
        self.log = log
        self.subscribers = subscribers  # the live mapping: empty means nobody streams
        self.stream = stream
        self.on_connection = on_connection
        self.diagnostics = diagnostics
        self.polling_clients = 0
        self._admin_conns: dict[str, int] = {}  # conn id -> admin sockets on it
        self._detach: dict[str, Callable[[], None]] = {}  # conn id -> stop observing it

    def attach(self, engine: Any) -> None:
        """Observe every connection ``engine`` accepts from now on."""
        engine.on("connection", self._on_connection)

    @property
    def admin_connections(self) -> int:
        """How many connections carry an admin socket (left out of ``clientsCount``)."""
        return len(self._admin_conns)

    def admin_socket_joined(self, conn: Any) -> None:
        """Rule 4: ``conn`` now carries an admin socket; stop counting it."""
        count = self._admin_conns.get(conn.id, 0)
        self._admin_conns[conn.id] = count + 1
        if count == 0:
            self.log.hide(conn.id[:12])
            detach = self._detach.pop(conn.id, None)
            if detach is not None:
                detach()

    def admin_socket_left(self, conn: Any) -> None:
        """One admin socket of ``conn`` is gone."""
        left = self._admin_conns.get(conn.id, 0) - 1
        if left > 0:
            self._admin_conns[conn.id] = left
        else:
            self._admin_conns.pop(conn.id, None)

    def _on_connection(self, conn: Any) -> None:
        self.on_connection()
        buffer = self.buffer
        log_append = self.log.append
        subscribers = self.subscribers
        cid = conn.id[:12]
        buffer.push(now_ms(), protocol.AGG_RAW_CONNECTION)
        stream = self.stream
        clock = time.time
        packet_in, packet_out = buffer.packet_in, buffer.packet_out
        kind_in, kind_out = protocol.KIND_IN, protocol.KIND_OUT  # locals: the hot path
        diag = self.diagnostics
        diag_subscribers: Mapping[str, object] = {} if diag is None else diag.subscribers
        # Bound once: one call less per packet on the hot path.
        ack_message = _no_acks if diag is None else diag.acks.message

        def on_packet(packet: dict[str, Any]) -> None:
            data = packet.get("data")
            ms = int(clock() * 1000)
            ptype = packet["type"]
            if data:  # rule 1
                packet_in(ms, byte_length(data))
            if stream and subscribers:
                log_append((ms, cid, kind_in, ptype, data))
            if diag is not None:  # rule 3
                if ptype == "message":
                    if (
                        diag_subscribers
                        and type(data) is str
                        and data[:1] in _ACK_HEADS
                        and data[1:2] != "["  # the common event: no namespace, no ack id
                    ):
                        ack_message(ms, cid, False, data)
                elif ptype == "pong":
                    diag.pong(cid, ms)

        def on_packet_create(packet: dict[str, Any]) -> None:
            data = packet.get("data")
            ms = int(clock() * 1000)
            ptype = packet["type"]
            if data:
                packet_out(ms, byte_length(data))
            if stream and subscribers:
                log_append((ms, cid, kind_out, ptype, data))
            if diag is not None:  # rule 3
                if ptype == "message":
                    if type(data) is str:
                        head = data[:1]
                        if head == "4":
                            diag.connect_error(ms, cid, data, conn)
                        elif diag_subscribers and head in _ACK_HEADS and data[1:2] != "[":
                            ack_message(ms, cid, True, data)
                elif ptype == "ping":
                    diag.ping(cid, ms)

        def on_drain() -> None:
            if subscribers:
                log_append((now_ms(), cid, protocol.KIND_DRAIN, None, None))

        def on_upgrade(transport: Any) -> None:
            if subscribers:
                log_append((now_ms(), cid, protocol.KIND_UPGRADE, transport.name, None))

        polling = conn.transport.name == "polling"
        if polling:
            self.polling_clients += 1

        def on_upgrade_count(_transport: Any) -> None:
            nonlocal polling
            if polling:
                polling = False
                self.polling_clients -= 1

        admin = False  # set once an admin socket shows up on this connection

        def on_close(reason: str, *_: Any) -> None:
            nonlocal polling
            self._detach.pop(conn.id, None)
            if diag is not None:
                diag.closed(cid)
            if polling:
                polling = False
                self.polling_clients -= 1
            if admin:
                return
            buffer.push(now_ms(), protocol.AGG_RAW_DISCONNECTION, reason)
            if subscribers:
                log_append((now_ms(), cid, protocol.KIND_CLOSE, reason, None))

        conn.on("packet", on_packet)
        conn.on("packetCreate", on_packet_create)
        conn.on("drain", on_drain)
        conn.on("upgrade", on_upgrade)
        conn.on("upgrade", on_upgrade_count)
        conn.on("close", on_close)

        def detach() -> None:
            # Rule 4: an admin connection keeps only what maintains the counts.
            nonlocal polling, admin
            admin = True
            conn.off("packet", on_packet)
            conn.off("packetCreate", on_packet_create)
            conn.off("drain", on_drain)
            conn.off("upgrade", on_upgrade)
            if polling:
                polling = False
                self.polling_clients -= 1

        self._detach[conn.id] = detach
