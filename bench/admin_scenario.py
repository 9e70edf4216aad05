"""Bench plugin: the cost of an admin client streaming Engine.IO packets.

The question (issue 4): with an admin client subscribed to the packet stream
(docs/admin-extension.md), how much echo throughput does the server keep, relative to
the same load with no admin client? Target: >= 0.9.

How it is measured, on one fresh instrumented server per round:

* the server is the bench's sioscope echo server plus ``instrument()``, in production
  mode (``sioscope-admin``; the Admin UI's mode for busy servers: only ``server_stats``
  and, for who asks, the packet stream) or development mode (``sioscope-admin-dev``:
  Node's default, where every event is also broadcast to admin clients);
* phases off / on / on / off / off / on (so drift lands on both): the Node load
  generator runs the standard ``echo`` scenario, and during "on" phases a separate
  admin client process (python-socketio) is logged in and subscribed to the packet
  stream, counting the records, batches and drops it receives;
* results ``echo_admin_off`` and ``echo_admin_on`` (medians of their phases), the
  latter with ``ratio`` = median over neighbouring (off, on) pairs of on / off
  throughput, ``cpu_ratio`` the same for server CPU per echo (off / on), and the admin
  client's counts.

Run: ``python -m bench --servers sioscope-admin,sioscope-admin-dev --scenarios
echo_admin --scale quick``. The module is also the instrumented server
(``python -m bench.admin_scenario serve``) and the admin client
(``python -m bench.admin_scenario client URL``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

from bench.run import ROOT, BenchError, _readline, run_loadgen
from bench.scenarios import SCALES, SCENARIOS, RunContext, Scenario
from bench.servers import ServerSpec

PASSWORD = "bench"
SCENARIO = "echo_admin"
SERVERS = ("sioscope-admin", "sioscope-admin-dev")
CLIENT_READY_S = 15.0

# -- the instrumented server ---------------------------------------------------------


def make_app(mode: str) -> Any:
    """The bench's three behaviours (as bench/servers/sioscope_server.py) + instrument()."""
    import bcrypt
    from aiohttp import web

    from server import Server
    from server.admin import instrument

    io = Server(ping_interval=25, ping_timeout=20)
    app = web.Application()
    io.attach(app)

    @io.on("connection")
    def on_connection(socket: Any) -> None:
        socket.join("all")

        @socket.on("echo")
        def echo(arg: Any = None, ack: Any = None) -> None:
            if ack is not None:
                ack(arg)

        @socket.on("broadcast")
        def broadcast(payload: Any = None) -> None:
            io.to("all").emit("broadcast", payload)

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


# -- the admin client ----------------------------------------------------------------


async def admin_client(url: str, subscribe: bool = True) -> None:
    """Log in, subscribe, count what arrives; print the counts when stdin closes."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    counts = {"batches": 0, "records": 0, "dropped": 0, "seq_gaps": 0, "last_seq": 0}

    @sio.on("sioscope:packets", namespace="/admin")
    def on_packets(batch: dict[str, Any]) -> None:
        counts["batches"] += 1
        counts["records"] += len(batch["records"])
        counts["dropped"] += batch["dropped"]
        if batch["seq"] != counts["last_seq"] + 1:
            counts["seq_gaps"] += 1
        counts["last_seq"] = batch["seq"]

    subscribed = asyncio.Event()
    sio.on("sioscope:snapshot", lambda *_: subscribed.set(), namespace="/admin")
    auth = {"username": "admin", "password": PASSWORD, "sioscope": {"packets": subscribe}}
    await sio.connect(url, namespaces=["/admin"], auth=auth, transports=["websocket"])
    if subscribe:
        await asyncio.wait_for(subscribed.wait(), CLIENT_READY_S)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the harness closes stdin
    await sio.disconnect()
    print(json.dumps(counts), flush=True)


# -- the scenario --------------------------------------------------------------------


def _pins(server_pid: int) -> tuple[int | None, list[str]]:
    """When the harness pinned the server (``--pin``: CPU 0), the load generator goes
    to CPU 1; the admin client joins it there, so it never shares the server's core."""
    try:
        server_cpus = os.sched_getaffinity(server_pid)
    except OSError:
        return None, []
    if server_cpus != {0} or shutil.which("taskset") is None:
        return None, []
    return 1, ["taskset", "-c", "1"]


