"""The Sockets view: the model's visible sockets in a :class:`KeyedTable`.

The table is handed the model's new key order at most once per flush, with the ids that
changed, so only those rows are painted again (and only those on screen: the table
compares each line with what it painted); once a second every row on screen is worked
out again (the AGE column moved on). The cursor stays on its socket whatever the order
does.

Its columns are the model's choice among ``sioscope.inspector.columns`` (``C`` picks
them); their widths follow what the rows on screen need (columns rule 5): each column's
need is the widest header or cell seen since the view was last shown (so a column does
not shrink and grow while the table scrolls), measured only over the rows on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from sioscope.inspector import columns as colmod
from sioscope.inspector.columns import Column
from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.widgets.table import KeyedTable

_UNSEEN = object()
SORT_ARROWS = ("▲", "▼")


def column_title(sort_key: str) -> str:
    """The header of the column ``sort_key`` (a column id), as the table shows it."""
    col = colmod.column(sort_key)
    return col.title if col is not None else sort_key


class SocketTable(KeyedTable):
    """One row per visible socket, keyed by socket id."""

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__([], self.socket_cells, empty="no sockets", id=id)
        self.model = model
        self._drawn: object = _UNSEEN
        self._shape: tuple[object, ...] | None = None
        self._shown: list[Column] = []
        self._needs: dict[str, int] = {}
        self._laid_out: tuple[object, ...] | None = None

    @property
    def shown(self) -> Sequence[Column]:
        """The columns drawn now, in order (some may have width 0: no room for them)."""
        return self._shown

    def socket_cells(self, sid: str) -> tuple[str, ...]:
        """The cells of one row (asked for when the row is painted)."""
        sock = self.model.sockets.get(sid)
        if sock is None:
            return tuple(sid if c.id == "id" else "(gone)" if c.flex else "" for c in self._shown)
        model = self.model
        return tuple(c.cell(model, sock) for c in self._shown)

    def _columns_changed(self) -> bool:
        """Rebuild the header when the shown columns or the sort changed."""
        model = self.model
        shown = model.shown_columns()
        shape = (tuple(c.id for c in shown), model.sort_key, model.sort_reverse)
        if shape == self._shape:
            return False
        if self._shape is None or shape[0] != self._shape[0]:
            self._needs = {}
        self._shape = shape
        self._shown = shown
        arrow = SORT_ARROWS[1] if model.sort_reverse else SORT_ARROWS[0]
        self.columns = [(c.title + arrow if c.id == model.sort_key else c.title, 0) for c in shown]
        self._laid_out = None
        return True

    def _measure(self) -> bool:
        """Widen the needs by the rows on screen; True when a width changed."""
        needs = self._needs  # the headers' own need (and the sort arrow's) is layout's
        top = int(self.scroll_y)
        for key in self.keys[top : top + max(1, self.size.height)]:
            for col, text in zip(self._shown, self.row_cells(key), strict=True):
                if len(text) > needs.get(col.id, 0):
                    needs[col.id] = len(text)
        layout = (self.content_width, tuple(needs.get(c.id, 0) for c in self._shown))
        if layout == self._laid_out:
            return False
        self._laid_out = layout
        self.widths = colmod.layout(self._shown, layout[1], self.content_width)
        return True

    def sync(self, frame: Frame) -> None:
        header = self._columns_changed()
        ids = self.model.visible_ids()
        drawn = (id(ids), frame.structural)
        fresh = drawn != self._drawn
        self._drawn = drawn
        if fresh or frame.changed or frame.tick or header:
            # Widths from the rows that are about to be drawn (the keys first, so the
            # scroll position and the rows on screen are the new ones).
            self.set_keys(
                ids, changed=None if frame.tick or header else frame.changed, same_order=not fresh
            )
            if self._measure():
                self.set_keys(ids)  # widths changed: every row again

    def on_resize(self) -> None:
        super().on_resize()
        self._laid_out = None
        if self._shown:
            self._measure()

    def invalidate(self) -> None:
        self._drawn = _UNSEEN
        self._needs = {}
        self._laid_out = None

    def selected_socket(self) -> SocketInfo | None:
        key = self.cursor_key
        return self.model.sockets.get(key) if key else None

    def selected_room(self) -> tuple[str, str] | None:
        return None
