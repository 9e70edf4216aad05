"""What the Exchanges and Errors views share: a summary line over a table of one of the
diagnostics rings, with a filter of its own.

Each view says what its summary and rows are; the redraw rule (only when the
diagnostics, the filter or the server's config changed, or on the frame's tick), the
``Filterable`` surface and the selected record are the same for both, so they live here
once.
"""

from __future__ import annotations

from typing import ClassVar, Generic

from textual.containers import Vertical
from textual.widgets import Static

from sioscope.inspector.diagnostics import R, RingView, feature_note
from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.widgets.table import KeyedTable

_UNSEEN = object()


class RingTableView(Vertical, Generic[R]):
    """A summary ``Static`` (``SUMMARY_ID``) over a ``KeyedTable`` (``TABLE_ID``) of
    ``rows``, a filtered view of one diagnostics ring."""

    SUMMARY_ID: ClassVar[str]
    TABLE_ID: ClassVar[str]

    def __init__(self, model: Model, rows: RingView[R], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.rows = rows
        self._drawn: object = _UNSEEN

    @property
    def table(self) -> KeyedTable:
        return self.query_one(f"#{self.TABLE_ID}", KeyedTable)

    def summary(self) -> str:
        raise NotImplementedError

    def sync_more(self) -> None:
        """What a view draws beside its summary and table (nothing by default)."""

    def sync(self, frame: Frame) -> None:
        drawn = (self.model.diag.version, self.rows.filter.expression, self.model.config_received)
        if drawn == self._drawn and not frame.tick:
            return
        self._drawn = drawn
        self.query_one(f"#{self.SUMMARY_ID}", Static).update(self.summary())
        note = feature_note(self.model.features, self.model.config_received)
        if note:
            self.table.empty = note
        self.table.set_keys(self.rows.keys())
        self.sync_more()

    def invalidate(self) -> None:
        self._drawn = _UNSEEN

    # -- Filterable

    @property
    def filter_expression(self) -> str:
        return self.rows.filter.expression

    def set_filter(self, expression: str) -> None:
        self.rows.set_filter(expression)
        self._drawn = _UNSEEN

    def filter_summary(self) -> str:
        return f"filter: {self.rows.filter.expression} ({len(self.rows)} shown)"

    # -- selection

    def selected_record(self) -> R | None:
        key = self.table.cursor_key
        return self.rows.by_key.get(key) if key else None
