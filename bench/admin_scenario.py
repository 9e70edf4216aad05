"""Bench plugin: the cost of an admin client streaming Engine.IO packets.

The question (issue 4): with an admin client subscribed to the packet stream
(docs/admin-extension.md), how much echo throughput does the server keep, relative to
the same load with no admin client? Target: >= 0.9.

How it is measured. Sequential off/on phases proved useless on this shared 2-core
machine: the neighbours' load moved throughput 2-5x between phases, far more than the
effect measured. So the two sides run *at the same time*:

* two identical instrumented servers (the bench's sioscope echo server plus
  ``instrument()``): the harness's fresh one and a twin started here; production mode
  (``sioscope-admin``: ``server_stats`` only, plus the packet stream for who asks) or
  development mode (``sioscope-admin-dev``, Node's default: every event is also
  broadcast to admin clients);
* the standard ``echo`` load (Node load generator) on both at once, while a separate
  admin client process (``bench/admin_client.js``, socket.io-client) is logged in to
  one of them and subscribed to the packet stream, counting the records, batches and
  drops it receives;
* the two servers share CPU 0 and every client (load generators, admin client) runs
  on CPU 1, so the servers compete only with each other and each one's throughput
  follows its own CPU cost;
* three such runs, the roles swapped each time; ``echo_admin_on`` / ``echo_admin_off``
  are the medians of each side, ``ratio`` the median of on / off throughput,
  ``cpu_ratio`` the median of off / on server CPU per echo.

Run: ``python -m bench --servers sioscope-admin,sioscope-admin-dev --scenarios
echo_admin --scale quick``.

``echo_diag`` is the same A/B one step further (issue 14's bound: the diagnostics
extension costs at most 5% more server CPU than the packet stream alone): both servers
have an admin client streaming packets, and the "on" side's client also subscribes to
``sioscope:diagnostics`` (ack pairing on every echo, its heartbeats, loop lag). Its
``cpu_ratio`` is off/on server CPU per echo (>= 0.95 meets the bound).

The module is also the instrumented server (``python -m bench.admin_scenario serve``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from typing import Any

from bench.run import ROOT, BenchError, _readline, run_loadgen
from bench.scenarios import SCALES, SCENARIOS, RunContext, Scenario
from bench.servers import ServerSpec

PASSWORD = "bench"
SCENARIO = "echo_admin"
DIAG_SCENARIO = "echo_diag"
SERVERS = ("sioscope-admin", "sioscope-admin-dev")
CLIENT_READY_S = 15.0

# -- the instrumented server ---------------------------------------------------------


def make_app(mode: str) -> Any:
    """The bench's three behaviours (as bench/servers/sioscope_server.py) + instrument()."""
    import bcrypt

    from bench.servers.sioscope_server import make_server
    from sioscope.server.admin import instrument

    io, app = make_server()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    instrument(io, auth={"type": "basic", "username": "admin", "password": hashed}, mode=mode)
    return app


def serve(argv: list[str]) -> None:
    from bench.servers._common import serve as run

    mode = "production"
    if "--mode" in argv:
        i = argv.index("--mode")
        mode = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    run(lambda: make_app(mode), argv)


# -- the scenario --------------------------------------------------------------------


# The two servers share CPU 0; the load generators and the admin client run on CPU 1.
# So the servers compete only with each other (throughput then follows each one's CPU
# cost), never with the clients whose work is not the server's.
_CLIENT_CPU = 1 if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else None
_CLIENT_PIN = ["taskset", "-c", str(_CLIENT_CPU)] if _CLIENT_CPU is not None else []


def _pin_servers(*pids: int) -> None:
    if _CLIENT_CPU is None:
        return
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):  # every thread, not just the main one
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(tid), {0})


