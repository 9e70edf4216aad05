"""The inspector's diagnostics against real servers: ours (subscribed after login, the
login payload untouched), and Node's admin-ui, which does not send
them (one line says so, nothing breaks)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import socketio

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.model import Model
from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.widgets.errors_view import ErrorsView
from sioscope.inspector.widgets.exchanges_view import ExchangesView
from sioscope.inspector.widgets.socket_table import SocketTable
from tests.admin.apps import PASSWORD, running_server
from tests.inspector.conftest import NodeAdminServer, wait_for

pytestmark = pytest.mark.interop
SIZE = (140, 36)
UA = "diag-live-test/1.0"


def header(app: InspectorApp) -> str:
    table = app.query_one("#sockets", SocketTable)
    return "".join(seg.text for seg in table.render_line(0))


def summary(app: InspectorApp, view: str) -> str:
    return str(app.query_one(f"#{view}-summary").render())


async def test_ours_latency_exchanges_and_refusals_in_the_views() -> None:
    async with running_server(
        server_options={"ping_interval": 0.2, "ping_timeout": 5},
        ack_timeout=0.5,
        diagnostics_interval=0.3,
    ) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        model = Model()
        client = AdminClient(
            ClientOptions(url, username="admin", password=PASSWORD), model, backoff=(0.05, 0.2)
        )
        user = socketio.AsyncClient(reconnection=False)
        await user.connect(url, transports=["websocket"], headers={"User-Agent": UA})
        cid = user.eio.sid[:12]
        try:
            await client.connect()
            client.start()
            # The login stays the official UI's payload: diagnostics came by command.
            admin_nsp = srv.io.of("/admin")
            assert [s.handshake["auth"] for s in admin_nsp.sockets.values()] == [
                {"username": "admin", "password": PASSWORD}
            ]
            await wait_for(lambda: model.diag.received and cid in model.diag.latency)
            answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await user.emit("hello", "x", callback=lambda *r: answered.set_result(r))
            await asyncio.wait_for(answered, 5)
            await user.emit("nobody-listens", 1, callback=lambda *r: None)
            async with aiohttp.ClientSession(headers={"User-Agent": UA}) as http:
                bad = f"{url}/socket.io/?EIO=4&transport=carrier-pigeon"
                async with http.get(bad) as resp:
                    assert resp.status == 400
            await wait_for(
                lambda: (
                    {e.event for e in model.diag.exchanges} >= {"hello", "nobody-listens"}
                    and any(r.user_agent == UA for r in model.diag.refusals)
                ),
            )
            sid = next(s.id for s in model.sockets.values() if s.client_id == cid)
            app = InspectorApp(model, client)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause(0.2)
                assert "RTT" in header(app) and "OWED" in header(app)
                table = app.query_one("#sockets", SocketTable)
                cells = table.socket_cells(sid)
                rtt = cells[[c.id for c in table.shown].index("rtt")]
                assert rtt.endswith("ms"), cells

                await pilot.press("6")
                await pilot.pause(0.2)
                view = app.query_one("#exchanges", ExchangesView)
                rows = {view.rows.by_key[k].event: view.rows.by_key[k] for k in view.table.keys}
                assert rows["hello"].socket_id == sid and rows["hello"].answered
                assert not rows["nobody-listens"].answered  # past the 0.5 s ack timeout
                assert "✗ NO ACK" in view.cells(str(rows["nobody-listens"].seq))
                await pilot.press("slash", *"state:unanswered", "enter")
                await pilot.pause(0.2)
                shown = [view.rows.by_key[k].event for k in view.table.keys]
                assert shown and set(shown) == {"nobody-listens"}
                assert app.model.filter.expression == ""  # the socket filter is untouched
                # Enter opens the socket the exchange belongs to
                await pilot.press("ctrl+l", "6")
                await pilot.pause(0.1)
                assert view.table.select_key(str(rows["hello"].seq))
                await pilot.press("enter")
                await wait_for(lambda: isinstance(app.screen, DetailScreen))
                assert app.screen.socket_id == sid
                await pilot.press("escape")

                await pilot.press("7")
                await pilot.pause(0.2)
                errors = app.query_one("#errors", ErrorsView)
                await pilot.press("slash", *f"ua:{UA} kind:engine", "enter")
                await pilot.pause(0.2)
                (key,) = errors.table.keys
                rec = errors.rows.by_key[key]
                assert (rec.message, rec.address) == ("Transport unknown", "127.0.0.1")
                assert "refused connections" in summary(app, "errors")
                await client.close()
        finally:
            await user.disconnect()
            await client.close()


async def _degrades(url: str, **login: Any) -> None:
    model = Model()
    client = AdminClient(ClientOptions(url, **login), model, backoff=(0.05, 0.2))
    await client.connect()
    client.start()
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(model.sockets) >= 1)
            await pilot.pause(0.2)
            assert "RTT" not in header(app) and "OWED" not in header(app)
            for key, view in (("6", "exchanges"), ("7", "errors")):
                await pilot.press(key)
                await pilot.pause(0.2)
                line = summary(app, view)
                assert "this server sends no diagnostics" in line, line
            await pilot.press("1", "C")
            await pilot.pause(0.2)
            labels = [label for label, cid, _, ok in app.screen.offered if cid == "rtt" and not ok]
            assert labels and "does not send it" in labels[0]
            await pilot.press("escape")
            assert model.unknown_events == {} or all(
                not k.startswith("malformed") for k in model.unknown_events
            )
    finally:
        await client.close()


async def test_node_admin_ui_says_it_sends_no_diagnostics(node_admin: NodeAdminServer) -> None:
    await _degrades(node_admin.url, username="admin", password="s3cret")


# Not also against python-socketio's instrument() here: it patches engineio's classes
# each time it is called, and a second instrumented server in one process ends in a
# RecursionError in its ping task (tests/inspector/test_peers.py attaches to one).
