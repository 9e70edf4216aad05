"""Faults of the cluster adapters on a real redis-server: a server that stops answering
or dies mid-request, garbage and foreign messages on the channels, replies for unknown
requests, and a Redis that restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest

from sioscope.server.adapters import redis_streams
from sioscope.server.adapters.sharded import create_sharded_adapter
from tests.cluster.cluster_support import Cluster, eventually, is_type
from tests.cluster.test_mixed_cluster import python_app, start
from tests.redis_server import RedisServer


async def test_a_silent_then_dead_server_times_out_with_nodes_error(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    node, io, _clients, ids = await start(cluster, redis_server, kind)
    os.kill(node.proc.pid, signal.SIGSTOP)  # subscribed but silent: counted, never answers
    try:
        with pytest.raises(
            TimeoutError, match=r"^timeout reached: only 0 responses received out of 1$"
        ):
            await io.timeout(0.3).fetch_sockets()
        emitted = asyncio.ensure_future(io.timeout(0.3).emit_with_ack("ask", 1))
        with pytest.raises(TimeoutError, match="operation has timed out") as info:
            await emitted
        assert sorted(r[0] for r in info.value.responses) == ["p1", "p2"]  # type: ignore[attr-defined]
    finally:
        os.kill(node.proc.pid, signal.SIGKILL)
    adapter = io.of("/").adapter
    await eventually(lambda: _count(adapter, 1))
    assert [s.id for s in await io.fetch_sockets()] == [ids["p1"], ids["p2"]]  # local only now
    assert await io.server_side_emit_with_ack("ping", 1) == []


async def _count(adapter: Any, n: int) -> bool:
    return await adapter.server_count() == n


async def _two_sioscope_servers(
    cluster: Cluster, redis_server: RedisServer, kind: str = "sharded"
) -> Any:
    ios = []
    for _ in range(2):
        redis = cluster.redis(redis_server.url)
        adapter: Any = (
            create_sharded_adapter(redis)
            if kind == "sharded"
            else redis_streams.create_adapter(redis, block_time=0.5)
        )
        ios.append(await cluster.sioscope(python_app, adapter=adapter))
    clients = await cluster.clients()
    clients.open("a", ios[0][1], auth={"rooms": ["room"]})
    clients.open("b", ios[1][1], auth={"rooms": ["room"]})
    await clients.connected("a")
    await clients.connected("b")
    await eventually(lambda: _count(ios[0][0].of("/").adapter, 2))
    return ios[0][0], ios[1][0], clients


async def test_garbage_foreign_and_unknown_replies_are_counted_not_fatal(
    redis_server: RedisServer, cluster: Cluster
) -> None:
    """Node's sharded adapter throws inside its Redis listener on most of these (its
    process dies: seen with 8.3.0); ours drops and counts each, and keeps serving. So
    this runs on two sioscope servers."""
    first, second, clients = await _two_sioscope_servers(cluster, redis_server)
    adapter = first.of("/").adapter
    redis = cluster.redis(redis_server.url)
    main, private = "socket.io#/#", f"socket.io#/#{adapter.uid}#"
    for payload in (
        b"\xc1",  # never valid msgpack
        b"{not json",
        b"\x93\x01\x02\x03",  # msgpack, but an array (a classic-adapter broadcast)
        json.dumps({"type": 3, "uid": "x", "nsp": "/", "data": {"packet": 1}}).encode(),
        json.dumps({"type": 99, "uid": "x", "nsp": "/"}).encode(),
        json.dumps({"type": 3, "uid": "x", "nsp": "/other", "data": {}}).encode(),  # not ours
    ):
        await redis.spublish(main, payload)
    late = {"type": 8, "uid": "x", "nsp": "/", "data": {"requestId": "0" * 16, "sockets": []}}
    await redis.spublish(private, json.dumps(late).encode())
    await eventually(lambda: adapter.stats.unmatched_responses == 1)
    assert (adapter.stats.malformed, adapter.stats.unmatched_responses) == (6, 1)
    second.emit("after", 1)  # still serving
    await clients.wait_for(is_type("event", name="a", event="after", args=[1]))


async def test_redis_restart_both_servers_resume(
    redis_server: RedisServer, cluster: Cluster, kind: str
) -> None:
    """Two sioscope servers: Redis is killed and started again on the same port."""
    first, second, clients = await _two_sioscope_servers(cluster, redis_server, kind)
    redis_server.stop()
    first.to("room").emit("during", 1)  # publish fails: local clients still get it
    await clients.wait_for(is_type("event", name="a", event="during", args=[1]))
    redis_server.start()
    await eventually(lambda: _count(first.of("/").adapter, 2), timeout=10)
    await eventually(lambda: _count(second.of("/").adapter, 2), timeout=10)
    first.to("room").emit("after", 2)
    await clients.wait_for(is_type("event", name="b", event="after", args=[2]), timeout=10)
    assert clients.events("b", "during") == []  # lost while Redis was down, as with Node
    assert await first.fetch_sockets() != []


async def test_streams_garbage_is_counted_not_fatal(
    redis_server: RedisServer, cluster: Cluster
) -> None:
    """The same for the streams adapter: bad stream entries and bad pub/sub payloads."""
    first, second, clients = await _two_sioscope_servers(cluster, redis_server, "streams")
    adapter = first.of("/").adapter
    redis = cluster.redis(redis_server.url)
    for fields in (
        {"nsp": "/", "uid": "x"},  # no type
        {"nsp": "/", "uid": "x", "type": "three"},
        {"nsp": "/", "uid": "x", "type": "3", "data": "{bad json"},
        {"nsp": "/", "uid": "x", "type": "3", "data": "!!not base64!!"},
        {"nsp": "/", "uid": "x", "type": "3", "data": '{"packet":{"data":"no list"}}'},
        {"nsp": "/", "uid": "x", "type": "42"},
        {"nsp": "/elsewhere", "uid": "x", "type": "3"},  # a namespace we do not have
        {"unrelated": "entry"},
    ):
        await redis.xadd("socket.io", fields)
    await redis.publish("socket.io#/#", b"\xc1")
    await redis.publish(f"socket.io#/#{adapter.uid}#", b"\x81\xa4type\x08")  # no requestId
    await eventually(lambda: adapter.stats.malformed == 8)
    assert adapter.stats.unmatched_responses == 0
    second.emit("after", 1)  # still serving
    await clients.wait_for(is_type("event", name="a", event="after", args=[1]))
