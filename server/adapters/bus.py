"""One Redis pub/sub connection shared by every namespace of one adapter factory.

Node's adapters subscribe every namespace on the one ``subClient``; so does this, for
the same reason: ``PUBSUB NUMSUB`` / ``SHARDNUMSUB`` count *connections*, so a second
connection per server would count that server twice. Rules:

1. :meth:`PubSubBus.subscribe` maps a channel to a synchronous handler; the reader
   task calls handlers in arrival order (the cluster protocol's order guarantee) and
   never lets a handler's exception stop it.
2. ``sharded=True`` uses ``SSUBSCRIBE`` / ``SUNSUBSCRIBE`` (Redis 7 sharded pub/sub).
3. A lost connection (Redis restarted) is retried with a capped back-off; redis-py's
   PubSub re-subscribes every channel when it reconnects. What was published while
   the connection was down is lost, as it is for Node's adapters.
4. The bus closes its connection when the last subscriber namespace releases it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sioscope.server.tasks import TaskSet

__all__ = ["PubSubBus"]

log = logging.getLogger("sioscope")

Handler = Callable[[bytes], None]

_BACKOFF_MAX = 2.0


class PubSubBus:
    """Channels of one pub/sub connection, each with its handler (see module rules)."""

    def __init__(self, redis: Any, *, sharded: bool) -> None:
        self.redis = redis
        self.sharded = sharded
        self.handlers: dict[str, Handler] = {}
        self.tasks = TaskSet()
        #: How many times the connection was lost and re-established (rule 3).
        self.reconnects = 0
        self._pubsub: Any = None
        self._users = 0
        self._wake = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def acquire(self) -> None:
        """A namespace adapter starts using the bus."""
        self._users += 1
        if self._reader is None:
            self._pubsub = self.redis.pubsub()
            self._reader = self.tasks.spawn(self._read(), name="redis pub/sub reader")

    async def release(self) -> None:
        """A namespace adapter is done; the last one closes the connection (rule 4)."""
        self._users -= 1
        if self._users > 0:
            return
        await self.tasks.close()
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except Exception as err:  # Redis already gone: nothing left to close
                log.debug("pub/sub close: %s", err)

    async def subscribe(self, *channels: str, handler: Handler) -> None:
        """Deliver each of ``channels``' messages to ``handler`` (rule 1)."""
        for channel in channels:
            self.handlers[channel] = handler
        async with self._lock:
            try:
                if self.sharded:
                    await self._pubsub.ssubscribe(*channels)
                else:
                    await self._pubsub.subscribe(*channels)
            except Exception as err:  # retried by the reader's re-subscription (rule 3)
                log.warning("subscribe %s failed (%s: %s)", channels, type(err).__name__, err)
                self._remember(channels)
        self._wake.set()

    def _remember(self, channels: tuple[str, ...]) -> None:
        """Record channels redis-py could not send, so its reconnect subscribes them."""
        table = self._pubsub.shard_channels if self.sharded else self._pubsub.channels
        for channel in channels:
            table[self._pubsub.encoder.encode(channel)] = None

    async def unsubscribe(self, *channels: str) -> None:
        """Stop delivering ``channels``."""
        for channel in channels:
            self.handlers.pop(channel, None)
        async with self._lock:
            try:
                if self.sharded:
                    await self._pubsub.sunsubscribe(*channels)
                else:
                    await self._pubsub.unsubscribe(*channels)
            except Exception as err:
                log.debug("unsubscribe %s failed: %s", channels, err)

    async def _read(self) -> None:
        backoff = 0.05
        lost = False
        while True:
            if not self._pubsub.subscribed:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # connection lost: retry (rule 3)
                if not lost:
                    log.warning("redis pub/sub connection lost (%s: %s)", type(err).__name__, err)
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            if lost:
                lost = False
                backoff = 0.05
                self.reconnects += 1
                log.info("redis pub/sub connection back")
            if message is None or message["type"] not in ("message", "smessage"):
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode("utf-8", "replace")
            handler = self.handlers.get(channel)
            if handler is None:
                continue
            data = message["data"]
            try:
                handler(data if isinstance(data, bytes) else str(data).encode())
            except Exception:
                log.exception("cluster message handler failed on %s", channel)
