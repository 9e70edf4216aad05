"""Key latency of the inspector attached to a busy server in another process.

The server side runs elsewhere, so the figure is the inspector's own: either
``sioscope demo``'s server and bots (``bench/demo_server.py``, ``--clients 1000``) or a
crowd of sockets on our server (``bench/attach_server.py`` + ``bench/attach_load.js``,
``--sockets 10000``, with ~1,000 events a second). The inspector is this process: the real
``InspectorApp`` (headless, 200x60) on the real ``AdminClient``.

A latency is from the key event handed to the app (as a terminal driver hands it one) to
the first frame that shows its effect: the app's ``_display`` is wrapped, and at each frame
the key's condition is checked (Textual composes a frame and passes it to ``_display`` in
one synchronous step, so the state seen there is the state drawn). The wrapper also turns
the frame into the terminal's bytes (``render_segments``), which a real driver does and
the headless one skips; only the write to a pty is left out. Keys measured:

- ``down``: the Sockets table's cursor one row down;
- ``view``: a view switch (1 → 2 → 3 → 4 → 1 …), until the new view is laid out on screen;
- ``filter key``: one keystroke in the open filter box, until the filter is applied;
- ``sort``: ``s``, until the model's sort column changed.

Before the keys, ``steady_cpu``: the inspector's CPU seconds per second over 3 s of only
following the server (the budget left for keys is what this leaves of a core).

The collector is tuned as ``sioscope inspect`` tunes it (``tune_collector``) unless
``--default-gc``.

``--method pilot`` times as the first version of this script did: ``Pilot.press`` and a
``pause(0)``. Pilot waits for the process to go idle after each key (``wait_for_idle``:
20 ms slices until one uses under 1 ms of CPU, at most 1 s, twice), so under a steady
event stream it times the stream's CPU as much as the key: at least 40 ms for any key,
and up to 2 s when the process never idles. Kept to compare with the figures it gave.

Goals (issue 15, Speed): a key within 100 ms p95, a view switch within 200 ms p95.

    python -m bench.inspector_keys --server crowd [--sockets 10000] [--presses 30]
    python -m bench.inspector_keys --server demo [--clients 1000]
    ... [--method frame|pilot] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.inspector_attach import ROOT, _first_json_line, _stop, start_crowd, stop_crowd

STEADY_S = 3.0
"""Seconds of following the server, no key pressed, over which ``steady_cpu`` (the
inspector process's CPU seconds per second) is taken."""
VIEW_KEYS = (("2", "rooms"), ("3", "packets"), ("4", "dashboard"), ("1", "sockets"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(pct(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
    }


async def measure_pilot(
    pilot: Any, key: str, done: Callable[[], bool], limit: float = 5.0
) -> float:
    """Press ``key`` through Pilot; the seconds until ``done()`` holds and Pilot's idle."""
    started = time.perf_counter()
    await pilot.press(key)
    while not done():
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"{key!r}: no effect within {limit}s")
        await asyncio.sleep(0.001)
    await pilot.pause(0)  # the refresh the change scheduled
    return time.perf_counter() - started


class FrameProbe:
    """Stamps the first frame composed after a key at which the key's effect holds."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.done: Callable[[], bool] | None = None
        self.shown: asyncio.Future[float] | None = None
        self.frames = 0
        original = app._display
        console = app.console

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            self.frames += 1
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(console)  # what a terminal driver would write
            if self.done is not None and self.shown is not None and not self.shown.done():
                if self.done():
                    self.shown.set_result(time.perf_counter())

        # Textual's private hook for a composed frame; the bench's own instrument.
        app._display = display

    async def measure(self, key: str, done: Callable[[], bool], limit: float = 5.0) -> float:
        """Hand ``key`` to the app; the seconds until a frame shows ``done()``."""
        from textual import events

        self.done = done
        self.shown = asyncio.get_running_loop().create_future()
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(self.app)
        started = time.perf_counter()
        self.app._driver.send_message(event)  # as the terminal driver posts a key
        try:
            shown = await asyncio.wait_for(self.shown, limit)
        except TimeoutError:
            raise TimeoutError(f"{key!r}: no frame with its effect within {limit}s") from None
        finally:
            self.done = None
        return shown - started


async def drive(
    url: str, expect: int, presses: int, method: str = "frame", collector: bool = True
) -> dict[str, Any]:
    from sioscope.inspector.app import InspectorApp
    from sioscope.inspector.client import AdminClient, ClientOptions
    from sioscope.inspector.model import Model

    model = Model()
    client = AdminClient(ClientOptions(url=url), model)
    await client.connect()
    client.start()
    app = InspectorApp(model, client, source=url)
    if collector:
        from sioscope.server.collector import tune_collector

        tune_collector()  # as ``sioscope inspect`` does before it runs the app
    out: dict[str, list[float]] = {"down": [], "view": [], "filter key": [], "sort": []}
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            deadline = time.monotonic() + 60
            while len(model.sockets) < expect and time.monotonic() < deadline:
                await pilot.pause(0.05)
            await pilot.pause(1.0)  # a second of steady state first
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(STEADY_S)  # the inspector's CPU while it only follows
            steady_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            table = app.query_one("#sockets")
            probe = FrameProbe(app)

            async def measure(key: str, done: Callable[[], bool]) -> float:
                if method == "pilot":
                    return await measure_pilot(pilot, key, done)
                return await probe.measure(key, done)

            def shown(name: str) -> Callable[[], bool]:
                widget = app.query_one(f"#{name}")
                return lambda: app.view == name and widget.region.height > 0

            for _ in range(presses):
                row = table.cursor_row  # type: ignore[attr-defined]
                out["down"].append(
                    await measure("down", lambda r=row: table.cursor_row != r)  # type: ignore[attr-defined,misc]
                )
                await pilot.pause(0.05)
            for i in range(presses):
                key, name = VIEW_KEYS[i % len(VIEW_KEYS)]
                out["view"].append(await measure(key, shown(name)))
                await pilot.pause(0.05)
            if app.view != "sockets":
                await pilot.press("1")
            for _ in range(presses):
                before = model.sort_key
                out["sort"].append(
                    await measure("s", lambda b=before: model.sort_key != b)  # type: ignore[misc]
                )
                await pilot.pause(0.05)
            await pilot.press("slash")
            for i in range(presses):
                # A letter, then backspace: each one keystroke that re-filters 10,000 rows.
                key, want = ("abcdefghij"[i % 10], None) if i % 2 == 0 else ("backspace", "")
                typed = want if want is not None else key
                out["filter key"].append(
                    await measure(key, lambda t=typed: model.filter.expression == t)  # type: ignore[misc]
                )
                await pilot.pause(0.05)
            sockets = len(model.sockets)
    finally:
        await client.close()
    return {
        "sockets": sockets,
        "steady_cpu": round(steady_cpu, 3),
        **{k: summary(v) for k, v in out.items()},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.server == "crowd":
        crowd = await start_crowd(args.sockets, pps=args.pps, node=args.node)
        try:
            result = await drive(
                crowd.url, crowd.sockets, args.presses, args.method, not args.default_gc
            )
        finally:
            await stop_crowd(crowd)
        server = f"crowd of {crowd.sockets} sockets, {args.pps} events/s"
        return {"server": server, "method": args.method, **result}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.demo_server",
        "--clients",
        str(args.clients),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        info = await _first_json_line(proc, 120)
        url = f"http://127.0.0.1:{info['port']}"
        result = await drive(
            url, int(args.clients * 0.9), args.presses, args.method, not args.default_gc
        )
    finally:
        with contextlib.suppress(Exception):
            await _stop(proc)
    return {"server": f"demo with {args.clients} clients", "method": args.method, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("crowd", "demo"), default="crowd")
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--pps", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--node", default="node")
    parser.add_argument("--method", choices=("frame", "pilot"), default="frame")
    parser.add_argument(
        "--default-gc", action="store_true", help="leave the collector as Python sets it"
    )
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
