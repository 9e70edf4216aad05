"""Server options: CORS as Node's `cors`, trust_forwarded, allow_request, transports,
compression, and shutdown."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
import websockets
from aiohttp import web

from .helpers import get, handshake, post, recv


async def test_cors_star_on_every_response_and_preflight(echo, http):
    headers = {"Origin": "http://example.com"}
    async with http.get(echo.endpoint("EIO=4&transport=polling"), headers=headers) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    async with http.get(echo.endpoint("EIO=4&transport=nope"), headers=headers) as resp:
        assert resp.status == 400
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    preflight = {
        **headers,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-token",
    }
    async with http.options(echo.endpoint("EIO=4&transport=polling"), headers=preflight) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Access-Control-Allow-Methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"
        assert resp.headers["Access-Control-Allow-Headers"] == "content-type,x-token"
        assert resp.headers["Vary"] == "Access-Control-Request-Headers"


async def test_cors_list_echoes_allowed_origin_with_credentials(make_echo, http):
    srv = await make_echo(
        cors_allowed_origins=["http://a.test", "http://b.test"], cors_credentials=True
    )
    url = srv.endpoint("EIO=4&transport=polling")
    async with http.get(url, headers={"Origin": "http://b.test"}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "http://b.test"
        assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        assert resp.headers["Vary"] == "Origin"
    async with http.get(url, headers={"Origin": "http://evil.test"}) as resp:
        assert resp.status == 200  # like Node's cors: no header, the browser refuses
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_no_cors_option_means_no_cors_headers(make_echo, http):
    srv = await make_echo(cors_allowed_origins=None)
    url = srv.endpoint("EIO=4&transport=polling")
    async with http.get(url, headers={"Origin": "http://a.test"}) as resp:
        assert resp.status == 200
        assert not [h for h in resp.headers if h.lower().startswith("access-control")]
    async with http.options(url, headers={"Origin": "http://a.test"}) as resp:
        assert resp.status == 400  # no cors middleware: OPTIONS is a bad handshake method


async def test_remote_address_and_forwarded_only_when_trusted(make_echo, http):
    plain = await make_echo()
    trusting = await make_echo(trust_forwarded=True)
    fwd = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    async with http.get(plain.endpoint("EIO=4&transport=polling"), headers=fwd):
        pass
    async with http.get(trusting.endpoint("EIO=4&transport=polling"), headers=fwd):
        pass
    assert plain.conns[0].remote_address == "127.0.0.1"
    assert trusting.conns[0].remote_address == "203.0.113.7"
    conn = plain.conns[0]
    assert conn.request.headers["X-Forwarded-For"] == fwd["X-Forwarded-For"]
    assert conn.secure is False and conn.protocol == 4


async def test_allow_request_refusal_is_403_code_4(make_echo, http):
    async def allow(request):
        if request.query.get("token") != "ok":
            raise PermissionError("no token")

    srv = await make_echo(allow_request=allow)
    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.status == 403
        assert json.loads(await resp.text()) == {"code": 4, "message": "no token"}
    assert srv.errors[-1]["code"] == 4 and srv.errors[-1]["message"] == "Forbidden"
    async with http.get(srv.endpoint("EIO=4&transport=polling&token=ok")) as resp:
        assert resp.status == 200


async def test_websocket_only_server(make_echo, http):
    srv = await make_echo(transports=("websocket",))
    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.status == 400
        assert json.loads(await resp.text())["code"] == 0
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert json.loads((await recv(ws))[1:])["upgrades"] == []


async def test_allow_upgrades_false_advertises_none(make_echo, http):
    srv = await make_echo(allow_upgrades=False)
    assert (await handshake(http, srv))["upgrades"] == []


async def test_permessage_deflate_off_unless_asked(echo, make_echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
    srv = await make_echo(per_message_deflate=True)
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
        await recv(ws)
        await ws.send("4" + "z" * 5000)
        assert await recv(ws) == "4" + "z" * 5000


async def test_http_compression_of_large_polling_responses(make_echo, http):
    srv = await make_echo(http_compression=True)
    sid = (await handshake(http, srv))["sid"]
    big = "4" + "y" * 5000
    await post(http, srv, sid, big)
    url = srv.endpoint(f"EIO=4&transport=polling&sid={sid}")
    async with http.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await resp.read()).decode() == big
    srv.eng.clients[sid].send("z" * 5000, compress=False)  # Node's socket.compress(false)
    async with http.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as resp:
        assert "Content-Encoding" not in resp.headers
        assert await resp.text() == "4" + "z" * 5000


async def test_server_close_shuts_every_conn_down(echo, http):
    """Node's ``engine.close()`` is ``socket.close(true)`` on each: reason ``forced close``
    (``server shutting down`` is a Socket.IO reason, given by ``io.close()`` to sockets)."""
    sid_polling = (await handshake(http, echo))["sid"]
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid_ws = json.loads((await recv(ws))[1:])["sid"]
        await asyncio.wait_for(echo.eng.close(), 3)
        await asyncio.wait_for(ws.wait_closed(), 2)
    assert (await echo.closed_with(sid_polling))[0] == "forced close"
    assert (await echo.closed_with(sid_ws))[0] == "forced close"
    assert echo.eng.clients == {} and echo.eng.clients_count == 0
    assert (await get(http, echo, sid_polling))[0] == 400


async def test_conn_close_over_websocket_flushes_then_closes(echo):
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        conn = echo.eng.clients[sid]
        at_once = conn.transport.writes_at_once
        conn.send("last words")
        conn.close()
        # Node's order: on a socket that writes at once the message is already written,
        # so nothing waits for "drain" and the close completes now; otherwise it waits
        assert conn.ready_state == ("closed" if at_once else "closing")
        assert await recv(ws) == "4last words"
        await asyncio.wait_for(ws.wait_closed(), 2)
    assert (await echo.closed_with(sid))[0] == "forced close"
    assert conn.ready_state == "closed"
    conn.send("dropped")  # silently dropped, no error
    assert conn.write_buffer == []


async def test_conn_close_over_polling_waits_for_next_get(echo, http):
    sid = (await handshake(http, echo))["sid"]
    conn = echo.eng.clients[sid]
    conn.close()
    assert not echo.closed[sid].done()
    assert await get(http, echo, sid) == (200, "6\x1e1")
    assert (await echo.closed_with(sid))[0] == "forced close"


async def test_sends_in_one_tick_leave_in_one_response(echo, http):
    sid = (await handshake(http, echo))["sid"]
    conn = echo.eng.clients[sid]
    conn.send("a")
    conn.send(b"\xff")
    conn.write("c")
    assert await get(http, echo, sid) == (200, "4a\x1eb/w==\x1e4c")
    flushes = [args[0] for s, name, args in echo.events if name == "flush"]
    assert [p.get("data") for p in flushes[-1]] == ["a", b"\xff", "c"]


def test_bad_transport_option_is_a_clear_error():
    from sioscope.server.engine import EngineServer

    with pytest.raises(ValueError, match="unknown transport"):
        EngineServer(transports=("polling", "carrier-pigeon"))


async def test_allow_request_sync_false_is_403_forbidden(make_echo, http):
    srv = await make_echo(allow_request=lambda request: "bad" not in request.query)
    async with http.get(srv.endpoint("EIO=4&transport=polling&bad=1")) as resp:
        assert resp.status == 403
        assert json.loads(await resp.text()) == {"code": 4, "message": "Forbidden"}
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert (await recv(ws))[0] == "0"


async def test_initial_headers_and_headers_events(echo, http):
    seen = []

    @echo.eng.on("initial_headers")
    def first(headers, request):
        headers["X-First"] = "1"
        seen.append(("initial", request.query.get("transport")))

    @echo.eng.on("headers")
    def every(headers, request):
        headers["X-Every"] = "1"

    async with http.get(echo.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.headers["X-First"] == resp.headers["X-Every"] == "1"
        sid = json.loads((await resp.text())[1:])["sid"]
    url = echo.endpoint(f"EIO=4&transport=polling&sid={sid}")
    async with http.post(url, data="4x") as resp:
        assert "X-First" not in resp.headers and resp.headers["X-Every"] == "1"
    async with http.get(url) as resp:
        assert "X-First" not in resp.headers and resp.headers["X-Every"] == "1"
    async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert ws.response.headers["X-First"] == ws.response.headers["X-Every"] == "1"
    async with websockets.connect(echo.ws_endpoint(f"EIO=4&transport=websocket&sid={sid}")) as ws:
        assert "X-First" not in ws.response.headers and ws.response.headers["X-Every"] == "1"
    assert seen == [("initial", "polling"), ("initial", "websocket")]


async def test_cookie_option_sets_the_sid_on_the_handshake_only(make_echo, http):
    srv = await make_echo(cookie=True)
    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        sid = json.loads((await resp.text())[1:])["sid"]
        assert resp.headers["Set-Cookie"] == f"io={sid}; Path=/; HttpOnly; SameSite=Lax"
    async with http.get(srv.endpoint(f"EIO=4&transport=polling&sid={sid}&t=1")) as resp:
        assert "Set-Cookie" not in resp.headers
    custom = await make_echo(cookie={"name": "lb", "httpOnly": False, "maxAge": 60})
    async with websockets.connect(custom.ws_endpoint("EIO=4&transport=websocket")) as ws:
        sid = json.loads((await recv(ws))[1:])["sid"]
        assert ws.response.headers["Set-Cookie"] == f"lb={sid}; Max-Age=60; Path=/; SameSite=Lax"


def test_bad_cookie_option_is_a_clear_error():
    from sioscope.server.engine import EngineServer

    with pytest.raises(ValueError, match="bad cookie option"):
        EngineServer(cookie={"flavour": "chocolate"})


@pytest.mark.parametrize(
    ("given", "routed"),
    [("/engine.io/", "/engine.io/"), ("/engine.io", "/engine.io/"), ("custom", "/custom/")],
)
def test_path_is_normalised_like_node(given, routed):
    from sioscope.server.engine import EngineServer

    assert EngineServer(path=given).path == routed


async def test_custom_path_prefix_match(make_echo, http):
    srv = await make_echo(path="/custom")
    async with http.get(f"{srv.url}/custom/?EIO=4&transport=polling") as resp:
        assert resp.status == 200 and (await resp.text())[0] == "0"
    async with http.get(f"{srv.url}/engine.io/?EIO=4&transport=polling") as resp:
        assert resp.status == 404


async def test_generate_id_can_be_overridden_and_its_failure_is_400(http, make_echo):
    from sioscope.server.engine import EngineServer

    class Numbered(EngineServer):
        count = 0

        async def generate_id(self, request):
            if request.query.get("fail"):
                raise RuntimeError("no ids today")
            Numbered.count += 1
            return f"custom-{Numbered.count}"

    srv = await make_echo(server_class=Numbered)
    sid = (await handshake(http, srv))["sid"]
    assert sid == "custom-1" and "custom-1" in srv.eng.clients
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert json.loads((await recv(ws))[1:])["sid"] == "custom-2"
    async with http.get(srv.endpoint("EIO=4&transport=polling&fail=1")) as resp:
        assert resp.status == 400
        assert json.loads(await resp.text()) == {"code": 3, "message": "Bad request"}
    assert srv.errors[-1]["context"]["name"] == "ID_GENERATION_ERROR"


async def test_initial_packet_follows_the_open_packet(make_echo, http):
    srv = await make_echo(initial_packet="welcome")
    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        body = await resp.text()
    assert body.startswith("0{") and body.endswith("\x1e4welcome")
    async with websockets.connect(srv.ws_endpoint("EIO=4&transport=websocket")) as ws:
        assert (await recv(ws))[0] == "0"
        assert await recv(ws) == "4welcome"


async def test_engine_middlewares_run_on_every_request_and_refuse_with_400(make_echo, http):
    """Node's ``engine.use``: before validation, on handshakes, later requests and
    upgrades alike; a failure is 400 ``Bad request`` with context MIDDLEWARE_FAILURE."""
    srv = await make_echo()
    seen = []
    user = web.RequestKey("user", str)

    @srv.eng.use
    async def token(request):
        seen.append(request.method)
        if request.headers.get("X-Token") != "ok":
            raise PermissionError("no token")
        request[user] = "alice"

    async with http.get(srv.endpoint("EIO=4&transport=polling")) as resp:
        assert resp.status == 400
        assert json.loads(await resp.text()) == {"code": 3, "message": "Bad request"}
    error = srv.errors[-1]
    assert (error["code"], error["context"]) == (3, {"name": "MIDDLEWARE_FAILURE"})
    assert not srv.eng.clients

    good = {"X-Token": "ok"}
    async with http.get(srv.endpoint("EIO=4&transport=polling"), headers=good) as resp:
        sid = json.loads((await resp.text())[1:])["sid"]
    assert srv.eng.clients[sid].request[user] == "alice"
    url = srv.endpoint(f"EIO=4&transport=polling&sid={sid}")
    async with http.post(url, data="4hi") as resp:  # no token on a later request: refused
        assert resp.status == 400
    async with http.post(url, data="4hi", headers=good) as resp:
        assert (resp.status, await resp.text()) == (200, "ok")
    ws_url = srv.ws_endpoint("EIO=4&transport=websocket")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url)
    assert refused.value.response.status_code == 400
    async with websockets.connect(ws_url, additional_headers=good) as ws:
        assert (await recv(ws))[0] == "0"
    assert seen == ["GET", "GET", "POST", "POST", "GET", "GET"]
