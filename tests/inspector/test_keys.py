"""Keys as data: the footer, the help screen, the palette and the README share one table."""

from __future__ import annotations

import asyncio
import sys

from sioscope.inspector.app import InspectorApp
from sioscope.inspector.keys import KEYS, bindings, markdown_table
from sioscope.inspector.screens.help import HelpScreen
from sioscope.inspector.screenshots import SampleApp, sample_model
from tests.conftest import ROOT


def test_every_binding_has_a_unique_id_and_help() -> None:
    ids = [k.id for k in KEYS]
    assert len(ids) == len(set(ids))
    assert all(k.help and k.description for k in KEYS)
    assert {b.id for b in bindings()} == set(ids) - {"open"}


def test_readme_key_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- inspector-keys:begin -->") + len("<!-- inspector-keys:begin -->")
    end = readme.index("<!-- inspector-keys:end -->")
    assert readme[start:end].strip() == markdown_table()


async def test_help_and_palette_follow_the_table() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        entries = {k.id for k, _ in app.palette_entries()}
        assert "disconnect" in entries and "pause" not in entries  # pause is a Packets key
        await pilot.press("3")
        assert "pause" in {k.id for k, _ in app.palette_entries()}
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert set(app.screen.available) == {k.id for k in KEYS}
    plain = InspectorApp(sample_model(5, packets=False))  # no client: nothing destructive
    async with plain.run_test(size=(120, 36)):
        entries = {k.id for k, _ in plain.palette_entries()}
        assert not any(k.destructive and k.id in entries for k in KEYS)


async def test_bench_script_runs_and_reports() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "bench/inspector_load.py",
        "--sockets",
        "2000",
        "--pps",
        "500",
        "--seconds",
        "0.5",
        "--view",
        "sockets",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    for label in ("update (model, per 100 ms)", "flush (app reconcile)", "frame (flush + paint)"):
        assert label in text
    assert "sockets now 2000" in text  # the churn kept the population steady


async def test_rooms_view_follows_the_socket_filter() -> None:
    app = SampleApp(sockets=40, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2")
        tree = app.query_one("#rooms")
        labels = lambda: [str(n.label) for n in tree.root.children[0].children]  # noqa: E731
        assert any(label.startswith("lobby") for label in labels())
        await pilot.press("slash", *"room:vip", "enter")
        await pilot.pause()
        # only rooms that vip members are in remain, vip itself among them
        assert any(label.startswith("vip") for label in labels())
        assert len(labels()) < 6


async def test_command_palette_runs_an_action() -> None:
    app = SampleApp(sockets=10, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Dashboard")
        await pilot.pause(0.5)  # the palette searches in a worker
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.view == "dashboard"


async def test_sort_shows_in_the_header_and_the_toast_names_the_column() -> None:
    app = SampleApp(sockets=5, packets=False)
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        table = app.query_one("#sockets")
        titles = [title for title, _ in table.columns]
        marked = [t for t in titles if t.endswith(("▲", "▼"))]
        assert len(marked) == 1 and said[-1] == f"sorted by {marked[0][:-1]}", (titles, said)
        await pilot.press("S")
        await pilot.pause()
        assert marked[0][:-1] + "▼" in [t for t, _ in table.columns]


async def test_escape_in_the_filter_takes_back_what_was_typed() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash", *"polling", "enter")
        assert app.model.filter.expression == "polling"
        await pilot.press("slash", *" xyz", "escape")
        await pilot.pause()
        assert app.model.filter.expression == "polling"


async def test_the_rooms_view_says_when_the_socket_filter_narrows_it() -> None:
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert "rooms of the sockets" not in str(app.query_one("#banner").render())
        await pilot.press("1", "slash", *"polling", "enter", "2")
        await pilot.pause()
        banner = str(app.query_one("#banner").render())
        assert "rooms of the sockets matching 'polling'" in banner, banner


async def test_export_goes_to_a_chosen_place_without_drains_and_says_where(tmp_path) -> None:
    """ctrl+s writes a capture (``sioscope record``'s format) into the export dir."""
    from pathlib import Path

    from sioscope.inspector.app import InspectorApp, default_export_dir
    from sioscope.inspector.capture import read_capture
    from sioscope.inspector.model import Model

    assert InspectorApp(Model()).export_dir == default_export_dir() != Path.cwd()
    app = SampleApp(sockets=5, packets=True)
    app.export_dir = tmp_path / "out"
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    cid = next(iter(app.model.sockets.values())).client_id
    ms = int(app.model.clock() * 1000)
    records = [[ms, cid, "out", "message", 4, '2["x"]'], [ms, cid, "drain", None, 0, None]]
    app.model.apply("sioscope:packets", [{"seq": 41, "dropped": 0, "records": records}])
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    (path,) = (tmp_path / "out").glob("sioscope-capture-*.jsonl")
    assert said[-1].startswith(f"exported to {tmp_path / 'out'}: sioscope-sockets-")
    assert f"sioscope open {path}" in said[-1]

    def kinds(capture_path: Path) -> set[str]:
        capture = read_capture(capture_path)
        batches = [a[0] for _, e, a in capture.events if e == "sioscope:packets"]
        return {r[2] for b in batches for r in b["records"]}

    assert kinds(path) == {"in", "out"}  # the sample's and ours, no drain
    fresh = Model()
    from sioscope.inspector.capture import replay

    replay(read_capture(path), fresh)
    assert set(fresh.sockets) == set(app.model.sockets)
    assert fresh.packets.total == app.model.packets.total - 1  # all but the drain
    app.export_drains = True
    (again,) = (p for p in app.export() if p.name.startswith("sioscope-capture-"))
    assert "drain" in kinds(again)


async def test_the_detail_tree_shows_json_values() -> None:
    from sioscope.inspector.screens.detail import DetailScreen
    from sioscope.inspector.widgets.rooms_tree import walk

    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        labels = [str(n.label) for n in walk(app.screen.query_one("#tree").root)]
        assert "xdomain=false" in labels and "secure=false" in labels, labels
        assert not any(label.endswith(("=False", "=True", "=None")) for label in labels)
