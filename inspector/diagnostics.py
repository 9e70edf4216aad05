"""What the inspector keeps of ``sioscope:diagnostics``: latency, exchanges, refusals,
disconnect reasons, slow connections; plain state, no Textual.

The server sends one message a second (docs/admin-extension.md, "Diagnostics"); the
model hands each to :meth:`DiagnosticsState.apply`, which folds it in and says which
Engine.IO clients changed (so the model can touch their sockets' rows). Rules:

1. Heartbeats are per Engine.IO client (``clientId``): every socket of one connection
   shows the same round trip. A snapshot message replaces what is held (a new
   subscription, or after a reconnect); the others only update the clients they name.
2. Each client keeps the ``last`` round trip of its last ``HISTORY`` samples, for the
   socket detail's sparkline.
3. Exchanges and refusals are bounded rings (``MAX_EXCHANGES``, ``MAX_REFUSALS``), newest
   last; ``version`` counters let a view skip a flush that would draw the same.
4. A snapshot's refusals are the server's recent history: those already held (same
   timestamp, kind, message and address) are not added twice.
5. Disconnect reasons are counted per second (``Series``) and in total, one series per
   reason string as the server sends it (Node's nine; python-socketio's own strings
   would show as they are).
6. ``slowConnections`` is the whole list each message: it replaces the previous one.
7. Time is the server's (``timestamp`` fields, epoch ms); nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sioscope.inspector.filtering import Filter, FilterError
from sioscope.inspector.records import compact_json
from sioscope.inspector.series import Series
from sioscope.server.admin import protocol


class _Seq(Protocol):
    seq: int

    def haystack(self) -> str: ...

    def field_text(self, name: str) -> list[str]: ...


R = TypeVar("R", bound=_Seq)

HISTORY = 60
MAX_EXCHANGES = 20_000
MAX_REFUSALS = 5_000
LAG_HISTORY = 120

DISCONNECT_REASONS = (
    "transport error",
    "transport close",
    "forced close",
    "ping timeout",
    "parse error",
    "server shutting down",
    "forced server close",
    "client namespace disconnect",
    "server namespace disconnect",
)
"""Node's nine ``disconnect`` reason strings, in the order the breakdown lists them."""


@dataclass(slots=True)
class Latency:
    """One Engine.IO client's heartbeat round trips, in milliseconds."""

    last: float
    p50: float
    p99: float
    samples: int
    history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))


@dataclass(slots=True)
class ExchangeRecord:
    """An event that asked for an ack, and the ack that answered it (or none in time)."""

    seq: int
    """Its number in arrival order (the view's key)."""
    ts: float
    """When the event was seen, epoch seconds."""
    client_id: str
    socket_id: str
    direction: str
    """``in``: the client asked, the server acked; ``out``: the server asked."""
    nsp: str
    ack_id: int
    event: str | None
    elapsed_ms: float | None
    """None: no ack within the server's ack timeout."""

    @property
    def answered(self) -> bool:
        return self.elapsed_ms is not None

    def haystack(self) -> str:
        return " ".join(
            (
                self.client_id,
                self.socket_id,
                self.direction,
                self.nsp,
                self.event or "",
                "answered" if self.answered else "unanswered",
            )
        ).lower()

    def field_text(self, name: str) -> list[str]:
        """Values for the Exchanges view's ``name:term`` filter tokens."""
        if name in ("socket", "id", "sid"):
            return [self.socket_id, self.client_id]
        if name in ("client", "clientid"):
            return [self.client_id]
        if name in ("dir", "direction"):
            return [self.direction]
        if name in ("nsp", "namespace"):
            return [self.nsp]
        if name in ("event", "name"):
            return [self.event or ""]
        if name in ("state", "status"):
            return ["answered" if self.answered else "unanswered"]
        raise FilterError(f"unknown field {name!r} (socket, client, dir, nsp, event, state)")


