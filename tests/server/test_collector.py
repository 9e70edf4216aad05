"""tune_collector: the start-up heap frozen, the young generation sized for a server."""

from __future__ import annotations

import gc

import pytest

from sioscope.server import tune_collector


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_freezes_what_exists_and_sets_the_thresholds(restore_gc):
    gc.unfreeze()
    tune_collector()
    assert gc.get_freeze_count() > 1000  # modules, classes, functions of start-up
    assert gc.get_threshold() == (50_000, 20, 10)
    tune_collector(young=5_000, freeze=False)
    assert gc.get_threshold() == (5_000, 20, 10)


def test_refuses_a_young_threshold_below_one(restore_gc):
    with pytest.raises(ValueError, match="young must be >= 1"):
        tune_collector(young=0)
