"""The classic adapter's wire, byte for byte: every message the real Node
@socket.io/redis-adapter publishes during a session of every operation is captured
from Redis, decoded with our decoders and encoded again with our encoders; the bytes
must be the same. Plus the reference's test vectors."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from redis.asyncio import Redis

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.adapters.codec import opts_from_wire
from sioscope.server.adapters.redis_protocol import (
    NOTEPACK,
    Channels,
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
    response_id,
    server_side_emit_request,
    server_side_emit_response,
)
from tests.cluster.peers import Clients, NodePeer, PyPeer, sioscope_server
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop


def test_reference_vectors() -> None:
    """The hex of the reference's examples (made with the real notepack.io)."""
    plain = broadcast_message(NOTEPACK, "AbC-_1", "/", ["hello", "world"], BroadcastOptions())
    assert plain.hex() == (
        "93a64162432d5f3183a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f"
        "83a5726f6f6d7390a665786365707490a5666c61677380"
    )
    opts = BroadcastOptions(("room1",), ("room2",), {"volatile": True})
    binary = broadcast_message(NOTEPACK, "AbC-_1", "/", ["bin", b"\x01\x02\x03"], opts)
    assert binary.hex() == (
        "93a64162432d5f3183a47479706502a46461746192a362696ec403010203a36e7370a12f83a5726f6f"
        "6d7391a5726f6f6d31a665786365707491a5726f6f6d32a5666c61677381a8766f6c6174696c65c3"
    )
    assert Channels("socket.io", "/", "AbC-_1").broadcast_to(opts.rooms) == "socket.io#/#room1#"
    ack = broadcast_ack_response(NOTEPACK, "xYz_09", (1,))
    assert ack.hex() == "83a47479706509a9726571756573744964a678597a5f3039a67061636b657401"
    empty = broadcast_ack_response(NOTEPACK, "xYz_09", ())
    assert empty.hex() == "82a47479706509a9726571756573744964a678597a5f3039"


def reencode(channel: str, payload: bytes, nsp: str = "/") -> tuple[str, bytes]:
    """(kind, our encoding) of a captured message, from our decoding of it."""
    if channel.startswith(f"socket.io#{nsp}#"):
        message = decode_broadcast(NOTEPACK, payload)
        return "broadcast", broadcast_message(
            NOTEPACK, message.uid, message.nsp, message.data, message.opts
        )
    if channel.startswith("socket.io-request#"):
        request = decode_request(NOTEPACK, payload)
        uid, rid, body, kind = request.uid, request.request_id, request.body, request.type
        if kind is RequestType.REMOTE_JOIN:
            return "join", join_request(uid, request.opts, request.rooms())
        if kind is RequestType.REMOTE_LEAVE:
            return "leave", leave_request(uid, request.opts, request.rooms())
        if kind is RequestType.REMOTE_DISCONNECT:
            return "disconnect", disconnect_request(uid, request.opts, body["close"])
        assert rid is not None or kind is RequestType.SERVER_SIDE_EMIT
        if kind is RequestType.REMOTE_FETCH:
            return "fetch", fetch_request(uid, str(rid), request.opts)
        if kind is RequestType.ALL_ROOMS:
            return "all-rooms", all_rooms_request(uid, str(rid))
        if kind is RequestType.SERVER_SIDE_EMIT:
            return "server-side-emit", server_side_emit_request(uid, body["data"], rid)
        assert kind is RequestType.BROADCAST
        packet = body["packet"]
        opts = opts_from_wire(body["opts"])  # with its flags (a type-7 request's own)
        return "ack-broadcast", ack_broadcast_request(
            NOTEPACK, uid, str(rid), packet["nsp"], packet["data"], opts
        )
    response = decode_response(NOTEPACK, payload)
    rid, body = response.request_id, response.body
    if response.type == RequestType.BROADCAST_CLIENT_COUNT:
        return "client-count", client_count_response(rid, body["clientCount"])
    if response.type == RequestType.BROADCAST_ACK:
        reply = (body["packet"],) if "packet" in body else ()
        return "broadcast-ack", broadcast_ack_response(NOTEPACK, rid, reply)
    if response.type == RequestType.SERVER_SIDE_EMIT:
        return "server-side-emit-reply", server_side_emit_response(
            rid, body.get("data"), "data" in body
        )
    if "sockets" in body:
        return "fetch-reply", fetch_response(rid, body["sockets"])
    return "all-rooms-reply", all_rooms_response(rid, body["rooms"])


