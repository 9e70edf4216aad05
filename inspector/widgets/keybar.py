"""Which keys the footer shows, fitted to the terminal: ``? Help`` and ``q Quit`` always.

Textual's ``Footer`` lays every shown binding out in a row and cuts what does not fit,
so at 80 columns the two keys a new user needs first (``?`` and ``q``, at the end of the
key table) were the ones cut. Rules:

1. The keys are the screen's active bindings with ``show`` set, in the key table's order
   (``keys``), one entry per action, as Textual's footer shows them.
2. A key bound by the screen or a widget on it (``esc Back``, ``n Cancel``) and the
   App's ``help`` and ``quit`` keys always stay.
3. When they do not all fit, the view keys (``1`` … ``7``) become one ``1-7 Views``
   entry; if that is not enough, disabled keys leave first, then the others from the end
   of the row, until the rest fits; the palette key (``^p``) shows only when there is
   room for it too. Whatever leaves is still in the help screen and the palette.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.binding import ActiveBinding, Binding

ALWAYS = frozenset({"help", "quit"})
"""Binding ids of the App that stay on the bar at any width (rule 2)."""
PALETTE_ROOM = 14
"""Cells the palette key needs at the right end (``^p Palette`` and its margin)."""


def item_width(key_display: str, description: str) -> int:
    """Cells one key takes on a (non-compact) footer: `` k desc `` and its padding."""
    return len(key_display) + len(description) + 3


def fit(items: list[tuple[int, bool, bool]], width: int) -> list[int]:
    """Indexes of the items that stay (rule 3); an item is (cells, enabled, always)."""
    keep = list(range(len(items)))
    used = sum(w for w, _, _ in items)
    for pass_disabled in (True, False):
        for i in reversed(list(keep)):
            if used <= width:
                return keep
            cells, enabled, always = items[i]
            if always or (pass_disabled and enabled):
                continue
            keep.remove(i)
            used -= cells
    return keep


@dataclass(frozen=True, slots=True)
class Shown:
    """One key the bar shows: the binding it runs and the label it shows."""

    binding: Binding
    key_display: str
    description: str
    enabled: bool
    tooltip: str


def fitted_keys(
    active: Mapping[str, ActiveBinding], app: App[Any], width: int
) -> tuple[list[Shown], ActiveBinding | None]:
    """The keys to show in ``width`` cells (rules 1-3), and the palette key if it fits.

    Pure over the screen's ``active_bindings``: any footer widget (this one recomposes,
    a faster one may update in place) shows exactly these."""
    seen: set[str] = set()
    entries: list[tuple[Binding, bool, str, bool]] = []
    for node, binding, enabled, tooltip in active.values():
        if not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        always = node is not app or (binding.id or "") in ALWAYS
        entries.append((binding, enabled, tooltip, always))
    labels = [(app.get_key_display(b), b.description) for b, _, _, _ in entries]
    if sum(item_width(k, d) for k, d in labels) > width:
        entries, labels = _views_as_one(entries, labels)
    cells = [
        (item_width(*label), enabled, always)
        for label, (_, enabled, _, always) in zip(labels, entries, strict=True)
    ]
    keep = fit(cells, width)
    palette = None
    if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        palette = active[app.COMMAND_PALETTE_BINDING]
        if sum(cells[i][0] for i in keep) + PALETTE_ROOM > width:
            palette = None
    shown = [
        Shown(entries[i][0], labels[i][0], labels[i][1], entries[i][1], entries[i][2]) for i in keep
    ]
    return shown, palette


def _views_as_one(
    entries: list[tuple[Binding, bool, str, bool]], labels: list[tuple[str, str]]
) -> tuple[list[tuple[Binding, bool, str, bool]], list[tuple[str, str]]]:
    """The run of view keys as one ``1-N Views`` entry (it runs the first view)."""
    views = [i for i, (b, _, _, _) in enumerate(entries) if b.action.startswith("view(")]
    if len(views) < 2 or views != list(range(views[0], views[-1] + 1)):
        return entries, labels
    first, last = views[0], views[-1]
    label = (f"{labels[first][0]}-{labels[last][0]}", "Views")
    return (
        entries[: first + 1] + entries[last + 1 :],
        [*labels[:first], label, *labels[last + 1 :]],
    )
