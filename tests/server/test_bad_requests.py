"""Malformed HTTP requests get a quick refusal and one rate-limited log line: nobody can
fill the logs with tracebacks by sending 100 KB header lines."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sioscope.server import Server
from tests.server.sio_rawpeer import RawWs
from tests.server.sio_support import WAIT, listen

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


async def test_a_100_kb_header_line_is_refused_with_one_warning_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On aiohttp (server/engine/aiohttp.py, rule 4); ASGI servers log their own way."""
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
        assert (await answer(port, BIG_HEADER)).startswith(b"HTTP/1.0 400")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info], records
    lines = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and lines[0].startswith("bad HTTP request from 127.0.0.1: 400"), lines
    assert len(lines[0]) < 300
    peer = await RawWs.open(base)  # the server serves on
    await peer.close()
