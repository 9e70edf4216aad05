"""The sharded Redis adapter: ``@socket.io/redis-adapter`` 8.3 ``createShardedAdapter``.

Redis 7 sharded pub/sub (``SPUBLISH`` / ``SSUBSCRIBE``) carrying the cluster protocol of
:mod:`sioscope.server.adapters.cluster`. Wire rules, Node's:

1. Channels: ``<prefix>#<nsp>#`` for everything, ``<prefix>#<nsp>#<uid>#`` for the
   responses to this server, and in the dynamic modes ``<prefix>#<nsp>#<room>#`` per
   room (subscribed on ``create-room``, dropped on ``delete-room``).
2. A broadcast without ack to exactly one room goes to that room's channel when the
   mode is ``"dynamic"`` and the room is not a socket id (20 chars), or the mode is
   ``"dynamic-private"``; everything else goes to the main channel. In ``"dynamic"``
   a server subscribes only public rooms (not its sockets' own id rooms).
3. Encoding: JSON, unless the type is 3, 8, 9, 10 or 12 and its data holds bytes;
   then msgpack. A reader tells them apart by the first byte (``{`` is JSON).
4. ``server_count()`` is ``PUBSUB SHARDNUMSUB`` of the main channel.
5. No connection state recovery (Node's sharded adapter has none): with recovery on,
   local clients get ``""`` as offset and remote ones ``None``, Node's quirk.

The modes must agree across the cluster, as in Node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from sioscope.server.adapters.bus import PubSubBus
from sioscope.server.adapters.cluster import ClusterAdapter, MessageType
from sioscope.server.adapters.codec import (
    CodecError,
    dumps_json,
    has_binary,
    loads_json,
    pack,
    unpack,
)

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace

__all__ = ["ShardedAdapter", "create_sharded_adapter", "decode_message", "encode_message"]

SubscriptionMode = Literal["static", "dynamic", "dynamic-private"]

_MSGPACK_TYPES = frozenset({3, 8, 9, 10, 12})


def encode_message(message: dict[str, Any]) -> bytes:
    """Rule 3: JSON, or msgpack when a type that may carry bytes does."""
    if message["type"] in _MSGPACK_TYPES and has_binary(message.get("data")):
        return pack(message)
    return dumps_json(message).encode()


def decode_message(payload: bytes) -> Any:
    """Rule 3, the other way; :class:`CodecError` when it is neither."""
    if not payload:
        raise CodecError("empty message")
    if payload[0] == 0x7B:
        return loads_json(payload)
    return unpack(payload)


def _looks_like_socket_id(room: Any) -> bool:
    return isinstance(room, str) and len(room) == 20


class ShardedAdapter(ClusterAdapter):
    """One namespace's side of the sharded adapter (see the module rules)."""

    def __init__(
        self,
        nsp: Namespace,
        redis: Any,
        bus: PubSubBus,
        channel_prefix: str,
        subscription_mode: SubscriptionMode,
    ) -> None:
        super().__init__(nsp)
        self.redis = redis
        self.bus = bus
        self.mode = subscription_mode
        self.channel = f"{channel_prefix}#{nsp.name}#"
        self.response_channel = f"{self.channel}{self.uid}#"
        self._room_channels: set[str] = set()

    def init(self) -> None:
        super().init()
        self.bus.acquire()
        self.bus.register(
            {self.channel: self._on_payload, self.response_channel: self._on_response_payload}
        )
        if self.mode != "static":
            self.on("create-room", self._on_create_room)
            self.on("delete-room", self._on_delete_room)

    async def ready(self) -> None:
        """Wait until Redis confirmed this namespace's subscriptions: from then on the
        server receives the cluster's messages and is counted by ``server_count``."""
        await self.bus.ready([self.channel, self.response_channel])

    def _room_channel(self, room: Any) -> str:
        return f"{self.channel}{room}#"

    def _on_create_room(self, room: Any) -> None:
        if self.mode == "dynamic" and room in self.sids:
            return  # a socket's own room: private, reached through the main channel
        channel = self._room_channel(room)
        self._room_channels.add(channel)
        self.bus.register({channel: self._on_payload})

    def _on_delete_room(self, room: Any) -> None:
        channel = self._room_channel(room)
        if channel in self._room_channels:
            self._room_channels.discard(channel)
            self.bus.unregister_soon([channel])

    # -- receiving ------------------------------------------------------------------

    def _on_payload(self, _channel: str, payload: bytes) -> None:
        try:
            message = decode_message(payload)
        except CodecError:
            self.stats.malformed += 1
            return
        self.on_message(message)

    def _on_response_payload(self, _channel: str, payload: bytes) -> None:
        try:
            message = decode_message(payload)
        except CodecError:
            self.stats.malformed += 1
            return
        self.on_response(message)

    # -- sending --------------------------------------------------------------------

    def _channel_of(self, message: dict[str, Any]) -> str:
        if message["type"] == MessageType.BROADCAST and self.mode != "static":
            data = message["data"]
            rooms = data["opts"]["rooms"]
            if "requestId" not in data and len(rooms) == 1:
                room = rooms[0]
                if self.mode == "dynamic-private" or not _looks_like_socket_id(room):
                    return self._room_channel(room)
        return self.channel

    async def publish_many(self, messages: list[dict[str, Any]]) -> list[str | None]:
        pipe = self.redis.pipeline(transaction=False)
        for message in messages:
            pipe.spublish(self._channel_of(message), encode_message(message))
        await pipe.execute()
        return [""] * len(messages)  # Node's doPublish resolves "" (rule 5)

    async def publish_response(self, requester_uid: str, response: dict[str, Any]) -> None:
        channel = f"{self.channel}{requester_uid}#"
        await self.redis.spublish(channel, encode_message(response))

    async def server_count(self) -> int:
        reply = await self.redis.pubsub_shardnumsub(self.channel)
        return sum(int(count) for _channel, count in reply)

    async def close(self) -> None:
        await super().close()
        channels = [self.channel, self.response_channel, *self._room_channels]
        await self.bus.unregister(channels)
        await self.bus.release()


def create_sharded_adapter(
    redis: Any,
    *,
    channel_prefix: str = "socket.io",
    subscription_mode: SubscriptionMode = "dynamic",
) -> Callable[[Namespace], ShardedAdapter]:
    """An adapter factory for ``Server(adapter=...)``, Node's ``createShardedAdapter``.

    ``redis`` is a ``redis.asyncio.Redis`` (redis-py >= 8, Redis >= 7); the adapter
    opens the one pub/sub connection it needs from it, shared by every namespace.
    """
    if subscription_mode not in ("static", "dynamic", "dynamic-private"):
        raise ValueError(
            f"subscription_mode must be 'static', 'dynamic' or 'dynamic-private', "
            f"got {subscription_mode!r}"
        )
    bus = PubSubBus(redis, sharded=True)

    def factory(nsp: Namespace) -> ShardedAdapter:
        return ShardedAdapter(nsp, redis, bus, channel_prefix, subscription_mode)

    return factory
