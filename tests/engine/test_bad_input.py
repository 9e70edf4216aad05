"""Bad input gets its exact outcome, quickly, and the other connections keep working."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import websockets
from websockets.frames import Frame, Opcode

from sioscope.server.engine import TransportError

from .helpers import get, handshake, post, recv, recv_skipping_pings


async def assert_echo_still_works(echo, http) -> None:
    sid = (await handshake(http, echo))["sid"]
    assert await post(http, echo, sid, "4alive") == (200, "ok")
    assert await get(http, echo, sid) == (200, "4alive")


async def test_garbage_post_is_parse_error_and_next_get_400(echo, http):
    sid = (await handshake(http, echo))["sid"]
    assert await post(http, echo, sid, "abc") == (200, "ok")
    assert (await echo.closed_with(sid))[0] == "parse error"
    assert (await get(http, echo, sid))[0] == 400
    await assert_echo_still_works(echo, http)


async def test_packets_before_the_bad_one_are_delivered(echo, http):
    sid = (await handshake(http, echo))["sid"]
    assert await post(http, echo, sid, "4first\x1e9bad\x1e4never") == (200, "ok")
    assert (await echo.closed_with(sid))[0] == "parse error"
    received = [args[0] for s, name, args in echo.events if name == "message"]
    assert received == ["first"]
    packets = [args[0] for s, name, args in echo.events if name == "packet"]
    assert packets[-1] == {"type": "error", "data": "parser error"}


async def test_bad_base64_is_parse_error(echo, http):
    sid = (await handshake(http, echo))["sid"]
    await post(http, echo, sid, "b!!!not-base64")
    assert (await echo.closed_with(sid))[0] == "parse error"


async def test_oversized_post_is_413_and_session_survives(echo, http):
    sid = (await handshake(http, echo))["sid"]
    status, _ = await post(http, echo, sid, "4" + "x" * 1_000_000)
    assert status == 413
    assert await post(http, echo, sid, "4small") == (200, "ok")
    assert await get(http, echo, sid) == (200, "4small")


async def test_oversized_chunked_post_is_413(echo, http):
    sid = (await handshake(http, echo))["sid"]

    async def body():
        for _ in range(3):
            yield b"4" + b"x" * 400_000

    url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")
    async with http.post(url, data=body(), headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 413
    assert await post(http, echo, sid, "4ok") == (200, "ok")


async def test_binary_content_type_is_transport_error(echo, http):
    sid = (await handshake(http, echo))["sid"]
    url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")
    headers = {"Content-Type": "application/octet-stream"}
    async with http.post(url, data=b"\x04abc", headers=headers) as resp:
        assert resp.status == 400
    reason, description = await echo.closed_with(sid)
    assert reason == "transport error"
    assert isinstance(description, TransportError) and str(description) == "invalid content"


async def test_duplicate_get_first_gets_close_second_400(echo, http):
    sid = (await handshake(http, echo))["sid"]
    first = asyncio.ensure_future(get(http, echo, sid))
    await asyncio.sleep(0.05)
    second = await get(http, echo, sid)
    assert await asyncio.wait_for(first, 1) == (200, "1")
    assert second[0] == 400
    assert (await get(http, echo, sid))[0] == 400
    reason, description = await echo.closed_with(sid)
    assert reason == "transport error"
    assert str(description) == "overlap from client"
    await assert_echo_still_works(echo, http)


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_cancelled_get_closes_the_session(http, make_echo, handler_cancellation):
    echo = await make_echo(handler_cancellation=handler_cancellation)
    sid = (await handshake(http, echo))["sid"]
    async with aiohttp.ClientSession() as other:  # its own connection, closed mid-poll
        url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")
        task = asyncio.ensure_future(other.get(url))
        await asyncio.sleep(0.05)
        task.cancel()
    reason, description = await echo.closed_with(sid, timeout=2)
    assert reason == "transport error"
    assert str(description) == "poll connection closed prematurely"
    assert (await get(http, echo, sid))[0] == 400


async def test_ws_garbage_frame_is_parse_error(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        await ws.send("abc")
        assert (await echo.closed_with(sid))[0] == "parse error"
        await asyncio.wait_for(ws.wait_closed(), 2)


async def test_ws_empty_text_frame_is_parse_error(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        await ws.send("")
        assert (await echo.closed_with(sid))[0] == "parse error"


async def test_ws_frame_over_max_closes_1009_transport_error(echo):
    async with websockets.connect(
        echo.ws_endpoint("EIO=4&transport=websocket"), max_size=None
    ) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        await ws.send("4" + "x" * 1_000_001)
        await asyncio.wait_for(ws.wait_closed(), 3)
        assert ws.close_code == 1009
    reason, description = await echo.closed_with(sid)
    assert reason == "transport error"
    assert description is not None


async def test_ws_invalid_utf8_frame_is_transport_error(echo, http):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        # a text frame whose payload is not UTF-8, written below the library's checks
        ws.protocol.send_frame(Frame(Opcode.TEXT, b"4\xff\xfe"))
        ws.send_data()  # not part of the public API, hence the assertion below
        assert ws.protocol.data_to_send() == []
        reason, _ = await echo.closed_with(sid, timeout=3)
        assert reason == "transport error"
    await assert_echo_still_works(echo, http)


async def test_ws_client_ping_is_invalid_heartbeat_direction(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        await ws.send("2")
        reason, description = await echo.closed_with(sid)
        assert reason == "transport error"
        assert str(description) == "invalid heartbeat direction"


async def test_ws_close_packet_is_ignored_like_node(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        await ws.send("1")
        await ws.send("4after")
        assert await recv_skipping_pings(ws) == "4after"
        assert not echo.closed[sid].done()


async def test_ws_unknown_sid_is_refused(echo):
    try:
        async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket&sid=nope")):
            raise AssertionError("should have been refused")
    except websockets.InvalidStatus as exc:
        assert exc.response.status_code == 400
    assert echo.errors[-1]["code"] == 1


async def test_post_overlap_is_transport_error(echo, http):
    sid = (await handshake(http, echo))["sid"]
    url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")
    gate = asyncio.Event()

    async def slow_body():
        yield b"4slow"
        await asyncio.wait_for(gate.wait(), 2)

    async with aiohttp.ClientSession() as other:
        slow = asyncio.ensure_future(
            other.post(url, data=slow_body(), headers={"Content-Type": "text/plain"})
        )
        await asyncio.sleep(0.1)
        status, _ = await post(http, echo, sid, "4second")
        gate.set()
        assert status == 400
        reason, description = await echo.closed_with(sid)
        assert reason == "transport error"
        assert str(description) == "data request overlap from client"
        resp = await asyncio.wait_for(slow, 2)
        resp.release()


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_aborted_post_is_transport_error(http, make_echo, handler_cancellation):
    echo = await make_echo(handler_cancellation=handler_cancellation)
    sid = (await handshake(http, echo))["sid"]
    url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")

    async def never_ending_body():
        yield b"4partial"
        await asyncio.sleep(10)

    async with aiohttp.ClientSession() as other:
        task = asyncio.ensure_future(
            other.post(url, data=never_ending_body(), headers={"Content-Type": "text/plain"})
        )
        await asyncio.sleep(0.1)
        task.cancel()
    reason, description = await echo.closed_with(sid, timeout=2)
    assert reason == "transport error"
    assert str(description) == "data request connection closed prematurely"
    assert await post(http, echo, sid, "4x") != (200, "ok")
    await assert_echo_still_works(echo, http)


async def test_broken_websocket_handshake_is_400(echo, http):
    headers = {"Upgrade": "websocket", "Connection": "Upgrade"}  # no key, no version
    async with http.get(echo.endpoint("EIO=4&transport=websocket"), headers=headers) as resp:
        assert resp.status == 400
    assert echo.eng.clients_count == 0
    await assert_echo_still_works(echo, http)


async def test_plain_http_request_for_a_websocket_session_is_400(echo, http):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        for method in ("GET", "POST"):
            url = echo.endpoint(f"EIO=4&transport=websocket&sid={sid}")
            async with http.request(method, url, data="4x") as resp:
                assert resp.status == 400
        await ws.send("4fine")
        assert await recv_skipping_pings(ws) == "4fine"
