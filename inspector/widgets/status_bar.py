"""The status bar: connection, servers, socket count and warnings, fitted to the width.

A one-line ``Static`` cuts at the right edge, and the right end held what matters most
when it shows (``READ-ONLY``, lost packets). Rules:

1. The App hands over parts (:class:`Part`) in display order, each with a rank, maybe a
   short form, and whether it may leave the line.
2. When the line is wider than the bar: the separators tighten first, then parts take
   their short form, then the droppable parts leave, each step from the highest rank
   down, so the connection state, the socket count and the warnings stay.
3. The bar refits itself on resize; the App never measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.events import Resize
from textual.widgets import Static

WIDE, NARROW = "  │  ", " │ "


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of the status line (Rich markup)."""

    text: str
    short: str | None = None
    """A shorter form for a narrow bar (None: the text itself)."""
    rank: int = 0
    """Higher ranks shorten and leave first."""
    droppable: bool = False
    """May leave the line altogether (after every part took its short form)."""


def cells(markup: str) -> int:
    return Text.from_markup(markup).cell_len


def fit_status(parts: Sequence[Part], width: int) -> str:
    """The line to show in ``width`` cells (rule 2); the bar's padding is the caller's."""
    texts = [p.text for p in parts]
    keep = [True] * len(parts)

    def line(sep: str) -> str:
        return sep.join(t for t, k in zip(texts, keep, strict=True) if k)

    if cells(line(WIDE)) <= width:
        return line(WIDE)
    by_rank = sorted(range(len(parts)), key=lambda i: -parts[i].rank)
    for i in by_rank:
        if cells(line(NARROW)) <= width:
            return line(NARROW)
        short = parts[i].short
        if short is not None:
            texts[i] = short
    for i in by_rank:
        if cells(line(NARROW)) <= width:
            break
        if parts[i].droppable:
            keep[i] = False
    return line(NARROW)


class StatusBar(Static):
    """Shows the last parts it was given, refitted to its width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: tuple[Part, ...] = ()
        self.shown = ""

    def show(self, parts: Sequence[Part]) -> None:
        self.parts = tuple(parts)
        self._refit()

    def _refit(self) -> None:
        width = self.content_region.width or self.app.size.width - 2
        text = fit_status(self.parts, width)
        if text != self.shown:
            self.shown = text
            self.update(text, layout=False)  # one line, always: no layout pass

    def on_resize(self, event: Resize) -> None:
        self._refit()
