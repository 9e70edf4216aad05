"""The Sockets view: the model's visible sockets in a :class:`KeyedTable`.

The table is handed the model's new key order at most once per flush, with the ids that
changed, so only those rows are painted again; once a second it repaints whole (the AGE
column moved on). The cursor stays on its socket whatever the order does.
"""

from __future__ import annotations

from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
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


class SocketTable(KeyedTable):
    """One row per visible socket, keyed by socket id."""

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(SOCKET_COLUMNS, self.socket_cells, empty="no sockets", id=id)
        self.model = model
        self._drawn: object = _UNSEEN

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
