"""Namespace and ParentNamespace (dynamic namespaces), Node's ``namespace.ts``.

A namespace owns its adapter, its connected sockets (``sockets``), its connection
middlewares and the ack-id counter shared by every socket and broadcast in it.

Connection sequence (:meth:`Namespace.add`, called by the Client), as Node's
``Namespace._add``:

1. the Socket is created (handshake complete, ``connected`` false, no rooms);
2. middlewares run in order; the first exception refuses the connection with a
   CONNECT_ERROR ``{"message": str(err), "data": err.data}`` and the engine connection
   stays open. Synchronous middlewares run inline; the chain becomes a task only at
   the first awaitable one;
3. completion always happens on a later loop turn (Node's ``nextTick``): so an EVENT
   sent in the same payload as its CONNECT is an invalid state, as in Node;
4. then: the socket enters ``sockets``, joins its own room, the CONNECT reply is
   written, and only after that ``connect`` and ``connection`` are emitted, so anything
   the ``connection`` handler sends follows the reply.

What the other modules use of it: :meth:`Namespace.add` and :meth:`Namespace.remove`
(the Client and the Socket), :meth:`Namespace.next_ack_id` (every emit with an ack, and
an adapter's ``broadcast_with_ack``), :meth:`Namespace.receive_server_side_emit` (a
cluster adapter delivering another server's ``server_side_emit``), ``parent`` (the
dynamic parent of a child namespace, else ``None``) and
:meth:`ParentNamespace.create_child`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import Adapter, BroadcastOptions
from sioscope.server.broadcast import BroadcastOperator, rooms_tuple
from sioscope.server.emitter import EventEmitter, finish_chain
from sioscope.server.parser import Packet, PacketType
from sioscope.server.socket import Socket

if TYPE_CHECKING:
    from sioscope.server.client import Client
    from sioscope.server.server import Server

log = logging.getLogger("sioscope")

__all__ = ["ConnectionRefused", "Namespace", "ParentNamespace"]

SERVER_SIDE_RESERVED = frozenset({"connect", "connection", "new_namespace"})


class ConnectionRefused(Exception):
    """Raised by a connection middleware to refuse with a message and optional data."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


def _refusal_payload(err: BaseException) -> dict[str, Any]:
    message = err.message if isinstance(err, ConnectionRefused) else str(err)
    payload: dict[str, Any] = {"message": message}
    data = getattr(err, "data", None)
    if data is not None:
        payload["data"] = data
    return payload


