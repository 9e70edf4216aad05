"""The ASGI 3 driver: an ``EngineServer`` as an ASGI application (HTTP, WebSocket, lifespan).

``ASGIApp(engine, other_app)`` serves every request whose path (relative to the
scope's ``root_path``, so the app can be mounted) starts with ``engine.path`` and hands
every other request, and the lifespan, to ``other_app`` (a FastAPI, Starlette or
Litestar app); without one, other paths get 404. It runs on any ASGI 3 server
(uvicorn, hypercorn, granian). Like ``aiohttp.py`` it only adapts the host to the
core's contract (``host.py``); the engine's behaviour is the core's.

Rules:

1. The ``Request`` comes from the scope: ``remote`` from ``client`` (the TCP peer),
   ``secure`` from ``scheme`` (``https``/``wss``), headers and query pair by pair as
   sent, ``raw_path`` the target as the client sent it (``raw_path`` and
   ``query_string``), ``native`` the scope. ``X-Forwarded-For`` is read only by the
   engine's ``trust_forwarded``; an ASGI server that rewrites ``client`` from proxy
   headers (uvicorn's ``--proxy-headers``, on for 127.0.0.1 by default) applies its own
   trust list first.
2. A parked long-poll watches ``receive`` for ``http.disconnect``, so a client that
   goes away is noticed as on aiohttp (``"poll connection closed prematurely"``).
3. Responses carry ``Content-Length`` (the ASGI server would otherwise chunk them).
4. A refused WebSocket handshake is answered with the engine's HTTP response when the
   server offers the ``websocket.http.response`` extension (uvicorn, hypercorn), as
   aiohttp and Node answer it; elsewhere with ``websocket.close`` (the server's 403).
5. A WebSocket message longer than ``max_http_buffer_size`` closes the socket with
   1009 and a ``"websocket error"`` (Node's and aiohttp's outcome); the ASGI server's
   own size limit and permessage-deflate setting are the server's options
   (``uvicorn --ws-max-size``, ``--ws-per-message-deflate``).
6. Lifespan: ``on_startup`` callbacks run before ``other_app`` sees
   ``lifespan.startup``, ``on_shutdown`` ones (the Socket.IO server's ``close``)
   before it sees ``lifespan.shutdown``; without ``other_app``, or when it raises on
   the lifespan scope before reading a message (no lifespan support), the driver
   answers the lifespan protocol itself.
7. A ``websocket.disconnect`` with 1002, 1007 or 1009 is the ASGI server refusing a
   frame (it validated it before us): a ``"websocket error"``, as on aiohttp.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import quote

from .host import ChannelError, Response, deliver_received
from .request import Headers, Request
from .server import EngineServer

__all__ = ["ASGIApp", "to_request"]

log = logging.getLogger("sioscope.engine")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]
Hook = Callable[[], Any]

_NO_LENGTH = frozenset({204, 304})
_PROTOCOL_ERRORS = frozenset({1002, 1007, 1009})
"""Close codes with which an ASGI server reports a frame it refused (protocol error,
invalid UTF-8, too big): aiohttp and Node report these as a WebSocket error."""


class ASGIApp:
    """An ASGI 3 application serving ``engine`` under its path (see the module rules)."""

    def __init__(
        self,
        engine: EngineServer,
        other_app: ASGIApplication | None = None,
        *,
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
    ) -> None:
        self.engine = engine
        self.other_app = other_app
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)

    def serves(self, scope: Scope) -> bool:
        """Whether ``scope`` is a request for the engine (its path under ``engine.path``)."""
        return local_path(scope).startswith(self.engine.path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and self.serves(scope):
            await self._http(scope, receive, send)
        elif kind == "websocket" and self.serves(scope):
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif self.other_app is not None:
            await self.other_app(scope, receive, send)
        elif kind == "http":
            await _send_response(send, Response(404, {"Content-Type": "text/plain"}, b"Not Found"))
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000})

    # -- HTTP --------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = _Exchange(to_request(scope), receive)
        request = exchange.request
        if request.method == "GET" and "sid" in request.query:
            exchange.watch()  # a long-poll: notice its client leaving (rule 2)
        try:
            response = await self.engine.handle_http(exchange)
        finally:
            exchange.stop_watching()
        await _send_response(send, response)

    # -- WebSocket ---------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        channel = _WebSocket(to_request(scope), receive, send, self.engine.max_http_buffer_size)
        refused = await self.engine.handle_websocket(channel)
        if refused is not None and refused.status:
            if "websocket.http.response" in scope.get("extensions", {}):
                await _send_response(send, refused, prefix="websocket.")
            else:
                await send({"type": "websocket.close", "code": 1008})

    # -- lifespan ----------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other_app is None:
            await self._own_lifespan(receive, send)
            return
        failed: list[str] = []
        received = False

        async def wrapped_receive() -> Message:
            nonlocal received
            received = True
            message = await receive()
            kind = message.get("type")
            hooks = self.on_startup if kind == "lifespan.startup" else self.on_shutdown
            if kind in ("lifespan.startup", "lifespan.shutdown"):
                try:
                    await _run_hooks(hooks)
                except Exception as exc:
                    log.exception("ASGI %s hook failed", kind)
                    failed.append(kind)
                    await send({"type": kind + ".failed", "message": str(exc)})
            return message

        async def wrapped_send(message: Message) -> None:
            kind = str(message.get("type", ""))
            if kind.rsplit(".", 1)[0] in failed:
                return  # we answered this phase already
            await send(message)

        try:
            await self.other_app(scope, wrapped_receive, wrapped_send)
        except Exception:
            if received:
                raise
            # an app without lifespan support (it refuses the scope before reading
            # anything): the server's own hooks still run
            log.debug("other_app refused the lifespan scope", exc_info=True)
            await self._own_lifespan(receive, send)

    async def _own_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "lifespan.startup":
                hooks = self.on_startup
            elif kind == "lifespan.shutdown":
                hooks = self.on_shutdown
            else:
                continue
            try:
                await _run_hooks(hooks)
            except Exception as exc:
                log.exception("ASGI %s hook failed", kind)
                await send({"type": f"{kind}.failed", "message": str(exc)})
                return
            await send({"type": f"{kind}.complete"})
            if kind == "lifespan.shutdown":
                return


async def _run_hooks(hooks: Iterable[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result


def local_path(scope: Scope) -> str:
    """The path relative to the mount point: ``path`` less ``root_path`` when it
    starts with it (ASGI servers and Starlette's ``Mount`` keep the full path in
    ``path``; some older hosts strip it already)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "") or ""
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def to_request(scope: Scope) -> Request:
    """The engine's ``Request`` for an ASGI ``http`` or ``websocket`` scope (rule 1)."""
    query_string = bytes(scope.get("query_string", b"")).decode("latin-1")
    raw = scope.get("raw_path")
    target = bytes(raw).decode("latin-1") if raw else quote(scope.get("path", "/"), safe="/%")
    if query_string:
        target = f"{target}?{query_string}"
    client = scope.get("client")
    scheme = str(scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http"))
    return Request(
        method=str(scope.get("method", "GET")),
        path=str(scope.get("path", "/")),
        query_string=query_string,
        raw_path=target,
        headers=Headers(
            (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
            for name, value in scope.get("headers", ())
        ),
        remote=str(client[0]) if client else None,
        scheme=scheme,
        native=scope,
    )


async def _send_response(send: Send, response: Response, prefix: str = "") -> None:
    body = response.body or b""
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
    ]
    if response.status not in _NO_LENGTH and not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    await send(
        {"type": prefix + "http.response.start", "status": response.status, "headers": headers}
    )
    await send({"type": prefix + "http.response.body", "body": body, "more_body": False})


def _too_big(data: str | bytes, limit: int) -> bool:
    """Whether ``data`` is longer than ``limit`` bytes on the wire (UTF-8 for text)."""
    if len(data) > limit:
        return True
    if isinstance(data, str) and len(data) * 4 > limit:
        return len(data.encode()) > limit
    return False


class _Exchange:
    """``HttpExchange`` on ASGI: the body from ``receive``, disconnects watched (rule 2)."""

    __slots__ = ("_body_done", "_gone", "_receive", "_watch", "request")

    def __init__(self, request: Request, receive: Receive) -> None:
        self.request = request
        self._receive = receive
        self._gone = False
        self._body_done = False
        self._watch: asyncio.Task[None] | None = None

    def gone(self) -> bool:
        return self._gone

    def watch(self) -> None:
        """Read ``receive`` in the background until ``http.disconnect`` (a GET has no
        body for the core to read, so nothing else would)."""
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_disconnect())

    async def _watch_disconnect(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._gone = True
                return

    def stop_watching(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def read(self) -> bytes:
        if self._body_done:
            return b""
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self._gone = True
            raise ConnectionError("the client disconnected")
        if not message.get("more_body", False):
            self._body_done = True
        chunk = bytes(message.get("body", b""))
        if not chunk and not self._body_done:
            return await self.read()
        return chunk


class _WebSocket:
    """``WebSocketChannel`` on ASGI: ``websocket.*`` messages."""

    __slots__ = ("_closed", "_max", "_receive", "_send", "request")

    def __init__(self, request: Request, receive: Receive, send: Send, max_size: int) -> None:
        self.request = request
        self._receive = receive
        self._send = send
        self._max = max_size
        self._closed = False

    @property
    def compress(self) -> bool:
        return False  # the ASGI server negotiates deflate itself, out of our sight

    @property
    def closed(self) -> bool:
        return self._closed

    async def accept(self, headers: dict[str, str]) -> Response | None:
        message: Message = {"type": "websocket.accept"}
        if headers:
            message["headers"] = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ]
        try:
            await self._send(message)
        except OSError:  # the client left during the handshake
            self._closed = True
            return Response(0)
        return None

    async def deliver(self, on_message: Callable[[str | bytes], object]) -> None:
        await deliver_received(self, on_message)

    async def receive(self) -> str | bytes | None:
        if self._closed:
            return None
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            data: str | bytes = text if text is not None else bytes(message.get("bytes") or b"")
            if _too_big(data, self._max):  # rule 5
                await self._close(1009)
                raise ChannelError("message too big")
            return data
        self._closed = True  # websocket.disconnect
        code = message.get("code")
        if code in _PROTOCOL_ERRORS:  # the ASGI server closed on a bad frame (rule 7)
            raise ChannelError(f"websocket closed with {code}")
        return None

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            await self._send({"type": "websocket.send", "text": frame})
        else:
            await self._send({"type": "websocket.send", "bytes": frame})

    async def close(self) -> None:
        await self._close(1000)

    async def _close(self, code: int) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._send({"type": "websocket.close", "code": code})
        except OSError:  # already gone
            log.debug("websocket close failed", exc_info=True)

    @property
    def raw_frames(self) -> bool:
        return False  # every message goes through the ASGI server's send

    async def drain(self) -> None:  # pragma: no cover - never called (no raw frames)
        return None

    def can_write_now(self) -> bool:
        return False

    def write_now(self, data: bytes | memoryview) -> None:  # pragma: no cover - never called
        raise NotImplementedError

    def write_if_ready(self, data: bytes) -> bool:
        return False
