"""The diagnostics extension's server cost at scale: 10,000 sockets, 1,000 packets a second.

Issue 14's bound: the latency column, the ack pairing and the errors view cost the server
at most 5% more CPU than the packet stream alone. ``echo_diag`` (bench/admin_scenario.py)
measures the pairing on an echo where every packet is acked; this measures the rest at
the size the bound names: heartbeats of 10,000 connections (one ping and pong each per
``ping_interval``), the slow-connection pass over every connection each second, the
disconnect counts, and the pairing's check of 1,000 events a second.

How. Two identical servers (``bench/attach_server.py``: ours, ``instrument()``, 25 s
ping interval), each with a light crowd of 10,000 sockets sending 1,000 events a second
(``bench/attach_load.js``), run at the same time, so the shared machine's neighbours land
on both. Both have an admin client streaming packets (``bench/admin_client.js``); one
client also subscribes to diagnostics. The servers share CPU 0, every client runs on
CPU 1. Each round reads both servers' CPU time (``/proc/PID/stat``) over the same window;
the roles swap each round. ``cpu_ratio`` = packets-only CPU / packets+diagnostics CPU
(>= 0.95 meets the bound); the median of the rounds is the figure.

    python -m bench.diag_scale [--sockets 10000] [--pps 1000] [--window 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.inspector_attach import Crowd, start_crowd, stop_crowd

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pin(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` on ``cpu`` (a no-op on a one-core machine)."""
    if (os.cpu_count() or 1) < 2:
        return
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), {cpu})


class AdminClient:
    """``bench/admin_client.js``: logged in, subscribed, counting what it receives."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, subscribe: str) -> AdminClient:
        node = shutil.which("node") or "node"
        proc = await asyncio.create_subprocess_exec(
            node,
            str(ROOT / "bench" / "admin_client.js"),
            url,
            PASSWORD,
            subscribe,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not json.loads(line or b"{}").get("ready"):
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"admin client did not subscribe: {line!r}")
        pin(proc.pid, 1)
        return cls(proc)

    async def stop(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 10)
        await asyncio.wait_for(self.proc.wait(), 10)
        return json.loads(line) if line else {}


async def one_round(diag: Crowd, plain: Crowd, window: float) -> dict[str, Any]:
    """Both servers streaming packets, ``diag``'s client also taking diagnostics."""
    on = await AdminClient.start(diag.url, "diag")
    off = await AdminClient.start(plain.url, "packets")
    try:
        await asyncio.sleep(3.0)  # the subscriptions settled (snapshots sent)
        started = {c.server.pid: cpu_seconds(c.server.pid) for c in (diag, plain)}
        t0 = time.monotonic()
        await asyncio.sleep(window)
        elapsed = time.monotonic() - t0
        used = {pid: cpu_seconds(pid) - cpu for pid, cpu in started.items()}
    finally:
        counts_on = await on.stop()
        counts_off = await off.stop()
    on_cpu, off_cpu = used[diag.server.pid], used[plain.server.pid]
    return {
        "window_s": round(elapsed, 2),
        "cpu_diag_s": round(on_cpu, 3),
        "cpu_packets_only_s": round(off_cpu, 3),
        "cpu_ratio": round(off_cpu / on_cpu, 4) if on_cpu else None,
        "diag_client": counts_on,
        "packets_client": counts_off,
    }


async def run(sockets: int, pps: int, window: float, rounds: int) -> dict[str, Any]:
    a = await start_crowd(sockets, pps=pps, password=PASSWORD, timeout=180)
    try:
        b = await start_crowd(sockets, pps=pps, password=PASSWORD, timeout=180)
    except BaseException:
        await stop_crowd(a)
        raise
    try:
        for crowd in (a, b):
            pin(crowd.server.pid, 0)
            pin(crowd.load.pid, 1)
        results = []
        for i in range(rounds):
            diag, plain = (a, b) if i % 2 == 0 else (b, a)
            result = await one_round(diag, plain, window)
            results.append(result)
            print(json.dumps({"round": i + 1, **result}), flush=True)
    finally:
        await stop_crowd(a)
        await stop_crowd(b)
    ratios = [r["cpu_ratio"] for r in results if r["cpu_ratio"]]
    summary = {
        "sockets": sockets,
        "pps": pps,
        "rounds": rounds,
        "window_s": window,
        "cpu_ratio_median": statistics.median(ratios) if ratios else None,
        "cpu_ratios": ratios,
        "extra_cpu_pct": round((1 / statistics.median(ratios) - 1) * 100, 2) if ratios else None,
    }
    print(json.dumps(summary), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--pps", type=int, default=1_000)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.sockets, args.pps, args.window, args.rounds))


if __name__ == "__main__":
    main()
