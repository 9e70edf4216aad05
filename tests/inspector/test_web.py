"""``sioscope demo --web`` and ``sioscope inspect --web``: the inspector in a real browser.

Headless Chromium (driven by ``tests/interop/inspector-web.js``) opens the page that
textual-serve serves, sees the app's screen arrive (the status bar) and types a key that
switches the view. Whatever the user gets wrong before serving is one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator

import psutil
import pytest

from sioscope.inspector.web import PASSWORD_VAR, child_argv, parse_port
from tests.admin.node import run_node_json
from tests.conftest import ROOT, free_port
from tests.inspector.conftest import NodeAdminServer

START_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def web_server(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[dict]:
    """``sioscope *args --web --port P`` until it prints its URL; yields {url, children},
    where ``children`` is filled with the pids of the apps it starts (one per browser).
    On exit: ctrl+c, which must end it (status 0) and every app it started."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sioscope",
        *args,
        "--web",
        "--port",
        str(port),
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    children: set[int] = set()

    async def watch() -> None:  # the apps of each browser, while they run
        parent = psutil.Process(proc.pid)
        while True:
            with contextlib.suppress(psutil.Error):
                children.update(p.pid for p in parent.children(recursive=True))
            await asyncio.sleep(0.2)

    watcher = asyncio.ensure_future(watch())
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
        assert line.startswith("sioscope: serving ") and f"http://127.0.0.1:{port}" in line, line
        yield {"url": f"http://127.0.0.1:{port}/", "children": children}
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert proc.stderr is not None
        err = (await proc.stderr.read()).decode()
        assert "Traceback" not in err, err
    finally:
        watcher.cancel()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    for _ in range(100):  # each app was told to quit; under load that takes a moment
        alive = [pid for pid in children if psutil.pid_exists(pid) and _running(pid)]
        if not alive:
            break
        await asyncio.sleep(0.1)
    assert not alive, f"apps left running 10 s after the web server stopped: {alive}"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def drive(node_bin: str, chromium_bin: str, tmp_path, url: str, **cfg) -> list[dict]:
    config = {
        "url": url,
        "chromium": chromium_bin,
        "profileDir": str(tmp_path / "chromium-profile"),
        **cfg,
    }
    steps = await run_node_json(node_bin, "inspector-web.js", json.dumps(config), timeout=90)
    assert steps[-1] == {"ok": True}, steps
    return steps


@pytest.mark.interop
async def test_demo_in_a_browser_renders_and_takes_keys(node_bin, chromium_bin, tmp_path):
    async with web_server("demo", "--clients", "3") as web:
        steps = await drive(
            node_bin,
            chromium_bin,
            tmp_path,
            web["url"],
            expect=["connected", "sockets"],  # the status bar: attached to the demo
            key="4",
            after=["Connections/s"],  # the Dashboard
        )
        assert web["children"], "no app was started for the browser"
    assert {s.get("step") for s in steps} >= {
        "the app rendered in the page",
        "a key typed in the page reached the app",
    }


@pytest.mark.interop
async def test_inspect_in_a_browser_against_node(
    node_bin, chromium_bin, tmp_path, node_admin: NodeAdminServer
):
    env = {**os.environ, "ADMIN_PW": "s3cret"}
    args = ("inspect", node_admin.url, "--username", "admin", "--password-env", "ADMIN_PW")
    async with web_server(*args, env=env) as web:
        await drive(
            node_bin,
            chromium_bin,
            tmp_path,
            web["url"],
            expect=[f"connected {node_admin.url}/admin", "sockets"],  # the status bar
            key="2",
            after=["lobby"],  # the Rooms view: the Node server's room
        )


async def run(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sioscope",
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert out == b"", out  # nothing served, no URL printed
    assert proc.returncode is not None
    return proc.returncode, err.decode()


@pytest.mark.parametrize(
    ("args", "status", "expected"),
    [
        (("demo", "--web", "--port", "http"), 2, "--port must be a number from 1 to 65535"),
        (("demo", "--web", "--port", "0"), 2, "--port must be from 1 to 65535, not 0"),
        (("inspect", "http://127.0.0.1:1", "--web"), 1, "cannot reach http://127.0.0.1:1"),
    ],
)
async def test_what_fails_before_serving_is_one_line(args, status, expected):
    code, err = await run(*args)
    assert code == status
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err


async def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, err = await run("demo", "--web", "--port", str(port))
    assert code == 1
    assert err == f"sioscope: cannot serve on 127.0.0.1:{port}: address already in use " + (
        "(choose another --port)\n"
    )


def test_the_child_is_the_same_command_and_a_prompted_password_goes_by_environment():
    argv = ["inspect", "http://h:3000", "--username", "admin", "--web"]
    assert child_argv(argv, None) == argv
    with_password = child_argv(argv, "s3cret")
    assert "s3cret" not in with_password  # the command line is visible to every user
    assert with_password[-2:] == ["--password-env", PASSWORD_VAR]
    assert parse_port("8000") == 8000
