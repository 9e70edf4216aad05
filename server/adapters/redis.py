"""The Redis pub/sub adapter: Node's ``@socket.io/redis-adapter`` 8.3 ``createAdapter``.

``create_adapter(redis)`` gives the ``adapter`` factory of a :class:`~sioscope.server.Server`;
each namespace then shares its rooms and fan-out with every server (Node or sioscope)
on that Redis under the same ``key``. The wire is :mod:`.redis_protocol`'s; this module
drives it. The rules:

1. **One link per ``create_adapter`` call** (:class:`RedisLink`): one subscriber
   connection for every namespace (Node's one ``subClient``, and ``PUBSUB NUMSUB``
   counts connections, so a server is counted once) and one publishing task that
   writes queued messages in call order, batched in pipelines. Messages are handled
   one at a time in arrival order, so a broadcast then a ``disconnect_sockets`` reach
   every server in that order.
2. **Commands are synchronous**, as in Node: a broadcast is queued for Redis and then
   delivered locally at once; ``sockets_join`` / ``sockets_leave`` /
   ``disconnect_sockets`` are only published, and each server (this one included)
   applies them when the message comes back from Redis, so their local effect keeps
   its place among this server's other publishes. ``local`` operations stay local.
3. **Requests** (``fetch_sockets``, ``server_side_emit`` with an ack, ``all_rooms``)
   count the servers with ``PUBSUB NUMSUB`` on the request channel, wait for that many
   answers and fail after ``requests_timeout`` seconds with Node's error texts
   (``TimeoutError``). Broadcast acks collect every server's client count and every
   client's reply (the operator's ``timeout()`` bounds them).
4. **Faults**: a message that is not of this protocol (garbage, another adapter's
   format, a wrong shape) is dropped and counted in ``adapter.stats.malformed``; a
   response that names no request of ours on our own channel is dropped and counted
   in ``stats.unmatched_responses``; nothing a peer sends raises out of the reader.
   When Redis goes away the link reconnects (Node's back-off: 50 ms more per attempt,
   at most 500 ms) and subscribes again; what is published meanwhile waits in a
   bounded queue, and what was in flight when the connection broke is lost, as with
   Node's client. A request made while Redis is away fails with the Redis error.
5. The client must return bytes (``decode_responses=False``): the payloads are
   msgpack. The Server must be created inside a running event loop (the link starts
   its tasks when the first namespace is created).

``create_sharded_adapter`` (Node's ``createShardedAdapter``) is importable from here
too, as in Node's package; it lives in :mod:`.sharded`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import Adapter, BroadcastOptions, Command
from sioscope.server.adapters.bus import PubSubBus, reconnect_delay, still_running
from sioscope.server.adapters.codec import dumps_json
from sioscope.server.adapters.redis_protocol import (
    NOTEPACK,
    Channels,
    MalformedMessage,
    Parser,
    Request,
    RequestType,
    ack_broadcast_request,
    all_rooms_request,
    all_rooms_response,
    broadcast_ack_response,
    broadcast_message,
    client_count_response,
    decode_broadcast,
    decode_request,
    decode_response,
    disconnect_request,
    fetch_request,
    fetch_response,
    join_request,
    leave_request,
    legacy_done_response,
    new_uid,
    response_id,
    server_side_emit_request,
    server_side_emit_response,
    sockets_response,
)
from sioscope.server.adapters.sharded import create_sharded_adapter
from sioscope.server.broadcast import RemoteSocket
from sioscope.server.parser import Packet, PacketType
from sioscope.server.tasks import TaskSet

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from sioscope.server.namespace import Namespace
    from sioscope.server.socket import Socket

__all__ = [
    "AdapterStats",
    "LinkStats",
    "Parser",
    "RedisAdapter",
    "RedisLink",
    "create_adapter",
    "create_sharded_adapter",
]

log = logging.getLogger("sioscope")

MAX_QUEUED = 10_000
"""Messages kept for Redis while it is away; past that the oldest are dropped."""

_BATCH = 512
_NO_TIMEOUT_DELAY = 0.001  # Node's setTimeout(fn, undefined)

Handler = Callable[[str, bytes], None]


@dataclass(slots=True)
class LinkStats:
    """What the link went through (rule 4)."""

    reconnects: int = 0
    """Subscriber connections re-established after Redis went away."""
    dropped_publishes: int = 0
    """Messages lost: in flight when the connection broke, or past ``MAX_QUEUED``."""
    published: int = 0


@dataclass(slots=True)
class AdapterStats:
    """What one namespace's adapter dropped (rule 4)."""

    malformed: int = 0
    """Messages on our channels that are not of this protocol."""
    unmatched_responses: int = 0
    """Responses on our own response channel for no request of ours (late or foreign)."""


