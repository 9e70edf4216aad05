"""The diagnostics extension, sans-I/O: heartbeat round trips, loop lag, ack exchanges,
refused connections and disconnect reasons, as small accumulators fed by the caller.

Theory of operation
-------------------
The server already sees everything these answer: it creates each ping and receives each
pong, it writes and reads every Socket.IO packet that carries an ack id, it writes every
CONNECT_ERROR, and its engine emits ``connection_error`` for each refused request. The
wiring (``diagnostics_observer``) hands those facts to the accumulators below; each tick
it takes what accumulated and sends one ``sioscope:diagnostics`` message. Rules:

1. Nothing here does I/O or reads a clock: every method takes ``now_ms`` (epoch
   milliseconds) from the caller, as ``stream`` does, so every rule is testable line by
   line with made-up times.
2. Everything is bounded: a heartbeat window of ``HEARTBEAT_WINDOW`` samples per client,
   at most ``MAX_PENDING`` acks waited for, ``MAX_EXCHANGES`` exchanges and
   ``MAX_REFUSALS`` refusals between two ticks (the excess counted in ``dropped``).
3. Heartbeat round trip = the pong's arrival minus the ping's creation, per Engine.IO
   connection (the 12-character client id of the packet stream). A pong with no ping
   pending is ignored (the upgrade probe's pong carries ``"probe"`` and never pairs).
4. An exchange is an EVENT (or BINARY_EVENT) carrying an ack id and the ACK (or
   BINARY_ACK) with the same id, namespace and connection, in the other direction:
   direction ``"in"`` when the client asked (event in, ack out), ``"out"`` when the
   server asked. An event left unanswered ``ack_timeout_ms`` after it was seen becomes
   an exchange with ``elapsed`` None. The wire does not carry the emitter's own timeout
   (``socket.timeout(s)``), so the limit is one value for the whole server.
5. Percentiles are nearest-rank over the samples held (p50 of [1, 2, 3, 4] is 2).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from typing import Any

from sioscope.server.admin.protocol import (
    DisconnectCount,
    Exchange,
    HeartbeatSummary,
    LoopLag,
    Refusal,
)

__all__ = [
    "AckPairer",
    "DisconnectCounts",
    "HeartbeatTracker",
    "LagMeter",
    "Refusal",
    "RefusalLog",
    "parse_ack_head",
    "parse_connect_error",
    "percentile",
]

HEARTBEAT_WINDOW = 32
MAX_PENDING = 10_000
MAX_EXCHANGES = 1_000
MAX_REFUSALS = 1_000
RECENT_REFUSALS = 200
DEFAULT_ACK_TIMEOUT_MS = 10_000

DIRECTION_IN = "in"
DIRECTION_OUT = "out"

# The event name: the JSON string that opens the event's array.
_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"')
_CONNECT_ERROR = re.compile(r"4(?:(/[^,]*),)?(.*)", re.DOTALL)


def percentile(sorted_values: list[int] | list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list (rule 5)."""
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil without math
    return sorted_values[int(rank) - 1]


def parse_ack_head(data: str) -> tuple[bool, str, int, str | None] | None:
    """``(is_event, nsp, ack_id, event_name)`` of a Socket.IO packet with an ack id.

    None for every other packet (no id, another type, not parseable). ``event_name`` is
    None for acks, and for an event whose first argument is not a plain string. Plain
    string methods, no regex: this runs on every event and ack while anyone subscribes,
    and an event without an id (``2["x",…]``) is refused after two ``find`` calls."""
    kind = data[:1]
    if kind == "2" or kind == "3":
        i = 1
    elif kind == "5" or kind == "6":
        i = data.find("-", 1) + 1
        if i == 0:
            return None
    else:
        return None
    nsp = "/"
    if data.startswith("/", i):
        comma = data.find(",", i)
        if comma < 0:
            return None
        nsp = data[i:comma]
        i = comma + 1
    bracket = data.find("[", i)
    if bracket <= i:
        return None
    ack_id = data[i:bracket]
    if not (ack_id.isascii() and ack_id.isdigit()):
        return None
    if kind == "3" or kind == "6":
        return False, nsp, int(ack_id), None
    name: str | None = None
    if data.startswith('["', bracket):
        end = data.find('"', bracket + 2)
        if end > 0:
            name = data[bracket + 2 : end]
            if name.endswith("\\") or "\\" in name:  # an escape: read the whole string
                m = _NAME.match(data, bracket + 1)
                try:
                    name = json.loads(f'"{m.group(1)}"') if m is not None else None
                except ValueError:
                    name = None
    return True, nsp, int(ack_id), name


def parse_connect_error(data: str) -> tuple[str, str, Any] | None:
    """``(nsp, message, data)`` of a CONNECT_ERROR packet (``4[/nsp,]{...}``), else None."""
    m = _CONNECT_ERROR.match(data)
    if m is None:
        return None
    nsp, body = m.groups()
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        return None
    if isinstance(payload, dict):
        message = payload.get("message")
        return nsp or "/", message if isinstance(message, str) else "", payload.get("data")
    return nsp or "/", str(payload), None


