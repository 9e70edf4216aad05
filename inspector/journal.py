"""The live inspector's memory of what it received, so its export is a capture.

``sioscope record`` writes each admin event as it arrives; the TUI keeps the same
events in a :class:`Journal` instead, and ctrl+s writes them in the capture format
(``inspector/capture.py``), which ``sioscope open`` and ``sioscope replay`` read. Rules:

1. An event is kept as received, ``(epoch_ms, event, args_json)``: the arguments as
   compact JSON text, written at once, because the model later merges updates into the
   very dicts a snapshot handed it (and text is a fraction of the objects' memory).
2. At most ``limit`` events; past it the oldest go and are counted in ``lost``, which
   the export's header reports. The first snapshot (``config`` and the ``all_sockets``
   or snapshot pages before the first other event) is kept apart and never dropped, so
   an export always starts from a socket list.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

DEFAULT_LIMIT = 200_000
"""~5.5 hours of a full packet stream (10 batches a second) plus the socket events."""

_HEAD_EVENTS = frozenset(
    {"session", "config", "all_sockets", "sioscope:snapshot", "sioscope:snapshot_page"}
)


class Journal:
    """Every admin event received, bounded (module rules)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.head: list[tuple[int, str, str]] = []
        self.events: deque[tuple[int, str, str]] = deque(maxlen=limit)
        self.lost = 0
        self._in_head = True

    def add(self, at_ms: int, event: str, args: list[Any]) -> None:
        text = json.dumps(args, separators=(",", ":"), default=str)
        if self._in_head and event in _HEAD_EVENTS:
            self.head.append((at_ms, event, text))
            return
        self._in_head = False
        if len(self.events) == self.limit:
            self.lost += 1
        self.events.append((at_ms, event, text))

    def __len__(self) -> int:
        return len(self.head) + len(self.events)

    def all(self) -> list[tuple[int, str, list[Any]]]:
        """Every kept event, oldest first, its arguments parsed back."""
        return [(at, event, json.loads(text)) for at, event, text in (*self.head, *self.events)]
