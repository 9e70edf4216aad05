"""Client: one Engine.IO connection multiplexing its namespace sockets (Node's ``client.ts``).

Protocol state rules, as Node's:

1. The first packet for a namespace must be CONNECT. A CONNECT for a namespace that
   exists (or that a dynamic parent accepts) starts the connection sequence; for any
   other name the reply is ``4/nsp,{"message":"Invalid namespace"}`` and the engine
   connection stays open.
2. Any other packet for a namespace with no connected socket, a CONNECT for one that is
   connected, or a CONNECT_ERROR from the client is an *invalid state*: the whole
   connection is closed (``client.close()``).
3. A decoder error emits ``error`` on every socket of the connection, then closes the
   engine connection with reason ``parse error``. Node says ``forced close`` here and
   keeps ``parse error`` for Engine.IO-level garbage; we use ``parse error`` for both,
   as our users asked: one malformed packet reads the same whichever layer caught it.
   The client sees no difference (the connection closes with no packet either way).
4. With no namespace fully connected within ``connect_timeout``, the connection is
   closed.

``client.close()`` closes the engine connection and then closes the sockets with
``forced server close``: when the engine closed synchronously its ``close`` event has
already delivered ``forced close`` and the second call finds nothing left to close,
which is exactly how Node ends up with one reason or the other.

What the Socket and the Namespace use of it: :meth:`Client.write` (a packet, encoded
here), :meth:`Client.write_encoded` (messages already encoded, e.g. once for a whole
broadcast), :meth:`Client.remove` (a socket that closed) and :meth:`Client.disconnect`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from sioscope.server.parser import Decoder, Packet, PacketType, ParseError, encode
from sioscope.server.timers import Timer

if TYPE_CHECKING:
    from sioscope.server.engine import Conn
    from sioscope.server.namespace import Namespace, ParentNamespace
    from sioscope.server.server import Server
    from sioscope.server.socket import Socket

__all__ = ["Client"]

log = logging.getLogger("sioscope")

# module constants for the per-packet checks (an Enum class attribute is ~80 ns to read)
_CONNECT, _CONNECT_ERROR = PacketType.CONNECT, PacketType.CONNECT_ERROR


class Client:
    """The Socket.IO side of one Engine.IO connection."""

    def __init__(self, server: Server, conn: Conn) -> None:
        self.server = server
        self.conn = conn
        self.id: str = conn.id
        self.request = conn.request
        self.sockets: dict[str, Socket] = {}
        self.nsps: dict[str, Socket] = {}
        self._decoder = Decoder(server.engine.max_http_buffer_size)
        self._closed = False
        conn.on("data", self._ondata)
        conn.on("close", self._onclose)
        # on the engine's timer list for this duration: no loop timer per handshake
        self._connect_timer: Timer | None = server.engine.timer_list(server.connect_timeout).add(
            Client._on_connect_timeout, self
        )

    def __repr__(self) -> str:
        return f"<Client {self.id} nsps={list(self.nsps)}>"

    # -- writing ----------------------------------------------------------------

    def write(self, packet: Packet, volatile: bool = False, compress: bool = True) -> None:
        """Encode ``packet`` and write it (see :meth:`write_encoded`)."""
        self.write_encoded(encode(packet), volatile, compress)

    def write_encoded(self, encoded: list[str | bytes], volatile: bool, compress: bool) -> None:
        """Write the messages of one encoded packet, if the connection is open.

        A ``volatile`` packet is dropped when the transport is not writable right now;
        ``compress`` is passed to the engine (it applies when the transport negotiated
        it). Events go through :meth:`Socket.deliver`, which calls this.
        """
        conn = self.conn
        if conn.ready_state != "open":
            return
        if volatile and not conn.transport.writable:
            conn.dropped_packets += 1
            return
        send = conn.send
        for message in encoded:
            send(message, compress=compress)

    # -- reading ----------------------------------------------------------------

    def _ondata(self, data: str | bytes) -> None:
        try:
            packet = self._decoder.feed(data)
        except ParseError as err:
            self._onerror(err)
            return
        if packet is not None:
            self._ondecoded(packet)

    def _ondecoded(self, packet: Packet) -> None:
        nsp = packet.nsp
        socket = self.nsps.get(nsp)
        ptype = packet.type
        if socket is None and ptype == _CONNECT:
            auth = packet.data if packet.data is not None else {}
            self._connect(nsp, auth)
        elif socket is not None and ptype != _CONNECT and ptype != _CONNECT_ERROR:
            socket.handle_packet(packet)
        else:
            log.debug("invalid state (packet type %s for %s)", packet.type, nsp)
            self.close()

    def _onerror(self, err: Exception) -> None:
        for socket in list(self.sockets.values()):
            socket.emit_reserved("error", err)
        self.conn.close(reason="parse error")

    # -- namespaces -------------------------------------------------------------

    def _connect(self, name: str, auth: dict[str, Any]) -> None:
        server = self.server
        nsp = server.namespaces.get(name)
        if nsp is not None:
            self._do_connect(nsp, auth)
            return
        parents = list(server.parent_namespaces)
        for index, parent in enumerate(parents):
            try:
                allowed = parent.matches(name, auth)
            except Exception:
                log.exception("dynamic namespace check failed")
                continue
            if inspect.isawaitable(allowed):
                server.tasks.spawn(
                    self._check_async(name, auth, allowed, parents[index + 1 :], parent)
                )
                return
            if allowed:
                self._do_connect(self._child(name, parent), auth)
                return
        self._refuse_namespace(name)

    async def _check_async(
        self,
        name: str,
        auth: dict[str, Any],
        pending: Awaitable[Any],
        rest: list[ParentNamespace],
        parent: ParentNamespace,
    ) -> None:
        """Finish asking the dynamic parents about ``name``: ``parent``'s answer is
        ``pending``; the ``rest`` are asked in order after it (Node's order)."""
        candidates: list[tuple[ParentNamespace, Awaitable[Any] | None]] = [
            (parent, pending),
            *((p, None) for p in rest),
        ]
        for candidate, awaitable in candidates:
            try:
                allowed = awaitable if awaitable is not None else candidate.matches(name, auth)
                if inspect.isawaitable(allowed):
                    allowed = await allowed
            except Exception:
                log.exception("dynamic namespace check failed")
                continue
            if allowed:
                if self.conn.ready_state == "open":
                    self._do_connect(self._child(name, candidate), auth)
                return
        self._refuse_namespace(name)

    def _child(self, name: str, parent: ParentNamespace) -> Namespace:
        existing = self.server.namespaces.get(name)
        return existing if existing is not None else parent.create_child(name)

    def _refuse_namespace(self, name: str) -> None:
        self.write(Packet(PacketType.CONNECT_ERROR, name, {"message": "Invalid namespace"}))

    def _do_connect(self, nsp: Namespace, auth: dict[str, Any]) -> None:
        nsp.add(self, auth, self._on_socket_connected)

    def _on_socket_connected(self, socket: Socket) -> None:
        self.sockets[socket.id] = socket
        self.nsps[socket.nsp.name] = socket
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def remove(self, socket: Socket) -> None:
        """Forget ``socket`` (it closed); the connection itself stays open."""
        if self.sockets.pop(socket.id, None) is not None:
            if self.nsps.get(socket.nsp.name) is socket:
                del self.nsps[socket.nsp.name]

    def _on_connect_timeout(self) -> None:
        self._connect_timer = None
        if not self.nsps:
            log.debug("no namespace joined within connect_timeout, closing %s", self.id)
            self.close()

    # -- closing ----------------------------------------------------------------

    def disconnect(self) -> None:
        """Disconnect every socket (each gets its DISCONNECT), then close the connection."""
        for socket in list(self.sockets.values()):
            socket.disconnect()
        self.sockets.clear()
        self.close()

    def close(self) -> None:
        """Close the engine connection; sockets still open get ``forced server close``."""
        if self.conn.ready_state == "open":
            self.conn.close()
        self._onclose("forced server close")

    def _onclose(self, reason: str, description: Any = None) -> None:
        # Node's client.destroy(): the Conn no longer holds this Client, so a closed
        # connection is freed by reference counting, not left to the collector
        self.conn.off("data", self._ondata)
        self.conn.off("close", self._onclose)
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        for socket in list(self.sockets.values()):
            socket.handle_close(reason, description)
        self.sockets.clear()
        self.nsps.clear()
        self._decoder.reset()
