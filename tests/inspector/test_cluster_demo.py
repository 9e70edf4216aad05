"""``sioscope demo --cluster 3``: three demo servers on a real local redis-server, the
bots spread across them and coming back on other servers, seen whole by the inspector's
model attached to one server; and the one line said when redis-server is missing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from sioscope.inspector import cli, cluster_demo
from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.cluster import server_of
from sioscope.inspector.cluster_demo import ClusterDemo
from sioscope.inspector.model import Model
from tests.conftest import ROOT
from tests.inspector.test_demo import read_until
from tests.redis_server import redis_binary

WAIT = 15.0


async def _until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_three_servers_on_one_redis_seen_whole_by_the_inspector() -> None:
    redis_binary()  # skips (fails in CI) without redis-server
    demo = ClusterDemo(3, clients=9, seed=3)
    model = Model()
    client: AdminClient | None = None
    try:
        await demo.start()
        assert len(set(demo.urls)) == 3
        client = AdminClient(ClientOptions(demo.urls[0]), model)
        await client.connect()
        client.start()
        names = {"demo-1", "demo-2", "demo-3"}

        def placed() -> dict[str, str]:
            return {s.id: server_of(model, s) for s in model.sockets.values()}

        # every server's sockets, each on its own server, and every server's stats
        await _until(lambda: set(placed().values()) == names and set(model.servers) == names)
        assert "server" in model.columns  # the SERVER column joined by itself

        # the packet stream of every server reaches the inspector attached to demo-1
        def streamed_from() -> set[str]:
            return {
                server_of(model, model.sockets[r.socket_id])
                for r in model.packets.view
                if r.socket_id in model.sockets
            }

        await _until(lambda: streamed_from() == names)

        # a bot that leaves comes back on another server, and the inspector sees it move
        bot = next(b for b in demo.bots if b.url == demo.urls[1])
        await bot.close()
        bot.url = demo.reconnect_url(bot)
        assert bot.url != demo.urls[1]
        await bot.connect()
        moved_to = f"demo-{demo.urls.index(bot.url) + 1}"

        def seen_on_new_server() -> bool:
            return any(
                s.data.get("user", {}).get("name") == bot.name and server_of(model, s) == moved_to
                for s in model.sockets.values()
            )

        await _until(seen_on_new_server)
    finally:
        if client is not None:
            await client.close()
        await asyncio.wait_for(demo.stop(), WAIT)
    assert demo.redis is None and all(not io.namespaces["/"].sockets for io in demo.servers)


def test_without_redis_server_one_line_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cluster_demo.shutil, "which", lambda _name: None)
    assert cli.main(["demo", "--cluster", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "apt-get install redis-server" in err and "sioscope demo" in err


@pytest.mark.parametrize("bad", [["--cluster", "1"], ["--cluster", "9"]])
def test_a_bad_cluster_size_gets_one_line(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", *bad]) != 0
    err = capsys.readouterr().err
    assert "--cluster must be between 2 and 8" in err and "Traceback" not in err


def test_demo_cluster_runs_live_in_a_terminal_and_quits() -> None:
    """The command itself, in a pseudo-terminal: the Dashboard shows the three servers
    reporting, and ``q`` quits."""
    redis_binary()
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="140", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "demo", "--cluster", "3", "--clients", "9"],
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
        # one wait: the status bar is drawn once per change, so a second wait could
        # miss what came in the same chunk as the first
        read_until(leader, rb"servers 3/3 healthy", 40)
        os.write(leader, b"4")  # the Dashboard: every server reporting, and the cluster
        read_until(leader, rb"3 of 3 reporting", 20)
        os.write(leader, b"q")
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            select.select([leader], [], [], 0.2)  # keep the pty drained while it exits
            with contextlib.suppress(OSError):  # EIO once the app let the terminal go
                os.read(leader, 65536)
        assert proc.poll() == 0, "demo --cluster did not exit 0 within 15 s of `q`"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(leader)
