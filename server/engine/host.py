"""What the engine core needs from a host, and what it hands back: the driver contract.

The core (``EngineServer``, ``Conn``, the transports) never touches a host library.
A driver (``aiohttp.py``, ``asgi.py``) adapts its host to the two shapes below, as
Node's engine.io drivers adapt node:http and uWebSockets to one ``BaseServer``:

* ``HttpExchange``: one plain HTTP request in flight. The core reads its body in
  chunks and asks whether its client went away (an aborted long-poll); it answers
  with a ``Response`` value the driver writes.
* ``WebSocketChannel``: one WebSocket handshake, then the open socket. The core
  either refuses it (the driver answers the handshake with a ``Response``) or
  ``accept``s it with extra headers, then receives messages and sends frames.

Rules:

1. The core calls nothing here concurrently with itself on one exchange, except
   ``gone()``, which must be cheap and synchronous.
2. ``read`` returns the next body chunk, ``b""`` at the end, and raises
   ``ConnectionError`` when the client left mid-body.
3. ``receive`` returns a text or binary message, ``None`` once the socket is closed
   (by the peer or by ``close``), and raises ``ChannelError`` on a protocol error.
4. ``can_write_now``/``write_now`` are an optional fast path: a host that exposes
   the socket (``raw_frames``) writes ready-made RFC 6455 frames at once, when its
   buffer is below the high-water mark, and ``drain`` waits until it is below it
   again (asyncio flow control); a host that cannot has ``raw_frames`` false,
   answers ``False`` and every frame goes through ``send``. ``write_if_ready`` is
   the two in one call (``can_write_now``, then ``write_now`` if it said yes), for
   the one frame of an ack or a broadcast delivery.
5. A driver that owns the socket of an accepted WebSocket caps its kernel send buffer
   at ``engine.websocket_send_buffer`` (``limit_send_buffer``). With the kernel's
   autotuning (up to ``tcp_wmem``'s 4 MiB by default), a client that stops reading
   makes the kernel copy megabytes into its socket, on the loop, in the call that
   writes: 300 such clients and one 1 MB broadcast cost 300 MB of copying in one
   tick (bench ``slow_reader``: a loop stall of 0.5-2 s). Capped, the kernel takes
   little, and what the client owes waits in the transport as references to the
   shared frame (``WebSocketTransport``), which the owed-bytes cap bounds.
6. ``deliver(on_message)`` hands every message to ``on_message`` as it arrives, in
   order, and returns once the socket is closed (raising ``ChannelError`` on a
   protocol error, as ``receive`` does). A host that parses frames itself calls
   ``on_message`` from its reader, so a message costs no task switch; the others loop
   over ``receive`` (``deliver_received``).
7. A ``CallbackChannel`` (optional: the httptools driver's) also does all of it without
   a coroutine: ``accept_now`` is ``accept``, ``listen(on_message, on_end)`` is
   ``deliver`` with the end of the socket reported to ``on_end(error)`` (``None``, a
   ``ChannelError``, or what ``on_message`` raised) instead of a return, and
   ``close_now`` is ``close``. With it the core serves a WebSocket with no task and no
   coroutine frames held for the life of the socket (``EngineServer.accept_now``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from .request import Request

__all__ = [
    "CallbackChannel",
    "ChannelError",
    "HttpExchange",
    "Response",
    "WebSocketChannel",
    "deliver_received",
    "limit_send_buffer",
]


class _SocketLike(Protocol):
    """A socket, or what a loop hands out for one (asyncio's ``TransportSocket``,
    uvloop's ``PseudoSocket``)."""

    def setsockopt(self, level: int, option: int, value: int, /) -> None: ...


def limit_send_buffer(where: asyncio.BaseTransport | _SocketLike, size: int | None) -> None:
    """Set ``SO_SNDBUF`` of a socket (or of a transport's) to ``size`` bytes (rule 5);
    ``None`` leaves the kernel's autotuning. Linux doubles the value it is given."""
    if size is None:
        return
    # uvloop's transports are not asyncio.BaseTransport subclasses: ask for the method
    extra = getattr(where, "get_extra_info", None)
    sock: _SocketLike | None = extra("socket") if extra is not None else cast(_SocketLike, where)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError:  # not a socket that has one: nothing to cap
        pass


@dataclass
class Response:
    """An HTTP answer: status, headers (in order) and body (``None``: no body at all)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class ChannelError(Exception):
    """A WebSocket protocol error the host reported; ``description`` is its cause."""

    def __init__(self, description: object = None) -> None:
        super().__init__(str(description))
        self.description = description


class HttpExchange(Protocol):
    """One plain HTTP request in flight (see the module rules)."""

    request: Request

    def gone(self) -> bool:
        """Whether the client of this request has disconnected."""
        ...

    async def read(self) -> bytes:
        """The next chunk of the body; ``b""`` at its end (rule 2)."""
        ...


class WebSocketChannel(Protocol):
    """One WebSocket, from its handshake to its close (see the module rules)."""

    request: Request

    @property
    def compress(self) -> bool:
        """Whether permessage-deflate was negotiated (valid after ``accept``)."""
        ...

    @property
    def closed(self) -> bool:
        """Whether the socket is closed or closing."""
        ...

    async def accept(self, headers: dict[str, str]) -> Response | None:
        """Complete the handshake with ``headers``; ``None`` when open, else the
        ``Response`` the driver must return (an invalid handshake, or a client that left:
        then ``Response(status=0)``, nothing to send)."""
        ...

    async def receive(self) -> str | bytes | None:
        """The next message, ``None`` once closed (rule 3)."""
        ...

    async def deliver(self, on_message: Callable[[str | bytes], object]) -> None:
        """Every message to ``on_message`` until the socket closes (rule 6)."""
        ...

    async def send(self, frame: str | bytes) -> None:
        """Send one text or binary message, waiting for flow control."""
        ...

    async def close(self) -> None:
        """Close the socket (code 1000)."""
        ...

    @property
    def raw_frames(self) -> bool:
        """Whether this socket takes ready-made frames through ``write_now`` (rule 4)."""
        ...

    async def drain(self) -> None:
        """Wait until the socket's buffer is below the high-water mark (rule 4)."""
        ...

    def can_write_now(self) -> bool:
        """Whether ``write_now`` may be called (rule 4)."""
        ...

    def write_now(self, data: bytes | memoryview) -> None:
        """Write ready-made server frames straight to the socket (rule 4)."""
        ...

    def write_if_ready(self, data: bytes) -> bool:
        """``write_now(data)`` if ``can_write_now()``; whether it wrote (rule 4)."""
        ...


class CallbackChannel(WebSocketChannel, Protocol):
    """A ``WebSocketChannel`` that also works by callbacks (rule 7)."""

    def accept_now(self, headers: dict[str, str]) -> Response | None:
        """``accept``, synchronously."""
        ...

    def listen(
        self,
        on_message: Callable[[str | bytes], object],
        on_end: Callable[[BaseException | None], None],
    ) -> None:
        """``deliver``, by callbacks: ``on_end`` once, when the socket ends (rule 7)."""
        ...

    def close_now(self) -> None:
        """``close``, synchronously."""
        ...


async def deliver_received(
    channel: WebSocketChannel, on_message: Callable[[str | bytes], object]
) -> None:
    """``deliver`` for a host whose messages come one ``receive`` at a time (rule 6)."""
    while True:
        data = await channel.receive()
        if data is None:
            return
        on_message(data)
