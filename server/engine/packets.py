"""Sans-I/O codec for Engine.IO v4 packets and polling payloads.

No sockets, no asyncio: bytes and strings in, packets out, and back. The transports
and the tests share this module, so the wire rules live in exactly one place.

A packet is a plain dict, ``{"type": "message", "data": "hello"}``, in Node's shape:
``data`` is absent when a packet carries none (``{"type": "ping"}``). Keeping Node's
shape means the ``packet`` / ``packetCreate`` events hand listeners what Node's
engine.io would, with no conversion on the hot path.

Rules (engine.io-parser 5, protocol v4):

1. A text packet is its type digit followed by its data: ``4hello``, ``2``, ``3probe``.
2. Over WebSocket a binary message is the raw frame, with no type prefix.
3. Over polling, packets are joined with ``\\x1e`` and a binary message is ``b``
   followed by its base64; the number of packets in a payload is not limited.
4. Decoding never raises. Like Node, an undecodable packet becomes the pseudo-packet
   ``{"type": "error", "data": "parser error"}``, and payload decoding stops there,
   so the connection can close with ``"parse error"`` after delivering what came first.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

Packet = dict[str, Any]

PACKET_TYPES: tuple[str, ...] = ("open", "close", "ping", "pong", "message", "upgrade", "noop")
"""Node's packet type names, indexed by their wire digit."""

TYPE_CODES: dict[str, str] = {name: str(i) for i, name in enumerate(PACKET_TYPES)}
_TYPES_BY_CODE: dict[str, str] = {str(i): name for i, name in enumerate(PACKET_TYPES)}

SEPARATOR = "\x1e"
"""Record separator between packets of a polling payload."""


def error_packet() -> Packet:
    """A fresh copy of the parse-error pseudo-packet (listeners may mutate packets)."""
    return {"type": "error", "data": "parser error"}


def make_packet(type_: str, data: Any = None) -> Packet:
    """Build a packet dict in Node's shape (``data`` left out when there is none)."""
    if data is None:
        return {"type": type_}
    return {"type": type_, "data": data}


def encode_packet(packet: Packet) -> str | bytes:
    """Encode one packet for a WebSocket frame: text as ``<digit><data>``, binary raw."""
    data = packet.get("data")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    code = TYPE_CODES[packet["type"]]
    if data is None:
        return code
    return code + (data if isinstance(data, str) else str(data))


def encode_polling_packet(packet: Packet) -> str:
    """Encode one packet for a polling payload: binary becomes ``b<base64>``."""
    data = packet.get("data")
    if isinstance(data, bytes | bytearray | memoryview):
        return "b" + base64.b64encode(data).decode("ascii")
    code = TYPE_CODES[packet["type"]]
    if data is None:
        return code
    return code + (data if isinstance(data, str) else str(data))


def encode_payload(packets: list[Packet]) -> str:
    """Encode packets as one polling response body, ``\\x1e``-separated, in order."""
    if len(packets) == 1:
        return encode_polling_packet(packets[0])
    return SEPARATOR.join([encode_polling_packet(p) for p in packets])


def decode_packet(raw: str | bytes) -> Packet:
    """Decode one WebSocket frame; a binary frame is a ``message`` with bytes data."""
    if not isinstance(raw, str):
        return {"type": "message", "data": bytes(raw)}
    if not raw:
        return error_packet()
    type_ = _TYPES_BY_CODE.get(raw[0])
    if type_ is None:
        return error_packet()
    if len(raw) > 1:
        return {"type": type_, "data": raw[1:]}
    return {"type": type_}


def decode_polling_packet(raw: str) -> Packet:
    """Decode one packet of a polling payload, where binary arrives as ``b<base64>``."""
    if raw[:1] == "b":
        try:
            return {"type": "message", "data": base64.b64decode(raw[1:], validate=True)}
        except (binascii.Error, ValueError):
            return error_packet()
    return decode_packet(raw)


def decode_payload(body: str) -> list[Packet]:
    """Decode a polling request body; stops after the first undecodable packet (rule 4)."""
    packets: list[Packet] = []
    for raw in body.split(SEPARATOR):
        packet = decode_polling_packet(raw)
        packets.append(packet)
        if packet["type"] == "error":
            break
    return packets
