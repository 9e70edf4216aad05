"""The Clients view: one row per Engine.IO connection, with its transport and sockets.

The Admin UI's Clients page: what the Sockets view shows per namespace socket, grouped
by the connection (``clientId``) they share. Enter opens the Sockets view filtered to
that client; ``d`` closes the whole connection (every namespace), after a confirmation
that lists its sockets. Like the Rooms view, it lists only the clients of the sockets
that pass the socket filter (the banner says so).
"""

from __future__ import annotations

from sioscope.inspector.clients import ClientIndex, ClientInfo
from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_age
from sioscope.inspector.widgets.table import KeyedTable

CLIENT_COLUMNS = [
    ("CLIENT", 20),
    ("TRANSPORT", 9),
    ("ADDRESS", 17),
    ("SOCKETS", 7),
    ("NAMESPACES", 0),
    ("AGE", 6),
]


class ClientsTable(KeyedTable):
    """Keyed by client id; the cursor stays on its client through churn."""

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(CLIENT_COLUMNS, self.client_cells, empty="no clients", id=id)
        self.model = model
        self.index = ClientIndex(model)
        self._drawn: object = None

    def client_cells(self, cid: str) -> tuple[str, ...]:
        info = self.index.clients().get(cid)
        if info is None:
            return (cid, "", "", "", "(gone)", "")
        own = self.model.own_socket_id
        nsps = ", ".join(info.namespaces)
        if any(s.id == own for s in info.sockets):
            nsps = f"◆ this inspector  {nsps}"
        age = human_age(self.model.clock() - info.issued)
        return (info.id, info.transport, info.address, str(len(info.sockets)), nsps, age)

    def sync(self, frame: Frame) -> None:
        order = self.index.order()
        drawn = (id(order), self.model.filter.expression)
        if drawn != self._drawn or frame.tick or frame.changed:
            self._drawn = drawn
            self.set_keys(order)

    def invalidate(self) -> None:
        self._drawn = None
        self.index.invalidate()

    def selected_client(self) -> ClientInfo | None:
        key = self.cursor_key
        return self.index.clients().get(key) if key else None

    def selected_socket(self) -> SocketInfo | None:
        """The client's first socket: what the socket keys (P, c, i) act on here."""
        info = self.selected_client()
        return info.sockets[0] if info and info.sockets else None

    def selected_room(self) -> tuple[str, str] | None:
        return None
