"""EngineServer: the host-independent engine core (Node's engine.io ``BaseServer``).

Request validation in Node's order, the handshake, the session table and upgrades,
on the request type of ``request.py`` and the driver contract of ``host.py``; it
imports no host library. A driver (``aiohttp.py``, ``asgi.py``) turns each request
under the path into one call:

* ``handle_http(exchange)`` for a plain HTTP request: returns the ``Response``;
* ``handle_websocket(channel)`` for a WebSocket handshake: returns the refusal's
  ``Response``, or ``None`` once the accepted socket has closed.

Both validate in Node's order (CORS preflight, middlewares, transport, origin, sid,
method) and answer a refusal with Node's status and JSON body
(``{"code":1,"message":"Session ID unknown"}``), emitting ``connection_error`` first.
A valid request is handed to the connection's transport, a new handshake, or a
WebSocket (direct or upgrade).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..emitter import EventEmitter
from ..ids import generate_id
from ..timers import TimerList
from .conn import Conn
from .cookie import Cookie, CookieOption
from .cors import CorsOrigins, CorsPolicy
from .host import CallbackChannel, HttpExchange, Response, WebSocketChannel
from .request import Request
from .transports import PollingTransport, PollPayload, WebSocketTransport

log = logging.getLogger("sioscope.engine")

UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5

ERROR_MESSAGES = {
    UNKNOWN_TRANSPORT: "Transport unknown",
    UNKNOWN_SID: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    FORBIDDEN: "Forbidden",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}

_UPGRADES = {"polling": ("websocket",), "websocket": ()}

AllowRequest = Callable[[Request], Any]
Middleware = Callable[[Request], Any]


class _Refused(Exception):
    """A request refused with one of Node's error codes."""

    def __init__(self, code: int, context: dict[str, Any]) -> None:
        super().__init__(ERROR_MESSAGES[code])
        self.code = code
        self.context = context


