"""Peers of the cluster tests: Node processes spoken to in JSON lines, and sioscope
servers on a Redis adapter.

``NodePeer`` wraps one of the JSON-line scripts of tests/interop (cluster-node-server.js,
cluster-clients.js, notepack-codec.js): ``await peer.call(op, **fields)`` sends a
command and returns its result (raising :class:`NodeError` with the script's message),
and ``await peer.wait_for(predicate)`` returns the first observation line that matches.
Binary values are ``bytes`` on this side and ``{"$bin": hex}`` on the wire; JavaScript's
``undefined`` arrives as :data:`UNDEFINED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from sioscope.server import Server
from sioscope.server.socket import Socket
from tests.conftest import start_node_script
from tests.server.sio_support import listen

WAIT = 10.0
"""Upper bound of one wait in the cluster tests (seconds): Node starts in ~0.3 s."""


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()
"""JavaScript's ``undefined`` as a Node peer reported it."""


class NodeError(Exception):
    """A Node peer's command failed; the message is the script's."""


def to_wire(value: Any) -> Any:
    """A Python value as the JSON-line scripts read it (bytes as ``{"$bin"}``)."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bin": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


def from_wire(value: Any) -> Any:
    """The scripts' JSON back as Python values."""
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        if set(value) == {"$undef"}:
            return UNDEFINED
        return {key: from_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    return value


class NodePeer:
    """One JSON-line Node script (see the module docstring)."""

    def __init__(self, proc: asyncio.subprocess.Process, first: dict[str, Any]) -> None:
        self.proc = proc
        self.first = first
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())
        port = first.get("port")
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.uids: dict[str, str] = first.get("uids") or {}

    @classmethod
    async def start(cls, node_bin: str, script: str, *args: str) -> NodePeer:
        proc, first = await start_node_script(node_bin, script, *args, timeout=WAIT, limit=2**24)
        if "fatal" in first:
            proc.kill()
            await proc.wait()
            raise NodeError(first["fatal"])
        return cls(proc, first)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            record = json.loads(line)
            ident = record.get("id")
            if isinstance(ident, int) and ident in self._pending:
                future = self._pending.pop(ident)
                if not future.done():
                    if "error" in record:
                        future.set_exception(NodeError(record["error"]))
                    else:
                        future.set_result(from_wire(record.get("result")))
                continue
            self.events.append(from_wire(record))
            self._changed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NodeError("the Node peer exited"))

    async def call(self, op: str, *, wait: float = WAIT, **fields: Any) -> Any:
        """Run command ``op`` (its fields as keywords) and return its result within
        ``wait`` seconds."""
        assert self.proc.stdin is not None
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        line = json.dumps({"id": ident, "op": op, **to_wire(fields)}) + "\n"
        self.proc.stdin.write(line.encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(future, wait)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first observation (so far or to come) that matches ``predicate``."""

        async def until() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(until(), timeout)

    def seen(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The observations so far that match ``predicate``."""
        return [event for event in self.events if predicate(event)]

    async def close(self) -> None:
        if self.proc.returncode is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 3)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


class Clients:
    """socket.io-client peers in one Node process (cluster-clients.js), by name."""

    def __init__(self, peer: NodePeer) -> None:
        self.peer = peer
        self.sids: dict[str, str] = {}

    async def connect(self, name: str, url: str, **options: Any) -> str:
        """Connect client ``name`` to ``url``; its socket id."""
        result = await self.peer.call("connect", name=name, url=url, **options)
        self.sids[name] = result["sid"]
        return str(result["sid"])

    def events(self, name: str, event: str | None = None) -> list[list[Any]]:
        """The args of each event client ``name`` received (of ``event`` if given)."""
        return [
            [e["event"], *e["args"]]
            for e in self.peer.events
            if e.get("name") == name
            and e.get("type") == "event"
            and (event is None or e["event"] == event)
        ]

    async def wait_event(self, name: str, event: str, count: int = 1) -> list[list[Any]]:
        """Wait until client ``name`` received ``event`` ``count`` times; all of them."""
        await self.peer.wait_for(lambda _: len(self.events(name, event)) >= count)
        return self.events(name, event)

    async def wait_disconnect(self, name: str) -> str:
        """Wait until client ``name`` is disconnected; the reason."""
        event = await self.peer.wait_for(
            lambda e: e.get("name") == name and e.get("type") == "disconnect"
        )
        return str(event["reason"])


def describe(socket: Any) -> dict[str, Any]:
    """A fetched socket as cluster-node-server.js reports one."""
    return {
        "id": socket.id,
        "handshake": socket.handshake,
        "rooms": list(socket.rooms),
        "data": socket.data,
        "local": isinstance(socket, Socket),
    }


