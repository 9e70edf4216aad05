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

5. A subscriber that asked for payloads (``{"packets": true, "payloads": true}``) gets
   two more fields per record (:func:`full_record`): the whole payload (text as is,
   binary as ``{"base64": ...}``, ``None`` past ``PAYLOAD_LIMIT``) and, for an out
   message, a fan-out id: the ring position of the first record written from the same
   encoding (a broadcast encodes once and hands every recipient the very same object),
   so the records of one broadcast share it and a single emit has its own; ``None``
   for the other records. Its batches also stop at
   ``MAX_BATCH_PAYLOAD`` bytes of payload, so a batch stays bounded in bytes too.

Nothing here does I/O or reads a clock: callers pass ``now`` (seconds, monotonic) so
the rules above are testable line by line.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from sioscope.server.admin.protocol import PacketBatch, WireRecord

PREVIEW_CHARS = 120
DEFAULT_CAPACITY = 20_000
DEFAULT_MAX_BATCH = 1_000
DEFAULT_INTERVAL = 0.1
PAYLOAD_LIMIT = 64 * 1024
"""The largest payload sent whole to a payload subscriber (bytes); past it, ``None``."""
MAX_BATCH_PAYLOAD = 1 << 20
"""Payload bytes after which a payload subscriber's batch ends (rule 5)."""

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


def full_record(raw: RawRecord, fanout: int | None) -> tuple[WireRecord, int]:
    """Rule 5: ``[ts_ms, clientId, kind, type, size, preview, payload, fanout]``, and the
    payload's byte count (what the batch budget counts)."""
    record = wire_record(raw)
    data = raw[4]
    size = record[4]
    payload: Any = None
    if size <= PAYLOAD_LIMIT:
        if isinstance(data, str):
            payload = data
        elif isinstance(data, _BINARY):
            payload = {"base64": base64.b64encode(bytes(data)).decode("ascii")}
    record.append(payload)
    record.append(fanout)
    return record, size if payload is not None else 0


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
        "_shared",
        "cursor",
        "interval",
        "log",
        "max_batch",
        "payloads",
        "seq",
        "total_dropped",
    )

    def __init__(
        self,
        log: PacketLog,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        interval: float = DEFAULT_INTERVAL,
        payloads: bool = False,
    ) -> None:
        self.log = log
        self.payloads = payloads
        """Rule 5: whole payloads and fan-out ids."""
        self._shared: dict[int, tuple[int, Any]] = {}
        """id(payload) -> (fan-out id, the payload: held so the id stays its own), for
        the out messages of the latest batch (a broadcast may span two batches)."""
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
        hidden = self.log.hidden
        if self.payloads:
            records = self._full_records(raw, self.cursor - len(raw))
        else:
            records = [wire_record(r) for r in raw if r[1] not in hidden]
        self.seq += 1
        batch: PacketBatch = {"seq": self.seq, "dropped": self._dropped, "records": records}
        self.total_dropped += self._dropped
        self._dropped = 0
        self._last_sent = now
        self._in_flight_since = now
        return batch

    def _full_records(self, raw: list[RawRecord], first: int) -> list[WireRecord]:
        """Rule 5 for one batch read from position ``first``; moves the cursor back to
        the first record past the byte budget, which the next batch starts with."""
        hidden = self.log.hidden
        seen = self._shared
        shared: dict[int, tuple[int, Any]] = {}
        out: list[WireRecord] = []
        budget = MAX_BATCH_PAYLOAD
        for n, rec in enumerate(raw):
            if budget <= 0:
                self.cursor = first + n
                break
            if rec[1] in hidden:
                continue
            fanout: int | None = None
            data = rec[4]
            if rec[2] == "out" and rec[3] == "message" and data is not None and len(data) > 1:
                # Every out message names the first record written from its encoding
                # (itself, most often). Short constants ("1", a bare DISCONNECT) may be
                # one interned object for unrelated packets, hence the length test.
                key = id(data)
                known = shared.get(key) or seen.get(key)
                if known is None or known[1] is not data:
                    known = (first + n, data)
                shared[key] = known
                fanout = known[0]
            record, used = full_record(rec, fanout)
            out.append(record)
            budget -= used
        self._shared = shared
        return out

    def _account_lag(self) -> None:
        """Turn records that already fell off the ring into ``dropped`` right away."""
        oldest = self.log.oldest
        if self.cursor < oldest:
            self._dropped += oldest - self.cursor
            self.cursor = oldest
