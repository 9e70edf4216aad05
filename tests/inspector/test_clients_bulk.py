"""Admin UI parity: the Clients view (a whole Engine.IO connection) and bulk actions."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.screens.bulk import BulkScreen
from sioscope.inspector.screens.confirm import ConfirmScreen
from sioscope.inspector.screens.prompt import PromptScreen
from sioscope.inspector.widgets.table import KeyedTable
from tests.inspector.conftest import NodeAdminServer, wait_for
from tests.inspector.test_burst import burst
from tests.inspector.test_dialogs import screen_text
from tests.inspector.test_pilot import SIZE, attach, table


def clients(app: InspectorApp) -> KeyedTable:
    return app.query_one("#clients", KeyedTable)


@pytest.mark.interop
async def test_clients_view_shows_a_connection_and_disconnects_it_whole(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    peer = socketio.AsyncClient(reconnection=False)
    await asyncio.wait_for(
        peer.connect(our_demo.url, namespaces=["/", "/chat"], transports=["websocket"]), 10
    )
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            ids = {peer.get_sid("/"), peer.get_sid("/chat")}
            await wait_for(lambda: ids <= set(model.sockets))
            cid = model.sockets[peer.get_sid("/")].client_id
            await pilot.press("5")
            await wait_for(lambda: clients(app).select_key(cid))
            await pilot.pause(0.1)
            row = next(line for line in screen_text(app) if cid in line)
            assert "websocket" in row and " 2 " in row and "/, /chat" in row, row
            await pilot.press("enter")  # its sockets, in the Sockets view
            await wait_for(lambda: set(table(app).keys) == ids)
            assert app.view == "sockets" and model.filter.expression == f"client:{cid}"
            await pilot.press("ctrl+l", "5")
            await wait_for(lambda: clients(app).select_key(cid))
            await pilot.press("d")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            target = str(app.screen.query_one("#target").render())
            assert "2 socket(s) will go" in target and all(i in target for i in ids)
            await pilot.press("y")
            await wait_for(lambda: not peer.connected)  # the whole connection closed
            await wait_for(lambda: not ids & set(model.sockets))
    finally:
        await peer.disconnect()
        await client.close()


@pytest.mark.interop
async def test_bulk_join_then_disconnect_every_match_on_node(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    users = set(node_admin.sockets)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            await pilot.press("b")  # no filter: refused, nothing opens
            await pilot.pause(0.1)
            assert not isinstance(app.screen, BulkScreen)
            await pilot.press("slash", *"room:lobby", "enter")
            await wait_for(lambda: set(table(app).keys) == users)

            burst(app, "bdy")  # typed ahead: neither the choice nor the confirmation
            await wait_for(lambda: isinstance(app.screen, BulkScreen))
            await pilot.pause(0.3)
            assert isinstance(app.screen, BulkScreen) and users <= set(model.sockets)
            await pilot.press("j")
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            await pilot.press(*"vip2", "enter")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            assert "3 socket(s)" in str(app.screen.query_one("#title").render())
            await pilot.press("y")
            await wait_for(lambda: all("vip2" in model.sockets[s].rooms for s in users))

            await pilot.press("b")
            await wait_for(lambda: isinstance(app.screen, BulkScreen))
            await pilot.press("d")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            assert "Disconnect 3 socket(s)" in str(app.screen.query_one("#title").render())
            await pilot.press("y")
            await wait_for(lambda: not users & set(model.sockets))
            assert client.sid in model.sockets  # the inspector's own socket is not a target
    finally:
        await client.close()


def test_the_client_index_rebuilds_at_most_once_a_second_under_churn() -> None:
    from sioscope.inspector import clients as clientsmod
    from sioscope.inspector.screenshots import sample_model

    model = sample_model(50, packets=False)
    index = clientsmod.ClientIndex(model)
    before = index.clients()
    gone = next(iter(model.sockets))
    model.apply("socket_disconnected", ["/", gone, "transport close"])
    assert index.clients() is before  # within the interval: the last list still
    index.invalidate()  # a view switch or a filter change: now
    assert all(s.id != gone for c in index.clients().values() for s in c.sockets)
    model.set_filter("polling")
    shown = index.clients()  # a filter change rebuilds at once too
    assert shown and all(s.transport == "polling" for c in shown.values() for s in c.sockets)
