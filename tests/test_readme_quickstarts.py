"""The README's three quick starts, run as written: a Node app with ``@socket.io/admin-ui``,
a python-socketio app with its ``instrument()``, a sioscope app; each inspected with the
README's own ``sioscope inspect`` line, in a real terminal (a pty).

The one change made to what the README prints is the port: 3000 becomes a free port
(other suites run beside this one). ``npm install socket.io @socket.io/admin-ui`` is
the interop folder's pinned install, linked as the app folder's ``node_modules``;
``pip install`` is this environment's. Each app gets one real client of its own
(python-socketio's), which the app puts in room ``lobby``; the inspector must show it,
switch to the Rooms view on ``2`` and quit on ``q`` with status 0.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import socketio

from tests.conftest import NODE_MODULES, ROOT, free_port, listening_process

pytestmark = pytest.mark.interop

ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
QUICK_STARTS = {
    "node": ("### A Node app", "js", "server.js"),
    "python-socketio": ("### A python-socketio app", "python", "app.py"),
    "sioscope": ("### A sioscope app", "python", "app.py"),
}


def quick_start(kind: str) -> tuple[str, list[str]]:
    """(the app's code, the lines of the shell block) of one quick start."""
    heading, lang, _ = QUICK_STARTS[kind]
    text = (ROOT / "README.md").read_text()
    section = text.split(heading, 1)[1].split("\n### ", 1)[0]
    code = re.search(rf"```{lang}\n(.*?)```", section, re.S)
    shell = re.search(r"```sh\n(.*?)```", section, re.S)
    assert code and shell, f"{heading}: no code or no shell block"
    return code.group(1), [line for line in shell.group(1).splitlines() if line.strip()]


class Terminal:
    """A command in a pty of a fixed size; what it printed, without escape sequences."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.raw = b""
        self.mark = 0

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self.raw += chunk

    @property
    def text(self) -> str:
        return ESCAPES.sub(b"", self.raw).decode(errors="replace")

    async def wait_for(self, *texts: str, timeout: float = 30.0) -> None:
        """Until every text appears in what came after the last ``press``."""
        deadline = time.monotonic() + timeout
        while True:
            self._read()
            since = ESCAPES.sub(b"", self.raw[self.mark :]).decode(errors="replace")
            if all(t in since for t in texts):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {texts}; the terminal showed: {since[-1500:]}")
            await asyncio.sleep(0.1)

    def press(self, keys: bytes) -> None:
        self._read()
        self.mark = len(self.raw)
        os.write(self.master, keys)

    async def exit_status(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read()
            await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            raise AssertionError(f"did not exit; the terminal showed: {self.text[-1500:]}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.mark.parametrize("kind", list(QUICK_STARTS))
async def test_quick_start_as_written(kind: str, node_bin: str, tmp_path: Path) -> None:
    code, shell = quick_start(kind)
    _, lang, filename = QUICK_STARTS[kind]
    port = free_port()
    (tmp_path / filename).write_text(code.replace("3000", str(port)))
    run_line = "node server.js" if lang == "js" else f"python {filename}"
    assert run_line in shell, shell
    (inspect_line,) = [line for line in shell if "sioscope inspect" in line]
    runner = [node_bin if lang == "js" else sys.executable, filename]
    if lang == "js":
        (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    env = dict(os.environ)
    with listening_process(runner, port=port, cwd=tmp_path, timeout=20, name=run_line):
        user = socketio.AsyncClient(reconnection=False)
        await asyncio.wait_for(user.connect(f"http://127.0.0.1:{port}"), 10)
        bin_dir = str(Path(sys.executable).parent)  # where `sioscope` is installed
        term_env = {**env, "PATH": f"{bin_dir}:{env['PATH']}", "TERM": "xterm-256color"}
        terminal = Terminal(inspect_line.replace("3000", str(port)), term_env, tmp_path)
        try:
            await terminal.wait_for(f"connected http://localhost:{port}/admin", "sockets")
            terminal.press(b"2")
            await terminal.wait_for("lobby")  # the room the app put its user in
            terminal.press(b"q")
            assert await terminal.exit_status() == 0
            assert "Traceback" not in terminal.text
        finally:
            terminal.close()
            await user.disconnect()


def test_each_quick_start_inspects_with_the_same_documented_line() -> None:
    lines = {kind: quick_start(kind)[1] for kind in QUICK_STARTS}
    inspect = {
        kind: [shlex.split(line) for line in shell if "sioscope inspect" in line]
        for kind, shell in lines.items()
    }
    assert all(len(found) == 1 for found in inspect.values()), inspect
    assert lines["node"][0] == "npm install socket.io @socket.io/admin-ui"
