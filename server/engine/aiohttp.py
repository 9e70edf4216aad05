"""The aiohttp driver: an ``EngineServer`` served by an ``aiohttp.web.Application``.

``attach(engine, app)`` routes every method under ``engine.path`` (a prefix match) to
one handler, which builds the engine's ``Request`` from the ``web.Request`` and hands
the request to the core: ``handle_websocket`` for a GET asking for a WebSocket upgrade,
``handle_http`` for the rest. This is the only module of the server that imports
aiohttp; everything the engine does on this host goes through the two adapters here.

Rules:

1. The ``Request`` is built once per aiohttp request: ``remote`` is
   ``request.remote`` (the TCP peer), ``secure`` is ``request.secure`` (TLS on this
   hop, never ``X-Forwarded-Proto``), ``native`` is the ``web.Request``.
2. A client that went away is seen on the connection's transport (``is_closing``),
   so an aborted long-poll is noticed with or without ``handler_cancellation``.
3. WebSocket frames bypass aiohttp's writer (``write_now`` on the asyncio
   transport) only when no compression was negotiated and the socket's buffer is
   below ``WRITE_HIGH_WATER``; aiohttp then never sees them, which is safe because
   it keeps no per-frame state when it does not compress. ``drain`` is aiohttp's
   payload writer's (the asyncio flow control of the socket), and the transport's
   high-water mark is set to ``WRITE_HIGH_WATER`` so the two agree.
4. A malformed request (a 100 KB header line, bad syntax) never floods the log:
   aiohttp logs a traceback at ERROR for each; ``attach`` puts ``BadRequestLog`` on
   aiohttp's ``aiohttp.server`` logger, which turns those into one WARNING line at
   most every ``BadRequestLog.interval`` seconds, counting the ones folded in. A
   request line or header longer than aiohttp's limit (8 KiB) is answered 431, as
   Node answers a head over its 16 KiB (aiohttp would say 400).
5. A client frame without the mask bit fails the WebSocket with 1002 (RFC 6455
   section 5.1; Node's ``ws``): aiohttp does not check it, so ``_MaskCheck`` does,
   in front of aiohttp's frame reader.
6. A request whose head is not complete ``engine.headers_timeout`` seconds after its
   first byte (or after the TCP connect) is answered 408 and closed, as Node's
   ``headersTimeout`` does; aiohttp alone would hold it for its ``keepalive_timeout``
   (an hour under a plain ``AppRunner``). A pipelined head waiting behind a request
   in flight is not the client's delay and waits.

Rules 4 and 6 act below the application, in aiohttp's per-connection protocol
(``web_protocol.RequestHandler``), which an application cannot configure: ``attach``
wraps four of its methods once per process (``_install_protocol_hooks``), and the
wraps act only on connections served by an application an engine was attached to
(the runner's root application). They read aiohttp internals (``_manager``,
``_request_count``, ``_request_in_progress``, ``_upgraded``): aiohttp is pinned
(3.14), and ``tests/server/test_bad_requests.py`` fails if these names move.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any, cast

from aiohttp import WSCloseCode, WSMsgType, web, web_protocol
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.http_websocket import WebSocketError

from .host import ChannelError, Response, deliver_received, limit_send_buffer
from .request import Headers, Request
from .server import EngineServer
from .transports import WRITE_HIGH_WATER

__all__ = ["BadRequestLog", "attach", "to_request"]


class _MaskCheck:
    """RFC 6455 section 5.1 on aiohttp, which takes unmasked client frames (rule 5).

    Sits in front of aiohttp's WebSocket reader: follows frame boundaries in the bytes
    it is fed (headers parsed, payloads skipped, no copy) and fails the connection
    with 1002 on the first client frame without the mask bit, as Node's ``ws`` does.
    """

    __slots__ = ("_failed", "_head", "_inner", "_queue", "_skip")

    def __init__(self, inner: Any, queue: Any) -> None:
        self._inner = inner
        self._queue = queue
        self._head = bytearray()  # the current frame's header, while it is incomplete
        self._skip = 0  # payload bytes of the current frame not seen yet
        self._failed = False

    def feed_eof(self) -> None:
        self._inner.feed_eof()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._failed:
            return False, b""
        i, n = 0, len(data)
        head = self._head
        while i < n:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                continue
            if not head and n - i >= 2:
                second = data[i + 1]
                if not second & 0x80:
                    return self._fail()
                size = second & 0x7F
                extra = 2 if size == 126 else 8 if size == 127 else 0
                if n - i >= 6 + extra:
                    if extra:
                        size = int.from_bytes(data[i + 2 : i + 2 + extra], "big")
                    i += 6 + extra
                    self._skip = size
                    continue
            head.append(data[i])
            i += 1
            if len(head) < 2:
                continue
            if not head[1] & 0x80:
                return self._fail()
            size = head[1] & 0x7F
            extra = 2 if size == 126 else 8 if size == 127 else 0
            if len(head) < 6 + extra:
                continue
            if extra:
                size = int.from_bytes(head[2 : 2 + extra], "big")
            self._skip = size
            head.clear()
        result: tuple[bool, bytes] = self._inner.feed_data(data)
        return result

    def _fail(self) -> tuple[bool, bytes]:
        self._failed = True
        self._queue.set_exception(
            WebSocketError(WSCloseCode.PROTOCOL_ERROR, "client frame not masked")
        )
        return False, b""


class BadRequestLog(logging.Filter):
    """aiohttp's record of a malformed request, as one rate-limited line (rule 4)."""

    interval = 10.0
    """Seconds between two lines; the requests in between are counted in the next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._last: float | None = None
        self._folded = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._folded += 1
            return False
        folded, self._folded, self._last = self._folded, 0, now
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        reason = " ".join(str(exc.message).split())[:120]
        record.msg = "bad HTTP request from %s: %d %s%s"
        record.args = (
            peer,
            431 if isinstance(exc, LineTooLong) else exc.code,
            reason,
            f" ({folded} more in the last {self.interval:g} s)" if folded else "",
        )
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


def _quiet_bad_requests() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, BadRequestLog) for f in logger.filters):
        logger.addFilter(BadRequestLog())


_HEAD_TIMEOUTS: weakref.WeakKeyDictionary[web.Application, float] = weakref.WeakKeyDictionary()
"""The ``headers_timeout`` of each application an engine was attached to (rule 6)."""

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class _HeadWatch:
    """Rule 6 for one aiohttp connection: a timer while a request head is incomplete.

    Armed at the connect and at the first bytes after a complete head; cancelled when
    aiohttp has parsed a head (its request count moved) or the connection upgraded.
    """

    __slots__ = ("count", "handle", "timeout")

    def __init__(self, timeout: float, count: int) -> None:
        self.timeout = timeout
        self.count = count
        self.handle: asyncio.TimerHandle | None = None

    def arm(self, proto: Any) -> None:
        self.handle = asyncio.get_running_loop().call_later(self.timeout, self.fire, proto)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def fire(self, proto: Any) -> None:
        self.handle = None
        if proto._request_count != self.count:
            return
        if proto._request_in_progress:  # a pipelined head waits for the one in flight
            self.arm(proto)
            return
        transport = proto.transport
        if transport is not None and not transport.is_closing():
            transport.write(_TIMEOUT_RESPONSE)
            proto.force_close()


_watches: dict[int, _HeadWatch] = {}
"""``id(RequestHandler)`` -> its watch (aiohttp's protocol has slots: no attribute of
ours fits on it); removed when the connection is lost."""


def _install_protocol_hooks() -> None:
    """Wrap aiohttp's ``RequestHandler`` once per process for rules 4 and 6."""
    cls: Any = web_protocol.RequestHandler
    if getattr(cls, "_sioscope_hooks", False):
        return
    made, received, lost, handle_error = (
        cls.connection_made,
        cls.data_received,
        cls.connection_lost,
        cls.handle_error,
    )

    def connection_made(self: Any, transport: asyncio.BaseTransport) -> None:
        made(self, transport)
        handler = getattr(self._manager, "request_handler", None)
        app = getattr(handler, "__self__", None)
        timeout = _HEAD_TIMEOUTS.get(app) if isinstance(app, web.Application) else None
        if timeout is not None:
            watch = _watches[id(self)] = _HeadWatch(timeout, self._request_count)
            watch.arm(self)

    def data_received(self: Any, data: bytes) -> None:
        received(self, data)
        watch = _watches.get(id(self))
        if watch is None:
            return
        if self._upgraded or self._payload_parser is not None:  # a WebSocket now
            watch.cancel()
            del _watches[id(self)]
        elif self._request_count != watch.count:  # a head is complete
            watch.count = self._request_count
            watch.cancel()
        elif watch.handle is None:  # the first bytes of the next head
            watch.arm(self)

    def connection_lost(self: Any, exc: BaseException | None) -> None:
        watch = _watches.pop(id(self), None)
        if watch is not None:
            watch.cancel()
        lost(self, exc)

    def handle_error_431(
        self: Any,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status == 400 and isinstance(exc, LineTooLong) and id(self) in _watches:
            status = 431  # rule 4: Node's answer to a head over its limit
        response: web.StreamResponse = handle_error(self, request, status, exc, message)
        return response

    cls.connection_made = connection_made
    cls.data_received = data_received
    cls.connection_lost = connection_lost
    cls.handle_error = handle_error_431
    cls._sioscope_hooks = True


def attach(engine: EngineServer, app: web.Application) -> None:
    """Route every method under ``engine.path`` of ``app`` to ``engine``."""
    _quiet_bad_requests()
    _install_protocol_hooks()
    _HEAD_TIMEOUTS[app] = min(engine.headers_timeout, _HEAD_TIMEOUTS.get(app, float("inf")))

    async def handle(request: web.Request) -> web.StreamResponse:
        req = to_request(request)
        if request.method == "GET" and "websocket" in request.headers.get("Upgrade", "").lower():
            channel = _WebSocket(req, request, engine)
            refused = await engine.handle_websocket(channel)
            if refused is None:
                return channel.ws
            if refused.status == 0:  # the client left during the handshake
                return channel.ws
            return _response(refused)
        return _response(await engine.handle_http(_Exchange(req, request)))

    app.router.add_route("*", engine.path + "{tail:.*}", handle)


def to_request(request: web.Request) -> Request:
    """The engine's ``Request`` for an aiohttp request (rule 1)."""
    return Request(
        method=request.method,
        path=request.path,
        query_string=request.query_string,
        raw_path=request.raw_path,
        headers=Headers(request.headers.items()),
        remote=request.remote,
        scheme="https" if request.secure else "http",
        native=request,
    )


def _response(response: Response) -> web.Response:
    if response.body is None:
        return web.Response(status=response.status, headers=response.headers)
    return web.Response(status=response.status, body=response.body, headers=response.headers)


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class _Exchange:
    """``HttpExchange`` on aiohttp."""

    __slots__ = ("_native", "request")

    def __init__(self, request: Request, native: web.Request) -> None:
        self.request = request
        self._native = native

    def gone(self) -> bool:
        return _gone(self._native)

    async def read(self) -> bytes:
        return await self._native.content.readany()


class _WebSocket:
    """``WebSocketChannel`` on aiohttp: a ``web.WebSocketResponse``."""

    __slots__ = ("_engine", "_native", "_raw", "_writer", "request", "ws")

    def __init__(self, request: Request, native: web.Request, engine: EngineServer) -> None:
        self.request = request
        self._native = native
        self._engine = engine
        self.ws = web.WebSocketResponse(
            compress=engine.per_message_deflate,
            max_msg_size=engine.max_http_buffer_size,
            timeout=2.0,
        )
        self._raw: asyncio.WriteTransport | None = None
        self._writer: AbstractStreamWriter | None = None

    @property
    def raw_frames(self) -> bool:
        return self._raw is not None

    @property
    def compress(self) -> bool:
        return bool(self.ws.compress)

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def accept(self, headers: dict[str, str]) -> Response | None:
        ws = self.ws
        if headers:
            ws.headers.update(headers)
        try:
            self._writer = await ws.prepare(self._native)
        except web.HTTPException as exc:  # not a valid WebSocket handshake
            return Response(
                400,
                {"Content-Type": "text/plain; charset=utf-8"},
                (exc.text or "Bad request").encode(),
            )
        except ConnectionError:  # the client left during the handshake
            return Response(0)
        # rule 5: aiohttp (3.14, pinned) keeps its reader and queue in these two names
        protocol = self._native.protocol
        reader, queue = protocol._payload_parser, ws._reader
        if reader is not None and queue is not None:
            protocol._payload_parser = _MaskCheck(reader, queue)
        # rule 3: frames may bypass aiohttp's writer only when they need no compression
        if not ws.compress:
            raw = cast(asyncio.WriteTransport, self._native.transport)
            # the transport pauses its protocol exactly where can_write_now says no,
            # so drain() wakes when frames may be written again
            raw.set_write_buffer_limits(high=WRITE_HIGH_WATER)
            self._raw = raw
        if self._native.transport is not None:  # host.py, rule 5
            limit_send_buffer(self._native.transport, self._engine.websocket_send_buffer)
        return None

    async def deliver(self, on_message: Callable[[str | bytes], object]) -> None:
        await deliver_received(self, on_message)

    async def receive(self) -> str | bytes | None:
        msg = await self.ws.receive()
        kind = msg.type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            return cast(str | bytes, msg.data)
        if kind is WSMsgType.ERROR:
            raise ChannelError(msg.data)
        return None  # CLOSE, CLOSING, CLOSED

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            await self.ws.send_str(frame)
        else:
            await self.ws.send_bytes(frame)

    async def close(self) -> None:
        await self.ws.close()
        raw = self._raw
        if raw is not None and not raw.is_closing() and raw.get_write_buffer_size():
            # a peer that stopped reading would keep a graceful close (and its
            # buffered bytes) waiting forever
            raw.abort()

    async def drain(self) -> None:
        writer = self._writer
        if writer is not None:
            await writer.drain()

    def can_write_now(self) -> bool:
        sock = self._raw
        return (
            sock is not None
            and not self.ws.closed
            and not sock.is_closing()
            and sock.get_write_buffer_size() <= WRITE_HIGH_WATER
        )

    def write_now(self, data: bytes | memoryview) -> None:
        assert self._raw is not None
        self._raw.write(data)

    def write_if_ready(self, data: bytes) -> bool:
        sock = self._raw
        if (
            sock is None
            or self.ws.closed
            or sock.is_closing()
            or sock.get_write_buffer_size() > WRITE_HIGH_WATER
        ):
            return False
        sock.write(data)
        return True
