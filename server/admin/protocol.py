"""The admin namespace's wire vocabulary: every event, command and feature name, and the
payload shapes, in one place that both ends import (the server's ``admin`` package and
the inspector).

Rules:

1. Pure data: no I/O, no clock, no import beyond ``typing``, so the inspector can load it
   without the server's HTTP stack and a third-party client can read it as a spec.
2. A name of the vocabulary is written here once; everything else uses the constant. The
   official names are those of ``@socket.io/admin-ui`` 0.5.1; ours carry the
   ``sioscope:`` prefix (events and commands) or the ``X_SIOSCOPE_`` prefix (features),
   which the official UI ignores (``docs/admin-extension.md``).
3. The ``TypedDict`` shapes list keys in the order the server writes them: Node's order,
   which the parity test compares key by key.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

# -- official events, server to admin client -------------------------------------------

SESSION = "session"
CONFIG = "config"
ALL_SOCKETS = "all_sockets"
SOCKET_CONNECTED = "socket_connected"
SOCKET_UPDATED = "socket_updated"
SOCKET_DISCONNECTED = "socket_disconnected"
ROOM_JOINED = "room_joined"
ROOM_LEFT = "room_left"
EVENT_RECEIVED = "event_received"
EVENT_SENT = "event_sent"
SERVER_STATS = "server_stats"

OFFICIAL_EVENTS = frozenset(
    {
        SESSION,
        CONFIG,
        ALL_SOCKETS,
        SOCKET_CONNECTED,
        SOCKET_UPDATED,
        SOCKET_DISCONNECTED,
        ROOM_JOINED,
        ROOM_LEFT,
        EVENT_RECEIVED,
        EVENT_SENT,
        SERVER_STATS,
    }
)

# -- official commands, admin client to server (never acknowledged) --------------------

CMD_EMIT = "emit"
CMD_JOIN = "join"
CMD_LEAVE = "leave"
CMD_DISCONNECT = "_disconnect"
COMMANDS = (CMD_EMIT, CMD_JOIN, CMD_LEAVE, CMD_DISCONNECT)

# -- config.supportedFeatures -----------------------------------------------------------

FEATURE_EMIT = "EMIT"
FEATURE_JOIN = "JOIN"
FEATURE_LEAVE = "LEAVE"
FEATURE_DISCONNECT = "DISCONNECT"
FEATURE_MJOIN = "MJOIN"
FEATURE_MLEAVE = "MLEAVE"
FEATURE_MDISCONNECT = "MDISCONNECT"
FEATURE_AGGREGATED_EVENTS = "AGGREGATED_EVENTS"
"""``server_stats`` carries ``aggregatedEvents`` (always advertised by Node)."""
FEATURE_ALL_EVENTS = "ALL_EVENTS"
"""Per-socket events flow: development mode."""
COMMAND_FEATURES = (FEATURE_EMIT, FEATURE_JOIN, FEATURE_LEAVE, FEATURE_DISCONNECT)
"""Node's order; a read-only server advertises none of these nor the multi-server ones."""
MULTI_COMMAND_FEATURES = (FEATURE_MJOIN, FEATURE_MLEAVE, FEATURE_MDISCONNECT)

PACKET_FEATURE = "X_SIOSCOPE_PACKETS"
"""The server offers the Engine.IO packet stream (the extension)."""
EMIT_ACK_FEATURE = "X_SIOSCOPE_EMIT_ACK"
"""The server runs ``sioscope:emit_ack`` (an emit that waits for the targets' acks and
acknowledges the command with them); never when read-only."""
DIAGNOSTICS_FEATURE = "X_SIOSCOPE_DIAGNOSTICS"
"""The server offers ``sioscope:diagnostics`` (latency, acks, refusals, disconnects)."""

# -- server_stats.aggregatedEvents types ------------------------------------------------

AGG_RAW_CONNECTION = "rawConnection"
AGG_RAW_DISCONNECTION = "rawDisconnection"
AGG_PACKETS_IN = "packetsIn"
AGG_PACKETS_OUT = "packetsOut"
AGG_BYTES_IN = "bytesIn"
AGG_BYTES_OUT = "bytesOut"

# -- the extension: events, commands, the auth field ------------------------------------

