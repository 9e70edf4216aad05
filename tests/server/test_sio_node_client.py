"""The seed's examples against npm socket.io-client 4.8 (tests/interop/sio-client.js)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from sioscope.server import ConnectionRefused, Socket
from tests.conftest import INTEROP_DIR
from tests.server.sio_support import WAIT, Factory, Recorder, serve_fixture  # noqa: F401

pytestmark = pytest.mark.interop


class NodeClient:
    """One `node sio-client.js` process; reads its JSON observations line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, node_bin: str, url: str, **options: Any) -> NodeClient:
        process = await asyncio.create_subprocess_exec(
            node_bin,
            "sio-client.js",
            url,
            json.dumps(options),
            cwd=INTEROP_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def next(self, kind: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next observation of type ``kind`` (ones of other types wait their turn)."""
        for index, record in enumerate(self.pending):
            if record["type"] == kind:
                return self.pending.pop(index)

        async def read() -> dict[str, Any]:
            assert self.process.stdout is not None
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    stderr = await self.process.stderr.read()  # type: ignore[union-attr]
                    raise AssertionError(f"node exited: {stderr.decode()[-2000:]}")
                record = json.loads(line)
                if record["type"] == kind:
                    return record
                self.pending.append(record)

        return await asyncio.wait_for(read(), timeout)

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await asyncio.wait_for(self.process.wait(), WAIT)


@pytest.fixture
async def node(node_bin: str) -> Any:
    started: list[NodeClient] = []

    async def start(url: str, **options: Any) -> NodeClient:
        client = await NodeClient.start(node_bin, url, **options)
        started.append(client)
        return client

    yield start
    for client in started:
        await client.close()


async def test_id_handshake_upgrade_events_acks_binary(serve: Factory, node: Any) -> None:
    io, url = await serve()
    upgrades, hellos, disconnects = Recorder(), Recorder(), Recorder()
    sockets: list[Socket] = []

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        sockets.append(socket)
        socket.join("room1")
        socket.data["username"] = "alice"
        socket.emit("welcome", socket.id, b"\x01\x02")  # after the CONNECT reply
        socket.conn.once("upgrade", lambda transport: upgrades(socket.conn.transport.name))
        socket.on("disconnect", disconnects)

        @socket.on("hello")
        def hello(text: str, blob: bytes, ack: Any = None) -> None:
            hellos(text, blob)
            ack("got " + text, blob[::-1])

    client = await node(url, auth={"token": "123"}, query={"room": "lobby"})
    connect = await client.next("connect")
    welcome = await client.next("event")
    socket = sockets[0]
    assert connect["id"] == socket.id
    assert welcome == {
        "type": "event",
        "event": "welcome",
        "args": [socket.id, {"$bin": "0102"}],
        "ack": False,
    }

    hs = socket.handshake
    assert hs["auth"] == {"token": "123"} and hs["query"]["room"] == "lobby"
    assert hs["query"]["EIO"] == "4" and hs["query"]["transport"] == "polling"
    assert hs["address"] == "127.0.0.1" and hs["secure"] is False and hs["xdomain"] is False
    assert re.match(r"/socket\.io/\?", hs["url"]) and hs["headers"]["host"]
    assert socket.rooms == {socket.id, "room1"}

    assert (await client.next("upgrade"))["transport"] == "websocket"
    assert await upgrades.wait() == [("websocket",)]
    fetched = await io.in_("room1").fetch_sockets()
    assert fetched == [socket] and fetched[0].data == {"username": "alice"}

    socket.emit("cmd", {"emit": ["hello", "world", {"$bin": "0a0b"}], "ack": True})
    ack = await client.next("ack")
    assert ack["args"] == ["got world", {"$bin": "0b0a"}]
    assert await hellos.wait() == [("world", b"\x0a\x0b")]

    # server -> client acks, single and broadcast
    assert await asyncio.wait_for(socket.timeout(2).emit_with_ack("question", 1), WAIT) == "ack"
    assert await asyncio.wait_for(io.timeout(2).emit_with_ack("all", 2), WAIT) == ["ack"]

    socket.emit("cmd", {"disconnect": True})
    assert await disconnects.wait() == [("client namespace disconnect", None)]
    assert (await client.next("disconnect"))["reason"] == "io client disconnect"


async def test_middleware_refusal_reaches_connect_error(serve: Factory, node: Any) -> None:
    io, url = await serve()

    @io.use
    async def auth(socket: Socket) -> None:
        if socket.handshake["auth"].get("token") != "123":
            raise ConnectionRefused("not authorized", data={"content": "retry later"})

    client = await node(url, auth={"token": "bad"})
    error = await client.next("connect_error")
    assert error == {
        "type": "connect_error",
        "message": "not authorized",
        "data": {"content": "retry later"},
    }
    assert io.sockets.sockets == {}


async def test_unknown_namespace_and_custom_namespace(serve: Factory, node: Any) -> None:
    io, url = await serve()
    custom = Recorder()
    io.of("/custom").on("connection", custom)
    client = await node(url, nsp="/nope", transports=["websocket"])
    assert (await client.next("connect_error"))["message"] == "Invalid namespace"
    client = await node(url, nsp="/custom", transports=["websocket"])
    connect = await client.next("connect")
    ((socket,),) = await custom.wait()
    assert connect["id"] == socket.id and connect["transport"] == "websocket"


async def test_server_disconnect_reason_reaches_client(serve: Factory, node: Any) -> None:
    io, url = await serve()
    states = Recorder()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.join("room1")
        socket.on("disconnecting", lambda reason: states(reason, socket.rooms))

    client = await node(url, transports=["websocket"])
    connect = await client.next("connect")
    io.in_("room1").disconnect_sockets()
    assert (await client.next("disconnect"))["reason"] == "io server disconnect"
    assert await states.wait() == [("server namespace disconnect", {connect["id"], "room1"})]


async def test_socket_use_refusal_reaches_error(serve: Factory, node: Any) -> None:
    io, url = await serve()
    errors, delivered = Recorder(), Recorder()

    def setup_socket(socket: Socket) -> None:
        def guard(packet: list[Any]) -> None:
            if packet[0] == "admin only":
                raise PermissionError("unauthorized event")

        socket.use(guard)
        socket.on("error", errors)
        socket.on("admin only", delivered)
        socket.on("ok", delivered)

    io.on("connection", setup_socket)
    client = await node(url, transports=["websocket"])
    await client.next("connect")
    (socket,) = io.sockets.sockets.values()
    socket.emit("cmd", {"emit": ["admin only", 1]})
    socket.emit("cmd", {"emit": ["ok", 2]})
    assert await delivered.wait() == [(2,)]
    ((err,),) = await errors.wait()
    assert str(err) == "unauthorized event"


async def test_lone_surrogate_from_js_client_is_echoed(serve: Factory, node: Any) -> None:
    """A JS string may hold a lone surrogate; JSON.stringify escapes it and our reply must
    too (orjson refuses such strings, so encoding used to raise inside the handler)."""
    io, url = await serve()

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        @socket.on("echo")
        def echo(text: str, ack: Any) -> None:
            ack(text, {text: [text + "x"]})

    client = await node(url, transports=["websocket"])
    await client.next("connect")
    (socket,) = io.sockets.sockets.values()
    socket.emit("cmd", {"emit": ["echo", {"$utf16": [0xD800]}], "ack": True})
    ack = await client.next("ack")
    assert ack["args"] == ["\ud800", {"\ud800": ["\ud800x"]}]
