"""The Sockets table's column registry: choosing columns, data fields, widths by need."""

from __future__ import annotations

import pytest

from sioscope.inspector import columns as colmod
from sioscope.inspector.model import Model
from sioscope.inspector.screens.columns import ColumnsScreen
from sioscope.inspector.screenshots import SampleApp
from sioscope.inspector.widgets.socket_table import SocketTable
from tests.inspector.test_model import Clock, wire_socket


def rows(table: SocketTable, n: int = 4) -> list[str]:
    return ["".join(seg.text for seg in table.render_line(y)) for y in range(n)]


def test_data_fields_are_columns_that_show_and_sort() -> None:
    model = Model(clock=Clock())
    model.apply(
        "all_sockets",
        [
            [
                wire_socket("a", data={"user": {"name": "zoe", "score": 10}}),
                wire_socket("b", data={"user": {"name": "al", "score": 9.5}}),
                wire_socket("c", data={"plan": "pro"}),
            ]
        ],
    )
    assert colmod.data_fields(model.sockets.values()) == ["plan", "user.name", "user.score"]
    model.set_columns(["id", "data.user.name", "data.user.score"])
    assert [c.title for c in model.shown_columns()] == ["ID", "USER.NAME", "USER.SCORE"]
    name = model.shown_columns()[1]
    assert [name.cell(model, model.sockets[s]) for s in "abc"] == ["zoe", "al", ""]
    model.set_sort("data.user.score", reverse=False)
    assert model.visible_ids() == ["b", "a", "c"]  # numbers compare as numbers, missing last
    model.set_sort("data.user.name", reverse=False)
    assert model.visible_ids() == ["b", "a", "c"]
    with pytest.raises(ValueError, match="unknown column"):
        model.set_columns(["nope"])


def test_registry_places_a_new_column_and_refuses_a_twin() -> None:
    col = colmod.Column("probe-col", "PROBE", lambda m, s: "x", None)
    try:
        colmod.register(col, after="id")
        assert list(colmod.COLUMNS)[:2] == ["id", "probe-col"]
        with pytest.raises(ValueError, match="already registered"):
            colmod.register(col)
    finally:
        del colmod.COLUMNS["probe-col"]


def test_layout_gives_rooms_room_before_a_long_address() -> None:
    """At 80 columns an IPv6 address is cut to 16 before ROOMS loses its space; a narrower
    terminal drops whole columns (least kept first) instead of cutting each to a stub,
    and never cuts the socket id to fit an address."""
    cols = [colmod.COLUMNS[c] for c in ("id", "nsp", "address", "transport", "rooms", "age")]
    address = "2001:db8:85a3::8a2e:370:7334"
    widths = colmod.layout(cols, [20, 1, len(address), 9, 30, 5], 80)
    assert widths[0] == 20 and widths[2] == 16 and widths[4] >= 20
    narrow = colmod.layout(cols, [20, 1, 10, 9, 14, 5], 60)
    assert (
        narrow[0] == 20 and narrow[2] == 0 and all(w >= 4 for i, w in enumerate(narrow) if i != 2)
    )
    wide = colmod.layout(cols, [20, 1, 10, 9, 14, 5], 120)
    assert wide[2] == 10 and 1 + sum(wide) + len(wide) - 1 == 120  # flex takes the rest


async def test_the_column_chooser_adds_a_column_and_s_sorts_by_it() -> None:
    app = SampleApp(sockets=8, packets=False)
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one("#sockets", SocketTable)
        assert "CLIENT" not in rows(table, 1)[0]
        await pilot.press("C")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ColumnsScreen)
        offered = [cid for _, cid, _, _ in screen.offered]
        assert {"client", "useragent", "data.user.name"} <= set(offered)
        # to CLIENT (second in the list) and toggle it on; to USER AGENT too
        await pilot.press("down", "space")
        await pilot.press(*["down"] * (offered.index("useragent") - 1), "space", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ColumnsScreen)
        assert "client" in app.model.columns and "useragent" in app.model.columns
        header, first = rows(table, 2)
        assert "CLIENT" in header and "USER AGENT" in header
        sock = app.model.sockets[table.keys[0]]
        assert sock.client_id in first
        # ``s`` walks the shown columns: CLIENT is one of them now
        seen = set()
        for _ in range(len(app.model.sortable_columns())):
            await pilot.press("s")
            seen.add(app.model.sort_key)
        assert "client" in seen and "useragent" in seen
        # Esc leaves the choice as it was
        await pilot.press("C", "space", "escape")
        await pilot.pause()
        assert "client" in app.model.columns