EV_PACKETS = "sioscope:packets"
EV_SNAPSHOT = "sioscope:snapshot"
EV_COMMAND_ERROR = "sioscope:command_error"
EV_DIAGNOSTICS = "sioscope:diagnostics"
CMD_SUBSCRIBE = "sioscope:subscribe"
CMD_RESYNC = "sioscope:resync"
EV_SNAPSHOT_PAGE = "sioscope:snapshot_page"
CMD_EMIT_ACK = "sioscope:emit_ack"
"""``(nsp, filter, timeout_ms, event, *args)``, sent with an ack id: emit to the sockets
of ``filter`` (a socket id or room, or a list of them) and wait up to ``timeout_ms`` for
their acks; the command's own ack carries an :class:`EmitAckReply`."""
MAX_ACK_TIMEOUT_MS = 60_000
SNAPSHOT_QUERY = "sioscope_snapshot"
"""The Engine.IO handshake query parameter by which an admin client asks, with the value
``SNAPSHOT_PAGES``, for ``all_sockets`` in pages (``sioscope:snapshot_page``). In the
query, not the auth payload: python-socketio compares the whole auth object, and the
request must be known before the server answers the namespace CONNECT."""
SNAPSHOT_PAGES = "pages"
SNAPSHOT_PAGE_SIZE = 1_000
"""Sockets per ``sioscope:snapshot_page`` (~500 KB of JSON)."""
AUTH_FIELD = "sioscope"
"""The key of the CONNECT auth payload that holds :class:`SubscribeOptions`."""

RecordKind = Literal["in", "out", "drain", "upgrade", "close"]
KIND_IN: RecordKind = "in"
KIND_OUT: RecordKind = "out"
KIND_DRAIN: RecordKind = "drain"
KIND_UPGRADE: RecordKind = "upgrade"
KIND_CLOSE: RecordKind = "close"

# -- payload shapes ---------------------------------------------------------------------


class Config(TypedDict):
    """``config``: sent to one admin socket right after it connects."""

    supportedFeatures: list[str]


class SerializedHandshake(TypedDict):
    """``SerializedSocket.handshake``: Node's handshake without ``auth``."""

    address: Any
    headers: dict[str, Any]
    query: dict[str, Any]
    issued: Any
    secure: Any
    time: Any
    url: Any
    xdomain: Any


class SerializedSocket(TypedDict):
    """One socket in ``all_sockets`` and ``socket_connected``.

    ``clientId`` and ``transport`` are None for a socket of another server of a cluster
    that keeps no ``socket.data._admin``. ``serverId`` (an extension, in a cluster only)
    names the server the socket lives on, when known."""

    id: str
    clientId: str | None
    transport: str | None
    nsp: str
    data: dict[str, Any]
    handshake: SerializedHandshake
    rooms: list[str]
    serverId: NotRequired[str]


class SocketUpdate(TypedDict):
    """``socket_updated``: ``id`` and ``nsp``, plus the fields that changed."""

    id: str
    nsp: str
    data: NotRequired[dict[str, Any]]
    transport: NotRequired[str]


class AggregatedEvent(TypedDict):
    """One entry of ``server_stats.aggregatedEvents``: a count per second and type."""

    timestamp: int
    type: str
    subType: NotRequired[str]
    count: int


class NamespaceStats(TypedDict):
    """One entry of ``server_stats.namespaces``."""

    name: str
    socketsCount: int


class ServerStats(TypedDict):
    """``server_stats``: broadcast every two seconds."""

    serverId: str
    hostname: str
    pid: int
    uptime: float
    clientsCount: int
    pollingClientsCount: int
    aggregatedEvents: list[AggregatedEvent]
    namespaces: list[NamespaceStats]


class SubscribeOptions(TypedDict):
    """``sioscope:subscribe``'s argument, and the ``sioscope`` field of the auth payload:
    at least one of ``packets`` and ``diagnostics``. ``servers`` (with ``packets``):
    the servers of a cluster whose packets to stream, ``"all"`` or their ids; without
    it, the one the admin is connected to."""

    packets: NotRequired[bool]
    payloads: NotRequired[bool]
    """With ``packets``: whole payloads and fan-out ids in each record."""
    diagnostics: NotRequired[bool]
    servers: NotRequired[Literal["all"] | list[str]]


class SnapshotPage(TypedDict):
    """``sioscope:snapshot_page``: one page of ``all_sockets``. Page 0 replaces the
    client's socket list, as ``all_sockets`` does; the others add to it; the one with
    ``last`` true ends the snapshot. ``total`` counts the sockets when the snapshot
    began (a page skips those gone since)."""

    page: int
    last: bool
    total: int
    sockets: list[SerializedSocket]


