"""The diagnostics in the app, on the seeded sample feed: the socket detail's latency
line and sparkline, the dashboard's loop lag and slow connections, the Errors view's
own filter and its disconnect-reason breakdown."""

from __future__ import annotations

from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.screenshots import SampleApp
from sioscope.inspector.widgets.errors_view import ErrorsView
from sioscope.inspector.widgets.socket_table import SocketTable

SIZE = (120, 36)


def text(app: SampleApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_the_socket_detail_shows_its_round_trip_with_a_sparkline() -> None:
    app = SampleApp()
    async with app.run_test(size=SIZE) as pilot:
        sid = app.query_one("#sockets", SocketTable).keys[1]
        sock = app.model.sockets[sid]
        lat = app.model.diag.latency[sock.client_id]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        line = text(app, "#latency-label")
        assert f"last {lat.last:.0f} ms" in line and f"p99 {lat.p99:.0f} ms" in line
        spark = app.screen.query_one("#latency-spark")
        assert list(spark.data) == list(lat.history) and len(spark.data) >= 2  # type: ignore[attr-defined]


async def test_the_dashboard_shows_loop_lag_and_the_slow_connections() -> None:
    app = SampleApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        lag = text(app, "#lbl-lag")
        _, last, worst = app.model.diag.loop_lag[-1]
        assert f"last {last:.1f} ms, worst {worst:.1f} ms" in lag
        slow = text(app, "#slow-connections")
        assert "Slow connections 2" in slow
        top = max(app.model.diag.slow.items(), key=lambda kv: kv[1][0])[0]
        assert slow.index(top) < 30  # the most owed first


async def test_the_errors_view_filters_and_breaks_down_disconnect_reasons() -> None:
    app = SampleApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await pilot.pause()
        view = app.query_one("#errors", ErrorsView)
        kinds = {view.rows.by_key[k].kind for k in view.table.keys}
        assert {"engine", "middleware", "namespace"} <= kinds
        await pilot.press("slash", *"kind:middleware", "enter")
        await pilot.pause()
        shown = [view.rows.by_key[k] for k in view.table.keys]
        assert shown and {r.kind for r in shown} == {"middleware"}
        assert all(r.data == {"plan": "free"} for r in shown)
        assert "filter: kind:middleware" in text(app, "#banner")
        await pilot.press("slash", *"colour:red")
        await pilot.pause()
        assert "unknown field 'colour'" in text(app, "#banner")  # one line, filter kept
        await pilot.press("escape")
        breakdown = text(app, "#disconnect-reasons")
        for reason in ("transport close", "ping timeout", "server shutting down"):
            assert reason in breakdown
        assert app.model.filter.expression == ""
