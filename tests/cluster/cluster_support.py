"""Plumbing of the mixed-cluster tests: Node servers with the real npm adapters, real
socket.io-client clients, and sioscope servers, all on one real ``redis-server``.

``NodeServer`` drives ``tests/interop/cluster-node-server.js``, the one Node server
harness of the cluster tests (its commands and observations are JSON lines, see
``jsonlines.js``; ``peers.NodePeer`` drives the same script with its own command names),
under the names these tests use; ``NodeClients`` drives ``recovery-clients.js``. Both
keep every record, so a test waits for what it expects with ``wait_for(predicate)``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from sioscope.server import Server
from tests.conftest import start_node_script
from tests.server.sio_support import listen

WAIT = 8.0


class _NodeProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.records: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                self.records.append(self._record(json.loads(line)))
            except ValueError:
                continue
            self._changed.set()

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """One line as the tests read it."""
        return raw

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first record (old or new) that matches ``predicate``."""
        seen = 0

        async def scan() -> dict[str, Any]:
            nonlocal seen
            while True:
                for record in self.records[seen:]:
                    seen += 1
                    if predicate(record):
                        return record
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(f"no matching record; got {self.records[-20:]}") from None

    def matching(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [r for r in self.records if predicate(r)]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


class NodeServer(_NodeProcess):
    """A Node socket.io server with one of the npm adapters (``cluster-node-server.js``),
    its observations as ``{"type": "connection" | "disconnect" | "serverSide", ...}``
    records (a server-side event's ``args`` start with its name) and its commands under
    the names below (see :meth:`run`)."""

    _ids = itertools.count()

    def __init__(self, proc: asyncio.subprocess.Process, first: dict[str, Any]) -> None:
        super().__init__(proc)
        self.url = f"http://127.0.0.1:{first['port']}"
        self.uid: str = first["uids"]["/"]

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        if "event" not in raw:
            return {"type": "result", **raw}  # an answer: {id, result | error}
        record = {"type": raw["event"], **{k: v for k, v in raw.items() if k != "event"}}
        if record["type"] == "serverSide":
            record["args"] = [record.pop("name"), *record["args"]]
        return record

    async def _call(self, op: str, **args: Any) -> Any:
        command_id = next(self._ids)
        self.send({"id": command_id, "op": op, **args})
        record = await self.wait_for(lambda r: r.get("type") == "result" and r["id"] == command_id)
        if "error" in record:
            raise NodeError(record["error"])
        return record["result"]

    async def run(self, op: str, **args: Any) -> Any:
        """Run one command; its result, or ``NodeError`` with Node's error text.

        ``emit`` (``flags.timeout``: with acks, ``{err, responses}``), ``fetchSockets``,
        ``socketsJoin``, ``socketsLeave``, ``disconnectSockets``, ``serverSideEmit``
        (``args`` = event and its arguments; ``ack``: ``{err, responses}``),
        ``serverCount``, ``socketEmit`` and ``remoteEmit`` (``timeout``: its reply)."""
        if op == "emit":
            flags = dict(args.pop("flags", None) or {})
            if "timeout" in flags:
                timeout = flags.pop("timeout")
                got = await self._call("emitWithAck", flags=flags, timeout=timeout, **args)
                return {"err": got["error"], "responses": got["responses"]}
            await self._call("emit", flags=flags, **args)
            return True
        if op == "serverSideEmit":
            event, *rest = args.pop("args")
            got = await self._call("serverSideEmit", event=event, args=rest, **args)
            return {"err": got["error"], "responses": got["responses"]} if args.get("ack") else True
        if op == "remoteEmit":
            ack = args.get("timeout") is not None
            got = await self._call("remote", action="emitWithAck" if ack else "emit", **args)
            if not ack:
                return True
            if got["error"] is not None:
                raise NodeError(got["error"])
            return got["responses"]
        result = await self._call(op, **args)
        return True if result is None else result


class NodeError(Exception):
    """An operation failed on the Node server (its message is Node's)."""


class NodeClients(_NodeProcess):
    """Real socket.io-client clients, by name."""

    def open(self, name: str, url: str, **options: Any) -> None:
        self.send({"op": "open", "name": name, "url": url, **options})

    def emit(self, name: str, event: str, *args: Any, ack: bool = False) -> None:
        self.send({"op": "emit", "name": name, "event": event, "args": list(args), "ack": ack})

    def switch(self, name: str, url: str) -> None:
        self.send({"op": "switch", "name": name, "url": url})

    async def connected(self, name: str, after: int = 0) -> dict[str, Any]:
        """The ``connect`` record of ``name`` (the ``after``-th one: 0 first)."""
        count = -1

        def match(record: dict[str, Any]) -> bool:
            nonlocal count
            if record.get("type") == "connect" and record.get("name") == name:
                count += 1
                return count == after
            return False

        return await self.wait_for(match)

    def events(self, name: str, event: str | None = None) -> list[dict[str, Any]]:
        return self.matching(
            lambda r: (
                r.get("type") == "event"
                and r["name"] == name
                and (event is None or r["event"] == event)
            )
        )


def is_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A predicate: a record of type ``kind`` with these field values."""
    return lambda r: r.get("type") == kind and all(r.get(k) == v for k, v in fields.items())


@pytest.fixture
async def cluster(node_bin: str) -> AsyncIterator[Cluster]:
    made = Cluster(node_bin)
    try:
        yield made
    finally:
        await made.close()


class Cluster:
    """What one test starts: Node servers, Node clients and sioscope servers."""

    def __init__(self, node_bin: str) -> None:
        self.node_bin = node_bin
        self._nodes: list[_NodeProcess] = []
        self._servers: list[tuple[Server, web.AppRunner]] = []
        self._redis: list[Any] = []

    async def node_server(self, adapter: str, redis_url: str, **options: Any) -> NodeServer:
        config = {
            "adapter": adapter,
            "redisUrl": redis_url,
            "serverSide": ["ping", "note"],  # python_app's: ping answers ["pong", arg]
            "serverSideReply": "pong",
            **options,
        }
        proc, first = await start_node_script(
            self.node_bin, "cluster-node-server.js", json.dumps(config), timeout=WAIT
        )
        server = NodeServer(proc, first)
        self._nodes.append(server)
        return server

    async def clients(self) -> NodeClients:
        proc, _first = await start_node_script(self.node_bin, "recovery-clients.js", timeout=WAIT)
        clients = NodeClients(proc)
        self._nodes.append(clients)
        return clients

    def redis(self, url: str) -> Any:
        """A ``redis.asyncio.Redis`` on ``url``, closed after the servers."""
        import redis.asyncio

        return self.own(redis.asyncio.Redis.from_url(url))

    def own(self, client: Any) -> Any:
        """Close ``client`` (a Redis client made elsewhere) after the servers."""
        self._redis.append(client)
        return client

    async def sioscope(
        self, setup: Callable[[Server], Any] | None = None, **options: Any
    ) -> tuple[Server, str]:
        """A sioscope server with ``options``, set up by ``setup(io)``, listening."""
        io = Server(ping_interval=1.0, ping_timeout=1.0, **options)
        if setup is not None:
            setup(io)
        return io, await self.serve(io)

    async def serve(self, io: Server) -> str:
        """Serve ``io`` on a free loopback port until the test ends; its URL."""
        runner, url = await listen(io)
        self._servers.append((io, runner))
        return url

    async def close(self) -> None:
        for node in self._nodes:
            await node.stop()
        for io, runner in reversed(self._servers):
            await asyncio.wait_for(io.close(), WAIT)
            await asyncio.wait_for(runner.cleanup(), WAIT)
        for client in self._redis:
            await client.aclose()


async def eventually(check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
