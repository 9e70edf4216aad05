"""The server-side Socket: one client connected to one namespace (Node's ``Socket``).

Node's semantics under Python names. Three choices a Python API had to make:

1. **Handler arity is resolved once, at registration time, never by retrying on
   ``TypeError``.** A handler for a client event gets the event's arguments. If the
   client asked for an ack, the ack function is passed as the keyword ``ack=`` when the
   handler has a parameter named ``ack`` (``async def chat(text, ack=None)``), else it
   is appended as the last positional argument when the handler can take one more
   (Node's convention: ``def chat(text, callback)``). Arguments beyond what a handler
   accepts are dropped, as JavaScript drops them; ``*args`` takes everything. Missing
   ones are ``None``, as JavaScript binds ``undefined``, so the handler still runs.
2. **Acks are callbacks or awaitables.** ``emit(ev, *args, callback=fn)`` calls
   ``fn(*reply)``; after ``timeout(s)`` it calls ``fn(None, *reply)`` or
   ``fn(TimeoutError("operation has timed out"))``, exactly Node's ``cb(err, ...)``.
   ``emit_with_ack`` sends at once and returns a future of the first reply argument.
3. **``emit`` sends to the client.** Events emitted on the socket itself (``disconnect``,
   ``disconnecting``, ``error``) go through ``_emit_reserved``, as Node's
   ``emitReserved``.

Incoming events are dispatched synchronously from the engine's ``data`` event when
the socket has no ``use`` middleware (no task per packet); coroutine handlers start as
tasks, as every coroutine listener of the shared EventEmitter does.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import itertools
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterable, KeysView
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sioscope.server.broadcast import BroadcastOperator, check_reserved, rooms_tuple
from sioscope.server.emitter import EventEmitter, _Once, finish_chain, run_listener
from sioscope.server.parser import Packet, PacketType, encode

if TYPE_CHECKING:
    from sioscope.server.adapter import Adapter
    from sioscope.server.client import Client
    from sioscope.server.engine import Conn, Request
    from sioscope.server.namespace import Namespace
    from sioscope.server.server import Server

__all__ = ["Socket", "generate_id"]

log = logging.getLogger("sioscope")

_counter = itertools.count()


def generate_id() -> str:
    """20 chars of URL-safe base64: 12 random bytes and a 24-bit process counter (Node's)."""
    tail = (next(_counter) & 0xFFFFFF).to_bytes(3, "big")
    return base64.urlsafe_b64encode(os.urandom(12) + tail).decode()


# -- handler arity, resolved once per function -------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    ack_keyword: bool
    max_positional: int | None  # None: *args
    required: int = 0  # positional parameters without a default (``ack`` aside)


_plain_specs: weakref.WeakKeyDictionary[Any, _Spec] = weakref.WeakKeyDictionary()
_bound_specs: weakref.WeakKeyDictionary[Any, _Spec] = weakref.WeakKeyDictionary()
_UNKNOWN = _Spec(False, None)


def _compute_spec(fn: Callable[..., Any]) -> _Spec:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return _UNKNOWN
    ack_keyword = False
    positional = required = 0
    var_positional = False
    for param in params:
        if param.name == "ack" and param.kind in (
            param.POSITIONAL_OR_KEYWORD,
            param.KEYWORD_ONLY,
        ):
            ack_keyword = True
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            positional += 1
            if param.default is param.empty:
                required = positional
        elif param.kind == param.VAR_POSITIONAL:
            var_positional = True
    return _Spec(ack_keyword, None if var_positional else positional, required)


def handler_spec(fn: Callable[..., Any]) -> _Spec:
    """How ``fn`` takes arguments and acks; computed once per function."""
    func = getattr(fn, "__func__", None)
    cache, key = (_bound_specs, func) if func is not None else (_plain_specs, fn)
    try:
        return cache[key]
    except (KeyError, TypeError):
        spec = _compute_spec(fn)
        try:
            cache[key] = spec
        except TypeError:
            pass  # not weak-referenceable: recomputed next time
        return spec


def call_handler(fn: Callable[..., Any], args: list[Any] | tuple[Any, ...], ack: Any) -> None:
    """Call ``fn`` per the convention above; its exception is logged, not raised."""
    spec = handler_spec(fn)
    limit = spec.max_positional
    try:
        if spec.ack_keyword:
            if limit is not None and len(args) > limit:
                args = args[:limit]
            if len(args) < spec.required:  # JavaScript passes undefined for the rest
                args = [*args, *[None] * (spec.required - len(args))]
            run_listener(functools.partial(fn, ack=ack), *args)
            return
        if ack is not None and (limit is None or limit > len(args)):
            args = [*args, ack]
        elif limit is not None and len(args) > limit:
            args = args[:limit]
        if len(args) < spec.required:
            args = [*args, *[None] * (spec.required - len(args))]
        run_listener(fn, *args)
    except Exception:
        log.exception("handler %r failed", fn)


def emit_to_listeners(emitter: EventEmitter, event: str, args: list[Any], ack: Any) -> bool:
    """EventEmitter dispatch with the handler convention (once-listeners honoured)."""
    listeners = emitter._events.get(event)
    if not listeners:
        return False
    for entry in tuple(listeners):
        if isinstance(entry, _Once):
            emitter.off(event, entry)  # this wrapper, not a plain `on` of the same function
            call_handler(entry.listener, args, ack)
        else:
            call_handler(entry, args, ack)
    return True


# -- handshake ---------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _js_date_of_second(second: int) -> str:
    moment = datetime.fromtimestamp(second).astimezone()
    zone = moment.tzname() or ""
    if zone == "UTC":
        zone = "Coordinated Universal Time"
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT%z") + f" ({zone})"


def _js_date(now: float) -> str:
    """``String(new Date())``: ``Tue Nov 24 2026 23:03:22 GMT+0000 (Coordinated ...)``.

    The string has a resolution of one second, so it is formatted once per second
    (a burst of handshakes otherwise pays the strftime and tz lookup each time).
    """
    return _js_date_of_second(int(now))


_SINGLE_VALUED_HEADERS = frozenset(
    {
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    }
)
"""Headers whose repeats Node's ``http.IncomingMessage`` discards (the first one wins)."""


def build_handshake(conn: Conn, auth: dict[str, Any]) -> dict[str, Any]:
    """Node's ``socket.handshake`` from the connection's first HTTP request."""
    request = conn.request
    headers: dict[str, Any] = {}
    query: dict[str, Any] = {}
    url = ""
    if request is not None:
        for name, value in request.headers.items():
            key = name.lower()
            if key == "set-cookie":
                headers.setdefault(key, []).append(value)
            elif key not in headers:
                headers[key] = value
            elif key not in _SINGLE_VALUED_HEADERS:
                separator = "; " if key == "cookie" else ", "
                headers[key] = f"{headers[key]}{separator}{value}"
        # Node: Object.fromEntries(url.searchParams), so a repeated key keeps its last value
        query = dict(request.query.items())
        url = request.raw_path
    now = time.time()
    return {
        "headers": headers,
        "time": _js_date(now),
        "address": conn.remote_address,
        "xdomain": "origin" in headers,
        "secure": True if request is None else bool(conn.secure),
        "issued": int(now * 1000),
        "url": url,
        "query": query,
        "auth": auth,
    }


class _Ack:
    """The ack function a handler gets; only its first call sends (Node's rule)."""

    __slots__ = ("id", "sent", "socket")

    def __init__(self, socket: Socket, ack_id: int) -> None:
        self.socket = socket
        self.id = ack_id
        self.sent = False

    def __call__(self, *args: Any) -> None:
        if self.sent:
            return
        self.sent = True
        socket = self.socket
        socket.client._write_packet(Packet(PacketType.ACK, socket.nsp.name, list(args), self.id))

    def __repr__(self) -> str:
        return f"<ack {self.id}>"


class Socket(EventEmitter):
    """A client connected to a namespace; see the module docstring for conventions."""

    def __init__(self, nsp: Namespace, client: Client, auth: dict[str, Any]) -> None:
        super().__init__()
        self.nsp = nsp
        self.server: Server = nsp.server
        self.adapter: Adapter = nsp.adapter
        self.client = client
        self.id = generate_id()
        self.handshake: dict[str, Any] = build_handshake(client.conn, auth)
        self.data: Any = {}
        self.connected = False
        self.recovered = False
        self._acks: dict[int, Callable[..., Any]] = {}
        self._fns: list[Callable[..., Any]] = []
        self._flags: dict[str, Any] = {}
        self._any_incoming: list[Callable[..., Any]] = []
        self._any_outgoing: list[Callable[..., Any]] = []
        self._cleaned = False

    def __repr__(self) -> str:
        return f"<Socket {self.id} nsp={self.nsp.name} connected={self.connected}>"

    # -- attributes -------------------------------------------------------------

    @property
    def disconnected(self) -> bool:
        """``not connected``."""
        return not self.connected

    @property
    def conn(self) -> Conn:
        """The Engine.IO connection (``server.engine.Conn``)."""
        return self.client.conn

    @property
    def request(self) -> Request:
        """The connection's first HTTP request (``engine.Request``, on every host)."""
        return self.client.request

    @property
    def rooms(self) -> KeysView[str]:
        """The rooms this socket is in, in join order: its own id first once connected.

        A set-like snapshot (the keys view of a copy of the adapter's ordered set): it
        compares equal to a ``set`` (``socket.rooms == {socket.id, "room1"}``), takes
        ``in``, ``len``, ``-``, ``&``, ``|`` (which give plain sets), and iterates in
        join order (``list(socket.rooms) == [socket.id, "room1"]``), as Node's ``Set``.
        Unlike Node's it is a copy, not the live set, so ``for room in socket.rooms:
        socket.leave(room)`` works (a dict cannot change size while it is iterated).
        """
        rooms = self.adapter.socket_rooms(self.id)
        return (rooms.copy() if rooms else {}).keys()

    # -- emitting ---------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Send ``event`` to this client; raises ``ValueError`` for a reserved name."""
        check_reserved(event)
        flags = self._flags
        if flags:
            self._flags = {}
        data = [event, *args]
        packet = Packet(PacketType.EVENT, self.nsp.name, data)
        if callback is not None:
            packet.id = self.nsp._next_ack_id()
            self._register_ack(packet.id, callback, flags.get("timeout"))
        if self._any_outgoing:
            self._notify_outgoing(data)
        self.client._write_encoded(
            encode(packet), bool(flags.get("volatile")), flags.get("compress", True) is not False
        )
        return True

    def _register_ack(
        self, ack_id: int, callback: Callable[..., Any], timeout: float | None
    ) -> None:
        if timeout is None:
            self._acks[ack_id] = callback
            return
        acks = self._acks

        def expire() -> None:
            if acks.pop(ack_id, None) is not None:
                _call_safely(callback, TimeoutError("operation has timed out"))

        handle = asyncio.get_running_loop().call_later(timeout, expire)

        def reply(*args: Any) -> None:
            handle.cancel()
            callback(None, *args)

        acks[ack_id] = reply

    def emit_with_ack(self, event: str, *args: Any) -> asyncio.Future[Any]:
        """Send now; the future gets the client's first ack argument.

        After ``timeout(s)`` it raises ``TimeoutError("operation has timed out")`` when no
        ack comes in time; without a timeout it waits for as long as it takes.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._flags.get("timeout") is not None:

            def done_with_error(err: Exception | None, *reply: Any) -> None:
                if future.done():
                    return
                if err is not None:
                    future.set_exception(err)
                else:
                    future.set_result(reply[0] if reply else None)

            self.emit(event, *args, callback=done_with_error)
        else:

            def done(*reply: Any) -> None:
                if not future.done():
                    future.set_result(reply[0] if reply else None)

            self.emit(event, *args, callback=done)
        return future

    def send(self, *args: Any) -> Socket:
        """``emit("message", *args)``."""
        self.emit("message", *args)
        return self

    write = send

    # -- flags ------------------------------------------------------------------

    def timeout(self, seconds: float) -> Socket:
        """Seconds to wait for the ack of the next ``emit``."""
        self._flags["timeout"] = seconds
        return self

    @property
    def volatile(self) -> Socket:
        """Drop the next packet if the transport is not writable right now."""
        self._flags["volatile"] = True
        return self

    def compress(self, compress: bool) -> Socket:
        """Whether to compress the next packet (when the transport negotiated it)."""
        self._flags["compress"] = compress
        return self

    def _operator(self, rooms: tuple[str, ...], except_rooms: tuple[str, ...]) -> BroadcastOperator:
        flags = self._flags
        self._flags = {}
        return BroadcastOperator(self.adapter, rooms, (*except_rooms, self.id), flags)

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Target ``rooms``, except this socket."""
        return self._operator(rooms_tuple(rooms), ())

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone except the sockets of ``rooms`` and this socket."""
        return self._operator((), rooms_tuple(rooms))

    @property
    def broadcast(self) -> BroadcastOperator:
        """Everyone in the namespace except this socket."""
        return self._operator((), ())

    @property
    def local(self) -> BroadcastOperator:
        """Like ``broadcast``, but not forwarded to other servers."""
        return self._operator((), ()).local

    # -- rooms ------------------------------------------------------------------

    def join(self, rooms: str | Iterable[str]) -> None:
        """Join one room or several; a no-op once the socket is cleaned up."""
        if self._cleaned:
            return
        self.adapter.add_all(self.id, rooms_tuple(rooms))

    def leave(self, room: str) -> None:
        """Leave one room."""
        self.adapter.delete(self.id, room)

    # -- disconnecting ------------------------------------------------------------

    def disconnect(self, close: bool = False) -> Socket:
        """Disconnect from this namespace; ``close`` also closes the connection."""
        if not self.connected:
            return self
        if close:
            self.client._disconnect()
        else:
            self.client._write_packet(Packet(PacketType.DISCONNECT, self.nsp.name))
            self._onclose("server namespace disconnect")
        return self

    def _onclose(self, reason: str, description: Any = None) -> None:
        if not self.connected:
            return
        self._emit_reserved("disconnecting", reason, description)
        self._cleanup()
        self.client._remove(self)
        self.connected = False
        self._emit_reserved("disconnect", reason, description)

    def _cleanup(self) -> None:
        self.adapter.del_all(self.id)
        self.nsp._remove(self)
        self._cleaned = True

    # -- middlewares and catch-all listeners ------------------------------------

    def use(self, fn: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
        """Add a per-packet middleware ``fn([event, *args])``; raise to drop the event.

        The socket then emits ``error`` with the exception. Usable as a decorator.
        """
        self._fns.append(fn)
        return fn

    def on_any(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Listen to every incoming event: ``fn(event, *args)`` (ack last, if any)."""
        self._any_incoming.append(fn)
        return fn

    def prepend_any(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``on_any``, in front of the others."""
        self._any_incoming.insert(0, fn)
        return fn

    def off_any(self, fn: Callable[..., Any] | None = None) -> Socket:
        """Remove one catch-all listener, or all of them."""
        _remove_any(self._any_incoming, fn)
        return self

    def listeners_any(self) -> list[Callable[..., Any]]:
        """The live list of catch-all listeners."""
        return self._any_incoming

    def on_any_outgoing(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Listen to every event sent to this client, broadcasts included."""
        self._any_outgoing.append(fn)
        return fn

    def prepend_any_outgoing(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``on_any_outgoing``, in front of the others."""
        self._any_outgoing.insert(0, fn)
        return fn

    def off_any_outgoing(self, fn: Callable[..., Any] | None = None) -> Socket:
        """Remove one outgoing catch-all listener, or all of them."""
        _remove_any(self._any_outgoing, fn)
        return self

    def listeners_any_outgoing(self) -> list[Callable[..., Any]]:
        """The live list of outgoing catch-all listeners."""
        return self._any_outgoing

    def _notify_outgoing(self, data: list[Any]) -> None:
        for fn in tuple(self._any_outgoing):
            _call_safely(fn, *data)

    # -- incoming packets -------------------------------------------------------

    def _emit_reserved(self, event: str, *args: Any) -> None:
        emit_to_listeners(self, event, list(args), None)

    def _onconnect(self) -> None:
        self.connected = True
        self.join(self.id)
        self.client._write_packet(Packet(PacketType.CONNECT, self.nsp.name, {"sid": self.id}))

    def _onpacket(self, packet: Packet) -> None:
        ptype = packet.type
        if ptype == PacketType.EVENT or ptype == PacketType.BINARY_EVENT:
            self._onevent(packet)
        elif ptype == PacketType.ACK or ptype == PacketType.BINARY_ACK:
            callback = self._acks.pop(packet.id, None)  # type: ignore[arg-type]
            if callback is not None:
                _call_safely(callback, *packet.data)
        elif ptype == PacketType.DISCONNECT:
            self._onclose("client namespace disconnect")

    def _onevent(self, packet: Packet) -> None:
        args: list[Any] = packet.data
        ack = None
        if packet.id is not None:
            ack = _Ack(self, packet.id)
            args.append(ack)
        if self._any_incoming:
            for fn in tuple(self._any_incoming):
                _call_safely(fn, *args)
        if self._fns:
            self._run_middlewares(args, ack)
        else:
            self._dispatch(args, ack)

    def _dispatch(self, args: list[Any], ack: _Ack | None) -> None:
        if not self.connected:
            return
        event = args[0]
        rest = args[1:]
        if ack is not None and rest and rest[-1] is ack:
            rest.pop()
        name = event if isinstance(event, str) else _js_string(event)
        emit_to_listeners(self, name, rest, ack)

    def _run_middlewares(self, args: list[Any], ack: _Ack | None) -> None:
        fns = tuple(self._fns)
        for index, fn in enumerate(fns):
            try:
                result = fn(args)
            except Exception as err:
                self._emit_reserved("error", err)
                return
            if inspect.isawaitable(result):
                _spawn(self._finish_middlewares(result, fns[index + 1 :], args, ack))
                return
        self._dispatch(args, ack)

    async def _finish_middlewares(
        self, pending: Any, rest: tuple[Callable[..., Any], ...], args: list[Any], ack: _Ack | None
    ) -> None:
        try:
            await finish_chain(pending, rest, args)
        except Exception as err:
            self._emit_reserved("error", err)
            return
        self._dispatch(args, ack)


def _js_string(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _remove_any(listeners: list[Callable[..., Any]], fn: Callable[..., Any] | None) -> None:
    if fn is None:
        listeners.clear()
        return
    for index, entry in enumerate(listeners):
        if entry is fn or entry == fn:
            del listeners[index]
            return


def _call_safely(fn: Callable[..., Any], *args: Any) -> None:
    try:
        run_listener(fn, *args)
    except Exception:
        log.exception("listener %r failed", fn)


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any) -> None:
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
