"""The httptools driver: an ``EngineServer`` on a lean asyncio server of its own.

``await serve(engine, host, port)`` listens with one ``asyncio.Protocol`` per TCP
connection, parses requests with httptools (llhttp, the parser of Node and uvicorn)
and hands each one to the core: ``handle_websocket`` for a WebSocket handshake,
``handle_http`` for the rest, as ``aiohttp.py`` and ``asgi.py`` do on their hosts. It
exists for the engine's hot requests (handshakes, upgrades, long-polling GETs and
POSTs), where a general web framework's router, request and response objects cost more
than the engine itself; applications that also serve pages keep the aiohttp or ASGI
driver. WebSocket frames are read by the engine's sans-I/O ``wsreader`` and written
with its frame codec (``transports.ws_frame``).

Rules:

1. A request is handed to the core once it is complete, body included; the body kept
   is bounded (the core answers 413 past ``max_http_buffer_size``), and so is the
   request head (``MAX_HEAD`` bytes: 431, then close).
2. Requests on one connection are answered one at a time, in order: reading pauses
   while one is in flight and resumes after its response (pipelined requests wait).
3. A response is one ``transport.write``: status line, headers, ``Content-Length``,
   body (none for ``HEAD``). A header name or value with CR or LF is never written
   (the response becomes a 500), so no header from a hook can split a response.
4. A connection idle for ``keep_alive_timeout`` seconds (Node's 5 s) between requests
   is closed; a request whose head (request line and headers) is not complete
   ``engine.headers_timeout`` seconds after its first byte gets 408 and the
   connection closes (Node's ``headersTimeout``: a client that trickles a head
   forever holds nothing for long); a malformed request gets 400 and the connection
   closes; nothing else on the server is affected. One timer per connection serves
   both deadlines.
5. The remote address is the TCP peer; the scheme is ``http`` (no TLS here: put a
   TLS-terminating proxy in front); ``Request.native`` is the connection's
   ``HttpConnection``.
6. WebSocket handshake (RFC 6455 4.2.1): a GET on HTTP/1.1 with ``Upgrade: websocket``,
   ``Connection: upgrade``, version 13 and a 16-byte base64 key; anything else gets
   400. permessage-deflate is never negotiated (``serve`` refuses an engine with
   ``per_message_deflate``). Frames are read by ``wsreader.FrameReader`` (client
   masking, control frames, fragments, the size limit 1009, UTF-8 1007); pings are
   answered at once, a client's close frame with the same code, then the TCP link
   closes. Every protocol error sends its close code and is a ``ChannelError`` (the
   core's ``"websocket error"``). Messages go to the transport as they are read
   (``deliver``: no task switch per message).
7. Paths outside ``engine.path`` get 404.
8. The requests of an open polling session are answered with no task at all
   (``EngineServer.answer_now``: at once, or from the parked GET's callback), and so
   is a WebSocket when nothing in its handshake is awaited (``EngineServer.accept_now``:
   no middleware, no ``allow_request``, the default ``generate_id``): the open socket
   is then held by this connection's callbacks alone (``host.py``, rule 7). The
   tasks that serve the rest (polling handshakes, WebSockets behind async hooks) are
   ``engine.tasks`` (the engine owns them: ``engine.close()`` cancels what is left); a
   cancelled request closes its TCP connection, so no client waits on an answer that
   will never come.
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import logging
import struct
import sys
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote

import httptools
from websockets.utils import accept_key

from ..timers import Timer
from .host import ChannelError, Response, limit_send_buffer
from .request import Headers, Query, Request, decode_header
from .server import EngineServer
from .transports import WRITE_HIGH_WATER, ws_frame
from .wsreader import BINARY, CLOSE, PING, TEXT, FrameError, FrameReader, close_code

__all__ = ["HttpConnection", "encode_response", "serve"]

log = logging.getLogger("sioscope.engine")

MAX_HEAD = 64 * 1024
"""Bytes of request line and headers accepted (Node's limit is 16 KiB)."""

KEEP_ALIVE_TIMEOUT = 5.0
"""Seconds an idle keep-alive connection stays open (Node's ``keepAliveTimeout``)."""

CLOSE_TIMEOUT = 2.0
"""Seconds a WebSocket waits for the peer's close frame before dropping the TCP link."""

_RECEIVE_HIGH = 64
"""Queued WebSocket messages above which reading pauses until the core catches up."""

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_METHODS = {m.encode(): m for m in ("GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH")}
_NO_BODY = frozenset({101, 204, 304})


async def serve(
    engine: EngineServer,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    backlog: int = 4096,
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT,
) -> asyncio.Server:
    """Listen on ``host:port`` and serve ``engine`` until the returned server closes.

    Closing the listener does not close live connections: ``await engine.close()``
    (``io.close()``) does that, as with the other drivers.
    """
    if engine.per_message_deflate:
        raise ValueError(
            "the httptools driver never negotiates permessage-deflate: "
            "use the aiohttp or ASGI driver for per_message_deflate=True"
        )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HttpConnection(engine, keep_alive_timeout, loop),
        host,
        port,
        backlog=backlog,
    )
    # host.py, rule 5, on the listener: accepted sockets inherit it, so no connection
    # pays a system call for it (polling ones get it too, and never need more)
    for sock in server.sockets:
        limit_send_buffer(sock, engine.websocket_send_buffer)
    return server


