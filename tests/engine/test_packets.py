"""The sans-I/O codec, table-driven: Node's engine.io-parser v4 vectors."""

from __future__ import annotations

import pytest

from sioscope.server.engine.packets import (
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    make_packet,
)

ERROR = {"type": "error", "data": "parser error"}


@pytest.mark.parametrize(
    ("packet", "wire"),
    [
        ({"type": "open", "data": '{"sid":"x"}'}, '0{"sid":"x"}'),
        ({"type": "close"}, "1"),
        ({"type": "ping"}, "2"),
        ({"type": "ping", "data": "probe"}, "2probe"),
        ({"type": "pong", "data": "probe"}, "3probe"),
        ({"type": "message", "data": "héllo ✓"}, "4héllo ✓"),
        ({"type": "message", "data": ""}, "4"),
        ({"type": "upgrade"}, "5"),
        ({"type": "noop"}, "6"),
        ({"type": "message", "data": b"\x01\x02"}, b"\x01\x02"),
    ],
)
def test_websocket_frames_round_trip(packet, wire):
    assert encode_packet(packet) == wire
    decoded = decode_packet(wire)
    if packet.get("data") == "":
        assert decoded == {"type": "message"}  # Node: "4" has no data
    else:
        assert decoded == packet


@pytest.mark.parametrize("wire", ["", "9", "a", "abc", "x4hello", "7"])
def test_undecodable_frames_become_the_error_packet(wire):
    assert decode_packet(wire) == ERROR


def test_payload_encoding_joins_with_record_separator_and_base64():
    packets = [make_packet("message", "hello"), make_packet("message", b"\x01\x02\x03\x04")]
    assert encode_payload(packets) == "4hello\x1ebAQIDBA=="
    assert decode_payload("4hello\x1ebAQIDBA==") == packets
    assert encode_payload([make_packet("noop")]) == "6"


def test_payload_has_no_packet_count_limit():
    body = "\x1e".join(["4x"] * 10_000)
    assert len(decode_payload(body)) == 10_000


def test_payload_decoding_stops_at_first_bad_packet():
    assert decode_payload("4a\x1e9\x1e4b") == [{"type": "message", "data": "a"}, ERROR]
    assert decode_payload("b@@@") == [ERROR]
    assert decode_payload("") == [ERROR]


def test_make_packet_leaves_data_out_when_none():
    assert make_packet("ping") == {"type": "ping"}
    assert make_packet("message", "") == {"type": "message", "data": ""}
