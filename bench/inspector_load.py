"""Inspector under load: 10,000 sockets and 1,000 packets a second through model and app.

Feeds the official event shapes (plus ``sioscope:packets``) into ``Model.apply`` at the
rates of a busy server, runs the real App headless with its 10 Hz flush, and prints:

- update: time to apply one 100 ms worth of events to the model (p50 / p99 / max);
- flush:  time of the app's flush (reconcile the visible view with the model);
- frame:  flush plus Textual's compositing and paint of the whole screen.

A frame budget of 100 ms keeps the app fluid at 10 updates a second; 16 ms is "smooth".

    python -m bench.inspector_load [--sockets 10000] [--pps 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sioscope.inspector import sample
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.model import Model


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<28} n={len(ms):<4} p50={statistics.median(ms):7.2f} ms  "
        f"p99={pct(ms, 0.99):7.2f} ms  max={max(ms):7.2f} ms"
    )


VIEW_KEYS = {"sockets": "1", "rooms": "2", "packets": "3", "dashboard": "4"}
VIEW_KEYS.update(exchanges="6", errors="7")


async def run(
    sockets: int, pps: int, seconds: float, churn: int, view: str, diag: bool = False
) -> None:
    clock = sample.FixedClock()
    model = Model(clock=clock)
    events = sample.snapshot_events(sockets)
    t0 = time.perf_counter()
    for event, args in events:
        model.apply(event, args)
    snapshot_s = time.perf_counter() - t0
    rng = random.Random(5)
    clients = [s.client_id for s in model.sockets.values()]
    ids = list(model.sockets)
    per_tick = pps // 10
    batches = sample.packet_batches(clients, per_tick, int(seconds * 10) + 10, start=clock.now)
    # ``--diag``: one sioscope:diagnostics a second, as the server sends them: heartbeats
    # of a fifth of the clients (five times a 25 s ping interval's share), 100 exchanges,
    # refusals, disconnect reasons and the slow list; the socket table sorted by RTT.
    diag_messages = iter(
        sample.diagnostics_messages(
            [s.to_json() for s in model.sockets.values()],
            seconds=int(seconds) + 2,
            end=clock.now + seconds + 1,
            exchanges_per_s=100,
        )
        if diag
        else ()
    )
    if diag:
        model.apply(*next(diag_messages))  # the snapshot: every client's round trip
        model.set_sort("rtt")
    app = InspectorApp(model, None, source="bench", flush_interval=3600)  # we drive flushes
    updates: list[float] = []
    flushes: list[float] = []
    frames: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        t0 = time.perf_counter()
        app.flush()
        await pilot.pause()
        first_paint = time.perf_counter() - t0
        await pilot.press(VIEW_KEYS[view])
        n = 0
        for event, args in batches:
            if n >= seconds * 10:
                break
            n += 1
            clock.now += 0.1
            t0 = time.perf_counter()
            model.apply(event, args)
            if diag and n % 10 == 0:
                with contextlib.suppress(StopIteration):
                    model.apply(*next(diag_messages))
            for _ in range(churn // 10):  # sockets come and go, rooms change
                gone = ids.pop(rng.randrange(len(ids)))
                model.apply("socket_disconnected", ["/", gone, "transport close", None])
                fresh = sample.wire_socket(rng, n, clock.now)
                model.apply("socket_connected", [fresh, None])
                ids.append(fresh["id"])
                model.apply("room_joined", ["/", "lobby", rng.choice(ids), None])
            updates.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            app.flush()
            flushes.append(time.perf_counter() - t0)
            await pilot.pause()
            frames.append(time.perf_counter() - t0)
        # the keys a user presses must stay responsive under that load
        t0 = time.perf_counter()
        await pilot.press("1", "down", "down", "pagedown", "enter", "escape")
        keys_s = time.perf_counter() - t0
    print(
        f"inspector load: {sockets} sockets, {pps} packets/s, churn {churn} sockets/s, "
        f"view {view}, {n} updates of 100 ms" + (", with diagnostics" if diag else "")
    )
    print(f"{'snapshot (all_sockets) apply':<28} {snapshot_s * 1000:8.1f} ms")
    print(f"{'first paint':<28} {first_paint * 1000:8.1f} ms")
    print(line("update (model, per 100 ms)", updates))
    print(line("flush (app reconcile)", flushes))
    print(line("frame (flush + paint)", frames))
    print(f"{'frame p95':<28} {pct([f * 1000 for f in frames], 0.95):8.2f} ms")
    print(f"{'6 keys (nav, open, back)':<28} {keys_s * 1000:8.1f} ms")
    print(f"packet ring: {len(model.packets.records)} records, sockets now {len(model.sockets)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--pps", type=int, default=1_000, help="packets per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--churn", type=int, default=50, help="socket connects+leaves per second")
    parser.add_argument("--view", choices=sorted(VIEW_KEYS), default="sockets")
    parser.add_argument(
        "--diag", action="store_true", help="also one sioscope:diagnostics message a second"
    )
    args = parser.parse_args()
    views = [args.view] if "--view" in sys.argv else ["sockets", "packets"]
    if args.diag and "--view" not in sys.argv:
        views = ["sockets", "exchanges", "errors", "dashboard"]
    for view in views:
        asyncio.run(run(args.sockets, args.pps, args.seconds, args.churn, view, args.diag))


if __name__ == "__main__":
    main()
