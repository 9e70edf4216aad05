"""Raw WebSocket frames against the echo server: direct sessions and the upgrade."""

from __future__ import annotations

import asyncio
import json

import websockets

from .helpers import get, handshake, post, recv, recv_skipping_pings


async def test_ws_handshake_and_echo_text_and_binary(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        first = await recv(ws)
        assert isinstance(first, str) and first[0] == "0"
        open_ = json.loads(first[1:])
        assert set(open_) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert open_["upgrades"] == []
        await ws.send("4hello")
        assert await recv(ws) == "4hello"
        await ws.send(b"\x01\x02\x03\x04")
        assert await recv(ws) == b"\x01\x02\x03\x04"
    conn = echo.conns[0]
    assert conn.transport.name == "websocket"
    assert (await echo.closed_with(conn.id))[0] == "transport close"


async def test_ws_heartbeat_and_timeout(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        assert await recv(ws, 1.0) == "2"
        await ws.send("3")
        assert await recv(ws, 1.0) == "2"
        # no pong this time: the server closes the socket
        reason, _ = await echo.closed_with(sid)
        assert reason == "ping timeout"
        await asyncio.wait_for(ws.wait_closed(), 2)


async def test_upgrade_probe_then_nothing_after_5(echo, http):
    sid = (await handshake(http, echo))["sid"]
    pending = asyncio.ensure_future(get(http, echo, sid))
    async with websockets.connect(echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")) as ws:
        await ws.send("2probe")
        assert await recv(ws) == "3probe"
        assert await pending == (200, "6")
        await ws.send("5")
        await ws.send("4hello")
        assert await recv_skipping_pings(ws) == "4hello"
        assert (await get(http, echo, sid))[0] == 400
        conn = echo.conns[0]
        assert conn.transport.name == "websocket" and conn.upgraded
        names = echo.names(sid)
        assert names.index("upgrading") < names.index("upgrade")
        # a second websocket on an upgraded sid is accepted, then closed
        async with websockets.connect(
            echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")
        ) as second:
            await asyncio.wait_for(second.wait_closed(), 2)
        await ws.send("4still")
        assert await recv_skipping_pings(ws) == "4still"
    assert await post(http, echo, sid, "4x") != (200, "ok")


async def test_get_right_after_upgrade_packet_is_400(echo, http):
    """The suite sends ``5`` and polls at once: ws frames must be processed promptly."""
    for _ in range(5):
        sid = (await handshake(http, echo))["sid"]
        url = echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")
        async with websockets.connect(url) as ws:
            await ws.send("2probe")
            assert await recv(ws) == "3probe"
            await ws.send("5")
            assert (await get(http, echo, sid))[0] == 400
            await ws.send("4hello")
            assert await recv_skipping_pings(ws) == "4hello"


async def test_upgrade_timeout_abandons_the_websocket(http, make_echo):
    srv = await make_echo(upgrade_timeout=0.2, ping_interval=5, ping_timeout=5)
    sid = (await handshake(http, srv))["sid"]
    url = srv.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")
    async with websockets.connect(url) as ws:
        await ws.send("2probe")
        assert await recv(ws) == "3probe"
        await asyncio.wait_for(ws.wait_closed(), 2)  # no "5" in time: closed
    conn = srv.eng.clients[sid]
    assert conn.transport.name == "polling" and not conn.upgrading and not conn.upgraded
    assert await post(http, srv, sid, "4still-polling") == (200, "ok")
    assert await get(http, srv, sid) == (200, "4still-polling")


async def test_unexpected_packet_during_probe_closes_only_the_websocket(echo, http):
    sid = (await handshake(http, echo))["sid"]
    async with websockets.connect(echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")) as ws:
        await ws.send("4too-early")
        await asyncio.wait_for(ws.wait_closed(), 2)
    assert echo.eng.clients[sid].transport.name == "polling"
    assert await post(http, echo, sid, "4ok") == (200, "ok")


async def test_frames_of_every_length_class_and_bursts_keep_order(echo):
    async with websockets.connect(
        echo.ws_endpoint("EIO=4&transport=websocket"), max_size=None
    ) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        for size in (0, 1, 125, 126, 65535, 65536, 300_000):
            await ws.send("4" + "a" * size)
            assert await recv_skipping_pings(ws) == "4" + "a" * size
            await ws.send(b"\x07" * size)
            assert await recv_skipping_pings(ws) == b"\x07" * size
        conn = echo.eng.clients[sid]
        # A burst far above the socket's high-water mark while the client does not
        # read: the first frames are written at once, the rest queue for the writer
        # coroutine, which waits for the socket to drain. Order must hold throughout.
        saw_backpressure = False
        ws.transport.pause_reading()
        for i in range(4000):
            conn.send(f"{i:04d}" + "x" * 4000)
            if i % 200 == 199:
                await asyncio.sleep(0)
                saw_backpressure = saw_backpressure or not conn.transport.writable
        ws.transport.resume_reading()
        assert saw_backpressure
        for i in range(4000):
            assert (await recv_skipping_pings(ws))[:5] == f"4{i:04d}"


async def test_packet_while_awaiting_pong_extends_the_timeout_once(make_echo):
    srv = await make_echo(ping_interval=0.2, ping_timeout=0.4)
    loop = asyncio.get_running_loop()
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        assert await recv(ws) == "2"
        pinged = loop.time()
        await asyncio.sleep(0.3)
        await ws.send("4x")  # not a pong: the 0.4 s wait restarts, once
        assert await recv(ws) == "4x"
        await ws.send("4y")  # a second one does not extend it again
        reason, _ = await srv.closed_with(sid, timeout=3)
        closed = loop.time()
    assert reason == "ping timeout"
    assert closed - pinged >= 0.65


async def test_close_requested_during_upgrade_completes_after_it(echo, http):
    sid = (await handshake(http, echo))["sid"]
    async with websockets.connect(echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")) as ws:
        await ws.send("2probe")
        assert await recv(ws) == "3probe"
        conn = echo.eng.clients[sid]
        conn.send("queued")
        conn.close()  # waits for the buffer to drain, which the upgrade allows
        assert conn.ready_state == "closing"
        await ws.send("5")
        assert await recv(ws) == "4queued"
        await asyncio.wait_for(ws.wait_closed(), 2)
    assert (await echo.closed_with(sid))[0] == "forced close"
    names = echo.names(sid)
    assert names.index("upgrade") < names.index("drain") < names.index("close")


async def test_abrupt_tcp_loss_is_transport_close(echo):
    ws = await websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket"))
    sid = json.loads((await recv(ws))[1:])["sid"]
    ws.transport.abort()  # no close frame: the peer just vanishes
    assert (await echo.closed_with(sid))[0] == "transport close"


async def test_a_failing_flush_does_not_stall_the_other_connections(echo):
    """Flushes are batched per loop tick; one connection whose frame cannot be built (a
    lone surrogate cannot be encoded as UTF-8) must not leave the others unflushed."""
    url = echo.ws_endpoint("EIO=4&transport=websocket")
    async with websockets.connect(url) as a, websockets.connect(url) as b:
        sid_a = json.loads((await recv(a))[1:])["sid"]
        sid_b = json.loads((await recv(b))[1:])["sid"]
        conn_a, conn_b = echo.eng.clients[sid_a], echo.eng.clients[sid_b]
        conn_a.send("\ud800")  # same tick: a's flush raises, b's must still happen
        conn_b.send("hello")
        assert await recv_skipping_pings(b) == "4hello"
        conn_b.send("again")
        assert await recv_skipping_pings(b) == "4again"
