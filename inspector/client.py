"""The admin-namespace client: one Socket.IO namespace over python-engineio's AsyncClient.

python-socketio would do this too, but it is only a test dependency here, and this way
the Socket.IO framing is ``server/parser.py`` (so the inspector exercises our codec
against Node's) while python-engineio carries polling, websocket and the upgrade.

The client folds every event straight into a ``Model`` (same event loop, no locks) and
calls ``on_change`` so the app knows a flush is due. It owns reconnection: after the first
successful connect, a lost connection is retried with capped exponential backoff and
jitter, and the state shows in ``state`` / ``detail``. Only the *first* connect reports
failures by raising (``AdminConnectError``), so the command line can print one clear
line and exit instead of opening a TUI on nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import engineio

from sioscope.inspector.model import Model
from sioscope.server.admin import protocol
from sioscope.server.parser import Decoder, Packet, PacketType, ParseError, encode

log = logging.getLogger("sioscope.inspector")
# python-engineio's own logger prints its errors to stderr (one line per bad packet,
# thousands a second from a server that is not Socket.IO), under the TUI or after the
# one-line failure. Ours has a NullHandler: silent unless the app configures logging.
_eio_log = logging.getLogger("sioscope.inspector.engineio")
_eio_log.addHandler(logging.NullHandler())

CONNECT_TIMEOUT = 10.0
CONFIG_TIMEOUT = 5.0  # after the CONNECT ack, for the admin namespace's ``config``
MAX_MESSAGE = 1 << 30
"""The largest websocket message accepted (aiohttp's default is 4 MiB). Node's admin-ui
sends ``all_sockets`` as one event, about 500 bytes a socket: 4 MiB is ~8,000 sockets,
and past it aiohttp closed the connection, so the inspector reconnected forever with
``0 sockets``. 1 GiB is two million sockets; a server is trusted this far, as the official
UI (a browser, no limit) trusts it."""


class AdminConnectError(Exception):
    """The admin namespace could not be reached or refused us; the message is user-facing."""


class AuthRefused(AdminConnectError):
    """The server answered CONNECT_ERROR (wrong credentials, or no such namespace)."""


@dataclass(slots=True)
class ClientOptions:
    """Where and how to attach; mirrors the official UI's connection modal."""

    url: str
    namespace: str = "/admin"
    path: str = "/socket.io"
    username: str | None = None
    password: str | None = None
    websocket_only: bool = False
    packets: bool = True
    """Ask for the ``sioscope:packets`` stream (ignored by servers without it)."""
    diagnostics: bool = True
    """Ask for ``sioscope:diagnostics`` when the server offers it."""

    def endpoint(self) -> tuple[str, str]:
        """(base URL, namespace) after validating the URL; ``ValueError`` says why not.

        A path in the URL is taken as the namespace (``http://host:3000/admin``), as
        socket.io-client does.
        """
        url = self.url
        if "://" not in url:
            # ``localhost:3200`` as a user types it (socket.io-client takes it too);
            # urlsplit would read "localhost" as the scheme.
            url = "http://" + url
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # "Invalid IPv6 URL"
            raise ValueError(f"bad URL {self.url!r}: {exc}") from None
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        if scheme not in ("http", "https"):
            raise ValueError(f"bad URL {self.url!r}: expected http://host:port (or https, ws, wss)")
        if not parts.hostname:
            raise ValueError(f"bad URL {self.url!r}: no host")
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError(f"bad URL {self.url!r}: bad port") from None
        if not self.path.strip("/"):
            # Engine.IO needs a path of its own: python-engineio (and so this client)
            # cannot address one at the root, and taking "/" for the default would
            # silently attach somewhere else.
            raise ValueError(
                f"--path {self.path!r}: the Socket.IO path cannot be the root "
                "(the default is /socket.io)"
            )
        namespace = self.namespace
        if parts.path not in ("", "/"):
            namespace = parts.path.rstrip("/")
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        base = urlunsplit((scheme, parts.netloc, "", parts.query, ""))
        return base, namespace


class AdminClient:
    """Attaches to an admin namespace and keeps ``model`` in sync with it."""

    def __init__(
        self,
        options: ClientOptions,
        model: Model,
        on_change: Callable[[], None] | None = None,
        backoff: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        self.options = options
        self.base_url, self.namespace = options.endpoint()
        self.model = model
        self.on_change = on_change or (lambda: None)
        self.backoff = backoff
        self.state = "idle"
        self.detail = ""
        self.attempt = 0
        self.last_error = ""
        self.sid: str | None = None
        self.transport: str | None = None
        self._eio: engineio.AsyncClient | None = None
        self._decoder = Decoder()
        self._ack: asyncio.Future[Packet] | None = None
        self._config: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        """Our commands waiting for their ack, by ack id (``sioscope:emit_ack``)."""
        self._next_ack = 0
        self._http: aiohttp.ClientSession | None = None

    # -- connecting

    def _auth(self, use_session: bool) -> dict[str, Any]:
        auth: dict[str, Any] = {}
        if use_session and self.model.session_id:
            auth["sessionId"] = self.model.session_id
        elif self.options.username is not None:
            auth["username"] = self.options.username
            auth["password"] = self.options.password or ""
        # Exactly the official UI's payload: python-socketio's instrument() compares the
        # whole auth object, so an extra key (we once sent "sioscope") fails the login.
        # The packet stream is asked for after login (see ``_connect``).
        return auth

    @property
    def _path(self) -> str:
        return "/" + self.options.path.strip("/")

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.on_change()

    async def connect(self) -> None:
        """Connect once; raise ``AdminConnectError`` with a one-line reason on failure."""
        try:
            await self._connect(use_session=True)
        except AuthRefused:
            if not self.model.session_id:
                raise
            # A restarted server forgets sessions: fall back to the credentials once.
            self.model.session_id = None
            await self._connect(use_session=False)

    async def _connect(self, use_session: bool) -> None:
        self._set_state("connecting", self.base_url)
        if self._http is None or self._http.closed:
            # Our own HTTP session, not python-engineio's: on a non-2xx answer it closes
            # its own session *before* reading the body, so against an ordinary web server
            # the read raced the close and a third of runs ended in a traceback
            # (``RuntimeError: Connection closed.``). It also means one session for every
            # reconnect, closed by ``close()``.
            self._http = aiohttp.ClientSession()
        eio = engineio.AsyncClient(
            logger=_eio_log,
            handle_sigint=False,
            request_timeout=CONNECT_TIMEOUT,
            websocket_extra_options={"max_msg_size": MAX_MESSAGE},
            http_session=self._http,
        )
        eio.on("message", self._on_message)
        self._decoder = Decoder()
        loop = asyncio.get_running_loop()
        self._ack = loop.create_future()
        self._config = loop.create_future()
        transports = ["websocket"] if self.options.websocket_only else ["polling", "websocket"]
        try:
            # Ask our server for all_sockets in pages (ignored by Node and python-
            # socketio, which send one event, as to the official UI).
            sep = "&" if "?" in self.base_url else "?"
            pages = f"{sep}{protocol.SNAPSHOT_QUERY}={protocol.SNAPSHOT_PAGES}"
            await asyncio.wait_for(
                eio.connect(
                    self.base_url + pages,
                    transports=transports,
                    engineio_path=self.options.path.strip("/"),
                ),
                CONNECT_TIMEOUT,
            )
        except (
            engineio.exceptions.ConnectionError,
            aiohttp.ClientError,
            RuntimeError,  # aiohttp: "Connection closed." mid-body
            ValueError,
            OSError,
        ) as exc:
            await _quiet_disconnect(eio)
            raise AdminConnectError(
                f"cannot reach {self.base_url} (path {self._path}): {_reason(exc)}"
            ) from None
        except TimeoutError:
            await _quiet_disconnect(eio)
            raise AdminConnectError(
                f"cannot reach {self.base_url} (path {self._path}): timed out"
            ) from None
        self._eio = eio
        packet = Packet(PacketType.CONNECT, self.namespace, self._auth(use_session))
        for part in encode(packet):
            await eio.send(part)
        try:
            ack = await asyncio.wait_for(asyncio.shield(self._ack), CONNECT_TIMEOUT)
        except TimeoutError:
            await _quiet_disconnect(eio)
            raise AdminConnectError(
                f"no answer from namespace {self.namespace} at {self.base_url} "
                f"(is the path {self.options.path!r} right?)"
            ) from None
        if ack.type == PacketType.CONNECT_ERROR:
            await _quiet_disconnect(eio)
            message = ack.data.get("message") if isinstance(ack.data, dict) else ack.data
            hint = ""
            if self.options.username is None and not (use_session and self.model.session_id):
                # Node says "invalid credentials", python-socketio "authentication
                # failed": either way, with no --username nothing was sent.
                hint = " (no --username given: this server needs a login)"
            raise AuthRefused(f"{self.namespace} refused the connection: {message}{hint}")
        try:
            # Every admin namespace (Node's or ours) sends ``config`` right after the
            # CONNECT ack; a namespace that accepts us without it (the app's "/", say)
            # is not one, and a TUI attached to it would wait for nothing forever.
            await asyncio.wait_for(asyncio.shield(self._config), CONFIG_TIMEOUT)
        except TimeoutError:
            await _quiet_disconnect(eio)
            raise AdminConnectError(
                f"{self.namespace} at {self.base_url} is not an admin namespace "
                "(no config received; is --namespace right?)"
            ) from None
        self.sid = ack.data.get("sid") if isinstance(ack.data, dict) else None
        self.model.own_socket_id = self.sid
        # The extension's own opt-in (docs/admin-extension.md), one command for both:
        # packets are answered with ``sioscope:snapshot`` (the batches start at seq 1),
        # diagnostics with a ``sioscope:diagnostics`` snapshot. Never in the login auth.
        options: protocol.SubscribeOptions = {}
        if self.options.packets and self.model.has_packet_stream:
            # Whole payloads, so the Packets view decodes every packet and captures replay.
            options["packets"] = True
            options["payloads"] = True
            options["servers"] = "all"  # every server of a cluster (a lone one ignores it)
        if self.options.diagnostics and self.model.has_diagnostics:
            options["diagnostics"] = True
        if options:
            await self._send(eio, protocol.CMD_SUBSCRIBE, options)
        self.transport = eio.transport()
        self.attempt = 0
        self.last_error = ""
        self._set_state("connected", f"{self.base_url}{self.namespace} via {self.transport}")

    async def _quiet_close(self) -> None:
        if self._eio is not None:
            await _quiet_disconnect(self._eio)
            self._eio = None

    # -- running

    def start(self) -> asyncio.Task[None]:
        """Keep the connection alive in the background (reconnecting as needed)."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())
        return self._runner

    async def _run(self) -> None:
        while not self.is_closing():
            if self._eio is not None and self.state == "connected":
                await self._eio.wait()
                if self.is_closing():
                    break
                self.last_error = "connection lost"
                self._set_state("reconnecting", self.last_error)
                self._eio = None
            self.attempt += 1
            low, high = self.backoff
            delay = min(high, low * 2 ** min(self.attempt - 1, 8)) * random.uniform(0.8, 1.2)
            why = f" — {self.last_error}" if self.last_error else ""
            self._set_state("reconnecting", f"attempt {self.attempt} in {delay:.1f}s{why}")
            await asyncio.sleep(delay)
            if self.is_closing():
                break
            try:
                await self.connect()
            except AdminConnectError as exc:
                self.last_error = str(exc)
            except Exception as exc:  # a reconnect loop must never die on a surprise
                log.exception("reconnect failed")
                self.last_error = f"{type(exc).__name__}: {exc}"

    def is_closing(self) -> bool:
        """True once :meth:`close` was called. The reconnect loop asks again after every
        wait, since ``close`` may run while it sleeps (a method, so a type checker does not
        carry the loop condition's answer across those awaits)."""
        return self._closing

    async def close(self) -> None:
        """Disconnect and stop reconnecting."""
        self._closing = True
        if self._eio is not None:
            with contextlib.suppress(Exception):
                for part in encode(Packet(PacketType.DISCONNECT, self.namespace)):
                    await self._eio.send(part)
        await self._quiet_close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._set_state("closed")

    # -- receiving

    def _on_message(self, message: str | bytes) -> None:
        """Runs in engineio's order (a plain function, so its tasks cannot interleave)."""
        try:
            packet = self._decoder.feed(message)
        except ParseError as exc:
            log.warning("bad packet from server: %s", exc)
            return
        if packet is None or packet.nsp != self.namespace:
            return
        if packet.type in (PacketType.CONNECT, PacketType.CONNECT_ERROR):
            if self._ack is not None and not self._ack.done():
                self._ack.set_result(packet)
            return
        if packet.type in (PacketType.ACK, PacketType.BINARY_ACK):
            waiting = self._acks.pop(packet.id, None) if packet.id is not None else None
            if waiting is not None and not waiting.done():
                waiting.set_result(packet.data)
            return
        if packet.type == PacketType.DISCONNECT:
            self._set_state("reconnecting", "the server closed the admin namespace")
            if self._eio is not None:
                self._spawn(_quiet_disconnect(self._eio))
            return
        if packet.type in (PacketType.EVENT, PacketType.BINARY_EVENT) and packet.data:
            name, *args = packet.data
            if name == protocol.CONFIG and self._config is not None and not self._config.done():
                self._config.set_result(None)
            self.model.apply(str(name), args)
            if self.model.take_resync():
                self._spawn(self.command(protocol.CMD_RESYNC))
            self.on_change()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- commands (never acked, as in the official protocol)

    async def command(self, name: str, *args: Any) -> None:
        """Send one admin command; ``AdminConnectError`` if not connected."""
        if self._eio is None or self.state != "connected":
            raise AdminConnectError(f"not connected ({self.state})")
        await self._send(self._eio, name, *args)

    async def _send(
        self, eio: engineio.AsyncClient, name: str, *args: Any, ack_id: int | None = None
    ) -> None:
        packet = Packet(PacketType.EVENT, self.namespace, [name, *args], ack_id)
        for part in encode(packet):
            await eio.send(part)

    async def call(self, name: str, *args: Any, timeout: float) -> Any:
        """Send a command that is acknowledged (ours only) and return the ack's first
        argument; ``AdminConnectError`` when not connected or no ack came in time."""
        if self._eio is None or self.state != "connected":
            raise AdminConnectError(f"not connected ({self.state})")
        self._next_ack += 1
        ack_id = self._next_ack
        waiting: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = waiting
        try:
            await self._send(self._eio, name, *args, ack_id=ack_id)
            data = await asyncio.wait_for(waiting, timeout)
        except TimeoutError:
            raise AdminConnectError(f"{name}: the server did not answer in {timeout:g}s") from None
        finally:
            self._acks.pop(ack_id, None)
        return data[0] if isinstance(data, list) and data else None

    async def disconnect_socket(self, nsp: str, socket_id: str, close: bool = False) -> None:
        """``_disconnect``: ``close`` also closes the socket's whole Engine.IO client."""
        if not socket_id:
            raise ValueError("refusing to disconnect without a target: that hits the namespace")
        await self.command(protocol.CMD_DISCONNECT, nsp, close, socket_id)

    async def join(self, nsp: str, room: str, socket_id: str) -> None:
        if not socket_id or not room:
            raise ValueError("join needs a socket and a room")
        await self.command(protocol.CMD_JOIN, nsp, room, socket_id)

    async def leave(self, nsp: str, room: str, socket_id: str) -> None:
        if not socket_id or not room:
            raise ValueError("leave needs a socket and a room")
        await self.command(protocol.CMD_LEAVE, nsp, room, socket_id)

    async def emit(self, nsp: str, target: str, event: str, *args: Any) -> None:
        """Emit to a socket id or a room; an empty target is refused (whole namespace)."""
        if not target or not event:
            raise ValueError("emit needs a target (socket id or room) and an event name")
        await self.command(protocol.CMD_EMIT, nsp, target, event, *args)

    async def emit_with_ack(
        self, nsp: str, target: str, event: str, *args: Any, timeout: float = 5.0
    ) -> protocol.EmitAckReply:
        """``sioscope:emit_ack``: emit to a socket id or room and wait up to ``timeout``
        seconds for the targets' acks (servers that advertise ``EMIT_ACK_FEATURE``)."""
        if not target or not event:
            raise ValueError("emit needs a target (socket id or room) and an event name")
        reply = await self.call(
            protocol.CMD_EMIT_ACK,
            nsp,
            target,
            round(timeout * 1000),
            event,
            *args,
            timeout=timeout + 5.0,
        )
        if not isinstance(reply, dict) or not isinstance(reply.get("responses"), list):
            raise AdminConnectError(f"{protocol.CMD_EMIT_ACK}: unexpected answer {reply!r}")
        answer: protocol.EmitAckReply = {
            "responses": reply["responses"],
            "timedOut": bool(reply.get("timedOut")),
        }
        if isinstance(reply.get("error"), str):
            answer["error"] = reply["error"]
        return answer


async def _quiet_disconnect(eio: engineio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(eio.disconnect(abort=True), 2.0)


_NOT_SOCKETIO = "not a Socket.IO server at this path?"


def _reason(exc: BaseException) -> str:
    """One line for a failed Engine.IO connect (python-engineio passes a tuple of args)."""
    text = ""
    for arg in (*exc.args[::-1], exc):
        if isinstance(arg, BaseException) and arg is not exc:
            text = str(arg)
        elif isinstance(arg, str):
            text = arg
        if text:
            break
    text = (text or type(exc).__name__).splitlines()[0]
    status = re.match(r"Unexpected status code (\d+)", text)
    if status:
        return f"HTTP {status.group(1)} ({_NOT_SOCKETIO})"
    if text == "Unexpected response from server":
        return f"unexpected response ({_NOT_SOCKETIO})"
    if text == "Connection closed.":
        return f"the server closed the connection ({_NOT_SOCKETIO})"
    return text