_CLOSED_PARSER = httptools.HttpRequestParser(object())
"""What a closed connection's parser becomes: it is never fed again."""


_STATUS_LINES: dict[int, bytes] = {}
_LINES: dict[tuple[str, str], bytes] = {}
"""Header lines already checked and encoded, by (name, value): a polling response's
headers are nearly always the same few pairs. Bounded by ``_LINES_MAX``; never holds
``Content-Length`` (rule 3 looks for it)."""
_LINES_MAX = 256


def _header_line(name: str, value: str) -> bytes:
    line = f"{name}: {value}\r\n"
    if "\r" in line[:-2] or "\n" in line[:-2]:
        raise ValueError(f"header {name!r} contains CR or LF")
    return line.encode("latin-1")


_targets: dict[bytes, tuple[str, str, str, Query, dict[str, str]]] = {}
"""Parsed handshake targets, shared by every request with the same target."""
_TARGETS_KEPT = 256


def _shareable(target: bytes) -> bool:
    """Whether a target's parsed views are kept for the next request with it.

    Every client of a server opens with the same handshake target
    (``/socket.io/?EIO=4&transport=websocket``): its strings, ``Query`` and query dict
    (neither ever changed) are then shared by every connection (``request.py``, rule
    8), not kept once per WebSocket. Targets of an open session (``sid=``) or with a
    cache buster (``t=``) are unique: parsed each time, never kept.
    """
    return (
        len(_targets) < _TARGETS_KEPT
        and len(target) <= 256
        and b"sid=" not in target
        and b"?t=" not in target
        and b"&t=" not in target
    )


def encode_response(response: Response, keep_alive: bool, head: bool = False) -> bytes:
    """The bytes of one HTTP/1.1 response (rule 3); ``ValueError`` on an unsafe header."""
    status = response.status
    first = _STATUS_LINES.get(status)
    if first is None:
        first = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))
        if status in _REASONS:
            _STATUS_LINES[status] = first
    parts = [first]
    has_length = False
    lines = _LINES
    for item in response.headers.items():
        line = lines.get(item)
        if line is None:
            name, value = item
            line = _header_line(name, value)
            if name.lower() == "content-length":
                has_length = True
            elif len(lines) < _LINES_MAX:
                lines[item] = line
        parts.append(line)
    body = response.body or b""
    end = b"\r\n" if keep_alive else b"Connection: close\r\n\r\n"
    if not has_length and status not in _NO_BODY:
        parts.append(b"Content-Length: %d\r\n%s" % (len(body), end))
    else:
        parts.append(end)
    if body and not head:
        parts.append(body)
    return b"".join(parts)


