"""Malformed HTTP requests get a quick refusal and one rate-limited log line: nobody can
fill the logs with tracebacks by sending 100 KB header lines."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from sioscope.server import Server
from tests.server.sio_rawpeer import RawWs
from tests.server.sio_support import WAIT, listen
from tests.server.test_slow_readers import StreamPeer

BIG_HEADER = (
    b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 100_000
    + b"\r\n\r\n"
)


async def answer(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(64), WAIT)
    finally:
        writer.close()


async def test_a_100_kb_header_line_gets_431_with_one_warning_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On aiohttp (server/engine/aiohttp.py, rule 4): Node's 431, where aiohttp alone
    answers 400; ASGI servers log their own way."""
    io = Server()
    runner, base = await listen(io)
    try:
        await check_quiet_refusals(base, caplog)
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        await asyncio.wait_for(runner.cleanup(), WAIT)


async def check_quiet_refusals(base: str, caplog: pytest.LogCaptureFixture) -> None:
    port = int(base.rsplit(":", 1)[1])
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    for _ in range(5):
        assert (await answer(port, BIG_HEADER)).startswith(
            b"HTTP/1.0 431 Request Header Fields Too Large\r\n"
        )
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info], records
    lines = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and lines[0].startswith("bad HTTP request from 127.0.0.1: 431"), lines
    assert len(lines[0]) < 300
    peer = await RawWs.open(base)  # the server serves on
    await peer.close()


async def test_other_malformed_requests_still_get_400() -> None:
    """Only an oversized head becomes 431; bad syntax stays aiohttp's 400 (as Node's)."""
    io = Server()
    runner, base = await listen(io)
    try:
        port = int(base.rsplit(":", 1)[1])
        got = await answer(port, b"GET /socket.io/ HTTP/1.1\r\nBad Header\r\n\r\n")
        assert got.startswith(b"HTTP/1.0 400 ")
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        await asyncio.wait_for(runner.cleanup(), WAIT)


async def trickle_until_closed(port: int, head: bytes, every: float) -> tuple[bytes, float]:
    """Send ``head`` a byte every ``every`` seconds, never finishing it (slowloris):
    what the server answered, and after how many seconds it closed."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = loop.time()
    data = b""
    try:
        for i in range(len(head)):  # bounded: the head is finite and never completes
            writer.write(head[i : i + 1])
            try:
                data = await asyncio.wait_for(reader.read(1024), every)
                break  # an answer, or the close (b"")
            except TimeoutError:
                continue
        data += await asyncio.wait_for(reader.read(), WAIT)
        return data, loop.time() - started
    finally:
        writer.close()


SLOW_HEAD = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 400


async def test_a_head_never_finished_gets_408_after_headers_timeout() -> None:
    """A client trickling a head byte by byte (slowloris) is answered 408 and closed
    after ``headers_timeout``, on aiohttp (server/engine/aiohttp.py, rule 6); aiohttp
    alone holds it for its keep-alive timeout (an hour under this AppRunner). A
    connection that sends nothing is closed too; a complete request, and the next one
    on the same connection, are untouched."""
    io = Server(headers_timeout=0.4)
    runner, base = await listen(io)
    try:
        port = int(base.rsplit(":", 1)[1])
        data, took = await trickle_until_closed(port, SLOW_HEAD, every=0.05)
        assert data == (
            b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        assert 0.35 < took < 2.0, took
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await asyncio.wait_for(reader.read(), WAIT)).startswith(b"HTTP/1.1 408 ")
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        polling = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
        for _ in range(2):  # the second past headers_timeout: idle between requests is kept
            writer.write(polling)
            got = await asyncio.wait_for(reader.readuntil(b'"maxPayload":1000000}'), WAIT)
            assert got.startswith(b"HTTP/1.1 200 ")
            await asyncio.sleep(0.6)
        writer.close()
        peer = await RawWs.open(base)  # a WebSocket outlives the timeout
        await asyncio.sleep(0.6)
        await peer.send("0")
        assert (await peer.recv()).startswith("0{")
        await peer.close()
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        await asyncio.wait_for(runner.cleanup(), WAIT)


async def test_an_unmasked_client_frame_closes_with_1002() -> None:
    """RFC 6455 section 5.1 (Node's ws closes with 1002); aiohttp alone accepts it
    (server/engine/aiohttp.py, rule 5). ``\\x81\\x15`` + ``42["message","frame"]``."""
    io = Server()
    got: list[str] = []
    io.on("connection", lambda s: s.on("message", got.append))
    closes: list[str] = []
    io.on("connection", lambda s: s.on("disconnect", lambda r, *_: closes.append(r)))
    runner, base = await listen(io)
    try:
        peer = await StreamPeer.open(int(base.rsplit(":", 1)[1]))
        assert (await peer.recv()).startswith("0{")
        peer.send("40")
        assert (await peer.recv()).startswith("40{")
        payload = b'42["message","frame"]'
        peer.writer.write(bytes((0x81, len(payload))) + payload)
        head = await asyncio.wait_for(peer.reader.readexactly(4), WAIT)
        assert head == b"\x88\x02\x03\xea"  # a close frame, code 1002
        assert await asyncio.wait_for(peer.reader.read(), WAIT) == b""  # then the TCP close
        assert got == []
        for _ in range(50):
            if closes:
                break
            await asyncio.sleep(0.02)
        assert closes == ["transport error"]
        await peer.close()
        masked = await RawWs.open(base)  # the server serves on
        await masked.close()
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        await asyncio.wait_for(runner.cleanup(), WAIT)


def test_mask_check_follows_frames_split_anywhere() -> None:
    """Frame boundaries are followed across any split of the bytes (7-bit, 16-bit and
    64-bit lengths), and only the unmasked frame fails."""
    from sioscope.server.engine.aiohttp import _MaskCheck

    def frame(size: int, masked: bool = True) -> bytes:
        bit = 0x80 if masked else 0
        if size < 126:
            head = bytes((0x82, bit | size))
        elif size < 65536:
            head = bytes((0x82, bit | 126)) + size.to_bytes(2, "big")
        else:
            head = bytes((0x82, bit | 127)) + size.to_bytes(8, "big")
        return head + (b"\x01\x02\x03\x04" if masked else b"") + b"\x00" * size

    class Inner:
        fed = 0

        def feed_data(self, data: bytes) -> tuple[bool, bytes]:
            self.fed += len(data)
            return False, b""

    class Queue:
        error: BaseException | None = None

        def set_exception(self, exc: BaseException) -> None:
            self.error = exc

    stream = frame(5) + frame(300) + frame(70_000) + frame(0)
    rng = random.Random(7)
    for chunking in ("bytes", "random"):
        inner, queue = Inner(), Queue()
        check = _MaskCheck(inner, queue)
        i = 0
        while i < len(stream):
            step = 1 if chunking == "bytes" and i < 400 else rng.randint(1, 5000)
            check.feed_data(stream[i : i + step])
            i += step
        assert queue.error is None and inner.fed == len(stream)
        check.feed_data(frame(3, masked=False))
        assert queue.error is not None and "not masked" in str(queue.error)
