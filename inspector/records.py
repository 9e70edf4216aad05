"""The inspector's record types: one socket, one packet-log line, one server.

They are what the admin namespace's wire shapes become once read, tolerant of missing
fields (old servers, Node's), so everything past this module sees plain typed fields.
``SocketInfo`` and ``PacketRecord`` also expose ``haystack()`` and ``field_text()``,
the two hooks ``sioscope.inspector.filtering`` matches terms against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sioscope.inspector.filtering import FilterError

HEALTH_TIMEOUT = 10.0
"""Seconds without ``server_stats`` after which a server is unhealthy (official UI rule)."""

STALE_INTERVALS = 3
"""Stats intervals without ``server_stats`` after which a server is marked stale."""

DEFAULT_STATS_INTERVAL = 2.0
"""Node's ``server_stats`` period: what a server's interval is taken to be at first."""


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


def compact_json(value: object) -> str:
    """One-line JSON for previews and the filter haystack; binary shown by size."""
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
    server_id: str = ""
    """The server the socket lives on, when its server names it (``serverId``, sent
    by sioscope servers in a cluster); empty otherwise."""
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
            server_id=str(raw.get("serverId") or ""),
        )

    def changed(self) -> None:
        """Forget what was derived from the fields (the filter haystack); the model calls
        it after each update it applies in place."""
        self._haystack = None

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
                    compact_json(self.data),
                    self.server_id,
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
            return [compact_json(self.data)]
        if name in ("client", "clientid"):
            return [self.client_id]
        if name in ("server", "serverid"):
            return [self.server_id]
        raise FilterError(
            f"unknown field {name!r} (id, room, address, transport, nsp, data, client, server)"
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
            **({"serverId": self.server_id} if self.server_id else {}),
        }


@dataclass(slots=True)
class PacketRecord:
    """One line of the packet log: a Socket.IO packet (decoded, ``inspector.decoding``),
    an Engine.IO-only packet, or a connection event (connect, upgrade, close)."""

    ts: float
    client_id: str
    direction: str
    """``in``, ``out``, or ``info`` (drain, upgrade, close, connect, disconnect)."""
    type: str
    """The Engine.IO packet type (``message``, ``ping``...) or the info kind."""
    size: int
    preview: str | None
    socket_id: str = ""
    nsp: str = ""
    sio: str = ""
    """The Socket.IO packet type (``EVENT``, ``ACK``...); ``""`` for Engine.IO only."""
    ack_id: int | None = None
    event: str | None = None
    args: Any = None
    """The decoded arguments (``decoding.Meaning.args``); binary values are ``bytes``."""
    frames: list[str | bytes] = field(default_factory=list)
    """The Engine.IO messages the packet came in (text, then attachments), when streamed."""
    engine_only: bool = False
    error: str = ""
    """Why the packet is not (wholly) decoded: cut preview, refused by the parser."""
    recipients: list[tuple[str, str]] = field(default_factory=list)
    """A fan-out (one encoding written to several connections): ``(socket id, client
    id)`` of every recipient, this record's own first; empty for a single packet."""
    fanout: int | None = None
    server_id: str = ""
    """The server that recorded the packet: the ``serverId`` of another server's batch,
    else the connected server's (its ``sioscope:snapshot``); for a Node server's events,
    the socket's. Empty when unknown."""
    _args_text: str | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        """How many connections the packet went to."""
        return len(self.recipients) or 1

    def args_text(self) -> str:
        """The arguments as one-line JSON (binary by size), cached."""
        if self._args_text is None:
            self._args_text = "" if self.args is None else compact_json(self.args)
        return self._args_text

    def summary(self) -> str:
        """The row's meaning column: the event and its arguments, or the preview."""
        if self.sio:
            text = self.args_text()
            if self.event is not None:
                text = f"{self.event} {text}" if text else self.event
            return f"{text}  ({self.error})" if self.error else text
        if self.error:
            return self.error
        return self.preview if self.preview is not None else ("<binary>" if self.size else "")

    def field_text(self, name: str) -> list[str]:
        """Values for ``name:term`` tokens of the packet filter."""
        if name in ("socket", "id", "sid"):
            return [self.socket_id, self.client_id, *(x for r in self.recipients for x in r)]
        if name in ("client", "clientid"):
            return [self.client_id, *(r[1] for r in self.recipients)]
        if name in ("dir", "direction"):
            return [self.direction]
        if name == "type":
            return [self.type, self.sio]
        if name in ("nsp", "namespace"):
            return [self.nsp]
        if name == "event":
            return [self.event or ""]
        if name == "ack":
            return ["" if self.ack_id is None else str(self.ack_id)]
        if name in ("server", "serverid"):
            return [self.server_id]
        raise FilterError(
            f"unknown field {name!r} (socket, client, dir, type, nsp, event, ack, server)"
        )

    def haystack(self) -> str:
        return " ".join(
            (
                self.client_id,
                self.socket_id,
                self.direction,
                self.type,
                self.sio,
                self.nsp,
                self.event or "",
                self.args_text() if self.sio else (self.preview or ""),
            )
        ).lower()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ts": round(self.ts * 1000),
            "clientId": self.client_id,
            "socketId": self.socket_id or None,
            "nsp": self.nsp or None,
            "direction": self.direction,
            "type": self.type,
            "size": self.size,
            "preview": self.preview,
        }
        if self.sio:
            out.update(sio=self.sio, ackId=self.ack_id, event=self.event, args=self.args_text())
        if self.recipients:
            out["recipients"] = [list(r) for r in self.recipients]
        if self.error:
            out["error"] = self.error
        return out


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
    interval: float = DEFAULT_STATS_INTERVAL
    """Seconds between two of its ``server_stats``, as measured (a moving average)."""
    rates: dict[str, float] = field(default_factory=dict)
    """Per-second rates of its last stats: ``packetsIn``, ``bytesOut``, ..."""

    def healthy(self, now: float) -> bool:
        return now - self.last_seen < HEALTH_TIMEOUT

    def stale(self, now: float) -> bool:
        """Whether :data:`STALE_INTERVALS` of its intervals passed without stats."""
        return now - self.last_seen > STALE_INTERVALS * self.interval

    def observe(self, now: float, counts: dict[str, float]) -> None:
        """One ``server_stats`` arrived at ``now`` with these event counts (summed per
        series): measure the interval, keep the rates, and mark it seen."""
        if self.last_seen:
            gap = now - self.last_seen
            if 0.05 < gap < 60.0:  # a first or resumed report says nothing of the period
                self.interval = 0.7 * self.interval + 0.3 * gap
        self.rates = {name: count / self.interval for name, count in counts.items()}
        self.last_seen = now
