"""The inspector's state: sockets, rooms, servers and the packet log, with no Textual in sight.

Theory of operation
-------------------
The admin namespace sends a snapshot (``all_sockets``) followed by deltas (the other
official events), plus our optional ``sioscope:packets`` stream. ``Model.apply(event,
args)`` folds one event into plain Python state; the app reads that state at most ~10
times a second. Rules:

1. A socket is keyed by its Socket.IO id (unique across namespaces on one server).
2. ``all_sockets`` replaces every socket and room; the other events are deltas.
   Deltas that name an unknown socket change nothing (the official UI does the same),
   since they can arrive before the snapshot or after the socket is gone.
3. ``socket_updated`` is a deep merge, as lodash ``merge`` in the official UI.
4. Every change bumps ``sockets_version`` and records the id in ``dirty_ids``, so a view
   can reconcile by key instead of rebuilding; ``take_changes()`` hands the set over.
5. Filter and sort run here, not in widgets; ``visible_ids()`` is cached per
   (version, filter, sort) so a quiet second costs nothing.
6. The packet log is a bounded ring. A paused view stops taking records but keeps
   counting the ones that match its filter (``pending``).
7. ``sioscope:packets`` batches carry ``seq``; a jump means lost batches and sets
   ``resync_needed`` (the client then sends ``sioscope:resync``). ``dropped`` only
   adds to a counter: a snapshot cannot bring lost packet records back.
8. Time comes from an injectable clock, so tests and screenshots are deterministic.
"""

from __future__ import annotations

import bisect
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HEALTH_TIMEOUT = 10.0
"""Seconds without ``server_stats`` after which a server is unhealthy (official UI rule)."""

SERIES_LENGTH = 60
"""Per-second buckets kept for the dashboard sparklines."""

OFFICIAL_EVENTS = frozenset(
    {
        "session",
        "config",
        "all_sockets",
        "socket_connected",
        "socket_updated",
        "socket_disconnected",
        "room_joined",
        "room_left",
        "event_received",
        "event_sent",
        "server_stats",
    }
)

FEATURE_PACKETS = "X_SIOSCOPE_PACKETS"


def parse_timestamp(value: object, default: float) -> float:
    """An admin timestamp (ISO string or epoch ms) as epoch seconds; ``default`` if absent."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return default
    return default


def deep_merge(target: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """lodash ``merge``: objects merge recursively, arrays merge by index, rest overwrites."""
    for key, value in source.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            deep_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            for i, item in enumerate(value):
                if i < len(current):
                    if isinstance(item, dict) and isinstance(current[i], dict):
                        deep_merge(current[i], item)
                    else:
                        current[i] = item
                else:
                    current.append(item)
        else:
            target[key] = value
    return target


def _compact(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_bytes_repr)
    except (TypeError, ValueError):
        return repr(value)


def _bytes_repr(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<binary {len(bytes(value))} B>"
    raise TypeError(type(value).__name__)


@dataclass(slots=True)
class SocketInfo:
    """One namespace socket as the admin namespace serialises it."""

    id: str
    nsp: str
    client_id: str
    transport: str
    address: str
    rooms: list[str]
    data: dict[str, Any]
    handshake: dict[str, Any]
    issued: float
    """Connection time, epoch seconds (``handshake.issued``), for the age column."""
    _haystack: str | None = field(default=None, repr=False)

    @classmethod
    def from_wire(cls, raw: dict[str, Any], now: float) -> SocketInfo:
        """Build from a ``SerializedSocket``; tolerant of missing fields (old servers)."""
        handshake = raw.get("handshake") if isinstance(raw.get("handshake"), dict) else {}
        assert isinstance(handshake, dict)
        address = handshake.get("address", "")
        data = raw.get("data")
        rooms = raw.get("rooms")
        return cls(
            id=str(raw.get("id", "")),
            nsp=str(raw.get("nsp", "/")),
            client_id=str(raw.get("clientId", "")),
            transport=str(raw.get("transport", "")),
            address=address if isinstance(address, str) else ",".join(map(str, address)),
            rooms=[str(r) for r in rooms] if isinstance(rooms, list) else [],
            data=data if isinstance(data, dict) else {},
            handshake=handshake,
            issued=parse_timestamp(handshake.get("issued"), now),
        )

    @property
    def public_rooms(self) -> list[str]:
        """Rooms other than the socket's own-id room."""
        return [r for r in self.rooms if r != self.id]

    def haystack(self) -> str:
        """Lower-cased text the free-text filter searches; rebuilt after each change."""
        if self._haystack is None:
            self._haystack = " ".join(
                [
                    self.id,
                    self.nsp,
                    self.client_id,
                    self.transport,
                    self.address,
                    *self.rooms,
                    _compact(self.data),
                ]
            ).lower()
        return self._haystack

    def field_text(self, name: str) -> list[str]:
        """The values a ``name:term`` filter token is matched against."""
        if name == "id":
            return [self.id]
        if name in ("room", "rooms"):
            return self.rooms
        if name in ("addr", "address", "ip"):
            return [self.address]
        if name == "transport":
            return [self.transport]
        if name in ("nsp", "namespace"):
            return [self.nsp]
        if name == "data":
            return [_compact(self.data)]
        if name in ("client", "clientid"):
            return [self.client_id]
        raise FilterError(
            f"unknown field {name!r} (id, room, address, transport, nsp, data, client)"
        )

    def to_json(self) -> dict[str, Any]:
        """The wire shape back, for export and copy."""
        return {
            "id": self.id,
            "clientId": self.client_id,
            "transport": self.transport,
            "nsp": self.nsp,
            "data": self.data,
            "handshake": self.handshake,
            "rooms": self.rooms,
        }


