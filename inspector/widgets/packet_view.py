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

Row = PacketRecord | tuple[PacketRecord, int]
"""A line of the view: a packet, or recipient ``i`` of an expanded fan-out."""


def stamp(ts: float, utc: bool = True) -> str:
    """``HH:MM:SS.mmm``, rounded to the millisecond (a stream's times are whole ms,
    which a float of seconds holds as .7999...)."""
    whole_ms = round(ts * 1000)
    t = time.gmtime(whole_ms // 1000) if utc else time.localtime(whole_ms // 1000)
    return f"{time.strftime('%H:%M:%S', t)}.{whole_ms % 1000:03d}"


def format_record(rec: PacketRecord, utc: bool = True) -> str:
    """One log line; the timestamp is UTC so screenshots do not depend on the machine.

    A Socket.IO packet shows its type, namespace, ack id and event with its arguments;
    a fan-out its recipient count (``N sockets``) where the socket would be.
    """
    who = f"{rec.count} sockets" if rec.recipients else (rec.socket_id or rec.client_id)
    kind = rec.sio or rec.type
    ack = "" if rec.ack_id is None else f"#{rec.ack_id}"
    nsp = rec.nsp if rec.sio else ""
    return (
        f"{stamp(rec.ts, utc)} {fit(who, 20)} {ARROWS.get(rec.direction, '?')} "
        f"{fit(kind, 13)} {fit(nsp, 8)} {fit(ack, 5)} {rec.size:>7} {rec.summary()}"
    )


def format_recipient(rec: PacketRecord, index: int) -> str:
    """The line of one recipient under an expanded fan-out."""
    sid, cid = rec.recipients[index]
    tree = "└" if index == len(rec.recipients) - 1 else "├"
    return f"{'':12} {tree} {fit(sid or cid, 20)} client {cid}"


class PacketView(ScrollView, can_focus=True):
    """Packet lines with a cursor; ``follow`` keeps the cursor on the newest line.

    Enter posts :class:`Opened` for the packet under the cursor; ``toggle_expanded``
    unfolds a fan-out into one line per recipient.
    """

    follow: bool

    BINDINGS = [  # noqa: RUF012
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "move(-20)", "Page up", show=False),
        Binding("pagedown", "move(20)", "Page down", show=False),
        Binding("home,g", "to_edge(0)", "Top", show=False),
        Binding("end,G", "to_edge(1)", "Bottom", show=False),
        Binding("enter", "open", "Open", show=False),
    ]
    DEFAULT_CSS = """
    PacketView { height: 1fr; overflow-x: hidden; }
    PacketView > .packet-view--in { color: $success; }
    PacketView > .packet-view--out { color: $warning; }
    PacketView > .packet-view--info { color: $text-muted; }
    PacketView > .packet-view--cursor { text-style: bold reverse; }
    """
    COMPONENT_CLASSES = {  # noqa: RUF012
        "packet-view--in",
        "packet-view--out",
        "packet-view--info",
        "packet-view--cursor",
    }

    class FollowChanged(Message):
        """The user left the tail (moved up) or came back to it (End)."""

        def __init__(self, view: PacketView, follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

    class Opened(Message):
        """Enter on a packet: the app opens it whole."""

        def __init__(self, view: PacketView, record: PacketRecord) -> None:
            super().__init__()
            self.view = view
            self.record = record

    def _set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.post_message(self.FollowChanged(self, follow))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: Sequence[PacketRecord] = ()
        self.rows: Sequence[Row] = ()
        self.expanded: dict[int, PacketRecord] = {}
        """id(record) -> record, for the fan-outs shown one line per recipient."""
        self.cursor = 0
        self.follow = True

    def set_records(self, records: Sequence[PacketRecord]) -> None:
        self.records = records
        self._build_rows()
        if self.follow:
            self.cursor = max(0, len(self.rows) - 1)
        else:
            self.cursor = min(self.cursor, max(0, len(self.rows) - 1))
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._show_cursor()
        self.refresh()

    def _build_rows(self) -> None:
        """Rows are the records themselves unless a fan-out is expanded (one pass then)."""
        if not self.expanded:
            self.rows = self.records
            return
        rows: list[Row] = []
        for rec in self.records:
            rows.append(rec)
            if id(rec) in self.expanded:
                rows.extend((rec, i) for i in range(len(rec.recipients)))
        self.rows = rows

    @property
    def selected(self) -> PacketRecord | None:
        """The packet under the cursor (a recipient line stands for its fan-out)."""
        if not self.rows:
            return None
        row = self.rows[min(self.cursor, len(self.rows) - 1)]
        return row if isinstance(row, PacketRecord) else row[0]

    def toggle_expanded(self) -> bool:
        """Unfold or fold the fan-out under the cursor; False when it is not one."""
        rec = self.selected
        if rec is None or not rec.recipients:
            return False
        if self.expanded.pop(id(rec), None) is None:
            self.expanded[id(rec)] = rec
        position = self._index_of(rec)
        self._build_rows()
        self.cursor = position if position is not None else self.cursor
        self._set_follow(False)
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._show_cursor()
        self.refresh()
        return True

    def _index_of(self, rec: PacketRecord) -> int | None:
        start = min(self.cursor, len(self.rows) - 1)
        for i in range(start, -1, -1):
            if self.rows[i] is rec:
                return i
        return None

    def _show_cursor(self) -> None:
        height = max(1, self.size.height)
        if self.cursor < self.scroll_y:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= self.scroll_y + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_move(self, delta: int) -> None:
        last = max(0, len(self.rows) - 1)
        self.cursor = max(0, min(last, self.cursor + delta))
        self._show_cursor()
        self.refresh()
        self._set_follow(self.cursor >= last)

    def action_to_edge(self, end: int) -> None:
        self.cursor = max(0, len(self.rows) - 1) if end else 0
        self._show_cursor()
        self.refresh()
        self._set_follow(bool(end))

    def action_open(self) -> None:
        rec = self.selected
        if rec is not None:
            self.post_message(self.Opened(self, rec))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row_index = int(self.scroll_y) + y
        if row_index >= len(self.rows):
            if row_index == 0:
                return Strip([Segment(fit("  no packets yet", width), Style(dim=True))])
            return Strip.blank(width, self.rich_style)
        row = self.rows[row_index]
        if isinstance(row, PacketRecord):
            rec, text = row, format_record(row)
        else:
            rec, text = row[0], format_recipient(row[0], row[1])
        style = self.rich_style + self.get_component_rich_style(
            f"packet-view--{rec.direction}", partial=True
        )
        if row_index == self.cursor and self.has_focus:
            style += self.get_component_rich_style("packet-view--cursor", partial=True)
        return Strip([Segment(fit(text, width), style)])

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