class _Exchange:
    """``HttpExchange``: a complete request; the body is read in one chunk (rule 1).

    ``answer`` writes its response (``EngineServer.answer_now``'s callback): a bound
    method of the exchange, not a closure built per request."""

    __slots__ = ("_body", "_conn", "answered", "keep_alive", "request")

    def __init__(
        self, request: Request, body: bytes, conn: HttpConnection, keep_alive: bool
    ) -> None:
        self.request = request
        self._body = body
        self._conn = conn
        self.keep_alive = keep_alive
        self.answered = False

    def answer(self, response: Response) -> None:
        self.answered = True
        self._conn._respond(response, self.request, self.keep_alive)

    def gone(self) -> bool:
        return self._conn.lost

    async def read(self) -> bytes:
        body, self._body = self._body, b""
        return body


class HttpConnection(asyncio.Protocol):
    """One TCP connection: HTTP/1.1 requests in turn, then maybe a WebSocket."""

    def __init__(
        self,
        engine: EngineServer,
        keep_alive_timeout: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.engine = engine
        self.keep_alive_timeout = keep_alive_timeout
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.remote: str | None = None
        # serve() passes its loop: asking for the running one is a getpid system call
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._limit = engine.max_http_buffer_size
        # the request being parsed
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._head_size = 0
        self._body = b""  # the first chunk; any others in _chunks (rule 1)
        self._chunks: list[bytes] | None = None
        self._body_size = 0
        self._expect = False  # an Expect header came: look at it once the head is in
        # requests parsed and waiting for their turn (rule 2), and the one in flight
        # (made by the first request that must wait: a WebSocket never has one)
        self._queue: collections.deque[tuple[Request, bytes, bool]] | None = None
        self._busy = False
        # rule 4: one timer at a time, re-armed only when it fires early, so a request
        # costs a clock read rather than a timer
        self._idle: Timer | asyncio.TimerHandle | None = None
        self._idle_since: float | None = None
        self._head_since: float | None = None  # first byte of an incomplete head
        self._in_head = False  # between a message's first byte and its headers' end
        self._websocket: _WebSocket | None = None
        self._upgrading: Request | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False
        self._head: bytes | None = None  # defer_head's, until the next write

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream server's transport is an asyncio.Transport
        peer = transport.get_extra_info("peername")
        # one string per client address, shared by its connections (request.py, rule 8)
        self.remote = sys.intern(peer[0]) if isinstance(peer, tuple) else None
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._cancel_idle()
        websocket, self._websocket = self._websocket, None
        if websocket is not None:
            websocket.connection_lost()
        self._wake_drained()
        # the parser holds this object for its callbacks: drop the cycle, so a closed
        # connection is freed by reference counting, without the collector
        self._parser = _CLOSED_PARSER

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drained()

    def data_received(self, data: bytes) -> None:
        websocket = self._websocket
        if websocket is not None:
            websocket.data_received(data)
            return
        self._idle_since = None
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError:  # httptools wraps what a callback raised
            self._fail(431 if self._head_size > MAX_HEAD else 400)
            return
        if self._in_head and self._head_since is None:
            # a head still incomplete at the end of what came: its clock starts now
            # (rule 4); a head that came whole, as nearly all do, never reads the clock
            self._head_since = now = self._loop.time()
            self._timer_at(now + self.engine.headers_timeout)

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._headers = []
        self._head_size = 0
        self._body = b""
        self._chunks = None
        self._body_size = 0
        self._expect = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        if self._head_size > MAX_HEAD:
            raise ValueError("request head too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append(decode_header(name, value))  # shared lines (request.py, rule 8)
        self._head_size += len(name) + len(value)
        if self._head_size > MAX_HEAD:
            raise ValueError("request head too large")
        if len(name) == 6 and name.lower() == b"expect":
            self._expect = True

    def on_body(self, body: bytes) -> None:
        size = self._body_size
        if size <= self._limit:  # keep one chunk past the limit: the core's 413
            if not size:
                self._body = body
            elif self._chunks is None:
                self._chunks = [self._body, body]
            else:
                self._chunks.append(body)
            self._body_size = size + len(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        request = self._request(_METHODS.get(method) or method.decode("ascii"))
        if parser.should_upgrade():  # feed_data raises HttpParserUpgrade next
            self._upgrading = request
            return
        chunks = self._chunks
        body = self._body if chunks is None else b"".join(chunks)
        keep_alive = bool(parser.should_keep_alive())
        if self._busy:
            if self._queue is None:
                self._queue = collections.deque()
            self._queue.append((request, body, keep_alive))
            self.pause_reading()  # a pipelining client waits for its turn (rule 2)
        else:
            self._serve(request, body, keep_alive)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_since = None
        # a client that asks before sending its body (curl does, past 1 KiB) gets its go
        if self._expect and any(
            n.lower() == "expect" and v.lower() == "100-continue" for n, v in self._headers
        ):
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _request(self, method: str) -> Request:
        raw = self._url
        self._url = b""
        shared = _targets.get(raw)
        if shared is not None:  # a handshake target seen before: its parsed views
            path, query_string, raw_path, query, query_dict = shared
            return Request(
                method=method,
                path=path,
                query_string=query_string,
                raw_path=raw_path,
                headers=Headers.owning(self._headers),
                remote=self.remote,
                scheme="http",
                native=self,
                query=query,
                query_dict=query_dict,
            )
        if raw[:1] == b"/" and b"#" not in raw:
            # origin-form, what clients send: split here (parse_url is for the rest)
            path_bytes, _, query_bytes = raw.partition(b"?")
        else:
            url = httptools.parse_url(raw)
            path_bytes, query_bytes = url.path, url.query or b""
        path = path_bytes.decode("latin-1")
        request = Request(
            method=method,
            path=unquote(path) if "%" in path else path,
            query_string=query_bytes.decode("latin-1"),
            raw_path=raw.decode("latin-1"),
            headers=Headers.owning(self._headers),
            remote=self.remote,
            scheme="http",
            native=self,
        )
        if _shareable(raw):
            _targets[raw] = (
                request.path,
                request.query_string,
                request.raw_path,
                request.query,
                request.query_dict,
            )
        return request

    # -- plain HTTP (rules 2-4) --------------------------------------------------------

    def _next(self) -> None:
        queue = self._queue
        if not queue:
            self._busy = False
            transport = self.transport
            if transport is not None and not transport.is_reading() and not self.lost:
                transport.resume_reading()
            self._arm_idle()
            return
        request, body, keep_alive = queue.popleft()
        if queue:
            self.pause_reading()  # pipelined requests wait for their turn
        self._serve(request, body, keep_alive)

    def _serve(self, request: Request, body: bytes, keep_alive: bool) -> None:
        """Answer one request: at once, from a parked GET's callback, or from a task."""
        self._busy = True
        if not request.path.startswith(self.engine.path):
            self._respond(
                Response(404, {"Content-Type": "text/plain"}, b"Not Found"), request, keep_alive
            )
            return
        # an open polling session's GET or POST is answered without a task (rule 8)
        exchange = _Exchange(request, body, self, keep_alive)
        try:
            if self.engine.answer_now(exchange, body, exchange.answer):
                return
        except Exception:
            log.exception("engine request %s failed", request.path)
            if not exchange.answered:
                self._respond(Response(500), request, keep_alive)
            return
        self.engine.tasks.spawn(self._serve_task(exchange))

    async def _serve_task(self, exchange: _Exchange) -> None:
        request = exchange.request
        try:
            response = await self.engine.handle_http(exchange)
        except asyncio.CancelledError:  # the engine closed (rule 8)
            self.close_transport()
            raise
        except Exception:
            log.exception("engine request %s failed", request.path)
            response = Response(500)
        self._respond(response, request, exchange.keep_alive)

    def _respond(self, response: Response, request: Request, keep_alive: bool) -> None:
        """Write ``response`` to ``request`` (rule 3), then serve the next request."""
        transport = self.transport
        if self.lost or transport is None:
            return
        head = request.method == "HEAD"
        try:
            data = encode_response(response, keep_alive, head)
        except ValueError:
            log.exception("unsafe response header for %s", request.path)
            data = encode_response(Response(500), keep_alive, head)
        transport.write(data)
        if not keep_alive:
            transport.close()
            return
        if self._queue:
            # a pipelined request waits for the next loop iteration, so an answer given
            # from inside the engine (a parked GET's callback) never starts another
            self._loop.call_soon(self._next)
        else:
            self._next()

    def _fail(self, status: int) -> None:
        """A request we cannot parse: answer it and close (rule 4)."""
        transport = self.transport
        if transport is not None and not self.lost:
            transport.write(encode_response(Response(status), keep_alive=False))
            transport.close()

    def pause_reading(self) -> None:
        """Stop reading from the socket (pipelined requests, or a WebSocket reader
        that fell behind)."""
        if self.transport is not None and self.transport.is_reading():
            self.transport.pause_reading()

    def reading_paused(self) -> bool:
        """Whether ``pause_reading`` is in force."""
        return self.transport is not None and not self.transport.is_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def _arm_idle(self) -> None:
        self._idle_since = now = self._loop.time()
        timer = self._idle
        if timer is not None:
            if timer.when() <= now + self.keep_alive_timeout:
                return  # it fires first, and re-arms for what is left (_timer_at)
            timer.cancel()
            self._idle = None
        if self._websocket is None and not self.lost:
            # the engine's list of keep-alive timers: a connection that upgrades a
            # millisecond later costs no loop timer (server/timers.py)
            timers = self.engine.timer_list(self.keep_alive_timeout, self._loop)
            self._idle = timers.add(HttpConnection._on_idle, self)

    def _timer_at(self, deadline: float) -> None:
        """Make the connection's one timer fire by ``deadline`` (rule 4): a timer that
        would fire later is replaced, an earlier one is kept (it re-arms when it fires
        early), so a request costs a clock read rather than a timer."""
        timer = self._idle
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        if self._websocket is None and not self.lost:
            self._idle = self._loop.call_at(deadline, self._on_idle)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _on_idle(self) -> None:
        self._idle = None
        if self.lost or self._websocket is not None:
            return
        now = self._loop.time()
        head = self._head_since
        if head is not None:
            if self._busy:  # a pipelined head waits for its turn: not the client's delay
                self._head_since = head = now
            left = head + self.engine.headers_timeout - now
            if left <= 0:
                self._fail(408)
                return
            self._idle = self._loop.call_later(left, self._on_idle)
            return
        since = self._idle_since
        if since is None or self._busy:
            return  # in use: the next idle period arms a timer again
        left = since + self.keep_alive_timeout - now
        if left > 0:
            self._idle = self._loop.call_later(left, self._on_idle)
        elif self.transport is not None:
            self.transport.close()

    # -- flow control for WebSocket sends ------------------------------------------------

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        while self._paused and not self.lost:
            if self._drained is None:
                self._drained = self._loop.create_future()
            await self._drained

    def _wake_drained(self) -> None:
        waiter, self._drained = self._drained, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- WebSocket (rule 6) --------------------------------------------------------------

    def _upgrade(self, rest: bytes) -> None:
        """The parser stopped after an upgrade request's head: serve it, keep ``rest``."""
        self._cancel_idle()
        request, self._upgrading = self._upgrading, None
        if request is None or self._queue or self._busy:
            # an upgrade with a body, or pipelined behind another request
            self._fail(400)
            return
        self._busy = True
        channel = _WebSocket(request, self, rest)
        if (
            request.method != "GET"
            or "websocket" not in request.headers.get("Upgrade", "").lower()
            or not request.path.startswith(self.engine.path)
        ):
            self._fail(400 if request.path.startswith(self.engine.path) else 404)
            return
        self._websocket = channel
        # the parser is never fed again: drop it, and the callbacks (bound methods of
        # this object) it holds, for as long as the WebSocket lives
        self._parser = _CLOSED_PARSER
        try:
            if self.engine.accept_now(channel, self._refused):  # no task (rule 8)
                return
        except Exception:
            log.exception("engine websocket %s failed", request.path)
            if channel.opened:
                channel.close_now()
            else:
                self._refused(Response(500))
            return
        self.engine.tasks.spawn(self._serve_websocket(channel))

    def _refused(self, refused: Response) -> None:
        """The engine's answer to a WebSocket handshake it refused (or that failed)."""
        channel = self._websocket
        if channel is None or channel.opened:
            return
        self._websocket = None
        if refused.status != 0:
            self._respond(refused, channel.request, keep_alive=False)
        else:
            self.close_transport()

    async def _serve_websocket(self, channel: _WebSocket) -> None:
        try:
            refused = await self.engine.handle_websocket(channel)
        except asyncio.CancelledError:  # the engine closed (rule 8)
            self.close_transport()
            raise
        except Exception:
            log.exception("engine websocket %s failed", channel.request.path)
            refused = Response(500) if not channel.opened else None
        if refused is not None and refused.status != 0 and not channel.opened:
            self._websocket = None
            self._respond(refused, channel.request, keep_alive=False)
        elif not channel.opened:
            self.close_transport()
        else:
            await channel.close()

    def write(self, data: bytes | memoryview) -> None:
        """Write bytes to the socket, unless the peer is gone (after a deferred head)."""
        if self.transport is not None and not self.lost:
            head = self._head
            if head is not None:
                self._head = None
                data = head + data
            self.transport.write(data)

    def defer_head(self, data: bytes) -> None:
        """Hold a response head (the 101 of a WebSocket) until the next ``write``, so
        head and first frame leave in one send; ``flush_head`` writes it alone."""
        self._head = data

    def flush_head(self) -> None:
        """Write the deferred head now, if one is held."""
        head = self._head
        if head is not None:
            self._head = None
            if self.transport is not None and not self.lost:
                self.transport.write(head)

    def buffered(self) -> int:
        """Unsent bytes in the transport's buffer."""
        transport = self.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def writable(self) -> bool:
        """Whether the socket is open for writing."""
        transport = self.transport
        return transport is not None and not self.lost and not transport.is_closing()

    def close_transport(self) -> None:
        """Close the TCP connection (after what is buffered is written)."""
        if self.transport is not None:
            self.transport.close()


def _control(first: int, payload: bytes) -> bytes:
    """A server control frame (FIN set; at most 125 bytes, so one length byte)."""
    return bytes((first, len(payload))) + payload


_SWITCHING = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: %s\r\n\r\n"
)
"""A 101 with no extra headers (no cookie, no ``headers`` listener): the handshake's
answer in one formatting, the bytes ``encode_response`` would write."""


def _handshake_error(request: Request) -> str | None:
    """Why ``request`` is not a valid WebSocket handshake (RFC 6455 4.2.1), or None."""
    headers = request.headers
    if "upgrade" not in headers.get("Connection", "").lower():
        return "Connection header must contain upgrade"
    if headers.get("Sec-WebSocket-Version", "") != "13":
        return "Sec-WebSocket-Version must be 13"
    key = headers.get("Sec-WebSocket-Key", "")
    try:  # base64.b64decode(validate=True) without its regular expression
        if len(binascii.a2b_base64(key.encode("ascii"), strict_mode=True)) != 16:
            return "Sec-WebSocket-Key must be 16 bytes"
    except (binascii.Error, ValueError):
        return "Sec-WebSocket-Key must be base64"
    return None


class _WebSocket:
    """``WebSocketChannel`` on an ``HttpConnection`` (rule 6)."""

    __slots__ = (
        "_close_sent",
        "_conn",
        "_ended",
        "_listener",
        "_messages",
        "_on_end",
        "_reader",
        "_rest",
        "_waiter",
        "closed",
        "compress",
        "opened",
        "request",
    )

    def __init__(self, request: Request, conn: HttpConnection, rest: bytes) -> None:
        self.request = request
        self._conn = conn
        self._rest = rest
        self.compress = False
        self.opened = False
        self.closed = False
        self._close_sent = False
        self._reader = FrameReader(conn.engine.max_http_buffer_size)
        # messages nobody listens to yet (deliver not called, or receive in use); made
        # by the first such message: a socket served by deliver rarely has one
        self._messages: collections.deque[str | bytes | ChannelError | None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        # deliver's listener and the future it waits on until the socket ends (or
        # listen's callback for that end)
        self._listener: Callable[[str | bytes], object] | None = None
        self._ended: asyncio.Future[None] | None = None
        self._on_end: Callable[[BaseException | None], None] | None = None

    async def accept(self, headers: dict[str, str]) -> Response | None:
        return self.accept_now(headers)

    def accept_now(self, headers: dict[str, str]) -> Response | None:
        conn = self._conn
        if conn.lost:
            return Response(0)
        error = _handshake_error(self.request)
        if error is not None:
            return Response(400, {"Content-Type": "text/plain; charset=utf-8"}, error.encode())
        key = self.request.headers["Sec-WebSocket-Key"]
        if not headers:  # what encode_response writes for these three headers
            data = _SWITCHING % accept_key(key).encode()
        else:
            answer = {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Accept": accept_key(key),
                **headers,
            }
            try:
                data = encode_response(Response(101, answer), keep_alive=True)
            except ValueError:
                return Response(500)
        # written with the first frame (the open packet, at once), so the handshake
        # costs one send, not two; at the latest before the socket first waits
        conn.defer_head(data)
        self.opened = True
        rest, self._rest = self._rest, b""
        if rest:
            self.data_received(rest)
        return None

    # -- reading -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.opened:
            self._rest += data  # frames sent before our 101 (not allowed, but kept)
            return
        reader = self._reader
        conn = self._conn
        for opcode, payload in reader.feed(data):
            if opcode == TEXT or opcode == BINARY:
                listener = self._listener
                if listener is None:
                    self._push(payload)
                    continue
                try:  # _push's common case inlined: a message while deliver listens
                    listener(payload)
                except Exception as exc:  # the reader failed: deliver raises it
                    self._end(exc)
            elif opcode == PING:
                if not self._close_sent:
                    conn.write(_control(0x8A, payload))  # type: ignore[arg-type]  # control payloads are bytes
            elif opcode == CLOSE:
                self._on_close_frame(payload)  # type: ignore[arg-type]  # control payloads are bytes
                return
        error = reader.error
        if error is not None and not self.closed:
            self._fail(error)
        elif self._messages is not None and len(self._messages) > _RECEIVE_HIGH:
            conn.pause_reading()

    def _on_close_frame(self, payload: bytes) -> None:
        try:
            code = close_code(payload)
        except FrameError as exc:
            self._fail(exc)
            return
        if not self._close_sent:  # answer with the same code (RFC 6455 5.5.1)
            self._close_sent = True
            self._conn.write(_control(0x88, payload[:2] if code is not None else b""))
        self.closed = True
        self._push(None)
        self._conn.close_transport()  # the server closes the TCP link first (7.1.1)

    def _fail(self, error: FrameError) -> None:
        """A protocol error: close with its code, then drop the TCP link."""
        if not self._close_sent:
            self._close_sent = True
            reason = error.reason.encode()[:123]
            self._conn.write(_control(0x88, struct.pack("!H", error.code) + reason))
        self._push(ChannelError(error))
        self.closed = True
        self._conn.close_transport()

    def _push(self, item: str | bytes | ChannelError | None) -> None:
        listener = self._listener
        if listener is not None:
            if item is None or isinstance(item, ChannelError):
                self._end(item)
                return
            try:
                listener(item)
            except Exception as exc:  # the reader failed: deliver raises it, as receive did
                self._end(exc)
            return
        messages = self._messages
        if messages is None:
            messages = self._messages = collections.deque()
        messages.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _end(self, error: BaseException | None) -> None:
        self._listener = None
        on_end = self._on_end
        if on_end is not None:  # listen's
            self._on_end = None
            on_end(error)
            return
        ended = self._ended
        if ended is not None and not ended.done():
            if error is None:
                ended.set_result(None)
            else:
                ended.set_exception(error)

    def connection_lost(self) -> None:
        self.closed = True
        self._push(None)

    async def deliver(self, on_message: Callable[[str | bytes], object]) -> None:
        self._conn.flush_head()
        messages = self._messages
        while messages:  # what came before anyone listened (with the upgrade request)
            item = messages.popleft()
            if item is None:
                return
            if isinstance(item, ChannelError):
                raise item
            on_message(item)
        if self.closed or self._conn.lost:
            return
        if self._conn.reading_paused():
            self._conn.resume_reading()
        self._listener = on_message
        self._ended = asyncio.get_running_loop().create_future()
        try:
            await self._ended
        finally:
            self._listener = None
            self._ended = None

    def listen(
        self,
        on_message: Callable[[str | bytes], object],
        on_end: Callable[[BaseException | None], None],
    ) -> None:
        """``deliver`` by callbacks (``host.py``, rule 7): what came before it first,
        then each message as it is read; ``on_end`` once, when the socket ends."""
        self._conn.flush_head()
        messages = self._messages
        while messages:  # what came before anyone listened (with the upgrade request)
            item = messages.popleft()
            if item is None or isinstance(item, ChannelError):
                on_end(item)
                return
            try:
                on_message(item)
            except Exception as exc:  # as deliver raises it
                on_end(exc)
                return
        if self.closed or self._conn.lost:
            on_end(None)
            return
        if self._conn.reading_paused():
            self._conn.resume_reading()
        self._listener = on_message
        self._on_end = on_end

    async def receive(self) -> str | bytes | None:
        self._conn.flush_head()
        messages = self._messages
        if messages is None:
            messages = self._messages = collections.deque()
        while not messages:
            if self._conn.lost:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        item = messages.popleft()
        if not messages and self._conn.reading_paused():
            self._conn.resume_reading()
        if isinstance(item, ChannelError):
            raise item
        return item

    # -- writing -----------------------------------------------------------------------

    async def send(self, frame: str | bytes) -> None:
        if self.closed or self._conn.lost:
            raise ConnectionResetError("websocket closed")
        self._conn.write(ws_frame(frame))
        if self._conn.buffered() > WRITE_HIGH_WATER:
            await self._conn.drain()

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        conn = self._conn
        if conn.lost:
            self.closed = True
            return
        conn.flush_head()
        self.closed = True
        if self._close_sent:  # a close already under way (ours, or the peer's answered)
            return
        self._close_sent = True
        conn.write(_control(0x88, b"\x03\xe8"))  # 1000
        # the peer answers with its close frame (then data_received closes the TCP
        # link); one that does not is dropped after CLOSE_TIMEOUT
        if not conn.lost:
            asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, conn.close_transport)

    @property
    def raw_frames(self) -> bool:
        return True  # frames are written to the socket here, never by a library

    async def drain(self) -> None:
        await self._conn.drain()

    def can_write_now(self) -> bool:
        # HttpConnection.writable() and buffered() inlined: asked before every frame
        conn = self._conn
        transport = conn.transport
        return (
            not self.closed
            and transport is not None
            and not conn.lost
            and not transport.is_closing()
            and transport.get_write_buffer_size() <= WRITE_HIGH_WATER
        )

    def write_now(self, data: bytes | memoryview) -> None:
        self._conn.write(data)

    def write_if_ready(self, data: bytes) -> bool:
        conn = self._conn
        transport = conn.transport
        if (
            self.closed
            or transport is None
            or conn.lost
            or transport.is_closing()
            or transport.get_write_buffer_size() > WRITE_HIGH_WATER
        ):
            return False
        conn.write(data)  # the connection's one write path (it may hold bytes to prepend)
        return True