class Snapshot(TypedDict):
    """``sioscope:snapshot``: a new packet sequence starts (the next batch has seq 1)."""

    seq: int
    serverId: str


WireRecord = list[Any]
"""``[ts_ms, clientId, kind, type, size, preview]``: one record of a packet batch; a
payload subscriber's records add ``payload`` (text, ``{"base64": ...}`` or null) and
``fanout`` (int or null)."""


class PacketBatch(TypedDict):
    """``sioscope:packets``: one batch of the stream of one admin socket. A batch from
    another server of the cluster names it (``serverId``) and has its own ``seq``."""

    seq: int
    dropped: int
    records: list[WireRecord]
    serverId: NotRequired[str]


class ClusterStreamRequest(TypedDict):
    """What a server asks the others of its cluster (``CLUSTER_STREAM``, a server-side
    emit on the admin namespace) for one of its admin sockets: start (``on``, renewed
    before its lease ends) or stop streaming ``servers``' packets to ``admin``."""

    admin: str
    servers: Literal["all"] | list[str]
    on: bool
    payloads: NotRequired[bool]
    """Whole payloads in the records (``{"payloads": true}``), as the admin asked here."""


CLUSTER_STREAM = "sioscope:cluster_stream"
"""The server-to-server event of the packet stream across a cluster (never sent to an
admin client)."""


class EmitAckReply(TypedDict):
    """The ack of ``sioscope:emit_ack``: each target's first ack argument, in arrival
    order; ``timedOut`` when some target had not answered by the timeout (``responses``
    then holds those that had); ``error`` when the command was refused (nothing sent)."""

    responses: list[Any]
    timedOut: bool
    error: NotRequired[str]


class CommandError(TypedDict):
    """``sioscope:command_error``: a command that was refused or failed, to its sender."""

    command: str
    message: str


# -- the diagnostics extension (sioscope:diagnostics) -----------------------------------

REFUSAL_ENGINE = "engine"
"""An HTTP request the Engine.IO layer refused (its ``connection_error``)."""
REFUSAL_MIDDLEWARE = "middleware"
"""A namespace middleware refused the CONNECT (a CONNECT_ERROR with its message/data)."""
REFUSAL_NAMESPACE = "namespace"
"""A CONNECT to a namespace the server does not have (``Invalid namespace``)."""

HeartbeatSummary = list[Any]
"""``[clientId, last_ms, p50_ms, p99_ms, samples]``: one connection's ping round trips."""

SlowConnection = list[Any]
"""``[clientId, owed_bytes, dropped_packets]``: a connection whose client is not keeping
up (it owes more than 64 KiB: ``conn.owed_bytes``; ``conn.dropped_packets`` counts its
volatile packets dropped so far)."""

Exchange = list[Any]
"""``[ts_ms, clientId, direction, nsp, ackId, event, elapsed_ms]``: an event that asked
for an ack and its answer; ``direction`` ``"in"`` when the client asked, ``"out"`` when
the server did; ``event`` None when not a plain string; ``elapsed_ms`` None when no ack
came within the server's ack timeout."""


class LoopLag(TypedDict):
    """How late the server's event loop ran a 100 ms timer, over one tick (ms)."""

    last: float
    max: float
    p50: float
    p99: float


class Refusal(TypedDict):
    """One refused or failed connection attempt."""

    timestamp: int
    kind: str
    code: int | None
    message: str
    data: Any
    nsp: str | None
    address: str | None
    userAgent: str | None
    clientId: str | None


class DisconnectCount(TypedDict):
    """Socket disconnects in one second for one reason (Node's reason strings)."""

    timestamp: int
    reason: str
    count: int


class Diagnostics(TypedDict):
    """``sioscope:diagnostics``: what accumulated since the previous message (or, with
    ``snapshot`` true, the first message after a subscription: every connection's
    heartbeats and the recent refusals)."""

    timestamp: int
    snapshot: bool
    loopLag: LoopLag | None
    heartbeats: list[HeartbeatSummary]
    exchanges: list[Exchange]
    pendingAcks: int
    refusals: list[Refusal]
    disconnects: list[DisconnectCount]
    dropped: int
    slowConnections: list[SlowConnection]
