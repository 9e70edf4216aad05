"""The httptools driver (``sioscope.server.engine.httptools``): real peers, bad input.

The echo server of ``conftest.py`` is served by the httptools driver too (the same
engine behind both hosts), and its ``url`` points at that host, so npm engine.io-client
and python-engineio's client drive the engine through the lean host exactly as the
aiohttp-host tests do. The raw-socket tests check the driver's own rules: malformed
or oversized requests, pipelining, HEAD, 404, and WebSocket frame errors each close
only their connection.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import engineio
import pytest
import websockets

from sioscope.server.engine import EngineServer
from sioscope.server.engine.host import Response
from sioscope.server.engine.httptools import encode_response, serve

from .conftest import EchoServer, running_echo
from .test_interop_node import run_node


@asynccontextmanager
async def lean_echo(**options: Any) -> AsyncIterator[EchoServer]:
    """The conftest's echo server, its ``url`` moved to the httptools host."""
    async with running_echo(**options) as srv:
        listener = await serve(srv.eng, "127.0.0.1", 0, keep_alive_timeout=0.5)
        srv.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        try:
            yield srv
        finally:
            await srv.eng.close()
            listener.close()
            await listener.wait_closed()


@pytest.fixture
async def lean() -> AsyncIterator[EchoServer]:
    async with lean_echo() as srv:
        yield srv


