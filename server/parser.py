"""Socket.IO v5 packet codec, sans-I/O: strings and bytes in, packets out, and back.

It follows ``socket.io-parser`` 4.2.7 to the letter, because every real client (JS,
Swift, Kotlin, Python) was written against it:

1. Wire format ``<type>[<n>-][<nsp>,][<id>][<json>]``; ``nsp,`` is omitted for ``/``.
2. An EVENT or ACK whose data holds ``bytes`` becomes BINARY_EVENT / BINARY_ACK: each
   binary value is replaced, depth first, by ``{"_placeholder":true,"num":i}`` and sent
   as its own Engine.IO message after the text one.
3. JSON is compact and keeps key order, with non-ASCII left as is (``JSON.stringify``).
4. Decoding validates the payload per type (CONNECT an object, DISCONNECT nothing,
   EVENT an array starting with a non-reserved string or a number, ACK an array,
   CONNECT_ERROR an object or a string) and the attachment count (1..10, Node's rule:
   a binary packet declaring no attachment is refused). Any failure raises
   :class:`ParseError`; the caller closes the connection.
5. Decoded payloads nest at most :data:`MAX_DEPTH` arrays and objects deep, a depth the
   encoder always meets (orjson's own limit, far inside Python's recursion limit), so
   whatever the decoder accepts can be echoed: too deep is refused at the door, never a
   ``RecursionError`` in a handler's emit.

JSON goes through orjson when it is installed (same compact output, several times
faster), else the standard library. The encoder tries plain JSON first and only walks
the data for binary when JSON refused it: the walk, not JSON, dominates the cost of
large payloads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_DEPTH",
    "RESERVED_EVENTS",
    "Decoder",
    "Packet",
    "PacketType",
    "ParseError",
    "dumps",
    "encode",
    "loads",
]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _std_dumps(data: Any) -> str:
    """Compact JSON; a lone surrogate (a JS client may send one) is escaped as
    ``JSON.stringify`` does, since raw it could not be encoded as UTF-8 for the wire."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub(_escape_surrogate, text)
    return text


try:  # pragma: no cover - which branch runs depends on the environment
    import orjson

    _OPTS = orjson.OPT_NON_STR_KEYS
    _orjson_dumps: Any = orjson.dumps
    _orjson_loads: Any = orjson.loads

    def dumps(data: Any) -> str:
        """Compact JSON text of ``data``, in ``JSON.stringify``'s form.

        orjson refuses lone surrogates, integers past 64 bits and deep nesting, all of
        which a client can send us; the standard library takes those. ``bytes`` still
        raise ``TypeError`` there, which is how ``encode`` detects binary data.
        """
        try:
            return orjson.dumps(data, option=_OPTS).decode()
        except TypeError as exc:
            if "not JSON serializable" in str(exc):
                raise  # bytes (or an unknown type): the standard library would refuse too
            return _std_dumps(data)

    def _loads(text: str) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            # orjson refuses some inputs JSON.parse takes (e.g. integers past 64 bits in
            # some positions); give the standard library a second look before failing.
            return _std_loads(text)

except ImportError:  # pragma: no cover
    _OPTS = 0
    _orjson_dumps = None
    _orjson_loads = None
    dumps = _std_dumps

    def _loads(text: str) -> Any:
        return _std_loads(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _std_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant)


_fast_loads: Any = _orjson_loads if _orjson_loads is not None else _std_loads
"""The first parser a packet's JSON meets (``_loads`` is the one with the fallback)."""


def loads(text: str) -> Any:
    """Parse JSON text; raises ``ValueError`` on malformed input."""
    return _loads(text)


MAX_ATTACHMENTS = 10
"""Node's ``maxAttachments`` (socket.io-parser >= 4.2.6)."""

MAX_DEPTH = 254
"""How deep a decoded payload may nest arrays and objects (the outer array counts).

Node's ``JSON.parse`` takes any depth, but every walk over the data in Python (the JSON
encoder of an echo, a handler's own code) recurses and stops near 1,000 frames. The
limit is orjson's encoder limit, so an echo never needs the slower fallback, and is far
above what real applications send (serde_json stops at 128)."""

RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
"""Event names a client may not send and a server may not emit."""


