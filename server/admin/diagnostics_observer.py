"""The diagnostics extension's I/O: what feeds ``diagnostics`` and who gets its messages.

``diagnostics`` holds the sans-I/O accumulators; this module reads the clock, listens to
the server's public events and sends ``sioscope:diagnostics``. Rules:

1. Observe, never patch. The feeds are: the engine's ``connection_error`` (every
   request the Engine.IO layer refuses); each connection's ``packet`` / ``packetCreate``,
   through :class:`~sioscope.server.admin.engine_observer.EngineObserver`, which calls
   :meth:`DiagnosticsObserver.ping`, :meth:`pong`, :meth:`message` and
   :meth:`connect_error`; and each observed namespace's sockets' ``disconnect``.
2. Always on, because cheap and rare: heartbeat round trips (two packets per connection
   every ``ping_interval``), refusals (kept in a short history a new subscriber starts
   from). Only while an admin socket subscribes: ack pairing (a regex on each Socket.IO
   packet whose first character names an event or an ack) and the disconnect counts.
3. One task, a task of the server's :class:`TaskSet`, runs while anyone subscribes: it
   wakes every ``LAG_TICK`` seconds, measures how late it woke (the loop lag), and every
   ``interval`` seconds sends each subscriber the message of that tick (through
   :class:`Backpressure`, so a backlogged admin client is skipped, not buffered for).
4. A subscription is answered at once with a message whose ``snapshot`` is true: every
   connection's heartbeat summary and the recent refusals.
"""

from __future__ import annotations

import asyncio
import heapq
from typing import Any

from sioscope.server.admin import protocol
from sioscope.server.admin.backpressure import Backpressure
from sioscope.server.admin.diagnostics import (
    DEFAULT_ACK_TIMEOUT_MS,
    AckPairer,
    DisconnectCounts,
    HeartbeatTracker,
    LagMeter,
    RefusalLog,
    parse_connect_error,
)
from sioscope.server.admin.host import now_ms
from sioscope.server.tasks import TaskSet

LAG_TICK = 0.1
DEFAULT_INTERVAL = 1.0


def _user_agent(request: Any) -> str | None:
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    value = headers.get("User-Agent")
    return value if isinstance(value, str) else None


SLOW_OWED_BYTES = 64 * 1024
"""A connection owing more than this (the WebSocket high-water mark) is listed as slow."""

SLOW_MAX = 20
"""At most this many slow connections per message, the most owed first."""

SLOW_SCAN = 1_000
"""Connections looked at per tick for new slow ones (``slow_connections``)."""


