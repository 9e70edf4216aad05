"""Keys typed in one burst (a terminal delivers them in one read) never bypass a guard."""

from __future__ import annotations

import pytest
from textual import events

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.screens.confirm import ConfirmScreen
from tests.inspector.conftest import NodeAdminServer, wait_for
from tests.inspector.test_pilot import SIZE, attach, table

pytestmark = pytest.mark.interop


def burst(app: InspectorApp, text: str) -> None:
    """Post every key at once, as the driver does for one read of the terminal."""
    for ch in text:
        key = {"/": "slash"}.get(ch, ch)
        app.post_message(events.Key(key, ch))


async def test_d_then_y_in_one_burst_does_not_confirm(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            burst(app, "dy")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.pause(0.3)
            assert isinstance(app.screen, ConfirmScreen), "the y typed ahead answered it"
            with pytest.raises(TimeoutError):
                await node_admin.next_line(lambda line: "disconnect" in line, timeout=0.5)
            await pilot.press("y")  # a y pressed once the dialog is up does confirm
            await node_admin.next_line(lambda line: "disconnect" in line, timeout=5)
    finally:
        await client.close()


async def test_keys_right_after_slash_go_to_the_filter(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            burst(app, "/dy")
            await wait_for(lambda: model.filter.expression == "dy")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmScreen), "d reached the shortcuts"
            assert model.filter.expression == "dy"
    finally:
        await client.close()


async def test_the_rooms_cursor_holds_through_updates(node_admin: NodeAdminServer) -> None:
    """Each update rebuilt the tree and put the cursor back on the first row, so an emit
    to "the room under the cursor" went to whatever room was first."""
    from sioscope.inspector.frame import Frame
    from sioscope.inspector.widgets.rooms_tree import RoomsTree, walk

    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            await pilot.press("2")
            tree = app.query_one(RoomsTree)
            await wait_for(lambda: any(n.data == ("room", "/", "lobby") for n in walk(tree.root)))
            lobby = next(n for n in walk(tree.root) if n.data == ("room", "/", "lobby"))
            tree.move_cursor(lobby)
            await pilot.pause(0.1)
            assert tree.selected_room() == ("/", "lobby")
            for _ in range(3):  # what every update does
                tree.invalidate()
                tree.sync(
                    Frame(now=model.clock(), tick=True, dirty=True, changed=set(), structural=True)
                )
                await pilot.pause(0.1)
                assert tree.selected_room() == ("/", "lobby")
    finally:
        await client.close()


async def test_ctrl_c_quits_even_from_the_filter_box(node_admin: NodeAdminServer) -> None:
    for keys in (["ctrl+c"], ["slash", "a", "ctrl+c"]):
        model, client = await attach(node_admin.url)
        app = InspectorApp(model, client)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(lambda a=app: len(table(a).keys) == 4)
                await pilot.press(*keys)
                await pilot.pause(0.1)
                assert app.return_code == 0, keys
        finally:
            await client.close()


async def test_readonly_says_an_action_is_unavailable(node_admin: NodeAdminServer) -> None:
    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client, readonly=True)
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            await pilot.press("d")
            await pilot.pause(0.1)
            assert said == ["Disconnect: unavailable (read-only)"]
    finally:
        await client.close()


async def test_kill_client_lists_its_sockets_and_the_inspector_asks_twice(
    node_admin: NodeAdminServer,
) -> None:
    from sioscope.inspector.screens.prompt import PromptScreen

    model, client = await attach(node_admin.url)
    app = InspectorApp(model, client)
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(lambda: len(table(app).keys) == 4)
            own = client.sid
            assert own is not None and "this inspector" in " ".join(table(app).socket_cells(own))
            table(app).select_key(own)
            await pilot.press("d")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            assert "own admin connection" in str(app.screen.query_one("#target").render())
            await pilot.press("y")
            await wait_for(lambda: "itself" in str(app.screen.query_one("#title").render()))
            await pilot.press("n")
            await pilot.pause(0.1)
            assert said[-1] == "disconnect cancelled" and client.state == "connected"

            victim = node_admin.sockets[2]
            table(app).select_key(victim)
            await pilot.press("L")
            await wait_for(lambda: isinstance(app.screen, PromptScreen))
            await pilot.press("ctrl+u", *"nope", "enter")
            await wait_for(lambda: "nothing to leave" in " ".join(said))

            await pilot.press("D")
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
            text = str(app.screen.query_one("#target").render())
            assert "1 socket(s) will go" in text and victim in text
            await pilot.press("y")
            await node_admin.next_line(lambda line: line.get("disconnect") == victim, timeout=5)
            assert f"1 socket(s), {victim}" in said[-1]
    finally:
        await client.close()
