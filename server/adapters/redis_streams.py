"""The Redis streams adapter: ``@socket.io/redis-streams-adapter`` 0.3.1, with connection
state recovery across servers.

The cluster protocol of :mod:`sioscope.server.adapters.cluster` over a Redis stream
plus pub/sub, Node's wire:

1. **What goes where.** Broadcasts without ack, joins, leaves and disconnects are
   ``XADD``-ed to the namespace's stream (``MAXLEN ~ max_len``); the entry id is the
   broadcast's **offset**, the same on every server. Broadcasts with an ack,
   ``FETCH_SOCKETS`` and ``SERVER_SIDE_EMIT`` are ``PUBLISH``-ed (msgpack) on
   ``<prefix>#<nsp>#``; responses on the requester's ``<prefix>#<nsp>#<uid>#``.
2. **Entry fields**, all strings in this order: ``uid``, ``nsp``, ``type`` (a decimal),
   ``data`` (``JSON.stringify``, or base64 of msgpack when a type that may carry bytes
   does and ``only_plaintext`` is off).
3. **Reading**: one blocking ``XREAD`` loop per stream, shared by the namespaces of
   one factory, from the id of the stream's last entry when it starts (what was added
   before is not seen, as with Node's ``$``; but Node reads ``$`` again after each
   empty read until its first entry, so an entry added between two of those reads is
   missed, and ours reads on from a concrete id, missing nothing); an error is logged
   and the loop goes on from the last id read, so a Redis restart loses nothing that
   stayed in the stream.
4. **Stream per namespace**: ``stream_name`` when ``stream_count`` is 1, else
   ``stream_name + "-" + (hashCode(nsp) % stream_count)`` with Java's int32
   ``hashCode`` over UTF-16 units and JavaScript's signed ``%`` (``/notifications``
   lands on ``socket.io--3`` with 4 streams, a stream Node never polls: kept as is).
5. **Sessions.** ``persist_session`` is ``SET <prefix><pid> base64(msgpack({sid, pid,
   rooms, data})) PX <max disconnection ms>``; ``restore_session`` checks the offset
   (``^\\d+-\\d+$``), takes the session once (``MULTI GET DEL``), checks the offset is
   still in the stream, then replays up to 100 ``XRANGE`` calls of this namespace's
   broadcasts that the session's rooms match (volatile and acked ones included, as
   Node does), each with its entry id appended. So a client disconnected from any
   server of the cluster, Node or sioscope, recovers on any other.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sioscope.server.adapters.bus import PubSubBus, still_running
from sioscope.server.adapters.cluster import ClusterAdapter, MessageType
from sioscope.server.adapters.codec import (
    CodecError,
    dumps_json,
    has_binary,
    loads_json,
    pack,
    unpack,
)
from sioscope.server.tasks import TaskSet

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace

__all__ = ["RedisStreamsAdapter", "create_adapter", "hash_code"]

log = logging.getLogger("sioscope")

_MAY_CONTAIN_BINARY = frozenset({3, 8, 9, 10, 12})
_OFFSET = re.compile(r"^[0-9]+-[0-9]+$")
_MAX_XRANGE_CALLS = 100


def hash_code(text: str) -> int:
    """Java's ``String#hashCode`` over UTF-16 code units, with int32 wrap-around."""
    h = 0
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = (h * 31 + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def stream_of(nsp: str, stream_name: str, stream_count: int) -> str:
    """Rule 4."""
    if stream_count == 1:
        return stream_name
    return f"{stream_name}-{int(math.fmod(hash_code(nsp), stream_count))}"


def _is_ephemeral(message: dict[str, Any]) -> bool:
    mtype = message["type"]
    if mtype == MessageType.BROADCAST:
        return "requestId" in message.get("data", {})
    return mtype in (MessageType.SERVER_SIDE_EMIT, MessageType.FETCH_SOCKETS)


def encode_entry(message: dict[str, Any], *, only_plaintext: bool = False) -> dict[str, str]:
    """Rule 2: the stream entry of ``message``."""
    fields = {"uid": message["uid"], "nsp": message["nsp"], "type": str(message["type"])}
    if "data" in message:
        data = message["data"]
        if not only_plaintext and message["type"] in _MAY_CONTAIN_BINARY and has_binary(data):
            fields["data"] = base64.b64encode(pack(data)).decode()
        else:
            fields["data"] = dumps_json(data)
    return fields


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_entry(fields: dict[Any, Any]) -> dict[str, Any]:
    """Rule 2, the other way; :class:`CodecError` when it is not an adapter entry."""
    try:
        plain = {_text(k): _text(v) for k, v in fields.items()}
        message: dict[str, Any] = {
            "uid": plain.get("uid"),
            "nsp": plain.get("nsp"),
            "type": int(plain["type"]),
        }
    except (KeyError, ValueError, UnicodeDecodeError) as err:
        raise CodecError(f"not an adapter stream entry: {err}") from None
    data = plain.get("data")
    if data:
        if data.startswith("{"):
            message["data"] = loads_json(data)
        else:
            try:
                message["data"] = unpack(base64.b64decode(data, validate=True))
            except ValueError as err:
                raise CodecError(f"bad base64 data: {err}") from None
    return message


def _entries(reply: Any) -> list[tuple[str, dict[Any, Any]]]:
    """``[(id, fields)]`` from an XREAD reply in RESP2 or RESP3 shape, or an XRANGE one."""
    if not reply:
        return []
    if isinstance(reply, dict):  # RESP3 XREAD: {stream: [[id, fields], ...]}
        reply = next(iter(reply.values()))
    elif (
        isinstance(reply[0], (list, tuple)) and len(reply[0]) == 2 and isinstance(reply[0][1], list)
    ):  # RESP2 XREAD: [[stream, [[id, fields], ...]]]
        reply = reply[0][1]
    return [(_text(entry_id), fields or {}) for entry_id, fields in reply]


def _should_include(rooms: list[Any], opts: dict[str, Any]) -> bool:
    targets = opts.get("rooms") or []
    excepted = opts.get("except") or []
    included = not targets or any(room in targets for room in rooms)
    return included and all(room not in excepted for room in rooms)


def _next_offset(offset: str) -> str:
    timestamp, sequence = offset.split("-")
    return f"{timestamp}-{int(sequence) + 1}"


class _Streams:
    """What one ``create_adapter`` call shares: the pub/sub bus and the stream readers
    (rule 3). The readers stop with the last namespace and start again with the next
    one (a factory reused by a second Server after the first closed)."""

    def __init__(self, redis: Any, options: dict[str, Any]) -> None:
        self.redis = redis
        self.options = options
        self.bus = PubSubBus(redis, sharded=options["use_sharded_pubsub"])
        self.adapters: dict[str, RedisStreamsAdapter] = {}
        self.tasks = TaskSet()
        #: Read errors seen by the stream loops (Redis gone, ...), for tests and admins.
        self.read_errors = 0
        self._reading: dict[str, asyncio.Event] = {}

    def streams(self) -> list[str]:
        """The streams this factory reads (rule 4)."""
        count = self.options["stream_count"]
        name = self.options["stream_name"]
        return [name] if count == 1 else [f"{name}-{i}" for i in range(count)]

    def add(self, adapter: RedisStreamsAdapter) -> None:
        if not self.adapters:
            if self.tasks.closed:
                self.tasks = TaskSet()
            for stream in self.streams():
                self._reading[stream] = asyncio.Event()
                self.tasks.spawn(self._poll(stream), name=f"xread {stream}")
        self.adapters[adapter.nsp.name] = adapter

    async def reading(self) -> None:
        """Wait until every stream reader knows where it starts: from then on nothing
        added to the streams is missed."""
        for event in list(self._reading.values()):
            await event.wait()

    async def remove(self, adapter: RedisStreamsAdapter) -> None:
        if self.adapters.get(adapter.nsp.name) is adapter:
            del self.adapters[adapter.nsp.name]
        if not self.adapters:
            await self.tasks.close()

    async def _last_id(self, stream: str) -> str:
        """The id of the stream's last entry, or ``0-0``: where reading starts (rule 3:
        a concrete id, where Node's ``$`` misses what comes between two reads)."""
        last = _entries(await self.redis.xrevrange(stream, "+", "-", count=1))
        return last[0][0] if last else "0-0"

    async def _poll(self, stream: str) -> None:
        offset: str | None = None
        block_ms = int(self.options["block_time"] * 1000)
        count = self.options["read_count"]
        backoff = 0.05
        while True:
            try:
                if offset is None:
                    offset = await self._last_id(stream)
                    still_running()
                    self._reading[stream].set()
                reply = await self.redis.xread({stream: offset}, count=count, block=block_ms)
                still_running()
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as err:  # rule 3: logged, and the loop goes on
                still_running()
                self.read_errors += 1
                if self.read_errors == 1 or backoff == 0.05:
                    log.warning("reading %s failed (%s: %s)", stream, type(err).__name__, err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            for entry_id, fields in _entries(reply):
                offset = entry_id
                nsp = fields.get(b"nsp", fields.get("nsp"))
                adapter = self.adapters.get(_text(nsp)) if nsp else None
                if adapter is not None:
                    adapter.on_entry(fields, entry_id)


class RedisStreamsAdapter(ClusterAdapter):
    """One namespace's side of the streams adapter (see the module rules)."""

    def __init__(self, nsp: Namespace, shared: _Streams) -> None:
        super().__init__(nsp)
        self.shared = shared
        self.redis = shared.redis
        options = shared.options
        self.options = options
        self.stream = stream_of(nsp.name, options["stream_name"], options["stream_count"])
        self.public_channel = f"{options['channel_prefix']}#{nsp.name}#"
        self.private_channel = f"{self.public_channel}{self.uid}#"
        self._persisting: set[asyncio.Task[None]] = set()

    def init(self) -> None:
        super().init()
        self.shared.add(self)
        self.shared.bus.acquire()
        self.shared.bus.register(
            {self.public_channel: self._on_payload, self.private_channel: self._on_payload}
        )

    async def ready(self) -> None:
        """Wait until Redis confirmed this namespace's subscriptions and the stream
        readers started: from then on the server receives the cluster's messages and is
        counted by ``server_count``."""
        await self.shared.bus.ready([self.public_channel, self.private_channel])
        await self.shared.reading()

    # -- receiving ------------------------------------------------------------------

    def _on_payload(self, _channel: str, payload: bytes) -> None:
        try:
            message = unpack(payload)
        except CodecError:
            self.stats.malformed += 1
            return
        self.on_message(message)

    def on_entry(self, fields: dict[Any, Any], entry_id: str) -> None:
        """One stream entry of this namespace (called by the reader, in stream order)."""
        try:
            message = decode_entry(fields)
        except CodecError:
            self.stats.malformed += 1
            return
        self.on_message(message, entry_id)

    # -- sending --------------------------------------------------------------------

    def _publish_command(self, pipe: Any, message: dict[str, Any]) -> None:
        if _is_ephemeral(message):
            if self.options["use_sharded_pubsub"]:
                pipe.spublish(self.public_channel, pack(message))
            else:
                pipe.publish(self.public_channel, pack(message))
        else:
            pipe.xadd(
                self.stream,
                encode_entry(message, only_plaintext=self.options["only_plaintext"]),
                maxlen=self.options["max_len"],
                approximate=True,
            )

    async def publish_many(self, messages: list[dict[str, Any]]) -> list[str | None]:
        pipe = self.redis.pipeline(transaction=False)
        for message in messages:
            self._publish_command(pipe, message)
        replies = await pipe.execute()
        return [
            "" if _is_ephemeral(message) else _text(reply)
            for message, reply in zip(messages, replies, strict=True)
        ]

    async def publish_response(self, requester_uid: str, response: dict[str, Any]) -> None:
        channel = f"{self.public_channel}{requester_uid}#"
        if self.options["use_sharded_pubsub"]:
            await self.redis.spublish(channel, pack(response))
        else:
            await self.redis.publish(channel, pack(response))

    async def server_count(self) -> int:
        if self.options["use_sharded_pubsub"]:
            reply = await self.redis.pubsub_shardnumsub(self.public_channel)
        else:
            reply = await self.redis.pubsub_numsub(self.public_channel)
        return sum(int(count) for _channel, count in reply)

    # -- connection state recovery (rule 5) --------------------------------------------

    def _session_key(self, pid: str) -> str:
        return f"{self.options['session_key_prefix']}{pid}"

    def persist_session(self, session: dict[str, Any]) -> None:
        recovery = self.nsp.server.connection_state_recovery or {}
        ms = int(recovery.get("max_disconnection_duration", 120) * 1000)
        value = base64.b64encode(pack(session)).decode()

        async def store() -> None:
            try:
                await self.redis.set(self._session_key(session["pid"]), value, px=ms)
            except Exception as err:
                log.warning("session not persisted (%s: %s)", type(err).__name__, err)

        task = asyncio.ensure_future(store())  # awaited by close(): a shutdown keeps it
        self._persisting.add(task)
        task.add_done_callback(self._persisting.discard)

    async def restore_session(self, pid: str, offset: str) -> dict[str, Any] | None:
        if not _OFFSET.match(offset):
            return None
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(self._session_key(pid))
        pipe.delete(self._session_key(pid))
        raw, _deleted = await pipe.execute()
        exists = await self.redis.xrange(self.stream, offset, offset)
        if not raw or not exists:
            return None
        try:
            session = unpack(base64.b64decode(raw))
        except (CodecError, ValueError):
            self.stats.malformed += 1
            return None
        if not isinstance(session, dict) or not isinstance(session.get("rooms"), list):
            self.stats.malformed += 1
            return None
        rooms: list[Any] = session["rooms"]
        missed: list[list[Any]] = []
        for _ in range(_MAX_XRANGE_CALLS):
            entries = _entries(await self.redis.xrange(self.stream, _next_offset(offset), "+"))
            if not entries:
                break
            for entry_id, fields in entries:
                offset = entry_id
                plain = {_text(k): v for k, v in fields.items()}
                if (
                    _text(plain.get("nsp", b"")) != self.nsp.name
                    or _text(plain.get("type", b"")) != "3"
                ):
                    continue
                try:
                    data = decode_entry(fields)["data"]
                    packet, opts = data["packet"], data["opts"]
                    if _should_include(rooms, opts):
                        missed.append([*packet["data"], entry_id])
                except (CodecError, KeyError, TypeError):
                    self.stats.malformed += 1
        session["missed_packets"] = missed
        return session

    async def close(self) -> None:
        if self._persisting:
            await asyncio.wait(self._persisting, timeout=5.0)
        await super().close()
        await self.shared.bus.unregister([self.public_channel, self.private_channel])
        await self.shared.bus.release()
        await self.shared.remove(self)


def create_adapter(
    redis: Any,
    *,
    stream_name: str = "socket.io",
    stream_count: int = 1,
    channel_prefix: str = "socket.io",
    use_sharded_pubsub: bool = False,
    max_len: int = 10_000,
    read_count: int = 100,
    block_time: float = 5.0,
    session_key_prefix: str = "sio:session:",
    only_plaintext: bool = False,
) -> Callable[[Namespace], RedisStreamsAdapter]:
    """An adapter factory for ``Server(adapter=...)``, Node's streams ``createAdapter``.

    ``redis`` is a ``redis.asyncio.Redis``; the blocking ``XREAD`` of each stream holds
    one of its pool's connections (``block_time`` seconds at most), and one pub/sub
    connection serves every namespace. Options are Node's, in seconds where Node has ms.
    """
    if stream_count < 1:
        raise ValueError(f"stream_count must be >= 1, got {stream_count!r}")
    shared = _Streams(
        redis,
        {
            "stream_name": stream_name,
            "stream_count": stream_count,
            "channel_prefix": channel_prefix,
            "use_sharded_pubsub": use_sharded_pubsub,
            "max_len": max_len,
            "read_count": read_count,
            "block_time": block_time,
            "session_key_prefix": session_key_prefix,
            "only_plaintext": only_plaintext,
        },
    )

    def factory(nsp: Namespace) -> RedisStreamsAdapter:
        return RedisStreamsAdapter(nsp, shared)

    return factory
