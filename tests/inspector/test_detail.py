"""The socket detail screen: keys switch tabs, long values wrap or open, the server shows."""

from __future__ import annotations

from textual.widgets import TabbedContent, Tree

from sioscope.inspector.keys import DETAIL_KEYS, markdown_table
from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.screens.help import help_table
from sioscope.inspector.screens.value import ValueScreen
from sioscope.inspector.screenshots import SampleApp
from tests.inspector.test_dialogs import screen_text


async def test_tab_keys_switch_tabs_and_are_documented() -> None:
    assert all(k.key.split(",")[0] in ("tab", "shift+tab", "enter") for k in DETAIL_KEYS)
    assert "Next tab of the socket detail" in markdown_table()  # README and help share it
    app = SampleApp(sockets=5, packets=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        tabs = app.screen.query_one(TabbedContent)
        seen = [tabs.active]
        for key in ("tab", "tab", "tab", "shift+tab", "right_square_bracket"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(tabs.active)
        assert seen == [
            "tab-handshake",
            "tab-rooms",
            "tab-packets",
            "tab-handshake",  # wraps around
            "tab-packets",
            "tab-handshake",
        ]
    described = [str(cell) for cell in help_table({}).columns[2].cells]
    assert any(text.startswith("Next tab of the socket detail") for text in described)


async def test_a_long_value_wraps_in_the_pane_and_opens_whole_from_the_tree() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        tree = app.screen.query_one(Tree)
        text = "\n".join(screen_text(app))
        assert "(Coordinated Universal Time)" in text  # the pretty pane folds, not cuts
        leaf = next(n for n in tree.root.children if str(n.label).startswith("time="))
        tree.move_cursor(leaf)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ValueScreen)
        shown = "\n".join(screen_text(app))
        assert "Coordinated Universal Time" in shown and app.screen.path == "time"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)


async def test_the_server_id_is_shown() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        summary = str(app.screen.query_one("#summary").render())
        assert "server unknown (one of 2 servers)" in summary  # two servers, none named
        await pilot.press("escape")
        keep = sorted(app.model.servers)[0]
        app.model.servers = {keep: app.model.servers[keep]}
        await pilot.press("enter")
        await pilot.pause()
        assert f"server {keep}" in str(app.screen.query_one("#summary").render())


def test_every_navigation_key_of_the_table_is_bound_where_it_says() -> None:
    from textual.screen import Screen

    from sioscope.inspector.keys import NAV_KEYS
    from sioscope.inspector.screens.confirm import ConfirmScreen
    from sioscope.inspector.widgets.packet_view import PacketView
    from sioscope.inspector.widgets.table import KeyedTable

    def bound(cls: type) -> set[str]:
        return {key for b in cls.BINDINGS for key in b.key.split(",")}  # type: ignore[attr-defined]

    for k in NAV_KEYS:
        for key in k.key.split(","):
            if k.id == "nav.escape":
                assert key in bound(ConfirmScreen) and key in bound(DetailScreen)
            elif k.id == "nav.focus":
                assert key in bound(Screen)
            else:
                assert key in bound(KeyedTable) and key in bound(PacketView)
    assert "Last row" in markdown_table()


def test_the_dialog_keys_of_the_table_are_the_dialogs_keys() -> None:
    from sioscope.inspector.keys import DIALOG_KEYS
    from sioscope.inspector.screens.bulk import CHOICES
    from sioscope.inspector.screens.confirm import ConfirmScreen
    from sioscope.inspector.screens.prompt import PromptScreen

    def bound(cls: type) -> set[str]:
        return {key for b in cls.BINDINGS for key in b.key.split(",")}  # type: ignore[attr-defined]

    keys = {k.id: set(k.key.split(",")) for k in DIALOG_KEYS}
    assert keys["confirm.no"] <= bound(ConfirmScreen)
    assert keys["prompt.ack"] <= bound(PromptScreen)
    assert keys["bulk.choose"] == set(CHOICES)
    assert "In the emit prompt" in markdown_table()
