"""When a WebSocket's frames reach the socket (``Conn``, rule 1), on the httptools host.

The driver's ``HttpConnection`` runs on an in-memory asyncio transport that records
each ``write`` call, so a test sees which frames went out inside the call that sent
them and which at the end of the loop's pass, and how many writes they took. The
bytes a client sees are the differential tests' business; this is only the timing:

* a reply to a connection's own message (an ack) waits for the end of the pass, and
  the replies to two messages read together leave in one write;
* a message for a connection that is not being read (a broadcast's recipients, a
  push from a timer) is written at once; the next ones of that tick together after.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

from sioscope.server.engine import EngineServer
from sioscope.server.engine.httptools import HttpConnection


class _RecordingTransport(asyncio.Transport):
    """What the driver writes, one entry per ``write`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_reading(self) -> bool:
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _masked(payload: bytes) -> bytes:
    key = b"\x01\x02\x03\x04"
    assert len(payload) < 126
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes((0x81, 0x80 | len(payload))) + key + masked


def _text(payload: str) -> bytes:
    data = payload.encode()
    return bytes((0x81, len(data))) + data


async def _passes(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _websocket(engine: EngineServer) -> tuple[HttpConnection, _RecordingTransport, str]:
    conn = HttpConnection(engine, 5.0)
    out = _RecordingTransport()
    conn.connection_made(out)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.data_received(
        (
            "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    for _ in range(50):  # the handshake runs as a task: a few passes, bounded
        await asyncio.sleep(0)
        if any(b'"sid"' in w for w in out.writes):
            break
    await _passes()  # the open packet's tick is over
    opened = b"".join(out.writes).split(b"\r\n\r\n", 1)[1]
    sid = json.loads(opened[3:])["sid"]  # frame header (2 bytes), then "0{...}"
    out.writes.clear()
    return conn, out, sid


async def test_replies_wait_for_the_pass_and_leave_in_one_write() -> None:
    engine = EngineServer(path="/engine.io/")

    def on_connection(conn: Any) -> None:
        conn.on("message", lambda data: conn.send("re:" + data))

    engine.on("connection", on_connection)
    try:
        conn, out, _ = await _websocket(engine)
        conn.data_received(_masked(b"4a") + _masked(b"4b"))  # two messages, one read
        assert out.writes == []  # nothing inside the read: the replies wait for the pass
        await _passes()
        assert out.writes == [_text("4re:a") + _text("4re:b")]
    finally:
        await engine.close()


async def test_a_message_for_a_connection_not_being_read_is_written_at_once() -> None:
    engine = EngineServer(path="/engine.io/")
    try:
        _, out, sid = await _websocket(engine)
        conn = engine.clients[sid]
        conn.send("one")
        assert out.writes == [_text("4one")]  # inside send: Node's sendPacket flush
        conn.send("two")
        conn.send("three")
        assert out.writes == [_text("4one")]  # the rest of the tick waits for its flush
        await _passes()
        assert out.writes == [_text("4one"), _text("4two") + _text("4three")]
        conn.send("four")  # a later pass: at once again
        assert out.writes[-1] == _text("4four")
    finally:
        await engine.close()


async def test_a_broadcast_from_a_handler_writes_to_the_others_at_once() -> None:
    engine = EngineServer(path="/engine.io/")
    conns: list[Any] = []

    def on_connection(conn: Any) -> None:
        conns.append(conn)

        def fan_out(data: str) -> None:
            for each in conns:
                each.send(data)

        conn.on("message", fan_out)

    engine.on("connection", on_connection)
    try:
        sender, sender_out, _ = await _websocket(engine)
        _, other_out, _ = await _websocket(engine)
        sender.data_received(_masked(b"4hi"))
        assert other_out.writes == [_text("4hi")]  # during the sender's handler
        assert sender_out.writes == []  # the sender's own copy: a reply, after the pass
        await _passes()
        assert sender_out.writes == [_text("4hi")]
    finally:
        await engine.close()
