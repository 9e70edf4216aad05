"""``server/timers.py``: timer lists, one loop timer per duration (Node's timers)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sioscope.server.timers import TimerList


async def test_timers_fire_in_order_once_and_cancelled_ones_never() -> None:
    loop = asyncio.get_running_loop()
    timers = TimerList(0.05)
    fired: list[tuple[str, float]] = []
    started = loop.time()
    first = timers.add(lambda name: fired.append((name, loop.time())), "a")
    cancelled = timers.add(lambda name: fired.append((name, loop.time())), "b")
    await asyncio.sleep(0.02)
    timers.add(lambda name: fired.append((name, loop.time())), "c")
    cancelled.cancel()
    assert cancelled.cancelled() and not first.cancelled()
    assert len(timers) == 2  # a cancelled timer leaves the list at once
    assert first.when() == pytest.approx(started + 0.05, abs=0.01)
    await asyncio.sleep(0.12)
    assert [name for name, _ in fired] == ["a", "c"]
    # each on time: none before it was due (within the loop's millisecond), none late
    assert fired[0][1] - started == pytest.approx(0.05, abs=0.03)
    assert fired[1][1] - started == pytest.approx(0.07, abs=0.03)
    assert first.cancelled() and len(timers) == 0  # a fired timer holds nothing
    timers.add(lambda name: fired.append((name, loop.time())), "d")
    timers.close()  # the owner closing: nothing fires, no loop timer left
    await asyncio.sleep(0.08)
    assert [name for name, _ in fired] == ["a", "c"]


async def test_a_callback_that_raises_is_logged_and_the_next_still_runs(caplog) -> None:
    timers = TimerList(0.01)
    fired: list[str] = []

    def boom(_: object) -> None:
        raise RuntimeError("boom")

    timers.add(boom, None)
    timers.add(fired.append, "after")
    with caplog.at_level(logging.ERROR, logger="sioscope"):
        await asyncio.sleep(0.06)
    assert fired == ["after"]
    assert "timer callback" in caplog.text and "boom" in caplog.text