class RedisLink:
    """The Redis connections of one ``create_adapter`` call, shared by its namespaces
    (rule 1): the subscriber is a :class:`PubSubBus` (which owns the one reconnect
    loop), the publisher a writer task of the link's own. The link closes when its
    last adapter does, and starts again for a new one (a factory reused by a second
    Server after the first closed)."""

    def __init__(self, redis: Redis) -> None:
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError(
                "create_adapter needs a Redis client with decode_responses=False "
                "(the adapter's payloads are binary)"
            )
        self.redis = redis
        self.stats = LinkStats()
        self.bus = PubSubBus(redis, sharded=False)
        self.bus.on_reconnect = self._on_reconnect
        self.tasks = TaskSet()
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._users = 0

    def _on_reconnect(self) -> None:
        self.stats.reconnects += 1

    # -- subscriptions ---------------------------------------------------------

    def register(self, channels: dict[str, Handler], patterns: dict[str, Handler]) -> None:
        """Route ``channels`` and ``patterns`` to their handlers and subscribe them."""
        self._users += 1
        self._closing = False
        self.bus.acquire()
        self.bus.register(channels, patterns)
        if self._writer is None:
            if self.tasks.closed:
                self.tasks = TaskSet()
            self._writer = self.tasks.spawn(self._write(), name="redis adapter writer")

    async def unregister(self, channels: Iterable[str], patterns: Iterable[str]) -> None:
        """Stop routing ``channels`` and ``patterns``; the last user closes the link."""
        await self.bus.unregister(channels, patterns)
        await self.bus.release()
        self._users -= 1
        if self._users <= 0:
            await self.close()

    async def ready(self, names: Iterable[str]) -> None:
        """Wait until Redis confirmed the subscription of each of ``names``."""
        await self.bus.ready(names)

    # -- publishing ------------------------------------------------------------

    def publish(self, channel: str, payload: bytes) -> None:
        """Queue ``payload`` for ``channel``; written in call order (rule 1)."""
        queue = self._queue
        if len(queue) >= MAX_QUEUED:
            queue.popleft()
            self.stats.dropped_publishes += 1
        queue.append((channel, payload))
        self._wake.set()

    async def _write(self) -> None:
        queue = self._queue
        while not self._closing:
            still_running()
            while not queue:
                self._wake.clear()
                await self._wake.wait()
                if self.closing():
                    return
            batch = [queue.popleft() for _ in range(min(len(queue), _BATCH))]
            pipe = self.redis.pipeline(transaction=False)
            for channel, payload in batch:
                pipe.publish(channel, payload)
            try:
                await pipe.execute()
                self.stats.published += len(batch)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                still_running()
                self.stats.dropped_publishes += len(batch)
                log.warning("redis adapter: %d messages lost (%s)", len(batch), err)
                await self._wait_for_redis()

    async def _wait_for_redis(self) -> None:
        failures = 0
        while True:
            still_running()
            failures += 1
            await asyncio.sleep(reconnect_delay(failures))
            try:
                await self.redis.ping()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                continue

    async def numsub(self, channel: str) -> int:
        """How many connections subscribe ``channel`` (``PUBSUB NUMSUB``)."""
        reply = await self.redis.pubsub_numsub(channel)
        return int(reply[0][1]) if reply else 0

    def closing(self) -> bool:
        """True once :meth:`close` began."""
        return self._closing

    async def close(self) -> None:
        """Cancel the writer and close the subscriber connection."""
        self._closing = True
        self._users = 0
        self._wake.set()
        tasks, self._writer = self.tasks, None
        await tasks.close()
        await self.bus.close()


