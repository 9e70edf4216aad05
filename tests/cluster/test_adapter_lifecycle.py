"""Lifetime of the Redis adapters' connections and tasks, on a real redis-server: a
factory reused by a second Server after the first closed works again, and ``close()``
ends every task even when redis-py swallows the cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from sioscope.server import Server
from sioscope.server.adapters import redis_streams
from sioscope.server.adapters.redis import create_adapter
from sioscope.server.adapters.sharded import create_sharded_adapter
from tests.cluster.cluster_support import WAIT, Cluster, eventually, is_type
from tests.cluster.test_mixed_cluster import python_app
from tests.redis_server import RedisServer


def _factory(kind: str, redis: Redis) -> Callable[[Any], Any]:
    if kind == "classic":
        return create_adapter(redis)
    if kind == "sharded":
        return create_sharded_adapter(redis)
    return redis_streams.create_adapter(redis, block_time=0.5)


async def _count(io: Server, n: int) -> bool:
    return await io.of("/").adapter.server_count() == n


async def test_a_factory_reused_after_close_reads_again(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    """The sharded bus and the streams readers stop with their last namespace; a
    second Server made with the same factory afterwards subscribes and reads again:
    it is counted, answers fetch_sockets, and its client gets the other server's
    broadcasts (through the stream for the streams adapter)."""
    factory = _factory(kind, cluster.redis(redis_server.url))
    first = Server(adapter=factory)
    await asyncio.wait_for(first.of("/").adapter.ready(), WAIT)
    await first.close()

    second, url = await cluster.sioscope(python_app, adapter=factory)
    await asyncio.wait_for(second.of("/").adapter.ready(), WAIT)
    other, _ = await cluster.sioscope(
        python_app, adapter=_factory(kind, cluster.redis(redis_server.url))
    )
    await asyncio.wait_for(other.of("/").adapter.ready(), WAIT)
    clients = await cluster.clients()
    clients.open("c", url, auth={"rooms": ["r"]})
    sid = (await clients.connected("c"))["id"]
    assert await eventually(lambda: _count(other, 2))
    assert [s.id for s in await other.fetch_sockets()] == [sid]
    other.to("r").emit("hello", "from the other server")
    await clients.wait_for(is_type("event", name="c", event="hello"))


_SWALLOW = {"on": False}


def _swallowing(method: Any, empty: Any) -> Any:
    """``method`` as redis-py behaves at its worst: a cancellation that lands inside
    it is swallowed and the call returns as if nothing came (a timeout racing with
    the cancel, on Python 3.11). Only while ``_SWALLOW["on"]``, so that a failing test
    can still end the tasks it leaves."""

    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except asyncio.CancelledError:
            if not _SWALLOW["on"]:
                raise
            return empty

    return call


@pytest.mark.parametrize("adapter_kind", ["classic", "sharded", "streams"])
async def test_close_ends_every_task_even_if_redis_py_swallows_the_cancel(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, adapter_kind: str
) -> None:
    monkeypatch.setattr(PubSub, "get_message", _swallowing(PubSub.get_message, None))
    monkeypatch.setattr(Redis, "xread", _swallowing(Redis.xread, []))
    redis = Redis.from_url(redis_server.url)
    _SWALLOW["on"] = True
    try:
        io = Server(adapter=_factory(adapter_kind, redis))
        io.of("/other")
        await asyncio.wait_for(io.of("/").adapter.ready(), WAIT)
        await asyncio.sleep(0.1)  # the readers are inside get_message / xread now
        closing = asyncio.ensure_future(io.close())
        # not wait_for: cancelling a close() stuck on tasks that ignore cancels hangs too
        await asyncio.wait([closing], timeout=WAIT)
        current = asyncio.current_task()
        left = [t.get_name() for t in asyncio.all_tasks() if t is not current]
        assert closing.done() and left == [], f"close() left {left} running"
    finally:
        _SWALLOW["on"] = False
        await redis.aclose()


async def test_the_streams_reader_misses_nothing_between_two_reads(
    redis_server: RedisServer,
) -> None:
    """Node reads ``$`` again after each empty XREAD until its first entry, so an entry
    added between two of those reads is lost. Ours starts from a concrete id: with
    reads that time out every 10 ms, broadcasts spread over them and a loaded loop on
    the reading side (5 ms between two reads), every broadcast reaches the other
    server (reading ``$`` instead loses some of the first ones)."""
    redis_a, redis_b = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    xread = redis_b.xread

    async def loaded_xread(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.005)
        return await xread(*args, **kwargs)

    redis_b.xread = loaded_xread  # type: ignore[method-assign]  # the reader's loop, slowed
    a = Server(adapter=redis_streams.create_adapter(redis_a, block_time=0.01))
    b = Server(adapter=redis_streams.create_adapter(redis_b, block_time=0.01))
    try:
        for io in (a, b):
            await asyncio.wait_for(io.of("/").adapter.ready(), WAIT)
        seen: list[str] = []
        receiver = b.of("/").adapter
        original = receiver.on_entry

        def count(fields: Any, entry_id: str) -> None:
            seen.append(entry_id)
            original(fields, entry_id)

        receiver.on_entry = count
        for i in range(150):
            a.emit("tick", i)
            await asyncio.sleep(0.002 * (i % 7))
        await eventually(lambda: len(seen) >= 150)
        assert len(seen) == 150
    finally:
        for io in (a, b):
            await io.close()
        await redis_a.aclose()
        await redis_b.aclose()
