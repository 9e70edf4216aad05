"""The app driven with Pilot against real servers: Node + @socket.io/admin-ui, and ours."""

from __future__ import annotations

import json

import pytest

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.model import Model
from sioscope.inspector.screens.confirm import ConfirmScreen
from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.widgets.table import KeyedTable
from tests.inspector.conftest import NodeAdminServer, wait_for

pytestmark = pytest.mark.interop
SIZE = (120, 36)


async def attach(url: str, **kw) -> tuple[Model, AdminClient]:
    model = Model()
    client = AdminClient(
        ClientOptions(
            url, username=kw.pop("username", "admin"), password=kw.pop("password", "s3cret"), **kw
        ),
        model,
        backoff=(0.05, 0.2),
    )
    await client.connect()
    client.start()
    return model, client


def table(app: InspectorApp) -> KeyedTable:
    return app.query_one("#sockets", KeyedTable)


def footer_text(app: InspectorApp) -> str:
    return " ".join(b.description for _, b, enabled, _ in app.active_bindings.values() if enabled)


async def test_filter_then_cancel_then_confirm_disconnect_on_node(
    node_admin: NodeAdminServer, tmp_path
) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client, export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: len(table(app).keys) == 4)  # 3 users + the admin socket
        victim = node_admin.sockets[1]  # its data is {"user": {"name": "user1"}}
        await pilot.press("slash", *"data:user1", "enter")
        await wait_for(lambda: table(app).keys == [victim])
        assert table(app).cursor_key == victim
        assert "1 match" in str(app.query_one("#status").render())

        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        text = str(app.screen.query_one("#target").render())
        assert victim in text and "namespace /" in text and "127.0.0.1" in text
        await pilot.press("n")
        await wait_for(lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.3)
        assert victim in model.sockets  # cancel sent nothing

        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        line = await node_admin.next_line(lambda d: d.get("disconnect") == victim)
        assert line["reason"] == "server namespace disconnect"  # the server really dropped it
        await wait_for(lambda: victim not in model.sockets and table(app).keys == [])

        await pilot.press("ctrl+l")  # clear the filter: the others are still there
        await wait_for(lambda: len(table(app).keys) == 3)
        await pilot.press("ctrl+s")
        exported = sorted(tmp_path.glob("sioscope-sockets-*.json"))
        assert exported and len(json.loads(exported[0].read_text())) == 3
        await client.close()


async def test_cursor_follows_socket_not_row(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: len(table(app).keys) == 4)
        await pilot.press("s")  # sort by id
        await pilot.pause(0.2)
        before = list(table(app).keys)
        assert before == sorted(before)
        await pilot.press("home", "down", "down")
        chosen = table(app).cursor_key
        assert chosen == before[2]
        await pilot.press("S")  # reverse: the row index changes, the selection must not
        await wait_for(lambda: table(app).keys == before[::-1])
        assert table(app).cursor_key == chosen and table(app).cursor_row == 1
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.socket_id == chosen
        await pilot.press("c")
        # the handshake of that socket (it holds no id: compare it whole)
        assert json.loads(app.clipboard) == model.sockets[chosen].handshake
        await client.close()