@dataclass(slots=True)
class PacketRecord:
    """One line of the packet log: an Engine.IO packet, or a Socket.IO event on Node."""

    ts: float
    client_id: str
    direction: str
    """``in``, ``out``, or ``info`` (drain, upgrade, close, connect, disconnect)."""
    type: str
    size: int
    preview: str | None
    socket_id: str = ""
    nsp: str = ""

    def field_text(self, name: str) -> list[str]:
        """Values for ``name:term`` tokens of the packet filter."""
        if name in ("socket", "id", "sid"):
            return [self.socket_id, self.client_id]
        if name in ("client", "clientid"):
            return [self.client_id]
        if name in ("dir", "direction"):
            return [self.direction]
        if name == "type":
            return [self.type]
        if name in ("nsp", "namespace"):
            return [self.nsp]
        raise FilterError(f"unknown field {name!r} (socket, client, dir, type, nsp)")

    def haystack(self) -> str:
        return " ".join(
            (self.client_id, self.socket_id, self.direction, self.type, self.preview or "")
        ).lower()

    def to_json(self) -> dict[str, Any]:
        return {
            "ts": round(self.ts * 1000),
            "clientId": self.client_id,
            "socketId": self.socket_id or None,
            "nsp": self.nsp or None,
            "direction": self.direction,
            "type": self.type,
            "size": self.size,
            "preview": self.preview,
        }


@dataclass(slots=True)
class ServerInfo:
    """One server of a (possibly multi-server) deployment, keyed by ``serverId``."""

    server_id: str
    hostname: str = ""
    pid: int = 0
    uptime: float = 0.0
    clients: int = 0
    polling_clients: int = 0
    namespaces: dict[str, int] = field(default_factory=dict)
    last_seen: float = 0.0

    def healthy(self, now: float) -> bool:
        return now - self.last_seen < HEALTH_TIMEOUT


# --------------------------------------------------------------------------- filter


