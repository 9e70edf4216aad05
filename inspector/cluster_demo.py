"""``sioscope demo --cluster N``: N demo servers on one Redis, the demo's bots spread
across them, and the inspector attached to the first.

Each server is the plain demo's (``demo.build_io``) with the Redis pub/sub adapter
(``create_adapter``) and its own ``server_id`` (``demo-1`` ...), so an admin client of
any one sees every server's sockets and ``server_stats``. Rules:

1. **Redis**: a local ``redis-server`` started on a free 127.0.0.1 port, with no
   persistence and its files in a temporary directory, stopped with the demo. Without
   one installed, :class:`MissingRedis` says in one line how to get it (the CLI prints
   it: no traceback), and without redis-py, how to install that.
2. **Bots**: new bots go round-robin over the servers; a bot that leaves and comes back
   reconnects to another server (as a client behind a load balancer does), so sockets
   move between servers while the inspector watches.
3. Everything binds 127.0.0.1; ``stop()`` ends the bots, the servers, their Redis
   clients and the ``redis-server``, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket as socket_module
import subprocess
import tempfile
from typing import Any

from aiohttp import web

from sioscope.inspector.demo import Bot, Demo, build_io
from sioscope.server import Server

__all__ = ["ClusterDemo", "LocalRedis", "MissingRedis"]

MAX_SERVERS = 8  # as the CLI's MAX_CLUSTER_SERVERS


class MissingRedis(RuntimeError):
    """What the cluster demo needs and how to get it (rule 1), as one line."""


def _free_port() -> int:
    with socket_module.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRedis:
    """A ``redis-server`` child on a free loopback port (rule 1)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise MissingRedis(
                "demo --cluster needs redis-server: install it (Debian/Ubuntu: "
                "sudo apt-get install redis-server; macOS: brew install redis), "
                "or run plain 'sioscope demo'"
            )
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="sioscope-demo-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Start it and wait until it answers PING."""
        self.proc = subprocess.Popen(
            [
                self.binary,
                *("--port", str(self.port)),
                *("--bind", "127.0.0.1"),
                *("--save", ""),
                *("--appendonly", "no"),
                *("--dir", self._dir.name),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc.poll() is not None:
                raise MissingRedis(f"redis-server exited at start (status {self.proc.returncode})")
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                reply = await asyncio.wait_for(reader.readline(), 1.0)
                writer.close()
                if reply.startswith(b"+PONG"):
                    return
            await asyncio.sleep(0.05)
        self.stop()
        raise MissingRedis(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
            self.proc = None
        self._dir.cleanup()


class ClusterDemo(Demo):
    """``servers`` demo servers on one local Redis, with the demo's bots (see rules)."""

    def __init__(
        self, servers: int = 3, clients: int = 36, *, readonly: bool = False, seed: int = 1
    ) -> None:
        if not 2 <= servers <= MAX_SERVERS:
            raise ValueError(f"--cluster must be between 2 and {MAX_SERVERS} servers")
        super().__init__(clients, readonly=readonly, seed=seed)
        self.n_servers = servers
        self.redis: LocalRedis | None = None
        self.servers: list[Server] = []
        self.urls: list[str] = []
        self._runners: list[web.AppRunner] = []
        self._clients: list[Any] = []

    @property
    def url(self) -> str:
        """The first server's: where the inspector attaches."""
        return self.urls[0] if self.urls else super().url

    def spawn_url(self, i: int) -> str:
        return self.urls[i % len(self.urls)]

    def reconnect_url(self, bot: Bot) -> str:
        """Rule 2: come back on another server."""
        others = [u for u in self.urls if u != bot.url]
        return self.rng.choice(others) if others else bot.url

    async def serve(self) -> None:
        try:
            from redis.asyncio import Redis

            from sioscope.server.adapters.redis import create_adapter
        except ImportError:
            raise MissingRedis(
                "demo --cluster needs redis-py: pip install 'sioscope[redis]'"
            ) from None
        self.redis = LocalRedis()
        await self.redis.start()
        for i in range(self.n_servers):
            client = Redis.from_url(self.redis.url)
            self._clients.append(client)
            io = build_io(
                readonly=self.readonly, server_id=f"demo-{i + 1}", adapter=create_adapter(client)
            )
            app = web.Application()
            io.attach(app)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.servers.append(io)
            self._runners.append(runner)
            self.urls.append(f"http://127.0.0.1:{int(runner.addresses[0][1])}")
        for io in self.servers:  # subscribed everywhere before the first bot connects
            for nsp in list(io.namespaces.values()):
                await asyncio.wait_for(nsp.adapter.ready(), 10.0)  # type: ignore[attr-defined]
        self.io = self.servers[0]

    async def stop(self) -> None:
        self.io = None  # the base stops the bots; the servers are closed here
        await super().stop()
        for io in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(io.close(), 3.0)
        for runner in self._runners:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