class EngineServer(EventEmitter):
    """An Engine.IO v4 server with Node's engine.io options, events and outcomes.

    Durations are seconds (the handshake advertises milliseconds, as Node's does).
    Options beyond the obvious ones:

    * ``cors_allowed_origins``: Node's ``cors`` ``origin``: ``None`` sends no CORS
      headers and checks nothing (Node's default), ``"*"``, one origin, a list
      (the request's origin is echoed when listed), or ``True`` (always echoed).
    * ``trust_forwarded``: take ``remote_address`` from ``X-Forwarded-For``; only
      behind a proxy you trust, since any client can send that header.
    * ``allow_request(request)``: sync or async; raising (or returning ``False``)
      refuses the handshake with 403 ``{"code":4,"message":...}``.
    * ``cookie``: ``True``, a name, or a mapping; sets the sid cookie on handshakes.
    * ``initial_packet``: a message sent right after the open packet, in its response.
    * ``close_timeout``: how long a server close over polling waits for a GET to
      deliver its close packet (Node: 30 s).
    * ``max_write_buffer_size``: bytes a connection may owe its client (packets
      buffered for it and frames its socket has not taken yet) before it is closed
      with ``"transport error"``, so clients that stop reading cannot hold memory
      without bound (default 16 MiB; Node has no such cap). What is owed is held by
      reference: a broadcast's frame is shared by every socket that owes it.
    * ``websocket_send_buffer``: the kernel send buffer (``SO_SNDBUF``) of each
      WebSocket on the aiohttp and httptools hosts, 256 KiB by default, ``None`` for
      the kernel's autotuning (Node's behaviour). Autotuned, each client that stops
      reading makes the kernel copy up to 4 MiB into its socket, on the event loop;
      capped, what it owes waits as references to the shared frame instead
      (``host.py``, rule 5). It bounds one connection's throughput to about the
      buffer per round trip (512 KiB, as Linux doubles it, per 100 ms: 5 MB/s).
    * ``headers_timeout``: seconds a client may take to send a request's line and
      headers, from its first byte (or from the TCP connect, for the first request);
      past it the host answers 408 and closes, so a client that never finishes its
      headers (slowloris) holds no connection for long (Node's ``headersTimeout``,
      60 s). Enforced by the aiohttp and httptools drivers; an ASGI server applies
      its own.

    ``use(fn)`` adds a middleware, Node's ``engine.use``, run on every request.

    Events: ``connection(conn)``, ``connection_error({request, code, message,
    context})``, ``initial_headers(headers, request)``, ``headers(headers, request)``,
    ``flush(conn, packets)``, ``drain(conn)``.
    """

    def __init__(
        self,
        *,
        path: str = "/engine.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        upgrade_timeout: float = 10.0,
        max_http_buffer_size: int = 1_000_000,
        cors_allowed_origins: CorsOrigins = None,
        cors_credentials: bool = False,
        transports: Iterable[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        per_message_deflate: bool = False,
        http_compression: bool = False,
        trust_forwarded: bool = False,
        allow_request: AllowRequest | None = None,
        cookie: CookieOption = None,
        initial_packet: str | bytes | None = None,
        close_timeout: float = 30.0,
        max_write_buffer_size: int = 16 * 1024 * 1024,
        headers_timeout: float = 60.0,
        websocket_send_buffer: int | None = 256 * 1024,
    ) -> None:
        super().__init__()
        self.path = "/" + path.strip("/") + "/" if path.strip("/") else "/"
        self.ping_interval = float(ping_interval)
        self.ping_timeout = float(ping_timeout)
        self.upgrade_timeout = float(upgrade_timeout)
        self.max_http_buffer_size = int(max_http_buffer_size)
        self.cors = CorsPolicy(cors_allowed_origins, cors_credentials)
        self.transports = tuple(transports)
        for name in self.transports:
            if name not in _UPGRADES:
                raise ValueError(f"unknown transport {name!r}")
        self.allow_upgrades = allow_upgrades
        self.per_message_deflate = per_message_deflate
        self.http_compression = http_compression
        self.trust_forwarded = trust_forwarded
        self.allow_request = allow_request
        self.cookie = Cookie.from_option(cookie)
        self.initial_packet = initial_packet
        self.close_timeout = close_timeout
        if max_write_buffer_size < 1:
            raise ValueError(f"max_write_buffer_size must be >= 1, got {max_write_buffer_size!r}")
        self.max_write_buffer_size = int(max_write_buffer_size)
        if not headers_timeout > 0:
            raise ValueError(f"headers_timeout must be > 0 seconds, got {headers_timeout!r}")
        self.headers_timeout = float(headers_timeout)
        if websocket_send_buffer is not None and websocket_send_buffer < 1:
            raise ValueError(
                f"websocket_send_buffer must be >= 1 or None, got {websocket_send_buffer!r}"
            )
        self.websocket_send_buffer = websocket_send_buffer
        self.clients: dict[str, Conn] = {}
        self._middlewares: list[Middleware] = []
        self._timer_lists: dict[float, TimerList] = {}
        #: What the open packet advertises (Node's options are milliseconds).
        self.ping_interval_ms = round(self.ping_interval * 1000)
        self.ping_timeout_ms = round(self.ping_timeout * 1000)

    @property
    def clients_count(self) -> int:
        """How many connections are open (Node's ``clientsCount``)."""
        return len(self.clients)

    def attach(self, app: Any) -> None:
        """Route every method under ``path`` (a prefix match) of an aiohttp application
        to this server (the aiohttp driver; ``server/engine/aiohttp.py``)."""
        from .aiohttp import attach

        attach(self, app)

    def use(self, fn: Middleware) -> Middleware:
        """Add a middleware, Node's ``engine.use``: ``fn(request)``, sync or async.

        Middlewares run in order on every request under ``path`` (handshakes, later
        polls and posts, WebSocket upgrades), after CORS and before validation, so
        one can authenticate at the HTTP level or attach data to the request
        (``request[USER] = ...``: a ``Request`` is a mapping; the handshake's request
        stays readable as ``conn.request``). An exception
        refuses the request with 400 ``{"code":3,"message":"Bad request"}`` and a
        ``connection_error`` whose context is ``{"name": "MIDDLEWARE_FAILURE"}``.
        Usable as a decorator.
        """
        self._middlewares.append(fn)
        return fn

    async def _apply_middlewares(self, request: Request) -> None:
        for fn in tuple(self._middlewares):
            try:
                result = fn(request)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.debug("engine middleware refused %s", request.path, exc_info=True)
                raise _Refused(BAD_REQUEST, {"name": "MIDDLEWARE_FAILURE"}) from exc

    async def close(self) -> None:
        """Close every connection, discarding what is unsent, with Node's reason
        ``"forced close"``; returns when the WebSocket writers are done."""
        writers = []
        for conn in list(self.clients.values()):
            transport = conn.transport
            conn.close(discard=True)
            writer = transport.pending_writes()
            if writer is not None:
                writers.append(writer)
        pending = [w for w in writers if not w.done()]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        await self.tasks.close()  # the coroutine listeners of the engine and its Conns
        for timers in self._timer_lists.values():
            timers.close()
        self._timer_lists.clear()

    # -- what a Conn asks of its server ------------------------------------------------

    def upgrades_for(self, transport_name: str) -> list[str]:
        """The transports a connection on ``transport_name`` may upgrade to."""
        if not self.allow_upgrades:
            return []
        return [t for t in _UPGRADES[transport_name] if t in self.transports]

    def remote_address(self, request: Request) -> str:
        """The client's address: the TCP peer, or ``X-Forwarded-For``'s first hop
        with ``trust_forwarded``."""
        if self.trust_forwarded:
            forwarded = request.headers.get("X-Forwarded-For")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return request.remote or ""

    def timer_list(
        self, duration: float, loop: asyncio.AbstractEventLoop | None = None
    ) -> TimerList:
        """The running loop's list of ``duration``-second timers of this server
        (``server/timers.py``): what its connections' heartbeats, and the Socket.IO
        layer's connect timeouts, wait on, one loop timer per duration. A caller that
        holds the running loop passes it (asking for it is a ``getpid`` system call)."""
        if loop is None:
            loop = asyncio.get_running_loop()
        timers = self._timer_lists.get(duration)
        if timers is None or timers.loop is not loop:
            timers = self._timer_lists[duration] = TimerList(duration, loop)
        return timers

    def release(self, conn: Conn) -> None:
        """Drop a closing connection from ``clients`` (its ``close`` comes after)."""
        if self.clients.get(conn.id) is conn:
            del self.clients[conn.id]

    # -- request handling --------------------------------------------------------------

    async def _admit(self, request: Request, upgrade: bool) -> tuple[Conn | None, str]:
        """Middlewares, then Node's checks: (the session or None, its sid)."""
        if self._middlewares:
            await self._apply_middlewares(request)
        conn = await self._verify(request, upgrade)
        sid = conn.id if conn is not None else await self._new_id(request)
        return conn, sid

    async def handle_http(self, exchange: HttpExchange) -> Response:
        """Answer one plain HTTP request under ``path`` (a driver calls this)."""
        request = exchange.request
        headers = self.cors.headers(request.headers)
        if request.method == "OPTIONS" and self.cors.enabled:
            return Response(204, self.cors.preflight_headers(request.headers))
        try:
            conn, sid = await self._admit(request, False)
        except _Refused as refused:
            return self._refuse(request, refused, headers, False)
        if conn is None:
            return await self._handshake_polling(exchange, headers, sid)
        transport = conn.transport
        if not isinstance(transport, PollingTransport):
            # a plain HTTP request for a websocket session (Node would leave it hanging)
            return Response(400, headers)
        if request.method == "GET":
            fut = transport.start_get(exchange)
            return await transport.finish_get(exchange, fut, headers)
        if request.method == "POST":
            return await transport.handle_post(exchange, headers)
        return Response(500, headers)

    def answer_now(
        self, exchange: HttpExchange, body: bytes, answer: Callable[[Response], None]
    ) -> bool:
        """``handle_http`` without a coroutine, for a host that holds the whole body.

        The requests of an open polling session (a GET, a POST) need nothing awaited
        when no middleware is installed: this answers them through ``answer``, at once
        or, for a GET that parks, when its payload is ready (a callback on the poll,
        no future, no task: ``PollingTransport.park_get``). It returns False,
        answering nothing, for any other request (a handshake, OPTIONS, with
        middlewares): the host then calls ``handle_http``.
        The outcomes are ``handle_http``'s, in the same order of checks.
        """
        request = exchange.request
        method = request.method
        if self._middlewares or (method != "GET" and method != "POST"):
            return False
        if not request.query_dict.get("sid"):
            return False  # a handshake (or a refusal of one): allow_request may await
        headers = self.cors.headers(request.headers)
        try:
            conn = self._check(request, False)
        except _Refused as refused:
            answer(self._refuse(request, refused, headers, False))
            return True
        transport = conn.transport if conn is not None else None
        if not isinstance(transport, PollingTransport):
            answer(Response(400, headers))  # a plain request for a websocket session
            return True
        if method == "POST":
            answer(transport.take_post(request, body, headers))
            return True

        def finish(payload: PollPayload) -> None:
            try:
                response = transport.get_response(request, payload, headers)
            except Exception:  # a headers listener failed: handle_http's task would 500
                log.exception("engine request %s failed", request.path)
                response = Response(500)
            answer(response)

        if not transport.park_get(exchange, finish):
            answer(Response(400, headers))
        return True

    async def handle_websocket(self, channel: WebSocketChannel) -> Response | None:
        """Serve one WebSocket handshake under ``path`` until the socket closes (a
        driver calls this); a refusal is returned as the handshake's answer."""
        request = channel.request
        try:
            conn, sid = await self._admit(request, True)
        except _Refused as refused:
            return self._refuse(request, refused, self.cors.headers(request.headers), True)
        extra = self._upgrade_headers(request, sid)
        refused_handshake = await channel.accept(extra)
        if refused_handshake is not None:
            return refused_handshake
        if request.query_dict.get("transport") != "websocket":
            await channel.close()
            return None
        transport = WebSocketTransport(channel)
        self._attach_websocket(transport, conn, sid)
        await transport.run()
        return None

    def _upgrade_headers(self, request: Request, sid: str) -> dict[str, str]:
        """The extra headers of a WebSocket handshake's answer: the cookie and what the
        ``headers``/``initial_headers`` listeners add (none, and no call, without them)."""
        extra: dict[str, str] = {}
        if (
            self.cookie is not None
            or self.has_listeners("headers")
            or self.has_listeners("initial_headers")
        ):
            self._emit_headers(extra, request, sid)
        return extra

    def accept_now(self, channel: CallbackChannel, refuse: Callable[[Response], None]) -> bool:
        """``handle_websocket`` with no coroutine and no task, for a host whose channel
        works by callbacks (``host.py``, rule 7: the httptools driver).

        A handshake needs nothing awaited when no middleware is installed, there is
        no ``allow_request`` and ``generate_id`` is the default: this then serves it
        to the end, the open socket held by the host's callbacks alone (no task, no
        coroutine frames, no future per connection), and returns True; a refusal goes
        to ``refuse``, which the host answers the handshake with. Otherwise it returns
        False, doing nothing: the host calls ``handle_websocket``. The outcomes are
        ``handle_websocket``'s, in the same order of checks.
        """
        if self._middlewares or self.allow_request is not None or not self._default_ids():
            return False
        request = channel.request
        try:
            conn = self._check(request, True)
        except _Refused as refused:
            refuse(self._refuse(request, refused, self.cors.headers(request.headers), True))
            return True
        sid = conn.id if conn is not None else generate_id()
        extra = self._upgrade_headers(request, sid)
        refused_handshake = channel.accept_now(extra)
        if refused_handshake is not None:
            refuse(refused_handshake)
            return True
        if request.query_dict.get("transport") != "websocket":
            channel.close_now()
            return True
        transport = WebSocketTransport(channel)
        self._attach_websocket(transport, conn, sid)
        transport.start(channel)
        return True

    def _default_ids(self) -> bool:
        """Whether session ids come from the default ``generate_id`` (never awaited)."""
        return type(self).generate_id is EngineServer.generate_id and (
            "generate_id" not in self.__dict__
        )

    def _attach_websocket(self, transport: WebSocketTransport, conn: Conn | None, sid: str) -> None:
        """An accepted WebSocket: a new session's transport, or an upgrade's probe."""
        if conn is None:
            conn = Conn(self, sid, transport, transport.request)
            self._register(conn)
            conn.flush()  # the open packet is the first frame
            self.emit("connection", conn)
        elif conn.ready_state == "closed" or conn.upgrading or conn.upgraded:
            transport.close()  # accepted, then closed (Node's rule for a second socket)
        else:
            conn.maybe_upgrade(transport)

    async def _verify(self, request: Request, upgrade: bool) -> Conn | None:
        conn = self._check(request, upgrade)
        if conn is None and self.allow_request is not None:
            try:
                result = self.allow_request(request)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                raise _Refused(FORBIDDEN, {"message": str(exc) or "Forbidden"}) from exc
            if result is False:
                raise _Refused(FORBIDDEN, {"message": "Forbidden"})
        return conn

    def _check(self, request: Request, upgrade: bool) -> Conn | None:
        """Node's synchronous checks, in its order: the session, or None for a valid
        handshake (``allow_request`` is asked after, by ``_verify``)."""
        query = request.query_dict
        transport = query.get("transport")
        if transport not in self.transports:
            raise _Refused(UNKNOWN_TRANSPORT, {"transport": transport})
        origin = request.headers.get("Origin")
        if origin is not None and not origin.isprintable():
            raise _Refused(BAD_REQUEST, {"name": "INVALID_ORIGIN", "origin": origin})
        protocol = 4 if query.get("EIO") == "4" else 3
        sid = query.get("sid")
        if sid:
            conn = self.clients.get(sid)
            if conn is None:
                raise _Refused(UNKNOWN_SID, {"sid": sid})
            previous = conn.transport.name
            if not upgrade and previous != transport:
                raise _Refused(
                    BAD_REQUEST,
                    {
                        "name": "TRANSPORT_MISMATCH",
                        "transport": transport,
                        "previousTransport": previous,
                    },
                )
            if conn.protocol != protocol:
                raise _Refused(
                    BAD_REQUEST,
                    {
                        "name": "PROTOCOL_MISMATCH",
                        "protocol": protocol,
                        "previousProtocol": conn.protocol,
                    },
                )
            return conn
        if request.method != "GET":
            raise _Refused(BAD_HANDSHAKE_METHOD, {"method": request.method})
        if transport == "websocket" and not upgrade:
            raise _Refused(BAD_REQUEST, {"name": "TRANSPORT_HANDSHAKE_ERROR"})
        if protocol != 4:
            raise _Refused(UNSUPPORTED_PROTOCOL_VERSION, {"protocol": protocol})
        return None

    def _refuse(
        self, request: Request, refused: _Refused, headers: dict[str, str], upgrade: bool
    ) -> Response:
        code = refused.code
        message = refused.context.get("message") or ERROR_MESSAGES[code]
        if self.has_listeners("connection_error"):
            self.emit(
                "connection_error",
                {
                    "request": request,
                    "req": request,
                    "code": code,
                    "message": ERROR_MESSAGES[code],
                    "context": refused.context,
                },
            )
        if upgrade:
            headers["Content-Type"] = "text/html; charset=utf-8"
            return Response(400, headers, message.encode())
        headers["Content-Type"] = "application/json"
        return Response(
            403 if code == FORBIDDEN else 400,
            headers,
            json.dumps({"code": code, "message": message}, separators=(",", ":")).encode(),
        )

    def _emit_headers(self, headers: dict[str, str], request: Request, sid: str) -> None:
        """Node's ``initial_headers`` (handshake only) and ``headers``: listeners may
        add or change response headers before they are sent. The ``cookie`` option's
        ``Set-Cookie`` (the sid, for sticky load balancing) goes on the handshake."""
        if "sid" not in request.query_dict:
            if self.cookie is not None:
                headers["Set-Cookie"] = self.cookie.serialize(sid)
            if self.has_listeners("initial_headers"):
                self.emit("initial_headers", headers, request)
        if "headers" in self._events:  # has_listeners, inline: once per polling response
            self.emit("headers", headers, request)

    def _register(self, conn: Conn) -> None:
        self.clients[conn.id] = conn

    def generate_id(self, request: Request) -> str | Awaitable[str]:
        """The sid of a new session; override it (sync or async) as Node's ``generateId``.

        An exception refuses the handshake with 400 (context ``ID_GENERATION_ERROR``).
        """
        return generate_id()

    async def _new_id(self, request: Request) -> str:
        try:
            sid = self.generate_id(request)
            if inspect.isawaitable(sid):
                sid = await sid
        except Exception as exc:
            raise _Refused(BAD_REQUEST, {"name": "ID_GENERATION_ERROR", "error": exc}) from exc
        return str(sid)

    async def _handshake_polling(
        self, exchange: HttpExchange, headers: dict[str, str], sid: str
    ) -> Response:
        request = exchange.request
        transport = PollingTransport(
            request,
            max_http_buffer_size=self.max_http_buffer_size,
            http_compression=self.http_compression,
            close_timeout=self.close_timeout,
        )
        transport.on_headers = lambda headers, req: self._emit_headers(headers, req, sid)
        conn = Conn(self, sid, transport, request)
        self._register(conn)
        fut = transport.start_get(exchange)  # answers with the open packet at once
        self.emit("connection", conn)
        return await transport.finish_get(exchange, fut, headers)
