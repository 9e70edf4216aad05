"""Clients that stop reading must not eat the server: the bench's slow-reader scenario
(bench/loadgen.js ``slow_reader``), bounded, against a server in this process.

The kernel would absorb megabytes per socket on loopback before any byte stayed in the
process, so the listening socket gets a small send buffer (accepted sockets inherit it,
and a fixed size turns autotuning off): what the server keeps past it is then its own.
The load generator reads this process's RSS from /proc and times a canary's acks; a
probe here also measures the event loop's longest stall directly.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from sioscope.server import Server, Socket
from tests.conftest import ROOT
from tests.server.sio_rawpeer import RawWs
from tests.server.sio_support import WAIT, Recorder

pytestmark = pytest.mark.interop

CLIENTS = 60
BROADCASTS = 4
PAYLOAD = 400_000
SNDBUF = 16_384


class StallProbe:
    """The longest the event loop went without running a 5 ms timer on time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.longest = max(self.longest, loop.time() - before - 0.005)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def bench_app(io: Server) -> None:
    """The bench servers' behaviours: room ``all``, ``echo`` acks, ``broadcast``."""

    @io.on("connection")
    def on_connection(sock: Socket) -> None:
        sock.join("all")

        @sock.on("echo")
        def echo(arg: Any = None, ack: Any = None) -> None:
            if ack is not None:
                ack(arg)

        @sock.on("broadcast")
        def broadcast(payload: Any = None) -> None:
            io.to("all").emit("broadcast", payload)


@pytest.fixture(name="serve_small")
async def serve_small_fixture() -> AsyncIterator[Callable[..., Awaitable[tuple[Server, int]]]]:
    """``await serve_small(**options)`` -> (io, port): the bench app on a listener
    whose accepted sockets have a fixed, small kernel send buffer."""
    started: list[tuple[Server, web.AppRunner]] = []

    async def start(sndbuf: int | None = SNDBUF, **opts: Any) -> tuple[Server, int]:
        opts.setdefault("ping_interval", 25)
        opts.setdefault("ping_timeout", 20)
        opts.setdefault("websocket_send_buffer", sndbuf)  # the accept sets it again
        io = Server(**opts)
        bench_app(io)
        app = web.Application()
        io.attach(app)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        started.append((io, runner))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sndbuf is not None:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        listener.bind(("127.0.0.1", 0))
        await web.SockSite(runner, listener).start()
        return io, listener.getsockname()[1]

    yield start
    for io, runner in reversed(started):
        await asyncio.wait_for(io.close(), 10)
        await asyncio.wait_for(runner.cleanup(), 10)


async def slow_peer(io: Server, port: int, rcvbuf: int | None = 4096) -> tuple[RawWs, Socket]:
    """A raw peer connected to ``/`` that then stops reading, and its server socket."""
    connected: asyncio.Future[Socket] = asyncio.get_running_loop().create_future()
    io.once("connection", connected.set_result)
    peer = await RawWs.open(f"http://127.0.0.1:{port}")
    peer.ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await peer.send("0")
    assert (await peer.recv()).startswith("0{")  # type: ignore[union-attr]
    sock = await asyncio.wait_for(connected, WAIT)
    peer.ws.transport.pause_reading()
    return peer, sock


