"""Socket.IO v5 conformance on the wire: every Socket.IO rule of protocol-conformance.md,
checked with hand-written WebSocket frames and HTTP long-polling requests."""

from __future__ import annotations

import asyncio
import json
import logging
import select
import subprocess
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from websockets.exceptions import ConnectionClosed

from sioscope.server import ConnectionRefused, Server, Socket
from sioscope.server.parser import MAX_DEPTH
from tests.conftest import INTEROP_DIR
from tests.server.sio_rawpeer import RawPolling, RawWs
from tests.server.sio_support import Factory, serve_fixture, wait_for  # noqa: F401


def conformance_app(io: Server) -> None:
    """The official suite's server: auth echo, message-back, acks, on / and /custom."""

    @io.on("connection")
    def on_connection(socket: Socket) -> None:
        socket.emit("auth", socket.handshake["auth"])

        @socket.on("message")
        def message(*args: Any) -> None:
            socket.emit("message-back", *args)

        @socket.on("message-with-ack")
        def message_with_ack(*args: Any, ack: Any) -> None:
            ack(*args)

    @io.of("/custom").on("connection")
    def on_custom(socket: Socket) -> None:
        socket.emit("auth", socket.handshake["auth"])


@pytest.fixture(scope="module")
def node_reference(node_bin: str) -> Iterator[str]:
    """Node's socket.io 4.8.4 with the same app: the reference these frames come from."""
    process = subprocess.Popen(
        [node_bin, "sio-conformance-server.js"],
        cwd=INTEROP_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready, "the Node reference server did not start"
        port = json.loads(process.stdout.readline())["port"]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(5)


NODE_URLS: set[str] = set()
"""The reference servers' URLs, for the few tests where Node's answer differs (justified)."""


@pytest.fixture(params=["sioscope", "node"])
async def url(request: pytest.FixtureRequest, serve: Factory) -> str:
    """Every conformance test runs against our server and against Node's."""
    if request.param == "node":
        node_url: str = request.getfixturevalue("node_reference")
        NODE_URLS.add(node_url)
        return node_url
    _, base = await serve(conformance_app, ping_interval=0.3, ping_timeout=0.2, connect_timeout=1.0)
    return base


async def connected_to_root(url: str) -> RawWs:
    """A raw WebSocket peer connected to ``/``, past the CONNECT reply and the auth event."""
    peer = await RawWs.open(url)
    await peer.send("0")
    assert (await peer.recv()).startswith("0{")  # type: ignore[union-attr]
    assert await peer.recv() == '2["auth",{}]'
    return peer


@pytest.mark.parametrize(
    ("connect", "reply_prefix", "auth"),
    [
        ("0", "0{", "{}"),
        ('0{"token":"123"}', "0{", '{"token":"123"}'),
        ("0/custom,", "0/custom,{", "{}"),
        ("0/custom", "0/custom,{", "{}"),
        ('0/custom,{"token":"abc"}', "0/custom,{", '{"token":"abc"}'),
    ],
)
async def test_connect_reply_precedes_auth_event(
    url: str, connect: str, reply_prefix: str, auth: str
) -> None:
    peer = await RawWs.open(url)
    await peer.send(connect)
    reply = await peer.recv()
    assert isinstance(reply, str) and reply.startswith(reply_prefix)
    body = json.loads(reply[reply.index("{") :])
    assert list(body) == ["sid"] and len(body["sid"]) == 20
    nsp = "/custom," if "custom" in connect else ""
    assert await peer.recv() == f'2{nsp}["auth",{auth}]'
    await peer.close()


async def test_unknown_namespace_keeps_the_connection(url: str) -> None:
    peer = await RawWs.open(url)
    await peer.send("0/random")
    assert await peer.recv() == '4/random,{"message":"Invalid namespace"}'
    await peer.send("0")
    assert (await peer.recv()).startswith("0{")  # type: ignore[union-attr]
    await peer.close()


async def test_leaving_root_keeps_session_next_frame_is_ping(url: str) -> None:
    peer = await RawWs.open(url)
    await peer.send("0")
    await peer.recv()
    await peer.recv()  # auth
    await peer.send("1")
    assert await peer.recv_frame(timeout=2) == "2"


async def test_leaving_custom_keeps_root(url: str) -> None:
    peer = await RawWs.open(url)
    await peer.send("0", "0/custom,")
    got = {await peer.recv() for _ in range(4)}
    assert '2["auth",{}]' in got and '2/custom,["auth",{}]' in got
    await peer.send("1/custom,")
    await peer.send('2["message",1]')
    assert await peer.recv() == '2["message-back",1]'
    await peer.close()


async def test_echo_compact_json_key_order(url: str) -> None:
    peer = await connected_to_root(url)
    await peer.send('2["message",1,"2",{"3":[true]}]')
    assert await peer.recv() == '2["message-back",1,"2",{"3":[true]}]'
    await peer.send('2["message",{"z":1,"a":"é"}]')
    assert await peer.recv() == '2["message-back",{"z":1,"a":"é"}]'
    await peer.close()


async def test_binary_echo(url: str) -> None:
    peer = await connected_to_root(url)
    head = '52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    await peer.send(head, b"\x01\x02\x03", b"\x04\x05\x06")
    assert await peer.recv() == head.replace("message", "message-back")
    assert await peer.recv() == b"\x01\x02\x03"
    assert await peer.recv() == b"\x04\x05\x06"
    await peer.close()


async def test_acks_text_and_binary(url: str) -> None:
    peer = await connected_to_root(url)
    await peer.send('2456["message-with-ack",1,"2",{"3":[false]}]')
    assert await peer.recv() == '3456[1,"2",{"3":[false]}]'
    await peer.send(
        '52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01\x02\x03",
        b"\x04\x05\x06",
    )
    reply = '62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert await peer.recv() == reply
    assert await peer.recv() == b"\x01\x02\x03"
    assert await peer.recv() == b"\x04\x05\x06"
    await peer.close()


@pytest.mark.parametrize("bad", ["4abc", "42{}", '42abc["message"]', '42["connect"]'])
async def test_invalid_packets_close_the_connection(url: str, bad: str) -> None:
    peer = await connected_to_root(url)
    await peer.send_raw(bad)
    assert await peer.closed(timeout=0.4)  # before the 0.5 s ping timeout could


async def test_no_connect_closes(url: str) -> None:
    peer = await RawWs.open(url)
    assert await peer.closed(timeout=2)


async def test_connect_timeout_without_heartbeat_help(serve: Factory) -> None:
    _, base = await serve(conformance_app, ping_interval=5, ping_timeout=5, connect_timeout=0.3)
    peer = await RawWs.open(base)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await peer.closed(timeout=2)
    assert 0.25 < loop.time() - start < 1.5


async def test_event_in_same_payload_as_connect_is_invalid_state(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        peer = await RawPolling.open(url, session)
        assert await peer.post("40", '42["message",1]') == 200
        status, packets = await peer.get()
        assert status == 200
        # the connection is closed: the CONNECT reply never comes, the close packet does
        assert packets[-1] in ("1", "6") and not any(p.startswith("40{") for p in packets)


async def test_attachment_limit_and_unexpected_binary(url: str) -> None:
    peer = await connected_to_root(url)
    await peer.send(b"\x01")  # binary while no packet awaits attachments
    assert await peer.closed(timeout=0.4)
    peer = await connected_to_root(url)
    await peer.send('511-["message"]')
    assert await peer.closed(timeout=0.4)


@pytest.mark.parametrize("declared", ["50-", "60-1"])
async def test_binary_packet_declaring_no_attachment_closes(url: str, declared: str) -> None:
    """socket.io-parser refuses an attachment count below 1 ("Illegal attachments")."""
    peer = await connected_to_root(url)
    await peer.send(declared + '["message"]')
    frames = []
    with pytest.raises(ConnectionClosed):
        while True:  # bounded: the heartbeat closes within 0.5 s whatever happens
            frames.append(await peer.recv_frame(timeout=1))
    assert not any("message-back" in f for f in frames if isinstance(f, str))


async def test_deepest_accepted_payload_is_echoed(url: str) -> None:
    peer = await connected_to_root(url)
    inner = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    await peer.send(f'2["message",{inner}]')
    assert await peer.recv() == f'2["message-back",{inner}]'
    await peer.close()


async def test_nesting_past_the_limit_closes_without_a_traceback(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``42["message",[[[…1000 levels…]]]]``. A justified difference: Node's JSON.parse
    takes it and echoes it; sioscope refuses past MAX_DEPTH (server/parser.py, rule 5),
    because any Python walk over it (an echo's encoder) would hit the recursion limit.
    The refusal is Node's for malformed input: the connection closes, nothing is logged
    at ERROR, and the server keeps serving."""
    peer = await connected_to_root(url)
    inner = "[" * 1000 + "]" * 1000
    await peer.send(f'2["message",{inner}]')
    if url in NODE_URLS:
        assert await peer.recv() == f'2["message-back",{inner}]'
        await peer.close()
    else:
        assert await peer.closed(timeout=0.4)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    survivor = await connected_to_root(url)
    await survivor.send('2["message",1]')
    assert await survivor.recv() == '2["message-back",1]'
    await survivor.close()


async def test_ack_ids_are_per_namespace_and_shared(serve: Factory) -> None:
    sockets: list[Socket] = []

    def setup(io: Server) -> None:
        io.on("connection", sockets.append)

    io, base = await serve(setup)
    a, b = await RawWs.open(base), await RawWs.open(base)
    for peer in (a, b):
        await peer.send("0")
        await peer.recv()
    await wait_for(_until(lambda: len(sockets) == 2))
    sockets[0].emit("x", callback=lambda *r: None)
    sockets[1].emit("x", callback=lambda *r: None)
    io.timeout(1).emit("y", callback=lambda *r: None)
    assert await a.recv() == '20["x"]'
    assert await b.recv() == '21["x"]'
    assert {await a.recv(), await b.recv()} == {'22["y"]'}


async def _until(predicate: Any, interval: float = 0.01) -> None:
    while not predicate():
        await asyncio.sleep(interval)


async def test_volatile_dropped_when_transport_not_writable(serve: Factory) -> None:
    sockets: list[Socket] = []
    _, url = await serve(lambda io: io.on("connection", sockets.append))
    async with aiohttp.ClientSession() as session:
        peer = await RawPolling.open(url, session)
        await peer.post("40")
        status, packets = await peer.get()
        assert status == 200 and packets[0].startswith("40{")
        (socket,) = sockets
        assert socket.conn.transport.writable is False  # no GET parked
        socket.volatile.emit("dropped", 1)
        socket.emit("kept", 2)
        socket.broadcast.emit("not for the sender")
        status, packets = await peer.get()
        assert (status, packets) == (200, ['42["kept",2]'])


async def test_middlewares_per_namespace_and_rooms_joined_in_middleware(serve: Factory) -> None:
    joined: list[Socket] = []

    def setup(io: Server) -> None:
        @io.use
        def refuse_root(socket: Socket) -> None:
            raise ConnectionRefused("root is closed")

        custom = io.of("/custom")

        @custom.use
        async def vip(socket: Socket) -> None:
            await asyncio.sleep(0)
            socket.join("vip")
            socket.data["checked"] = True

        custom.on("connection", joined.append)

    _, url = await serve(setup)
    peer = await RawWs.open(url)
    await peer.send("0")
    assert await peer.recv() == '4{"message":"root is closed"}'
    await peer.send("0/custom,")
    assert (await peer.recv()).startswith("0/custom,{")  # type: ignore[union-attr]
    (socket,) = joined
    assert socket.rooms == {"vip", socket.id} and socket.data == {"checked": True}


async def test_client_error_event_number_names_and_once(serve: Factory) -> None:
    seen: list[tuple[Any, ...]] = []

    def setup(io: Server) -> None:
        @io.on("connection")
        def on_connection(socket: Socket) -> None:
            socket.on("error", lambda *args: seen.append(("error", *args)))
            socket.on("7", lambda *args: seen.append(("7", *args)))
            socket.once("first", lambda x, ack=None: (seen.append(("first", x)), ack and ack(x)))
            socket.on("done", lambda: seen.append(("done",)))

    _, url = await serve(setup)
    peer = await RawWs.open(url)
    await peer.send("0")
    await peer.recv()
    await peer.send('2["error","from the client"]', '2[7,"numbered"]')
    await peer.send('21["first",1]', '22["first",2]', '2["done"]')
    assert await peer.recv() == "31[1]"
    await wait_for(_until(lambda: ("done",) in seen))
    assert seen == [("error", "from the client"), ("7", "numbered"), ("first", 1), ("done",)]


async def test_handshake_query_repeated_key_last_wins(serve: Factory) -> None:
    """Node builds ``handshake.query`` with ``Object.fromEntries(url.searchParams)``: a
    repeated key keeps its last value, never a list."""
    sockets: list[Socket] = []
    _, base = await serve(lambda io: io.on("connection", sockets.append))
    peer = await RawWs.open(base, query="&room=a&room=b&x=1")
    await peer.send("0")
    await peer.recv()
    (socket,) = sockets
    assert socket.handshake["query"]["room"] == "b" and socket.handshake["query"]["x"] == "1"
    await peer.close()


async def test_handshake_headers_merge_duplicates_as_node_http(serve: Factory) -> None:
    """Node's IncomingMessage: most repeated headers join with ", ", cookie with "; ",
    set-cookie is a list, and single-valued ones (host, referer, user-agent, ...) keep
    their first value."""
    from multidict import CIMultiDict

    sockets: list[Socket] = []
    _, base = await serve(lambda io: io.on("connection", sockets.append))
    sent = CIMultiDict(
        [
            ("Referer", "http://first.example/"),
            ("Referer", "http://second.example/"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Set-Cookie", "odd=1"),
        ]
    )
    async with aiohttp.ClientSession(headers=sent) as session:
        peer = await RawPolling.open(base, session)
        assert await peer.post("40") == 200
        await wait_for(_until(lambda: bool(sockets)))
    headers = sockets[0].handshake["headers"]
    assert headers["referer"] == "http://first.example/"
    assert headers["x-multi"] == "1, 2"
    assert headers["cookie"] == "a=1; b=2"
    assert headers["set-cookie"] == ["odd=1"]


async def test_pending_attachment_bytes_are_capped_at_max_http_buffer_size(
    serve: Factory,
) -> None:
    """Beyond Node (which holds them until the ping timeout): attachments that never
    complete may hold at most max_http_buffer_size bytes; past it the connection closes."""
    io, base = await serve(conformance_app, max_http_buffer_size=10_000, ping_interval=5)
    reasons: list[str] = []
    io.on("connection", lambda s: s.on("disconnect", lambda r, *_: reasons.append(r)))
    peer = await connected_to_root(base)
    holes = ",".join(f'{{"_placeholder":true,"num":{i}}}' for i in range(3))
    await peer.send(f'53-["message",{holes}]', b"\x00" * 6000)
    await asyncio.sleep(0.1)
    assert reasons == []  # 6,000 bytes pending: within the cap
    await peer.send(b"\x00" * 6000)
    assert await peer.closed(timeout=1)
    assert reasons == ["parse error"]
