"""The packet stream's I/O: who subscribes, and the task that sends them their batches.

``stream`` is the sans-I/O part (the ring, the cursors, the pacing rules); this module
wires it to admin sockets. Rules:

1. An admin socket subscribes at connect (``{"sioscope": {"packets": true}}`` in its
   auth) or later with ``sioscope:subscribe``; a new subscription is answered with
   ``sioscope:snapshot`` (a new sequence starts). It unsubscribes with
   ``{"packets": false}`` or by disconnecting.
2. Each subscriber's cursor is acknowledged by its connection's ``drain`` (the batch
   reached the transport), which is what paces a slow admin client (``stream`` rule 3).
3. One flush task serves every subscriber, and runs only while there is one: it is
   started by the first subscription and ends when the last one goes. It is a task of
   the server's :class:`TaskSet`, so ``io.close()`` cancels and awaits it.
4. ``{"packets": true, "payloads": true}`` asks for whole payloads and fan-out ids
   (``stream`` rule 5); ``"payloads"`` alone changes an existing subscription.
   ``sioscope:subscribe`` also takes ``{"diagnostics": true|false}`` (alone or beside
   ``packets``), handed to the :class:`DiagnosticsObserver` when the server offers it.
5. ``sioscope:resync`` restarts the sender's sequence and answers with a snapshot
   (then, in development mode, a fresh ``all_sockets`` or its pages); a backlogged
   sender gets no answer (``backpressure``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sioscope.server.admin import protocol
from sioscope.server.admin.backpressure import Backpressure
from sioscope.server.admin.diagnostics_observer import DiagnosticsObserver
from sioscope.server.admin.stream import PacketLog, Subscriber
from sioscope.server.tasks import TaskSet

FLUSH_TICK = 0.05  # how often the flush task looks for due batches

SendSockets = Callable[[Any], Awaitable[None]]


def wants_packets(auth: Any) -> bool:
    """True when a CONNECT auth payload opts in to the stream (rule 1)."""
    options = auth.get(protocol.AUTH_FIELD) if isinstance(auth, dict) else None
    return isinstance(options, dict) and options.get("packets") is True


def wants_diagnostics(auth: Any) -> bool:
    """True when a CONNECT auth payload opts in to the diagnostics (rule 4)."""
    options = auth.get(protocol.AUTH_FIELD) if isinstance(auth, dict) else None
    return isinstance(options, dict) and options.get("diagnostics") is True


class Subscriptions:
    """The packet-stream subscribers of one admin namespace (see the module rules)."""

    def __init__(
        self,
        nsp: Any,
        log: PacketLog,
        backpressure: Backpressure,
        tasks: TaskSet,
        *,
        server_id: str,
        send_sockets: SendSockets | None,
        diagnostics: DiagnosticsObserver | None = None,
        packets: bool = True,
    ) -> None:
        self.nsp = nsp
        self.log = log
        self.backpressure = backpressure
        self.tasks = tasks
        self.server_id = server_id
        self.send_sockets = send_sockets
        """Development mode's snapshot (``all_sockets`` or its pages) for a resync; None
        in production mode."""
        self.diagnostics = diagnostics
        """Who takes ``{"diagnostics": ...}`` (rule 4); None when not offered."""
        self.packets = packets
        """Whether the packet stream is offered (else ``{"packets": ...}`` is refused)."""
        self.subscribers: dict[str, Subscriber] = {}  # admin socket id -> its cursor
        self.flush_task: asyncio.Task[None] | None = None
        self._drain_acks: dict[str, Callable[[], None]] = {}  # admin socket id -> listener
        self._closed = False

    def register(self, socket: Any) -> None:
        """Listen for ``sioscope:subscribe`` and ``sioscope:resync`` on one admin socket."""
        socket.on(protocol.CMD_SUBSCRIBE, lambda *a, ack=None: self._on_subscribe(socket, a))
        socket.on(
            protocol.CMD_RESYNC,
            lambda *a, ack=None: self.tasks.spawn(self._resync(socket), name="admin resync"),
        )

    def snapshot(self, socket: Any) -> None:
        """Tell ``socket`` that a new sequence starts (the next batch has ``seq`` 1)."""
        marker: protocol.Snapshot = {"seq": 0, "serverId": self.server_id}
        socket.emit(protocol.EV_SNAPSHOT, marker)

    def _on_subscribe(self, socket: Any, args: tuple[Any, ...]) -> None:
        options = args[0] if args else None
        packets = options.get("packets") if isinstance(options, dict) else None
        diagnostics = options.get("diagnostics") if isinstance(options, dict) else None
        payloads = options.get("payloads") if isinstance(options, dict) else None
        valid = (
            isinstance(options, dict)
            and (packets is None or (isinstance(packets, bool) and self.packets))
            and (payloads is None or (isinstance(payloads, bool) and self.packets))
            and (diagnostics is None or isinstance(diagnostics, bool))
            and (packets is not None or diagnostics is not None or payloads is not None)
            and (diagnostics is None or self.diagnostics is not None)
        )
        if not valid:
            expected = 'expected {"packets": true|false}'
            if self.diagnostics is not None:
                expected += ' and/or {"diagnostics": true|false}'
            error: protocol.CommandError = {
                "command": protocol.CMD_SUBSCRIBE,
                "message": expected,
            }
            self.backpressure.send(socket, protocol.EV_COMMAND_ERROR, error)
            return
        if packets is True:
            if socket.id not in self.subscribers:
                self.subscribe(socket, payloads=payloads is True)
                self.snapshot(socket)  # a new sequence starts: say so, as at connect
        elif packets is False:
            self.unsubscribe(socket)
        if payloads is not None and socket.id in self.subscribers:
            self.subscribers[socket.id].payloads = payloads
        if self.diagnostics is not None:
            if diagnostics is True:
                self.diagnostics.subscribe(socket)
            elif diagnostics is False:
                self.diagnostics.unsubscribe(socket)

    def subscribe(self, socket: Any, *, payloads: bool = False) -> None:
        """Start streaming to ``socket`` (no snapshot marker: the caller sends it)."""
        sub = Subscriber(self.log, payloads=payloads)
        self.subscribers[socket.id] = sub
        # The emitter removes by identity, and each ``sub.ack`` is a new bound method:
        # register the very object unsubscribe will remove.
        ack = self._drain_acks[socket.id] = sub.ack
        socket.conn.on("drain", ack)
        if self.flush_task is None and not self._closed:
            self.flush_task = self.tasks.spawn(self._flush_loop(), name="admin packet stream")

    def unsubscribe(self, socket: Any) -> None:
        """Stop streaming to ``socket`` (a no-op if it does not subscribe)."""
        self.subscribers.pop(socket.id, None)
        ack = self._drain_acks.pop(socket.id, None)
        if ack is not None:
            socket.conn.off("drain", ack)

    def close(self) -> None:
        """Stop the flush task for good."""
        self._closed = True
        if self.flush_task is not None:
            self.flush_task.cancel()
            self.flush_task = None

    async def _resync(self, socket: Any) -> None:
        # An admin client that asks again and again without reading would otherwise
        # queue one full all_sockets per request: past the backlog bound, skip (and
        # count) the answer. Checked again after the await, since every request waiting
        # there passed the first check.
        if self.backpressure.backlogged(socket):
            return
        sub = self.subscribers.get(socket.id)
        if sub is not None:
            sub.restart()
        self.snapshot(socket)
        if self.send_sockets is not None and not self.backpressure.backlogged(socket):
            await self.send_sockets(socket)

    async def _flush_loop(self) -> None:
        try:
            while self.subscribers:
                now = time.monotonic()
                for sid, sub in list(self.subscribers.items()):
                    batch = sub.poll(now)
                    if batch is not None:
                        socket = self.nsp.sockets.get(sid)
                        if socket is None:
                            self.subscribers.pop(sid, None)
                            self._drain_acks.pop(sid, None)
                            continue
                        # Uncompressed: deflating ~150 KB ten times a second would cost
                        # the server more CPU than the rest of the stream together.
                        socket.compress(False).emit(protocol.EV_PACKETS, batch)
                await asyncio.sleep(FLUSH_TICK)
        finally:
            self.flush_task = None
