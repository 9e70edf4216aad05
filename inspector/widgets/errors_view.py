"""The Errors view: refused and failed connections, and why sockets disconnect.

Two parts, both from ``sioscope:diagnostics``:

- a table of refusals, newest first: requests the Engine.IO layer refused (its
  ``connection_error``: bad request, unknown sid, bad handshake method, unknown
  transport, 413...), CONNECTs a middleware refused (the ``connect_error`` message and
  data) and CONNECTs to a namespace the server does not have, each with the request's
  address, user agent and time. It has a filter of its own (``/``: ``kind:engine``,
  ``ua:curl``, ``address:10.0``...);
- the disconnect reasons: Node's nine strings, each with its total since the inspector
  subscribed and its last minute as a sparkline (per second).

On a server without the extension the view says so in one line.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from sioscope.inspector.diagnostics import RefusalRecord, RingView, feature_note
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.widgets.exchanges_view import clock_text
from sioscope.inspector.widgets.ring_table import RingTableView
from sioscope.inspector.widgets.table import KeyedTable

ERROR_TABLE_ID = "error-table"
"""The id of the view's table: the widget that takes the focus."""

COLUMNS = [
    ("TIME (UTC)", 12),
    ("KIND", 10),
    ("CODE", 4),
    ("MESSAGE", 0),
    ("NAMESPACE", 10),
    ("ADDRESS", 15),
    ("USER AGENT", 22),
    ("DATA", 24),
]
_PROBE = RefusalRecord(0, 0.0, "", None, "", None, None, "", "", "")
BLOCKS = " ▁▂▃▄▅▆▇█"


def spark(values: list[float]) -> str:
    """A one-line sparkline of ``values``, scaled to their peak (blank when all zero)."""
    top = max(values, default=0.0)
    if top <= 0:
        return " " * len(values)
    return "".join(BLOCKS[min(8, round(v / top * 8))] for v in values)


class ErrorsView(RingTableView[RefusalRecord]):
    """A summary line, the refusals table and the disconnect-reason breakdown."""

    DEFAULT_CSS = """
    ErrorsView #errors-summary { height: 1; padding: 0 1; color: $text-muted; }
    ErrorsView #disconnect-reasons { height: auto; padding: 0 1; border-top: solid $primary; }
    """

    SUMMARY_ID = "errors-summary"
    TABLE_ID = ERROR_TABLE_ID

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(model, RingView(model.diag.refusals, _PROBE), id=id)

    def compose(self) -> ComposeResult:
        yield Static(id="errors-summary")
        yield KeyedTable(COLUMNS, self.cells, empty="no refused connections", id=ERROR_TABLE_ID)
        yield Static(id="disconnect-reasons")

    def cells(self, key: str) -> tuple[str, ...]:
        rec = self.rows.by_key.get(key)
        if rec is None:
            return ("", "", "", "(gone)", "", "", "", "")
        return (
            clock_text(rec.ts),
            rec.kind,
            "" if rec.code is None else str(rec.code),
            rec.message,
            rec.nsp or "",
            rec.address,
            rec.user_agent,
            rec.data_text,
        )

    def summary(self) -> str:
        note = feature_note(self.model.features, self.model.config_received)
        if note:
            return note
        diag = self.model.diag
        if not diag.received:
            return "waiting for the server's first diagnostics message…"
        kinds: dict[str, int] = {}
        for rec in diag.refusals:
            kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        return f"{diag.refusals_total} refused connections ({parts})"

    def breakdown(self) -> str:
        diag = self.model.diag
        now = self.model.clock()
        lines = ["[b]Disconnect reasons[/b]  [dim](total since attached · last 60 s)[/dim]"]
        for reason, total in diag.disconnect_breakdown():
            series = diag.disconnects.get(reason)
            line = spark(series.values(now)) if series is not None else ""
            style = "" if total else "[dim]"
            end = "" if not style else "[/dim]"
            lines.append(f"{style}{reason:<28} {total:>7}  {line}{end}")
        return "\n".join(lines)

    def sync_more(self) -> None:
        self.query_one("#disconnect-reasons", Static).update(self.breakdown())

    # -- selection

    def selected_socket(self) -> SocketInfo | None:
        return None

    def selected_room(self) -> tuple[str, str] | None:
        return None

    def on_keyed_table_selected(self, event: KeyedTable.Selected) -> None:
        event.stop()  # a refusal has no socket to open
