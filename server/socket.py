"""The server-side Socket: one client connected to one namespace (Node's ``Socket``).

Node's semantics under Python names. The choices a Python API had to make:

1. **Handlers are called by the rules of** :mod:`sioscope.server.handlers` (arity
   resolved once; the ack as ``ack=`` or as the last positional argument; missing
   arguments ``None``, extra ones dropped).
2. **Acks are callbacks or awaitables.** ``emit(ev, *args, callback=fn)`` calls
   ``fn(*reply)``; after ``timeout(s)`` it calls ``fn(None, *reply)`` or
   ``fn(TimeoutError("operation has timed out"))``, exactly Node's ``cb(err, ...)``.
   ``emit_with_ack`` sends at once and returns a future of the first reply argument.
3. **``emit`` sends to the client.** Events emitted on the socket itself (``disconnect``,
   ``disconnecting``, ``error``) go through :meth:`Socket.emit_reserved`, as Node's
   ``emitReserved``.
4. **One write path.** Every EVENT that reaches this client, its own ``emit`` or a
   broadcast, goes through :meth:`Socket.deliver`: outgoing catch-all listeners, then
   the volatile and compress flags, then the write. A broadcast encodes once and calls
   ``deliver`` per recipient with the same messages.
5. **The layers around it talk to it by name**: the Client hands it packets
   (:meth:`Socket.handle_packet`) and closes it (:meth:`Socket.handle_close`), the
   Namespace completes its connection (:meth:`Socket.handle_connect`) or drops it
   (:meth:`Socket.cleanup`), the adapter registers broadcast acks
   (:meth:`Socket.register_ack`, :meth:`Socket.forget_ack`).

Incoming events are dispatched synchronously from the engine's ``data`` event when
the socket has no ``use`` middleware (no task per packet); coroutine handlers and async
middlewares run as tasks of the server (``io.tasks``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterable, KeysView
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.broadcast import BroadcastOperator, check_reserved, rooms_tuple
from sioscope.server.emitter import EventEmitter, call_safely, finish_chain
from sioscope.server.handlers import emit_to_listeners
from sioscope.server.handshake import build_handshake
from sioscope.server.ids import generate_id
from sioscope.server.parser import Packet, PacketType, encode
from sioscope.server.recovery import RECOVERABLE_REASONS

if TYPE_CHECKING:
    from sioscope.server.adapter import Adapter
    from sioscope.server.client import Client
    from sioscope.server.engine import Conn, Request
    from sioscope.server.namespace import Namespace
    from sioscope.server.server import Server

__all__ = ["Socket", "generate_id"]

log = logging.getLogger("sioscope")

# the packet types of the hot paths as module constants: reading an attribute of an
# Enum class is ~80 ns in CPython 3.11, a global ~10
_EVENT, _ACK = PacketType.EVENT, PacketType.ACK
_BINARY_EVENT, _BINARY_ACK = PacketType.BINARY_EVENT, PacketType.BINARY_ACK
_DISCONNECT = PacketType.DISCONNECT


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
        socket.client.write(Packet(_ACK, socket.nsp.name, list(args), self.id))

    def __repr__(self) -> str:
        return f"<ack {self.id}>"


class Socket(EventEmitter):
    """A client connected to a namespace; see the module docstring for conventions."""

    def __init__(
        self,
        nsp: Namespace,
        client: Client,
        auth: dict[str, Any],
        session: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(nsp.server.tasks)
        self.nsp = nsp
        self.server: Server = nsp.server
        self.adapter: Adapter = nsp.adapter
        self.client = client
        self.data: Any = {}
        self.connected = False
        self.recovered = False
        self._acks: dict[int, Callable[..., Any]] = {}
        self._flags: dict[str, Any] = {}
        # middlewares and catch-all listeners: lists made by the first one added (most
        # sockets never have one, and each empty list is kept per connection)
        self._fns: list[Callable[..., Any]] | None = None
        self._any_incoming: list[Callable[..., Any]] | None = None
        self._any_outgoing: list[Callable[..., Any]] | None = None
        self._cleaned = False
        self._recovery = self.server.connection_state_recovery is not None
        #: The private session id of connection state recovery (``None`` when it is off).
        self.pid: str | None = None
        if session is not None:
            # A restored session (Node's order): same id and pid, its rooms joined, its
            # data, and the missed packets written now, before the CONNECT reply.
            self.id: str = session["sid"]
            self.pid = session["pid"]
            self.adapter.add_all(self.id, session["rooms"])
            self.data = session["data"]
            for data in session["missed_packets"]:
                client.write(Packet(PacketType.EVENT, nsp.name, data))
            self.recovered = True
        else:
            self.id = generate_id()
            if self._recovery:
                self.pid = generate_id()
        # Node's handshake, built on first read (most sockets never have it read, and
        # it is a copy of the request's headers and query): its time is this one
        self._auth = auth
        self._created = time.time()
        self._handshake: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<Socket {self.id} nsp={self.nsp.name} connected={self.connected}>"

    # -- attributes -------------------------------------------------------------

    @property
    def handshake(self) -> dict[str, Any]:
        """Node's ``socket.handshake`` (``server/handshake.py``): the connection's
        first request and the CONNECT's ``auth``, as of this socket's creation. Built
        when first read, then the same dict (a middleware may change it)."""
        handshake = self._handshake
        if handshake is None:
            handshake = self._handshake = build_handshake(
                self.client.conn, self._auth, self._created
            )
        return handshake

    @handshake.setter
    def handshake(self, value: dict[str, Any]) -> None:
        self._handshake = value

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
        packet = Packet(_EVENT, self.nsp.name, data)
        if callback is not None:
            packet.id = self.nsp.next_ack_id()
            self._expect_ack(packet.id, callback, flags.get("timeout"))
        if self._recovery:  # through the adapter, so the packet gets an offset and is kept
            opts = BroadcastOptions(rooms=(self.id,), flags=flags)
            self.adapter.settle(self.adapter.broadcast(packet, opts))
            return True
        self.deliver(
            data,
            encode(packet),
            bool(flags.get("volatile")),
            flags.get("compress", True) is not False,
        )
        return True

    def deliver(
        self, data: list[Any], encoded: list[str | bytes], volatile: bool, compress: bool
    ) -> None:
        """Write one encoded EVENT to this client: the one write path (module rule 4).

        ``data`` is the packet's ``[event, *args]``, which the outgoing catch-all
        listeners see first; then a ``volatile`` packet is dropped when the transport
        is not writable right now, and ``compress`` applies when the transport
        negotiated it. ``encoded`` is what :func:`sioscope.server.parser.encode` gave
        (one text message, then any binary attachments), written only if the
        connection is open. The socket's own ``emit`` and every adapter broadcast call
        this, so a broadcast encodes once and writes the same messages to each socket.
        """
        if self._any_outgoing:
            self._notify_outgoing(data)
        self.client.write_encoded(encoded, volatile, compress)

    def register_ack(self, ack_id: int, callback: Callable[..., Any]) -> None:
        """Call ``callback(*reply)`` when this client acks ``ack_id`` (once; no timeout).

        What an adapter's ``broadcast_with_ack`` does for each recipient; the caller
        owns the timeout and forgets the ack with :meth:`forget_ack` when it fires.
        """
        self._acks[ack_id] = callback

    def forget_ack(self, ack_id: int, callback: Callable[..., Any] | None = None) -> bool:
        """Stop waiting for the ack ``ack_id`` (only if it is still ``callback``, when
        given); ``True`` if one was pending."""
        acks = self._acks
        pending = acks.get(ack_id)
        if pending is None or (callback is not None and pending is not callback):
            return False
        del acks[ack_id]
        return True

    def _expect_ack(self, ack_id: int, callback: Callable[..., Any], timeout: float | None) -> None:
        if timeout is None:
            self._acks[ack_id] = callback
            return
        acks = self._acks

        def expire() -> None:
            if acks.pop(ack_id, None) is not None:
                call_safely(self.tasks, callback, TimeoutError("operation has timed out"))

        handle = asyncio.get_running_loop().call_later(timeout, expire)

        def reply(*args: Any) -> Any:
            handle.cancel()
            return callback(None, *args)  # a coroutine callback's coroutine: run by the caller

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
            self.client.disconnect()
        else:
            self.client.write(Packet(PacketType.DISCONNECT, self.nsp.name))
            self.handle_close("server namespace disconnect")
        return self

    def handle_close(self, reason: str, description: Any = None) -> None:
        """The socket is closed for ``reason`` (Node's ``_onclose``): ``disconnecting``
        (rooms still joined), then it leaves its rooms, its namespace and its client,
        then ``disconnect``. Called by the Client when the connection closes and by the
        Server on shutdown; a no-op once the socket is disconnected."""
        if not self.connected:
            return
        self.emit_reserved("disconnecting", reason, description)
        if self._recovery and reason in RECOVERABLE_REASONS:
            session = {
                "sid": self.id,
                "pid": self.pid,
                "rooms": list(self.rooms),
                "data": self.data,
            }
            self.adapter.settle(self.adapter.persist_session(session))
        self.cleanup()
        self.client.remove(self)
        self.connected = False
        self.emit_reserved("disconnect", reason, description)

    def cleanup(self) -> None:
        """Leave every room and the namespace (Node's ``_cleanup``); ``join`` is a no-op
        afterwards. Called by :meth:`handle_close`, and by the Namespace for a socket
        whose connection was refused or abandoned before it connected."""
        self.adapter.del_all(self.id)
        self.nsp.remove(self)
        self._cleaned = True

    # -- middlewares and catch-all listeners ------------------------------------

    def use(self, fn: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
        """Add a per-packet middleware ``fn([event, *args])``; raise to drop the event.

        The socket then emits ``error`` with the exception. Usable as a decorator.
        """
        if self._fns is None:
            self._fns = []
        self._fns.append(fn)
        return fn

    def _incoming(self) -> list[Callable[..., Any]]:
        """The catch-all listeners' list, made when first needed."""
        if self._any_incoming is None:
            self._any_incoming = []
        return self._any_incoming

    def _outgoing(self) -> list[Callable[..., Any]]:
        """The outgoing catch-all listeners' list, made when first needed."""
        if self._any_outgoing is None:
            self._any_outgoing = []
        return self._any_outgoing

    def on_any(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Listen to every incoming event: ``fn(event, *args)`` (ack last, if any)."""
        self._incoming().append(fn)
        return fn

    def prepend_any(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``on_any``, in front of the others."""
        self._incoming().insert(0, fn)
        return fn

    def off_any(self, fn: Callable[..., Any] | None = None) -> Socket:
        """Remove one catch-all listener, or all of them."""
        if self._any_incoming is not None:
            _remove_any(self._any_incoming, fn)
        return self

    def listeners_any(self) -> list[Callable[..., Any]]:
        """The live list of catch-all listeners."""
        return self._incoming()

    def on_any_outgoing(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Listen to every event sent to this client, broadcasts included."""
        self._outgoing().append(fn)
        return fn

    def prepend_any_outgoing(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``on_any_outgoing``, in front of the others."""
        self._outgoing().insert(0, fn)
        return fn

    def off_any_outgoing(self, fn: Callable[..., Any] | None = None) -> Socket:
        """Remove one outgoing catch-all listener, or all of them."""
        if self._any_outgoing is not None:
            _remove_any(self._any_outgoing, fn)
        return self

    def listeners_any_outgoing(self) -> list[Callable[..., Any]]:
        """The live list of outgoing catch-all listeners."""
        return self._outgoing()

    def _notify_outgoing(self, data: list[Any]) -> None:
        for fn in tuple(self._outgoing()):
            call_safely(self.tasks, fn, *data)

    # -- incoming packets -------------------------------------------------------

    def emit_reserved(self, event: str, *args: Any) -> None:
        """Emit ``event`` on this socket's own listeners (Node's ``emitReserved``): how
        ``disconnecting``, ``disconnect`` and ``error`` reach the application, even
        though :meth:`emit` refuses those names (it sends to the client)."""
        emit_to_listeners(self, event, list(args), None)

    def handle_connect(self) -> None:
        """Complete the connection (Node's ``_onconnect``): connected, joined to its own
        room, and the CONNECT reply written. Called by the Namespace once the
        middlewares accepted the socket, before ``connection`` is emitted."""
        self.connected = True
        self.join(self.id)
        reply = {"sid": self.id} if self.pid is None else {"sid": self.id, "pid": self.pid}
        self.client.write(Packet(PacketType.CONNECT, self.nsp.name, reply))

    def handle_packet(self, packet: Packet) -> None:
        """A decoded packet for this socket's namespace (Node's ``_onpacket``): an event
        for the handlers, an ack for a pending callback, or the client's DISCONNECT."""
        ptype = packet.type
        if ptype == _EVENT or ptype == _BINARY_EVENT:
            self._onevent(packet)
        elif ptype == _ACK or ptype == _BINARY_ACK:
            ack_id = packet.id
            callback = self._acks.pop(ack_id, None) if ack_id is not None else None
            if callback is not None:
                call_safely(self.tasks, callback, *packet.data)
        elif ptype == _DISCONNECT:
            self.handle_close("client namespace disconnect")

    def _onevent(self, packet: Packet) -> None:
        args: list[Any] = packet.data
        ack = None
        if packet.id is not None:
            ack = _Ack(self, packet.id)
        if not self._any_incoming and not self._fns:
            # the common case: straight to the handlers, without appending the ack to
            # the arguments (for the catch-alls and middlewares) and taking it off again
            if self.connected:
                event = args[0]
                name = event if event.__class__ is str else _js_string(event)
                emit_to_listeners(self, name, args[1:], ack)
            return
        if ack is not None:
            args.append(ack)
        if self._any_incoming:
            for fn in tuple(self._incoming()):
                call_safely(self.tasks, fn, *args)
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
        fns = tuple(self._fns or ())
        for index, fn in enumerate(fns):
            try:
                result = fn(args)
            except Exception as err:
                self.emit_reserved("error", err)
                return
            if inspect.isawaitable(result):
                self.tasks.spawn(self._finish_middlewares(result, fns[index + 1 :], args, ack))
                return
        self._dispatch(args, ack)

    async def _finish_middlewares(
        self, pending: Any, rest: tuple[Callable[..., Any], ...], args: list[Any], ack: _Ack | None
    ) -> None:
        try:
            await finish_chain(pending, rest, args)
        except Exception as err:
            self.emit_reserved("error", err)
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
