"""Raw HTTP long-polling against the echo server: the Engine.IO rules, one by one."""

from __future__ import annotations

import asyncio
import json

import pytest

from .helpers import get, handshake, post


async def test_handshake_has_exactly_the_five_keys_in_ms(echo, http):
    async with http.get(echo.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
        body = await resp.text()
    assert body.startswith("0{")
    open_ = json.loads(body[1:])
    assert set(open_) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert open_["upgrades"] == ["websocket"]
    assert (open_["pingInterval"], open_["pingTimeout"], open_["maxPayload"]) == (
        300,
        200,
        1_000_000,
    )
    assert len(open_["sid"]) == 20
    assert echo.eng.clients_count == 1


async def test_post_answers_ok_and_batch_echoes_in_one_response(echo, http):
    sid = (await handshake(http, echo))["sid"]
    assert await post(http, echo, sid, "4test1\x1e4test2\x1e4test3") == (200, "ok")
    assert await get(http, echo, sid) == (200, "4test1\x1e4test2\x1e4test3")


async def test_binary_over_polling_is_base64(echo, http):
    sid = (await handshake(http, echo))["sid"]
    assert await post(http, echo, sid, "4hello\x1ebAQIDBA==") == (200, "ok")
    assert await get(http, echo, sid) == (200, "4hello\x1ebAQIDBA==")
    conn = echo.conns[0]
    received = [args[0] for s, name, args in echo.events if name == "message"]
    assert received == ["hello", b"\x01\x02\x03\x04"]
    assert conn.transport.name == "polling"


async def test_no_packet_count_limit_in_a_post(echo, http):
    sid = (await handshake(http, echo))["sid"]
    body = "\x1e".join(f"4m{i}" for i in range(500))
    assert await post(http, echo, sid, body) == (200, "ok")
    assert await get(http, echo, sid) == (200, body)


async def test_heartbeat_three_gets_each_get_a_ping(echo, http):
    sid = (await handshake(http, echo))["sid"]
    for _ in range(3):
        assert await get(http, echo, sid) == (200, "2")
        assert await post(http, echo, sid, "3") == (200, "ok")
    assert "heartbeat" in echo.names(sid)


async def test_ping_timeout_closes_on_time(echo, http):
    loop = asyncio.get_running_loop()
    start = loop.time()
    sid = (await handshake(http, echo))["sid"]
    closed_at: list[float] = []
    echo.eng.clients[sid].on("close", lambda *_: closed_at.append(loop.time()))
    # The rule: a GET 500 ms after the handshake must get 400. A timer, not a sweep,
    # closes at ping_interval + ping_timeout; 100 ms of slack absorbs a loaded machine.
    await asyncio.sleep(0.6)
    status, body = await get(http, echo, sid)
    assert status == 400
    assert json.loads(body) == {"code": 1, "message": "Session ID unknown"}
    reason, _ = await echo.closed_with(sid)
    assert reason == "ping timeout"
    assert 0.5 <= closed_at[0] - start < 0.6


async def test_client_close_answers_pending_get_with_noop(echo, http):
    sid = (await handshake(http, echo))["sid"]
    pending = asyncio.ensure_future(get(http, echo, sid))
    await asyncio.sleep(0.05)
    assert await post(http, echo, sid, "1") == (200, "ok")
    assert await pending == (200, "6")
    assert (await get(http, echo, sid))[0] == 400
    assert (await echo.closed_with(sid))[0] == "transport close"


async def test_server_close_sends_close_packet_to_pending_get(echo, http):
    sid = (await handshake(http, echo))["sid"]
    pending = asyncio.ensure_future(get(http, echo, sid))
    await asyncio.sleep(0.05)
    echo.conns[0].close()
    assert await pending == (200, "1")
    assert (await echo.closed_with(sid))[0] == "forced close"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("transport=polling", 5),
        ("EIO=abc&transport=polling", 5),
        ("EIO=4", 0),
        ("EIO=4&transport=abc", 0),
        ("EIO=4&transport=polling&sid=nope", 1),
        ("EIO=4&transport=websocket", 3),
    ],
)
async def test_bad_requests_get_400_with_node_body(echo, http, query, code):
    async with http.get(echo.endpoint(query)) as resp:
        assert resp.status == 400
        assert resp.headers["Content-Type"] == "application/json"
        body = json.loads(await resp.text())
    assert body["code"] == code
    assert echo.errors[-1]["code"] == code
    assert echo.errors[-1]["message"] == body["message"]


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_post_or_put_without_sid_is_400(echo, http, method):
    async with http.request(method, echo.endpoint("EIO=4&transport=polling"), data="4x") as resp:
        assert resp.status == 400
        assert json.loads(await resp.text()) == {"code": 2, "message": "Bad handshake method"}
