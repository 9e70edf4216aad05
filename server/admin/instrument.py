"""``instrument(io, ...)``: the admin namespace, wired to the server by public hooks only.

Theory of operation
-------------------
This module is the thin I/O layer over the sans-I/O pieces next to it (``auth``,
``serialize``, ``stats``, ``stream``, ``commands``, ``tracked``). It follows admin-ui
0.5.1's ``lib/index.ts`` step by step; where it departs, the comment at that spot says
why. The rules:

1. It observes, never patches. Hooks used: ``io.on("new_namespace")``,
   ``nsp.prepend_listener("connection")``, ``nsp.adapter`` ``join-room`` /
   ``leave-room``, socket ``disconnect`` / ``on_any`` / ``on_any_outgoing``,
   ``io.engine.on("connection")`` and each ``Conn``'s ``packet`` / ``packetCreate`` /
   ``drain`` / ``upgrade`` / ``close``, and ``io.on("close")`` (emitted by
   ``io.close()``) to stop the timers. ``socket.data`` (a public, writable attribute)
   is replaced by a :class:`TrackedDict` holding the same items, as Node replaces it
   with a Proxy.
2. The admin namespace never appears in its own output (the issue's rule, stricter
   than Node, which lists its admin sockets and namespace): no admin socket in
   ``all_sockets`` or in any socket/room/event message, no ``/admin`` entry in
   ``server_stats.namespaces``, and a connection that carries an admin socket leaves
   the packet counters, the client counts and the packet stream from then on (else
   every stats tick and every streamed batch would feed the next one).
3. Events go to the admin namespace as broadcasts (Node's ``adminNamespace.emit``);
   ``session``, ``config``, ``all_sockets`` and the extension's messages go to one
   admin socket. Nothing is acknowledged.
4. The packet stream is opt-in per admin socket, batched by a single flush task that
   runs only while someone subscribes; the hot path is one tuple appended to a ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket as _socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from sioscope.server.admin.auth import (
    Authenticator,
    AuthFailed,
    InMemoryStore,
    Store,
    check_auth_option,
)
from sioscope.server.admin.commands import Command, CommandRefused, parse_command
from sioscope.server.admin.serialize import (
    DEFAULT_REDACTED_HEADERS,
    iso_now,
    serialize_data,
    serialize_socket,
)
from sioscope.server.admin.stats import EventBuffer, byte_length
from sioscope.server.admin.stream import PacketLog, Subscriber
from sioscope.server.admin.tracked import TrackedDict

log = logging.getLogger("sioscope.admin")

STATS_INTERVAL = 2.0  # Node: setInterval(emitStats, 2000), not configurable there
FLUSH_TICK = 0.05  # how often the stream's flush task looks for due batches
MAX_ADMIN_BACKLOG = 1_000  # packets an admin connection may have waiting to be written
PACKET_FEATURE = "X_SIOSCOPE_PACKETS"
EV_PACKETS = "sioscope:packets"
EV_SNAPSHOT = "sioscope:snapshot"
EV_COMMAND_ERROR = "sioscope:command_error"
CMD_SUBSCRIBE = "sioscope:subscribe"
CMD_RESYNC = "sioscope:resync"


def _process_start() -> float:
    """When this process started, on the CLOCK_BOOTTIME scale (Linux), else now."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5): starttime, in clock ticks
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _boottime()


def _boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


_PROCESS_START = _process_start()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _uptime() -> float:
    """Node's ``process.uptime()``: seconds since the process started."""
    return max(0.0, _boottime() - _PROCESS_START)


def _connect_error(message: str) -> Exception:
    from sioscope.server.namespace import ConnectionRefused

    return ConnectionRefused(message)


