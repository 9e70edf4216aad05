"""The Packets view: a column header over the live :class:`PacketView` of the model's log.

The view is handed the (filtered) ring only when the log moved on; the pause, the filter
and the follow mode belong to the model's ``PacketLog`` and to ``PacketView``.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.widgets.packet_view import PacketView

HEADER = "TIME (UTC)   SOCKET / CLIENT      DIR   TYPE          NSP      ACK      SIZE EVENT / ARGS"
PACKET_VIEW_ID = "packet-view"
"""The id of the pane's :class:`PacketView`: the widget that takes the focus."""

_UNSEEN = object()


class PacketsPane(Vertical):
    """The header line and the packet log."""

    DEFAULT_CSS = """
    PacketsPane #packets-header { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._drawn: object = _UNSEEN

    def compose(self) -> ComposeResult:
        yield Static(HEADER, id="packets-header")
        yield PacketView(id=PACKET_VIEW_ID)

    @property
    def packet_view(self) -> PacketView:
        return self.query_one(f"#{PACKET_VIEW_ID}", PacketView)

    def sync(self, frame: Frame) -> None:
        log = self.model.packets
        drawn = (log.version, id(log.view))
        if drawn != self._drawn:
            self._drawn = drawn
            self.packet_view.set_records(log.view)
            engine = "shown" if log.show_engine else "hidden"
            self.query_one("#packets-header", Static).update(
                f"{HEADER}   [dim](Engine.IO-only {engine}: E)[/]"
            )

    def invalidate(self) -> None:
        self._drawn = _UNSEEN

    def selected_socket(self) -> SocketInfo | None:
        """The socket of the packet under the cursor, so socket keys work from here too."""
        rec = self.packet_view.selected
        return self.model.sockets.get(rec.socket_id) if rec is not None else None

    def selected_room(self) -> tuple[str, str] | None:
        return None
