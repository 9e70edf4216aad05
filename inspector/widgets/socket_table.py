"""The Sockets view: the model's visible sockets in a :class:`KeyedTable`.

The table is handed the model's new key order at most once per flush, with the ids that
changed, so only those rows are painted again; once a second it repaints whole (the AGE
column moved on). The cursor stays on its socket whatever the order does.
"""

from __future__ import annotations

from sioscope.inspector.frame import Frame
from sioscope.inspector.model import SORT_KEYS, Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_age
from sioscope.inspector.widgets.table import KeyedTable

SOCKET_COLUMNS = [
    ("ID", 22),
    ("NAMESPACE", 12),
    ("ADDRESS", 16),
    ("TRANSPORT", 10),
    ("ROOMS", 0),
    ("AGE", 8),
]

_UNSEEN = object()


def column_title(sort_key: str) -> str:
    """The header of the column that ``Model.SORT_KEYS[sort_key]`` sorts by."""
    titles = dict(zip(SORT_KEYS, (title for title, _ in SOCKET_COLUMNS), strict=True))
    return titles[sort_key]


class SocketTable(KeyedTable):
    """One row per visible socket, keyed by socket id."""

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(SOCKET_COLUMNS, self.socket_cells, empty="no sockets", id=id)
        self.model = model
        self._drawn: object = _UNSEEN
        self._order: tuple[str, bool] | None = None

    def socket_cells(self, sid: str) -> tuple[str, ...]:
        """The cells of one row (asked for when the row is painted)."""
        sock = self.model.sockets.get(sid)
        if sock is None:
            return (sid, "", "", "", "(gone)", "")
        rooms = ", ".join(sock.public_rooms)
        if sid == self.model.own_socket_id:
            rooms = f"◆ this inspector  {rooms}".rstrip()
        age = human_age(self.model.clock() - sock.issued)
        return (sock.id, sock.nsp, sock.address, sock.transport, rooms, age)

    def sync(self, frame: Frame) -> None:
        order = (self.model.sort_key, self.model.sort_reverse)
        if order != self._order:  # the sorted column's header carries ▲ or ▼
            self._order = order
            sorted_title = column_title(order[0])
            arrow = "▼" if order[1] else "▲"
            self.columns = [
                (title + arrow if title == sorted_title else title, width)
                for title, width in SOCKET_COLUMNS
            ]
            self.refresh()
        ids = self.model.visible_ids()
        drawn = (id(ids), frame.structural)
        fresh = drawn != self._drawn
        self._drawn = drawn
        if fresh or frame.changed:
            self.set_keys(ids, changed=None if frame.tick else frame.changed)
        elif frame.tick:
            self.set_keys(ids)  # ages moved on

    def invalidate(self) -> None:
        self._drawn = _UNSEEN

    def selected_socket(self) -> SocketInfo | None:
        key = self.cursor_key
        return self.model.sockets.get(key) if key else None

    def selected_room(self) -> tuple[str, str] | None:
        return None