# -- pending requests --------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    """A request waiting for other servers' answers (Node's ``requests`` entries)."""

    type: RequestType
    num_sub: int
    timer: asyncio.TimerHandle | None = None
    msg_count: int = 1
    sockets: list[Any] = field(default_factory=list)
    rooms: dict[Any, None] = field(default_factory=dict)
    responses: list[Any] = field(default_factory=list)
    future: asyncio.Future[Any] | None = None
    callback: Callable[..., None] | None = None


@dataclass(slots=True)
class _AckRequest:
    client_count: Callable[[int], None]
    ack: Callable[..., None]
    timer: asyncio.TimerHandle | None = None


class RedisAdapter(Adapter):
    """One namespace's adapter on a :class:`RedisLink` (see the module rules)."""

    def __init__(
        self,
        nsp: Namespace,
        link: RedisLink,
        *,
        key: str,
        requests_timeout: float,
        publish_on_specific_response_channel: bool,
        parser: Parser,
    ) -> None:
        super().__init__(nsp)
        self.link = link
        self.uid = new_uid()
        self.channels = Channels(key, nsp.name, self.uid)
        self.requests_timeout = requests_timeout
        self.publish_on_specific_response_channel = publish_on_specific_response_channel
        self.parser = parser
        self.stats = AdapterStats()
        self._requests: dict[str, _Pending] = {}
        self._ack_requests: dict[str, _AckRequest] = {}
        # Our own broadcasts come back through the pattern: recognised by their first
        # bytes (msgpack [uid, ...]) without decoding them, when the parser is ours.
        uid_bytes = self.uid.encode()
        self._own_prefix = (
            b"\x93" + bytes([0xA0 | len(uid_bytes)]) + uid_bytes if parser is NOTEPACK else None
        )
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------

    def _subscriptions(self) -> tuple[dict[str, Handler], dict[str, Handler]]:
        channels = self.channels
        return (
            {
                channels.request: self._on_request,
                channels.response: self._on_response,
                channels.own_response: self._on_own_response,
            },
            {channels.pattern: self._on_broadcast},
        )

    def init(self) -> Command:
        """Subscribe this namespace's channels on the link (rule 5: needs a loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "the Redis adapter needs a running event loop: create the Server "
                "inside a coroutine (e.g. your async main)"
            ) from None
        channels, patterns = self._subscriptions()
        self.link.register(channels, patterns)
        return None

    async def ready(self) -> None:
        """Wait until Redis confirmed this namespace's subscriptions: from then on the
        server receives the cluster's messages and is counted by ``server_count``."""
        channels, patterns = self._subscriptions()
        await self.link.ready([*channels, *patterns])

    async def close(self) -> None:
        """Unsubscribe; pending requests fail, pending ack broadcasts are forgotten."""
        if self._closed:
            return
        self._closed = True
        for pending in self._requests.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if pending.future is not None and not pending.future.done():
                pending.future.set_exception(RuntimeError("the adapter was closed"))
        self._requests.clear()
        for ack_request in self._ack_requests.values():
            if ack_request.timer is not None:
                ack_request.timer.cancel()
        self._ack_requests.clear()
        channels, patterns = self._subscriptions()
        await self.link.unregister(channels, patterns)

    async def server_count(self) -> int:
        """Servers subscribed to this namespace's request channel (``PUBSUB NUMSUB``)."""
        return await self.link.numsub(self.channels.request)

    # -- commands (rule 2) ---------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> Command:
        """Publish to the cluster (unless ``local``), then deliver locally."""
        if not opts.flags.get("local"):
            channels = self.channels
            self.link.publish(
                channels.broadcast_to(opts.rooms),
                broadcast_message(self.parser, self.uid, self.nsp.name, packet.data, opts),
            )
        return super().broadcast(packet, opts)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count_callback: Callable[[int], None],
        ack: Callable[..., None],
    ) -> Command:
        """Ask every server to broadcast and count; deliver locally (rule 3)."""
        if not opts.flags.get("local"):
            request_id = new_uid()
            self.link.publish(
                self.channels.request,
                ack_broadcast_request(
                    self.parser, self.uid, request_id, self.nsp.name, packet.data, opts
                ),
            )
            pending = self._ack_requests[request_id] = _AckRequest(client_count_callback, ack)
            delay = opts.flags.get("timeout")
            pending.timer = asyncio.get_running_loop().call_later(
                _NO_TIMEOUT_DELAY if delay is None else delay,
                self._ack_requests.pop,
                request_id,
                None,
            )
        return super().broadcast_with_ack(packet, opts, client_count_callback, ack)

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> Command:
        """Make the matching sockets of every server join ``rooms`` (rule 2)."""
        if opts.flags.get("local"):
            return super().add_sockets(opts, rooms)
        self.link.publish(self.channels.request, join_request(self.uid, opts, list(rooms)))
        return None

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> Command:
        """Make the matching sockets of every server leave ``rooms`` (rule 2)."""
        if opts.flags.get("local"):
            return super().del_sockets(opts, rooms)
        self.link.publish(self.channels.request, leave_request(self.uid, opts, list(rooms)))
        return None

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> Command:
        """Disconnect the matching sockets of every server (rule 2)."""
        if opts.flags.get("local"):
            return super().disconnect_sockets(opts, close)
        self.link.publish(self.channels.request, disconnect_request(self.uid, opts, close))
        return None

    def server_side_emit(
        self, packet: list[Any], ack: Callable[..., None] | None = None
    ) -> Command:
        """Send ``[event, *args]`` to the other servers; with ``ack``, collect one
        reply per server: ``ack(None, replies)``, or ``ack(TimeoutError, partial)``."""
        if ack is None:
            self.link.publish(
                self.channels.request, server_side_emit_request(self.uid, packet, None)
            )
            return None
        return self._server_side_emit_with_ack(packet, ack)

    async def _server_side_emit_with_ack(self, packet: list[Any], ack: Callable[..., None]) -> None:
        try:
            num_sub = await self.server_count() - 1  # not ourselves
        except Exception as err:
            ack(err, [])
            return
        if num_sub <= 0:
            ack(None, [])
            return
        request_id = new_uid()
        pending = self._requests[request_id] = _Pending(
            RequestType.SERVER_SIDE_EMIT, num_sub, callback=ack
        )
        pending.timer = asyncio.get_running_loop().call_later(
            self.requests_timeout, self._expire_server_side_emit, request_id
        )
        self.link.publish(
            self.channels.request, server_side_emit_request(self.uid, packet, request_id)
        )

    def _expire_server_side_emit(self, request_id: str) -> None:
        pending = self._requests.pop(request_id, None)
        if pending is None or pending.callback is None:
            return
        got, wanted = len(pending.responses), pending.num_sub
        pending.callback(
            TimeoutError(f"timeout reached: only {got} responses received out of {wanted}"),
            pending.responses,
        )

    # -- queries (rule 3) ----------------------------------------------------------

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Any]:
        """Matching sockets of every server: local ``Socket`` objects first, then
        :class:`RemoteSocket` snapshots in the order the answers came."""
        local: list[Any] = list(self.select(opts))
        if opts.flags.get("local"):
            return local
        num_sub = await self.server_count()
        if num_sub <= 1:
            return local
        sockets: list[Any] = await self._request(
            RequestType.REMOTE_FETCH,
            num_sub,
            lambda request_id: fetch_request(self.uid, request_id, opts),
            "timeout reached while waiting for fetchSockets response",
            sockets=local,
        )
        return sockets

    async def all_rooms(self) -> set[Any]:
        """Every room of every server (Node's ``allRooms``)."""
        local = dict.fromkeys(self.rooms)
        num_sub = await self.server_count()
        if num_sub <= 1:
            return set(local)
        rooms: dict[Any, None] = await self._request(
            RequestType.ALL_ROOMS,
            num_sub,
            lambda request_id: all_rooms_request(self.uid, request_id),
            "timeout reached while waiting for allRooms response",
            rooms=local,
        )
        return set(rooms)

    async def _request(
        self,
        kind: RequestType,
        num_sub: int,
        message: Callable[[str], bytes],
        timeout_text: str,
        **state: Any,
    ) -> Any:
        loop = asyncio.get_running_loop()
        request_id = new_uid()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._requests[request_id] = _Pending(kind, num_sub, future=future, **state)

        def expire() -> None:
            if self._requests.pop(request_id, None) is not None and not future.done():
                future.set_exception(TimeoutError(timeout_text))

        pending.timer = loop.call_later(self.requests_timeout, expire)
        self.link.publish(self.channels.request, message(request_id))
        try:
            return await future
        finally:
            pending.timer.cancel()
            self._requests.pop(request_id, None)

    # -- receiving -------------------------------------------------------------------

    def _has_room(self, room: str) -> bool:
        rooms: dict[Any, Any] = self.rooms
        if room in rooms:
            return True
        try:  # Node: a numeric-looking channel room also matches a numeric room
            number = float(room)
        except ValueError:
            return False
        return math.isfinite(number) and number in rooms

    def _on_broadcast(self, channel: str, payload: bytes) -> None:
        room = self.channels.room_of(channel)
        if room is None or (room and not self._has_room(room)):
            return  # another namespace's, or a room nobody here is in: not decoded
        prefix = self._own_prefix
        if prefix is not None and payload.startswith(prefix):
            return  # our own broadcast, back from Redis
        try:
            message = decode_broadcast(self.parser, payload)
        except MalformedMessage as err:
            self._malformed("broadcast", err)
            return
        if message.uid == self.uid or message.nsp != self.nsp.name:
            return
        super().broadcast(Packet(PacketType.EVENT, message.nsp, message.data), message.opts)

    def _malformed(self, what: str, err: Exception) -> None:
        self.stats.malformed += 1
        log.debug("redis adapter %s: ignoring a malformed %s (%s)", self.nsp.name, what, err)

    def _publish_response(self, request: Request, payload: bytes) -> None:
        self.link.publish(
            self.channels.response_to(request.uid, self.publish_on_specific_response_channel),
            payload,
        )

    def _on_request(self, channel: str, payload: bytes) -> None:
        try:
            request = decode_request(self.parser, payload)
            self._handle_request(request)
        except MalformedMessage as err:
            self._malformed("request", err)

    def _handle_request(self, request: Request) -> None:
        kind, request_id = request.type, request.request_id
        if kind is RequestType.SOCKETS:
            if request_id is None or request_id in self._requests:
                return
            rooms = tuple(dict.fromkeys(request.rooms()))
            ids = [socket.id for socket in self.select(BroadcastOptions(rooms=rooms))]
            self._publish_response(request, sockets_response(request_id, ids))
        elif kind is RequestType.ALL_ROOMS:
            if request_id is None or request_id in self._requests:
                return
            self._publish_response(request, all_rooms_response(request_id, list(self.rooms)))
        elif kind in (
            RequestType.REMOTE_JOIN,
            RequestType.REMOTE_LEAVE,
            RequestType.REMOTE_DISCONNECT,
        ):
            self._remote_socket_command(request)
        elif kind is RequestType.REMOTE_FETCH:
            if request_id is None or request_id in self._requests:
                return
            sids = self.sids
            sockets = [_describe(s, sids.get(s.id)) for s in self.select(request.opts)]
            self._publish_response(request, _fetch_answer(request_id, sockets))
        elif kind is RequestType.SERVER_SIDE_EMIT:
            if request.uid == self.uid:
                return
            self._remote_server_side_emit(request)
        elif kind is RequestType.BROADCAST:
            if request_id is None or request_id in self._ack_requests:
                return
            self._remote_ack_broadcast(request, request_id)

    def _remote_socket_command(self, request: Request) -> None:
        kind, body = request.type, request.body
        if "opts" in body:
            opts = request.opts
            opts = BroadcastOptions(opts.rooms, opts.except_rooms)  # no flags, as Node
            if kind is RequestType.REMOTE_JOIN:
                super().add_sockets(opts, request.rooms())
            elif kind is RequestType.REMOTE_LEAVE:
                super().del_sockets(opts, request.rooms())
            else:
                super().disconnect_sockets(opts, bool(body.get("close")))
            return
        # The 7.x form, one socket by id, answered with {requestId}.
        socket = self.nsp.sockets.get(body.get("sid"))  # type: ignore[arg-type]
        if socket is None:
            return
        if kind is RequestType.REMOTE_JOIN:
            socket.join(body.get("room"))  # type: ignore[arg-type]
        elif kind is RequestType.REMOTE_LEAVE:
            socket.leave(body.get("room"))  # type: ignore[arg-type]
        else:
            socket.disconnect(bool(body.get("close")))
        if request.request_id is not None:
            self._publish_response(request, legacy_done_response(request.request_id))

    def _remote_server_side_emit(self, request: Request) -> None:
        data = request.body.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            raise MalformedMessage("a serverSideEmit carries [event, ...args]")
        request_id = request.request_id
        if request_id is None:
            self.nsp.receive_server_side_emit(list(data))
            return
        called = False
        link, channel = self.link, self.channels.response

        def reply(*args: Any) -> None:
            nonlocal called
            if called:
                return
            called = True
            # Always the common channel, whatever the option (Node's quirk).
            link.publish(
                channel,
                server_side_emit_response(request_id, args[0] if args else None, bool(args)),
            )

        self.nsp.receive_server_side_emit([*data, reply])

    def _remote_ack_broadcast(self, request: Request, request_id: str) -> None:
        packet = request.body.get("packet")
        if not isinstance(packet, dict) or not isinstance(packet.get("data"), list):
            raise MalformedMessage("an ack broadcast carries a packet with data")
        opts = request.opts
        opts = BroadcastOptions(opts.rooms, opts.except_rooms)  # flags dropped, as Node
        parser = self.parser

        def on_count(count: int) -> None:
            self._publish_response(request, client_count_response(request_id, count))

        def on_ack(*reply: Any) -> None:
            self._publish_response(request, broadcast_ack_response(parser, request_id, reply))

        super().broadcast_with_ack(
            Packet(PacketType.EVENT, self.nsp.name, packet["data"]), opts, on_count, on_ack
        )

    def _on_own_response(self, channel: str, payload: bytes) -> None:
        self._on_response(channel, payload, own=True)

    def _on_response(self, channel: str, payload: bytes, own: bool = False) -> None:
        known = response_id(payload)
        if known is not None and known not in self._requests and known not in self._ack_requests:
            if own:
                self.stats.unmatched_responses += 1
            return  # another server's answer (or a late one): not decoded
        try:
            response = decode_response(self.parser, payload)
        except MalformedMessage as err:
            self._malformed("response", err)
            return
        request_id, body = response.request_id, response.body
        ack_request = self._ack_requests.get(request_id)
        if ack_request is not None:
            if response.type == RequestType.BROADCAST_CLIENT_COUNT:
                count = body.get("clientCount")
                if isinstance(count, int) and not isinstance(count, bool):
                    ack_request.client_count(count)
            elif response.type == RequestType.BROADCAST_ACK:
                ack_request.ack(*((body["packet"],) if "packet" in body else ()))
            return
        pending = self._requests.get(request_id)
        if pending is None:
            if own:
                self.stats.unmatched_responses += 1
            return
        kind = pending.type
        if kind in (RequestType.REMOTE_FETCH, RequestType.ALL_ROOMS):
            pending.msg_count += 1
            if kind is RequestType.REMOTE_FETCH:
                sockets = body.get("sockets")
                if not isinstance(sockets, list):
                    return
                for details in sockets:
                    remote = self._remote_socket(details)
                    if remote is not None:
                        pending.sockets.append(remote)
                result: Any = pending.sockets
            else:
                rooms = body.get("rooms")
                if not isinstance(rooms, list):
                    return
                for room in rooms:
                    if isinstance(room, (str, int, float)):
                        pending.rooms[room] = None
                result = pending.rooms
            if pending.msg_count == pending.num_sub:
                self._requests.pop(request_id, None)
                if pending.future is not None and not pending.future.done():
                    pending.future.set_result(result)
        elif kind is RequestType.SERVER_SIDE_EMIT:
            pending.responses.append(body.get("data"))
            if len(pending.responses) == pending.num_sub:
                self._requests.pop(request_id, None)
                if pending.timer is not None:
                    pending.timer.cancel()
                if pending.callback is not None:
                    pending.callback(None, pending.responses)

    def _remote_socket(self, details: Any) -> RemoteSocket | None:
        if not isinstance(details, dict) or not isinstance(details.get("id"), str):
            self._malformed("fetchSockets answer", ValueError("a socket without an id"))
            return None
        handshake, rooms = details.get("handshake"), details.get("rooms")
        if not isinstance(handshake, dict):
            handshake = {}
        if not isinstance(rooms, list):
            rooms = []
        elif not all(type(room) is str for room in rooms):
            rooms = [room for room in rooms if isinstance(room, (str, int, float))]
        return RemoteSocket(
            self,
            {
                "id": details["id"],
                "handshake": handshake,
                "rooms": rooms,
                "data": details.get("data"),
            },
        )


