"""Running the matrix: servers started fresh per run, interleaved round by round.

For each scenario, each round runs every server in the same order (A B C, A B C, ...),
so machine drift (other tenants, thermal, caches) lands on all of them alike. Every
server is a fresh process, so one scenario's leftovers (heap, pools) never bill another.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench.scenarios import SCALES, SCENARIOS, RunContext, Scenario
from bench.servers import ServerSpec, resolve

ROOT = Path(__file__).resolve().parent.parent
LOADGEN = ROOT / "bench" / "loadgen.js"
READY_TIMEOUT_S = 30.0


class BenchError(RuntimeError):
    """A run that could not be measured (server did not start, generator failed)."""


@dataclass
class ServerProc:
    spec: ServerSpec
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def pid(self) -> int:
        return int(self.info.get("pid", self.proc.pid))

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bound: a wedged server never hangs the run."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        if self.proc.stdout:
            self.proc.stdout.close()


def _readline(stream: IO[str], timeout: float) -> str | None:
    box: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: box.put(stream.readline()), daemon=True).start()
    try:
        return box.get(timeout=timeout)
    except queue.Empty:
        return None


def _pin(cpu: int | None) -> list[str]:
    if cpu is None:
        return []
    taskset = shutil.which("taskset")
    if taskset is None:
        raise BenchError("--pin needs taskset (util-linux)")
    return [taskset, "-c", str(cpu)]


def start_server(spec: ServerSpec, log: IO[str], pin: int | None = None) -> ServerProc:
    argv = _pin(pin) + spec.argv()
    proc = subprocess.Popen(
        [*argv, "--port", "0", "--host", "127.0.0.1"],
        cwd=spec.cwd or ROOT,
        env={**os.environ, **spec.env} if spec.env else None,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = _readline(proc.stdout, READY_TIMEOUT_S)
    if not line:
        proc.kill()
        proc.wait(3)
        raise BenchError(f"{spec.name}: no ready line within {READY_TIMEOUT_S}s (see {log.name})")
    try:
        info = json.loads(line)
        int(info["port"])
    except (ValueError, KeyError, TypeError) as exc:
        proc.kill()
        proc.wait(3)
        raise BenchError(f"{spec.name}: bad ready line {line!r}") from exc
    return ServerProc(spec, proc, info)


def run_loadgen(ctx: RunContext, scenario: Scenario, pin: int | None = None) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        raise BenchError("Node.js is not installed: the load generator needs it")
    cfg = {
        **ctx.params,
        **scenario.fixed,
        "scenario": scenario.name,
        "host": ctx.host,
        "port": ctx.port,
        "serverPid": ctx.pid,
        "timeoutS": ctx.timeout_s,
    }
    try:
        done = subprocess.run(
            [*_pin(pin), node, str(LOADGEN), json.dumps(cfg)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=ctx.timeout_s + 15,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"load generator exceeded {ctx.timeout_s + 15}s") from exc
    records = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            records.append(json.loads(line))
    if not records:
        tail = done.stderr.strip().splitlines()[-5:]
        raise BenchError(f"load generator exit {done.returncode}, no result: {tail}")
    return records


def run_matrix(
    servers: list[str],
    scenarios: list[str],
    rounds: int,
    scale: str,
    out: IO[str],
    log_dir: Path,
    emit: Callable[[dict], None] = lambda r: None,
    pin: bool = False,
) -> list[dict]:
    """Run every (scenario, round, server); write one JSON line per result to ``out``."""
    sizes = SCALES[scale]
    records: list[dict] = []
    log_dir.mkdir(parents=True, exist_ok=True)
    for scen_name in scenarios:
        scenario = SCENARIOS[scen_name]
        params = dict(sizes.get(scen_name, {}))
        for rnd in range(1, rounds + 1):
            for name in servers:
                spec = resolve(name)
                assert spec is not None, name
                if scen_name in spec.skips:
                    continue
                base = {
                    "server": name,
                    "server_label": spec.label,
                    "round": rnd,
                    "scale": scale,
                    "time": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                safe = name.replace("/", "_")
                log_path = log_dir / f"{safe}.{scen_name}.{rnd}.log"
                results: list[dict]
                started = time.monotonic()
                with open(log_path, "w") as log:
                    try:
                        srv = start_server(spec, log, pin=0 if pin else None)
                    except BenchError as exc:
                        results = [{"scenario": scen_name, "error": str(exc)}]
                    else:
                        ctx = RunContext(
                            name, "127.0.0.1", srv.port, srv.pid, params, sizes["timeoutS"]
                        )
                        try:
                            if scenario.run is not None:
                                results = scenario.run(ctx)
                            else:
                                results = run_loadgen(ctx, scenario, pin=1 if pin else None)
                        except BenchError as exc:
                            results = [{"scenario": scen_name, "error": str(exc)}]
                        finally:
                            alive = srv.proc.poll() is None
                            srv.stop()
                        base["loop"] = srv.info.get("loop", "node" if name == "node" else None)
                        if not alive:
                            for r in results:
                                r.setdefault("error", "server died during the run")
                base["run_wall_s"] = round(time.monotonic() - started, 3)
                for r in results:
                    rec = {**base, **r}
                    records.append(rec)
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                    emit(rec)
    return records


def machine_info() -> dict[str, Any]:
    """What a reader needs to place the figures: CPU, cores, runtimes, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = shutil.which("node")
    node_version = (
        subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
        if node
        else ""
    ).strip()
    import platform

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "node": node_version or None,
        "kernel": platform.release(),
        "epoch": time.time(),
    }
