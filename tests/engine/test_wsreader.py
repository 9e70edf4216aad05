"""The lean host's frame reader (``server/engine/wsreader.py``), rule by rule, against
frames built by ``websockets``' own client-side encoder (a codec nobody here wrote)."""

from __future__ import annotations

import random
import struct

import pytest
from websockets.frames import Close, Frame, Opcode

from sioscope.server.engine.wsreader import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    FrameReader,
    close_code,
)


def client(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    """A masked client frame, serialized by websockets."""
    return Frame(opcode, data, fin).serialize(mask=True, extensions=[])


def flipped(frame: bytes, bits: int) -> bytes:
    """``frame`` with first-byte bits toggled (websockets refuses to build it)."""
    return bytes((frame[0] ^ bits,)) + frame[1:]


def test_messages_come_out_whole_however_the_bytes_are_split():
    stream = (
        client(Opcode.TEXT, "héllo".encode())
        + client(Opcode.BINARY, bytes(range(256)) * 300)  # a 64-bit length
        + client(Opcode.TEXT, b"x" * 300)  # a 16-bit length
        + client(Opcode.TEXT, b"frag", fin=False)
        + client(Opcode.PING, b"p")  # a control frame between fragments (5.4)
        + client(Opcode.CONT, b"ment", fin=False)
        + client(Opcode.CONT, b"s")
        + client(Opcode.PONG, b"")
    )
    expected = [
        (TEXT, "héllo"),
        (BINARY, bytes(range(256)) * 300),
        (TEXT, "x" * 300),
        (PING, b"p"),
        (TEXT, "fragments"),
        (PONG, b""),
    ]
    rng = random.Random(5)
    for split in ("whole", "bytes", "random"):
        reader = FrameReader(1 << 20)
        got = []
        i = 0
        while i < len(stream):
            step = {"whole": len(stream), "bytes": 1}.get(split) or rng.randint(1, 900)
            got += reader.feed(stream[i : i + step])
            i += step
        assert got == expected, split
        assert reader.error is None


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (Frame(Opcode.TEXT, b"4x").serialize(mask=False, extensions=[]), 1002),  # 5.1
        (flipped(client(Opcode.TEXT, b"4x"), 0x40), 1002),  # no extension negotiated
        (client(Opcode.TEXT, b"\xff\xfe"), 1007),
        (bytes((0x83, 0x80)) + b"\0\0\0\0", 1002),  # a reserved data opcode
        (bytes((0x8B, 0x80)) + b"\0\0\0\0", 1002),  # a reserved control opcode
        (flipped(client(Opcode.PING, b"p"), 0x80), 1002),  # control frames are final
        (bytes((0x89, 0xFE, 0, 126)) + b"\0" * 130, 1002),  # and at most 125 bytes
        (client(Opcode.CONT, b"x"), 1002),  # nothing to continue
        (client(Opcode.TEXT, b"a", fin=False) + client(Opcode.TEXT, b"b"), 1002),
        (client(Opcode.TEXT, b"x" * 101), 1009),
        (client(Opcode.TEXT, b"x" * 60, fin=False) + client(Opcode.CONT, b"x" * 60), 1009),
    ],
)
def test_each_violation_is_a_frame_error_with_its_code(frame: bytes, code: int):
    reader = FrameReader(100)
    before = client(Opcode.TEXT, b"ok")
    assert reader.feed(before + frame) == [(TEXT, "ok")]  # what came first is kept
    assert reader.error is not None and reader.error.code == code
    assert reader.feed(client(Opcode.TEXT, b"later")) == []  # done (rule 5)


def test_a_frame_announcing_too_much_fails_before_its_payload_arrives():
    reader = FrameReader(1000)
    head = client(Opcode.BINARY, b"x" * 5000)[:14]  # header and mask only
    assert reader.feed(head) == []
    assert reader.error is not None and reader.error.code == 1009


def test_a_close_frame_ends_the_stream_and_its_code_is_validated():
    reader = FrameReader(100)
    close = client(Opcode.CLOSE, Close(1001, "bye").serialize())
    got = reader.feed(close + client(Opcode.TEXT, b"after"))
    assert got == [(CLOSE, struct.pack("!H", 1001) + b"bye")]
    assert close_code(got[0][1]) == 1001  # type: ignore[arg-type]
    assert close_code(b"") is None
    for bad, code in ((b"\x03", 1002), (struct.pack("!H", 1005), 1002), (b"\x03\xe8\xff", 1007)):
        with pytest.raises(Exception) as raised:
            close_code(bad)
        assert getattr(raised.value, "code", None) == code