class _AdminClient:
    """The admin client process, subscribed to the packet stream while it lives."""

    def __init__(self, url: str, subscribe: str = "packets") -> None:
        node = shutil.which("node")
        if node is None:
            raise BenchError("Node.js is not installed: the admin client needs it")
        script = str(ROOT / "bench" / "admin_client.js")
        self.proc = subprocess.Popen(
            [*_CLIENT_PIN, node, script, url, PASSWORD, subscribe],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = _readline(self.proc.stdout, CLIENT_READY_S)
        if not line or not json.loads(line).get("ready"):
            self.proc.kill()
            self.proc.wait(3)
            raise BenchError("the admin client did not subscribe")

    def stop(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        line = _readline(self.proc.stdout, CLIENT_READY_S)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(3)
        return json.loads(line) if line else {"error": "admin client gave no counts"}


def _echo(ctx: RunContext) -> dict[str, Any]:
    records = run_loadgen(ctx, SCENARIOS["echo"], pin=_CLIENT_CPU)
    return dict(next(r for r in records if r.get("scenario", "echo") == "echo"))


def _side_by_side(
    on_ctx: RunContext, off_ctx: RunContext, *, diagnostics: bool = False
) -> tuple[dict[str, Any], ...]:
    """One echo load on each of two identical servers at the same time, an admin client
    streaming from ``on_ctx``'s only: whatever the neighbours do lands on both. With
    ``diagnostics``, both stream packets and only ``on_ctx``'s also takes diagnostics."""
    on_url = f"http://{on_ctx.host}:{on_ctx.port}"
    baseline: _AdminClient | None = None
    if diagnostics:
        admin = _AdminClient(on_url, "diag")
        baseline = _AdminClient(f"http://{off_ctx.host}:{off_ctx.port}")
    else:
        admin = _AdminClient(on_url)
    box: dict[str, Any] = {}

    def load(name: str, ctx: RunContext) -> None:
        try:
            box[name] = _echo(ctx)
        except BaseException as exc:  # reported below, in the harness's thread
            box[name] = exc

    threads = [
        threading.Thread(target=load, args=(name, c), daemon=True)
        for name, c in (("on", on_ctx), ("off", off_ctx))
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(on_ctx.timeout_s + 30)
    finally:
        counts = admin.stop()
        if baseline is not None:
            box["baseline_admin"] = baseline.stop()
    for name in ("on", "off"):
        if isinstance(box.get(name), BaseException) or name not in box:
            raise BenchError(f"echo load ({name}) failed: {box.get(name)!r}")
    box["on"]["admin"] = counts
    if "baseline_admin" in box:
        box["off"]["admin"] = box["baseline_admin"]
    return box["on"], box["off"]


def run_echo_admin(ctx: RunContext) -> list[dict[str, Any]]:
    """``echo_admin``: admin client streaming packets vs no admin client."""
    return _run_pairs(ctx, SCENARIO, diagnostics=False)


def run_echo_diag(ctx: RunContext) -> list[dict[str, Any]]:
    """``echo_diag``: packets + diagnostics vs the packet stream alone."""
    return _run_pairs(ctx, DIAG_SCENARIO, diagnostics=True)


def _run_pairs(ctx: RunContext, scenario: str, *, diagnostics: bool) -> list[dict[str, Any]]:
    from bench.run import start_server
    from bench.servers import SERVERS as ALL

    if ctx.server not in SERVERS:
        raise BenchError(f"{scenario} needs an instrumented server ({', '.join(SERVERS)})")
    with tempfile.TemporaryFile("w+") as log:
        twin = start_server(ALL[ctx.server], log)  # type: ignore[arg-type]
        try:
            _pin_servers(ctx.pid, twin.pid)
            ctx2 = replace(ctx, port=twin.port, pid=twin.pid)
            # Roles swap each run, so a difference between the two servers' placement
            # cancels out: (first on, twin off), (twin on, first off), (first on, ...).
            runs = [
                _side_by_side(a, b, diagnostics=diagnostics)
                for a, b in ((ctx, ctx2), (ctx2, ctx), (ctx, ctx2))
            ]
        finally:
            twin.stop()

    def median(recs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in recs if isinstance(r.get(key), int | float)]
        return statistics.median(vals) if vals else None

    out = []
    for index, name in ((1, "off"), (0, "on")):
        recs = [run[index] for run in runs]
        row = dict(recs[0])
        row["scenario"] = f"{scenario}_{name}"
        for key in ("throughput_per_s", "server_cpu_us_per_op", "p50_ms", "p99_ms"):
            row[key] = median(recs, key)
        row["phases"] = [r.get("throughput_per_s") for r in recs]
        out.append(row)
    on = out[1]
    tput = [
        n["throughput_per_s"] / o["throughput_per_s"]
        for n, o in runs
        if n.get("throughput_per_s") and o.get("throughput_per_s")
    ]
    cpu = [
        o["server_cpu_us_per_op"] / n["server_cpu_us_per_op"]
        for n, o in runs
        if n.get("server_cpu_us_per_op") and o.get("server_cpu_us_per_op")
    ]
    if tput:
        on["ratio"] = statistics.median(tput)
        on["pair_ratios"] = tput
    if cpu:
        on["cpu_ratio"] = statistics.median(cpu)
    on["admin"] = [n["admin"] for n, _ in runs]
    return out


def register(registry: Any) -> None:
    """Add the instrumented servers and the ``echo_admin`` scenario to the bench."""
    for sizes in SCALES.values():
        sizes.setdefault(SCENARIO, dict(sizes.get("echo", {})))
        sizes.setdefault(DIAG_SCENARIO, dict(sizes.get("echo", {})))
    from bench.servers import SERVERS as ALL

    ours = {SCENARIO, DIAG_SCENARIO}
    others = frozenset(name for name in SCENARIOS if name not in ours)
    for name, mode in zip(SERVERS, ("production", "development"), strict=True):
        registry.server(
            ServerSpec(
                name,
                f"sioscope + instrument() ({mode}), admin client streaming packets",
                lambda mode=mode: [
                    sys.executable,
                    "-m",
                    "bench.admin_scenario",
                    "serve",
                    "--mode",
                    mode,
                    "--loop",
                    "auto",  # as the registry's plain sioscope server
                ],
                skips=others,
            )
        )
    for name, spec in list(ALL.items()):
        if name not in SERVERS and not ours <= spec.skips:
            registry.server(replace(spec, skips=spec.skips | ours))
    registry.scenario(
        Scenario(
            SCENARIO,
            (f"{SCENARIO}_off", f"{SCENARIO}_on"),
            "ack",
            "echo on two identical servers at once, an admin client streaming packets "
            "from one of them (roles swapped over 3 runs); `ratio` = on/off throughput",
            run=run_echo_admin,
        )
    )
    registry.scenario(
        Scenario(
            DIAG_SCENARIO,
            (f"{DIAG_SCENARIO}_off", f"{DIAG_SCENARIO}_on"),
            "ack",
            "echo on two identical servers at once, both streaming packets to an admin "
            "client, one also sending it diagnostics (roles swapped over 3 runs); "
            "`cpu_ratio` = off/on server CPU per echo",
            run=run_echo_diag,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.admin_scenario serve [--mode M] [server options]")
