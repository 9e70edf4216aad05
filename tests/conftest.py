"""Shared test plumbing: real peers (Node.js and its npm packages) and bounded waits.

Interop tests need Node.js and `tests/interop/node_modules`. Locally a missing peer
skips those tests with the reason; under ``SIOSCOPE_REQUIRE_INTEROP=1`` (CI) it fails
them, so a green CI run always means the real peers were exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEROP_DIR = ROOT / "tests" / "interop"
NODE_MODULES = INTEROP_DIR / "node_modules"
REQUIRE_INTEROP = os.environ.get("SIOSCOPE_REQUIRE_INTEROP") == "1"


def missing_peer(reason: str) -> None:
    if REQUIRE_INTEROP:
        pytest.fail(f"interop peer missing (required here): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_bin() -> str:
    """Path of the `node` binary, with the interop npm packages installed beside it."""
    node = shutil.which("node")
    if node is None:
        missing_peer("Node.js is not installed")
    if not (NODE_MODULES / "socket.io-client").is_dir():
        missing_peer("npm packages missing: run `make test` (npm ci in tests/interop)")
    return node  # type: ignore[return-value]


async def start_node_script(
    node_bin: str,
    script: str,
    *args: str,
    timeout: float,
    env: dict[str, str] | None = None,
    stderr: int | None = None,
    limit: int = 2**16,
) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """Start ``node script *args`` in tests/interop, stdin and stdout piped, and read its
    first stdout line (JSON: the port it listens on, and whatever else it announces)
    within ``timeout``. Returns the process and that line; kills the process if the line
    never comes or is not JSON. ``limit`` bounds one stdout line (asyncio's default)."""
    proc = await asyncio.create_subprocess_exec(
        node_bin,
        script,
        *args,
        cwd=INTEROP_DIR,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        limit=limit,
    )
    assert proc.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout))
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, first


def run_bench_smoke(out: Path, *args: str, timeout: float) -> list[dict[str, Any]]:
    """``python -m bench --scale smoke --rounds 1 --quiet *args --out out`` from the
    project root: asserts it exits 0 (showing stderr's tail if not) and returns the
    records of ``out/results.jsonl``."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench", "--scale", "smoke", "--rounds", "1", "--quiet"),
            *args,
            *("--out", str(out)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def chromium_bin() -> str:
    """Path of Debian's Chromium, for the official Admin UI test."""
    path = shutil.which("chromium")
    if path is None:
        missing_peer("chromium is not installed (scripts/system-deps.sh installs it as root)")
    return path  # type: ignore[return-value]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server in
    another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def listening_process(
    args: Sequence[str], *, port: int, cwd: Path, timeout: float, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``args`` (a server of another process) and wait until it accepts TCP on
    127.0.0.1:``port``; a process that exits first, or never listens within
    ``timeout``, is a ``RuntimeError`` with the tail of its stderr. Terminated (killed
    if it lingers) on exit."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{name} exited: {err[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start listening") from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
