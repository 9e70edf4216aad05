"""What a new user sees at 80x24, 120x36 and 200x60: asserted on the rendered screen."""

from __future__ import annotations

import re

import pytest
from textual.containers import VerticalScroll

from sioscope.inspector.screens.help import HelpScreen
from sioscope.inspector.screenshots import SampleApp
from sioscope.inspector.widgets.status_bar import Part, fit_status
from tests.inspector.conftest import wait_for
from tests.inspector.test_dialogs import screen_text

SIZES = [(80, 24), (120, 36), (200, 60)]
SCROLLBAR = " ▁▂▃▄▅▆▇█▉▊▋▌▍▎▏▔"
"""What the vertical scrollbar draws at a row's end."""
AGE = re.compile(r"(\d+h\d\dm|\d+m\d\ds|\d+s)$")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_status_footer_table_and_help_fit(size: tuple[int, int]) -> None:
    width, height = size
    app = SampleApp(sockets=60, packets=False)
    sock = next(iter(app.model.sockets.values()))
    sock.address = "::ffff:10.0.0.123"  # 17 characters, as an IPv4-mapped address is
    sock.rooms = [sock.id, "lobby"]
    sock.changed()
    app.model.sockets_version += 1
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: "q Quit" in screen_text(app)[-1])
        lines = screen_text(app)
        assert len(lines) == height
        assert "60 sockets" in lines[0]
        assert "? Help" in lines[-1] and "q Quit" in lines[-1], lines[-1]
        assert "/ Filter" in lines[-1] and "d Disconnect" in lines[-1], lines[-1]
        # the view keys as one when all of them (1-7) and the others need over 133 cells
        assert ("1-7 Views" in lines[-1]) == (width < 134), lines[-1]
        header = lines[1]
        for title in ("ID", "ADDRESS", "TRANSPORT", "ROOMS", "AGE"):
            assert title in header, header
        table = app.query_one("#sockets")
        assert not table.show_horizontal_scrollbar  # no empty scrollbar row
        rows = [line.rstrip(SCROLLBAR) for line in lines[2:-1] if line.strip()]
        assert len(rows) == height - 3  # every line between header and footer is a row
        ages = [AGE.search(row) for row in rows]
        assert all(ages), [r for r, a in zip(rows, ages, strict=True) if not a]  # none cut
        mine = next(line for line in lines if sock.id in line)
        assert "lobby" in mine, mine  # ROOMS has its room next to a 17-character ADDRESS

        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one(VerticalScroll).region
        assert box.x >= 0 and box.right <= width and box.bottom <= height
        text = "\n".join(screen_text(app))
        assert "What it does" in text  # the table header, whole, inside the box

        await pilot.press("escape", "5")  # the Clients view fits too
        await pilot.pause(0.2)
        lines = screen_text(app)
        for title in ("CLIENT", "TRANSPORT", "ADDRESS", "SOCKETS", "NAMESPACES", "AGE"):
            assert title in lines[1], lines[1]
        assert not app.query_one("#clients").show_horizontal_scrollbar
        mine = next(line for line in lines if sock.client_id in line)
        assert "::ffff:10.0.0.123" in mine, mine  # a 17-character address, whole


async def test_the_status_bar_keeps_what_matters_at_80_columns() -> None:
    app = SampleApp(sockets=5, packets=False)
    app.source = "a capture file with a long, long name (sioscope open demo-2026-12-01.jsonl.gz)"
    app.readonly = True
    app.model.dropped, app.model.gaps = 12, 1
    async with app.run_test(size=(80, 24)) as pilot:
        app.mark_dirty()
        await pilot.pause(0.2)
        status = screen_text(app)[0]
        assert "READ-ONLY" in status and "lost" in status and "5 sockets" in status, status
        assert "long name" not in status  # the source, the least needed, gave way
    parts = [
        Part("a" * 50),
        Part("b" * 40, "b" * 10, rank=2),
        Part("c" * 10, rank=3, droppable=True),
    ]
    assert fit_status(parts, 200) == "  │  ".join(p.text for p in parts)
    narrow = fit_status(parts, 70)
    assert narrow == "a" * 50 + " │ " + "b" * 10  # c left; a, which may not, stayed


async def test_the_footer_fits_again_after_a_resize() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(80, 24)) as pilot:
        footer = lambda: screen_text(app)[-1]  # noqa: E731
        await wait_for(lambda: "1-7 Views" in footer())
        await pilot.resize_terminal(140, 30)
        await wait_for(lambda: "7 Errors" in footer() and "q Quit" in footer())
        await pilot.resize_terminal(80, 24)
        await wait_for(lambda: "1-7 Views" in footer() and "? Help" in footer())


async def test_a_long_confirmation_keeps_its_buttons_on_an_80x24_screen() -> None:
    from textual.widgets import Button

    from sioscope.inspector.screens.confirm import ConfirmScreen

    app = SampleApp(sockets=5, packets=False)
    target = "\n".join(f"  socket{i:02d} on /" for i in range(40))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ConfirmScreen("Force-disconnect this whole client?", target))
        await pilot.pause(0.2)
        for button in app.screen.query(Button):
            region = button.region
            assert region.height and region.bottom <= 23, (button.id, region)  # above the footer
        lines = screen_text(app)
        assert any("Force-disconnect this whole client?" in line for line in lines)
        assert any("socket00 on /" in line for line in lines)  # the list's start, then it scrolls
        assert "? Help" not in lines[-1]  # the dialog's own footer
        await pilot.press("y")
        assert not isinstance(app.screen, ConfirmScreen)