class PyPeer:
    """A sioscope server driven with cluster-node-server.js's commands and reporting
    its observations in the same shapes, so one test drives either kind of server."""

    def __init__(self, io: Server, url: str, server_side: tuple[str, ...] = ("hello",)) -> None:
        self.io = io
        self.url = url
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self.uids = {"/": io.of("/").adapter.uid}  # type: ignore[attr-defined]
        nsp = io.of("/")

        def on_connection(socket: Socket) -> None:
            self._record({"event": "connection", "nsp": "/", "id": socket.id})
            socket.on(
                "disconnect",
                lambda reason: self._record(
                    {"event": "disconnect", "nsp": "/", "id": socket.id, "reason": reason}
                ),
            )

        nsp.on("connection", on_connection)
        for event in server_side:

            def listener(*args: Any, _event: str = event) -> None:
                ack = args[-1] if args and callable(args[-1]) else None
                values = list(args[:-1] if ack else args)
                self._record({"event": "serverSide", "nsp": "/", "name": _event, "args": values})
                if ack is not None:
                    ack({"server": "sioscope", "name": _event, "args": values})

            nsp.on(event, listener)

    def _record(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        async def until() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(until(), timeout)

    def _target(self, cmd: dict[str, Any]) -> Any:
        op: Any = self.io.of(cmd.get("nsp", "/"))
        if cmd.get("rooms"):
            op = op.to(cmd["rooms"])
        if cmd.get("except"):
            op = op.except_(cmd["except"])
        flags = cmd.get("flags") or {}
        if flags.get("volatile"):
            op = op.volatile
        if flags.get("local"):
            op = op.local
        if "compress" in flags:
            op = op.compress(flags["compress"])
        return op

    def _local(self, cmd: dict[str, Any]) -> Socket:
        socket = self.io.of(cmd.get("nsp", "/")).sockets.get(cmd["sid"])
        if socket is None:
            raise NodeError(f"no local socket {cmd['sid']}")
        return socket

    async def call(self, op: str, *, wait: float = WAIT, **cmd: Any) -> Any:
        """Run ``op`` as cluster-node-server.js would; its result in the same shape."""
        return await asyncio.wait_for(self._run(op, cmd), wait)

    async def _run(self, op: str, cmd: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        args = cmd.get("args") or []
        if op == "emit":
            self._target(cmd).emit(cmd["event"], *args)
            return None
        if op == "emitWithAck":
            return await self._with_ack(self._target(cmd), cmd["event"], args, cmd.get("timeout"))
        if op == "fetchSockets":
            return [describe(s) for s in await self._target(cmd).fetch_sockets()]
        if op == "remote":
            sockets = await self.io.of(cmd.get("nsp", "/")).fetch_sockets()
            found = [s for s in sockets if s.id == cmd["sid"]]
            if not found:
                raise NodeError(f"no socket {cmd['sid']} in the cluster")
            remote, action = found[0], cmd["action"]
            if action == "emit":
                remote.emit(cmd["event"], *args)
            elif action == "emitWithAck":
                return await self._with_ack(remote, cmd["event"], args, cmd.get("timeout"))
            elif action == "join":
                remote.join(cmd["room"])
            elif action == "leave":
                remote.leave(cmd["room"])
            elif action == "disconnect":
                remote.disconnect(bool(cmd.get("close")))
            return None
        if op == "socketsJoin":
            self._target(cmd).sockets_join(cmd["room"])
            return None
        if op == "socketsLeave":
            self._target(cmd).sockets_leave(cmd["room"])
            return None
        if op == "disconnectSockets":
            self._target(cmd).disconnect_sockets(bool(cmd.get("close")))
            return None
        if op == "serverSideEmit":
            nsp = self.io.of(cmd.get("nsp", "/"))
            if not cmd.get("ack"):
                nsp.server_side_emit(cmd["event"], *args)
                return None
            future: asyncio.Future[Any] = loop.create_future()
            nsp.server_side_emit(
                cmd["event"],
                *args,
                callback=lambda err, responses: future.set_result(
                    {"error": str(err) if err else None, "responses": responses}
                ),
            )
            return await future
        nsp_adapter: Any = self.io.of(cmd.get("nsp", "/")).adapter
        if op == "serverCount":
            return await nsp_adapter.server_count()
        if op == "allRooms":
            return list(await nsp_adapter.all_rooms())
        if op == "uid":
            return nsp_adapter.uid
        if op == "join":
            self._local(cmd).join(cmd["room"])
            return None
        if op == "leave":
            self._local(cmd).leave(cmd["room"])
            return None
        if op == "setData":
            self._local(cmd).data = cmd["data"]
            return None
        if op == "rooms":
            return list(self._local(cmd).rooms)
        raise NodeError(f"unknown op {op}")

    async def _with_ack(
        self, target: Any, event: str, args: list[Any], timeout: float | None
    ) -> dict[str, Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(err: BaseException | None, responses: Any) -> None:
            if not future.done():
                future.set_result({"error": str(err) if err else None, "responses": responses})

        op = target if timeout is None else target.timeout(timeout / 1000)
        op.emit(event, *args, callback=done)
        return await future


@contextlib.asynccontextmanager
async def sioscope_server(
    redis_url: str, setup: Callable[[Server], Any] | None = None, **adapter_options: Any
) -> AsyncIterator[tuple[Server, str]]:
    """A sioscope server on ``create_adapter`` over ``redis_url``, serving on a free
    port; yields (io, url) once its subscriptions are confirmed."""
    from redis.asyncio import Redis

    from sioscope.server.adapters.redis import create_adapter

    redis = Redis.from_url(redis_url)
    io = Server(adapter=create_adapter(redis, **adapter_options), ping_interval=1)
    if setup is not None:
        setup(io)
    runner: web.AppRunner | None = None
    try:
        for nsp in list(io.namespaces.values()):
            await asyncio.wait_for(nsp.adapter.ready(), WAIT)  # type: ignore[attr-defined]
        runner, url = await listen(io)
        yield io, url
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        if runner is not None:
            await runner.cleanup()
        await redis.aclose()


async def wait_until(predicate: Callable[[], Any], timeout: float = WAIT) -> None:
    """Poll ``predicate`` (sync) every 10 ms until it is true."""

    async def until() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(until(), timeout)
