"""Conn: one Engine.IO connection, Node's engine.io ``Socket``.

It owns the write buffer, the heartbeat timers and the upgrade from polling to
WebSocket, and emits Node's events with Node's payloads and reasons, because the
Socket.IO layer, the admin namespace and the inspector all observe connections
through these events.

Rules:

1. ``send`` is synchronous. It buffers the packet, emits ``packetCreate`` and
   schedules one flush on the loop, so several sends in one tick leave together (one
   polling response, or consecutive WebSocket frames, in order). One exception, on a
   transport that ``writes_at_once`` (a WebSocket whose host takes ready-made
   frames): the first message of a tick for a connection that is not being read
   (none of its own messages is being dispatched) is flushed at once, as Node's
   engine.io flushes in ``sendPacket``; the ones after it in that tick leave
   together at the tick's flush. So a broadcast's writes go out while its loop runs,
   not all after it (bench ``fanout``: the latency of a delivery), while a reply to
   a connection's own message (an ack) still waits for the end of the loop's pass,
   after every socket that pass read: written at once, the acks of an echo cost
   more end to end (fewer requests per pass on both sides; bench ``echo``).
2. A flush happens only when the transport is writable (a parked GET, or a
   WebSocket whose previous batch was written). It emits ``flush`` with the batch,
   hands it to the transport, then emits ``drain``, as Node does.
3. Heartbeat (v4): ``ping_interval`` after the handshake, and after each pong, the
   server sends a ping; no pong within ``ping_timeout`` closes with ``"ping
   timeout"``. Any other packet received while waiting extends that wait once.
   Timers are entries of the server's timer lists (``server/timers.py``: one loop
   timer per duration, as Node's), so the close happens on time and a connection
   holds no loop timer of its own.
4. Backpressure: ``owed_bytes`` is what the connection holds for its client (its
   buffer plus what its transport still owes, both references to shared data, never
   copies per connection). Past the server's ``max_write_buffer_size`` the
   connection is closed with ``"transport error"`` on the next tick (never inside
   the broadcast loop that overflowed it), and nothing more is buffered for it.
   A ``volatile`` packet is dropped instead while the transport is not writable
   (the Socket.IO layer decides); ``dropped_packets`` counts those drops.
5. ``close`` fires exactly once, after the connection left ``EngineServer.clients``,
   with one of Node's reasons: ``"transport close"``, ``"transport error"``,
   ``"parse error"``, ``"ping timeout"`` or ``"forced close"`` (also what
   ``EngineServer.close()`` gives, as Node's ``engine.close()``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..emitter import EventEmitter
from ..timers import Timer
from .packets import Packet
from .request import Request
from .transports import Transport, TransportError

if TYPE_CHECKING:
    from .server import EngineServer

log = logging.getLogger("sioscope.engine")

UPGRADE_CHECK_INTERVAL = 0.1
"""While an upgrade probe is pending, a parked GET gets a noop this often (Node: 100 ms)."""


class _FlushBatch:
    """One loop callback per tick flushes every Conn that buffered packets in that tick.

    A broadcast to N connections then costs one ``call_soon`` instead of N handles.
    """

    __slots__ = ("__weakref__", "conns", "handle", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.conns: list[Conn] = []
        self.handle: asyncio.Handle | None = None

    def add(self, conn: Conn) -> None:
        self.conns.append(conn)
        if self.handle is None:
            self.handle = self.loop.call_soon(self.run)

    def run(self) -> None:
        self.handle = None
        conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.scheduled_flush()
            except Exception:  # one bad flush must not leave the rest of the batch unsent
                log.exception("flush of %r failed", conn)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _FlushBatch] = (
    weakref.WeakKeyDictionary()
)


_last_batch: weakref.ref[_FlushBatch] | None = None


def _batch_for(loop: asyncio.AbstractEventLoop) -> _FlushBatch:
    """The loop's batch; the last one found is remembered (a weak reference: the
    dictionary's lookup makes a weak reference per call, about 0.3 µs per Conn)."""
    global _last_batch
    last = _last_batch() if _last_batch is not None else None
    if last is not None and last.loop is loop:
        return last
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _FlushBatch(loop)
    _last_batch = weakref.ref(batch)
    return batch


