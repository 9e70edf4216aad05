"""Faults of a Redis cluster, on a real redis-server: Redis restarting, a server that
dies mid-request, malformed and foreign messages on our channels, replies for no
request. None of them may crash a server; each ends as Node's would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from sioscope.server import Server
from sioscope.server.adapters.codec import pack
from sioscope.server.adapters.redis import RedisAdapter, create_adapter
from tests.cluster.peers import WAIT, Clients, NodePeer, PyPeer, sioscope_server, wait_until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop


async def count_is(peer: Any, wanted: int) -> None:
    """Wait until ``peer`` counts ``wanted`` servers (Redis errors meanwhile retried)."""

    async def until() -> None:
        while True:
            with contextlib.suppress(Exception):
                if await peer.call("serverCount", wait=1) == wanted:
                    return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until(), WAIT)


@contextlib.asynccontextmanager
async def node_and_sioscope(
    node_bin: str, redis_url: str, **adapter_options: Any
) -> AsyncIterator[tuple[NodePeer, PyPeer, Clients]]:
    """A Node server and a sioscope server on ``redis_url``, client "a" on ours and
    "b" on Node's."""
    config = {"redisUrl": redis_url, "serverSide": ["hello"], "requestsTimeout": 1000}
    node = await NodePeer.start(node_bin, "cluster-node-server.js", json.dumps(config))
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    try:
        async with sioscope_server(redis_url, **adapter_options) as (io, url):
            py = PyPeer(io, url)
            await count_is(py, 2)
            await count_is(node, 2)
            await clients.connect("a", url)
            await clients.connect("b", node.url)
            yield node, py, clients
    finally:
        await clients.peer.close()
        if node.proc.returncode is None:
            os.kill(node.proc.pid, signal.SIGCONT)
        await node.close()


async def test_redis_restart_reconnects_and_resumes(
    node_bin: str, redis_server: RedisServer
) -> None:
    """Redis killed and started again on its port: both servers reconnect and
    subscribe again by themselves; broadcasts, fetch_sockets and acks work again both
    ways. Messages published while Redis was away are lost or late, as with Node."""
    async with node_and_sioscope(node_bin, redis_server.url) as (node, py, clients):
        adapter = py.io.of("/").adapter
        assert isinstance(adapter, RedisAdapter)
        redis_server.stop()
        await asyncio.sleep(0.3)
        py.io.emit("during")  # queued: Redis is away (not asserted: Node may lose it too)
        with pytest.raises(Exception):  # noqa: B017 - redis-py's ConnectionError
            await py.io.fetch_sockets()
        redis_server.start()
        await count_is(py, 2)
        await count_is(node, 2)
        await wait_until(lambda: adapter.link.stats.reconnects >= 1)
        for sender in (py, node):
            await sender.call("emit", event="after")
        await clients.wait_event("a", "after", 2)
        await clients.wait_event("b", "after", 2)
        for asker in (py, node):
            assert len(await asker.call("fetchSockets")) == 2
            reply = await asker.call("emitWithAck", event="q", timeout=2000)
            assert sorted(reply["responses"]) == ["a", "b"]


async def test_server_dying_mid_request_times_out_with_nodes_errors(
    node_bin: str, redis_server: RedisServer
) -> None:
    """The Node server stops answering (SIGSTOP) while still subscribed: each request
    fails after requests_timeout with Node's texts; once it is dead (SIGKILL) the
    server count drops and requests complete with the local part."""
    async with node_and_sioscope(node_bin, redis_server.url, requests_timeout=0.5) as (
        node,
        py,
        clients,
    ):
        io = py.io
        os.kill(node.proc.pid, signal.SIGSTOP)
        with pytest.raises(TimeoutError) as fetch_error:
            await io.fetch_sockets()
        assert str(fetch_error.value) == "timeout reached while waiting for fetchSockets response"
        with pytest.raises(TimeoutError) as rooms_error:
            await io.of("/").adapter.all_rooms()  # type: ignore[attr-defined]
        assert str(rooms_error.value) == "timeout reached while waiting for allRooms response"
        reply = await py.call("serverSideEmit", event="hello", ack=True)
        assert reply == {
            "error": "timeout reached: only 0 responses received out of 1",
            "responses": [],
        }
        reply = await py.call("emitWithAck", event="q", timeout=500)
        assert reply == {"error": "operation has timed out", "responses": ["a"]}

        node.proc.kill()
        await node.proc.wait()
        await count_is(py, 1)
        assert [s.id for s in await io.fetch_sockets()] == [clients.sids["a"]]
        assert await io.server_side_emit_with_ack("hello") == []
        assert await io.timeout(1).emit_with_ack("q") == ["a"]