class FilterError(ValueError):
    """A filter expression that cannot be compiled; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class _Term:
    field: str | None
    negate: bool
    text: str | None
    regex: re.Pattern[str] | None

    def matches(self, values: Iterable[str]) -> bool:
        if self.regex is not None:
            hit = any(self.regex.search(v) for v in values)
        else:
            assert self.text is not None
            hit = any(self.text in v.lower() for v in values)
        return hit != self.negate


class Filter:
    """k9s/btop-style filter: space-separated terms, all must match.

    ``lobby`` substring anywhere; ``room:lobby`` one field; ``!polling`` negates;
    ``re:^abc`` (or ``field:re:...``) is a case-insensitive regex.
    """

    def __init__(self, expression: str = "") -> None:
        self.expression = expression.strip()
        self.terms: list[_Term] = [self._compile(tok) for tok in self.expression.split()]

    @staticmethod
    def _compile(token: str) -> _Term:
        negate = token.startswith("!")
        if negate:
            token = token[1:]
        name: str | None = None
        head, sep, rest = token.partition(":")
        if sep and head and head != "re" and head.isidentifier():
            name, token = head.lower(), rest
        if token.startswith("re:"):
            try:
                return _Term(name, negate, None, re.compile(token[3:], re.IGNORECASE))
            except re.error as exc:
                raise FilterError(f"bad regex {token[3:]!r}: {exc}") from None
        if not token:
            raise FilterError("empty filter term")
        return _Term(name, negate, token.lower(), None)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: SocketInfo | PacketRecord) -> bool:
        for term in self.terms:
            values = [item.haystack()] if term.field is None else item.field_text(term.field)
            if not term.matches(values):
                return False
        return True

    def validate_fields(self, probe: SocketInfo | PacketRecord) -> None:
        """Raise ``FilterError`` now for an unknown field rather than on the first row."""
        for term in self.terms:
            if term.field is not None:
                probe.field_text(term.field)


_SOCKET_PROBE = SocketInfo("", "", "", "", "", [], {}, {}, 0.0)
_PACKET_PROBE = PacketRecord(0.0, "", "", "", 0, None)


# --------------------------------------------------------------------------- packet log


class PacketLog:
    """A bounded ring of records plus one filtered, pausable view of it.

    The view keeps its own list so that filtering 100k records happens once per filter
    change, then one test per new record.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.records: deque[PacketRecord] = deque(maxlen=capacity)
        self.view: deque[PacketRecord] = deque(maxlen=capacity)
        self.filter = Filter()
        self.paused = False
        self.pending = 0
        """Records that matched the filter while paused."""
        self.total = 0
        self.version = 0
        self._held: list[PacketRecord] = []

    def append(self, records: Iterable[PacketRecord]) -> None:
        flt = self.filter
        for rec in records:
            self.records.append(rec)
            self.total += 1
            if flt and not flt.matches(rec):
                continue
            if self.paused:
                self._held.append(rec)
                self.pending += 1
                if len(self._held) > self.capacity:
                    del self._held[: len(self._held) - self.capacity]
            else:
                self.view.append(rec)
        self.version += 1

    def set_filter(self, expression: str) -> None:
        """Recompile and refilter the whole ring; raises ``FilterError`` and keeps the old one."""
        flt = Filter(expression)
        flt.validate_fields(_PACKET_PROBE)
        self.filter = flt
        self.view = deque((r for r in self.records if not flt or flt.matches(r)), self.capacity)
        self._held.clear()
        self.pending = 0
        self.version += 1

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        """Show what arrived while paused, in order."""
        self.paused = False
        self.view.extend(self._held)
        self._held.clear()
        self.pending = 0
        self.version += 1

    def for_socket(
        self, socket: SocketInfo, limit: int = 500, scan: int = 20_000
    ) -> list[PacketRecord]:
        """The latest records of one socket: its Engine.IO connection's packets, its events.

        Only the newest ``scan`` records are searched, so a detail screen refreshing ten
        times a second stays cheap with a full 100k ring.
        """
        out: list[PacketRecord] = []
        for n, rec in enumerate(reversed(self.records)):
            if n >= scan:
                break
            if rec.socket_id == socket.id or (
                not rec.socket_id and rec.client_id and rec.client_id == socket.client_id
            ):
                out.append(rec)
                if len(out) >= limit:
                    break
        out.reverse()
        return out


# --------------------------------------------------------------------------- series


