"""ClusterAdapter: the protocol the sharded and streams adapters share (Node's
``socket.io-adapter`` ``ClusterAdapter`` and ``ClusterAdapterWithHeartbeat``).

A subclass moves messages; this module decides what they say. Rules:

1. **Envelope.** Every message is ``{type, data?, uid, nsp}`` with ``type`` a
   :class:`MessageType` (Node's numbers) and ``uid`` 16 hex chars, fresh per adapter.
   A receiver drops its own uid and other namespaces; responses (8, 10, 11, 12) are
   matched to pending requests by ``data.requestId``.
2. **Hooks.** A subclass implements :meth:`ClusterAdapter.publish_many` (send messages
   in order, return each one's offset or ``None``), :meth:`ClusterAdapter.publish_response`
   (send a response to the requester) and :meth:`server_count`; it feeds what it reads
   to :meth:`on_message` (with the offset when the transport has one) and
   :meth:`on_response`.
3. **Order.** The in-memory surface is synchronous, so operations that publish go
   through one ordered outbox: each is published, then applied locally, in call order
   (Node applies a broadcast locally once its publish resolved, to know its offset).
   Everything queued at once is published as one batch (one round trip). A failed
   publish is logged and the local part still happens, without an offset (Node >=
   2.5.7).
4. **Offsets.** A broadcast gets its offset appended as its last argument when the
   receiving server has connection state recovery on, the packet is an EVENT without
   an ack id and it is not volatile (Node's ``addOffsetIfNecessary``).
5. **Timeouts and errors** are Node's: ``fetch_sockets`` waits ``flags.timeout`` or
   5 s, ``server_side_emit`` 5 s, and both fail with ``timeout reached: only N
   responses received out of M`` (heartbeat variant: ``timeout reached: missing N
   responses``), as ``TimeoutError``.
6. **Bad input is counted, never raised.** A message that is not the protocol's (not
   decodable, wrong shape, an unknown type, another or no namespace) is dropped and
   counted in ``adapter.stats.malformed``, a response to no pending request of ours
   (late, or foreign) in ``adapter.stats.unmatched_responses``: the same counters as
   the classic adapter's, so a foreign publisher on the channel cannot take the
   server down.
7. **Heartbeats** (:class:`ClusterAdapterWithHeartbeat`): ``INITIAL_HEARTBEAT`` on
   init, a ``HEARTBEAT`` after ``heartbeat_interval`` without publishing, a node
   forgotten after ``heartbeat_timeout`` of silence or on ``ADAPTER_CLOSE``; the server
   count is 1 + the live nodes, and requests wait for the nodes they know of.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import Adapter, BroadcastOptions
from sioscope.server.adapters.codec import CodecError, opts_from_wire, wire_opts
from sioscope.server.broadcast import RemoteSocket
from sioscope.server.parser import Packet, PacketType

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace

__all__ = [
    "ClusterAdapter",
    "ClusterAdapterWithHeartbeat",
    "ClusterStats",
    "MessageType",
    "random_id",
]

log = logging.getLogger("sioscope")

DEFAULT_TIMEOUT = 5.0  # seconds: Node's 5000 ms for fetchSockets and serverSideEmit


class MessageType(IntEnum):
    """Node's ``MessageType`` numbers (the wire's ``type``)."""

    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


RESPONSE_TYPES = frozenset(
    {
        MessageType.FETCH_SOCKETS_RESPONSE,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
        MessageType.BROADCAST_CLIENT_COUNT,
        MessageType.BROADCAST_ACK,
    }
)


_NEEDS_DATA = frozenset(
    {
        MessageType.BROADCAST,
        MessageType.SOCKETS_JOIN,
        MessageType.SOCKETS_LEAVE,
        MessageType.DISCONNECT_SOCKETS,
        MessageType.FETCH_SOCKETS,
        MessageType.SERVER_SIDE_EMIT,
    }
)


def random_id() -> str:
    """Node's ``randomBytes(8).toString("hex")``: adapter uids and request ids."""
    return os.urandom(8).hex()