class Admin:
    """One instrumented server. ``instrument()`` builds it; ``close()`` stops its timers."""

    def __init__(
        self,
        io: Any,
        *,
        auth: Any,
        namespace_name: str,
        readonly: bool,
        mode: str,
        server_id: str | None,
        store: Store | None,
        redact_headers: Iterable[str],
        packet_stream: bool,
        failure_delay: float,
        stats_interval: float,
        stream_capacity: int,
    ) -> None:
        basic = check_auth_option(auth)
        self.io = io
        self.mode = mode
        self.development = mode == "development"
        self.readonly = readonly
        self.redact = frozenset(h.lower() for h in redact_headers)
        self.server_id = server_id or _socket.gethostname()
        self.stats_interval = stats_interval
        self.store: Store = store if store is not None else InMemoryStore()
        self.authenticator = (
            None if basic is None else Authenticator(basic, self.store, failure_delay=failure_delay)
        )
        self.buffer = EventBuffer()
        self.polling_clients = 0
        self.dropped_events = 0  # admin messages skipped for admin clients that lag
        self.packet_stream = packet_stream
        self.log = PacketLog(stream_capacity)
        self.subscribers: dict[str, Subscriber] = {}  # admin socket id -> its cursor
        self._drain_acks: dict[str, Callable[[], None]] = {}  # admin socket id -> listener
        self._admin_conns: dict[str, int] = {}  # conn id -> admin sockets on it
        self._conn_hooks: dict[str, Callable[[], None]] = {}  # conn id -> detach its hooks
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stats_task: asyncio.Task[Any] | None = None
        self._flush_task: asyncio.Task[Any] | None = None
        self._closed = False

        # Node's order: features computed from the server, AGGREGATED_EVENTS always,
        # ALL_EVENTS in development; readonly advertises (and registers) no command.
        features = [] if readonly else ["EMIT", "JOIN", "LEAVE", "DISCONNECT"]
        if not readonly:
            features += ["MJOIN", "MLEAVE", "MDISCONNECT"]
        features.append("AGGREGATED_EVENTS")
        if self.development:
            features.append("ALL_EVENTS")
        if packet_stream:
            features.append(PACKET_FEATURE)
        self.features = features

        self.nsp = io.of(namespace_name)
        if self.authenticator is not None:
            self.nsp.use(self._authenticate)
        self.nsp.on("connection", self._on_admin_connection)
        self._hook_engine()
        io.on("close", self.close)  # io.close() stops our timers too
        if self.development:
            for nsp in list(io.namespaces.values()):
                self._hook_namespace(nsp)
            io.on("new_namespace", self._hook_namespace)
        with contextlib.suppress(RuntimeError):  # no running loop yet: start on first use
            self._start_stats()

    # -- lifecycle -------------------------------------------------------------------

    def _start_stats(self) -> None:
        if self._stats_task is None and not self._closed:
            self._stats_task = asyncio.get_running_loop().create_task(self._stats_loop())

    def close(self) -> None:
        """Stop the stats and flush tasks (the namespace itself stays, as in Node)."""
        self._closed = True
        for task in (self._stats_task, self._flush_task, *self._tasks):
            if task is not None:
                task.cancel()
        self._stats_task = self._flush_task = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("admin task failed", exc_info=exc)

    # -- auth ------------------------------------------------------------------------

    async def _authenticate(self, socket: Any) -> None:
        assert self.authenticator is not None
        try:
            session = await self.authenticator.authenticate(socket.handshake.get("auth"))
        except AuthFailed as err:
            raise _connect_error(str(err)) from None
        if session is not None:
            # Sent from the middleware, before the CONNECT ack, exactly as Node does.
            socket.emit("session", session)

    # -- the admin side --------------------------------------------------------------

    def _broadcast(self, event: str, *args: Any) -> None:
        """Rule 3: one broadcast to the admin namespace, skipped when nobody listens.

        An admin connection whose write buffer already holds ``MAX_ADMIN_BACKLOG``
        packets (a client that stopped reading) is skipped and the skip counted in
        ``dropped_events``: Node would buffer for it without limit.
        """
        sockets = self.nsp.sockets
        if not sockets:
            return
        slow: list[str] | None = None
        for sid, socket in sockets.items():
            if len(socket.conn.write_buffer) > MAX_ADMIN_BACKLOG:
                if slow is None:
                    slow = []
                slow.append(sid)
        if slow is None:
            self.nsp.emit(event, *args)
            return
        self.dropped_events += len(slow)
        if len(slow) < len(sockets):
            self.nsp.except_(slow).emit(event, *args)

    async def _on_admin_connection(self, socket: Any) -> None:
        conn = socket.conn
        self._mark_admin_conn(conn)
        socket.on("disconnect", lambda *_: self._on_admin_disconnect(socket))
        if not self.readonly:
            for name in ("emit", "join", "leave", "_disconnect"):
                socket.on(name, self._command_handler(socket, name))
        if self.packet_stream:
            socket.on(CMD_SUBSCRIBE, lambda *a, ack=None: self._on_subscribe(socket, a))
            socket.on(CMD_RESYNC, lambda *a, ack=None: self._spawn(self._resync(socket)))
        socket.emit("config", {"supportedFeatures": list(self.features)})
        wants = socket.handshake.get("auth")
        wants = wants.get("sioscope") if isinstance(wants, dict) else None
        if self.packet_stream and isinstance(wants, dict) and wants.get("packets") is True:
            self._subscribe(socket)
            socket.emit(EV_SNAPSHOT, {"seq": 0, "serverId": self.server_id})
        if self.development:
            socket.emit("all_sockets", await self._all_sockets())

    def _on_admin_disconnect(self, socket: Any) -> None:
        self._unsubscribe(socket)
        conn = socket.conn
        left = self._admin_conns.get(conn.id, 0) - 1
        if left > 0:
            self._admin_conns[conn.id] = left
        else:
            self._admin_conns.pop(conn.id, None)

    def _mark_admin_conn(self, conn: Any) -> None:
        """Rule 2: this connection now belongs to the admin side; stop counting it."""
        count = self._admin_conns.get(conn.id, 0)
        self._admin_conns[conn.id] = count + 1
        if count == 0:
            self.log.hide(conn.id[:12])
            detach = self._conn_hooks.pop(conn.id, None)
            if detach is not None:
                detach()

    async def _all_sockets(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for nsp in list(self.io.namespaces.values()):
            if nsp is self.nsp:
                continue
            for socket in await nsp.fetch_sockets():
                out.append(self._serialize(socket, nsp.name))
        return out

    def _serialize(self, socket: Any, nsp_name: str) -> dict[str, Any]:
        conn = getattr(socket, "conn", None)
        if conn is not None:
            client_id, transport = conn.id[:12], conn.transport.name
        else:  # a RemoteSocket (another server of a cluster) carries no connection
            client_id, transport = None, None
        return serialize_socket(
            socket_id=socket.id,
            client_id=client_id,
            transport=transport,
            nsp=nsp_name,
            data=socket.data,
            handshake=socket.handshake,
            rooms=socket.rooms,
            redact_headers=self.redact,
        )

    # -- commands ----------------------------------------------------------------------

    def _command_handler(self, admin_socket: Any, name: str) -> Callable[..., None]:
        def handler(*args: Any, ack: Any = None) -> None:
            # Node never acks a command, even when asked to; neither do we.
            try:
                cmd = parse_command(name, args, self._is_target_namespace)
            except CommandRefused as err:
                # A refusal is logged and told to the sender only, as an extension event
                # that the official UI ignores. Node would instead create a namespace
                # named in the command (io.of), or hit a whole namespace on "".
                log.warning("admin command refused: %s", err)
                if not self._backlogged(admin_socket):  # a flood of them, unread
                    admin_socket.emit(EV_COMMAND_ERROR, {"command": name, "message": str(err)})
                return
            try:
                self._run(cmd)
            except Exception as err:
                log.exception("admin command %s failed", name)
                admin_socket.emit(EV_COMMAND_ERROR, {"command": name, "message": str(err)})

        return handler

    def _is_target_namespace(self, name: str) -> bool:
        # Only existing namespaces (never created by a command), and not the admin one
        # itself, which rule 2 keeps out of sight.
        nsp = self.io.namespaces.get(name)
        return nsp is not None and nsp is not self.nsp

    def _run(self, cmd: Command) -> None:
        nsp = self.io.namespaces[cmd.nsp]
        target = nsp if cmd.rooms is None else nsp.in_(list(cmd.rooms))
        if cmd.name == "emit":
            target.emit(cmd.event, *cmd.args)
        elif cmd.name == "join":
            target.sockets_join(cmd.room)
        elif cmd.name == "leave":
            target.sockets_leave(cmd.room)
        else:
            target.disconnect_sockets(cmd.close)

    # -- development-mode observers (Node's registerVerboseListeners) ------------------

    def _hook_namespace(self, nsp: Any) -> None:
        if nsp is self.nsp:
            return
        name = nsp.name
        nsp.prepend_listener("connection", lambda socket: self._on_user_connection(nsp, socket))
        loop_call_soon = self._call_soon

        admins = self.nsp.sockets

        def joined(room: str, sid: str) -> None:
            if not admins:
                return
            self._broadcast("room_joined", name, room, sid, iso_now())

        def left(room: str, sid: str) -> None:
            # Node defers room_left to process.nextTick, so on disconnect the
            # socket_disconnected comes first; call_soon is the asyncio equivalent.
            if not admins:
                return
            ts = iso_now()
            loop_call_soon(lambda: self._broadcast("room_left", name, room, sid, ts))

        nsp.adapter.on("join-room", joined)
        nsp.adapter.on("leave-room", left)

    @staticmethod
    def _call_soon(fn: Callable[[], None]) -> None:
        try:
            asyncio.get_running_loop().call_soon(fn)
        except RuntimeError:
            fn()

    def _on_user_connection(self, nsp: Any, socket: Any) -> None:
        name = nsp.name
        sid = socket.id
        admins = self.nsp.sockets  # the live dict: an empty one means nobody to tell

        def data_changed() -> None:
            if not admins:
                return
            self._broadcast(
                "socket_updated", {"id": sid, "nsp": name, "data": serialize_data(socket.data)}
            )

        previous = socket.data
        if isinstance(previous, dict) and not isinstance(previous, TrackedDict):
            # Node re-assigns every key a middleware set through its Proxy, which emits
            # one socket_updated per key with the data so far: the same, in order.
            tracked = TrackedDict({}, data_changed)
            socket.data = tracked
            for key, value in previous.items():
                tracked[key] = value
        if admins:
            self._broadcast("socket_connected", self._serialize(socket, name), iso_now())

        conn = socket.conn

        def upgraded(transport: Any) -> None:
            self._broadcast("socket_updated", {"id": sid, "nsp": name, "transport": transport.name})

        conn.on("upgrade", upgraded)

        def incoming(*args: Any) -> None:
            if not admins:
                return
            if args and callable(args[-1]):
                args = args[:-1]  # the ack function, stripped as Node does
            self._broadcast("event_received", name, sid, list(args), iso_now())

        def outgoing(*args: Any) -> None:
            if not admins:
                return
            self._broadcast("event_sent", name, sid, list(args), iso_now())

        socket.on_any(incoming)
        socket.on_any_outgoing(outgoing)

        def disconnected(reason: str, *_: Any) -> None:
            conn.off("upgrade", upgraded)
            self._broadcast("socket_disconnected", name, sid, reason, iso_now())

        socket.on("disconnect", disconnected)

    # -- engine observers (Node's registerEngineListeners) -----------------------------

    def _hook_engine(self) -> None:
        engine = getattr(self.io, "engine", None)
        if engine is None:
            raise RuntimeError("the server has no Engine.IO layer to observe (io.engine)")
        engine.on("connection", self._on_engine_connection)

    def _on_engine_connection(self, conn: Any) -> None:
        self._start_stats()
        buffer = self.buffer
        log_append = self.log.append
        cid = conn.id[:12]
        buffer.push(_now_ms(), "rawConnection")
        stream = self.packet_stream

        def on_packet(packet: dict[str, Any]) -> None:
            data = packet.get("data")
            ms = int(time.time() * 1000)
            if data:  # Node: `if (data)`, so ping/pong without payload are not counted
                buffer.packet_in(ms, byte_length(data))
            if stream and self.subscribers:
                log_append((ms, cid, "in", packet["type"], data))

        def on_packet_create(packet: dict[str, Any]) -> None:
            data = packet.get("data")
            ms = int(time.time() * 1000)
            if data:
                buffer.packet_out(ms, byte_length(data))
            if stream and self.subscribers:
                log_append((ms, cid, "out", packet["type"], data))

        def on_drain() -> None:
            if self.subscribers:
                log_append((_now_ms(), cid, "drain", None, None))

        def on_upgrade(transport: Any) -> None:
            if self.subscribers:
                log_append((_now_ms(), cid, "upgrade", transport.name, None))

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
            self._conn_hooks.pop(conn.id, None)
            if polling:
                polling = False
                self.polling_clients -= 1
            if admin:
                return
            buffer.push(_now_ms(), "rawDisconnection", reason)
            if self.subscribers:
                log_append((_now_ms(), cid, "close", reason, None))

        conn.on("packet", on_packet)
        conn.on("packetCreate", on_packet_create)
        conn.on("drain", on_drain)
        conn.on("upgrade", on_upgrade)
        conn.on("upgrade", on_upgrade_count)
        conn.on("close", on_close)

        def detach() -> None:
            # Rule 2: an admin connection keeps only what maintains the counts.
            nonlocal polling, admin
            admin = True
            conn.off("packet", on_packet)
            conn.off("packetCreate", on_packet_create)
            conn.off("drain", on_drain)
            conn.off("upgrade", on_upgrade)
            if polling:
                polling = False
                self.polling_clients -= 1

        self._conn_hooks[conn.id] = detach

    # -- server_stats ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """One ``ServerStats`` (Node's shape and key order); clears the event buffer."""
        engine = self.io.engine
        namespaces = [
            {"name": nsp.name, "socketsCount": len(nsp.sockets)}
            for nsp in list(self.io.namespaces.values())
            if nsp is not self.nsp
        ]
        return {
            "serverId": self.server_id,
            "hostname": _socket.gethostname(),
            "pid": os.getpid(),
            "uptime": _uptime(),
            "clientsCount": max(0, engine.clients_count - len(self._admin_conns)),
            "pollingClientsCount": max(0, self.polling_clients),
            "aggregatedEvents": self.buffer.values_and_clear(),
            "namespaces": namespaces,
        }

    async def _stats_loop(self) -> None:
        while True:
            try:
                self._broadcast("server_stats", self.stats())
            except Exception:
                log.exception("server_stats failed")
            await asyncio.sleep(self.stats_interval)

    # -- the packet stream (extension) ---------------------------------------------------

    def _on_subscribe(self, socket: Any, args: tuple[Any, ...]) -> None:
        options = args[0] if args else None
        if not isinstance(options, dict) or not isinstance(options.get("packets"), bool):
            if self._backlogged(socket):
                return
            socket.emit(
                EV_COMMAND_ERROR,
                {"command": CMD_SUBSCRIBE, "message": 'expected {"packets": true|false}'},
            )
            return
        if options["packets"]:
            if socket.id not in self.subscribers:
                self._subscribe(socket)
                # A new sequence starts: say so, as at an opted-in connect.
                socket.emit(EV_SNAPSHOT, {"seq": 0, "serverId": self.server_id})
        else:
            self._unsubscribe(socket)

    def _subscribe(self, socket: Any) -> None:
        sub = Subscriber(self.log)
        self.subscribers[socket.id] = sub
        # The emitter removes by identity, and each ``sub.ack`` is a new bound method:
        # register the very object _unsubscribe will remove.
        ack = self._drain_acks[socket.id] = sub.ack
        socket.conn.on("drain", ack)
        if self._flush_task is None and not self._closed:
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop())

    def _unsubscribe(self, socket: Any) -> None:
        self.subscribers.pop(socket.id, None)
        ack = self._drain_acks.pop(socket.id, None)
        if ack is not None:
            socket.conn.off("drain", ack)

    async def _resync(self, socket: Any) -> None:
        # An admin client that asks again and again without reading would otherwise
        # queue one full all_sockets per request: past the backlog bound, skip (and
        # count) the answer, as _broadcast does. Checked again after the await, since
        # every request waiting there passed the first check.
        if self._backlogged(socket):
            return
        sub = self.subscribers.get(socket.id)
        if sub is not None:
            sub.restart()
        socket.emit(EV_SNAPSHOT, {"seq": 0, "serverId": self.server_id})
        if self.development:
            sockets = await self._all_sockets()
            if not self._backlogged(socket):
                socket.emit("all_sockets", sockets)

    def _backlogged(self, socket: Any) -> bool:
        if len(socket.conn.write_buffer) > MAX_ADMIN_BACKLOG:
            self.dropped_events += 1
            return True
        return False

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
                        socket.compress(False).emit(EV_PACKETS, batch)
                await asyncio.sleep(FLUSH_TICK)
        finally:
            self._flush_task = None


