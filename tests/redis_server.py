"""A real ``redis-server`` for the cluster tests, on a free loopback port.

Debian's ``redis-server`` (installed by ``scripts/system-deps.sh``) runs as a child of
the test session with no persistence, bound to 127.0.0.1 only. ``RedisServer`` can be
stopped and started again on the same port, for the tests of a Redis that goes away.
Locally a missing binary skips the test; under ``SIOSCOPE_REQUIRE_INTEROP=1`` (CI) it
fails, as for every other real peer.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from tests.conftest import free_port, missing_peer


class RedisServer:
    """One ``redis-server`` process: ``url`` stays the same across stop/start."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="sioscope-redis-")

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        assert self.proc is None, "already running"
        self.proc = subprocess.Popen(
            [
                self.binary,
                *("--port", str(self.port)),
                *("--bind", "127.0.0.1"),
                *("--save", ""),
                *("--appendonly", "no"),
                *("--dir", self._dir.name),
                *("--protected-mode", "yes"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Kill the server (as a crash would: no SHUTDOWN, connections cut)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()


def redis_binary() -> str:
    """Path of ``redis-server``, or a skip (a failure in CI) saying how to get it."""
    path = shutil.which("redis-server")
    if path is None:
        missing_peer("redis-server is not installed (scripts/system-deps.sh installs it as root)")
    return str(path)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test, started; stopped after it."""
    server = RedisServer(redis_binary())
    server.start()
    try:
        yield server
    finally:
        server.close()


__all__ = ["RedisServer", "free_port", "redis_binary", "redis_server"]