class Namespace(EventEmitter):
    """A namespace: ``emit`` broadcasts to its sockets; ``on`` listens to its events."""

    def __init__(self, server: Server, name: str, parent: ParentNamespace | None = None) -> None:
        super().__init__(server.tasks)
        self.name = name
        self.server = server
        #: The dynamic parent this namespace was created by (``io.of(regex | fn)``), or
        #: ``None`` for a namespace of its own.
        self.parent = parent
        self.sockets: dict[str, Socket] = {}
        self._pre_connect_sockets: dict[str, Socket] = {}
        self._fns: list[Callable[[Socket], Any]] = []
        self._ids = 0
        self.adapter: Adapter = server.adapter_factory(self)
        self.adapter.settle(self.adapter.init())

    def __repr__(self) -> str:
        return f"<Namespace {self.name} sockets={len(self.sockets)}>"

    def next_ack_id(self) -> int:
        """The next ack id of this namespace (Node's ``_ids++``): one counter shared by
        every socket's ``emit`` with an ack and every broadcast with acks in it."""
        ack_id = self._ids
        self._ids += 1
        return ack_id

    # -- middlewares and connection -------------------------------------------

    def use(self, fn: Callable[[Socket], Any]) -> Callable[[Socket], Any]:
        """Add a connection middleware ``fn(socket)`` (sync or async); raise to refuse.

        Usable as a decorator.
        """
        self._fns.append(fn)
        return fn

    def add(
        self, client: Client, auth: dict[str, Any], on_connected: Callable[[Socket], None]
    ) -> None:
        """Start the connection sequence of the module docstring for ``client``;
        ``on_connected(socket)`` runs once the socket is connected, before ``connect``
        and ``connection`` are emitted.

        With connection state recovery on and a string ``pid`` and ``offset`` in
        ``auth``, the adapter is asked for the session first (a coroutine: the socket
        is created once it answered); a recovered socket skips the middlewares unless
        ``skip_middlewares`` is off, as in Node."""
        recovery = self.server.connection_state_recovery
        if (
            recovery is not None
            and isinstance(auth.get("pid"), str)
            and isinstance(auth.get("offset"), str)
        ):
            self.server.tasks.spawn(
                self._add_restored(client, auth, on_connected, recovery["skip_middlewares"]),
                name=f"restore session {self.name}",
            )
            return
        self._start(Socket(self, client, auth), on_connected)

    async def _add_restored(
        self,
        client: Client,
        auth: dict[str, Any],
        on_connected: Callable[[Socket], None],
        skip_middlewares: bool,
    ) -> None:
        session: dict[str, Any] | None = None
        try:
            session = await self.adapter.restore_session(auth["pid"], auth["offset"])
        except Exception as err:  # Node: logged, and a new session instead
            log.debug("session %s not restored: %s", auth["pid"], err)
        socket = Socket(self, client, auth, session)
        if socket.recovered and skip_middlewares and client.conn.ready_state == "open":
            self._pre_connect_sockets[socket.id] = socket
            self._do_connect(socket, on_connected)
            return
        self._start(socket, on_connected)

    def _start(self, socket: Socket, on_connected: Callable[[Socket], None]) -> None:
        self._pre_connect_sockets[socket.id] = socket
        loop = asyncio.get_running_loop()
        fns = tuple(self._fns)
        for index, fn in enumerate(fns):
            try:
                result = fn(socket)
            except Exception as err:
                loop.call_soon(self._after_middlewares, socket, err, on_connected)
                return
            if inspect.isawaitable(result):
                self.server.tasks.spawn(
                    self._finish_middlewares(socket, result, fns[index + 1 :], on_connected)
                )
                return
        loop.call_soon(self._after_middlewares, socket, None, on_connected)

    async def _finish_middlewares(
        self,
        socket: Socket,
        pending: Awaitable[Any],
        rest: tuple[Callable[[Socket], Any], ...],
        on_connected: Callable[[Socket], None],
    ) -> None:
        error: BaseException | None = None
        try:
            await finish_chain(pending, rest, socket)
        except Exception as err:
            error = err
        self._after_middlewares(socket, error, on_connected)

    def _after_middlewares(
        self, socket: Socket, error: BaseException | None, on_connected: Callable[[Socket], None]
    ) -> None:
        client = socket.client
        if client.conn.ready_state != "open":
            socket.cleanup()
            return
        if error is not None:
            socket.cleanup()
            client.write(Packet(PacketType.CONNECT_ERROR, self.name, _refusal_payload(error)))
            return
        self._do_connect(socket, on_connected)

    def _do_connect(self, socket: Socket, on_connected: Callable[[Socket], None]) -> None:
        self._pre_connect_sockets.pop(socket.id, None)
        self.sockets[socket.id] = socket
        socket.handle_connect()
        on_connected(socket)
        EventEmitter.emit(self, "connect", socket)
        EventEmitter.emit(self, "connection", socket)

    def remove(self, socket: Socket) -> None:
        """Forget ``socket``, connected or not (called by :meth:`Socket.cleanup`); an
        empty child namespace is dropped when ``cleanup_empty_child_namespaces`` is on."""
        # A refused (or abandoned) socket counts too, as in Node's override for
        # cleanupEmptyChildNamespaces: else each refused dynamic name would be kept.
        if self.sockets.pop(socket.id, None) is None:
            self._pre_connect_sockets.pop(socket.id, None)
        if (
            not self.sockets
            and not self._pre_connect_sockets
            and self.server.cleanup_empty_child_namespaces
            and self.parent is not None
        ):
            self.server.drop_child(self)

    # -- broadcasting ----------------------------------------------------------

    def _operator(self) -> BroadcastOperator:
        return BroadcastOperator(self.adapter)

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Target ``rooms``."""
        return BroadcastOperator(self.adapter, rooms_tuple(rooms))

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone except the sockets of ``rooms``."""
        return BroadcastOperator(self.adapter, (), rooms_tuple(rooms))

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Broadcast to every socket of the namespace (raises for a reserved name)."""
        return self._operator().emit(event, *args, callback=callback)

    def emit_with_ack(self, event: str, *args: Any) -> Awaitable[list[Any]]:
        """Broadcast and await every reply (use ``timeout()`` first)."""
        return self._operator().emit_with_ack(event, *args)

    def send(self, *args: Any) -> Namespace:
        """``emit("message", *args)``."""
        self.emit("message", *args)
        return self

    write = send

    def compress(self, compress: bool) -> BroadcastOperator:
        """An operator with the compress flag."""
        return self._operator().compress(compress)

    @property
    def volatile(self) -> BroadcastOperator:
        """An operator with the volatile flag."""
        return self._operator().volatile

    @property
    def local(self) -> BroadcastOperator:
        """An operator with the local flag."""
        return self._operator().local

    def timeout(self, seconds: float) -> BroadcastOperator:
        """An operator whose ack waits at most ``seconds``."""
        return self._operator().timeout(seconds)

    async def fetch_sockets(self) -> list[Any]:
        """Every socket of the namespace."""
        return await self._operator().fetch_sockets()

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make every socket join ``rooms``."""
        self._operator().sockets_join(rooms)

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make every socket leave ``rooms``."""
        self._operator().sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket."""
        self._operator().disconnect_sockets(close)

    async def all_sockets(self) -> set[str]:
        """Ids of every socket (deprecated in Node)."""
        return await self._operator().all_sockets()

    # -- server-side events ----------------------------------------------------

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., Any] | None = None
    ) -> bool:
        """Send ``event`` to the other servers of the cluster (none in memory)."""
        if event in SERVER_SIDE_RESERVED:
            raise ValueError(f'"{event}" is a reserved event name')
        self.adapter.settle(self.adapter.server_side_emit([event, *args], callback))
        return True

    def server_side_emit_with_ack(self, event: str, *args: Any) -> Awaitable[list[Any]]:
        """Await the other servers' replies (``[]`` when alone)."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def done(err: BaseException | None, responses: list[Any]) -> None:
            if future.done():
                return
            if err is not None:
                future.set_exception(err)
            else:
                future.set_result(responses)

        self.server_side_emit(event, *args, callback=done)
        return future

    def receive_server_side_emit(self, args: list[Any]) -> None:
        """``[event, *args]`` that another server sent with ``server_side_emit`` (the last
        argument may be an ack callback): emitted here, so ``io.on(event)`` sees it.
        What a cluster adapter calls on receipt (Node's ``_onServerSideEmit``)."""
        EventEmitter.emit(self, *args)


class ParentNamespace(Namespace):
    """``io.of(regex | fn)``: creates a child namespace per matching name.

    Middlewares and ``connect``/``connection`` listeners are copied into each child at
    creation time, as Node does; ``emit`` and room operators fan out to every child.
    """

    _count = itertools.count()

    def __init__(
        self,
        server: Server,
        matcher: re.Pattern[str] | Callable[[str, dict[str, Any]], Any],
    ) -> None:
        super().__init__(server, f"/_{next(ParentNamespace._count)}")
        self.matcher = matcher
        self.children: set[Namespace] = set()
        self.adapter = _ParentBroadcastAdapter(self)

    def matches(self, name: str, auth: dict[str, Any]) -> Any:
        """``True``/``False``, or an awaitable of it for an async function matcher."""
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.search(name) is not None
        return self.matcher(name, auth)

    def create_child(self, name: str) -> Namespace:
        """The child namespace ``name``, with this parent's middlewares and ``connect``/
        ``connection`` listeners as of now, registered with the server (which emits
        ``new_namespace``). Called by the Client for a name this parent accepted."""
        child = Namespace(self.server, name, parent=self)
        for fn in self._fns:
            child.use(fn)
        for event in ("connect", "connection"):
            for listener in self.listeners(event):
                child.on(event, listener)
        self.children.add(child)
        self.server.register_child(child)
        return child

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Emit on every child namespace."""
        for child in list(self.children):
            child.emit(event, *args, callback=callback)
        return True

    async def fetch_sockets(self) -> list[Any]:
        """Not supported, as in Node."""
        raise RuntimeError("fetchSockets() is not supported on parent namespaces")


class _ParentBroadcastAdapter(Adapter):
    """Fans a parent's room broadcasts out to each child's adapter."""

    def __init__(self, parent: ParentNamespace) -> None:
        super().__init__(parent)
        self.parent = parent

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        for child in list(self.parent.children):
            adapter = child.adapter
            adapter.settle(adapter.broadcast(Packet(packet.type, child.name, packet.data), opts))