def instrument(
    io: Any,
    *,
    auth: Any = None,
    namespace_name: str = "/admin",
    readonly: bool = False,
    mode: str = "development",
    server_id: str | None = None,
    store: Store | None = None,
    redact_headers: Iterable[str] = DEFAULT_REDACTED_HEADERS,
    packet_stream: bool = True,
    failure_delay: float = 0.5,
    stats_interval: float = STATS_INTERVAL,
    stream_capacity: int = 20_000,
) -> Admin:
    """Serve the official Admin UI protocol on ``namespace_name`` (Node's ``instrument``).

    ``auth`` must be given: ``{"type": "basic", "username": ..., "password": <bcrypt
    hash>}``, or ``False`` to disable it (as in Node, leaving it out is an error).
    ``mode`` is ``"development"`` (every socket, room and event) or anything else,
    which gives Node's production mode (``server_stats`` only). ``redact_headers``
    lists handshake headers shown as ``"[redacted]"`` (``()`` shows all, as Node).
    ``packet_stream`` offers the opt-in Engine.IO packet stream
    (docs/admin-extension.md). The last three are tuning knobs for tests and benches.
    """
    return Admin(
        io,
        auth=auth,
        namespace_name=namespace_name,
        readonly=readonly,
        mode=mode,
        server_id=server_id,
        store=store,
        redact_headers=redact_headers,
        packet_stream=packet_stream,
        failure_delay=failure_delay,
        stats_interval=stats_interval,
        stream_capacity=stream_capacity,
    )
