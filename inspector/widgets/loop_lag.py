"""The dashboard's server-health lines from ``sioscope:diagnostics``: the event loop's
lag (how late a 100 ms timer ran, per second: a sparkline of each second's worst) and the
slow connections (clients that owe the most bytes, issue of slow readers).

A server without the extension gets one line saying so.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from sioscope.inspector.diagnostics import feature_note
from sioscope.inspector.model import Model
from sioscope.inspector.units import human_size

SLOW_SHOWN = 3


class LoopLagPanel(Vertical):
    """A label, a sparkline of the loop lag, and a line of slow connections."""

    DEFAULT_CSS = """
    LoopLagPanel { height: auto; }
    LoopLagPanel .label { height: 1; margin-top: 1; }
    LoopLagPanel Sparkline { height: 2; }
    LoopLagPanel #slow-connections { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(classes="label", id="lbl-lag")
        yield Sparkline([], id="spark-lag")
        yield Static(id="slow-connections")

    def show(self, model: Model) -> None:
        label = self.query_one("#lbl-lag", Static)
        spark = self.query_one("#spark-lag", Sparkline)
        slow_line = self.query_one("#slow-connections", Static)
        note = feature_note(model.features, model.config_received)
        diag = model.diag
        if note or not diag.received:
            label.update(f"[b]Event-loop lag[/b] [dim]{note or 'waiting for diagnostics'}[/dim]")
            spark.data = []
            slow_line.update("")
            return
        worst = [mx for _, _, mx in diag.loop_lag][-60:]
        if diag.loop_lag:
            _, last, mx = diag.loop_lag[-1]
            figures = f"last {last:.1f} ms, worst {mx:.1f} ms in the last second"
        else:
            figures = "no sample yet"
        label.update(
            f"[b]Event-loop lag[/b] {figures}"
            f"   [dim]top {max(worst, default=0):.1f} ms (60 s peak)[/dim]"
        )
        spark.data = worst
        slow = sorted(diag.slow.items(), key=lambda kv: -kv[1][0])
        if not slow:
            slow_line.update("[b]Slow connections[/b] none (no client owes over 64 KiB)")
            return
        top = ", ".join(
            f"{cid} owes {human_size(owed)}" + (f" ({dropped} dropped)" if dropped else "")
            for cid, (owed, dropped) in slow[:SLOW_SHOWN]
        )
        more = f" and {len(slow) - SLOW_SHOWN} more" if len(slow) > SLOW_SHOWN else ""
        slow_line.update(
            f"[b red]Slow connections[/b red] {len(slow)}: {top}{more}"
            "   [dim](sort the Sockets view by OWED)[/dim]"
        )