async def test_node_messages_reencode_to_the_same_bytes(
    node_bin: str, redis_server: RedisServer
) -> None:
    """A session of every operation, both ways, between a Node server and ours: each
    message either server published, decoded and re-encoded by us, is byte-identical
    (JSON key order, msgpack formats, flags in ms, binary, undefined keys omitted)."""
    capture = Redis.from_url(redis_server.url)
    pubsub = capture.pubsub()
    await pubsub.psubscribe("socket.io*")  # a pattern: not counted by PUBSUB NUMSUB
    captured: list[tuple[str, bytes]] = []

    async def record() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                captured.append((message["channel"].decode(), message["data"]))

    recorder = asyncio.ensure_future(record())
    config = {"redisUrl": redis_server.url, "serverSide": ["hello"], "requestsTimeout": 2000}
    node = await NodePeer.start(node_bin, "cluster-node-server.js", json.dumps(config))
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    try:
        async with sioscope_server(redis_server.url) as (io, url):
            py = PyPeer(io, url)
            for _ in range(500):
                if await node.call("serverCount") == 2:
                    break
                await asyncio.sleep(0.01)
            b1 = await clients.connect("b1", node.url)
            a1 = await clients.connect("a1", url)
            await node.call("join", sid=b1, room="r1")
            await node.call("setData", sid=b1, data={"name": "bob", "when": None})
            for server in (node, py):
                await server.call("emit", event="e", args=["x", 1.5, {"n": None}])
                await server.call(
                    "emit",
                    event="bin",
                    args=[b"\x01", {"deep": [b"\x02"]}],
                    rooms=["r1"],
                    flags={"volatile": True, "compress": False},
                    **{"except": ["r9"]},
                )
                await server.call("emit", event="multi", rooms=["r1", a1])
                await server.call("emitWithAck", event="q", args=[b"\x03"], timeout=2000)
                await server.call("fetchSockets", rooms=["r1"], **{"except": ["r2"]})
                await server.call("allRooms")
                await server.call("serverSideEmit", event="hello", args=["no-ack"])
                await server.call("serverSideEmit", event="hello", args=[{"a": 1}], ack=True)
                await server.call("socketsJoin", room="j", rooms=["r1"])
                await server.call("socketsLeave", room="j", **{"except": ["r2"]})
                await server.call("remote", sid=b1, action="emitWithAck", event="one", timeout=2000)
            await server.call("disconnectSockets", close=True, rooms=["nobody"])
            await node.call("disconnectSockets", close=False, rooms=["nobody"])
            await asyncio.sleep(0.2)  # the last messages reach the capture
        node_uid = node.uids["/"]
        py_uid = py.uids["/"]
        py_requests = set()
        kinds: dict[str, set[str]] = {"node": set(), "sioscope": set()}
        for channel, payload in captured:
            kind, ours = reencode(channel, payload)
            assert ours == payload, (kind, payload, ours)
            if channel.startswith("socket.io-response#"):
                origin = (
                    "node"
                    if decode_response(NOTEPACK, payload).request_id in py_requests
                    else "sioscope"
                )
            elif channel.startswith("socket.io-request#"):
                request = decode_request(NOTEPACK, payload)
                origin = "node" if request.uid == node_uid else "sioscope"
                if request.uid == py_uid and request.request_id:
                    py_requests.add(request.request_id)
            else:
                origin = (
                    "node" if decode_broadcast(NOTEPACK, payload).uid == node_uid else "sioscope"
                )
            kinds[origin].add(kind)
        everything = {
            "broadcast", "join", "leave", "disconnect", "fetch", "all-rooms",
            "server-side-emit", "ack-broadcast", "client-count", "broadcast-ack",
            "server-side-emit-reply", "fetch-reply", "all-rooms-reply",
        }  # fmt: skip
        assert kinds["node"] == everything
        assert kinds["sioscope"] == everything
    finally:
        await clients.peer.close()
        await node.close()
        recorder.cancel()
        with contextlib.suppress(BaseException):
            await recorder
        await pubsub.aclose()
        await capture.aclose()


def test_response_id_is_read_from_nodes_prefix_only() -> None:
    """Every server receives every reply on the common channel; the id of Node's JSON
    replies is read from their first bytes, so a large answer for another server is
    dropped undecoded. Any other layout is decoded in full."""
    assert response_id(fetch_response("aB-_9z", [{"id": "x"}])) == "aB-_9z"
    assert response_id(client_count_response("q1w2e3", 4)) == "q1w2e3"
    assert response_id(server_side_emit_response("r4t5y6", None, False)) == "r4t5y6"
    assert response_id(broadcast_ack_response(NOTEPACK, "u7i8o9", (1,))) is None  # msgpack
    assert response_id(b'{"sockets":[],"requestId":"late00"}') is None
    assert response_id(b'{"requestId":"a\\"b"}') is None
