"""``sioscope open FILE``: a capture browsed offline in the inspector's own views, with a
time cursor.

Rules:

1. The views are the live app's (:class:`InspectorApp`, read-only, no client); only the
   model's feed differs: the capture's events up to the cursor
   (``capture.replay``), never the network.
2. The cursor moves forward by applying the events in between; it moves back by
   rebuilding the model from the start up to the new time (a capture is replayed in
   milliseconds per thousand events, and the model has no undo).
3. Play advances the cursor by the real time elapsed since the previous tick (a tick
   every ``TICK`` seconds) times the speed (1x or 10x), so a loaded machine plays late
   frames, not a slower capture; it stops at the end. The keys are data
   (``keys.CAPTURE_KEYS``).
4. The model's clock is the capture's: its start plus the cursor, so ages, rates and
   server health read as they did at that moment, not as of today.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual.binding import BindingType

from sioscope.inspector import keys as keymod
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.capture import Capture, replay
from sioscope.inspector.model import Model

TICK = 0.1
SPEEDS = (1, 10)


class CaptureApp(InspectorApp):
    """The inspector over a capture (module rules)."""

    BINDINGS: ClassVar[list[BindingType]] = keymod.capture_bindings()

    def __init__(self, capture: Capture, *, name: str, flush_interval: float = 0.1) -> None:
        self.capture = capture
        self.cursor_ms = -1
        super().__init__(
            Model(clock=self.capture_clock),
            None,
            readonly=True,
            source=name,
            flush_interval=flush_interval,
        )
        self.capture_name = name
        self.applied = 0
        self._played_at = 0.0
        self.playing = False
        self.speed = SPEEDS[0]
        self.seek(capture.events[0][0] if capture.events else 0)

    def capture_clock(self) -> float:
        """Rule 4: the capture's time at the cursor, epoch seconds."""
        started = self.capture.header.get("started")
        base = started / 1000 if isinstance(started, int | float) else 0.0
        return base + max(0, self.cursor_ms) / 1000

    def capture_for_export(self) -> Capture | None:
        """ctrl+s here writes the capture being browsed, whole."""
        return self.capture

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(TICK, self._tick)

    # -- the cursor (rule 2)

    def seek(self, ms: int) -> None:
        """Show the capture as it was ``ms`` milliseconds after its start."""
        ms = max(-1, min(ms, self.capture.duration_ms))
        model = self.model
        if ms < self.cursor_ms:
            version, rooms = model.sockets_version, model.rooms_version
            Model.__init__(model, clock=self.capture_clock)  # the views hold this object
            model.sockets_version = version + 1  # past every version a view has drawn
            model.rooms_version = rooms + 1
            self.applied = 0
        self.applied = replay(self.capture, model, until_ms=ms, start=self.applied)
        self.cursor_ms = ms
        model.structure_changed = True
        self.source = self.position()
        self.mark_dirty()

    def position(self) -> str:
        """What the status bar shows: the file, the cursor, play state and speed."""
        total = self.capture.duration_ms / 1000
        now = max(0, self.cursor_ms) / 1000
        state = f"▶ {self.speed}x" if self.playing else "❚❚"
        events = f"{self.applied}/{len(self.capture.events)} events"
        return f"capture {self.capture_name}  {now:.1f}s / {total:.1f}s  {state}  {events}"

    def action_cursor_step(self, direction: int) -> None:
        """To the next event's time, or back to the one before the last applied."""
        events = self.capture.events
        if direction > 0:
            if self.applied < len(events):
                self.seek(events[self.applied][0])
        else:
            self.seek(events[self.applied - 2][0] if self.applied >= 2 else -1)

    def action_cursor_jump(self, seconds: int) -> None:
        self.seek(self.cursor_ms + seconds * 1000)

    def action_cursor_play(self) -> None:
        self.playing = not self.playing
        self._played_at = time.monotonic()
        if self.playing and self.cursor_ms >= self.capture.duration_ms:
            self.seek(-1)  # play again from the start
        self.source = self.position()
        self.mark_dirty()

    def action_cursor_speed(self) -> None:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self.source = self.position()
        self.mark_dirty()

    def _tick(self) -> None:
        if not self.playing:
            return
        now = time.monotonic()
        elapsed, self._played_at = now - self._played_at, now
        self.seek(self.cursor_ms + round(elapsed * 1000 * self.speed))
        if self.cursor_ms >= self.capture.duration_ms:
            self.playing = False
            self.source = self.position()
