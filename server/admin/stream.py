"""The opt-in Engine.IO packet stream, sans-I/O: a shared record ring and cursors.

Theory of operation
-------------------
Every Engine.IO event we stream (a packet in or out, a drain, an upgrade, a close)
becomes one *raw record* appended to one shared ring, :class:`PacketLog`. The hot path
(one call per packet, on the server's read and write paths) is therefore a tuple
build and a list store, whatever the number of admin subscribers. The costly part,
turning a raw record into its wire form (UTF-8 size, text preview), happens only for
records that are actually sent, at batch time.

Each subscribed admin socket owns a :class:`Subscriber`: a cursor into the ring. The
window between its cursor and the ring's head *is* its bounded queue:

1. The ring holds at most ``capacity`` records. A subscriber whose cursor fell behind
   the oldest kept record has lost the records in between; they are counted in its
   ``dropped`` and the cursor jumps forward. Memory never depends on how slow a
   subscriber is.
2. A subscriber gets at most one batch per ``interval`` seconds (about 10 a second)
   and at most ``max_batch`` records in a batch.
3. A subscriber with a batch in flight (handed to its connection, not yet drained)
   gets nothing more until :meth:`Subscriber.ack` (its connection drained: the batch
   reached the transport). Meanwhile the ring keeps moving and its backlog turns into
   ``dropped``. So a slow admin client holds at most one batch in the server's write
   buffer, however slow it is; a stuck one is closed by the heartbeat.
4. ``seq`` starts at 1 with the first batch after a (re)subscribe or a resync and
   grows by one per batch. A client that sees a jump, or ``dropped > 0``, lost
   records and may ask for a resync.

Nothing here does I/O or reads a clock: callers pass ``now`` (seconds, monotonic) so
the rules above are testable line by line.
"""

from __future__ import annotations

from typing import Any, cast

from sioscope.server.admin.protocol import PacketBatch, WireRecord

PREVIEW_CHARS = 120
DEFAULT_CAPACITY = 20_000
DEFAULT_MAX_BATCH = 1_000
DEFAULT_INTERVAL = 0.1

# (ts_ms, client_id, kind, type, data): data is the packet payload (str, bytes or
# None), kept raw so the hot path never measures or slices it.
RawRecord = tuple[int, str, str, str | None, Any]


def wire_record(raw: RawRecord) -> WireRecord:
    """The compact wire form ``[ts_ms, clientId, kind, type, size, preview]``."""
    ts, cid, kind, ptype, data = raw
    if type(data) is str:  # the common case first: a text packet
        size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
        return [ts, cid, kind, ptype, size, data[:PREVIEW_CHARS]]
    if data is None:
        return [ts, cid, kind, ptype, 0, None]
    if isinstance(data, _BINARY):
        return [ts, cid, kind, ptype, len(data), None]
    if isinstance(data, str):
        return [
            ts,
            cid,
            kind,
            ptype,
            len(data.encode("utf-8", "surrogatepass")),
            data[:PREVIEW_CHARS],
        ]
    return [ts, cid, kind, ptype, 0, None]


_BINARY = (bytes, bytearray, memoryview)


class PacketLog:
    """A fixed-size ring of raw records, indexed by a global, ever-growing position."""

    __slots__ = ("_buf", "capacity", "head", "hidden")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._buf: list[RawRecord | None] = [None] * capacity
        self.head = 0  # position the next record gets
        # Client ids whose records are never sent (found out to be admin connections
        # after their first packets were already recorded); see :meth:`hide`.
        self.hidden: dict[str, None] = {}

    def hide(self, client_id: str, keep: int = 4096) -> None:
        """Never send ``client_id``'s records; remembers the latest ``keep`` ids only."""
        self.hidden[client_id] = None
        while len(self.hidden) > keep:
            del self.hidden[next(iter(self.hidden))]

    def append(self, record: RawRecord) -> None:
        """Store one record, overwriting the oldest once full (the hot path)."""
        self._buf[self.head % self.capacity] = record
        self.head += 1

    @property
    def oldest(self) -> int:
        """Position of the oldest record still held."""
        return max(0, self.head - self.capacity)

    def read(self, start: int, limit: int) -> tuple[list[RawRecord], int, int]:
        """Records from ``start`` (at most ``limit``): ``(records, lost, next_start)``.

        ``lost`` counts the records between ``start`` and the oldest one still held.
        """
        lost = 0
        oldest = self.oldest
        if start < oldest:
            lost = oldest - start
            start = oldest
        end = min(self.head, start + max(0, limit))
        buf, cap = self._buf, self.capacity
        records = [buf[i % cap] for i in range(start, end)]
        # Every slot from oldest to head has been written, so none of these is None.
        return cast(list[RawRecord], records), lost, end


class Subscriber:
    """One admin socket's position in the stream and its pacing state."""

    __slots__ = (
        "_dropped",
        "_in_flight_since",
        "_last_sent",
        "cursor",
        "interval",
        "log",
        "max_batch",
        "seq",
        "total_dropped",
    )

    def __init__(
        self,
        log: PacketLog,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.log = log
        self.max_batch = max_batch
        self.interval = interval
        self.cursor = log.head
        self.seq = 0
        self.total_dropped = 0
        self._dropped = 0
        self._last_sent: float | None = None
        self._in_flight_since: float | None = None

    def restart(self) -> None:
        """Start a new sequence at the current head (a resync): old records are skipped."""
        self.cursor = self.log.head
        self.seq = 0
        self._dropped = 0
        self._in_flight_since = None

    def ack(self) -> None:
        """The previous batch left the server (its connection drained)."""
        self._in_flight_since = None

    def poll(self, now: float) -> PacketBatch | None:
        """The next batch if one is due now, else None (rules 1 to 3 of the module doc)."""
        if self._in_flight_since is not None:
            self._account_lag()
            return None
        if self._last_sent is not None and now - self._last_sent < self.interval:
            self._account_lag()
            return None
        raw, lost, self.cursor = self.log.read(self.cursor, self.max_batch)
        self._dropped += lost
        if not raw and not self._dropped:
            return None
        self.seq += 1
        batch: PacketBatch = {
            "seq": self.seq,
            "dropped": self._dropped,
            "records": [wire_record(r) for r in raw if r[1] not in self.log.hidden],
        }
        self.total_dropped += self._dropped
        self._dropped = 0
        self._last_sent = now
        self._in_flight_since = now
        return batch

    def _account_lag(self) -> None:
        """Turn records that already fell off the ring into ``dropped`` right away."""
        oldest = self.log.oldest
        if self.cursor < oldest:
            self._dropped += oldest - self.cursor
            self.cursor = oldest
