"""What the app's flush hands the view on screen, and what a view must answer.

The app owns the ~10 Hz flush; each view (``sioscope.inspector.widgets``) decides for
itself what a flush means for it, from one :class:`Frame`. Rules:

1. ``changed`` holds the ids of the sockets that changed since the last flush that
   reached a view; the app starts a new set after each, so a view may keep the one it
   was given.
2. ``tick`` is True on the first flush of each wall-clock second (ages, rates and
   sparklines move on) and on the first flush after the view was shown, which therefore
   redraws whole.
3. A view keeps its own memo of what it last drew and skips a flush that would draw
   the same; :meth:`View.invalidate` forgets the memo (the view was just shown, or a filter
   changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sioscope.inspector.records import SocketInfo


@dataclass(frozen=True, slots=True)
class Frame:
    """One flush, as seen by the view on screen."""

    now: float
    """The model's clock."""
    tick: bool
    """Rule 2."""
    dirty: bool
    """The model or the app changed since the previous flush."""
    changed: set[str]
    """Rule 1."""
    structural: bool
    """Sockets came or went since the previous flush."""


@runtime_checkable
class View(Protocol):
    """A main view of the app (one of the ``ContentSwitcher``'s children)."""

    def sync(self, frame: Frame) -> None:
        """Bring what is drawn up to date with the model (rule 3)."""

    def invalidate(self) -> None:
        """Forget the memo: the next :meth:`sync` draws (rule 3)."""

    def selected_socket(self) -> SocketInfo | None:
        """The socket under the cursor, if the view has one."""

    def selected_room(self) -> tuple[str, str] | None:
        """``(namespace, room)`` under the cursor, if the view has one."""


@runtime_checkable
class Filterable(Protocol):
    """A view with a filter of its own (the Exchanges and Errors views): ``/`` edits it
    instead of the socket filter."""

    @property
    def filter_expression(self) -> str:
        """The filter now ("" when none)."""

    def set_filter(self, expression: str) -> None:
        """Compile and apply; raises ``FilterError`` and keeps the previous filter."""

    def filter_summary(self) -> str:
        """What the banner says while the filter is on (``filter: … (12 shown)``)."""
