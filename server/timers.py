"""Timer lists: one loop timer per duration, however many connections wait on it.

Every connection waits on the same few durations (its heartbeat's ``ping_interval``
and ``ping_timeout``, the Socket.IO ``connect_timeout``); with a ``loop.call_later``
each, a server holds one ``TimerHandle`` per connection and duration (with uvloop, a
libuv timer, a context copy and a bound method: about 560 bytes and four objects the
collector walks), and pays for a timer per handshake and per heartbeat. Node's timers
(``lib/internal/timers.js``) keep one list per duration instead, since timers of one
duration fire in the order they were started; so does this module.

Rules:

1. A ``TimerList`` has one ``duration``. ``add(fn, arg)`` returns a ``Timer`` due
   ``duration`` seconds from now (the loop's clock), which calls ``fn(arg)`` then,
   unless ``timer.cancel()`` was called first (the ``TimerHandle`` surface its callers
   use). Entries are due in the order they were added, so the list is a queue and only
   its head has a loop timer.
2. Due timers run in due order from that one loop timer, each at most once; a callback
   that raises is logged, and the rest still run.
3. A cancelled timer leaves the list at once (the queue is an ordered dict: removal
   from anywhere is O(1), as from Node's linked lists), so a storm of handshakes whose
   connect timeouts are cancelled a millisecond later leaves nothing queued for the
   next 45 seconds. A list holds one ``Timer`` of four slots per waiting entry.
4. A list belongs to the loop it was made on; its owner (the EngineServer) makes it
   on first use from that loop (``EngineServer.timer_list``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["Timer", "TimerList"]

log = logging.getLogger("sioscope")

_EARLY = 0.001
"""A timer this close to due runs now: the loop's timers have millisecond resolution,
so the loop timer may fire a fraction of a millisecond before the head is due."""


class Timer:
    """One entry of a ``TimerList`` (rule 1): ``cancel()`` as a ``TimerHandle``'s."""

    __slots__ = ("arg", "due", "fn", "queue")

    def __init__(
        self,
        due: float,
        fn: Callable[[Any], object],
        arg: object,
        queue: OrderedDict[Timer, None],
    ) -> None:
        self.due = due
        self.fn: Callable[[Any], object] | None = fn
        self.arg: object = arg
        self.queue: OrderedDict[Timer, None] | None = queue  # its list's, while queued

    def cancel(self) -> None:
        """Never call it: it leaves its list now (rule 3) and drops what it holds."""
        queue = self.queue
        if queue is not None:
            self.queue = None
            queue.pop(self, None)
        self.fn = None
        self.arg = None

    def cancelled(self) -> bool:
        """Whether ``cancel`` was called (or the timer already fired)."""
        return self.fn is None

    def when(self) -> float:
        """When it is due, on the loop's clock."""
        return self.due


class TimerList:
    """Timers of one duration on one loop; see the module rules."""

    __slots__ = ("_entries", "_handle", "duration", "loop")

    def __init__(self, duration: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.duration = float(duration)
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._entries: OrderedDict[Timer, None] = OrderedDict()
        self._handle: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """Timers waiting (cancelled ones are gone: rule 3)."""
        return len(self._entries)

    def add(self, fn: Callable[[Any], object], arg: object) -> Timer:
        """A timer calling ``fn(arg)`` ``duration`` seconds from now (rule 1)."""
        entries = self._entries
        timer = Timer(self.loop.time() + self.duration, fn, arg, entries)
        entries[timer] = None
        if self._handle is None:
            self._handle = self.loop.call_at(timer.due, self._run)
        return timer

    def _run(self) -> None:
        self._handle = None
        entries = self._entries
        now = self.loop.time() + _EARLY
        while entries:
            timer = next(iter(entries))
            if timer.due > now:
                break
            del entries[timer]
            fn, arg = timer.fn, timer.arg
            timer.fn = timer.arg = timer.queue = None
            if fn is None:  # pragma: no cover - a cancelled timer has left the queue
                continue
            try:
                fn(arg)
            except Exception:  # one bad callback must not stop the timers due after it
                log.exception("timer callback %r failed", fn)
        if entries and self._handle is None:
            self._handle = self.loop.call_at(next(iter(entries)).due, self._run)

    def close(self) -> None:
        """Cancel every timer and the loop timer (the owner is closing)."""
        for timer in list(self._entries):
            timer.cancel()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
