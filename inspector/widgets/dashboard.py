"""The Dashboard view: client counts, connection and byte rates, servers and namespaces.

Everything here comes from ``server_stats`` (so it works in production mode and against
Node), folded by the model into per-second series; the view redraws once a second.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from sioscope.inspector import cluster
from sioscope.inspector.frame import Frame
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_size
from sioscope.inspector.widgets.loop_lag import LoopLagPanel


class Dashboard(Vertical):
    """Three labelled sparklines over a servers table and a namespaces table."""

    DEFAULT_CSS = """
    Dashboard { padding: 0 1; }
    Dashboard .label { height: 1; margin-top: 1; }
    Dashboard Sparkline { height: 2; }
    Dashboard #dash-tables { height: auto; margin-top: 1; }
    Dashboard #dash-servers { width: 3fr; }
    Dashboard #dash-namespaces { width: 1fr; }
    """

    def __init__(self, model: Model, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    def compose(self) -> ComposeResult:
        yield Static(classes="label", id="lbl-clients")
        yield Sparkline([], id="spark-clients")
        yield Static(classes="label", id="lbl-conn")
        yield Sparkline([], id="spark-conn")
        yield Static(classes="label", id="lbl-bytes")
        yield Sparkline([], id="spark-bytes")
        yield LoopLagPanel(id="dash-loop-lag")
        with Horizontal(id="dash-tables"):
            yield Static(id="dash-servers")
            yield Static(id="dash-namespaces")

    def sync(self, frame: Frame) -> None:
        if frame.tick:  # the series are per second: nothing moves in between
            self.redraw()

    def invalidate(self) -> None:
        """Nothing to forget: the dashboard redraws on every tick."""

    def redraw(self) -> None:
        model, now = self.model, self.model.clock()
        ws, polling = model.clients()
        series = model.series
        # Each sparkline is scaled to its own peak: the label says what the top is.
        clients = series["clients"].values(now)
        self.query_one("#lbl-clients", Static).update(
            f"[b]Clients[/b] {ws + polling}  (websocket {ws}, polling {polling})"
            f"{_scale(f'{max(clients, default=0):.0f}')}"
        )
        self.query_one("#spark-clients", Sparkline).data = clients
        conn, disc = series["connections"].last(now), series["disconnections"].last(now)
        conns = series["connections"].values(now)
        self.query_one("#lbl-conn", Static).update(
            f"[b]Connections/s[/b] {conn:.0f}   [b]disconnections/s[/b] {disc:.0f}"
            f"{_scale(f'{max(conns, default=0):.0f}/s')}"
        )
        self.query_one("#spark-conn", Sparkline).data = conns
        bin_, bout = series["bytesIn"].last(now), series["bytesOut"].last(now)
        pin, pout = series["packetsIn"].last(now), series["packetsOut"].last(now)
        total = [
            a + b
            for a, b in zip(
                series["bytesIn"].values(now), series["bytesOut"].values(now), strict=True
            )
        ]
        self.query_one("#lbl-bytes", Static).update(
            f"[b]Bytes/s[/b] in {human_size(bin_)}  out {human_size(bout)}   "
            f"[b]packets/s[/b] in {pin:.0f}  out {pout:.0f}"
            f"{_scale(f'{human_size(max(total, default=0))}/s')}"
        )
        self.query_one("#spark-bytes", Sparkline).data = total
        self.query_one("#dash-loop-lag", LoopLagPanel).show(model)
        lines = cluster.server_lines(model)  # per server, the cluster, stale marks
        self.query_one("#dash-servers", Static).update("\n".join(lines))
        ns = ["[b]Namespaces[/b]"] + [f"{n}  {c}" for n, c in model.namespaces().items()]
        self.query_one("#dash-namespaces", Static).update("\n".join(ns))

    def selected_socket(self) -> SocketInfo | None:
        return None

    def selected_room(self) -> tuple[str, str] | None:
        return None


def _scale(top: str) -> str:
    """The sparkline's scale, after its label: the last minute's peak is the top row."""
    return f"   [dim]top {top} (60 s peak)[/dim]"
