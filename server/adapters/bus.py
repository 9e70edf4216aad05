"""One Redis pub/sub connection shared by every namespace of one adapter factory: the
one subscriber (and its one reconnect loop) of all three Redis adapters.

Node's adapters subscribe every namespace on the one ``subClient``; so does this, for
the same reason: ``PUBSUB NUMSUB`` / ``SHARDNUMSUB`` count *connections*, so a second
connection per server would count that server twice. Rules:

1. :meth:`PubSubBus.register` maps channels (and, unsharded, patterns) to synchronous
   handlers ``handler(channel, payload)``; the one reader task calls them in arrival
   order (the protocols' order guarantee) and never lets a handler's exception stop it.
2. ``sharded=True`` uses ``SSUBSCRIBE`` / ``SUNSUBSCRIBE`` (Redis 7 sharded pub/sub).
3. **Reconnecting** is this loop's alone: when the connection breaks (Redis restarted,
   a subscribe failed) the reader drops it, opens a new one and subscribes everything
   registered, with Node's back-off (50 ms more per attempt, at most 500 ms). What was
   published while it was down is lost, as it is for Node's adapters.
   :meth:`PubSubBus.ready` waits until Redis confirmed given subscriptions.
4. **Lifetime.** :meth:`acquire` / :meth:`release` count the namespaces using the bus;
   the last release cancels the reader and closes the connection, and a later
   :meth:`acquire` (a factory reused by a second Server) starts a fresh reader.
5. **Cancellation is never lost.** redis-py may swallow a ``CancelledError`` that
   lands inside one of its calls (its own timeouts race with it on Python 3.11); every
   loop of the adapters calls :func:`still_running` after each Redis call, so
   ``close()`` always ends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sioscope.server.tasks import TaskSet

__all__ = ["PubSubBus", "reconnect_delay", "still_running"]

log = logging.getLogger("sioscope")

Handler = Callable[[str, bytes], None]

_MESSAGE_KINDS = frozenset({"message", "smessage", "pmessage"})
_CONFIRMATION_KINDS = frozenset({"subscribe", "ssubscribe", "psubscribe"})


def still_running() -> None:
    """Raise ``CancelledError`` if this task was asked to stop (rule 5)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def reconnect_delay(failures: int) -> float:
    """Node's redis client back-off: 50 ms more per failed attempt, at most 500 ms."""
    return min(failures * 0.05, 0.5)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class PubSubBus:
    """Channels of one pub/sub connection, each with its handler (see module rules)."""

    def __init__(self, redis: Any, *, sharded: bool) -> None:
        self.redis = redis
        self.sharded = sharded
        self.channels: dict[str, Handler] = {}
        self.patterns: dict[str, Handler] = {}
        self.tasks = TaskSet()
        #: How many times the connection was lost and re-established (rule 3).
        self.reconnects = 0
        #: Called after each re-established connection (the classic link counts them).
        self.on_reconnect: Callable[[], None] | None = None
        self._pubsub: Any = None
        self._users = 0
        self._reader: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._confirmed: set[str] = set()
        self._confirmation = asyncio.Event()
        self._resync = False

    # -- lifetime (rule 4) ------------------------------------------------------------

    def acquire(self) -> None:
        """A namespace adapter starts using the bus; the first one starts the reader."""
        self._users += 1
        if self._reader is None:
            if self.tasks.closed:
                self.tasks = TaskSet()
            self._reader = self.tasks.spawn(self._read(), name="redis pub/sub reader")

    async def release(self) -> None:
        """A namespace adapter is done; the last one closes the connection."""
        self._users -= 1
        if self._users > 0:
            return
        self._users = 0
        await self.close()

    async def close(self) -> None:
        """Cancel the reader (it closes its connection as it ends)."""
        self._users = 0
        tasks, self._reader = self.tasks, None
        await tasks.close()

    @property
    def running(self) -> bool:
        """True while the reader task is alive."""
        return self._reader is not None and not self._reader.done()

    # -- subscriptions (rule 1) -------------------------------------------------------

    def register(
        self, channels: dict[str, Handler], patterns: dict[str, Handler] | None = None
    ) -> None:
        """Route ``channels`` and ``patterns`` to their handlers and subscribe them."""
        if patterns and self.sharded:
            raise ValueError("sharded pub/sub has no patterns")
        self.channels.update(channels)
        if patterns:
            self.patterns.update(patterns)
        if self._pubsub is not None:
            self.tasks.spawn(
                self._subscribe(self._pubsub, list(channels), list(patterns or ())),
                name="redis subscribe",
            )
        self._wake.set()

    async def unregister(self, channels: Iterable[str], patterns: Iterable[str] = ()) -> None:
        """Stop routing ``channels`` and ``patterns`` and unsubscribe them."""
        channels, patterns = self._forget(channels, patterns)
        await self._unsubscribe(channels, patterns)

    def unregister_soon(self, channels: Iterable[str]) -> None:
        """:meth:`unregister` from synchronous code: the routes go at once (so a
        channel registered again right after keeps its handler), the UNSUBSCRIBE in a
        task of the bus, sent before any SUBSCRIBE registered after this call."""
        forgotten, _ = self._forget(channels, ())
        if self._pubsub is not None:
            self.tasks.spawn(self._unsubscribe(forgotten, []), name="redis unsubscribe")

    def _forget(
        self, channels: Iterable[str], patterns: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        channels, patterns = list(channels), list(patterns)
        for channel in channels:
            self.channels.pop(channel, None)
            self._confirmed.discard(channel)
        for pattern in patterns:
            self.patterns.pop(pattern, None)
            self._confirmed.discard(pattern)
        return channels, patterns

    async def _unsubscribe(self, channels: list[str], patterns: list[str]) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            if channels:
                if self.sharded:
                    await pubsub.sunsubscribe(*channels)
                else:
                    await pubsub.unsubscribe(*channels)
            if patterns:
                await pubsub.punsubscribe(*patterns)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # Redis away: the next connection subscribes what is left
            log.debug("unsubscribe %s failed: %s", channels or patterns, err)
            self._resync = True

    async def ready(self, names: Iterable[str]) -> None:
        """Wait until Redis confirmed the subscription of each of ``names`` (rule 3)."""
        wanted = set(names)
        while not wanted <= self._confirmed:
            self._confirmation.clear()
            await self._confirmation.wait()

    async def _subscribe(self, pubsub: Any, channels: list[str], patterns: list[str]) -> None:
        """SUBSCRIBE what was registered while connected; a failure makes the reader
        start over with every subscription (rule 3), so it is logged, not raised."""
        try:
            await self._send_subscribe(pubsub, channels, patterns)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the reader starts over with every subscription
            log.debug("subscribe %s failed: %s", channels or patterns, err)
            self._resync = True

    # -- the reader (rule 3) ----------------------------------------------------------

    async def _read(self) -> None:
        failures = 0
        while True:
            while not self.channels and not self.patterns:
                self._wake.clear()
                await self._wake.wait()
            pubsub = self.redis.pubsub()
            self._pubsub = pubsub
            try:
                await self._subscribe_all(pubsub)
                still_running()
                if failures:
                    self.reconnects += 1
                    if self.on_reconnect is not None:
                        self.on_reconnect()
                    log.warning("redis pub/sub: reconnected")
                failures = 0
                await self._pump(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                still_running()
                if failures == 0:
                    log.warning("redis pub/sub: connection lost (%s: %s)", type(err).__name__, err)
                failures += 1
            finally:
                if self._pubsub is pubsub:
                    self._pubsub = None
                self._confirmed.clear()
                await _close_quietly(pubsub)
            if failures:
                await asyncio.sleep(reconnect_delay(failures))

    async def _subscribe_all(self, pubsub: Any) -> None:
        self._confirmed.clear()
        self._resync = False
        await self._send_subscribe(pubsub, list(self.channels), list(self.patterns))

    async def _send_subscribe(self, pubsub: Any, channels: list[str], patterns: list[str]) -> None:
        """The one place that picks SSUBSCRIBE (sharded) or SUBSCRIBE, then PSUBSCRIBE."""
        if channels:
            if self.sharded:
                await pubsub.ssubscribe(*channels)
            else:
                await pubsub.subscribe(*channels)
        if patterns:
            await pubsub.psubscribe(*patterns)

    async def _pump(self, pubsub: Any) -> None:
        """Read messages until a subscription failed (resync) or the connection breaks."""
        while True:
            message = await pubsub.get_message(timeout=1.0)
            still_running()
            if message is None:
                if self._resync:
                    return  # start over: a new connection with every subscription
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = _text(message.get("type"))
        if kind in _CONFIRMATION_KINDS:
            self._confirmed.add(_text(message["channel"]))
            self._confirmation.set()
            return
        if kind not in _MESSAGE_KINDS:
            return
        channel = _text(message["channel"])
        if kind == "pmessage":
            handler = self.patterns.get(_text(message["pattern"]))
        else:
            handler = self.channels.get(channel)
        if handler is None:
            return
        data = message["data"]
        try:
            handler(channel, data if isinstance(data, bytes) else str(data).encode())
        except Exception:  # a bug of ours must not stop the reader (rule 1)
            log.exception("redis pub/sub: handling a message on %s failed", channel)


async def _close_quietly(pubsub: Any) -> None:
    try:
        await pubsub.aclose()
    except Exception as err:  # Redis already gone: nothing left to close
        log.debug("pub/sub close: %s", err)
