"""`python -m bench.profile`: where a Python server's CPU goes under one scenario.

Starts one server under test (sioscope by default), runs one load-generator scenario
against it, and prints the functions that took the most CPU: by sampling with py-spy
when it is installed (``pip install py-spy``; no overhead in the server, C frames folded
into their Python caller), else with cProfile (deterministic, with its own overhead:
read the shares, not the times). It also reports the garbage collector's CPU per
generation, which sampling attributes to whatever Python line allocated.

    python -m bench.profile --scenario fanout --param fanout.rate=1000
    python -m bench.profile --server pysio --scenario echo
    python -m bench.profile --server sioscope@/path/to/checkout --scenario connect
"""

from __future__ import annotations

import argparse
import collections
import json
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.run import BenchError, run_loadgen, start_server
from bench.scenarios import SCALES, SCENARIOS, RunContext
from bench.servers import resolve


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    p.add_argument("--server", default="sioscope")
    p.add_argument("--scenario", default="echo", choices=sorted(SCENARIOS))
    p.add_argument("--scale", default="quick", choices=sorted(SCALES))
    p.add_argument("--param", action="append", default=[], metavar="SCENARIO.KEY=VALUE")
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto")
    p.add_argument("--top", type=int, default=25)
    return p.parse_args(argv)


def _fold(raw: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += int(n)
        own[frames[-1]] += int(n)
        for f in set(frames):
            incl[f] += int(n)
    return total, own, incl


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    spec = resolve(args.server)
    if spec is None or spec.name == "node" or spec.name.startswith("node@"):
        print(f"{args.server}: not a Python server under test", file=sys.stderr)
        return 2
    sizes = SCALES[args.scale]
    for item in args.param:
        key, _, value = item.partition("=")
        scen, _, name = key.partition(".")
        try:
            sizes.setdefault(scen, {})[name] = json.loads(value)
        except ValueError:
            sizes.setdefault(scen, {})[name] = value
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    use_spy = args.sampler == "py-spy" or (args.sampler == "auto" and Path(spy).exists())
    tmp = Path(tempfile.mkdtemp(prefix="sioscope-profile-"))
    gc_file, prof_file, raw = tmp / "gc.json", tmp / "cprofile.out", tmp / "pyspy.txt"
    extra = ["--gc-stats", str(gc_file)] + ([] if use_spy else ["--profile", str(prof_file)])
    base_argv = spec.argv
    spec = replace(spec, argv=lambda: [*base_argv(), *extra])
    with open(tmp / "server.log", "w") as log:
        srv = start_server(spec, log)
    sampler = None
    try:
        if use_spy:
            sampler = subprocess.Popen(
                [
                    *(spy, "record", "-p", str(srv.pid), "-o", str(raw)),
                    *("--format", "raw", "-r", "250", "--nonblocking"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        ctx = RunContext(
            spec.name,
            "127.0.0.1",
            srv.port,
            srv.pid,
            dict(sizes.get(args.scenario, {})),
            sizes["timeoutS"],
        )
        results = run_loadgen(ctx, SCENARIOS[args.scenario])
    except BenchError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if sampler is not None:
            sampler.send_signal(2)  # py-spy writes its output on SIGINT
            try:
                sampler.wait(15)
            except subprocess.TimeoutExpired:
                sampler.kill()
        srv.stop()
    cpu = sum(r.get("server_cpu_s", 0.0) for r in results)
    for r in results:
        print(
            f"{r.get('scenario')}: {r.get('server_cpu_us_per_op', 0):.1f} µs server CPU per "
            f"{r.get('op')}, {r.get('throughput_per_s', 0):,.0f}/s, error={r.get('error')}"
        )
    deadline = time.monotonic() + 5
    while not gc_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if gc_file.exists():
        stats = json.loads(gc_file.read_text())
        gc_cpu = sum(stats["cpu_s"])
        print(
            f"garbage collector: {gc_cpu:.2f} s CPU for the whole server run "
            f"(measured phases: {cpu:.2f} s); per generation "
            + ", ".join(
                f"gen{g}: {n} in {t * 1000:.0f} ms"
                for g, (n, t) in enumerate(zip(stats["collections"], stats["cpu_s"], strict=True))
            )
        )
    if use_spy and raw.exists():
        total, own, incl = _fold(raw)
        print(f"\npy-spy, {total} samples (whole server run, setup included)")
        print("self:")
        for fn, n in own.most_common(args.top):
            print(f"  {100 * n / total:5.1f}%  {fn}")
        print("inclusive:")
        for fn, n in incl.most_common(args.top + 10):
            print(f"  {100 * n / total:5.1f}%  {fn}")
    elif prof_file.exists():
        print("\ncProfile (whole server run; shares, not absolute times):")
        stats = pstats.Stats(str(prof_file))
        stats.sort_stats("tottime").print_stats(args.top)
    print(f"files: {tmp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
