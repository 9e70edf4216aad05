"""Engine.IO stream records turned into Socket.IO packets, with the server's own codec.

The packet stream (docs/admin-extension.md) names Engine.IO packets; what a user wants
to read is what they mean to Socket.IO: an EVENT ``chat`` with its arguments, the ACK
that answered it, a CONNECT refused. Rules:

1. Decoding is ``sioscope.server.parser``'s :class:`~sioscope.server.parser.Decoder`,
   the one the server itself runs: one per connection and direction, because a binary
   packet's attachments arrive as the next messages of the same connection and
   direction.
2. A message record with its whole payload (a payload subscriber's 7th field) is
   decoded whole; a binary packet becomes one packet once its last attachment came,
   stamped with its header's time. Without the payload (Node's servers, or one past the
   stream's payload limit), only a preview that holds the whole text is decoded; a cut
   one shows its type and namespace and says it was cut.
3. Engine.IO-only packets (ping, pong, noop, upgrade probes, drains) are marked
   ``engine_only``: the Packets view hides them unless asked.
4. What could not be decoded keeps its record, with the parser's reason in ``error``:
   a packet the server refused is exactly what someone debugging wants to see.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sioscope.server.parser import Decoder, Packet, PacketType, ParseError

ENGINE_ONLY = frozenset({"ping", "pong", "noop", "upgrade", "drain"})
"""Engine.IO packet types (and the stream's ``drain`` kind) that carry no Socket.IO."""


def wire_payload(value: Any) -> str | bytes | None:
    """A record's payload field as sent: text as is, ``{"base64": ...}`` as bytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except ValueError:
            return None
    return None


@dataclass(slots=True)
class Meaning:
    """What one Socket.IO packet means: the fields a packet row shows."""

    sio: str
    """``EVENT``, ``ACK``, ``CONNECT``, ``CONNECT_ERROR``, ``DISCONNECT``,
    ``BINARY_EVENT``, ``BINARY_ACK``; ``""`` when not even the type is known."""
    nsp: str = "/"
    ack_id: int | None = None
    event: str | None = None
    args: Any = None
    """EVENT: the arguments after the name; ACK: the answer; CONNECT and CONNECT_ERROR:
    the payload; DISCONNECT: None. Binary values are ``bytes``."""
    frames: list[str | bytes] = field(default_factory=list)
    """The Engine.IO messages the packet came in: its text, then its attachments."""
    error: str = ""


def meaning(packet: Packet, binary: bool, frames: list[str | bytes]) -> Meaning:
    """A decoded packet's :class:`Meaning`; ``binary`` when it came with attachments."""
    ptype = packet.type
    if binary and ptype == PacketType.EVENT:
        ptype = PacketType.BINARY_EVENT
    elif binary and ptype == PacketType.ACK:
        ptype = PacketType.BINARY_ACK
    data = packet.data
    event: str | None = None
    args = data
    if ptype in (PacketType.EVENT, PacketType.BINARY_EVENT) and isinstance(data, list) and data:
        first = data[0]
        event = first if isinstance(first, str) else None
        args = data[1:] if event is not None else data
    return Meaning(ptype.name, packet.nsp, packet.id, event, args, frames)


def _peek(text: str, size: int) -> Meaning:
    """Rule 2 for a cut preview: the type and the namespace, and why no more."""
    code = ord(text[0]) - 48 if text else -1
    name = PacketType(code).name if 0 <= code <= 6 else ""
    nsp = "/"
    start = text.find("-") + 1 if code in (5, 6) else 1
    if text[start : start + 1] == "/":
        comma = text.find(",", start)
        nsp = text[start:comma] if comma > 0 else text[start:]
    return Meaning(name, nsp, error=f"cut: only the first {len(text)} of {size} bytes streamed")


class ConnectionDecoder:
    """Rule 1: one connection's one direction."""

    __slots__ = ("_decoder", "_frames", "_waiting")

    def __init__(self) -> None:
        self._decoder = Decoder()
        self._frames: list[str | bytes] = []
        self._waiting = 0
        """Attachments a previewed (not whole) binary header still expects."""

    @property
    def pending(self) -> bool:
        """A binary packet waits for attachments: the next binary messages are its."""
        return self._decoder.awaiting_attachments or self._waiting > 0

    def feed(self, payload: str | bytes | None, preview: str | None, size: int) -> Meaning | None:
        """One message record: its meaning, or None while a binary packet is incomplete
        (the attachments are folded into the packet they belong to)."""
        if payload is None:
            if isinstance(preview, str):
                if len(preview.encode("utf-8", "surrogatepass")) != size:
                    self._reset()
                    return _peek(preview, size)
                return self._whole_preview(preview, size)
            if self._waiting > 0:  # an attachment of a previewed header: folded in
                self._waiting -= 1
                return None
            return Meaning("", error=f"binary message of {size} bytes, not streamed")
        self._waiting = 0
        if isinstance(payload, str):
            self._frames = [payload]
        else:
            self._frames.append(payload)
        try:
            packet = self._decoder.feed(payload)
        except ParseError as exc:
            return self._refused(exc, size)
        if packet is None:
            return None
        frames, self._frames = self._frames, []
        return meaning(packet, len(frames) > 1, frames)

    def _whole_preview(self, text: str, size: int) -> Meaning:
        """A whole text without its attachments' bytes: a binary header is completed
        with empty stand-ins, so the parser still gives its event and arguments."""
        self._reset()
        self._frames = [text]
        stand_ins = 0
        try:
            packet = self._decoder.feed(text)
            while packet is None:  # at most the parser's MAX_ATTACHMENTS rounds
                stand_ins += 1
                packet = self._decoder.feed(b"")
        except ParseError as exc:
            return self._refused(exc, size)
        self._frames = []
        out = meaning(packet, stand_ins > 0, [text])
        if stand_ins:
            out.error = f"{stand_ins} attachment(s) not streamed"
            self._waiting = stand_ins
        return out

    def _refused(self, exc: ParseError, size: int) -> Meaning:
        frames, self._frames = self._frames, []
        self._decoder.reset()
        head = frames[0] if frames and isinstance(frames[0], str) else ""
        out = _peek(head, size) if head else Meaning("")
        out.error = f"refused by the parser: {exc}"
        out.frames = frames
        return out

    def _reset(self) -> None:
        self._decoder.reset()
        self._frames = []
        self._waiting = 0