@dataclass(slots=True)
class RefusalRecord:
    """A refused or failed connection attempt (engine, middleware or namespace)."""

    seq: int
    ts: float
    kind: str
    code: int | None
    message: str
    data: Any
    nsp: str | None
    address: str
    user_agent: str
    client_id: str

    @classmethod
    def from_wire(cls, raw: dict[str, Any], seq: int = 0) -> RefusalRecord:
        code = raw.get("code")
        return cls(
            seq=seq,
            ts=float(raw.get("timestamp", 0)) / 1000.0,
            kind=str(raw.get("kind", "")),
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            message=str(raw.get("message", "")),
            data=raw.get("data"),
            nsp=str(raw["nsp"]) if isinstance(raw.get("nsp"), str) else None,
            address=str(raw.get("address") or ""),
            user_agent=str(raw.get("userAgent") or ""),
            client_id=str(raw.get("clientId") or ""),
        )

    def identity(self) -> tuple[Any, ...]:
        """What rule 4 compares."""
        return (self.ts, self.kind, self.message, self.address, self.client_id)

    @property
    def data_text(self) -> str:
        return "" if self.data is None else compact_json(self.data)

    def haystack(self) -> str:
        return " ".join(
            (
                self.kind,
                self.message,
                self.nsp or "",
                self.address,
                self.user_agent,
                self.client_id,
                self.data_text,
            )
        ).lower()

    def field_text(self, name: str) -> list[str]:
        """Values for the Errors view's ``name:term`` filter tokens."""
        if name in ("kind", "type"):
            return [self.kind]
        if name in ("message", "msg"):
            return [self.message]
        if name in ("addr", "address", "ip"):
            return [self.address]
        if name in ("ua", "agent", "useragent"):
            return [self.user_agent]
        if name in ("nsp", "namespace"):
            return [self.nsp or ""]
        if name == "code":
            return ["" if self.code is None else str(self.code)]
        if name == "data":
            return [self.data_text]
        if name in ("client", "clientid"):
            return [self.client_id]
        raise FilterError(
            f"unknown field {name!r} (kind, message, address, ua, nsp, code, data, client)"
        )


class DiagnosticsState:
    """Everything ``sioscope:diagnostics`` told the inspector (module rules)."""

    def __init__(self) -> None:
        self.received = False
        """At least one message came (the server sends them)."""
        self.latency: dict[str, Latency] = {}
        self.slow: dict[str, tuple[int, int]] = {}
        """clientId -> (bytes owed, volatile packets dropped), the slow ones only."""
        self.exchanges: deque[ExchangeRecord] = deque(maxlen=MAX_EXCHANGES)
        self.refusals: deque[RefusalRecord] = deque(maxlen=MAX_REFUSALS)
        self.loop_lag: deque[tuple[float, float, float]] = deque(maxlen=LAG_HISTORY)
        """(second, last ms, max ms) per message."""
        self.disconnects: dict[str, Series] = {}
        self.disconnect_totals: dict[str, int] = {}
        self.pending_acks = 0
        self.dropped = 0
        self.messages = 0
        self.exchanges_total = 0
        self.unanswered_total = 0
        self.refusals_total = 0
        self.exchanges_version = 0
        self.refusals_version = 0
        self.version = 0
        self.last_timestamp = 0.0

    def apply(self, message: dict[str, Any], socket_of: Any = None) -> set[str]:
        """Fold one message in; returns the client ids whose latency or owed bytes changed.

        ``socket_of(client_id, nsp)`` names the socket an exchange belongs to ("" when
        unknown), so the Exchanges view can show socket ids as the Sockets view does."""
        changed: set[str] = set()
        self.received = True
        self.messages += 1
        self.version += 1
        ts = float(message.get("timestamp", 0)) / 1000.0
        self.last_timestamp = ts
        snapshot = bool(message.get("snapshot"))
        if snapshot:
            changed.update(self.latency)
            self.latency = {}
        for hb in message.get("heartbeats") or []:
            if not isinstance(hb, list) or len(hb) < 5:
                continue
            cid = str(hb[0])
            last, p50, p99 = float(hb[1]), float(hb[2]), float(hb[3])
            lat = self.latency.get(cid)
            if lat is None:
                lat = self.latency[cid] = Latency(last, p50, p99, int(hb[4]))
            else:
                lat.last, lat.p50, lat.p99, lat.samples = last, p50, p99, int(hb[4])
            lat.history.append(last)
            changed.add(cid)
        slow: dict[str, tuple[int, int]] = {}
        for entry in message.get("slowConnections") or []:
            if isinstance(entry, list) and len(entry) >= 3:
                slow[str(entry[0])] = (int(entry[1]), int(entry[2]))
        for cid in set(slow) | set(self.slow):
            if slow.get(cid) != self.slow.get(cid):
                changed.add(cid)
        self.slow = slow
        lag = message.get("loopLag")
        if isinstance(lag, dict):
            self.loop_lag.append((ts, float(lag.get("last", 0.0)), float(lag.get("max", 0.0))))
        self.pending_acks = int(message.get("pendingAcks", 0) or 0)
        self.dropped += int(message.get("dropped", 0) or 0)
        self._exchanges(message.get("exchanges") or [], socket_of)
        self._refusals(message.get("refusals") or [], snapshot)
        for entry in message.get("disconnects") or []:
            if not isinstance(entry, dict):
                continue
            reason = str(entry.get("reason", ""))
            count = int(entry.get("count", 0) or 0)
            second = int(float(entry.get("timestamp", 0)) / 1000.0)
            series = self.disconnects.get(reason)
            if series is None:
                series = self.disconnects[reason] = Series()
            series.add(second, float(count))
            self.disconnect_totals[reason] = self.disconnect_totals.get(reason, 0) + count
        for series in self.disconnects.values():  # the server counted every second to now
            series.cover(int(ts) - 1)
        return changed

    def _exchanges(self, raw: Iterable[Any], socket_of: Any) -> None:
        added = False
        for ex in raw:
            if not isinstance(ex, list) or len(ex) < 7:
                continue
            ts, cid, direction, nsp, ack_id, event, elapsed = ex[:7]
            cid, nsp = str(cid), str(nsp)
            record = ExchangeRecord(
                seq=self.exchanges_total,
                ts=float(ts) / 1000.0,
                client_id=cid,
                socket_id=(socket_of(cid, nsp) if socket_of is not None else "") or "",
                direction=str(direction),
                nsp=nsp,
                ack_id=int(ack_id),
                event=event if isinstance(event, str) else None,
                elapsed_ms=float(elapsed) if isinstance(elapsed, int | float) else None,
            )
            self.exchanges.append(record)
            self.exchanges_total += 1
            if record.elapsed_ms is None:
                self.unanswered_total += 1
            added = True
        if added:
            self.exchanges_version += 1

    def _refusals(self, raw: Iterable[Any], snapshot: bool) -> None:
        fresh = [RefusalRecord.from_wire(r) for r in raw if isinstance(r, dict)]
        if snapshot and fresh:  # rule 4
            held = {r.identity() for r in self.refusals}
            fresh = [r for r in fresh if r.identity() not in held]
        for rec in fresh:
            rec.seq = self.refusals_total
            self.refusals_total += 1
            self.refusals.append(rec)
        if fresh:
            self.refusals_version += 1

    # -- derived

    def latency_of(self, client_id: str) -> Latency | None:
        return self.latency.get(client_id)

    def owed_of(self, client_id: str) -> int | None:
        entry = self.slow.get(client_id)
        return entry[0] if entry is not None else None

    def disconnect_breakdown(self) -> list[tuple[str, int]]:
        """(reason, total) for Node's nine reasons (zeros included), then any other."""
        out = [(r, self.disconnect_totals.get(r, 0)) for r in DISCONNECT_REASONS]
        out += sorted(
            (r, n) for r, n in self.disconnect_totals.items() if r not in DISCONNECT_REASONS
        )
        return out


