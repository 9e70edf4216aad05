"""The packet log: a bounded ring of packet records and one filtered, pausable view.

Kept apart from the model because its costs are its own: up to 100k records, a filter
applied once per filter change and then once per new record, and a paused view that
keeps counting what it would have shown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from sioscope.inspector.filtering import Filter
from sioscope.inspector.records import PacketRecord, SocketInfo

_PACKET_PROBE = PacketRecord(0.0, "", "", "", 0, None)


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
        self.show_engine = False
        """Engine.IO-only records (ping, pong, noop, upgrade probes, drains) in the view."""
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
            if rec.engine_only and not self.show_engine:
                continue
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
        self._refilter()

    def set_show_engine(self, show: bool) -> None:
        """Show or hide the Engine.IO-only records (the whole ring is filtered again)."""
        self.show_engine = show
        self._refilter()

    def _refilter(self) -> None:
        flt, engine = self.filter, self.show_engine
        self.view = deque(
            (
                r
                for r in self.records
                if (engine or not r.engine_only) and (not flt or flt.matches(r))
            ),
            self.capacity,
        )
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