class PacketType(IntEnum):
    """The seven Socket.IO v5 packet types."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(slots=True)
class Packet:
    """One Socket.IO packet; ``data`` holds ``bytes`` in place of placeholders."""

    type: PacketType
    nsp: str = "/"
    data: Any = None
    id: int | None = None


class ParseError(ValueError):
    """Malformed Socket.IO input; the connection that sent it must be closed."""


_BINARY_TYPES = (bytes, bytearray, memoryview)
_MAX_SAFE_INTEGER = 2**53 - 1


def _deconstruct(data: Any, buffers: list[bytes]) -> Any:
    """Replace binary values by placeholders, depth first, collecting the buffers."""
    if isinstance(data, _BINARY_TYPES):
        buffers.append(bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, list | tuple):
        return [_deconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        return {key: _deconstruct(value, buffers) for key, value in data.items()}
    return data


def has_binary(data: Any) -> bool:
    """Whether ``data`` holds a binary value anywhere (Node's ``hasBinary``)."""
    if isinstance(data, _BINARY_TYPES):
        return True
    if isinstance(data, list | tuple):
        return any(has_binary(item) for item in data)
    if isinstance(data, dict):
        return any(has_binary(value) for value in data.values())
    return False


_TYPES = tuple(PacketType)
_TYPE_CHARS = tuple(str(int(t)) for t in PacketType)
_DIGITS = "0123456789"
_EVENT, _ACK = PacketType.EVENT, PacketType.ACK
_BINARY_EVENT, _BINARY_ACK = PacketType.BINARY_EVENT, PacketType.BINARY_ACK


def _header(ptype: int, nsp: str, ack_id: int | None, attachments: int | None) -> str:
    head = _TYPE_CHARS[ptype]
    if attachments is not None:
        head += f"{attachments}-"
    if nsp != "/":
        head += nsp + ","
    if ack_id is not None:
        head += str(ack_id)
    return head


def encode(packet: Packet) -> list[str | bytes]:
    """Encode ``packet`` into Engine.IO messages: the text first, then attachments.

    EVENT and ACK packets whose data holds bytes are sent as BINARY_EVENT / BINARY_ACK.
    """
    ptype = packet.type
    data = packet.data
    if data is None:
        return [_header(ptype, packet.nsp, packet.id, None)]
    if ptype == _EVENT or ptype == _ACK:
        try:
            text = dumps(data)
        except TypeError:
            return _encode_binary(packet, _BINARY_EVENT if ptype == _EVENT else _BINARY_ACK)
        # the hot path: no binary, so no walk over the data
        head = _TYPE_CHARS[ptype]
        if packet.nsp != "/":
            head += packet.nsp + ","
        if packet.id is not None:
            head += str(packet.id)
        return [head + text]
    if ptype == _BINARY_EVENT or ptype == _BINARY_ACK:
        return _encode_binary(packet, ptype)
    return [_header(ptype, packet.nsp, packet.id, None) + dumps(data)]


def _encode_binary(packet: Packet, ptype: PacketType) -> list[str | bytes]:
    buffers: list[bytes] = []
    text = dumps(_deconstruct(packet.data, buffers))
    out: list[str | bytes] = [_header(ptype, packet.nsp, packet.id, len(buffers)) + text]
    out.extend(buffers)
    return out


def _is_payload_valid(ptype: PacketType, payload: Any) -> bool:
    if ptype == _EVENT:  # the common case first
        if payload.__class__ is list and payload:
            first = payload[0]
            if first.__class__ is str:
                return first not in RESERVED_EVENTS
    if ptype == PacketType.CONNECT:
        return isinstance(payload, dict)
    if ptype == PacketType.DISCONNECT:
        return False  # any payload at all is invalid
    if ptype == PacketType.CONNECT_ERROR:
        return isinstance(payload, str | dict)
    if ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
        if not isinstance(payload, list) or not payload:
            return False
        first = payload[0]
        if isinstance(first, bool):
            return False
        if isinstance(first, int | float):
            return True
        return isinstance(first, str) and first not in RESERVED_EVENTS
    return isinstance(payload, list)  # ACK, BINARY_ACK


def _nests_deeper(payload: Any, text: str, start: int) -> bool:
    """Whether ``payload`` (parsed from ``text[start:]``) nests past :data:`MAX_DEPTH`.

    Every array or object costs one bracket in the text, so a text with at most
    MAX_DEPTH opening brackets cannot be too deep: two C-speed counts settle nearly
    every packet. The rest asks orjson's encoder, whose own limit MAX_DEPTH is (a
    C-speed pass, a third of the parse), or else walks the data iteratively.
    """
    if payload.__class__ is str or (text.count("[", start) + text.count("{", start) <= MAX_DEPTH):
        return False
    if _orjson_dumps is not None:
        try:
            _orjson_dumps(payload, option=_OPTS)
            return False
        except TypeError as exc:
            if "Recursion limit" in str(exc):
                return True
            # something else orjson refuses (a 65-bit integer): walk
    return _walk_deeper(payload)


def _walk_deeper(payload: Any) -> bool:
    """The walk behind :func:`_nests_deeper`: an explicit stack, never recursion."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > MAX_DEPTH:
            return True
        depth += 1
        for child in node.values() if node.__class__ is dict else node:
            if child.__class__ is list or child.__class__ is dict:
                push((child, depth))
    return False


def _decode_string(text: str) -> tuple[Packet, int | None]:
    """Decode a text message; returns the packet and its attachment count (or None)."""
    n = len(text)
    if not n:
        raise ParseError("empty packet")
    code = ord(text[0]) - 48
    if code < 0 or code > 6:
        raise ParseError(f"unknown packet type {text[0]!r}")
    ptype = _TYPES[code]
    i = 1
    attachments: int | None = None
    if code == 5 or code == 6:
        dash = text.find("-", 1)
        count = text[1:dash] if dash != -1 else ""
        if not count or not count.isascii() or not count.isdigit():
            raise ParseError("Illegal attachments")
        attachments = int(count)
        if attachments < 1:  # socket.io-parser: `n < 1` is "Illegal attachments"
            raise ParseError("Illegal attachments")
        if attachments > MAX_ATTACHMENTS:
            raise ParseError("too many attachments")
        i = dash + 1
    nsp = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        if comma == -1:
            nsp, i = text[i:], n
        else:
            nsp, i = text[i:comma], comma + 1
    ack_id: int | None = None
    if i < n and text[i] in _DIGITS:
        start = i
        i += 1
        while i < n and text[i] in _DIGITS:
            i += 1
        if i - start > 16:
            raise ParseError("invalid ack id")
        ack_id = int(text[start:i])
        if ack_id > _MAX_SAFE_INTEGER:
            raise ParseError("invalid ack id")
    if i < n:
        body = text[i:] if i else text
        try:
            payload = _fast_loads(body)  # _loads without its frame: one per packet
        except ValueError:
            try:
                payload = _loads(body)  # orjson refused it: the standard library's turn
            except ValueError:
                raise ParseError("invalid payload") from None
        if code == 2 and payload.__class__ is list and payload:  # an EVENT, inlined
            first = payload[0]
            valid = first not in RESERVED_EVENTS if first.__class__ is str else None
        else:
            valid = None
        if valid is None:
            valid = _is_payload_valid(ptype, payload)
        if not valid:
            raise ParseError("invalid payload")
        # a text shorter than MAX_DEPTH cannot hold that many brackets: no call at all
        if n - i > MAX_DEPTH and _nests_deeper(payload, text, i):
            raise ParseError("invalid payload: nested too deeply")
        return Packet(ptype, nsp, payload, ack_id), attachments
    if code == 2 or code == 3 or code == 5 or code == 6:
        # Node lets a data-less EVENT through and then fails on it; refuse it here.
        raise ParseError("invalid payload")
    return Packet(ptype, nsp, None, ack_id), attachments


def _reconstruct(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, list):
        return [_reconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        if data.get("_placeholder") is True:
            num = data.get("num")
            if isinstance(num, int) and not isinstance(num, bool) and 0 <= num < len(buffers):
                return buffers[num]
            raise ParseError("illegal attachments")
        return {key: _reconstruct(value, buffers) for key, value in data.items()}
    return data


class Decoder:
    """Turns a connection's Engine.IO messages into packets, one message at a time.

    Stateful only while a binary packet waits for its attachments. Those may hold at
    most ``max_attachment_bytes`` in all (the server passes its
    ``max_http_buffer_size``): a packet whose attachments never complete could
    otherwise keep ten messages of that size each until the ping timeout.
    """

    __slots__ = ("_buffers", "_expected", "_max_bytes", "_pending", "_pending_bytes")

    def __init__(self, max_attachment_bytes: int | None = None) -> None:
        self._pending: Packet | None = None
        self._buffers: list[bytes] = []
        self._expected = 0
        self._pending_bytes = 0
        self._max_bytes = max_attachment_bytes

    @property
    def awaiting_attachments(self) -> bool:
        """Whether a binary packet is waiting for more attachments."""
        return self._pending is not None

    def feed(self, message: str | bytes) -> Packet | None:
        """A complete packet, or ``None`` while attachments are still awaited.

        Raises :class:`ParseError` on malformed input; the decoder is then reset.
        """
        try:
            if message.__class__ is str and self._pending is None:
                packet, attachments = _decode_string(message)  # _feed's common case
                if attachments is None:
                    return packet
                self._await_attachments(packet, attachments)
                return None
            return self._feed(message)
        except ParseError:
            self.reset()
            raise
        except RecursionError:  # JSON.parse takes deeper nesting; we refuse it cleanly
            self.reset()
            raise ParseError("invalid payload: nested too deeply") from None

    def reset(self) -> None:
        """Drop any half-received binary packet."""
        self._pending = None
        self._buffers = []
        self._expected = 0
        self._pending_bytes = 0

    def _await_attachments(self, packet: Packet, attachments: int) -> None:
        """Hold a binary packet's header until its ``attachments`` buffers arrived."""
        self._pending = packet
        self._expected = attachments
        self._buffers = []

    def _feed(self, message: str | bytes) -> Packet | None:
        if isinstance(message, str):
            if self._pending is not None:
                raise ParseError("got plaintext data when reconstructing a packet")
            packet, attachments = _decode_string(message)
            if attachments is None:
                return packet
            self._await_attachments(packet, attachments)
            return None
        if self._pending is None:
            raise ParseError("got binary data when not reconstructing a packet")
        self._pending_bytes += len(message)
        if self._max_bytes is not None and self._pending_bytes > self._max_bytes:
            raise ParseError("attachments too large")
        self._buffers.append(bytes(message))
        if len(self._buffers) < self._expected:
            return None
        packet = self._pending
        buffers = self._buffers
        self.reset()
        packet.data = _reconstruct(packet.data, buffers)
        return packet
