"""Snapshot tests: each view of the real app at 120x36 on the seeded sample feed.

Refresh with ``pytest tests/inspector/test_snapshots.py --snapshot-update`` after an
intended visual change, and look at the diff (``snapshot_report.html``) first.
"""

from __future__ import annotations

import pytest

from inspector.screenshots import SCENES, SIZE, SampleApp


@pytest.mark.parametrize("scene", list(SCENES))
def test_view(scene: str, snap_compare) -> None:
    assert snap_compare(SampleApp(), press=list(SCENES[scene]), terminal_size=SIZE)
