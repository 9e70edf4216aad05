"""The live inspector's memory of what it received, so its export is a capture.

``sioscope record`` writes each admin event as it arrives; the TUI keeps the same
events in a :class:`Journal` instead, and ctrl+s writes them in the capture format
(``inspector/capture.py``), which ``sioscope open`` and ``sioscope replay`` read. Rules:

1. An event is kept as received, ``(epoch_ms, event, args_json)``: the arguments as
   compact JSON text, written at once, because the model later merges updates into the
   very dicts a snapshot handed it (and text is a fraction of the objects' memory).
2. At most ``limit`` events and ``max_bytes`` of their text (a busy packet stream is
   ~1 MB a second); past either, the oldest go and are counted in ``lost``, which
   the export's header reports. The first snapshot (``config`` and the ``all_sockets``
   or snapshot pages before the first other event) is kept apart and never dropped, so
   an export always starts from a socket list.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

DEFAULT_LIMIT = 200_000
"""Events kept at most."""
DEFAULT_MAX_BYTES = 256 << 20
"""Text kept at most: minutes of a saturated stream with payloads, hours of a quiet one."""

_HEAD_EVENTS = frozenset(
    {"session", "config", "all_sockets", "sioscope:snapshot", "sioscope:snapshot_page"}
)


class Journal:
    """Every admin event received, bounded (module rules)."""

    def __init__(self, limit: int = DEFAULT_LIMIT, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.head: list[tuple[int, str, str]] = []
        self.events: deque[tuple[int, str, str]] = deque()
        self.bytes = 0
        """Characters of argument text held in ``events``."""
        self.lost = 0
        self._in_head = True

    def add(self, at_ms: int, event: str, args: list[Any]) -> None:
        text = json.dumps(args, separators=(",", ":"), default=str)
        if self._in_head and event in _HEAD_EVENTS:
            self.head.append((at_ms, event, text))
            return
        self._in_head = False
        self.events.append((at_ms, event, text))
        self.bytes += len(text)
        while len(self.events) > self.limit or (
            self.bytes > self.max_bytes and len(self.events) > 1
        ):
            self.bytes -= len(self.events.popleft()[2])
            self.lost += 1

    def __len__(self) -> int:
        return len(self.head) + len(self.events)

    def all(self) -> list[tuple[int, str, list[Any]]]:
        """Every kept event, oldest first, its arguments parsed back."""
        return [(at, event, json.loads(text)) for at, event, text in (*self.head, *self.events)]