def packet_to_wire(packet: Packet) -> dict[str, Any]:
    """The unencoded packet object Node's adapters carry: type 2, raw args, no nsp."""
    wire: dict[str, Any] = {"type": int(PacketType.EVENT), "data": list(packet.data)}
    if packet.id is not None:
        wire["id"] = packet.id
    return wire


def packet_from_wire(wire: Any, nsp: str) -> Packet:
    """A Packet from the wire object; :class:`CodecError` when it is not one."""
    if not isinstance(wire, dict) or not isinstance(wire.get("data"), list):
        raise CodecError("packet must be an object with a data array")
    ack_id = wire.get("id")
    return Packet(PacketType.EVENT, nsp, wire["data"], ack_id if isinstance(ack_id, int) else None)


def socket_details(socket: Any) -> dict[str, Any]:
    """What a FETCH_SOCKETS_RESPONSE says of a local socket (Node's shape)."""
    handshake = {k: v for k, v in socket.handshake.items() if k != "sessionStore"}
    return {
        "id": socket.id,
        "handshake": handshake,
        "rooms": list(socket.rooms),
        "data": socket.data,
    }


@dataclass(slots=True)
class ClusterStats:
    """What one namespace's adapter dropped (rule 6)."""

    malformed: int = 0
    """Messages on our channels or stream that are not of this protocol, or not ours."""
    unmatched_responses: int = 0
    """Responses for no pending request of ours (late, or foreign)."""


@dataclass(slots=True, eq=False)
class _Pending:
    """A request waiting for ``expected`` responses (fetch or server-side emit)."""

    type: MessageType
    expected: int
    done: Callable[[BaseException | None, list[Any]], None]
    responses: list[Any] = field(default_factory=list)
    current: int = 0
    missing: set[str] = field(default_factory=set)  # heartbeat variant: uids not yet heard
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True, eq=False)
class _AckRequest:
    client_count: Callable[[int], None]
    ack: Callable[..., None]


@dataclass(slots=True, eq=False)
class _Outgoing:
    message: dict[str, Any]
    then: Callable[[str | None], object] | None


