"""Per-second time series for the dashboard sparklines.

Counts (bytes, packets, connections) add up within a second and end at the last second
reported complete (``cover``); gauges (clients now) keep their last level through
seconds without a sample. Old seconds are trimmed in batches
so adding a sample stays cheap.
"""

from __future__ import annotations

SERIES_LENGTH = 60
"""Per-second buckets kept for the dashboard sparklines."""


class Series:
    """Per-second counters for the last ``SERIES_LENGTH`` seconds, for sparklines."""

    def __init__(self, length: int = SERIES_LENGTH, gauge: bool = False) -> None:
        self.length = length
        self.gauge = gauge
        """A level (clients now), not a count: a second without a sample keeps the last."""
        self.buckets: dict[int, float] = {}
        self.covered: int | None = None
        """The last second known complete (a count): the seconds after it are not reported
        yet, so they are not shown as zero (``server_stats`` come every 2 s)."""

    def add(self, second: int, count: float) -> None:
        self.buckets[second] = self.buckets.get(second, 0.0) + count
        if len(self.buckets) > self.length * 2:
            for key in sorted(self.buckets)[: -self.length]:
                del self.buckets[key]

    def set(self, second: int, value: float) -> None:
        self.buckets[second] = value

    def cover(self, second: int) -> None:
        """Every count up to ``second`` has been reported."""
        if self.covered is None or second > self.covered:
            self.covered = second

    def _end(self, now: float) -> int:
        end = int(now) - 1
        if not self.gauge and self.covered is not None and self.covered < end:
            return self.covered
        return end

    def values(self, now: float) -> list[float]:
        """Oldest first; the current (incomplete) second is left out."""
        end = self._end(now)
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
        """The last complete second's value (for a count, the last reported one)."""
        return self.buckets.get(self._end(now), 0.0)
