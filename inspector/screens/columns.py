"""The column chooser (``C``): which of the registered columns the Sockets table shows.

It lists every column of ``sioscope.inspector.columns`` in display order, then the
``data`` fields the current sockets have; a column the server has no data for (its
``feature`` is not advertised) is listed, disabled, with the reason. Space toggles,
Enter applies, Esc leaves everything as it was. The screen decides nothing itself: it
hands the chosen ids back and the app gives them to the model.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from sioscope.inspector import columns as colmod
from sioscope.inspector.model import Model

UNAVAILABLE = "this server does not send it"


def choices(model: Model) -> list[tuple[str, str, bool, bool]]:
    """``(label, column id, chosen, available)`` for every column the chooser offers."""
    chosen = set(model.columns)
    out: list[tuple[str, str, bool, bool]] = []
    for col in colmod.COLUMNS.values():
        ok = model.column_available(col) or not model.config_received
        why = "" if ok else f"  ({UNAVAILABLE})"
        out.append((f"{col.title:<12} {col.help}{why}", col.id, col.id in chosen, ok))
    fields = [colmod.DATA_PREFIX + f for f in colmod.data_fields(model.sockets.values())]
    for cid in [*fields, *(c for c in model.columns if c.startswith(colmod.DATA_PREFIX))]:
        if any(cid == o[1] for o in out):
            continue
        found = colmod.column(cid)
        if found is not None:
            out.append((f"{found.title:<12} {found.help}", cid, cid in chosen, True))
    return out


class ColumnsScreen(ModalScreen[list[str] | None]):
    """Toggle columns; dismisses with the chosen ids in display order (None: cancelled)."""

    BINDINGS = [  # noqa: RUF012 - Textual's own convention
        Binding("escape,q", "dismiss_none", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),  # the list's own Enter toggles
    ]
    DEFAULT_CSS = """
    ColumnsScreen { align: center middle; }
    ColumnsScreen > Vertical {
        width: 76; height: auto; max-height: 90%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    ColumnsScreen SelectionList { height: auto; max-height: 24; }
    """

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model
        self.offered = choices(model)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Sockets columns[/b]  Space toggles · Enter applies · Esc cancels")
            yield SelectionList[str](
                *(
                    Selection(label, cid, chosen, disabled=not ok)
                    for label, cid, chosen, ok in self.offered
                ),
                id="columns-list",
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def chosen(self) -> list[str]:
        """The selected ids, in the list's (display) order."""
        selected = set(self.query_one("#columns-list", SelectionList).selected)
        return [cid for _, cid, _, _ in self.offered if cid in selected]

    def action_apply(self) -> None:
        self.dismiss(self.chosen() or None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
