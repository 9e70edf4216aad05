"""What the app repaints: only what changed (the socket table's lines, the footer's keys).

The key-latency goals (bench/inspector_keys.py) rest on these: an update that changes
no row on screen paints no row, ``Down`` paints two lines, and a view switch moves a
key or two in the footer instead of building the footer again.
"""

from __future__ import annotations

from typing import Any

from textual._context import active_message_pump
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.model import Model
from sioscope.inspector.sample import FixedClock, snapshot_events
from sioscope.inspector.widgets.footer import KeysFooter
from sioscope.inspector.widgets.table import KeyedTable

SIZE = (120, 36)


def sample_model(sockets: int = 500) -> Model:
    model = Model(clock=FixedClock())
    for event, args in snapshot_events(sockets):
        model.apply(event, args)
    return model


def count_painted(table: KeyedTable) -> list[int]:
    """Record the screen lines ``table`` paints from now on."""
    painted: list[int] = []
    original = table.render_line

    def render_line(y: int) -> Any:
        painted.append(y)
        return original(y)

    table.render_line = render_line  # type: ignore[method-assign]  # a spy on one instance
    return painted


async def test_an_update_off_screen_paints_nothing_and_down_paints_two_lines() -> None:
    model = sample_model()
    app = InspectorApp(model, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        table = app.query_one("#sockets", KeyedTable)
        painted = count_painted(table)
        off_screen = table.keys[-1]  # the last of 500 rows: far below the window
        model.apply("room_joined", ["/", "elsewhere", off_screen, None])
        app.flush()
        await pilot.pause(0.1)
        assert painted == []

        on_screen = table.keys[3]
        model.apply("room_joined", ["/", "here", on_screen, None])
        app.flush()
        await pilot.pause(0.1)
        assert painted == [1 + 3]  # the header is line 0

        painted.clear()
        await pilot.press("down")
        await pilot.pause(0.1)
        assert sorted(painted) == [1, 2] and table.cursor_row == 1


async def test_rows_added_while_the_range_waits_are_reached_by_end() -> None:
    """The virtual height follows the rows at most once a second, but a key that
    needs the new range (End onto a row that just came) gets it at once."""
    model = sample_model(40)
    app = InspectorApp(model, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        table = app.query_one("#sockets", KeyedTable)
        model.set_sort("id", reverse=False)
        for n in range(60):
            sid = f"zz-new-{n:02d}"  # sorted last
            model.apply(
                "socket_connected",
                [{"id": sid, "clientId": sid, "nsp": "/", "rooms": [sid], "handshake": {}}],
            )
        app.flush()
        await pilot.press("end")
        await pilot.pause(0.1)
        assert table.cursor_key == "zz-new-59"
        top = int(table.scroll_y)
        assert top <= table.cursor_row < top + table.size.height - 1  # on screen
        assert table.virtual_size.height == len(table.keys) + 1


async def test_the_rooms_tree_redraws_on_membership_not_on_data() -> None:
    """1,000 socket_updated a second (data only) rebuilt the Rooms tree on every flush."""
    from sioscope.inspector.widgets.rooms_tree import RoomsTree

    model = sample_model(200)
    app = InspectorApp(model, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.2)
        tree = app.query_one(RoomsTree)
        rebuilds: list[int] = []
        original = tree.rebuild
        tree.rebuild = lambda: (rebuilds.append(1), original())[1]  # type: ignore[method-assign]
        sid = next(iter(model.sockets))
        for n in range(5):
            model.apply("socket_updated", [{"id": sid, "nsp": "/", "data": {"n": n}}])
            app.mark_dirty()  # what the client does after each event
            app.flush()
        assert rebuilds == []
        model.apply("room_joined", ["/", "brand-new-room", sid, None])
        app.mark_dirty()
        app.flush()
        assert rebuilds == [1]
        await pilot.pause(0.1)
        labels = [str(n.label) for n in tree.root.children[0].children]
        assert any(label.startswith("brand-new-room") for label in labels)


def footer_keys(footer: Footer) -> list[tuple[str, str, bool, bool]]:
    """(key, label, disabled, is the palette key) of each key widget, in order."""
    return [
        (k.key, k.description, k.has_class("-disabled"), k.has_class("-command-palette"))
        for k in footer.children
        if isinstance(k, FooterKey)
    ]


async def test_the_footer_shows_what_textual_composes_and_keeps_its_keys() -> None:
    """Differential against Textual's own ``Footer.compose`` after each view switch; the
    keys both views show are the same widgets (moved, not rebuilt). Wide enough for
    every key (Textual's footer never folds the seven view keys into one, ours does
    below ~134 columns: keybar rule 3)."""
    model = sample_model(50)
    app = InspectorApp(model, None)
    async with app.run_test(size=(200, 36)) as pilot:
        await pilot.pause(0.3)
        footer = app.query_one(KeysFooter)
        first = {k.key: k for k in footer.children if isinstance(k, FooterKey)}
        for view in "23412":
            await pilot.press(view)
            await pilot.pause(0.1)
            token = active_message_pump.set(footer)  # compose binds data to its caller
            try:
                textual = list(Footer.compose(footer))  # what Textual would mount now
            finally:
                active_message_pump.reset(token)
            expected = [
                (k.key, k.description, k.has_class("-disabled"), k.has_class("-command-palette"))
                for k in textual
                if isinstance(k, FooterKey)
            ]
            assert footer_keys(footer) == expected, view
        now = {k.key: k for k in footer.children if isinstance(k, FooterKey)}
        assert now["1"] is first["1"] and now["q"] is first["q"]
