"""The live packet log: a virtual view over the model's filtered packet ring.

Nothing is written per packet: the app hands the view the ring (a deque) at most ~10
times a second, and only the lines on screen are formatted. While following the tail
the view stays pinned to the last record; the model's pause keeps the ring still.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sioscope.inspector.records import PacketRecord
from sioscope.inspector.widgets.table import fit

ARROWS = {"in": "→ in ", "out": "← out", "info": "· ---"}
"""Direction as seen from the server: ``in`` arrives from a client."""


def format_record(rec: PacketRecord, utc: bool = True) -> str:
    """One log line; the timestamp is UTC so screenshots do not depend on the machine."""
    t = time.gmtime(rec.ts) if utc else time.localtime(rec.ts)
    ms = int((rec.ts % 1) * 1000)
    who = rec.socket_id or rec.client_id
    preview = rec.preview if rec.preview is not None else ("<binary>" if rec.size else "")
    return (
        f"{time.strftime('%H:%M:%S', t)}.{ms:03d} {fit(who, 20)} {ARROWS.get(rec.direction, '?')} "
        f"{fit(rec.type, 18)} {rec.size:>7} {preview}"
    )


class PacketView(ScrollView, can_focus=True):
    """Scrollable packet lines; ``follow`` keeps the newest line in view."""

    follow: bool

    BINDINGS = [  # noqa: RUF012
        Binding("up,k", "scroll_lines(-1)", "Up", show=False),
        Binding("down,j", "scroll_lines(1)", "Down", show=False),
        Binding("pageup", "scroll_lines(-20)", "Page up", show=False),
        Binding("pagedown", "scroll_lines(20)", "Page down", show=False),
        Binding("home,g", "to_edge(0)", "Top", show=False),
        Binding("end,G", "to_edge(1)", "Bottom", show=False),
    ]
    DEFAULT_CSS = """
    PacketView { height: 1fr; }
    PacketView > .packet-view--in { color: $success; }
    PacketView > .packet-view--out { color: $warning; }
    PacketView > .packet-view--info { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"packet-view--in", "packet-view--out", "packet-view--info"}  # noqa: RUF012

    class FollowChanged(Message):
        """The user left the tail (scrolled up) or came back to it (End)."""

        def __init__(self, view: PacketView, follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

    def _set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.post_message(self.FollowChanged(self, follow))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: Sequence[PacketRecord] = ()
        self.follow = True

    def set_records(self, records: Sequence[PacketRecord]) -> None:
        self.records = records
        self.virtual_size = Size(self.size.width, len(records))
        if self.follow:
            self.scroll_to(y=max(0, len(records) - self.size.height), animate=False)
        self.refresh()

    def action_scroll_lines(self, delta: int) -> None:
        target = max(0, self.scroll_y + delta)
        self.scroll_to(y=target, animate=False)
        self._set_follow(target >= self.max_scroll_y)

    def action_to_edge(self, end: int) -> None:
        self.scroll_to(y=self.max_scroll_y if end else 0, animate=False)
        self._set_follow(bool(end))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = int(self.scroll_y) + y
        if row >= len(self.records):
            if row == 0:
                return Strip([Segment(fit("  no packets yet", width), Style(dim=True))])
            return Strip.blank(width, self.rich_style)
        rec = self.records[row]
        style = self.get_component_rich_style(f"packet-view--{rec.direction}", partial=True)
        return Strip([Segment(fit(format_record(rec), width), self.rich_style + style)])

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()
