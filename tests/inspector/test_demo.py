"""`sioscope demo` in a real pseudo-terminal: it starts, shows live data, and quits on `q`."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
import sys
import time

from tests.conftest import ROOT

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def read_until(fd: int, pattern: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, ANSI.sub(b"", seen)):
                return seen
    raise AssertionError(f"{pattern!r} not seen in {timeout}s; got {ANSI.sub(b'', seen)[-500:]!r}")


def test_demo_runs_live_and_quits() -> None:
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="36")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "demo", "--clients", "6"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(follower)
    try:
        # the status bar says connected, and user sockets are listed with their rooms
        read_until(leader, rb"connected http://127\.0\.0\.1:\d+/admin", 30)
        read_until(leader, rb"lobby", 15)
        os.write(leader, b"q")
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            select.select([leader], [], [], 0.2)  # keep the pty drained while it exits
            with contextlib.suppress(OSError):
                os.read(leader, 65536)
        assert proc.poll() == 0, "the demo did not exit 0 within 15 s of `q`"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(leader)