def _phase(ctx: RunContext, with_admin: bool) -> dict[str, Any]:
    echo = SCENARIOS["echo"]
    loadgen_cpu, client_prefix = _pins(ctx.pid)
    proc = None
    if with_admin:
        url = f"http://{ctx.host}:{ctx.port}"
        proc = subprocess.Popen(
            [*client_prefix, sys.executable, "-m", "bench.admin_scenario", "client", url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = _readline(proc.stdout, CLIENT_READY_S)
        if not line or not json.loads(line).get("ready"):
            proc.kill()
            proc.wait(3)
            raise BenchError("the admin client did not subscribe")
    try:
        records = run_loadgen(ctx, echo, pin=loadgen_cpu)
        rec = dict(next(r for r in records if r.get("scenario", "echo") == "echo"))
    finally:
        counts: dict[str, Any] = {}
        if proc is not None:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            line = _readline(proc.stdout, CLIENT_READY_S)
            proc.wait(5)
            counts = json.loads(line) if line else {"error": "admin client gave no counts"}
    if counts:
        rec["admin"] = counts
    return rec


# Balanced order (ABBA BA): slow drifts of the neighbours' load land on both sides.
PHASES = ("off", "on", "on", "off", "off", "on")


def run_echo_admin(ctx: RunContext) -> list[dict[str, Any]]:
    if ctx.server not in SERVERS:
        raise BenchError(f"{SCENARIO} needs an instrumented server ({', '.join(SERVERS)})")
    runs: list[tuple[str, dict[str, Any]]] = []
    for name in PHASES:
        runs.append((name, _phase(ctx, name == "on")))
        time.sleep(0.2)

    def median(recs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in recs if isinstance(r.get(key), int | float)]
        return statistics.median(vals) if vals else None

    out = []
    for name in ("off", "on"):
        recs = [r for n, r in runs if n == name]
        row = dict(recs[0])
        row["scenario"] = f"{SCENARIO}_{name}"
        for key in ("throughput_per_s", "server_cpu_us_per_op", "p50_ms", "p99_ms"):
            row[key] = median(recs, key)
        row["phases"] = [r.get("throughput_per_s") for r in recs]
        out.append(row)
    on = out[1]
    # Each "on" phase against its neighbouring "off" phase, then the median: on a shared
    # 2-core machine the neighbours' load swings more between phases than within a pair.
    pairs = [(runs[i][1], runs[i + 1][1]) for i in (0, 2, 4)]  # (off,on) (on,off) (off,on)
    tput, cpu = [], []
    for a, b in pairs:
        o, n = (a, b) if "admin" not in a else (b, a)
        if o.get("throughput_per_s") and n.get("throughput_per_s"):
            tput.append(n["throughput_per_s"] / o["throughput_per_s"])
        if o.get("server_cpu_us_per_op") and n.get("server_cpu_us_per_op"):
            cpu.append(o["server_cpu_us_per_op"] / n["server_cpu_us_per_op"])
    if tput:
        on["ratio"] = statistics.median(tput)
        on["pair_ratios"] = tput
    # Server CPU per echo moves less with the neighbours than throughput does: its ratio
    # (off cost / on cost) is reported beside the throughput ratio.
    if cpu:
        on["cpu_ratio"] = statistics.median(cpu)
    on["admin"] = [r["admin"] for n, r in runs if n == "on" and "admin" in r]
    return out


def register(registry: Any) -> None:
    """Add the instrumented servers and the ``echo_admin`` scenario to the bench."""
    for sizes in SCALES.values():
        sizes.setdefault(SCENARIO, dict(sizes.get("echo", {})))
    from bench.servers import SERVERS as ALL

    others = frozenset(name for name in SCENARIOS if name != SCENARIO)
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
        if name not in SERVERS and SCENARIO not in spec.skips:
            registry.server(replace(spec, skips=spec.skips | {SCENARIO}))
    registry.scenario(
        Scenario(
            SCENARIO,
            (f"{SCENARIO}_off", f"{SCENARIO}_on"),
            "ack",
            "echo with no admin client, then with an admin client subscribed to the "
            "Engine.IO packet stream (phases off/on/on/off/off/on); `ratio` = on/off throughput",
            run=run_echo_admin,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "client":
        # "client URL --no-subscribe": logged in, not streaming (for comparisons)
        asyncio.run(admin_client(sys.argv[2], subscribe=sys.argv[3:] != ["--no-subscribe"]))
    else:
        raise SystemExit("usage: python -m bench.admin_scenario serve [--mode M] | client URL")