class Conn(EventEmitter):
    """An Engine.IO connection; see the module docstring for its rules."""

    def __init__(
        self,
        server: EngineServer,
        sid: str,
        transport: Transport,
        request: Request,
        protocol: int = 4,
    ) -> None:
        super().__init__(server.tasks)  # coroutine listeners: tasks of the EngineServer
        self.id = sid
        self.server = server
        self.request = request
        self.protocol = protocol
        self.ready_state = "opening"
        self.upgrading = False
        self.upgraded = False
        self._close_reason = "forced close"
        self.remote_address = server.remote_address(request)
        self.secure = bool(request.secure)
        self.write_buffer: list[Packet] = []
        self._buffered_bytes = 0
        self._overflowed = False
        #: Volatile packets dropped because the transport was not writable (rule 4).
        self.dropped_packets = 0
        self._loop = asyncio.get_running_loop()
        self._flush_pending = False
        self._reading = False  # a message of this connection is being dispatched
        self._batch = _batch_for(self._loop)
        self._ping_interval_timer: Timer | None = None
        self._ping_timeout_timer: Timer | None = None
        self._has_refreshed_ping_timeout = False
        self._upgrade_cleanup: Callable[[], None] | None = None
        self._set_transport(transport)
        self._on_open()

    def __repr__(self) -> str:
        return f"<Conn {self.id} {self.transport.name} {self.ready_state}>"

    # -- public API --------------------------------------------------------------------

    def send(self, data: str | bytes, *, compress: bool = True) -> None:
        """Buffer a ``message`` packet; dropped silently unless the connection is open.

        ``_send_packet`` specialised for messages (every event, ack and broadcast
        delivery comes here; the other types are a few per minute), and rule 1's
        first message of a tick flushed at once.
        """
        if self._overflowed or self.ready_state == "closing" or self.ready_state == "closed":
            return
        packet: Packet = {"type": "message", "data": data}
        if not compress:
            packet["options"] = {"compress": False}
        if "packetCreate" in self._events:
            self.emit("packetCreate", packet)
        transport = self.transport
        self._buffered_bytes += len(data)
        if self._buffered_bytes + transport.owed_bytes > self.server.max_write_buffer_size:
            self._overflow()
            return
        if not transport.writable:
            transport.prepare(packet)
        self.write_buffer.append(packet)
        if not self._flush_pending:
            self._flush_pending = True
            self._batch.add(self)
            if transport.writes_at_once and transport.writable and not self._reading:
                try:
                    self.flush()
                except Exception:  # as the tick's batch does: never into the sender's loop
                    log.exception("flush of %r failed", self)

    write = send

    @property
    def owed_bytes(self) -> int:
        """Bytes held for the client: buffered here plus owed by the transport (rule 4)."""
        return self._buffered_bytes + self.transport.owed_bytes

    def close(self, discard: bool = False, *, reason: str = "forced close") -> None:
        """Close from the server side, after pending writes.

        ``reason`` is Node's ``"forced close"`` unless the layer above closes because
        the peer sent something it cannot parse: the Socket.IO decoder passes
        ``"parse error"`` so one malformed packet reads the same at either layer.
        """
        if discard and self.ready_state in ("open", "closing"):
            self._close_transport(True, reason)
            return
        if self.ready_state != "open":
            return
        self.ready_state = "closing"
        self._close_reason = reason
        if self.write_buffer:
            self.once("drain", lambda: self._close_transport(discard, reason))
            return
        self._close_transport(discard, reason)

    # -- sending -----------------------------------------------------------------------

    def _send_packet(self, type_: str, data: Any = None, compress: bool = True) -> None:
        """Buffer a packet, flushed with the others of this tick (rule 1): the general
        path of ``send``, for every type."""
        if self.ready_state in ("closing", "closed") or self._overflowed:
            return
        packet: Packet = {"type": type_} if data is None else {"type": type_, "data": data}
        if not compress:
            packet["options"] = {"compress": False}
        if "packetCreate" in self._events:
            self.emit("packetCreate", packet)
        if data is not None and (type_ == "message" or type_ == "open"):
            self._buffered_bytes += len(data)
            if self._buffered_bytes + self.transport.owed_bytes > self.server.max_write_buffer_size:
                self._overflow()
                return
        transport = self.transport
        if not transport.writable and type_ == "message":
            transport.prepare(packet)
        self.write_buffer.append(packet)
        if not self._flush_pending:
            self._flush_pending = True
            self._batch.add(self)

    def _overflow(self) -> None:
        """The client owes too much (rule 4): stop buffering, close on the next tick."""
        if self._overflowed:
            return
        self._overflowed = True
        owed = self.owed_bytes
        self.write_buffer = []
        self._buffered_bytes = 0
        self.transport.abort()
        self._loop.call_soon(
            self._on_error,
            TransportError("write buffer full", f"{owed} bytes owed to the client"),
        )

    def scheduled_flush(self) -> None:
        """The flush that ``send`` scheduled for this tick (rule 1); the tick's batch
        calls it, once per connection that buffered packets."""
        if self._flush_pending:
            self._flush_pending = False
            if self.write_buffer:  # empty when its first message was written at once
                self.flush()

    def flush(self) -> None:
        """Hand the write buffer to the transport now, if it is writable (rule 2)."""
        if self.ready_state == "closed" or not self.transport.writable or not self.write_buffer:
            return
        wbuf = self.write_buffer
        self.write_buffer = []
        self._buffered_bytes = 0
        server = self.server
        if "flush" in self._events:
            self.emit("flush", wbuf)
        if server.has_listeners("flush"):
            server.emit("flush", self, wbuf)
        self.transport.send(wbuf)
        if "drain" in self._events:
            self.emit("drain")
        if server.has_listeners("drain"):
            server.emit("drain", self)

    # -- receiving ---------------------------------------------------------------------

    def _on_open(self) -> None:
        self.ready_state = "open"
        server = self.server
        # Node's key order and compact JSON; formatted here, since json.dumps with
        # separators builds a JSONEncoder per call (a few µs of every handshake)
        upgrades = ",".join([json.dumps(name) for name in server.upgrades_for(self.transport.name)])
        self._send_packet(
            "open",
            f'{{"sid":{json.dumps(self.id)},"upgrades":[{upgrades}],'
            f'"pingInterval":{server.ping_interval_ms:d},"pingTimeout":{server.ping_timeout_ms:d},'
            f'"maxPayload":{server.max_http_buffer_size:d}}}',
        )
        if server.initial_packet is not None:  # flushed with the open packet
            self._send_packet("message", server.initial_packet)
        self.emit("open")  # as Node, before anyone outside could listen; kept for parity
        self._schedule_ping()

    def _on_packet(self, packet: Packet) -> None:
        if self.ready_state != "open":
            return
        if "packet" in self._events:
            self.emit("packet", packet)
        type_ = packet["type"]
        if (
            self._ping_timeout_timer is not None
            and not self._has_refreshed_ping_timeout
            and type_ != "pong"
        ):
            self._has_refreshed_ping_timeout = True
            self._reset_ping_timeout()
        if type_ == "message":
            data = packet.get("data", "")
            self._reading = True  # what the listeners send in reply waits (rule 1)
            try:
                self.emit("data", data)
                if "message" in self._events:  # Node's alias of "data"; rarely listened to
                    self.emit("message", data)
            finally:
                self._reading = False
        elif type_ == "pong":
            if self._ping_timeout_timer is not None:
                self._ping_timeout_timer.cancel()
                self._ping_timeout_timer = None
            self._schedule_ping()
            self.emit("heartbeat")
        elif type_ == "ping":
            self._on_error(TransportError("invalid heartbeat direction"))
        elif type_ == "error":
            self._on_close("parse error")

    def _on_error(self, err: TransportError) -> None:
        self._on_close("transport error", err)

    # -- heartbeat ---------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        if self._ping_interval_timer is not None:
            self._ping_interval_timer.cancel()
        server = self.server
        self._ping_interval_timer = server.timer_list(server.ping_interval, self._loop).add(
            Conn._send_ping, self
        )

    def _send_ping(self) -> None:
        self._ping_interval_timer = None
        self._has_refreshed_ping_timeout = False
        self._send_packet("ping")
        self._reset_ping_timeout()

    def _reset_ping_timeout(self) -> None:
        if self._ping_timeout_timer is not None:
            self._ping_timeout_timer.cancel()
        server = self.server
        self._ping_timeout_timer = server.timer_list(server.ping_timeout, self._loop).add(
            Conn._on_ping_timeout, self
        )

    def _on_ping_timeout(self) -> None:
        self._ping_timeout_timer = None
        if self.ready_state != "closed":
            self._on_close("ping timeout")

    # -- transports --------------------------------------------------------------------

    def _set_transport(self, transport: Transport) -> None:
        self.transport = transport
        transport.on_error = self._on_error
        transport.on_ready = self.flush
        transport.on_packet = self._on_packet
        transport.on_close = self._on_transport_close

    def _on_transport_close(self) -> None:
        self._on_close("transport close")

    def _clear_transport(self) -> None:
        transport = self.transport
        transport.detach()
        transport.close()

    def maybe_upgrade(self, transport: Transport) -> None:
        """Run the probe/upgrade exchange on a new WebSocket transport (Node's rules);
        the server calls this when a WebSocket arrives for this session."""
        self.upgrading = True
        loop = self._loop
        check_timer: asyncio.TimerHandle | None = None
        upgrade_timer: asyncio.TimerHandle | None = None

        def cleanup() -> None:
            nonlocal check_timer
            self.upgrading = False
            self._upgrade_cleanup = None
            if check_timer is not None:
                check_timer.cancel()
                check_timer = None
            if upgrade_timer is not None:
                upgrade_timer.cancel()
            transport.detach()

        def fail(*_args: Any) -> None:
            cleanup()
            transport.close()

        def on_timeout() -> None:
            cleanup()
            if transport.ready_state == "open":
                transport.close()

        def check() -> None:
            nonlocal check_timer
            check_timer = loop.call_later(UPGRADE_CHECK_INTERVAL, check)
            current = self.transport
            if current.name == "polling" and current.writable:
                current.send([{"type": "noop"}])

        def on_packet(packet: Packet) -> None:
            nonlocal check_timer
            type_ = packet["type"]
            if type_ == "ping" and packet.get("data") == "probe":
                transport.send([{"type": "pong", "data": "probe"}])
                self.emit("upgrading", transport)
                if check_timer is not None:
                    check_timer.cancel()
                check_timer = loop.call_later(UPGRADE_CHECK_INTERVAL, check)
            elif type_ == "upgrade" and self.ready_state != "closed":
                cleanup()
                self.transport.discard()
                self.upgraded = True
                self._clear_transport()
                self._set_transport(transport)
                self.emit("upgrade", transport)
                self.flush()
                if self.ready_state == "closing":
                    transport.close(lambda: self._on_close(self._close_reason))
            else:
                fail()

        upgrade_timer = loop.call_later(self.server.upgrade_timeout, on_timeout)
        transport.on_packet = on_packet
        transport.on_error = fail
        transport.on_close = fail
        self._upgrade_cleanup = fail

    # -- closing -----------------------------------------------------------------------

    def _close_transport(self, discard: bool, reason: str = "forced close") -> None:
        if discard:
            self.transport.discard()
        self.transport.close(lambda: self._on_close(reason))

    def _on_close(self, reason: str, description: object = None) -> None:
        if self.ready_state == "closed":
            return
        self.ready_state = "closed"
        for timer in (self._ping_interval_timer, self._ping_timeout_timer):
            if timer is not None:
                timer.cancel()
        self._ping_interval_timer = self._ping_timeout_timer = None
        self._flush_pending = False
        # The session is gone, so a later GET gets 400: no need to wait for one to
        # deliver a close packet (a parked GET still gets it; see PollingTransport).
        self.transport.discard()
        self._clear_transport()
        self.server.release(self)
        if self._upgrade_cleanup is not None:
            self._upgrade_cleanup()
        self.emit("close", reason, description)
        self.write_buffer = []
        self._buffered_bytes = 0