def _ranks(window: int, fraction: float) -> list[int]:
    """Index of the nearest-rank percentile in a sorted list of each length 0..window
    (rule 5), so a summary reads it instead of computing it."""
    return [0] + [int(max(1, -(-n * fraction // 1))) - 1 for n in range(1, window + 1)]


class _Window:
    """One connection's last ``window`` round trips, in arrival order and sorted.

    The sorted copy is kept up to date on each pong (one ``insort`` and, once full, one
    ``bisect`` removal of the sample that falls out), so a summary reads three indexes
    instead of sorting: at 10,000 connections, 400 summaries a second had cost about a
    millisecond a second of sorting and percentile arithmetic."""

    __slots__ = ("at", "last", "order", "ring")

    def __init__(self) -> None:
        self.ring: list[int] = []  # arrival order; once full, ``at`` is the oldest
        self.order: list[int] = []  # the same samples, sorted
        self.at = 0
        self.last = 0

    def add(self, sample: int, window: int) -> None:
        ring, order = self.ring, self.order
        if len(ring) < window:
            ring.append(sample)
        else:
            at = self.at
            del order[bisect_left(order, ring[at])]
            ring[at] = sample
            self.at = at + 1 if at + 1 < window else 0
        insort(order, sample)
        self.last = sample


class HeartbeatTracker:
    """Ping -> pong round trips per connection over a window (rules 3 and 5)."""

    __slots__ = ("_changed", "_p50", "_p99", "_samples", "_sent", "window")

    def __init__(self, window: int = HEARTBEAT_WINDOW) -> None:
        self.window = window
        self._sent: dict[str, int] = {}  # client id -> ms its pending ping was created
        self._samples: dict[str, _Window] = {}
        self._changed: dict[str, None] = {}  # insertion-ordered set
        self._p50 = _ranks(window, 0.5)
        self._p99 = _ranks(window, 0.99)

    def ping(self, client_id: str, now_ms: int) -> None:
        """The server created a ping for ``client_id``."""
        self._sent[client_id] = now_ms

    def pong(self, client_id: str, now_ms: int) -> None:
        """A pong arrived from ``client_id``; pairs with its pending ping, if any."""
        sent = self._sent.pop(client_id, None)
        if sent is None:
            return
        samples = self._samples.get(client_id)
        if samples is None:
            samples = self._samples[client_id] = _Window()
        samples.add(now_ms - sent if now_ms > sent else 0, self.window)
        self._changed[client_id] = None

    def forget(self, client_id: str) -> None:
        """The connection closed: drop its state."""
        self._sent.pop(client_id, None)
        self._samples.pop(client_id, None)
        self._changed.pop(client_id, None)

    def summary(self, client_id: str) -> HeartbeatSummary | None:
        """``[clientId, last, p50, p99, samples]`` in milliseconds, None before a sample."""
        samples = self._samples.get(client_id)
        if samples is None:
            return None
        order = samples.order
        n = len(order)
        return [client_id, samples.last, order[self._p50[n]], order[self._p99[n]], n]

    def take_changed(self) -> list[HeartbeatSummary]:
        """Summaries of the connections with a new sample since the last call."""
        changed, self._changed = self._changed, {}
        return self._summaries(changed)

    def all(self) -> list[HeartbeatSummary]:
        """Every connection's summary (what a new subscriber starts from)."""
        return self._summaries(self._samples)

    def _summaries(self, client_ids: Iterable[str]) -> list[HeartbeatSummary]:
        # summary() inlined: this runs for every connection with a new sample each tick
        windows, p50, p99 = self._samples, self._p50, self._p99
        out: list[HeartbeatSummary] = []
        for cid in client_ids:
            w = windows.get(cid)
            if w is not None:
                order = w.order
                n = len(order)
                out.append([cid, w.last, order[p50[n]], order[p99[n]], n])
        return out


class LagMeter:
    """Event-loop lag: how late a timer of known period woke up, over a tick."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples: list[float] = []

    def sample(self, expected: float, actual: float) -> None:
        """A timer due at ``expected`` ran at ``actual`` (seconds, any clock)."""
        self._samples.append(max(0.0, (actual - expected) * 1000.0))

    def take(self) -> LoopLag | None:
        """``{last, max, p50, p99}`` in milliseconds since the last call, None if none."""
        samples = self._samples
        if not samples:
            return None
        self._samples = []
        ordered = sorted(samples)
        return {
            "last": round(samples[-1], 2),
            "max": round(ordered[-1], 2),
            "p50": round(percentile(ordered, 0.5), 2),
            "p99": round(percentile(ordered, 0.99), 2),
        }


class AckPairer:
    """Pairs events that carry an ack id with the acks that answer them (rule 4).

    The hot path (:meth:`message`, twice per acknowledged emit) only cuts the packet's
    ``[/nsp,]id`` reference out of its head and does one dict operation; the reference
    is decoded and the event's name read in :meth:`take`, once per exchange sent."""

    __slots__ = ("_done", "_pending", "dropped", "timeout_ms")

    def __init__(self, timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS) -> None:
        self.timeout_ms = timeout_ms
        # (client id, server asked, "[/nsp,]id") -> (ms seen, the event's packet);
        # insertion order is arrival order, so expiry looks at the front only.
        self._pending: dict[tuple[str, bool, str], tuple[int, str]] = {}
        # (ms seen, client id, server asked, the event's packet, elapsed ms or None)
        self._done: list[tuple[int, str, bool, str, int | None]] = []
        self.dropped = 0  # exchanges lost to the bounds since the last take

    def message(self, now_ms: int, client_id: str, outgoing: bool, data: str) -> None:
        """One Socket.IO text packet of ``client_id``, in or out."""
        kind = data[:1]
        if (kind == "2" or kind == "5") and len(self._done) >= MAX_EXCHANGES:
            # This tick's exchanges are full: a new question could not be reported, so
            # it is not even parsed (counted instead). Acks still pair, so an event
            # asked before does not show as unanswered.
            self.dropped += 1
            return
        if kind == "2" or kind == "3":
            i = 1
        elif kind == "5" or kind == "6":
            i = data.find("-", 1) + 1
            if i == 0:
                return
        else:
            return
        bracket = data.find("[", i)
        if bracket <= i or not data[bracket - 1].isdigit():
            return  # no id: "2[...", "2/nsp,[..."
        ref = data[i:bracket]
        if kind == "2" or kind == "5":
            pending = self._pending
            if len(pending) >= MAX_PENDING:
                del pending[next(iter(pending))]
                self.dropped += 1
            pending[(client_id, outgoing, ref)] = (now_ms, data)
            return
        # An ack answers an event that went the other way.
        asked = self._pending.pop((client_id, not outgoing, ref), None)
        if asked is not None:
            seen, event = asked
            self._record((seen, client_id, not outgoing, event, max(0, now_ms - seen)))

    def expire(self, now_ms: int) -> None:
        """Events unanswered for ``timeout_ms`` become exchanges with ``elapsed`` None."""
        pending = self._pending
        limit = now_ms - self.timeout_ms
        while pending:
            key = next(iter(pending))
            seen, event = pending[key]
            if seen > limit:
                break
            del pending[key]
            self._record((seen, key[0], key[1], event, None))

    @property
    def pending(self) -> int:
        """Events waiting for their ack."""
        return len(self._pending)

    def _record(self, done: tuple[int, str, bool, str, int | None]) -> None:
        if len(self._done) >= MAX_EXCHANGES:
            self.dropped += 1
            return
        self._done.append(done)

    def take(self) -> list[Exchange]:
        """Exchanges completed or expired since the last call, in wire form."""
        done, self._done = self._done, []
        out: list[Exchange] = []
        for seen, cid, server_asked, event, elapsed in done:
            head = parse_ack_head(event)
            if head is None:  # the cheap cut accepted what the parser does not
                continue
            _, nsp, ack_id, name = head
            direction = DIRECTION_OUT if server_asked else DIRECTION_IN
            out.append([seen, cid, direction, nsp, ack_id, name, elapsed])
        return out


class RefusalLog:
    """Refused and failed connections: the fresh ones since the last tick, and a short
    history a new subscriber starts from."""

    __slots__ = ("_fresh", "dropped", "recent", "total")

    def __init__(self) -> None:
        self._fresh: list[Refusal] = []
        self.recent: deque[Refusal] = deque(maxlen=RECENT_REFUSALS)
        self.total = 0
        self.dropped = 0

    def add(self, refusal: Refusal) -> None:
        """Record one refusal."""
        self.total += 1
        self.recent.append(refusal)
        if len(self._fresh) >= MAX_REFUSALS:
            self.dropped += 1
            return
        self._fresh.append(refusal)

    def history(self) -> list[Refusal]:
        """The recent refusals but those still to come in the next :meth:`take` (what a
        new subscriber starts from, so it sees none twice)."""
        recent = list(self.recent)
        return recent[: len(recent) - min(len(self._fresh), len(recent))]

    def take(self) -> list[Refusal]:
        """Refusals recorded since the last call."""
        fresh, self._fresh = self._fresh, []
        return fresh


class DisconnectCounts:
    """Socket disconnects per second and reason (Node's reason strings)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str], int] = {}

    def push(self, now_ms: int, reason: str) -> None:
        """One socket disconnected for ``reason``."""
        key = (now_ms - now_ms % 1000, reason)
        self._counts[key] = self._counts.get(key, 0) + 1

    def take(self) -> list[DisconnectCount]:
        """``{timestamp, reason, count}`` entries since the last call, in order."""
        out: list[DisconnectCount] = [
            {"timestamp": ts, "reason": reason, "count": count}
            for (ts, reason), count in self._counts.items()
        ]
        self._counts.clear()
        return out
