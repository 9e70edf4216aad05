"""Bench plugin: the cost of an admin client streaming Engine.IO packets.

The question (issue 4): with an admin client subscribed to the packet stream
(docs/admin-extension.md), how much echo throughput does the server keep, relative to
the same load with no admin client? Target: >= 0.9.

How it is measured, on one fresh instrumented server per round:

* the server is the bench's sioscope echo server plus ``instrument()``, in production
  mode (``sioscope-admin``; the Admin UI's mode for busy servers: only ``server_stats``
  and, for who asks, the packet stream) or development mode (``sioscope-admin-dev``:
  Node's default, where every event is also broadcast to admin clients);
* phases off / on / on / off (so drift lands on both): the Node load generator runs
  the standard ``echo`` scenario, and during "on" phases a separate admin client
  process (python-socketio) is logged in and subscribed to the packet stream,
  counting the records, batches and drops it receives;
* results ``echo_admin_off`` and ``echo_admin_on`` (medians of their two phases), the
  latter with ``ratio`` = on / off throughput and the admin client's counts.

Run: ``python -m bench --servers sioscope-admin,sioscope-admin-dev --scenarios
echo_admin --scale quick``. The module is also the instrumented server
(``python -m bench.admin_scenario serve``) and the admin client
(``python -m bench.admin_scenario client URL``).
"""

from __future__ import annotations

import asyncio
import json
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


async def admin_client(url: str) -> None:
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
    auth = {"username": "admin", "password": PASSWORD, "sioscope": {"packets": True}}
    await sio.connect(url, namespaces=["/admin"], auth=auth, transports=["websocket"])
    await asyncio.wait_for(subscribed.wait(), CLIENT_READY_S)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the harness closes stdin
    await sio.disconnect()
    print(json.dumps(counts), flush=True)


# -- the scenario --------------------------------------------------------------------


def _phase(ctx: RunContext, with_admin: bool) -> dict[str, Any]:
    echo = SCENARIOS["echo"]
    proc = None
    if with_admin:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.admin_scenario",
                "client",
                f"http://{ctx.host}:{ctx.port}",
            ],
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
        (rec,) = [r for r in run_loadgen(ctx, echo) if r.get("scenario", "echo") == "echo"][:1]
    finally:
        counts: dict[str, Any] = {}
        if proc is not None:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            line = _readline(proc.stdout, CLIENT_READY_S)
            proc.wait(5)
            counts = json.loads(line) if line else {"error": "admin client gave no counts"}
    rec = dict(rec)
    if counts:
        rec["admin"] = counts
    return rec


def run_echo_admin(ctx: RunContext) -> list[dict[str, Any]]:
    if ctx.server not in SERVERS:
        raise BenchError(f"{SCENARIO} needs an instrumented server ({', '.join(SERVERS)})")
    phases = {"off": [], "on": []}  # type: dict[str, list[dict[str, Any]]]
    for name in ("off", "on", "on", "off"):
        phases[name].append(_phase(ctx, name == "on"))
        time.sleep(0.2)

    def median(recs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in recs if isinstance(r.get(key), int | float)]
        return statistics.median(vals) if vals else None

    out = []
    for name in ("off", "on"):
        recs = phases[name]
        row = dict(recs[0])
        row["scenario"] = f"{SCENARIO}_{name}"
        for key in ("throughput_per_s", "server_cpu_us_per_op", "p50_ms", "p99_ms"):
            row[key] = median(recs, key)
        row["phases"] = [r.get("throughput_per_s") for r in recs]
        out.append(row)
    off, on = out
    if off.get("throughput_per_s") and on.get("throughput_per_s"):
        on["ratio"] = on["throughput_per_s"] / off["throughput_per_s"]
    # Throughput on a shared 2-core machine swings with the neighbours' load; server CPU
    # per echo moves much less, so its ratio (off cost / on cost) is reported beside it.
    if off.get("server_cpu_us_per_op") and on.get("server_cpu_us_per_op"):
        on["cpu_ratio"] = off["server_cpu_us_per_op"] / on["server_cpu_us_per_op"]
    admin = [r["admin"] for r in phases["on"] if "admin" in r]
    on["admin"] = admin
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
            "Engine.IO packet stream (phases off/on/on/off); `ratio` = on/off throughput",
            run=run_echo_admin,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "client":
        asyncio.run(admin_client(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m bench.admin_scenario serve [--mode M] | client URL")
