"""The Exchanges view: each event that asked for an ack, with the ack that answered it.

One row per exchange, newest first (``sioscope:diagnostics``' ``exchanges``): when the
event was seen, who asked (the client, answered by the server, or the server, answered by
the client), the socket, the namespace, the event name, the ack id and the time between
the two; an event the server saw no answer to within its ack timeout is marked
``NO ACK``. The view has a filter of its own (``/``: ``state:unanswered``,
``event:chat``, ``dir:out``...) and Enter opens the row's socket. On a server without
the extension the view says so in one line.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from sioscope.inspector.diagnostics import ExchangeRecord, RingView, feature_note
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.widgets.ring_table import RingTableView
from sioscope.inspector.widgets.table import KeyedTable

EXCHANGE_TABLE_ID = "exchange-table"
"""The id of the view's table: the widget that takes the focus."""

COLUMNS = [
    ("TIME (UTC)", 12),
    ("ASKED BY", 8),
    ("SOCKET", 20),
    ("NAMESPACE", 10),
    ("EVENT", 0),
    ("ACK", 6),
    ("ANSWER", 14),
]
_PROBE = ExchangeRecord(0, 0.0, "", "", "", "", 0, None, None)


def clock_text(ts: float) -> str:
    """``21:46:55.123``: the time of day (UTC) a row happened."""
    return time.strftime("%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}"


def answer_text(rec: ExchangeRecord, timeout_note: str = "NO ACK") -> str:
    if rec.elapsed_ms is None:
        return f"✗ {timeout_note}"
    return f"{rec.elapsed_ms:.0f} ms" if rec.elapsed_ms >= 1 else "<1 ms"


class ExchangesView(RingTableView[ExchangeRecord]):
    """A summary line over the table of exchanges."""

    DEFAULT_CSS = """
    ExchangesView #exchanges-summary { height: 1; padding: 0 1; color: $text-muted; }
    """

    SUMMARY_ID = "exchanges-summary"
    TABLE_ID = EXCHANGE_TABLE_ID

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(model, RingView(model.diag.exchanges, _PROBE), id=id)

    def compose(self) -> ComposeResult:
        yield Static(id="exchanges-summary")
        yield KeyedTable(COLUMNS, self.cells, empty="no exchanges yet", id=EXCHANGE_TABLE_ID)

    def cells(self, key: str) -> tuple[str, ...]:
        rec = self.rows.by_key.get(key)
        if rec is None:
            return ("", "", "", "", "(gone)", "", "")
        asked = "client" if rec.direction == "in" else "server"
        return (
            clock_text(rec.ts),
            asked,
            rec.socket_id or rec.client_id,
            rec.nsp,
            rec.event if rec.event is not None else "(not a string)",
            str(rec.ack_id),
            answer_text(rec),
        )

    def summary(self) -> str:
        diag = self.model.diag
        note = feature_note(self.model.features, self.model.config_received)
        if note:
            return note
        if not diag.received:
            return "waiting for the server's first diagnostics message…"
        return (
            f"{diag.exchanges_total} exchanges, {diag.unanswered_total} unanswered"
            f" · {diag.pending_acks} waiting for their ack now"
            + (f" · [red]{diag.dropped} lost to the server's bounds[/]" if diag.dropped else "")
        )

    # -- selection

    def selected_socket(self) -> SocketInfo | None:
        rec = self.selected_record()
        return self.model.sockets.get(rec.socket_id) if rec is not None else None

    def selected_room(self) -> tuple[str, str] | None:
        return None

    @on(KeyedTable.Selected)
    def _open(self, event: KeyedTable.Selected) -> None:
        """Enter opens the exchange's socket (the app's handler would take the row's key
        for a socket id)."""
        event.stop()
        rec = self.rows.by_key.get(event.key)
        open_socket = getattr(self.app, "open_socket", None)
        if rec is not None and rec.socket_id and callable(open_socket):
            open_socket(rec.socket_id)
