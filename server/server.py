"""Server (``io``): options, ``attach(app)`` / ``asgi_app()``, ``of()``, ``use()``, ``close()``.

As in Node, the EventEmitter API of the server acts on the main namespace ``/``
(``io.on("connection")``, ``io.emit``), and ``new_namespace`` is emitted there too.
Engine.IO options pass through to :class:`sioscope.server.engine.EngineServer`; durations are
seconds.

What the other modules use of it: ``namespaces`` and ``parent_namespaces`` (the Client
resolves a CONNECT's namespace with them), ``adapter_factory`` (each Namespace builds its
adapter with it), :meth:`Server.register_child` / :meth:`Server.drop_child` (dynamic
child namespaces come and go) and ``tasks``, the owner of every background task of the
server and of what it holds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import Adapter
from sioscope.server.client import Client
from sioscope.server.emitter import EventEmitter
from sioscope.server.namespace import Namespace, ParentNamespace
from sioscope.server.recovery import SessionAwareAdapter, recovery_options
from sioscope.server.tasks import TaskSet

if TYPE_CHECKING:
    from aiohttp import web

    from sioscope.server.broadcast import BroadcastOperator
    from sioscope.server.engine import Conn
    from sioscope.server.engine.asgi import ASGIApp, ASGIApplication
    from sioscope.server.socket import Socket

__all__ = ["Server"]

NamespaceMatcher = re.Pattern[str] | Callable[[str, dict[str, Any]], Any]


class Server:
    """A Socket.IO v5 server with Node's semantics.

    Args:
        path: where the server answers (a trailing ``/`` is stripped, then the engine
            matches ``path + "/"``).
        connect_timeout: seconds a connection may stay without any namespace joined.
        adapter: the adapter class (or factory ``nsp -> Adapter``) of each namespace.
        cleanup_empty_child_namespaces: drop a dynamic child when its last socket leaves.
        connection_state_recovery: ``True`` or ``{"max_disconnection_duration": 120,
            "skip_middlewares": True}`` (seconds) turns on Node's connection state
            recovery (:mod:`sioscope.server.recovery`); with the default adapter it
            becomes the in-memory ``SessionAwareAdapter``.
        **engine_options: passed to ``EngineServer`` (``ping_interval``,
            ``ping_timeout``, ``cors_allowed_origins``, ``max_http_buffer_size``, ...).
    """

    def __init__(
        self,
        *,
        path: str = "/socket.io",
        connect_timeout: float = 45.0,
        adapter: Callable[[Namespace], Adapter] = Adapter,
        cleanup_empty_child_namespaces: bool = False,
        connection_state_recovery: bool | dict[str, Any] | None = None,
        **engine_options: Any,
    ) -> None:
        from sioscope.server.engine import EngineServer

        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        if connect_timeout < 0:
            raise ValueError(f"connect_timeout must be >= 0 seconds, got {connect_timeout!r}")
        self.path = path.rstrip("/")
        self.connect_timeout = connect_timeout or 45.0  # Node: `|| 45000`
        #: ``nsp -> Adapter``: how each namespace builds its adapter (the ``adapter``
        #: option: a class, or any factory of one).
        self.adapter_factory = adapter
        #: Recovery options with Node's defaults filled in, or ``None`` when off.
        self.connection_state_recovery = recovery_options(connection_state_recovery)
        if self.connection_state_recovery is not None and adapter is Adapter:
            self.adapter_factory = SessionAwareAdapter
        self.cleanup_empty_child_namespaces = cleanup_empty_child_namespaces
        self._nsps: dict[str, Namespace] = {}
        self._parent_nsps: list[ParentNamespace] = []
        #: The background tasks of this server and of what it holds (namespaces, sockets,
        #: the admin instrument): ``await io.close()`` cancels and awaits them.
        self.tasks = TaskSet()
        self.engine = EngineServer(path=self.path + "/", **engine_options)
        self.engine.on("connection", self._on_engine_connection)
        self.sockets: Namespace = self.of("/")

    def __repr__(self) -> str:
        return f"<Server path={self.path} namespaces={list(self._nsps)}>"

    @property
    def namespaces(self) -> dict[str, Namespace]:
        """The live mapping of namespace name to Namespace (dynamic children included)."""
        return self._nsps

    @property
    def parent_namespaces(self) -> list[ParentNamespace]:
        """The dynamic parents (``io.of(regex | fn)``), in creation order: the order in
        which they are asked whether they accept a new namespace name."""
        return self._parent_nsps

    def attach(self, app: web.Application) -> Server:
        """Serve Socket.IO on an aiohttp application (``server/engine/aiohttp.py``)."""
        self.engine.attach(app)
        return self

    def asgi_app(self, other_app: ASGIApplication | None = None) -> ASGIApp:
        """An ASGI 3 application serving Socket.IO on ``path`` (``server/engine/asgi.py``).

        Every other request, and the lifespan, go to ``other_app`` (a FastAPI,
        Starlette or Litestar app; without one they get 404). The app may also be
        mounted (``app.mount("/ws", io.asgi_app())``: the scope's ``root_path`` is
        honoured). Lifespan shutdown closes this server (``close()``: every socket
        gets ``"server shutting down"``), before ``other_app`` sees it.
        """
        from sioscope.server.engine.asgi import ASGIApp

        return ASGIApp(self.engine, other_app, on_shutdown=[self.close])

    def _on_engine_connection(self, conn: Conn) -> None:
        Client(self, conn)

    # -- namespaces -------------------------------------------------------------

    def of(
        self, name: str | NamespaceMatcher, fn: Callable[[Socket], Any] | None = None
    ) -> Namespace:
        """The namespace ``name`` (created when new), or a dynamic parent for a regex or a
        function ``fn(name, auth) -> bool`` (sync or async)."""
        if not isinstance(name, str):
            if not isinstance(name, re.Pattern) and not callable(name):
                raise TypeError(
                    f"a namespace is a name, a compiled regex or a function, not {name!r}"
                )
            parent = ParentNamespace(self, name)
            self._parent_nsps.append(parent)
            if fn is not None:
                parent.on("connect", fn)
            return parent
        if not name.startswith("/"):
            name = "/" + name
        nsp = self._nsps.get(name)
        if nsp is None:
            for parent in self._parent_nsps:
                if isinstance(parent.matcher, re.Pattern) and parent.matcher.search(name):
                    nsp = parent.create_child(name)
                    break
            else:
                nsp = Namespace(self, name)
                self._nsps[name] = nsp
                if name != "/":
                    EventEmitter.emit(self.sockets, "new_namespace", nsp)
        if fn is not None:
            nsp.on("connect", fn)
        return nsp

    def register_child(self, child: Namespace) -> None:
        """Make a dynamic child namespace reachable by name and emit ``new_namespace``
        (called by :meth:`ParentNamespace.create_child`)."""
        self._nsps[child.name] = child
        EventEmitter.emit(self.sockets, "new_namespace", child)

    def drop_child(self, child: Namespace) -> None:
        """Forget an empty dynamic child namespace and close its adapter (Node's
        ``cleanupEmptyChildNamespaces``; called by :meth:`Namespace.remove`)."""
        if self._nsps.get(child.name) is child:
            del self._nsps[child.name]
        parent = child.parent
        if parent is not None:
            parent.children.discard(child)
        self.tasks.spawn(child.adapter.close())

    def use(self, fn: Callable[[Socket], Any]) -> Callable[[Socket], Any]:
        """A connection middleware of the main namespace only (Node's ``io.use``)."""
        return self.sockets.use(fn)

    # -- EventEmitter API, proxied to "/" ----------------------------------------

    def on(self, event: str, listener: Callable[..., Any] | None = None) -> Any:
        """Listen on the main namespace (``connection``, ``new_namespace``, ...)."""
        if listener is None:
            return self.sockets.on(event)
        return self.sockets.on(event, listener)

    def once(self, event: str, listener: Callable[..., Any] | None = None) -> Any:
        """``once`` on the main namespace."""
        if listener is None:
            return self.sockets.once(event)
        return self.sockets.once(event, listener)

    def off(self, event: str, listener: Callable[..., Any]) -> None:
        """``off`` on the main namespace."""
        self.sockets.off(event, listener)

    remove_listener = off

    def prepend_listener(self, event: str, listener: Callable[..., Any]) -> Callable[..., Any]:
        """``prepend_listener`` on the main namespace."""
        return self.sockets.prepend_listener(event, listener)

    def remove_all_listeners(self, event: str | None = None) -> None:
        """``remove_all_listeners`` on the main namespace."""
        self.sockets.remove_all_listeners(event)

    def listeners(self, event: str) -> list[Callable[..., Any]]:
        """``listeners`` of the main namespace."""
        return self.sockets.listeners(event)

    def listener_count(self, event: str) -> int:
        """``listener_count`` of the main namespace."""
        return self.sockets.listener_count(event)

    # -- broadcasting, proxied to "/" --------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Broadcast to the main namespace."""
        return self.sockets.emit(event, *args, callback=callback)

    def emit_with_ack(self, event: str, *args: Any) -> Awaitable[list[Any]]:
        """Broadcast to the main namespace and await every reply (set ``timeout()``)."""
        return self.sockets.emit_with_ack(event, *args)

    def send(self, *args: Any) -> Server:
        """``emit("message", *args)``."""
        self.sockets.send(*args)
        return self

    write = send

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Target ``rooms`` of the main namespace."""
        return self.sockets.to(rooms)

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone of the main namespace except ``rooms``."""
        return self.sockets.except_(rooms)

    def compress(self, compress: bool) -> BroadcastOperator:
        """An operator with the compress flag."""
        return self.sockets.compress(compress)

    @property
    def volatile(self) -> BroadcastOperator:
        """An operator with the volatile flag."""
        return self.sockets.volatile

    @property
    def local(self) -> BroadcastOperator:
        """An operator with the local flag."""
        return self.sockets.local

    def timeout(self, seconds: float) -> BroadcastOperator:
        """An operator whose ack waits at most ``seconds``."""
        return self.sockets.timeout(seconds)

    async def fetch_sockets(self) -> list[Any]:
        """Every socket of the main namespace."""
        return await self.sockets.fetch_sockets()

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make every socket of the main namespace join ``rooms``."""
        self.sockets.sockets_join(rooms)

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make every socket of the main namespace leave ``rooms``."""
        self.sockets.sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket of the main namespace."""
        self.sockets.disconnect_sockets(close)

    async def all_sockets(self) -> set[str]:
        """Ids of the sockets of the main namespace."""
        return await self.sockets.all_sockets()

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., Any] | None = None
    ) -> bool:
        """Emit to the other servers of the cluster (main namespace)."""
        return self.sockets.server_side_emit(event, *args, callback=callback)

    def server_side_emit_with_ack(self, event: str, *args: Any) -> Awaitable[list[Any]]:
        """Await the other servers' replies."""
        return self.sockets.server_side_emit_with_ack(event, *args)

    # -- shutdown ----------------------------------------------------------------

    async def close(self) -> None:
        """Close every socket (``server shutting down``, no DISCONNECT packet), every
        adapter, then the engine and all its connections.

        ``close`` is emitted first on the main namespace (like ``new_namespace``), so
        what observes the server (the admin instrument) can stop its timers."""
        EventEmitter.emit(self.sockets, "close")
        adapters = []
        for nsp in list(self._nsps.values()):
            for socket in list(nsp.sockets.values()):
                socket.handle_close("server shutting down")
            adapters.append(nsp.adapter.close())
        await asyncio.gather(*adapters, return_exceptions=True)
        await self.engine.close()
        await self.tasks.close()