class ClusterAdapter(Adapter):
    """The in-memory adapter plus Node's cluster protocol; see the module rules."""

    def __init__(self, nsp: Namespace) -> None:
        super().__init__(nsp)
        self.uid = random_id()
        #: What this adapter dropped (rule 6).
        self.stats = ClusterStats()
        self._closed = False
        self._requests: dict[str, _Pending] = {}
        self._ack_requests: dict[str, _AckRequest] = {}
        self._outbox: list[_Outgoing] = []
        self._flushing = False

    # -- hooks for the transport (rule 2) -----------------------------------------

    async def publish_many(self, messages: list[dict[str, Any]]) -> list[str | None]:
        """Send ``messages`` in order; return each one's offset (``None`` if none)."""
        raise NotImplementedError

    async def publish_response(self, requester_uid: str, response: dict[str, Any]) -> None:
        """Send ``response`` to the server ``requester_uid``."""
        raise NotImplementedError

    async def server_count(self) -> int:
        """How many servers share this namespace, this one included."""
        raise NotImplementedError

    # -- the ordered outbox (rule 3) ------------------------------------------------

    def _envelope(self, mtype: MessageType, data: dict[str, Any] | None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": int(mtype)}
        if data is not None:
            message["data"] = data
        message["uid"] = self.uid
        message["nsp"] = self.nsp.name
        return message

    def _publish(
        self,
        mtype: MessageType,
        data: dict[str, Any] | None,
        then: Callable[[str | None], object] | None = None,
    ) -> None:
        if self._closed:
            return
        self._outbox.append(_Outgoing(self._envelope(mtype, data), then))
        if not self._flushing:
            self._flushing = True
            self.tasks.spawn(self._flush(), name=f"cluster-outbox {self.nsp.name}")

    async def _flush(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                try:
                    offsets = await self.publish_many([item.message for item in batch])
                except Exception as err:  # Redis down: local delivery still happens
                    log.warning("cluster publish failed (%s: %s)", type(err).__name__, err)
                    offsets = [None] * len(batch)
                for item, offset in zip(batch, offsets, strict=True):
                    if item.then is not None:
                        try:
                            item.then(offset)
                        except Exception:
                            log.exception("local part of a cluster operation failed")
        finally:
            self._flushing = False
            if self._outbox:  # cancelled mid-batch: nothing more is sent
                self._outbox.clear()

    def _respond(self, requester_uid: str, mtype: MessageType, data: dict[str, Any]) -> None:
        response = self._envelope(mtype, data)

        async def send() -> None:
            try:
                await self.publish_response(requester_uid, response)
            except Exception as err:
                log.warning("cluster response failed (%s: %s)", type(err).__name__, err)

        self.tasks.spawn(send(), name=f"cluster-response {self.nsp.name}")

    # -- offsets (rule 4) -------------------------------------------------------------

    def _recovery_on(self) -> bool:
        return bool(getattr(self.nsp.server, "connection_state_recovery", None))

    def _add_offset(self, packet: Packet, opts: BroadcastOptions, offset: str | None) -> None:
        if (
            self._recovery_on()
            and packet.type == PacketType.EVENT
            and packet.id is None
            and "volatile" not in opts.flags
        ):
            packet.data.append(offset)

    # -- operations -------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        if opts.flags.get("local"):
            Adapter.broadcast(self, packet, opts)
            return
        data = {"packet": packet_to_wire(packet), "opts": wire_opts(opts)}

        def deliver(offset: str | None) -> None:
            self._add_offset(packet, opts, offset)
            Adapter.broadcast(self, packet, opts)

        self._publish(MessageType.BROADCAST, data, deliver)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count_callback: Callable[[int], None],
        ack: Callable[..., None],
    ) -> None:
        if not opts.flags.get("local"):
            request_id = random_id()
            self._ack_requests[request_id] = _AckRequest(client_count_callback, ack)
            data = {
                "packet": packet_to_wire(packet),
                "requestId": request_id,
                "opts": wire_opts(opts),
            }
            self._publish(MessageType.BROADCAST, data)
            delay = opts.flags.get("timeout")
            asyncio.get_running_loop().call_later(
                0.001 if delay is None else delay, self._ack_requests.pop, request_id, None
            )
        Adapter.broadcast_with_ack(self, packet, opts, client_count_callback, ack)

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        if opts.flags.get("local"):
            Adapter.add_sockets(self, opts, rooms)
            return
        self._publish(
            MessageType.SOCKETS_JOIN,
            {"opts": wire_opts(opts), "rooms": rooms},
            lambda _offset: Adapter.add_sockets(self, opts, rooms),
        )

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        if opts.flags.get("local"):
            Adapter.del_sockets(self, opts, rooms)
            return
        self._publish(
            MessageType.SOCKETS_LEAVE,
            {"opts": wire_opts(opts), "rooms": rooms},
            lambda _offset: Adapter.del_sockets(self, opts, rooms),
        )

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        if opts.flags.get("local"):
            Adapter.disconnect_sockets(self, opts, close)
            return
        self._publish(
            MessageType.DISCONNECT_SOCKETS,
            {"opts": wire_opts(opts), "close": close},
            lambda _offset: Adapter.disconnect_sockets(self, opts, close),
        )

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        local = await Adapter.fetch_sockets(self, opts)
        if opts.flags.get("local"):
            return local
        expected = await self._expected_responses()
        if expected <= 0:
            return local
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def done(err: BaseException | None, responses: list[Any]) -> None:
            if not future.done():
                if err is not None:
                    future.set_exception(err)
                else:
                    future.set_result(responses)

        request_id = self._start_request(
            MessageType.FETCH_SOCKETS, expected, opts.flags.get("timeout") or DEFAULT_TIMEOUT, done
        )
        self._requests[request_id].responses.extend(local)
        self._publish(MessageType.FETCH_SOCKETS, {"opts": wire_opts(opts), "requestId": request_id})
        return await future

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        if ack is None:
            self._publish(MessageType.SERVER_SIDE_EMIT, {"packet": packet})
            return

        async def with_ack() -> None:
            expected = await self._expected_responses()
            if expected <= 0:
                ack(None, [])
                return
            request_id = self._start_request(
                MessageType.SERVER_SIDE_EMIT, expected, DEFAULT_TIMEOUT, ack
            )
            self._publish(MessageType.SERVER_SIDE_EMIT, {"requestId": request_id, "packet": packet})

        self.tasks.spawn(with_ack(), name=f"server-side-emit {self.nsp.name}")

    # -- requests and their completion (rule 5) ------------------------------------

    async def _expected_responses(self) -> int:
        return await self.server_count() - 1

    def _start_request(
        self,
        mtype: MessageType,
        expected: int,
        timeout: float,
        done: Callable[[BaseException | None, list[Any]], None],
    ) -> str:
        request_id = random_id()
        pending = _Pending(mtype, expected, done)
        self._requests[request_id] = pending
        pending.timer = asyncio.get_running_loop().call_later(timeout, self._expire, request_id)
        return request_id

    def _timeout_error(self, pending: _Pending) -> TimeoutError:
        return TimeoutError(
            f"timeout reached: only {pending.current} responses received out of {pending.expected}"
        )

    def _expire(self, request_id: str) -> None:
        pending = self._requests.pop(request_id, None)
        if pending is not None:
            pending.done(self._timeout_error(pending), pending.responses)

    def _complete(self, request_id: str, pending: _Pending) -> None:
        self._requests.pop(request_id, None)
        if pending.timer is not None:
            pending.timer.cancel()
        pending.done(None, pending.responses)

    def _is_complete(self, pending: _Pending) -> bool:
        return pending.current >= pending.expected

    # -- receiving (rules 1 and 6) -------------------------------------------------

    def on_message(self, message: Any, offset: str | None = None) -> None:
        """Handle one message read from the cluster (never raises)."""
        try:
            self._on_message(message, offset)
        except (CodecError, KeyError, TypeError, ValueError, AttributeError) as err:
            self.stats.malformed += 1
            log.debug("ignoring a malformed cluster message (%s): %r", err, message)

    def _check_envelope(self, message: Any) -> tuple[MessageType | None, str] | None:
        if not isinstance(message, dict):
            raise CodecError("message is not an object")
        uid = message.get("uid")
        mtype = message.get("type")
        if not isinstance(mtype, int) or isinstance(mtype, bool):
            raise CodecError("message has no numeric type")
        if uid == self.uid:
            return None
        if message.get("nsp") != self.nsp.name:
            self.stats.malformed += 1
            return None
        try:
            return MessageType(mtype), uid if isinstance(uid, str) else ""
        except ValueError:
            return None, uid if isinstance(uid, str) else ""

    def _on_message(self, message: Any, offset: str | None) -> None:
        checked = self._check_envelope(message)
        if checked is None:
            return
        mtype, uid = checked
        if mtype is None:
            self.stats.malformed += 1
            return
        self._dispatch(mtype, uid, message, offset)

    def _dispatch(
        self, mtype: MessageType, uid: str, message: dict[str, Any], offset: str | None
    ) -> None:
        if mtype in RESPONSE_TYPES:
            self._on_response(message)
            return
        raw = message.get("data")
        if mtype in _NEEDS_DATA and not isinstance(raw, dict):
            raise CodecError(f"{mtype.name} without data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if mtype == MessageType.BROADCAST:
            packet = packet_from_wire(data["packet"], self.nsp.name)
            opts = opts_from_wire(data["opts"])
            request_id = data.get("requestId")
            if request_id is None:
                self._add_offset(packet, opts, offset)
                Adapter.broadcast(self, packet, opts)
            else:
                self._remote_broadcast_with_ack(uid, str(request_id), packet, opts)
        elif mtype == MessageType.SOCKETS_JOIN:
            Adapter.add_sockets(self, opts_from_wire(data["opts"]), _rooms(data["rooms"]))
        elif mtype == MessageType.SOCKETS_LEAVE:
            Adapter.del_sockets(self, opts_from_wire(data["opts"]), _rooms(data["rooms"]))
        elif mtype == MessageType.DISCONNECT_SOCKETS:
            Adapter.disconnect_sockets(self, opts_from_wire(data["opts"]), bool(data["close"]))
        elif mtype == MessageType.FETCH_SOCKETS:
            opts = opts_from_wire(data["opts"])
            request_id = str(data["requestId"])
            self.tasks.spawn(self._answer_fetch(uid, request_id, opts), name="fetch-sockets reply")
        elif mtype == MessageType.SERVER_SIDE_EMIT:
            self._remote_server_side_emit(uid, data)
        else:
            self._on_control(mtype, uid)

    def _on_control(self, mtype: MessageType, uid: str) -> None:
        """Heartbeat messages: nothing to do without heartbeats."""

    async def _answer_fetch(self, uid: str, request_id: str, opts: BroadcastOptions) -> None:
        sockets = await Adapter.fetch_sockets(self, opts)
        self._respond(
            uid,
            MessageType.FETCH_SOCKETS_RESPONSE,
            {"requestId": request_id, "sockets": [socket_details(s) for s in sockets]},
        )

    def _remote_broadcast_with_ack(
        self, uid: str, request_id: str, packet: Packet, opts: BroadcastOptions
    ) -> None:
        def client_count(count: int) -> None:
            self._respond(
                uid,
                MessageType.BROADCAST_CLIENT_COUNT,
                {"requestId": request_id, "clientCount": count},
            )

        def ack(*args: Any) -> None:
            self._respond(
                uid,
                MessageType.BROADCAST_ACK,
                {"requestId": request_id, "packet": args[0] if args else None},
            )

        Adapter.broadcast_with_ack(self, packet, opts, client_count, ack)

    def _remote_server_side_emit(self, uid: str, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("packet"), list):
            raise CodecError("SERVER_SIDE_EMIT without a packet array")
        args = list(data["packet"])
        if not args:
            raise CodecError("SERVER_SIDE_EMIT with an empty packet")
        request_id = data.get("requestId")
        if request_id is None:
            self.nsp.receive_server_side_emit(args)
            return
        called = False

        def reply(*reply_args: Any) -> None:
            nonlocal called
            if called:
                return
            called = True
            self._respond(
                uid,
                MessageType.SERVER_SIDE_EMIT_RESPONSE,
                {"requestId": request_id, "packet": reply_args[0] if reply_args else None},
            )

        self.nsp.receive_server_side_emit([*args, reply])

    def on_response(self, response: Any) -> None:
        """Handle one response read from this server's response channel (never raises)."""
        try:
            checked = self._check_envelope(response)
            if checked is None:
                return
            mtype, _uid = checked
            if mtype not in RESPONSE_TYPES:
                self.stats.malformed += 1
                return
            self._on_response(response)
        except (CodecError, KeyError, TypeError, ValueError, AttributeError) as err:
            self.stats.malformed += 1
            log.debug("ignoring a malformed cluster response (%s): %r", err, response)

    def _on_response(self, response: dict[str, Any]) -> None:
        mtype = response["type"]
        data = response["data"]
        if not isinstance(data, dict):
            raise CodecError("response without data")
        request_id = data["requestId"]
        ack_request = self._ack_requests.get(request_id)
        if ack_request is not None:
            if mtype == MessageType.BROADCAST_CLIENT_COUNT:
                ack_request.client_count(int(data["clientCount"]))
            elif mtype == MessageType.BROADCAST_ACK:
                ack_request.ack(data.get("packet"))
            return
        pending = self._requests.get(request_id)
        if pending is None:
            self.stats.unmatched_responses += 1
            return
        if (
            mtype == MessageType.FETCH_SOCKETS_RESPONSE
            and pending.type == MessageType.FETCH_SOCKETS
        ):
            sockets = data["sockets"]
            if not isinstance(sockets, list):
                raise CodecError("sockets must be a list")
            remote = [RemoteSocket(self, _details(d)) for d in sockets]
            pending.current += 1
            pending.responses.extend(remote)
        elif (
            mtype == MessageType.SERVER_SIDE_EMIT_RESPONSE
            and pending.type == MessageType.SERVER_SIDE_EMIT
        ):
            pending.current += 1
            pending.responses.append(data.get("packet"))
        else:
            self.stats.unmatched_responses += 1
            return
        self._on_responded(pending, response.get("uid"))
        if self._is_complete(pending):
            self._complete(request_id, pending)

    def _on_responded(self, pending: _Pending, uid: Any) -> None:
        """The heartbeat variant tracks which node answered."""

    # -- lifecycle ----------------------------------------------------------------

    async def close(self) -> None:
        """Stop the outbox and pending requests' timers, then the transport's part."""
        for pending in self._requests.values():
            if pending.timer is not None:
                pending.timer.cancel()
        self._requests.clear()
        self._ack_requests.clear()
        self._closed = True


def _rooms(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise CodecError("rooms must be a list")
    return value


def _details(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise CodecError("a fetched socket must be an object with an id")
    rooms = value.get("rooms")
    return {
        "id": value["id"],
        "handshake": value.get("handshake") or {},
        "rooms": rooms if isinstance(rooms, list) else [],
        "data": value.get("data"),
    }


class ClusterAdapterWithHeartbeat(ClusterAdapter):
    """A cluster adapter that counts servers by their heartbeats (rule 7)."""

    def __init__(
        self,
        nsp: Namespace,
        *,
        heartbeat_interval: float = 5.0,
        heartbeat_timeout: float = 10.0,
    ) -> None:
        super().__init__(nsp)
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.nodes: dict[str, float] = {}  # uid -> last heard (monotonic)
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self._cleanup_timer: asyncio.TimerHandle | None = None

    def init(self) -> None:
        super().init()
        self._publish(MessageType.INITIAL_HEARTBEAT, None)
        self._cleanup_timer = asyncio.get_running_loop().call_later(1.0, self._cleanup)

    def _cleanup(self) -> None:
        now = time.monotonic()
        for uid, seen in list(self.nodes.items()):
            if now - seen > self.heartbeat_timeout:
                self._remove_node(uid)
        self._cleanup_timer = asyncio.get_running_loop().call_later(1.0, self._cleanup)

    def _publish(
        self,
        mtype: MessageType,
        data: dict[str, Any] | None,
        then: Callable[[str | None], object] | None = None,
    ) -> None:
        super()._publish(mtype, data, then)
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
        if not self._closed:
            self._heartbeat_timer = asyncio.get_running_loop().call_later(
                self.heartbeat_interval, self._publish, MessageType.HEARTBEAT, None
            )

    def _on_message(self, message: Any, offset: str | None) -> None:
        checked = self._check_envelope(message)
        if checked is None:
            return
        mtype, uid = checked
        if uid and uid != "emitter":
            self.nodes[uid] = time.monotonic()
        if mtype is None:
            self.stats.malformed += 1
            return
        self._dispatch(mtype, uid, message, offset)

    def _on_control(self, mtype: MessageType, uid: str) -> None:
        if mtype == MessageType.INITIAL_HEARTBEAT:
            self._publish(MessageType.HEARTBEAT, None)
        elif mtype == MessageType.ADAPTER_CLOSE:
            self._remove_node(uid)

    def _remove_node(self, uid: str) -> None:
        self.nodes.pop(uid, None)
        for request_id, pending in list(self._requests.items()):
            pending.missing.discard(uid)
            if not pending.missing:
                self._complete(request_id, pending)

    async def server_count(self) -> int:
        return 1 + len(self.nodes)

    def _start_request(
        self,
        mtype: MessageType,
        expected: int,
        timeout: float,
        done: Callable[[BaseException | None, list[Any]], None],
    ) -> str:
        request_id = super()._start_request(mtype, expected, timeout, done)
        self._requests[request_id].missing = set(self.nodes)
        return request_id

    def _timeout_error(self, pending: _Pending) -> TimeoutError:
        return TimeoutError(f"timeout reached: missing {len(pending.missing)} responses")

    def _on_responded(self, pending: _Pending, uid: Any) -> None:
        pending.missing.discard(uid)

    def _is_complete(self, pending: _Pending) -> bool:
        return not pending.missing

    async def close(self) -> None:
        for timer in (self._heartbeat_timer, self._cleanup_timer):
            if timer is not None:
                timer.cancel()
        try:
            await self.publish_many([self._envelope(MessageType.ADAPTER_CLOSE, None)])
        except Exception as err:
            log.warning("ADAPTER_CLOSE not sent (%s: %s)", type(err).__name__, err)
        await super().close()