async def published_to(redis: Redis, channel: str, publish: Any) -> bytes:
    """What is published on ``channel`` after ``publish()`` runs (awaited)."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        await pubsub.get_message(timeout=WAIT)  # the subscribe confirmation
        await publish()
        while True:
            message = await pubsub.get_message(timeout=WAIT)
            assert message is not None, f"nothing on {channel}"
            if message["type"] == "message":
                return bytes(message["data"])
    finally:
        await pubsub.aclose()


async def test_malformed_and_foreign_messages_are_ignored_and_counted(
    node_bin: str, redis_server: RedisServer
) -> None:
    """Garbage, other formats (JSON on the broadcast channel, the streams adapter's
    msgpack maps) and ill-shaped messages on each of our channels: each one counted in
    adapter.stats.malformed, none raises; the emitter's forms (no uid, uid "emitter")
    are accepted; the server keeps serving its clients and answering requests."""
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    raw = Redis.from_url(redis_server.url)
    heard: list[tuple[Any, ...]] = []

    def setup(io: Server) -> None:
        io.on("hello", lambda *args: heard.append(args))

    try:
        async with sioscope_server(redis_server.url, setup=setup) as (io, url):
            adapter = io.of("/").adapter
            assert isinstance(adapter, RedisAdapter)
            sid = await clients.connect("a", url)
            io.of("/").sockets[sid].join("r1")
            channels = adapter.channels
            request = [
                b"\x00\x01garbage",
                b"{not json",
                b"[1, 2]",
                b'{"type": 99}',
                b'{"type": "5", "requestId": "x"}',
                b'{"type": 5, "requestId": 7, "opts": {}}',
                b'{"type": 5, "requestId": "x", "opts": "bad"}',
                b'{"type": 2, "opts": {"rooms": [], "except": []}, "rooms": "r"}',
                b'{"type": 6, "uid": "z", "data": "not a list"}',
                b'{"type": 6, "uid": "z", "data": []}',
                pack({"uid": "z", "requestId": "y", "type": 7, "packet": "nope"}),
                b'{"type": NaN}',
            ]
            broadcast = [
                b"\xc1",
                b'{"json": "on the msgpack channel"}',
                pack({"uid": "0a1b2c3d4e5f6a7b", "type": 3, "nsp": "/", "data": {}}),  # streams
                pack(["uid"]),
                pack(["uid", "not a packet", {}]),
                pack(["uid", {"type": 2, "data": "x"}, {}]),
                pack(["uid", {"type": 2, "data": []}, {}]),
                pack(["uid", {"type": 2, "data": ["ev"]}, "opts"]),
                pack(["uid", {"type": 2, "data": ["ev"]}, {"rooms": []}])[:-3],  # truncated
            ]
            response = [b"\xff", b'{"requestId": 5}', b"[]"]
            for payload in request:
                await raw.publish(channels.request, payload)
            for payload in broadcast[:-1]:
                await raw.publish(channels.broadcast, payload)
            await raw.publish(channels.broadcast_to(("r1",)), broadcast[-1])
            for payload in response:
                await raw.publish(channels.response, payload)
            await raw.publish(channels.own_response, b"\x00")
            # The emitter's forms: a broadcast from "emitter", a join without uid, a
            # server-side emit from "emitter".
            emitter = {"type": 2, "data": ["from-emitter", 1], "nsp": "/"}
            opts = {"rooms": [], "except": [], "flags": {}}
            await raw.publish(channels.broadcast, pack(["emitter", emitter, opts]))
            join = {"type": 2, "opts": {"rooms": [], "except": []}, "rooms": ["e"]}
            await raw.publish(channels.request, json.dumps(join))
            hello = {"uid": "emitter", "type": 6, "data": ["hello", 1]}
            await raw.publish(channels.request, json.dumps(hello))

            assert await clients.wait_event("a", "from-emitter") == [["from-emitter", 1]]
            await wait_until(lambda: heard == [(1,)])
            assert list(io.of("/").sockets[sid].rooms) == [sid, "r1", "e"]
            expected = len(request) + len(broadcast) + len(response) + 1
            assert adapter.stats.malformed == expected

            # Still answering: a raw REMOTE_FETCH gets Node's answer (data that JSON
            # cannot carry travels as null rather than failing the answer).
            io.of("/").sockets[sid].data = {"not json": object()}
            fetch = {"uid": "other", "requestId": "abc123", "type": 5, "opts": {"rooms": ["r1"]}}
            answer = await published_to(
                raw, channels.response, lambda: raw.publish(channels.request, json.dumps(fetch))
            )
            sockets = json.loads(answer)["sockets"]
            assert [s["id"] for s in sockets] == [sid]
            assert sockets[0]["rooms"] == [sid, "r1", "e"]
            assert sockets[0]["data"] is None
    finally:
        await clients.peer.close()
        await raw.aclose()


async def test_replies_for_unknown_requests(redis_server: RedisServer) -> None:
    """A response naming no request of ours is dropped: counted when it came on our
    own channel, silent on the common one (every server sees every reply there); a
    late reply after a timeout is one of those; the next request works."""
    raw = Redis.from_url(redis_server.url)
    try:
        async with sioscope_server(redis_server.url, requests_timeout=0.3) as (io, _url):
            adapter = io.of("/").adapter
            assert isinstance(adapter, RedisAdapter)
            channels = adapter.channels
            for channel in (channels.response, channels.own_response):
                await raw.publish(channel, b'{"requestId":"nope","sockets":[]}')
                await raw.publish(channel, b'{"type":8,"requestId":"nope","clientCount":3}')
                await raw.publish(channel, pack({"type": 9, "requestId": "nope", "packet": 1}))
            await wait_until(lambda: adapter.stats.unmatched_responses == 3)

            # A silent subscriber of the request channel makes us wait for it.
            silent = raw.pubsub()
            await silent.subscribe(channels.request)
            await silent.get_message(timeout=WAIT)  # confirmed: counted from now on
            assert await adapter.server_count() == 2
            with pytest.raises(TimeoutError):
                await io.fetch_sockets()
            message = await silent.get_message(timeout=WAIT)
            while message is not None and message["type"] != "message":  # skip pings
                message = await silent.get_message(timeout=WAIT)
            assert message is not None
            late = json.loads(message["data"])
            assert late["type"] == 5
            answer = {"requestId": late["requestId"], "sockets": []}
            await raw.publish(channels.own_response, json.dumps(answer))
            await wait_until(lambda: adapter.stats.unmatched_responses == 4)
            await silent.aclose()
            assert adapter.stats.malformed == 0
            for _ in range(100):
                if await adapter.server_count() == 1:
                    break
                await asyncio.sleep(0.02)
            assert await io.fetch_sockets() == []
    finally:
        await raw.aclose()


async def test_bad_arguments_get_one_clear_error(redis_server: RedisServer) -> None:
    """A client that decodes responses, a non-positive timeout, or a Server made
    outside an event loop: each refused with one sentence."""
    text = Redis.from_url(redis_server.url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses=False"):
        create_adapter(text)
    await text.aclose()
    binary = Redis.from_url(redis_server.url)
    with pytest.raises(ValueError, match="requests_timeout must be > 0"):
        create_adapter(binary, requests_timeout=0)
    factory = create_adapter(binary)

    def outside_a_loop() -> None:
        Server(adapter=factory)

    with pytest.raises(RuntimeError, match="needs a running event loop"):
        await asyncio.get_running_loop().run_in_executor(None, outside_a_loop)
    await binary.aclose()


async def test_a_factory_reused_after_close_subscribes_again(redis_server: RedisServer) -> None:
    """The link of a create_adapter factory closes with its last namespace; a second
    Server made with the same factory afterwards gets a working link again."""
    redis = Redis.from_url(redis_server.url)
    try:
        factory = create_adapter(redis)
        first = Server(adapter=factory)
        await asyncio.wait_for(first.of("/").adapter.ready(), WAIT)  # type: ignore[attr-defined]
        await first.close()
        second = Server(adapter=factory)
        await asyncio.wait_for(second.of("/").adapter.ready(), WAIT)  # type: ignore[attr-defined]
        assert await second.of("/").adapter.server_count() == 1
        await second.close()
    finally:
        await redis.aclose()
