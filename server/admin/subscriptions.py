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
6. **Across a cluster.** ``{"packets": true, "servers": "all" | [ids]}`` also streams
   the other servers' packets. This server asks them with a server-side emit on the
   admin namespace (``protocol.CLUSTER_STREAM``: admin socket id, servers, on/off);
   each one named keeps a cursor for that admin socket, paced as a local one (at most
   one batch per interval, ``max_batch`` records), and sends its batches, marked with
   its ``serverId``, to the admin socket's room through the adapter. A remote cursor
   lives :data:`LEASE` seconds unless renewed (every :data:`RENEW` s while the admin
   stays subscribed), so a server that dies leaves nothing streaming for nobody; an
   admin socket that is backlogged here is paused on the others (``on: false``) until
   it catches up, so what it cannot read is dropped there, not queued here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sioscope.server.admin import protocol
from sioscope.server.admin.backpressure import MAX_ADMIN_BACKLOG, Backpressure
from sioscope.server.admin.diagnostics_observer import DiagnosticsObserver
from sioscope.server.admin.stream import PacketLog, Subscriber
from sioscope.server.tasks import TaskSet

_log = logging.getLogger("sioscope.admin")

FLUSH_TICK = 0.05  # how often the flush task looks for due batches
LEASE = 15.0  # seconds a remote cursor lives without a renewal (rule 6)
RENEW = 5.0  # seconds between two renewals of a cluster subscription
MAX_SERVERS = 100  # ids in one "servers" list

SendSockets = Callable[[Any], Awaitable[None]]


def wants_packets(auth: Any) -> bool:
    """True when a CONNECT auth payload opts in to the stream (rule 1)."""
    options = auth.get(protocol.AUTH_FIELD) if isinstance(auth, dict) else None
    return isinstance(options, dict) and options.get("packets") is True


Servers = Literal["all"] | list[str]


def wanted_servers(options: Any) -> Servers | None:
    """The ``servers`` of subscribe options (rule 6): ``"all"``, a list of ids, or None
    when absent; ``ValueError`` when malformed."""
    servers = options.get("servers") if isinstance(options, dict) else None
    if servers is None or servers == "all":
        return "all" if servers == "all" else None
    if (
        isinstance(servers, list)
        and len(servers) <= MAX_SERVERS
        and all(isinstance(s, str) and 0 < len(s) <= 1024 for s in servers)
    ):
        return list(servers)
    raise ValueError("servers must be 'all' or a list of server ids")


def auth_servers(auth: Any) -> Servers | None:
    """The ``servers`` asked in a CONNECT auth payload (rule 6); None if none or bad."""
    options = auth.get(protocol.AUTH_FIELD) if isinstance(auth, dict) else None
    try:
        return wanted_servers(options)
    except ValueError:
        return None


def wants_diagnostics(auth: Any) -> bool:
    """True when a CONNECT auth payload opts in to the diagnostics (rule 4)."""
    options = auth.get(protocol.AUTH_FIELD) if isinstance(auth, dict) else None
    return isinstance(options, dict) and options.get("diagnostics") is True


