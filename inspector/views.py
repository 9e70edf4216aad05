"""The app's main views, as data: which widget each is, and which widget takes the focus.

The order is the keys' order (1 Sockets, 2 Rooms, 3 Packets, 4 Dashboard, 5 Clients,
6 Exchanges, 7 Errors); the names are
``keys``' view names, which the key table uses to say where a key applies. Adding a view
is one entry here and one widget module; the app itself names no view but the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.widget import Widget

from sioscope.inspector import keys
from sioscope.inspector.model import Model
from sioscope.inspector.widgets.clients_table import ClientsTable
from sioscope.inspector.widgets.dashboard import Dashboard
from sioscope.inspector.widgets.errors_view import ERROR_TABLE_ID, ErrorsView
from sioscope.inspector.widgets.exchanges_view import EXCHANGE_TABLE_ID, ExchangesView
from sioscope.inspector.widgets.packets_pane import PACKET_VIEW_ID, PacketsPane
from sioscope.inspector.widgets.rooms_tree import RoomsTree
from sioscope.inspector.widgets.socket_table import SocketTable


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """One main view. ``make(model, id=name)`` builds a widget that is a ``frame.View``."""

    name: str
    make: Callable[..., Widget]
    focus: str | None = None
    """The id of the widget inside the view that takes the focus (None: the view)."""

    @property
    def focus_selector(self) -> str:
        return f"#{self.focus or self.name}"

    def build(self, model: Model) -> Widget:
        return self.make(model, id=self.name)


VIEWS: dict[str, ViewSpec] = {
    spec.name: spec
    for spec in (
        ViewSpec(keys.SOCKETS, SocketTable),
        ViewSpec(keys.ROOMS, RoomsTree),
        ViewSpec(keys.PACKETS, PacketsPane, focus=PACKET_VIEW_ID),
        ViewSpec(keys.DASHBOARD, Dashboard),
        ViewSpec(keys.CLIENTS, ClientsTable),
        ViewSpec(keys.EXCHANGES, ExchangesView, focus=EXCHANGE_TABLE_ID),
        ViewSpec(keys.ERRORS, ErrorsView, focus=ERROR_TABLE_ID),
    )
}
FIRST = keys.SOCKETS
"""The view shown at start-up."""
