"""A sans-I/O reader of client WebSocket frames (RFC 6455), for hosts that own the socket.

Bytes in, messages and control frames out; no sockets, no asyncio. The httptools driver
feeds it what the socket delivers and writes what it asks for (pongs, the close
handshake) with the engine's frame codec (``transports.ws_frame``). It exists because
the general-purpose sans-I/O protocol of ``websockets`` parses every frame through a
generator and an event list, which was about a tenth of the lean host's CPU per echo;
here a complete frame in one read is a few index operations and one C unmasking.

Rules (a server's side of RFC 6455, no extension negotiated):

1. Every client frame is masked (5.1), its reserved bits are zero (5.2), its opcode is
   one of continuation, text, binary, close, ping, pong (5.2); a control frame is final
   and carries at most 125 bytes (5.5). Anything else is a ``FrameError`` with code 1002.
2. A message (one frame, or a first frame and its continuations) is at most
   ``max_size`` bytes, else ``FrameError`` 1009, raised as soon as a frame header
   announces too much (its payload is never buffered). A text message that is not
   UTF-8 is ``FrameError`` 1007.
3. Fragments: a continuation without a message open, or a new message while one is
   open, is 1002; control frames may come between fragments (5.4).
4. A close frame's payload is empty or a valid code (7.4) plus a UTF-8 reason; a
   one-byte payload or an invalid code is 1002, a reason that is not UTF-8 1007.
5. ``feed`` never raises: it returns what came before a violation and keeps the
   ``FrameError`` in ``error``. After an error or a close frame the reader is done:
   later bytes are ignored.
"""

from __future__ import annotations

import struct

try:  # the C unmasking that websockets ships; its pure-Python twin otherwise
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - which one depends on the installation
    from websockets.utils import apply_mask

__all__ = [
    "BINARY",
    "CLOSE",
    "PING",
    "PONG",
    "TEXT",
    "FrameError",
    "FrameReader",
    "close_code",
]

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
_CONT = 0x0
_unpack_short = struct.Struct("!H").unpack_from
_unpack_long = struct.Struct("!Q").unpack_from


class FrameError(Exception):
    """A client broke the protocol: close with ``code`` (RFC 6455 7.4.1)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} ({code})")
        self.code = code
        self.reason = reason


def close_code(payload: bytes) -> int | None:
    """The code of a close frame's payload (``None`` when it has none), validated (rule 4)."""
    if not payload:
        return None
    if len(payload) == 1:
        raise FrameError(1002, "close frame too short")
    code: int = _unpack_short(payload)[0]
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        raise FrameError(1002, f"invalid close code {code}")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(1007, "invalid UTF-8 in close reason") from None
    return code


class FrameReader:
    """Client frames of one WebSocket; see the module rules."""

    __slots__ = ("_buffer", "_done", "_fragments", "_kind", "_size", "error", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buffer = bytearray()  # an incomplete frame's bytes, when one is pending
        self._fragments: list[bytes] | None = None  # the open fragmented message
        self._kind = TEXT
        self._size = 0
        self._done = False
        #: The violation that ended the stream (rule 5), if one did.
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[tuple[int, str | bytes]]:
        """What ``data`` completes, in order: ``(TEXT, str)``, ``(BINARY, bytes)`` and
        ``(CLOSE | PING | PONG, payload)``; a violation (rules 1-4) ends the list and
        is kept in ``error``."""
        if self._done:
            return []
        buffer = self._buffer
        if buffer:
            buffer += data
            view: bytes | bytearray = buffer
        else:
            view = data
        out: list[tuple[int, str | bytes]] = []
        i, n = 0, len(view)
        try:
            while n - i >= 2:
                first = view[i]
                second = view[i + 1]
                if first & 0x70:
                    raise FrameError(1002, "reserved bits must be 0")
                if not second & 0x80:
                    raise FrameError(1002, "incorrect masking")
                opcode = first & 0x0F
                size = second & 0x7F
                j = i + 2
                if size == 126:
                    if n - j < 2:
                        break
                    size = _unpack_short(view, j)[0]
                    j += 2
                elif size == 127:
                    if n - j < 8:
                        break
                    size = _unpack_long(view, j)[0]
                    j += 8
                    if size >> 63:
                        raise FrameError(1002, "invalid frame length")
                if opcode >= 8:
                    if opcode > PONG:
                        raise FrameError(1002, f"invalid opcode {opcode:#x}")
                    if size > 125 or not first & 0x80:
                        raise FrameError(1002, "invalid control frame")
                elif opcode > BINARY:
                    raise FrameError(1002, f"invalid opcode {opcode:#x}")
                elif size + (self._size if opcode == _CONT else 0) > self.max_size:
                    raise FrameError(1009, "message too big")
                end = j + 4 + size
                if end > n:
                    break
                payload = apply_mask(view[j + 4 : end], view[j : j + 4])
                i = end
                if opcode >= 8:
                    out.append((opcode, payload))
                    if opcode == CLOSE:
                        self._done = True
                        break
                    continue
                fin = first & 0x80
                if opcode == _CONT:
                    fragments = self._fragments
                    if fragments is None:
                        raise FrameError(1002, "unexpected continuation frame")
                    fragments.append(payload)
                    self._size += size
                    if not fin:
                        continue
                    payload = b"".join(fragments)
                    self._fragments = None
                    self._size = 0
                    opcode = self._kind
                elif self._fragments is not None:
                    raise FrameError(1002, "expected a continuation frame")
                elif not fin:
                    self._fragments = [payload]
                    self._kind = opcode
                    self._size = size
                    continue
                if opcode == TEXT:
                    try:
                        out.append((TEXT, payload.decode("utf-8")))
                    except UnicodeDecodeError:
                        raise FrameError(1007, "invalid UTF-8 in a text message") from None
                else:
                    out.append((BINARY, payload))
        except FrameError as exc:
            self._done = True
            self.error = exc
            self._buffer = bytearray()
            self._fragments = None
            return out
        if i == n:
            if buffer:
                buffer.clear()
        elif buffer:
            del buffer[:i]
        else:
            buffer += view[i:]
        return out