@pytest.mark.timeout(120)
async def test_slow_readers_keep_memory_and_loop_bounded(
    node_bin: str, serve_small: Callable[..., Awaitable[tuple[Server, int]]]
) -> None:
    _, port = await serve_small()
    cfg = {
        "scenario": "slow_reader",
        "port": port,
        "serverPid": os.getpid(),
        "clients": CLIENTS,
        "concurrency": 20,
        "broadcasts": BROADCASTS,
        "payloadBytes": PAYLOAD,
        "settleMs": 200,
        "timeoutS": 90,
    }
    probe = StallProbe()
    probe.start()
    gen = await asyncio.create_subprocess_exec(
        node_bin,
        str(ROOT / "bench" / "loadgen.js"),
        json.dumps(cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(gen.communicate(), 100)
    finally:
        if gen.returncode is None:
            gen.kill()
            await gen.wait()
        await probe.stop()
    records = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert records, err.decode()[-2000:]
    rec = records[-1]
    assert "error" not in rec, rec
    assert rec["errors"] == 0 and rec["ops"] == BROADCASTS, rec
    # Copied per socket, the frames would cost CLIENTS x PAYLOAD (24 MB) per broadcast,
    # ~96 MB in all. Shared, they cost one payload each: allow a quarter of one copy set.
    growth_mb = (rec["rss_after_kb"] - rec["rss_before_kb"]) / 1024
    assert growth_mb < CLIENTS * PAYLOAD * BROADCASTS / 4 / 2**20, rec
    # Generous: a few ms per thousand sockets is the goal; 60 sockets under a loaded
    # 2-core machine must stay far below this.
    assert probe.longest < 0.5, probe.longest
    assert rec["stall_ms"] < 1000, rec


async def test_owing_past_the_cap_closes_with_transport_error(
    serve_small: Callable[..., Awaitable[tuple[Server, int]]],
) -> None:
    cap = 2_000_000
    io, port = await serve_small(max_write_buffer_size=cap)
    peer, sock = await slow_peer(io, port)
    reasons = Recorder()
    sock.on("disconnect", reasons)
    conn = sock.conn
    peak = 0
    for _ in range(20):  # 20 x 300 KB, far past the cap
        sock.emit("big", "x" * 300_000)
        peak = max(peak, conn.owed_bytes)
        await asyncio.sleep(0.01)
    assert (await reasons.wait(1))[0][0] == "transport error"
    assert peak <= cap
    assert conn.owed_bytes == 0  # nothing kept for a closed connection
    await peer.close()


async def test_volatile_packets_are_dropped_and_counted_while_owed(
    serve_small: Callable[..., Awaitable[tuple[Server, int]]],
) -> None:
    io, port = await serve_small()
    peer, sock = await slow_peer(io, port)
    sock.emit("big", "x" * 1_000_000)
    await asyncio.sleep(0.05)
    assert not sock.conn.transport.writable
    for i in range(5):
        sock.volatile.emit("tick", i)
    assert sock.conn.dropped_packets == 5
    assert sock.conn.owed_bytes > 500_000  # the big frame, owed by reference
    await peer.close()


class StreamPeer:
    """A WebSocket peer on a bare asyncio stream: it reads only when the test asks, so
    the stream's own flow control stops the socket while nobody reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> StreamPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=16_384)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes((0x81, 0x80 | len(payload))) + mask + masked)

    async def recv(self) -> str:
        """The next text frame's payload (pings answered)."""
        while True:
            _, second = await asyncio.wait_for(self.reader.readexactly(2), WAIT)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            text = (await asyncio.wait_for(self.reader.readexactly(size), WAIT)).decode()
            if text == "2":
                self.send("3")
                continue
            return text

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def test_drain_when_a_slow_reader_catches_up_and_nothing_is_lost(
    serve_small: Callable[..., Awaitable[tuple[Server, int]]],
) -> None:
    """Node's order: packets wait in the connection's buffer while the transport is
    not writable; when it drains they are flushed in order and ``drain`` follows.
    (Kernel buffers autotune here: fixed small ones drain at a crawl once read.)"""
    io, port = await serve_small(sndbuf=None)
    connected: asyncio.Future[Socket] = asyncio.get_running_loop().create_future()
    io.once("connection", connected.set_result)
    peer = await StreamPeer.open(port)
    assert (await peer.recv()).startswith("0{")
    peer.send("40")
    assert (await peer.recv()).startswith("40{")
    sock = await asyncio.wait_for(connected, WAIT)
    drains = Recorder()
    sock.conn.on("drain", drains)
    big = "x" * 1_000_000
    sent = 0
    while sock.conn.transport.writable and sent < 40:  # until the kernel is full
        sock.emit("big", big)
        sent += 1
        await asyncio.sleep(0.02)
    assert not sock.conn.transport.writable
    drains.calls.clear()
    for i in range(3):
        sock.emit("after", i)
    await asyncio.sleep(0.05)
    assert drains.calls == []  # still owed: nothing flushed, no drain
    assert len(sock.conn.write_buffer) == 3
    for _ in range(sent):  # reading again: what was owed arrives, in order
        assert await peer.recv() == f'42["big","{big}"]'
    assert [await peer.recv() for _ in range(3)] == [f'42["after",{i}]' for i in range(3)]
    await drains.wait(1)
    assert sock.conn.owed_bytes == 0
    await peer.close()


@pytest.mark.parametrize("host", ["aiohttp", "lean"])
async def test_websocket_send_buffer_caps_the_kernel_send_buffer(host: str) -> None:
    """``websocket_send_buffer`` (host.py, rule 5) is the accepted WebSocket's
    ``SO_SNDBUF`` on both hosts that own their sockets (Linux doubles what it is
    given); ``None`` leaves the kernel's autotuning. Autotuned, each client that stops
    reading had the kernel copy megabytes on the loop (bench ``slow_reader``)."""
    from sioscope.server.engine.httptools import serve as serve_lean
    from tests.server.sio_support import listen

    async def sndbuf_of_accepted(**opts: Any) -> int:
        io = Server(**opts)
        connected: asyncio.Future[Socket] = asyncio.get_running_loop().create_future()
        io.once("connection", connected.set_result)
        if host == "aiohttp":
            runner, base = await listen(io)
            stop: Callable[[], Awaitable[None]] = runner.cleanup
        else:
            listener = await serve_lean(io.engine, "127.0.0.1", 0)
            base = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"

            async def stop() -> None:
                listener.close()

        try:
            peer = await RawWs.open(base)
            await peer.send("0")
            sock = await asyncio.wait_for(connected, WAIT)
            native = sock.conn.request.native  # aiohttp's web.Request, or the connection
            raw = native.transport.get_extra_info("socket")
            size: int = raw.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            await peer.close()
            return size
        finally:
            await asyncio.wait_for(io.close(), WAIT)
            await stop()

    assert await sndbuf_of_accepted() == 2 * 256 * 1024
    assert await sndbuf_of_accepted(websocket_send_buffer=64 * 1024) == 2 * 64 * 1024
    assert await sndbuf_of_accepted(websocket_send_buffer=None) != 2 * 256 * 1024


def test_limit_send_buffer_takes_uvloop_transports_and_listeners() -> None:
    """The bench servers run on uvloop, whose transports are no asyncio.BaseTransport
    and whose listeners hand out ``PseudoSocket``s: both get the cap."""
    uvloop = pytest.importorskip("uvloop")
    from sioscope.server.engine.host import limit_send_buffer

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future[asyncio.BaseTransport] = loop.create_future()

        class Keep(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted.set_result(transport)

        server = await loop.create_server(Keep, "127.0.0.1", 0)
        limit_send_buffer(server.sockets[0], 64 * 1024)
        _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        transport = await asyncio.wait_for(accepted, WAIT)
        inherited = transport.get_extra_info("socket").getsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF
        )
        limit_send_buffer(transport, 32 * 1024)
        capped = transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        writer.close()
        transport.close()
        server.close()
        return inherited, capped

    assert uvloop.run(main()) == (2 * 64 * 1024, 2 * 32 * 1024)


async def test_a_closed_connection_leaves_no_cycle_through_conn_and_client() -> None:
    """The Client takes its listeners off the Conn when it closes (Node's
    ``client.destroy()``), so a closed connection's Conn, Client and Socket are freed
    by reference counting: a storm of handshakes and closes leaves the collector no
    walk over them (before, each closed connection left ~36 objects in a cycle)."""
    import gc

    from sioscope.server.engine.httptools import serve as serve_lean

    io = Server()
    bench_app(io)
    listener = await serve_lean(io.engine, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            peer = await RawWs.open(base)
            await peer.send("0")
            assert (await peer.recv()).startswith("0{")  # type: ignore[union-attr]
            await peer.close()
        for _ in range(100):
            if not io.engine.clients:
                break
            await asyncio.sleep(0.02)
        assert not io.engine.clients
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage} & {"Conn", "Client", "Socket"}
        assert not left, left
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        await asyncio.wait_for(io.close(), WAIT)
        listener.close()
