"""Record ``sioscope demo`` as an asciinema v2 cast, by driving the real app in a pty.

``python scripts/record_demo.py [OUT]`` (``make recording``; OUT defaults to
docs/demo.cast). The demo runs in a pseudo-terminal of a fixed size, exactly as a user
would start it; the script types the keys of ``STEPS`` at their times and writes what
the app printed, with its timing, as the cast's output events. Nothing is drawn by the
script: every frame of the cast is the app's own output. Play it with
``asciinema play docs/demo.cast`` or any asciinema player.

Output that arrives within one frame (1/30 s) is written as one event, which keeps the
file small without changing what a player shows.
"""

from __future__ import annotations

import argparse
import codecs
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 100, 28
FRAME = 1 / 30
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")

KEYS = {"down": "\x1b[B", "up": "\x1b[A", "enter": "\r", "escape": "\x1b", "tab": "\t"}
KEYS |= {"ctrl+l": "\x0c", "end": "\x1b[F"}

# (seconds to wait before, keys to type): a tour of the views. A key name from KEYS, or
# text typed as is. Views that are not in the app yet are simply not in the list.
STEPS: list[tuple[float, str]] = [
    (2.0, "down"),
    (0.5, "down"),
    (0.8, "enter"),  # the socket's detail: handshake tree and JSON
    (2.5, "tab"),  # its rooms and data
    (1.5, "escape"),
    (0.8, "2"),  # Rooms
    (2.0, "3"),  # Packets, live
    (2.0, "p"),  # paused: arrivals are counted
    (1.5, "p"),
    (0.8, "4"),  # Dashboard
    (2.5, "VIEWS"),  # every further view the app has (5, 6, ...), 2.5 s each
    (0.0, "1"),
    (0.8, "/"),  # filter the sockets
    (0.3, "room:lobby !polling"),
    (0.6, "enter"),
    (2.0, "ctrl+l"),
    (0.8, "?"),  # help: every key
    (2.5, "escape"),
    (1.0, "q"),
]


def further_views() -> list[str]:
    """The view keys past 1-4 (as keys.py has them now), in order."""
    from sioscope.inspector.keys import KEYS

    keys = {k.key for k in KEYS if k.action.startswith("view(") and k.key.isdigit()}
    return sorted(k for k in keys if k not in "1234")


def tour() -> list[tuple[float, str]]:
    """``STEPS`` with ``VIEWS`` replaced by a visit to each further view."""
    steps: list[tuple[float, str]] = []
    for wait, keys in STEPS:
        if keys == "VIEWS":
            steps += [(wait, view) for view in further_views()]
            steps.append((wait, ""))  # stay on the last one as long
        else:
            steps.append((wait, keys))
    return steps


def record(out: Path, clients: int, wait_for: bytes = b"sockets") -> int:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)}
    env |= {"TEXTUAL_ANIMATIONS": "none", "TEXTUAL_COLOR_SYSTEM": "256", "TEXTUAL_FPS": "10"}
    env.pop("TEXTUAL_DRIVER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sioscope", "demo", "--clients", str(clients)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    events: list[tuple[float, str]] = []
    pending, pending_at = "", 0.0
    start = time.monotonic()
    seen = b""
    steps = tour()
    next_at: float | None = None  # when the next step is due (after the app is up)
    started = False
    deadline = start + 120

    def flush(now: float) -> None:
        nonlocal pending
        if pending:
            events.append((round(pending_at - start, 4), pending))
            pending = ""

    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            timeout = FRAME if next_at is None else max(0.0, min(FRAME, next_at - now))
            ready, _, _ = select.select([master], [], [], timeout)
            now = time.monotonic()
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the app closed its terminal: it has quit
                    break
                if not chunk:
                    break
                if not started:
                    seen += chunk
                    if wait_for in ESCAPES.sub(b"", seen):
                        started, next_at = True, now + steps[0][0]
                if not pending:
                    pending_at = now
                pending += decoder.decode(chunk)
            if pending and now - pending_at >= FRAME:
                flush(now)
            if next_at is not None and steps and now >= next_at:
                _, keys = steps.pop(0)
                if keys:
                    os.write(master, KEYS.get(keys, keys).encode())
                next_at = now + steps[0][0] if steps else None
            if proc.poll() is not None:
                break
        flush(time.monotonic())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    if steps:
        print(f"record_demo: the app ended before the tour did ({len(steps)} steps left)")
        return 1
    header = {
        "version": 2,
        "width": COLS,
        "height": ROWS,
        "timestamp": int(time.time()),
        "title": "sioscope demo",
        "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
    }
    with out.open("w", encoding="utf-8") as f:
        f.write(json.dumps(header) + "\n")
        for at, text in events:
            f.write(json.dumps([at, "o", text], ensure_ascii=False) + "\n")
    size = out.stat().st_size
    print(f"{out}: {len(events)} events, {events[-1][0]:.1f} s, {size / 1024:.0f} KiB")
    return 0 if proc.returncode == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "demo.cast")
    parser.add_argument("--clients", type=int, default=12, help="demo clients (default 12)")
    args = parser.parse_args()
    return record(args.out, args.clients)


if __name__ == "__main__":
    sys.exit(main())
