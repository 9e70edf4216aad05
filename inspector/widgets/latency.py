"""One connection's heartbeat round trip, for the socket detail: figures and a sparkline.

The figures are the server's (``sioscope:diagnostics``: last, p50 and p99 over its
window of pings); the sparkline is the ``last`` of each message the inspector received
(at most one per ping interval), oldest first, so it shows the trend since the inspector
attached. Without the extension it says so in one line.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from sioscope.inspector.diagnostics import feature_note
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_size


class LatencyPanel(Vertical):
    """A label over a sparkline; ``show(model, sock)`` brings both up to date."""

    DEFAULT_CSS = """
    LatencyPanel { height: auto; padding: 0 1; }
    LatencyPanel #latency-label { height: 1; }
    LatencyPanel Sparkline { height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="latency-label")
        yield Sparkline([], id="latency-spark")

    def show(self, model: Model, sock: SocketInfo) -> None:
        label = self.query_one("#latency-label", Static)
        spark = self.query_one("#latency-spark", Sparkline)
        note = feature_note(model.features, model.config_received)
        lat = model.diag.latency_of(sock.client_id)
        owed = model.diag.owed_of(sock.client_id)
        slow = f"   [b red]slow: owes {human_size(owed)}[/]" if owed is not None else ""
        if note:
            label.update(f"[dim]{note}[/dim]")
            spark.data = []
        elif lat is None:
            label.update(f"[b]heartbeat[/b] [dim]no round trip measured yet[/dim]{slow}")
            spark.data = []
        else:
            history = list(lat.history)
            label.update(
                f"[b]heartbeat[/b] last {lat.last:.0f} ms   p50 {lat.p50:.0f} ms   "
                f"p99 {lat.p99:.0f} ms   ({lat.samples} pings)"
                f"   [dim]top {max(history, default=0):.0f} ms[/dim]{slow}"
            )
            spark.data = history