class RingView(Generic[R]):
    """A filtered view of one of the bounded rings, newest first, kept incrementally:
    a filter change tests every record once, a new record is tested once (as
    ``PacketLog`` does for packets)."""

    def __init__(self, ring: deque[R], probe: R) -> None:
        self.ring = ring
        self.probe = probe
        self.filter = Filter()
        self._matching: deque[R] = deque(maxlen=ring.maxlen)
        self._next = 0  # the seq of the first record not looked at yet
        self._keys: list[str] = []
        self._keys_for: tuple[int, int, str] | None = None
        self.by_key: dict[str, R] = {}

    def set_filter(self, expression: str) -> None:
        flt = Filter(expression)
        flt.validate_fields(self.probe)
        self.filter = flt
        self._matching.clear()
        self._next = 0

    def keys(self) -> list[str]:
        """The matching records' keys (``str(seq)``), newest first; cached until the ring
        or the filter changes."""
        ring = self.ring
        newest = ring[-1].seq + 1 if ring else 0
        flt = self.filter
        if newest != self._next:
            for rec in ring if self._next == 0 or not ring else self._since(self._next):
                if not flt or flt.matches(rec):
                    self._matching.append(rec)
            self._next = newest
        oldest = ring[0].seq if ring else 0
        while self._matching and self._matching[0].seq < oldest:
            self._matching.popleft()
        key = (newest, oldest, flt.expression)
        if key != self._keys_for:
            self._keys_for = key
            self.by_key = {str(r.seq): r for r in self._matching}
            self._keys = list(reversed(self.by_key))
        return self._keys

    def _since(self, seq: int) -> list[R]:
        """The ring's records from ``seq`` on (the newest, at the right end)."""
        out: list[R] = []
        for rec in reversed(self.ring):
            if rec.seq < seq:
                break
            out.append(rec)
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self.keys())


def feature_note(features: set[str], config_received: bool) -> str:
    """The one line saying what a server without the extension does not send ("" when it
    does, or before its ``config`` came)."""
    if not config_received or protocol.DIAGNOSTICS_FEATURE in features:
        return ""
    return (
        "this server sends no diagnostics (heartbeat round trips, ack pairs, refused "
        f"connections, disconnect reasons: {protocol.DIAGNOSTICS_FEATURE} not offered)"
    )