@dataclass(slots=True, eq=False)
class _Remote:
    """A cursor of this server's ring for an admin socket of another server (rule 6)."""

    cursor: Subscriber
    expires: float


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
        self.readers: dict[str, Subscriber] = {}
        """Every cursor of our ring, local and remote: the engine observer records
        packets while it is not empty (a plain dict: its truth test is the hot path's)."""
        self.remote: dict[str, _Remote] = {}
        """Admin socket id (on another server) -> the cursor we stream to it (rule 6)."""
        self.asked: dict[str, Servers] = {}
        """Our admin socket id -> the servers it asked to stream from (rule 6)."""
        self._paused: set[str] = set()  # asked ones paused while backlogged here
        self._whole: set[str] = set()  # our admin sockets that asked for whole payloads
        self._renewed = 0.0
        self.flush_task: asyncio.Task[None] | None = None
        self._drain_acks: dict[str, Callable[[], None]] = {}  # admin socket id -> listener
        self._closed = False
        if packets:
            nsp.on(protocol.CLUSTER_STREAM, self._on_cluster_request)

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
        try:
            servers = wanted_servers(options)
            servers_ok = True
        except ValueError:
            servers, servers_ok = None, False
        valid = (
            isinstance(options, dict)
            and servers_ok
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
            self.start(socket, servers, payloads=payloads is True)
        elif packets is False:
            self.unsubscribe(socket)
        if payloads is not None and socket.id in self.subscribers:
            self.subscribers[socket.id].payloads = payloads
        if payloads is not None and packets is not True:  # told the others on renewal
            if payloads:
                self._whole.add(socket.id)
            else:
                self._whole.discard(socket.id)
        if self.diagnostics is not None:
            if diagnostics is True:
                self.diagnostics.subscribe(socket)
            elif diagnostics is False:
                self.diagnostics.unsubscribe(socket)

    def start(self, socket: Any, servers: Servers | None, *, payloads: bool = False) -> None:
        """``{"packets": true, "servers": ...}``: stream this server's packets to
        ``socket`` unless ``servers`` leaves it out, and the other servers' it names
        (rule 6). A new local subscription is announced with a snapshot marker."""
        local = servers is None or servers == "all" or self.server_id in servers
        if payloads:
            self._whole.add(socket.id)
        else:
            self._whole.discard(socket.id)
        if local and socket.id not in self.subscribers:
            self.subscribe(socket, payloads=payloads)
            self.snapshot(socket)  # a new sequence starts: say so, as at connect
        elif not local and socket.id in self.subscribers:
            self._unsubscribe_here(socket)
        self.ask_servers(socket, servers)

    def subscribe(self, socket: Any, *, payloads: bool = False) -> None:
        """Start streaming to ``socket`` (no snapshot marker: the caller sends it)."""
        sub = Subscriber(self.log, payloads=payloads)
        self.subscribers[socket.id] = sub
        self.readers["local " + socket.id] = sub
        # The emitter removes by identity, and each ``sub.ack`` is a new bound method:
        # register the very object unsubscribe will remove.
        ack = self._drain_acks[socket.id] = sub.ack
        socket.conn.on("drain", ack)
        self._ensure_flushing()

    def unsubscribe(self, socket: Any) -> None:
        """Stop streaming to ``socket`` (a no-op if it does not subscribe), from the
        other servers too."""
        self._unsubscribe_here(socket)
        self._whole.discard(socket.id)
        self.ask_servers(socket, None)

    def _unsubscribe_here(self, socket: Any) -> None:
        self.subscribers.pop(socket.id, None)
        self.readers.pop("local " + socket.id, None)
        ack = self._drain_acks.pop(socket.id, None)
        if ack is not None:
            socket.conn.off("drain", ack)

    # -- across a cluster (rule 6) ------------------------------------------------------

    def ask_servers(self, socket: Any, servers: Servers | None) -> None:
        """Stream the packets of ``servers`` (other than us) to ``socket`` too; None
        stops what it asked before."""
        sid = socket.id
        before = self.asked.pop(sid, None)
        self._paused.discard(sid)
        others: Servers | None = servers
        if isinstance(servers, list):
            others = [s for s in servers if s != self.server_id] or None
        if before is not None and before != others:
            self._ask(sid, before, False)
        if others is None:
            return
        self.asked[sid] = others
        self._ask(sid, others, True)
        self._ensure_flushing()

    def _ask(self, admin: str, servers: Servers, on: bool) -> None:
        request: protocol.ClusterStreamRequest = {"admin": admin, "servers": servers, "on": on}
        if on and admin in self._whole:
            request["payloads"] = True  # the other servers' records as whole as ours
        try:
            self.nsp.server_side_emit(protocol.CLUSTER_STREAM, request)
        except Exception as err:  # no cluster, or its Redis away: nothing to ask
            _log.debug("cluster stream request not sent: %s", err)

    def _on_cluster_request(self, request: Any, *_: Any) -> None:
        """Another server asks for (or renews, or ends) our packets for its admin."""
        if not isinstance(request, dict):
            return
        admin, servers, on = request.get("admin"), request.get("servers"), request.get("on")
        if not isinstance(admin, str) or not isinstance(on, bool):
            return
        if servers != "all" and not (isinstance(servers, list) and self.server_id in servers):
            return
        if not on:
            self.remote.pop(admin, None)
            self.readers.pop("remote " + admin, None)
            return
        expires = time.monotonic() + LEASE
        entry = self.remote.get(admin)
        if entry is None:
            cursor = Subscriber(self.log, payloads=request.get("payloads") is True)
            entry = self.remote[admin] = _Remote(cursor, expires)
            self.readers["remote " + admin] = entry.cursor
            self._ensure_flushing()
        else:
            entry.expires = expires
            entry.cursor.payloads = request.get("payloads") is True

    def _ensure_flushing(self) -> None:
        if self.flush_task is None and not self._closed:
            self.flush_task = self.tasks.spawn(self._flush_loop(), name="admin packet stream")

    def _flush_remote(self, now: float) -> None:
        for admin, entry in list(self.remote.items()):
            if now > entry.expires:
                del self.remote[admin]  # its server stopped renewing (rule 6)
                self.readers.pop("remote " + admin, None)
                continue
            batch = entry.cursor.poll(now)
            if batch is None:
                continue
            batch["serverId"] = self.server_id
            # through the adapter, to the admin socket's room on its own server
            self.nsp.to(admin).compress(False).emit(protocol.EV_PACKETS, batch)
            entry.cursor.ack()  # published: paced by the interval and the batch bound

    def _renew(self, now: float) -> None:
        """Renew our admins' cluster subscriptions; pause a backlogged one's."""
        renew = now - self._renewed >= RENEW
        if renew:
            self._renewed = now
        for sid, servers in list(self.asked.items()):
            socket = self.nsp.sockets.get(sid)
            if socket is None:
                self.asked.pop(sid, None)
                self._paused.discard(sid)
                self._ask(sid, servers, False)
                continue
            if len(socket.conn.write_buffer) > MAX_ADMIN_BACKLOG:
                if sid not in self._paused:
                    self._paused.add(sid)
                    self._ask(sid, servers, False)
            elif sid in self._paused:
                self._paused.discard(sid)
                self._ask(sid, servers, True)
            elif renew:
                self._ask(sid, servers, True)

    def close(self) -> None:
        """Stop the flush task for good (and what the other servers stream to us)."""
        self._closed = True
        for sid, servers in list(self.asked.items()):
            self._ask(sid, servers, False)
        self.asked.clear()
        self.remote.clear()
        self.readers.clear()
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
            while self.subscribers or self.remote or self.asked:
                now = time.monotonic()
                if self.remote:
                    self._flush_remote(now)
                if self.asked:
                    self._renew(now)
                for sid, sub in list(self.subscribers.items()):
                    batch = sub.poll(now)
                    if batch is not None:
                        socket = self.nsp.sockets.get(sid)
                        if socket is None:
                            self.subscribers.pop(sid, None)
                            self.readers.pop("local " + sid, None)
                            self._drain_acks.pop(sid, None)
                            continue
                        # Uncompressed: deflating ~150 KB ten times a second would cost
                        # the server more CPU than the rest of the stream together.
                        socket.compress(False).emit(protocol.EV_PACKETS, batch)
                await asyncio.sleep(FLUSH_TICK)
        finally:
            self.flush_task = None