class DiagnosticsObserver:
    """Feeds the accumulators of ``diagnostics`` and sends their messages (module rules)."""

    def __init__(
        self,
        engine: Any,
        admin_nsp: Any,
        backpressure: Backpressure,
        tasks: TaskSet,
        *,
        ack_timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.engine = engine
        self.admin_nsp = admin_nsp
        self.backpressure = backpressure
        self.tasks = tasks
        self.interval = interval
        self.heartbeats = HeartbeatTracker()
        self.lag = LagMeter()
        self.acks = AckPairer(ack_timeout_ms)
        self.refusals = RefusalLog()
        self.disconnects = DisconnectCounts()
        self.subscribers: dict[str, Any] = {}  # admin socket id -> the socket (live dict)
        self.task: asyncio.Task[None] | None = None
        self._closed = False
        self._slow: dict[str, Any] = {}  # conn id -> conn, owing over SLOW_OWED_BYTES
        self._scan_order: list[str] = []  # the table's ids when the round began
        self._scan_at = 0

    # -- feeds (rule 1) ------------------------------------------------------------------

    def attach(self, engine: Any) -> None:
        """Record every request ``engine`` refuses."""
        engine.on("connection_error", self._on_engine_error)

    def observe(self, nsp: Any) -> None:
        """Count the disconnect reasons of ``nsp``'s sockets (not the admin namespace)."""
        if nsp is self.admin_nsp:
            return
        nsp.on("connection", self._on_socket)

    def _on_socket(self, socket: Any) -> None:
        subscribers = self.subscribers
        push = self.disconnects.push

        def disconnected(reason: str, *_: Any) -> None:
            if subscribers:  # rule 2
                push(now_ms(), str(reason))

        socket.on("disconnect", disconnected)

    def _on_engine_error(self, error: dict[str, Any]) -> None:
        request = error.get("request")
        context = error.get("context")
        address: str | None = None
        if request is not None:
            address = self.engine.remote_address(request) or None
        code = error.get("code")
        self.refusals.add(
            {
                "timestamp": now_ms(),
                "kind": protocol.REFUSAL_ENGINE,
                "code": code if isinstance(code, int) else None,
                "message": str(error.get("message", "")),
                "data": dict(context) if isinstance(context, dict) else None,
                "nsp": None,
                "address": address,
                "userAgent": _user_agent(request),
                "clientId": None,
            }
        )

    def ping(self, client_id: str, ms: int) -> None:
        """The server created a ping on ``client_id``'s connection."""
        self.heartbeats.ping(client_id, ms)

    def pong(self, client_id: str, ms: int) -> None:
        """A pong arrived on ``client_id``'s connection."""
        self.heartbeats.pong(client_id, ms)

    def closed(self, client_id: str) -> None:
        """``client_id``'s connection closed."""
        self.heartbeats.forget(client_id)

    def message(self, ms: int, client_id: str, outgoing: bool, data: str) -> None:
        """A Socket.IO packet that may carry an ack id (only while anyone subscribes)."""
        self.acks.message(ms, client_id, outgoing, data)

    def connect_error(self, ms: int, client_id: str, data: str, conn: Any) -> None:
        """The server wrote a CONNECT_ERROR on ``conn``: a middleware or unknown namespace."""
        parsed = parse_connect_error(data)
        if parsed is None:
            return
        nsp, message, payload = parsed
        namespace = message == "Invalid namespace"
        self.refusals.add(
            {
                "timestamp": ms,
                "kind": protocol.REFUSAL_NAMESPACE if namespace else protocol.REFUSAL_MIDDLEWARE,
                "code": None,
                "message": message,
                "data": payload,
                "nsp": nsp,
                "address": getattr(conn, "remote_address", None) or None,
                "userAgent": _user_agent(getattr(conn, "request", None)),
                "clientId": client_id,
            }
        )

    # -- subscribers (rules 3 and 4) -----------------------------------------------------

    def subscribe(self, socket: Any) -> None:
        """Start sending to ``socket``, beginning with a snapshot message."""
        if socket.id in self.subscribers:
            return
        self.subscribers[socket.id] = socket
        snapshot: protocol.Diagnostics = {
            "timestamp": now_ms(),
            "snapshot": True,
            "loopLag": None,
            "heartbeats": self.heartbeats.all(),
            "exchanges": [],
            "pendingAcks": self.acks.pending,
            "refusals": self.refusals.history(),
            "disconnects": [],
            "dropped": 0,
            "slowConnections": self.slow_connections(),
        }
        self.backpressure.send(socket, protocol.EV_DIAGNOSTICS, snapshot)
        if self.task is None and not self._closed:
            self.task = self.tasks.spawn(self._loop(), name="admin diagnostics")

    def unsubscribe(self, socket: Any) -> None:
        """Stop sending to ``socket`` (a no-op if it does not subscribe)."""
        self.subscribers.pop(socket.id, None)

    def close(self) -> None:
        """Stop the task for good."""
        self._closed = True
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def tick(self, ms: int) -> protocol.Diagnostics:
        """The message of one tick: everything accumulated since the previous one."""
        self.acks.expire(ms)
        dropped = self.acks.dropped + self.refusals.dropped
        self.acks.dropped = self.refusals.dropped = 0
        return {
            "timestamp": ms,
            "snapshot": False,
            "loopLag": self.lag.take(),
            "heartbeats": self.heartbeats.take_changed(),
            "exchanges": self.acks.take(),
            "pendingAcks": self.acks.pending,
            "refusals": self.refusals.take(),
            "disconnects": self.disconnects.take(),
            "dropped": dropped,
            "slowConnections": self.slow_connections(),
        }

    def slow_connections(self) -> list[protocol.SlowConnection]:
        """The connections owing their clients more than ``SLOW_OWED_BYTES``, most
        owed first (at most ``SLOW_MAX``): clients that stopped reading, before the
        engine's ``max_write_buffer_size`` closes them.

        Not a pass over every connection each tick: at 10,000 connections that pass was
        most of what the diagnostics cost the server. Each tick looks at the next
        ``SLOW_SCAN`` connections of the table (round robin, so a connection that
        becomes slow is found within ``len / SLOW_SCAN`` ticks) and at those already
        known slow (so their figures are fresh every tick, and one that caught up
        leaves the list at once)."""
        clients = self.engine.clients
        known = self._slow
        for cid, conn in list(known.items()):
            if clients.get(cid) is not conn or conn.owed_bytes <= SLOW_OWED_BYTES:
                del known[cid]
        if len(clients) <= SLOW_SCAN:
            batch: list[Any] = list(clients.values())
        else:
            if self._scan_at >= len(self._scan_order):
                self._scan_order, self._scan_at = list(clients), 0
            ids = self._scan_order[self._scan_at : self._scan_at + SLOW_SCAN]
            self._scan_at += SLOW_SCAN
            batch = [conn for conn in map(clients.get, ids) if conn is not None]
        threshold = SLOW_OWED_BYTES
        for conn in batch:
            if conn.owed_bytes > threshold:
                known[conn.id] = conn
        most = heapq.nlargest(SLOW_MAX, known.values(), key=lambda conn: conn.owed_bytes)
        return [[conn.id[:12], conn.owed_bytes, conn.dropped_packets] for conn in most]

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            next_send = loop.time() + self.interval
            while self.subscribers:
                expected = loop.time() + LAG_TICK
                await asyncio.sleep(LAG_TICK)
                now = loop.time()
                self.lag.sample(expected, now)
                if now < next_send:
                    continue
                next_send = now + self.interval
                message = self.tick(now_ms())
                for sid, socket in list(self.subscribers.items()):
                    if self.admin_nsp.sockets.get(sid) is None:
                        self.subscribers.pop(sid, None)
                        continue
                    self.backpressure.send(socket, protocol.EV_DIAGNOSTICS, message)
        finally:
            self.task = None
