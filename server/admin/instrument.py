"""``instrument(io, ...)``: the admin namespace, wired to the server by public hooks only.

Theory of operation
-------------------
This module composes the pieces next to it, one idea each, and owns their lifetime. It
follows ``instrument()`` of ``@socket.io/admin-ui`` 0.5.1 (the npm peer pinned in
``tests/interop/package.json``; its ``dist/index.js``) step by step; where it departs,
the module that departs says why.

- ``protocol``: the wire vocabulary (event, command and feature names, payload shapes);
- ``auth``: the login middleware and its sessions;
- ``backpressure``: what an admin client that stops reading gets (nothing more);
- ``control`` (with ``commands``): the four official commands;
- ``namespace_observer``: development mode's per-socket events;
- ``engine_observer``: the Engine.IO counts of ``server_stats`` and the stream's feed;
- ``stats`` and ``host``: the ``server_stats`` payload;
- ``subscriptions`` (with ``stream``): the opt-in packet stream;
- ``diagnostics_observer`` (with ``diagnostics``): the opt-in latency, ack, refusal and
  disconnect messages;
- ``serialize`` and ``tracked``: ``SerializedSocket`` and the tracked ``socket.data``.

The rules that hold them together:

1. It observes, never patches: every hook is a public event or method of the server,
   its namespaces, sockets, adapters and Engine.IO connections, plus ``io.on("close")``
   (emitted by ``io.close()``) to stop the timers.
2. The admin namespace never appears in its own output (stricter than Node, which lists
   its admin sockets and namespace): no admin socket in ``all_sockets`` or in any
   socket/room/event message, no ``/admin`` entry in ``server_stats.namespaces``, and a
   connection that carries an admin socket leaves the packet counters, the client
   counts and the packet stream from then on (else every stats tick and every streamed
   batch would feed the next one).
3. Events go to the admin namespace as broadcasts (Node's ``adminNamespace.emit``);
   ``session``, ``config``, ``all_sockets`` and the extension's messages go to one
   admin socket. Nothing is acknowledged.
4. Every task (the stats timer, the stream's flush task, the diagnostics task, a
   resync) is a task of the server's :class:`~sioscope.server.tasks.TaskSet`
   (``io.tasks``): ``admin.close()`` cancels the timers, ``await io.close()`` cancels
   and awaits whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from sioscope.server.admin import host, protocol
from sioscope.server.admin.auth import (
    Authenticator,
    InMemoryStore,
    Store,
    check_auth_option,
    login_middleware,
)
from sioscope.server.admin.backpressure import Backpressure
from sioscope.server.admin.control import Control
from sioscope.server.admin.diagnostics_observer import DiagnosticsObserver
from sioscope.server.admin.engine_observer import EngineObserver
from sioscope.server.admin.namespace_observer import NamespaceObserver
from sioscope.server.admin.serialize import (
    DEFAULT_REDACTED_HEADERS,
    crosses_servers,
    describe_socket,
)
from sioscope.server.admin.stats import EventBuffer, server_stats
from sioscope.server.admin.stream import PacketLog, Subscriber
from sioscope.server.admin.subscriptions import (
    Subscriptions,
    auth_servers,
    wants_diagnostics,
    wants_packets,
)
from sioscope.server.tasks import TaskSet

log = logging.getLogger("sioscope.admin")

PAGE_DRAIN_TIMEOUT = 10.0  # a page not written by then: send the next anyway

STATS_INTERVAL = 2.0  # Node: setInterval(emitStats, 2000), not configurable there


def supported_features(
    *, readonly: bool, development: bool, packet_stream: bool, diagnostics: bool = False
) -> list[str]:
    """``config.supportedFeatures`` in Node's order: the command features unless
    read-only, ``AGGREGATED_EVENTS`` always, ``ALL_EVENTS`` in development mode; ours
    last."""
    features: list[str] = []
    if not readonly:
        features += [*protocol.COMMAND_FEATURES, *protocol.MULTI_COMMAND_FEATURES]
    features.append(protocol.FEATURE_AGGREGATED_EVENTS)
    if development:
        features.append(protocol.FEATURE_ALL_EVENTS)
    if packet_stream:
        features.append(protocol.PACKET_FEATURE)
    if not readonly:
        features.append(protocol.EMIT_ACK_FEATURE)
    if diagnostics:
        features.append(protocol.DIAGNOSTICS_FEATURE)
    return features


def wants_pages(query: Any) -> bool:
    """True when a handshake query asks for the paged snapshot (``send_sockets``)."""
    if not isinstance(query, dict):
        return False
    value = query.get(protocol.SNAPSHOT_QUERY)
    if isinstance(value, list):  # a repeated parameter
        value = value[-1] if value else None
    return value == protocol.SNAPSHOT_PAGES


async def _drained(conn: Any) -> None:
    """Until ``conn`` has written what it holds (its ``drain``), bounded in time."""
    if not conn.write_buffer:
        await asyncio.sleep(0)  # written at once: still let the other clients in
        return
    done = asyncio.get_running_loop().create_future()

    def on_drain(*_: Any) -> None:
        if not done.done():
            done.set_result(None)

    conn.on("drain", on_drain)
    conn.on("close", on_drain)
    try:
        await asyncio.wait_for(done, PAGE_DRAIN_TIMEOUT)
    except TimeoutError:
        pass
    finally:
        conn.off("drain", on_drain)
        conn.off("close", on_drain)


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
        diagnostics: bool = True,
        ack_timeout: float = 10.0,
        diagnostics_interval: float = 1.0,
    ) -> None:
        basic = check_auth_option(auth)
        engine = getattr(io, "engine", None)
        if engine is None:
            raise RuntimeError("the server has no Engine.IO layer to observe (io.engine)")
        self.io = io
        self.tasks: TaskSet = io.tasks
        self.mode = mode
        self.development = mode == "development"
        self.readonly = readonly
        self.redact = frozenset(h.lower() for h in redact_headers)
        self.server_id = server_id or host.hostname()
        self.stats_interval = stats_interval
        self.store: Store = store if store is not None else InMemoryStore()
        self.authenticator = (
            None if basic is None else Authenticator(basic, self.store, failure_delay=failure_delay)
        )
        self.packet_stream = packet_stream
        self.features = supported_features(
            readonly=readonly,
            development=self.development,
            packet_stream=packet_stream,
            diagnostics=diagnostics,
        )
        self.stats_task: asyncio.Task[None] | None = None
        self._closed = False

        self.nsp = io.of(namespace_name)
        self.buffer = EventBuffer()
        self.log = PacketLog(stream_capacity)
        self.backpressure = Backpressure(self.nsp)
        self.control = Control(io, self.nsp, self.backpressure)
        self.diagnostics: DiagnosticsObserver | None = None
        if diagnostics:
            self.diagnostics = DiagnosticsObserver(
                engine,
                self.nsp,
                self.backpressure,
                self.tasks,
                ack_timeout_ms=round(ack_timeout * 1000),
                interval=diagnostics_interval,
            )
        self.stream = Subscriptions(
            self.nsp,
            self.log,
            self.backpressure,
            self.tasks,
            server_id=self.server_id,
            send_sockets=self.send_sockets if self.development else None,
            diagnostics=self.diagnostics,
            packets=packet_stream,
        )
        self.engine_observer = EngineObserver(
            self.buffer,
            self.log,
            self.stream.readers,
            stream=packet_stream,
            on_connection=self._start_stats,
            diagnostics=self.diagnostics,
        )

        if self.authenticator is not None:
            self.nsp.use(login_middleware(self.authenticator))
        self.nsp.on("connection", self._on_admin_connection)
        self.engine_observer.attach(engine)
        if self.diagnostics is not None:
            self.diagnostics.attach(engine)
            for nsp in list(io.namespaces.values()):
                self.diagnostics.observe(nsp)
            io.on("new_namespace", self.diagnostics.observe)
        io.on("close", self.close)  # io.close() stops our timers too
        if self.development:
            observer = NamespaceObserver(
                self.nsp, self.backpressure, self.redact, server_id=self.server_id
            )
            for nsp in list(io.namespaces.values()):
                observer.observe(nsp)
            io.on("new_namespace", observer.observe)
        with contextlib.suppress(RuntimeError):  # no running loop yet: start on first use
            self._start_stats()

    # -- what the rest of the package and its users read --------------------------------

    @property
    def subscribers(self) -> dict[str, Subscriber]:
        """Admin socket id -> its cursor in the packet stream."""
        return self.stream.subscribers

    @property
    def flush_task(self) -> asyncio.Task[None] | None:
        """The packet stream's flush task, while anyone subscribes."""
        return self.stream.flush_task

    @property
    def dropped_events(self) -> int:
        """Admin messages skipped for admin clients that lag (``backpressure``)."""
        return self.backpressure.dropped_events

    @property
    def polling_clients(self) -> int:
        """Connections still on long-polling (admin ones excluded)."""
        return self.engine_observer.polling_clients

    # -- lifecycle -------------------------------------------------------------------

    def _start_stats(self) -> None:
        if self.stats_task is None and not self._closed:
            asyncio.get_running_loop()  # RuntimeError before a coroutine is made for nothing
            self.stats_task = self.tasks.spawn(self._stats_loop(), name="admin server_stats")

    def close(self) -> None:
        """Stop the stats and flush tasks (the namespace itself stays, as in Node)."""
        self._closed = True
        if self.stats_task is not None:
            self.stats_task.cancel()
            self.stats_task = None
        self.stream.close()
        if self.diagnostics is not None:
            self.diagnostics.close()

    # -- the admin side --------------------------------------------------------------

    async def _on_admin_connection(self, socket: Any) -> None:
        self.engine_observer.admin_socket_joined(socket.conn)
        socket.on("disconnect", lambda *_: self._on_admin_disconnect(socket))
        if not self.readonly:
            self.control.register(socket)
        if self.packet_stream or self.diagnostics is not None:
            self.stream.register(socket)
        config: protocol.Config = {"supportedFeatures": list(self.features)}
        socket.emit(protocol.CONFIG, config)
        auth = socket.handshake.get("auth")
        if self.packet_stream and wants_packets(auth):
            self.stream.start(socket, auth_servers(auth))
        if self.diagnostics is not None and wants_diagnostics(auth):
            self.diagnostics.subscribe(socket)
        if self.development:
            await self.send_sockets(socket)

    def _on_admin_disconnect(self, socket: Any) -> None:
        self.stream.unsubscribe(socket)
        if self.diagnostics is not None:
            self.diagnostics.unsubscribe(socket)
        self.engine_observer.admin_socket_left(socket.conn)

    async def send_sockets(self, socket: Any) -> None:
        """The snapshot for one admin socket: ``all_sockets`` (Node's, one event), or
        pages of it for a client that asked in its handshake query
        (``protocol.SNAPSHOT_QUERY``).

        One event of 100,000 sockets is ~50 MB of JSON, built and written while every
        other client of the server waits. Pages are built one at a time, just before
        they are sent, and the next waits until the admin connection drained the
        previous one: the server serves its other clients in between, holds at most one
        page per admin client, and a page shows each socket as it is when sent (gone
        ones are skipped; the deltas sent meanwhile are older than the page or about
        sockets the page already holds)."""
        if not wants_pages(socket.handshake.get("query")):
            socket.emit(protocol.ALL_SOCKETS, await self.all_sockets())
            return
        listed: list[tuple[Any, str, str | None]] = []
        for nsp in list(self.io.namespaces.values()):
            if nsp is not self.nsp:
                tag = self._server_tag(nsp)
                listed.extend((s, nsp.name, tag) for s in await nsp.fetch_sockets())
        total, size = len(listed), protocol.SNAPSHOT_PAGE_SIZE
        for number, start in enumerate(range(0, max(total, 1), size)):
            if not socket.connected:
                return
            page: protocol.SnapshotPage = {
                "page": number,
                "last": start + size >= total,
                "total": total,
                "sockets": [
                    describe_socket(s, name, self.redact, tag)
                    for s, name, tag in listed[start : start + size]
                    if getattr(s, "connected", True)  # a RemoteSocket is a snapshot
                ],
            }
            socket.emit(protocol.EV_SNAPSHOT_PAGE, page)
            await _drained(socket.conn)

    async def all_sockets(self) -> list[protocol.SerializedSocket]:
        """``all_sockets``: every socket of every namespace but the admin one (rule 2),
        the other servers' included (``fetch_sockets``)."""
        out: list[protocol.SerializedSocket] = []
        for nsp in list(self.io.namespaces.values()):
            if nsp is self.nsp:
                continue
            tag = self._server_tag(nsp)
            for socket in await nsp.fetch_sockets():
                out.append(describe_socket(socket, nsp.name, self.redact, tag))
        return out

    def _server_tag(self, nsp: Any) -> str | None:
        """Our ``server_id`` when ``nsp`` spans a cluster (sockets then name their
        server, ``serverId``), else None: a lone server's wire stays Node's."""
        return self.server_id if crosses_servers(nsp.adapter) else None

    # -- server_stats ------------------------------------------------------------------

    def stats(self) -> protocol.ServerStats:
        """One ``ServerStats`` (Node's shape and key order); clears the event buffer."""
        namespaces: list[protocol.NamespaceStats] = [
            {"name": nsp.name, "socketsCount": len(nsp.sockets)}
            for nsp in list(self.io.namespaces.values())
            if nsp is not self.nsp
        ]
        observer = self.engine_observer
        return server_stats(
            server_id=self.server_id,
            hostname=host.hostname(),
            pid=host.pid(),
            uptime=host.uptime(),
            clients=self.io.engine.clients_count - observer.admin_connections,
            polling_clients=observer.polling_clients,
            events=self.buffer,
            namespaces=namespaces,
        )

    async def _stats_loop(self) -> None:
        while True:
            try:
                self.backpressure.broadcast(protocol.SERVER_STATS, self.stats())
            except Exception:
                log.exception("server_stats failed")
            await asyncio.sleep(self.stats_interval)


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
    diagnostics: bool = True,
    ack_timeout: float = 10.0,
    diagnostics_interval: float = 1.0,
) -> Admin:
    """Serve the official Admin UI protocol on ``namespace_name`` (Node's ``instrument``).

    ``auth`` must be given: ``{"type": "basic", "username": ..., "password": <bcrypt
    hash>}``, or ``False`` to disable it (as in Node, leaving it out is an error).
    ``mode`` is ``"development"`` (every socket, room and event) or anything else,
    which gives Node's production mode (``server_stats`` only). ``redact_headers``
    lists handshake headers shown as ``"[redacted]"`` (``()`` shows all, as Node).
    ``packet_stream`` offers the opt-in Engine.IO packet stream
    (docs/admin-extension.md). ``diagnostics`` offers ``sioscope:diagnostics``
    (heartbeat round trips, loop lag, ack exchanges, refusals, disconnect reasons), an
    event unanswered ``ack_timeout`` seconds after it was seen is reported as such.
    ``failure_delay``, ``stats_interval``, ``stream_capacity`` and
    ``diagnostics_interval`` are tuning knobs for tests and benches.
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
        diagnostics=diagnostics,
        ack_timeout=ack_timeout,
        diagnostics_interval=diagnostics_interval,
    )
