"""``server_stats.aggregatedEvents``: Node's EventBuffer, with a cheap hot path.

Node keys every count by ``(timestamp truncated to the second, type, subType)`` and
hands the whole buffer over (and clears it) at each stats tick. Packets in and out are
counted once per Engine.IO data packet, so this sits on the server's hottest path:
:meth:`EventBuffer.packet_in` / :meth:`EventBuffer.packet_out` only bump four integers
while the second does not change, and fold them into the keyed buffer when it does.
:func:`server_stats` assembles the whole payload from values the caller gathers.
"""

from __future__ import annotations

from typing import Any

from sioscope.server.admin import protocol


def byte_length(data: Any) -> int:
    """Node's ``Buffer.byteLength(data)``: UTF-8 length of text, length of bytes."""
    if isinstance(data, str):
        return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    if isinstance(data, bytes | bytearray | memoryview):
        return len(data)
    return 0


class EventBuffer:
    """Counts of engine events per second, handed over and cleared on each tick."""

    __slots__ = ("_buffer", "_bytes_in", "_bytes_out", "_pk_in", "_pk_out", "_second")

    def __init__(self) -> None:
        self._buffer: dict[tuple[int, str, str | None], int] = {}
        self._second = 0  # epoch ms of the second the fast counters belong to
        self._pk_in = self._bytes_in = self._pk_out = self._bytes_out = 0

    def push(self, now_ms: int, type_: str, sub_type: str | None = None, count: int = 1) -> None:
        """Add ``count`` to the ``(second, type, subType)`` entry (Node's ``push``)."""
        key = (now_ms - now_ms % 1000, type_, sub_type)
        self._buffer[key] = self._buffer.get(key, 0) + count

    def packet_in(self, now_ms: int, size: int) -> None:
        """One data packet received (Node: raw socket ``packet`` with data)."""
        if now_ms - self._second >= 1000 or now_ms < self._second:
            self._fold(now_ms)
        self._pk_in += 1
        self._bytes_in += size

    def packet_out(self, now_ms: int, size: int) -> None:
        """One data packet created (Node: raw socket ``packetCreate`` with data)."""
        if now_ms - self._second >= 1000 or now_ms < self._second:
            self._fold(now_ms)
        self._pk_out += 1
        self._bytes_out += size

    def _fold(self, now_ms: int | None) -> None:
        second = self._second
        if self._pk_in:
            self.push(second, protocol.AGG_PACKETS_IN, None, self._pk_in)
            self.push(second, protocol.AGG_BYTES_IN, None, self._bytes_in)
        if self._pk_out:
            self.push(second, protocol.AGG_PACKETS_OUT, None, self._pk_out)
            self.push(second, protocol.AGG_BYTES_OUT, None, self._bytes_out)
        self._pk_in = self._bytes_in = self._pk_out = self._bytes_out = 0
        if now_ms is not None:
            self._second = now_ms - now_ms % 1000

    def values_and_clear(self) -> list[protocol.AggregatedEvent]:
        """Node's ``getValuesAndClear``: entries in insertion order; ``subType`` only if set."""
        self._fold(None)
        out: list[protocol.AggregatedEvent] = []
        for (ts, type_, sub_type), count in self._buffer.items():
            if sub_type is None:
                out.append({"timestamp": ts, "type": type_, "count": count})
            else:
                out.append({"timestamp": ts, "type": type_, "subType": sub_type, "count": count})
        self._buffer.clear()
        return out


def server_stats(
    *,
    server_id: str,
    hostname: str,
    pid: int,
    uptime: float,
    clients: int,
    polling_clients: int,
    events: EventBuffer,
    namespaces: list[protocol.NamespaceStats],
) -> protocol.ServerStats:
    """One ``server_stats`` payload in Node's key order; hands ``events`` over (clears it).

    The counts are clamped at zero: a connection closing while it is being identified as
    an admin one must not show as a negative count."""
    return {
        "serverId": server_id,
        "hostname": hostname,
        "pid": pid,
        "uptime": uptime,
        "clientsCount": max(0, clients),
        "pollingClientsCount": max(0, polling_clients),
        "aggregatedEvents": events.values_and_clear(),
        "namespaces": namespaces,
    }