class Series:
    """Per-second counters for the last ``SERIES_LENGTH`` seconds, for sparklines."""

    def __init__(self, length: int = SERIES_LENGTH, gauge: bool = False) -> None:
        self.length = length
        self.gauge = gauge
        """A level (clients now), not a count: a second without a sample keeps the last."""
        self.buckets: dict[int, float] = {}

    def add(self, second: int, count: float) -> None:
        self.buckets[second] = self.buckets.get(second, 0.0) + count
        if len(self.buckets) > self.length * 2:
            for key in sorted(self.buckets)[: -self.length]:
                del self.buckets[key]

    def set(self, second: int, value: float) -> None:
        self.buckets[second] = value

    def values(self, now: float) -> list[float]:
        """Oldest first; the current (incomplete) second is left out."""
        end = int(now) - 1
        seconds = range(end - self.length + 1, end + 1)
        if not self.gauge:
            return [self.buckets.get(s, 0.0) for s in seconds]
        earlier = [k for k in self.buckets if k < seconds[0]]
        level = self.buckets[max(earlier)] if earlier else 0.0
        out = []
        for s in seconds:
            level = self.buckets.get(s, level)
            out.append(level)
        return out

    def last(self, now: float) -> float:
        return self.buckets.get(int(now) - 1, 0.0)


# --------------------------------------------------------------------------- model

SORT_KEYS: dict[str, Callable[[SocketInfo], Any]] = {
    "id": lambda s: (s.id,),
    "nsp": lambda s: (s.nsp, s.id),
    "address": lambda s: (s.address, s.id),
    "transport": lambda s: (s.transport, s.id),
    "rooms": lambda s: (len(s.rooms), s.id),
    "age": lambda s: (s.issued, s.id),
}