async def _exchange(srv: EchoServer, raw: bytes, timeout: float = 3.0) -> bytes:
    """Send raw bytes on a new TCP connection; everything read until the server closes."""
    port = int(srv.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


async def _still_serves(srv: EchoServer) -> None:
    client = engineio.AsyncClient()
    got: asyncio.Queue[Any] = asyncio.Queue()
    client.on("message", got.put_nowait)
    await asyncio.wait_for(client.connect(srv.url, transports=["polling"]), 5)
    try:
        await client.send("still here")
        assert await asyncio.wait_for(got.get(), 3) == "still here"
    finally:
        await asyncio.wait_for(client.disconnect(), 5)


# -- real peers ----------------------------------------------------------------------


@pytest.mark.interop
async def test_engine_io_client_upgrades_and_echoes(lean, node_bin):
    report = await run_node(node_bin, lean.url, "polling,websocket", count=20, mode="eager")
    assert report["echoesMatch"] is True, report
    assert report["transports"] == ["polling", "websocket"]
    assert report["finalTransport"] == "websocket"
    conn = lean.conns[0]
    assert report["sid"] == conn.id and conn.upgraded
    assert (await lean.closed_with(conn.id, timeout=3))[0] == "transport close"
    names = lean.names(conn.id)
    assert names.index("upgrading") < names.index("upgrade")
    assert names[-1] == "close"


@pytest.mark.interop
async def test_engine_io_client_websocket_only_and_polling_only(lean, node_bin):
    report = await run_node(node_bin, lean.url, "websocket")
    assert report["echoesMatch"] is True and report["transports"] == ["websocket"], report
    report = await run_node(node_bin, lean.url, "polling", count=30, mode="eager")
    assert report["echoesMatch"] is True and report["finalTransport"] == "polling", report


@pytest.mark.interop
async def test_python_engineio_client_binary_and_text(lean):
    payloads = ["hello", b"\x00\x01\xfe\xff", "héllo ✓", b"", "x" * 70_000]
    for transports in (["polling", "websocket"], ["websocket"], ["polling"]):
        client = engineio.AsyncClient()
        got: asyncio.Queue[Any] = asyncio.Queue()
        client.on("message", got.put_nowait)
        await asyncio.wait_for(client.connect(lean.url, transports=transports), 5)
        try:
            for data in payloads:
                await client.send(data)
            echoes = [await asyncio.wait_for(got.get(), 3) for _ in payloads]
            assert echoes == payloads, transports
            assert client.transport() == transports[-1]
        finally:
            await asyncio.wait_for(client.disconnect(), 5)
    reasons = [await lean.closed_with(c.id) for c in lean.conns]
    assert [r for r, _ in reasons] == ["transport close"] * 3


# -- the driver's own rules --------------------------------------------------------


async def test_a_malformed_request_gets_400_and_the_server_keeps_serving(lean):
    answer = await _exchange(lean, b"GET /engine.io/ HTTP/1.1\r\nBad Header\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in answer
    await _still_serves(lean)


async def test_an_oversized_head_gets_431(lean):
    raw = b"GET /engine.io/ HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    answer = await _exchange(lean, raw)
    assert answer.startswith(b"HTTP/1.1 431 ")
    await _still_serves(lean)


async def test_pipelined_requests_are_answered_in_order_and_head_has_no_body(lean):
    raw = (
        b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /engine.io/?EIO=4&transport=bogus HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answer = await _exchange(lean, raw)
    first, second, third = answer.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK") and b'0{"sid":' in first
    # Node's "Transport unknown" refusal; HEAD: the length of the body, not the body
    assert second.startswith(b"400 Bad Request") and b"Content-Length: 40\r\n" in second
    assert second.endswith(b"\r\n\r\n")
    assert third.startswith(b"404 Not Found") and third.endswith(b"Not Found")


async def test_an_idle_keep_alive_connection_is_closed(lean):
    port = int(lean.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        # the 404, then the close after keep_alive_timeout (0.5 s here)
        assert (await asyncio.wait_for(reader.read(), 3)).startswith(b"HTTP/1.1 404 ")
    finally:
        writer.close()


async def test_a_head_never_finished_gets_408_after_headers_timeout():
    """Rule 4: a client trickling a head (slowloris) is answered 408 and closed after
    ``headers_timeout`` (0.4 s here), though the bytes keep coming; keep-alive is 0.5 s."""
    from tests.server.test_bad_requests import trickle_until_closed

    async with lean_echo(headers_timeout=0.4) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        head = b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nX-Slow: " + b"a" * 400
        data, took = await trickle_until_closed(port, head, every=0.05)
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
        assert b"Connection: close" in data
        assert 0.35 < took < 2.0, took
        await _still_serves(srv)


async def test_polling_needs_no_task_and_websocket_tasks_belong_to_the_engine():
    """Rule 8: a parked long-poll of an open session is no task at all (it is answered
    from its poll's callback: the engine's close delivers it the close packet); a
    WebSocket behind an engine middleware is served by a task of ``engine.tasks``, and
    cancelling those leaves nothing of the driver's on the loop and closes the TCP
    link (the test after this one: without such a hook, no task at all)."""
    async with lean_echo() as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        get = b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
        writer.write(get)
        opened = await asyncio.wait_for(reader.readuntil(b'"maxPayload":1000000}'), 3)
        sid = opened.split(b'"sid":"')[1].split(b'"')[0].decode()
        before = len(srv.eng.tasks)
        writer.write(get.replace(b"polling", f"polling&sid={sid}".encode()))  # parks
        await asyncio.sleep(0.1)
        assert len(srv.eng.tasks) == before and srv.conns[0].transport.writable
        srv.conns[0].close()  # as engine.close() does: the parked GET carries the close
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n1"), 3)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        writer.close()

        srv.eng.use(lambda request: None)  # a hook the handshake could await
        ws_reader, ws_writer = await asyncio.open_connection("127.0.0.1", port)
        ws_writer.write(_upgrade_request())
        await asyncio.wait_for(ws_reader.readuntil(b"\r\n\r\n"), 3)
        for _ in range(50):
            if len(srv.eng.tasks) > before:
                break
            await asyncio.sleep(0.02)
        assert len(srv.eng.tasks) == before + 1
        await asyncio.wait_for(srv.eng.tasks.close(), 3)  # what engine.close() ends with
        assert len(srv.eng.tasks) == 0
        rest = await asyncio.wait_for(ws_reader.read(), 3)  # the open packet, then EOF
        assert rest.startswith(b"\x81") and ws_reader.at_eof()
        ws_writer.close()


def _client_frame(opcode: int, payload: bytes, *, mask: bool = True, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    length = bytes([size]) if size < 126 else bytes([126]) + struct.pack("!H", size)
    if not mask:
        return head + length + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + bytes([length[0] | 0x80]) + length[1:] + key + masked


def _upgrade_request(path: str = "/engine.io/?EIO=4&transport=websocket") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_client_frame(0x1, b"4hello", mask=False), 1002),  # clients must mask
        (_client_frame(0x1, b"4\xff\xfe"), 1007),  # text that is not UTF-8
        (_client_frame(0x3, b"x"), 1002),  # a reserved opcode
    ],
)
async def test_a_bad_frame_closes_that_socket_with_a_websocket_error(lean, frame, code):
    answer = await _exchange(lean, _upgrade_request() + frame)
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    # the open packet, then a close frame with the code
    assert struct.pack("!BBH", 0x88, answer[answer.rindex(b"\x88") + 1], code) in answer
    reason, description = await lean.closed_with(lean.conns[0].id)
    assert reason == "transport error" and "websocket error" in str(description)
    await _still_serves(lean)


async def test_a_message_over_max_http_buffer_size_closes_with_1009():
    async with lean_echo(max_http_buffer_size=100) as srv:
        url = srv.ws_endpoint("EIO=4&transport=websocket")
        async with websockets.connect(url, compression=None) as ws:
            assert (await ws.recv()).startswith("0")
            await ws.send("4" + "x" * 200)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert (await srv.closed_with(srv.conns[0].id))[0] == "transport error"


async def test_a_bad_handshake_gets_400_and_a_websocket_echoes_fragments(lean):
    bad = _upgrade_request().replace(b"Version: 13", b"Version: 8")
    assert (await _exchange(lean, bad)).startswith(b"HTTP/1.1 400 ")
    port = int(lean.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_upgrade_request())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert head.startswith(b"HTTP/1.1 101 ")
        first, size = await asyncio.wait_for(reader.readexactly(2), 3)
        assert first == 0x81 and size < 126  # the open packet, a short text frame
        assert (await asyncio.wait_for(reader.readexactly(size), 3)).startswith(b"0{")
        # a message in two fragments around a ping: the pong, then the echo in one frame
        writer.write(
            _client_frame(0x1, b"4hel", fin=False)
            + _client_frame(0x9, b"p")
            + _client_frame(0x0, b"lo")
        )
        expected = b"\x8a\x01p\x81\x064hello"
        assert await asyncio.wait_for(reader.readexactly(len(expected)), 3) == expected
        writer.write(_client_frame(0x8, struct.pack("!H", 1000)))
        # our close frame answers theirs, then the server closes the TCP connection
        assert await asyncio.wait_for(reader.read(), 3) == b"\x88\x02\x03\xe8"
    finally:
        writer.close()
    assert (await lean.closed_with(lean.conns[0].id))[0] == "transport close"


def test_a_response_header_with_cr_or_lf_is_never_written():
    with pytest.raises(ValueError, match="CR or LF"):
        encode_response(Response(200, {"X-Evil": "a\r\nSet-Cookie: b=c"}), keep_alive=True)
    data = encode_response(Response(204, {"X-A": "1"}), keep_alive=False)
    assert data == b"HTTP/1.1 204 No Content\r\nX-A: 1\r\nConnection: close\r\n\r\n"


def test_encoded_header_lines_are_reused_without_changing_a_byte():
    """encode_response keeps the lines it checked (rule 3): the second response with the
    same headers is the same bytes, a hook's Content-Length is never doubled, and an
    unsafe header is refused every time, not only the first."""
    response = Response(200, {"Content-Type": "text/html", "content-length": "2"}, b"ok")
    first = encode_response(response, keep_alive=True)
    assert first == encode_response(response, keep_alive=True)
    assert first == b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ncontent-length: 2\r\n\r\nok"
    for _ in range(2):
        with pytest.raises(ValueError, match="CR or LF"):
            encode_response(Response(200, {"X-Evil": "a\nb"}), keep_alive=True)
    head = encode_response(Response(200, {"Content-Type": "text/html"}, b"ok"), True, head=True)
    assert head == b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\n"


async def test_serve_refuses_per_message_deflate():
    with pytest.raises(ValueError, match="permessage-deflate"):
        await serve(EngineServer(per_message_deflate=True))


async def test_expect_100_continue_gets_its_go_before_the_body(lean):
    port = int(lean.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /engine.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        go = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert go == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"4ping")
        answer = await asyncio.wait_for(reader.readuntil(b'"Session ID unknown"}'), 3)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    finally:
        writer.close()


class _RecordingTransport(asyncio.Transport):
    """Each ``write`` the driver makes, kept apart (what one send would carry)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_reading(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_101_and_the_open_packet_leave_in_one_write(lean):
    """Rule 6: the handshake's answer and the open packet are one send (one system
    call instead of two); the bytes are those of two writes, in order."""
    from sioscope.server.engine.httptools import HttpConnection

    conn = HttpConnection(lean.eng, 5.0)
    transport = _RecordingTransport()
    conn.connection_made(transport)
    conn.data_received(_upgrade_request())
    for _ in range(50):
        if transport.writes:
            break
        await asyncio.sleep(0.01)
    first = transport.writes[0]
    assert first.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    frame = first.split(b"\r\n\r\n", 1)[1]
    assert frame[0] == 0x81 and frame[2:].startswith(b'0{"sid":"')  # the open packet
    conn.connection_lost(None)


async def test_a_websocket_with_nothing_to_await_is_served_without_a_task(lean):
    """Rule 8: with no middleware, no ``allow_request`` and the default ids, the
    WebSocket is accepted and served by callbacks (``accept_now``): no task while it is
    open; it echoes, and a close from either side still ends it with Node's reasons."""
    port = int(lean.url.rsplit(":", 1)[1])
    before = len(lean.eng.tasks)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_upgrade_request())
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        first, size = await asyncio.wait_for(reader.readexactly(2), 3)
        assert first == 0x81  # the open packet, a text frame
        assert (await asyncio.wait_for(reader.readexactly(size), 3)).startswith(b"0{")
        assert len(lean.eng.tasks) == before and len(lean.conns) == 1
        writer.write(_client_frame(0x1, b"4hello"))
        assert await asyncio.wait_for(reader.readexactly(8), 3) == b"\x81\x064hello"
        assert len(lean.eng.tasks) == before
        lean.conns[0].close()  # a server close: the close frame, then the peer's answer
        assert await asyncio.wait_for(reader.readexactly(4), 3) == b"\x88\x02\x03\xe8"
        writer.write(_client_frame(0x8, struct.pack("!H", 1000)))
        assert await asyncio.wait_for(reader.read(), 3) == b""  # then the TCP link closes
    finally:
        writer.close()
    assert (await lean.closed_with(lean.conns[0].id))[0] == "forced close"
    await _still_serves(lean)