async def test_pause_counts_pending_packets_on_node(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        # Node has no packet stream: its event_received/event_sent fill the log instead
        await wait_for(lambda: len(model.packets.view) > 0)
        await pilot.press("p")
        shown = len(model.packets.view)
        await wait_for(lambda: model.packets.pending >= 2)
        await pilot.pause(0.15)
        assert "PAUSED" in str(app.query_one("#banner").render())
        assert len(model.packets.view) == shown
        await pilot.press("p")
        assert model.packets.pending == 0 and len(model.packets.view) > shown
        await pilot.press("slash", *"dir:out", "enter")
        await wait_for(lambda: len(model.packets.view) > 0)
        assert {r.direction for r in model.packets.view} == {"out"}
        await pilot.press("home")  # leaving the tail pauses, as toolong does
        assert model.packets.paused
        await wait_for(lambda: model.packets.pending >= 1)
        await pilot.press("end")  # back at the tail: resumed, nothing left pending
        assert not model.packets.paused and model.packets.pending == 0
        await client.close()


async def test_readonly_hides_actions(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: len(table(app).keys) == 4)
        assert "Filter" in footer_text(app) and "Disconnect" not in footer_text(app)
        main = app.screen
        for key in ("d", "D", "e", "J", "L"):  # confirm and prompt screens alike
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is main, key
        assert "READ-ONLY" in str(app.query_one("#status").render())
        await client.close()


async def test_server_without_the_feature_hides_actions(
    node_admin_readonly: NodeAdminServer,
) -> None:
    model, client = await attach(node_admin_readonly.url)
    app = InspectorApp(model, client)  # not read-only here: the server says so
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: model.config_received and len(table(app).keys) == 3)
        assert "DISCONNECT" not in model.features
        await pilot.pause(0.1)
        assert "Disconnect" not in footer_text(app)
        main = app.screen
        for key in ("d", "D", "e", "J", "L"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is main, key
        await client.close()


async def test_ours_packet_stream_and_kill_client(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    app = InspectorApp(model, client)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: model.has_packet_stream and len(model.packets.view) > 0)
        assert all(r.direction in ("in", "out", "info") for r in model.packets.view)
        user_sockets = lambda: [s for s in model.sockets.values() if s.nsp != "/admin"]  # noqa: E731
        await wait_for(lambda: len(user_sockets()) >= 3)
        victim = user_sockets()[0]
        assert table(app).select_key(victim.id)
        await pilot.press("D")  # the whole Engine.IO client
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        ns = our_demo.io.of(victim.nsp)
        await wait_for(lambda: victim.id not in ns.sockets)  # dropped on the server
        await wait_for(lambda: victim.id not in model.sockets)
        assert model.gaps == 0
        await client.close()


async def test_join_leave_and_emit_from_the_detail_screen_on_node(
    node_admin: NodeAdminServer,
) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    target = node_admin.sockets[2]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: target in model.sockets)
        await wait_for(lambda: table(app).select_key(target))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("J")
        await pilot.pause()
        await pilot.press(*"vip", "enter")
        await wait_for(lambda: "vip" in model.sockets[target].rooms)  # room_joined came back
        await pilot.press("L")  # the prompt offers the first public room: "lobby"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: "lobby" not in model.sockets[target].rooms)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*'news "breaking", 2', "enter")

        def emitted() -> bool:
            return any(
                r.socket_id == target and r.direction == "out" and r.event == "news"
                for r in model.packets.records
            )

        await wait_for(emitted)  # Node reported event_sent to exactly that socket
        rec = next(r for r in model.packets.records if r.event == "news")
        assert rec.preview == '["news","breaking",2]'
        await client.close()


async def test_its_packets_key_filters_the_stream_to_one_connection(our_demo) -> None:
    model, client = await attach(our_demo.url, username=None)
    app = InspectorApp(model, client)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: model.has_packet_stream and len(model.sockets) >= 3)
        sock = next(s for s in model.sockets.values() if s.nsp == "/" and s.client_id)
        assert table(app).select_key(sock.id)
        await pilot.press("P")
        assert app.view == "packets"
        assert model.packets.filter.expression == f"client:{sock.client_id}"
        await wait_for(lambda: len(model.packets.view) > 0)
        assert {r.client_id for r in model.packets.view} == {sock.client_id}
        await client.close()


async def test_production_mode_on_node_opens_the_dashboard(node_bin: str) -> None:
    from tests.inspector.conftest import start_node_admin, stop_node_admin

    server = await start_node_admin(node_bin, "--clients", "2", "--mode", "production")
    try:
        model, client = await attach(server.url)
        app = InspectorApp(model, client)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: app.view == "dashboard")
            assert not model.development and model.sockets == {}
            await wait_for(lambda: model.servers, timeout=5)  # server_stats every 2 s
            await wait_for(lambda: "node-e2e" in str(app.query_one("#dash-servers").render()))
            await pilot.press("1")
            assert "production mode" in table(app).empty
            await client.close()
    finally:
        await stop_node_admin(server)


async def test_emit_to_a_room_from_the_rooms_view_on_node(node_admin: NodeAdminServer) -> None:
    from textual.widgets import Tree

    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: len(model.sockets) == 4)
        await pilot.press("2")
        tree = app.query_one("#rooms", Tree)

        def lobby_node():
            for nsp_node in tree.root.children:
                for node in nsp_node.children:
                    if node.data == ("room", "/", "lobby"):
                        return node
            return None

        await wait_for(lambda: lobby_node() is not None)
        tree.move_cursor(lobby_node())
        await pilot.pause()
        assert app.selected_room() == ("/", "lobby")
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"alert 1", "enter")

        def receivers() -> set[str]:
            alerts = [r for r in model.packets.records if r.event == "alert"]
            return {sid for r in alerts for sid in ([r.socket_id] + [x for x, _ in r.recipients])}

        await wait_for(lambda: receivers() == set(node_admin.sockets))  # every lobby member
        # Node reported one event_sent per member, one timestamp: one fan-out line.
        (alert,) = [r for r in model.packets.records if r.event == "alert"]
        assert alert.count == len(node_admin.sockets) > 1
        await client.close()