class Model:
    """Everything the inspector knows about the attached server."""

    def __init__(
        self, clock: Callable[[], float] = time.time, packet_capacity: int = 100_000
    ) -> None:
        self.clock = clock
        self.sockets: dict[str, SocketInfo] = {}
        self.servers: dict[str, ServerInfo] = {}
        self.features: set[str] = set()
        self.config_received = False
        self.session_id: str | None = None
        self.packets = PacketLog(packet_capacity)
        self.filter = Filter()
        self.sort_key = "age"
        self.sort_reverse = False
        self.sockets_version = 0
        self.dirty_ids: set[str] = set()
        self.structure_changed = False
        """Sockets were added or removed since the last ``take_changes``."""
        self._visible: list[str] = []
        self._visible_key: tuple[int, str, str, bool] | None = None
        self.series: dict[str, Series] = {
            name: Series(gauge=name in ("clients", "websocket", "polling"))
            for name in (
                "connections",
                "disconnections",
                "bytesIn",
                "bytesOut",
                "packetsIn",
                "packetsOut",
                "clients",
                "websocket",
                "polling",
            )
        }
        self.seq_expected: int | None = None
        self.resync_needed = False
        self.gaps = 0
        self.snapshots = 0
        """``sioscope:snapshot`` markers seen: one on connect, one per resync."""
        self.dropped = 0
        self.events_seen = 0
        self.unknown_events: dict[str, int] = {}
        self._by_client: dict[str, SocketInfo] = {}
        self._order: list[Any] = []
        self._keyof: dict[str, Any] = {}
        self._order_for: str | None = None
        self._by_client_version = -1

    # -- derived

    @property
    def has_packet_stream(self) -> bool:
        return FEATURE_PACKETS in self.features

    @property
    def development(self) -> bool:
        """Per-socket events flow (``ALL_EVENTS``), as the official UI decides it."""
        return "ALL_EVENTS" in self.features or "AGGREGATED_EVENTS" not in self.features

    def can(self, feature: str) -> bool:
        return feature in self.features

    def rooms(self, filtered: bool = False) -> dict[str, dict[str, list[str]]]:
        """namespace -> room -> socket ids, own-id rooms included, everything sorted.

        ``filtered`` keeps only the sockets that pass the socket filter.
        """
        out: dict[str, dict[str, list[str]]] = {}
        sockets: Iterable[SocketInfo] = self.sockets.values()
        if filtered and self.filter:
            sockets = [self.sockets[i] for i in self.visible_ids()]
        for sock in sockets:
            per_nsp = out.setdefault(sock.nsp, {})
            for room in sock.rooms:
                per_nsp.setdefault(room, []).append(sock.id)
        return {
            nsp: {room: sorted(ids) for room, ids in sorted(rooms.items())}
            for nsp, rooms in sorted(out.items())
        }

    def namespaces(self) -> dict[str, int]:
        """Socket count per namespace: from the socket list, else summed from stats."""
        counts: dict[str, int] = {}
        if self.development and self.sockets:
            for sock in self.sockets.values():
                counts[sock.nsp] = counts.get(sock.nsp, 0) + 1
            return dict(sorted(counts.items()))
        for server in self.servers.values():
            for name, n in server.namespaces.items():
                counts[name] = counts.get(name, 0) + n
        return dict(sorted(counts.items()))

    def clients(self) -> tuple[int, int]:
        """(websocket, polling) Engine.IO client counts, from stats when there are any."""
        if self.servers:
            total = sum(s.clients for s in self.servers.values())
            polling = sum(s.polling_clients for s in self.servers.values())
            return total - polling, polling
        by_client: dict[str, str] = {s.client_id: s.transport for s in self.sockets.values()}
        polling = sum(1 for t in by_client.values() if t == "polling")
        return len(by_client) - polling, polling

    # -- filter and sort

    def set_filter(self, expression: str) -> None:
        """Compile the socket filter; raises ``FilterError`` and keeps the previous one."""
        flt = Filter(expression)
        flt.validate_fields(_SOCKET_PROBE)
        self.filter = flt

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key!r}")
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else False
        self.sort_key, self.sort_reverse = key, reverse

    def _sorted_keys(self) -> list[Any]:
        """Sort keys of every socket, in order, kept up to date by ``_touch``.

        Re-sorting 10,000 sockets ten times a second is most of a frame; with churn
        of a few sockets per update, a bisect insert or delete per change is not.
        Every key ends with the socket id, so keys are unique and bisect finds each.
        """
        if self._order_for != self.sort_key:
            keyfn = SORT_KEYS[self.sort_key]
            self._keyof = {sid: keyfn(sock) for sid, sock in self.sockets.items()}
            self._order = sorted(self._keyof.values())
            self._order_for = self.sort_key
        return self._order

    def _reorder(self, sid: str) -> None:
        if self._order_for != self.sort_key:
            return
        old = self._keyof.pop(sid, None)
        if old is not None:
            i = bisect.bisect_left(self._order, old)
            if i < len(self._order) and self._order[i] == old:
                del self._order[i]
        sock = self.sockets.get(sid)
        if sock is not None:
            new = SORT_KEYS[self.sort_key](sock)
            self._keyof[sid] = new
            bisect.insort(self._order, new)

    def visible_ids(self) -> list[str]:
        """Socket ids that pass the filter, in sort order (cached)."""
        key = (self.sockets_version, self.filter.expression, self.sort_key, self.sort_reverse)
        if key != self._visible_key:
            order = self._sorted_keys()
            ids = [k[-1] for k in (reversed(order) if self.sort_reverse else order)]
            flt = self.filter
            if flt:
                sockets = self.sockets
                ids = [i for i in ids if flt.matches(sockets[i])]
            self._visible = ids
            self._visible_key = key
        return self._visible

    def take_changes(self) -> tuple[set[str], bool]:
        """The ids changed since the last call, and whether rows came or went."""
        dirty, structural = self.dirty_ids, self.structure_changed
        self.dirty_ids, self.structure_changed = set(), False
        return dirty, structural

    def take_resync(self) -> bool:
        """True once after a gap was seen in the packet stream."""
        needed, self.resync_needed = self.resync_needed, False
        return needed

    # -- applying events

    def _touch(self, sid: str, structural: bool = False) -> None:
        self._reorder(sid)
        self.sockets_version += 1
        self.dirty_ids.add(sid)
        if structural:
            self.structure_changed = True

    def apply(self, event: str, args: list[Any]) -> None:
        """Fold one admin-namespace event into the state. Malformed args are ignored."""
        self.events_seen += 1
        handler = getattr(self, "_on_" + event.replace(":", "_"), None)
        if handler is None:
            self.unknown_events[event] = self.unknown_events.get(event, 0) + 1
            return
        try:
            handler(*args)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            # A server that sends an unexpected shape must not take the inspector down;
            # the count is shown in the status bar so it does not go unnoticed either.
            self.unknown_events["malformed " + event] = (
                self.unknown_events.get("malformed " + event, 0) + 1
            )

    def _on_session(self, session_id: str, *_: Any) -> None:
        self.session_id = str(session_id)

    def _on_config(self, config: dict[str, Any], *_: Any) -> None:
        self.features = {str(f) for f in config.get("supportedFeatures", [])}
        self.config_received = True

    def _on_all_sockets(self, sockets: list[dict[str, Any]], *_: Any) -> None:
        now = self.clock()
        self.sockets = {}
        for raw in sockets:
            if isinstance(raw, dict):
                sock = SocketInfo.from_wire(raw, now)
                self.sockets[sock.id] = sock
        self.dirty_ids = set(self.sockets)
        self.structure_changed = True
        self.sockets_version += 1
        self._order_for = None

    def _on_socket_connected(self, raw: dict[str, Any], ts: Any = None, *_: Any) -> None:
        now = self.clock()
        sock = SocketInfo.from_wire(raw, now)
        self.sockets[sock.id] = sock
        self._touch(sock.id, structural=True)
        self._info(ts, sock, "connect", 0, sock.transport)

    def _on_socket_updated(self, partial: dict[str, Any], *_: Any) -> None:
        sock = self.sockets.get(str(partial.get("id")))
        if sock is None:
            return
        if "transport" in partial:
            sock.transport = str(partial["transport"])
        if isinstance(partial.get("data"), dict):
            deep_merge(sock.data, partial["data"])
        if isinstance(partial.get("rooms"), list):
            sock.rooms = [str(r) for r in partial["rooms"]]
        if isinstance(partial.get("handshake"), dict):
            deep_merge(sock.handshake, partial["handshake"])
        sock._haystack = None
        self._touch(sock.id)

    def _on_socket_disconnected(self, nsp: str, sid: str, reason: str = "", ts: Any = None) -> None:
        sock = self.sockets.pop(str(sid), None)
        if sock is None:
            return
        self._touch(sock.id, structural=True)
        self._info(ts, sock, "disconnect", 0, str(reason))

    def _on_room_joined(self, nsp: str, room: str, sid: str, ts: Any = None) -> None:
        sock = self.sockets.get(str(sid))
        if sock is None or room in sock.rooms:
            return
        sock.rooms.append(str(room))
        sock._haystack = None
        self._touch(sock.id)

    def _on_room_left(self, nsp: str, room: str, sid: str, ts: Any = None) -> None:
        sock = self.sockets.get(str(sid))
        if sock is None or room not in sock.rooms:
            return
        sock.rooms.remove(room)
        sock._haystack = None
        self._touch(sock.id)

    def _event_record(self, direction: str, nsp: str, sid: str, args: list[Any], ts: Any) -> None:
        """Node has no packet stream: its per-socket events fill the packet log instead."""
        if self.has_packet_stream:
            return
        sock = self.sockets.get(str(sid))
        text = _compact(args)
        name = str(args[0]) if isinstance(args, list) and args else "?"
        self.packets.append(
            [
                PacketRecord(
                    ts=parse_timestamp(ts, self.clock()),
                    client_id=sock.client_id if sock else "",
                    direction=direction,
                    type=f"event:{name}",
                    size=len(text.encode()),
                    preview=text[:120],
                    socket_id=str(sid),
                    nsp=str(nsp),
                )
            ]
        )

    def _on_event_received(self, nsp: str, sid: str, args: list[Any], ts: Any = None) -> None:
        self._event_record("in", nsp, sid, args, ts)

    def _on_event_sent(self, nsp: str, sid: str, args: list[Any], ts: Any = None) -> None:
        self._event_record("out", nsp, sid, args, ts)

    def _info(self, ts: Any, sock: SocketInfo, kind: str, size: int, detail: str) -> None:
        if self.has_packet_stream:
            return
        self.packets.append(
            [
                PacketRecord(
                    ts=parse_timestamp(ts, self.clock()),
                    client_id=sock.client_id,
                    direction="info",
                    type=f"{kind}:{detail}" if detail else kind,
                    size=size,
                    preview=None,
                    socket_id=sock.id,
                    nsp=sock.nsp,
                )
            ]
        )

    def _on_server_stats(self, stats: dict[str, Any], *_: Any) -> None:
        now = self.clock()
        sid = str(stats.get("serverId", "?"))
        server = self.servers.get(sid) or ServerInfo(sid)
        server.hostname = str(stats.get("hostname", ""))
        server.pid = int(stats.get("pid", 0) or 0)
        server.uptime = float(stats.get("uptime", 0.0) or 0.0)
        server.clients = int(stats.get("clientsCount", 0) or 0)
        server.polling_clients = int(stats.get("pollingClientsCount", 0) or 0)
        server.namespaces = {
            str(n.get("name")): int(n.get("socketsCount", 0))
            for n in stats.get("namespaces", [])
            if isinstance(n, dict)
        }
        server.last_seen = now
        self.servers[sid] = server
        mapping = {
            "rawConnection": "connections",
            "rawDisconnection": "disconnections",
            "bytesIn": "bytesIn",
            "bytesOut": "bytesOut",
            "packetsIn": "packetsIn",
            "packetsOut": "packetsOut",
        }
        for agg in stats.get("aggregatedEvents", []):
            if not isinstance(agg, dict) or agg.get("type") not in mapping:
                continue
            second = int(parse_timestamp(agg.get("timestamp"), now))
            self.series[mapping[agg["type"]]].add(second, float(agg.get("count", 0)))
        ws, polling = self.clients()
        second = int(now)
        self.series["clients"].set(second, ws + polling)
        self.series["websocket"].set(second, ws)
        self.series["polling"].set(second, polling)

    def _on_sioscope_snapshot(self, info: Any = None, *_: Any) -> None:
        self.seq_expected = 1
        self.snapshots += 1

    def _on_sioscope_packets(self, batch: dict[str, Any], *_: Any) -> None:
        seq = int(batch.get("seq", 0))
        if self.seq_expected is not None and seq != self.seq_expected:
            self.gaps += 1
            self.resync_needed = True
        self.seq_expected = seq + 1
        self.dropped += int(batch.get("dropped", 0) or 0)
        by_client = self._sockets_by_client()
        records = []
        for rec in batch.get("records", []):
            if not isinstance(rec, list) or len(rec) < 6:
                continue
            ts, cid, kind, ptype, size, preview = rec[:6]
            sock = by_client.get(str(cid))
            if kind in ("in", "out"):
                direction, type_ = kind, str(ptype)
            else:
                direction = "info"
                type_ = f"{kind}:{ptype}" if ptype is not None else str(kind)
            records.append(
                PacketRecord(
                    ts=parse_timestamp(ts, self.clock()),
                    client_id=str(cid),
                    direction=direction,
                    type=type_,
                    size=int(size or 0),
                    preview=preview if isinstance(preview, str) else None,
                    nsp=sock.nsp if sock else "",
                )
            )
        self.packets.append(records)

    def _sockets_by_client(self) -> dict[str, SocketInfo]:
        """clientId -> a socket of that client, cached per ``sockets_version``."""
        if self._by_client_version != self.sockets_version:
            by_client: dict[str, SocketInfo] = {}
            for sock in self.sockets.values():
                by_client.setdefault(sock.client_id, sock)
            self._by_client = by_client
            self._by_client_version = self.sockets_version
        return self._by_client

    # -- export

    def export_sockets(self) -> list[dict[str, Any]]:
        """The visible (filtered, sorted) sockets in their wire shape."""
        return [self.sockets[i].to_json() for i in self.visible_ids() if i in self.sockets]

    def export_packets(self) -> Iterator[dict[str, Any]]:
        """The packet view (filtered) as JSON-ready dicts, oldest first."""
        for rec in self.packets.view:
            yield rec.to_json()

    def server_health(self) -> list[tuple[ServerInfo, bool]]:
        now = self.clock()
        return [
            (s, s.healthy(now)) for s in sorted(self.servers.values(), key=lambda s: s.server_id)
        ]