def _describe(socket: Socket, rooms: dict[str, None] | None) -> dict[str, Any]:
    """A local socket as a fetchSockets answer carries it (Node's shape), with its
    rooms from the adapter (join order)."""
    return {
        "id": socket.id,
        "handshake": socket.handshake,
        "rooms": list(rooms or ()),
        "data": socket.data,
    }


def _fetch_answer(request_id: str, sockets: list[dict[str, Any]]) -> bytes:
    """The fetchSockets answer; a ``socket.data`` that JSON cannot carry travels as
    ``null`` (with a warning) rather than leaving the requester to time out."""
    try:
        return fetch_response(request_id, sockets)
    except (TypeError, ValueError):
        for details in sockets:
            try:
                dumps_json(details["data"])
            except (TypeError, ValueError):
                log.warning("socket %s: its data cannot be sent to other servers", details["id"])
                details["data"] = None
        return fetch_response(request_id, sockets)


def create_adapter(
    redis: Redis,
    *,
    key: str = "socket.io",
    requests_timeout: float = 5.0,
    publish_on_specific_response_channel: bool = False,
    parser: Parser | None = None,
) -> Callable[[Namespace], RedisAdapter]:
    """The ``adapter`` of a Server sharing its namespaces over Redis pub/sub with every
    server (Node's ``@socket.io/redis-adapter`` 8.3 ``createAdapter`` or sioscope) on
    the same Redis and ``key``.

    Args:
        redis: a ``redis.asyncio.Redis`` with ``decode_responses=False``; the adapter
            opens its own subscriber connection from it.
        key: the channel prefix (Node's ``key``).
        requests_timeout: seconds to wait for other servers' answers (Node's
            ``requestsTimeout``, in ms there).
        publish_on_specific_response_channel: answer on the requester's own channel
            instead of the common one (Node's option of the same name).
        parser: an object with ``encode(obj) -> bytes`` and ``decode(bytes)``, replacing
            msgpack; every server of the cluster must use the same.
    """
    if requests_timeout <= 0:
        raise ValueError(f"requests_timeout must be > 0 seconds, got {requests_timeout!r}")
    link = RedisLink(redis)
    chosen: Parser = parser if parser is not None else NOTEPACK

    def factory(nsp: Namespace) -> RedisAdapter:
        return RedisAdapter(
            nsp,
            link,
            key=key,
            requests_timeout=requests_timeout,
            publish_on_specific_response_channel=publish_on_specific_response_channel,
            parser=chosen,
        )

    return factory
