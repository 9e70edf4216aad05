"""A keyed, virtual table: renders only the rows on screen, the cursor follows a key.

Textual's DataTable holds every row as laid-out cells and its cursor is positional:
10,000 sockets cost a second to build, 1,000 removals several seconds, and a sort or a
removal above the cursor moves it onto another socket, which is unsafe next to a
"disconnect selected" key. This widget holds only the ordered list
of keys; a row's cells are asked for when the row is painted. Replacing the key list is
O(n) in plain Python and the selection stays on the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Column = tuple[str, int]
"""(title, width); a width of 0 takes the remaining space."""


def fit(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` cells, marking a cut with an ellipsis."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    return text.ljust(width)


class KeyedTable(ScrollView, can_focus=True):
    """A table of rows identified by string keys, painted line by line."""

    BINDINGS = [  # noqa: RUF012 - Textual's own convention
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "Top", show=False),
        Binding("end,G", "edge(1)", "Bottom", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    KeyedTable > .keyed-table--header { text-style: bold; color: $text-accent; }
    KeyedTable > .keyed-table--cursor { background: $accent 60%; text-style: bold; }
    """
    COMPONENT_CLASSES = {"keyed-table--header", "keyed-table--cursor"}  # noqa: RUF012

    class Highlighted(Message):
        """The cursor moved to another key (or to none)."""

        def __init__(self, table: KeyedTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

    class Selected(Message):
        """Enter was pressed on a key."""

        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    cursor_key: reactive[str | None] = reactive(None, init=False, always_update=True)

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[str], Sequence[str]],
        *,
        empty: str = "nothing to show",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self.widths: list[int] | None = None
        """Widths the owner computed, one per column (0: left out); None: ``columns``'."""
        self.cells = cells
        self.empty = empty
        self.keys: list[str] = []
        self._index: dict[str, int] = {}
        self._row_cache: dict[str, Strip] = {}

    # -- data

    def set_keys(self, keys: Sequence[str], changed: set[str] | None = None) -> None:
        """Replace the ordered keys; ``changed`` rows are re-rendered (``None``: all)."""
        self.keys = list(keys)
        self._index = {k: i for i, k in enumerate(self.keys)}
        if changed is None:
            self._row_cache.clear()
        else:
            for key in changed:
                self._row_cache.pop(key, None)
            if len(self._row_cache) > 4 * max(100, self.size.height):
                self._row_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)
        if self.cursor_key not in self._index:
            old = self.cursor_key
            self.cursor_key = self.keys[0] if self.keys else None
            if old != self.cursor_key:
                self.post_message(self.Highlighted(self, self.cursor_key))
        self._scroll_cursor_into_view()
        self.refresh()

    @property
    def cursor_row(self) -> int:
        """Row index of the cursor key, -1 when there is none."""
        return self._index.get(self.cursor_key, -1) if self.cursor_key is not None else -1

    def select_key(self, key: str) -> bool:
        """Move the cursor to ``key`` if it is shown."""
        if key not in self._index:
            return False
        self._move_to(self._index[key])
        return True

    # -- cursor

    def _move_to(self, row: int) -> None:
        if not self.keys:
            return
        row = max(0, min(len(self.keys) - 1, row))
        key = self.keys[row]
        if key != self.cursor_key:
            self.cursor_key = key
            self.post_message(self.Highlighted(self, key))
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        row = self.cursor_row
        if row < 0:
            return
        body = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + body:
            self.scroll_to(y=row - body + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self._move_to(max(self.cursor_row, 0) + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(max(self.cursor_row, 0) + direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        self._move_to(len(self.keys) - 1 if end else 0)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self, self.cursor_key))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int) and offset >= 1:
            self._move_to(int(self.scroll_y) + offset - 1)

    def on_resize(self) -> None:
        self._row_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)

    # -- painting

    def _widths(self, total: int) -> list[int]:
        if self.widths is not None:
            return self.widths
        fixed = sum(w + 1 for _, w in self.columns if w)
        flex = max(4, total - fixed - 1)
        return [w or flex for _, w in self.columns]

    def _line(self, texts: Sequence[str], width: int) -> str:
        parts = [fit(t, w) for t, w in zip(texts, self._widths(width), strict=False) if w]
        return fit(" " + " ".join(parts), width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            style = self.get_component_rich_style("keyed-table--header")
            return Strip([Segment(self._line([t for t, _ in self.columns], width), style)])
        row = int(self.scroll_y) + y - 1
        base = self.rich_style
        if row >= len(self.keys):
            if row == 0 and not self.keys:
                return Strip([Segment(fit("  " + self.empty, width), base + Style(dim=True))])
            return Strip.blank(width, base)
        key = self.keys[row]
        if key == self.cursor_key:
            style = self.get_component_rich_style("keyed-table--cursor")
            if not self.has_focus:
                style = style + Style(dim=True)
            return Strip([Segment(self._line(self.cells(key), width), style)])
        strip = self._row_cache.get(key)
        if strip is None or strip.cell_length != width:
            strip = Strip([Segment(self._line(self.cells(key), width), base)])
            self._row_cache[key] = strip
        return strip

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()
