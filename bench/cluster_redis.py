"""Two servers on one Redis: broadcast deliveries per second and server CPU per delivery
through the Redis adapter, sioscope against Node's ``@socket.io/redis-adapter``.

    python -m bench.cluster_redis [--clients 500] [--broadcasts 200] [--rounds 2]
        [--adapter classic|sharded|streams]

One ``redis-server`` (a free loopback port, no persistence) for the whole run. Each run
starts a fresh pair of servers of one kind, A and B (``bench/servers/cluster_*``), puts
``--clients`` WebSocket clients on each (``bench/cluster_loadgen.js``) and asks server A
for ``--broadcasts`` broadcasts to room ``all``, at most ``--window`` in flight (the
throughput each kind reaches) or ``--rate`` per second (the same pace for both, the fair
comparison of CPU per delivery, which falls as a server gets busier): A
publishes each to Redis and delivers to its own clients, B receives it from Redis and
delivers to its clients. Measured over that phase, from /proc (every thread): the CPU of
A, B and Redis, and of the generator (to show it was not the limit). Then ``--fetches``
``fetch_sockets()`` round trips through A (A's sockets plus B's over Redis), one at a
time: their median latency. Kinds alternate
round by round (node, sioscope, node, sioscope, ...), so drift lands on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from bench.procstat import Window

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("node", "sioscope")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/system-deps.sh installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("redis-server did not start")


def start_server(
    kind: str, redis_url: str, adapter: str = "classic"
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    if kind == "node":
        cmd = ["node", str(ROOT / "bench" / "servers" / "cluster_node_server.js")]
    else:
        cmd = [sys.executable, "-m", "bench.servers.cluster_sioscope_server", "--loop", "auto"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url, "CLUSTER_ADAPTER": adapter},
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the {kind} server did not start")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def read_json(stream: IO[str]) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise SystemExit("the load generator exited early")
    record: dict[str, Any] = json.loads(line)
    if "error" in record:
        raise SystemExit(f"load generator: {record['error']}")
    return record


def run_one(kind: str, redis: subprocess.Popen[bytes], redis_url: str, args: Any) -> dict[str, Any]:
    """One measured run of a pair of ``kind`` servers."""
    servers = [start_server(kind, redis_url, args.adapter) for _ in range(2)]
    try:
        config = {
            "urls": [f"http://127.0.0.1:{info['port']}" for _, info in servers],
            "clients": args.clients,
            "broadcasts": args.broadcasts,
            "window": args.window,
            "rate": args.rate,
            "payloadBytes": args.payload,
            "fetches": args.fetches,
            "timeoutS": args.timeout,
        }
        gen = subprocess.Popen(
            ["node", str(ROOT / "bench" / "cluster_loadgen.js"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert gen.stdin is not None and gen.stdout is not None
        try:
            read_json(gen.stdout)  # ready: connected and warmed up
            windows = [Window(int(info["pid"])) for _, info in servers] + [Window(redis.pid)]
            gen.stdin.write("go\n")
            gen.stdin.flush()
            result = read_json(gen.stdout)
            a, b, r = (w.stop() for w in windows)
            result |= read_json(gen.stdout)  # the fetch_sockets round trips, not billed
        finally:
            gen.stdin.close()
            stop(gen)
    finally:
        for proc, _ in servers:
            stop(proc)
    deliveries = result["deliveries"] or 1
    return {
        "kind": kind,
        "adapter": args.adapter,
        "mode": f"paced {args.rate:g}/s" if args.rate else f"window {args.window}",
        **result,
        "server_a_cpu_s": a["server_cpu_s"],
        "server_b_cpu_s": b["server_cpu_s"],
        "redis_cpu_s": r["server_cpu_s"],
        "cpu_us_per_delivery": (a["server_cpu_s"] + b["server_cpu_s"]) / deliveries * 1e6,
        "a_cpu_us_per_delivery": a["server_cpu_s"] / (deliveries / 2) * 1e6,
        "b_cpu_us_per_delivery": b["server_cpu_s"] / (deliveries / 2) * 1e6,
        "loadgen_cpu_util": result["loadgen_cpu_s"] / result["wall_s"] if result["wall_s"] else 0,
    }


def summary(records: list[dict[str, Any]]) -> str:
    lines = [
        f"{'kind':9} {'deliv/s':>9} {'us/deliv':>9} {'A us/d':>8} {'B us/d':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'lost':>5} {'gen%':>5} {'fetch ms':>8}"
    ]
    medians: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        runs = [r for r in records if r["kind"] == kind]
        if not runs:
            continue
        med = {
            key: statistics.median(r[key] for r in runs)
            for key in (
                "deliveries_per_s",
                "cpu_us_per_delivery",
                "a_cpu_us_per_delivery",
                "b_cpu_us_per_delivery",
                "latency_p50_ms",
                "latency_p99_ms",
                "loadgen_cpu_util",
                "fetch_p50_ms",
            )
        }
        med["lost"] = sum(r["expected"] - r["deliveries"] for r in runs)
        medians[kind] = med
        lines.append(
            f"{kind:9} {med['deliveries_per_s']:9.0f} {med['cpu_us_per_delivery']:9.2f} "
            f"{med['a_cpu_us_per_delivery']:8.2f} {med['b_cpu_us_per_delivery']:8.2f} "
            f"{med['latency_p50_ms']:7.1f} {med['latency_p99_ms']:7.1f} {med['lost']:5.0f} "
            f"{med['loadgen_cpu_util'] * 100:5.0f} {med['fetch_p50_ms']:8.2f}"
        )
    if len(medians) == 2:
        ours, node = medians["sioscope"], medians["node"]
        speed = ours["deliveries_per_s"] / node["deliveries_per_s"]
        cost = ours["cpu_us_per_delivery"] / node["cpu_us_per_delivery"]
        lines.append(f"sioscope/node: throughput x{speed:.2f}, CPU per delivery x{cost:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500, help="clients per server")
    parser.add_argument("--broadcasts", type=int, default=200)
    parser.add_argument("--window", type=int, default=8, help="broadcasts in flight")
    parser.add_argument(
        "--rate", type=float, default=0, help="paced broadcasts per second (0: --window instead)"
    )
    parser.add_argument("--payload", type=int, default=100, help="bytes of padding per event")
    parser.add_argument("--fetches", type=int, default=20, help="fetch_sockets round trips")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--adapter",
        choices=("classic", "sharded", "streams"),
        default="classic",
        help="the Redis adapter of both kinds (Node's npm one and ours)",
    )
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--out", type=Path, help="append one JSON line per run here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 2000:
        parser.error("--clients must be within 1-2000")
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    records = []
    with tempfile.TemporaryDirectory(prefix="sioscope-bench-redis-") as workdir:
        redis, url = start_redis(workdir)
        try:
            for round_no in range(args.rounds):
                for kind in kinds:
                    record = run_one(kind, redis, url, args) | {"round": round_no}
                    records.append(record)
                    print(
                        f"[{kind} round {round_no}] {record['deliveries_per_s']:.0f} deliveries/s, "
                        f"{record['cpu_us_per_delivery']:.2f} us CPU/delivery",
                        file=sys.stderr,
                    )
                    if args.out:
                        with args.out.open("a") as fh:
                            fh.write(json.dumps(record) + "\n")
        finally:
            stop(redis)
    print(summary(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
