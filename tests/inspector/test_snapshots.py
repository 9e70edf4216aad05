"""Snapshot tests: each view of the real app at 120x36 on the seeded sample feed.

Refresh with ``pytest tests/inspector/test_snapshots.py --snapshot-update`` after an
intended visual change, and look at the diff (``snapshot_report.html``) first.
"""

from __future__ import annotations

import pytest

from sioscope.inspector.screenshots import SCENES, SIZE, SampleApp


@pytest.mark.parametrize("scene", list(SCENES))
def test_view(scene: str, snap_compare) -> None:
    assert snap_compare(SampleApp(), press=list(SCENES[scene]), terminal_size=SIZE)


async def test_moving_far_down_the_table_keeps_the_status_bar_on_screen() -> None:
    """The screen itself must never scroll: only the views do (a live demo once lost its
    status bar because the view switcher took more than the space left to it)."""
    app = SampleApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["down"] * 50)
        await pilot.pause()
        assert app.screen.scroll_y == 0
        assert app.screen.max_scroll_y == 0
        assert app.query_one("#status").region.y == 0
