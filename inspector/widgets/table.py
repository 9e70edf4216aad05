"""A keyed, virtual table: renders only the rows on screen, the cursor follows a key.

Textual's DataTable holds every row as laid-out cells and its cursor is positional:
10,000 sockets cost a second to build, 1,000 removals several seconds, and a sort or a
removal above the cursor moves it onto another socket, which is unsafe next to a
"disconnect selected" key. This widget holds only the ordered list
of keys; a row's cells are asked for when the row is painted. Replacing the key list is
O(n) in plain Python and the selection stays on the same key.

Painting rules (what keeps a busy server's updates cheap, and a key press immediate):

1. Each screen line remembers what it last painted (``_painted``: key, text, cursor).
   After an update or a cursor move, the lines on screen are worked out again (cells
   are cached per key until the key is named as changed) and only the lines that differ
   are refreshed: a flush in which the rows on screen did not change paints nothing,
   and ``Down`` repaints two lines, not the table. Scrolling repaints whole.
2. The virtual height (the scrollbar's range) follows the row count at most once a
   second, unless the cursor or the scroll window needs the new range now: a change of
   virtual size is a layout of the whole screen, which a server with churn (sockets
   coming and going every flush) would otherwise cost on every frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
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
    KeyedTable { height: 1fr; overflow-x: hidden; }
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

    # No repaint of its own: ``_repaint`` refreshes the two lines a move touches (rule 1).
    cursor_key: reactive[str | None] = reactive(None, init=False, always_update=True, repaint=False)

    RESIZE_EVERY = 1.0
    """Seconds between two changes of the virtual height that nothing needed (rule 2)."""

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
        self._cells: dict[str, Sequence[str]] = {}
        """Cells per key, until the key is named changed (rule 1)."""
        self._texts: dict[str, str] = {}
        """The line of each key at the current widths."""
        self._painted: dict[int, tuple[str | None, str, int]] = {}
        """Screen line -> (key, text, cursor style) as last painted (rule 1)."""
        self._sized_at = 0.0
        self._base: Style | None = None
        self._strips: dict[str, Strip] = {}

    # -- data

    def set_keys(
        self, keys: Sequence[str], changed: set[str] | None = None, *, same_order: bool = False
    ) -> None:
        """Replace the ordered keys; ``changed`` rows are re-rendered (``None``: all).

        ``same_order``: the caller knows ``keys`` is the order it handed last time (only
        rows' contents changed), so the index is kept rather than rebuilt.
        """
        if not (same_order and len(keys) == len(self.keys)):
            self.keys = list(keys)
            self._index = {k: i for i, k in enumerate(self.keys)}
        if changed is None:
            self._cells.clear()
            self._texts.clear()
        else:
            for key in changed:
                self._cells.pop(key, None)
                self._texts.pop(key, None)
            if len(self._cells) > 4 * max(100, self.size.height):
                self._cells.clear()
                self._texts.clear()
        if self.cursor_key not in self._index:
            old = self.cursor_key
            self.cursor_key = self.keys[0] if self.keys else None
            if old != self.cursor_key:
                self.post_message(self.Highlighted(self, self.cursor_key))
        self._size_rows()
        self._scroll_cursor_into_view()
        self._repaint()

    def row_cells(self, key: str) -> Sequence[str]:
        """The cells of ``key``'s row, cached until the key is named changed."""
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = self.cells(key)
        return cells

    def _size_rows(self, now: bool = False) -> None:
        """The virtual height follows the rows (rule 2)."""
        rows = len(self.keys) + 1
        if rows == self.virtual_size.height and self.virtual_size.width == self.content_width:
            return
        body = max(1, self.size.height - 1)
        needed = (
            now
            or self.cursor_row + 1 >= self.virtual_size.height  # the cursor is past the range
            or int(self.scroll_y) + body > rows - 1  # the window shows rows that went
            or time.monotonic() - self._sized_at >= self.RESIZE_EVERY
        )
        if needed:
            self._sized_at = time.monotonic()
            self.virtual_size = Size(self.content_width, rows)

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
        self._size_rows()
        self._scroll_cursor_into_view()
        self._repaint()

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
        self._texts.clear()
        self._painted.clear()
        self._size_rows(now=True)

    def on_focus(self) -> None:
        self._repaint()  # the cursor line's style follows the focus

    def on_blur(self) -> None:
        self._repaint()

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

    def _text(self, key: str, width: int) -> str:
        text = self._texts.get(key)
        if text is None or len(text) != width:
            text = self._texts[key] = self._line(self.row_cells(key), width)
        return text

    def _wanted(self, y: int, width: int) -> tuple[str | None, str, int]:
        """What screen line ``y`` should show: (key, text, cursor style), the style
        0 for a plain row, 1 for the cursor's, 2 for the cursor's while focused."""
        if y == 0:
            return None, self._line([t for t, _ in self.columns], width), 0
        row = int(self.scroll_y) + y - 1
        if row >= len(self.keys):
            if row == 0 and not self.keys:
                return None, fit("  " + self.empty, width), 0
            return None, "", 0
        key = self.keys[row]
        cursor = (2 if self.has_focus else 1) if key == self.cursor_key else 0
        return key, self._text(key, width), cursor

    def _repaint(self) -> None:
        """Refresh the lines on screen whose content changed since painted (rule 1)."""
        width, height = self.content_width, self.size.height
        if not self._painted or not width:
            self.refresh()  # nothing painted yet (or after a resize): all of it
            return
        stale = [y for y in range(height) if self._wanted(y, width) != self._painted.get(y)]
        if len(stale) * 2 > height:
            self.refresh()
        else:
            for y in stale:
                self.refresh(Region(0, y, width, 1))

    @property
    def content_width(self) -> int:
        """The cells a row has: the widget's width less the vertical scrollbar's. Rows
        laid out for the whole width were cut at the end (AGE lost its last letter) and
        their overflow showed an empty horizontal scrollbar."""
        return self.scrollable_content_region.width or self.size.width

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.content_width
        key, text, cursor = wanted = self._wanted(y, width)
        self._painted[y] = wanted
        if y == 0:
            return Strip([Segment(text, self.get_component_rich_style("keyed-table--header"))])
        if self._base is None:  # the widget's style, once per style change (not per line)
            self._base = self.rich_style
        base = self._base
        if key is None:
            if text:
                return Strip([Segment(text, base + Style(dim=True))])
            return Strip.blank(width, base)
        if cursor:
            style = self.get_component_rich_style("keyed-table--cursor")
            if cursor == 1:
                style = style + Style(dim=True)
            return Strip([Segment(text, style)])
        strip = self._strips.get(key)
        if strip is None or strip.text != text:
            # One Strip per row kept: Textual caches its crops and filters on the Strip.
            strip = self._strips[key] = Strip([Segment(text, base)])
            if len(self._strips) > 4 * max(100, self.size.height):
                self._strips = {key: strip}
        return strip

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()
