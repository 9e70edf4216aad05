"""Differential test: the same raw probes against Node's engine.io and against ours.

Every scenario below drives raw HTTP requests and WebSocket frames and returns what
it observed (statuses, bodies, frames, close codes, the server's close reason), with
the session ids left out. Node's engine.io 6.6.12 (an echo server with the same
settings as ours: ping 300/200 ms, maxPayload 1e6) is the reference: every
observation must be equal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import websockets

from .conftest import ENGINE_HOSTS, LEAN, running_echo
from .helpers import conn_trace, node_engine_server

pytestmark = [pytest.mark.interop, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Target:
    """A server under probe: its base URL, and for a session that closed, its close
    reason followed by the ``conn`` events it saw (flush/drain left out: how sends
    are batched is not an observable rule)."""

    url: str
    reason: Callable[[str], Awaitable[tuple[str, list[dict[str, Any]]]]]

    def http(self, query: str) -> str:
        return f"{self.url}/engine.io/?{query}"

    def ws(self, query: str) -> str:
        return self.http(query).replace("http://", "ws://")


async def _get(s: aiohttp.ClientSession, t: Target, sid: str) -> tuple[int, str]:
    async with s.get(t.http(f"EIO=4&transport=polling&sid={sid}")) as r:
        return r.status, await r.text()


async def _post(s: aiohttp.ClientSession, t: Target, sid: str, body: Any, **kw: Any):
    async with s.post(t.http(f"EIO=4&transport=polling&sid={sid}"), data=body, **kw) as r:
        return r.status, await r.text()


async def _open(s: aiohttp.ClientSession, t: Target) -> str:
    async with s.get(t.http("EIO=4&transport=polling")) as r:
        return json.loads((await r.text())[1:])["sid"]


async def _ws_open(ws: websockets.ClientConnection) -> str:
    return json.loads((await asyncio.wait_for(ws.recv(), 2))[1:])["sid"]


async def handshake(s, t):
    async with s.get(t.http("EIO=4&transport=polling")) as r:
        body = await r.text()
        polling = (r.status, r.headers["Content-Type"], r.headers.get("Cache-Control"))
    open_ = json.loads(body[1:])
    async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
        first = json.loads((await asyncio.wait_for(ws.recv(), 2))[1:])
    strip = {k: v for k, v in open_.items() if k != "sid"}
    return polling, body[0], sorted(open_), strip, {k: v for k, v in first.items() if k != "sid"}


async def bad_requests(s, t):
    out = []
    queries = [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
        "EIO=4",
        "EIO=4&transport=abc",
        "EIO=4&transport=polling&sid=nope",
        "EIO=4&transport=websocket",
    ]
    for q in queries:
        async with s.get(t.http(q)) as r:
            out.append((q, r.status, r.headers.get("Content-Type"), await r.text()))
    for method in ("POST", "PUT", "DELETE"):
        async with s.request(method, t.http("EIO=4&transport=polling"), data="4x") as r:
            out.append((method, r.status, await r.text()))
    sid = await _open(s, t)
    async with s.put(t.http(f"EIO=4&transport=polling&sid={sid}"), data="4x") as r:
        out.append(("PUT with sid", r.status))
    async with s.get(t.http(f"EIO=4&transport=polling&sid={sid}&EIO=3")) as r:
        out.append(("EIO=3 with sid", r.status))
    return out


async def echo_batches(s, t):
    sid = await _open(s, t)
    return [
        await _post(s, t, sid, "4test1\x1e4test2\x1e4test3"),
        await _get(s, t, sid),
        await _post(s, t, sid, "4hello\x1ebAQIDBA=="),
        await _get(s, t, sid),
        await _post(s, t, sid, "4é✓\x1eb\x1e4"),
        await _get(s, t, sid),
    ]


async def invalid_post(s, t):
    sid = await _open(s, t)
    first = await _post(s, t, sid, "abc")
    return first, (await _get(s, t, sid))[0], await t.reason(sid)


async def duplicate_get(s, t):
    sid = await _open(s, t)
    first = asyncio.ensure_future(_get(s, t, sid))
    await asyncio.sleep(0.05)
    second = await _get(s, t, sid)
    return await first, second[0], (await _get(s, t, sid))[0], await t.reason(sid)


async def client_close_over_polling(s, t):
    sid = await _open(s, t)
    pending = asyncio.ensure_future(_get(s, t, sid))
    await asyncio.sleep(0.05)
    posted = await _post(s, t, sid, "1")
    return posted, await pending, (await _get(s, t, sid))[0], await t.reason(sid)


async def oversize_post(s, t):
    sid = await _open(s, t)
    big = await _post(s, t, sid, "4" + "x" * 1_000_000)
    return big[0], await _post(s, t, sid, "4small"), await _get(s, t, sid)


async def octet_stream_post(s, t):
    sid = await _open(s, t)
    headers = {"Content-Type": "application/octet-stream"}
    status = (await _post(s, t, sid, b"\x04abc", headers=headers))[0]
    return status, await t.reason(sid)


async def heartbeat_polling(s, t):
    sid = await _open(s, t)
    out = []
    for _ in range(3):
        out.append(await _get(s, t, sid))
        out.append(await _post(s, t, sid, "3"))
    return out


async def ping_timeout_polling(s, t):
    sid = await _open(s, t)
    await asyncio.sleep(0.6)
    return (await _get(s, t, sid))[0], await t.reason(sid)


async def upgrade(s, t):
    sid = await _open(s, t)
    out: list[Any] = []
    pending = asyncio.ensure_future(_get(s, t, sid))
    async with websockets.connect(t.ws(f"EIO=4&transport=websocket&sid={sid}")) as ws:
        await ws.send("2probe")
        out.append(await asyncio.wait_for(ws.recv(), 2))
        out.append(await pending)
        await ws.send("5")
        await ws.send("4hello")
        out.append(await asyncio.wait_for(ws.recv(), 2))
        out.append((await _get(s, t, sid))[0])
        async with websockets.connect(t.ws(f"EIO=4&transport=websocket&sid={sid}")) as ws2:
            await asyncio.wait_for(ws2.wait_closed(), 2)
            out.append(("second socket", ws2.response.status_code))
        await ws.send(b"\x01\x02")
        out.append(await asyncio.wait_for(ws.recv(), 2))
        await ws.send("2")  # a client ping is an error in v4
        out.append(await t.reason(sid))
    return out


async def websocket_bad_frames(s, t):
    out = []
    for frame in ("abc", "", "2", "9x"):
        async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
            sid = await _ws_open(ws)
            await ws.send(frame)
            out.append((frame, await t.reason(sid)))
    async with websockets.connect(t.ws("EIO=4&transport=websocket"), max_size=None) as ws:
        sid = await _ws_open(ws)
        await ws.send("4" + "x" * 1_000_001)
        await asyncio.wait_for(ws.wait_closed(), 3)
        out.append(("too big", ws.close_code, await t.reason(sid)))
    async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
        sid = await _ws_open(ws)
    out.append(("client closes", await t.reason(sid)))
    return out


async def websocket_heartbeat(s, t):
    async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
        sid = await _ws_open(ws)
        frames = [await asyncio.wait_for(ws.recv(), 1)]
        await ws.send("3")
        await ws.send("1")  # ignored over websocket
        frames.append(await asyncio.wait_for(ws.recv(), 1))
        reason = await t.reason(sid)  # no pong this time
        await asyncio.wait_for(ws.wait_closed(), 2)
    return frames, reason


def _comparable(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in trace if e["ev"] not in ("flush", "drain")]


CORS_HEADERS = ("access-control-", "vary")


def _cors(headers: Any) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith(CORS_HEADERS))


async def cors(s, t):
    origin = {"Origin": "http://example.com"}
    out = []
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-custom",
    }
    async with s.options(t.http("EIO=4&transport=polling"), headers=preflight) as r:
        out.append(("preflight", r.status, _cors(r.headers), await r.text()))
    async with s.get(t.http("EIO=4&transport=polling"), headers=origin) as r:
        out.append(("handshake", r.status, _cors(r.headers)))
        sid = json.loads((await r.text())[1:])["sid"]
    async with s.get(t.http("EIO=4&transport=nope"), headers=origin) as r:
        out.append(("refused", r.status, _cors(r.headers)))
    url = t.http(f"EIO=4&transport=polling&sid={sid}")
    async with s.post(url, data="1", headers=origin) as r:
        out.append(("post", r.status, _cors(r.headers), r.headers["Content-Type"]))
    out.append(await t.reason(sid))
    return out


async def client_packets_of_every_type_over_polling(s, t):
    sid = await _open(s, t)
    posted = await _post(s, t, sid, "6\x1e5\x1e0\x1e4after\x1e3")
    echoed = await _get(s, t, sid)
    closed = await _post(s, t, sid, "4last\x1e1\x1e4ignored")
    return posted, echoed, closed, await t.reason(sid)


async def client_packets_of_every_type_over_websocket(s, t):
    async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
        sid = await _ws_open(ws)
        for frame in ("6", "5", "0", "3", "4after"):
            await ws.send(frame)
        echoed = await asyncio.wait_for(ws.recv(), 2)
    return echoed, await t.reason(sid)


async def server_close_over_polling(s, t):
    out = []
    sid = await _open(s, t)  # close with a GET parked: it gets the close packet
    pending = asyncio.ensure_future(_get(s, t, sid))
    await asyncio.sleep(0.05)
    out += [await _post(s, t, sid, "4close-me"), await pending, (await _get(s, t, sid))[0]]
    out.append(await t.reason(sid))
    sid = await _open(s, t)  # no GET parked: the close waits for the next one
    out += [await _post(s, t, sid, "4bye-close"), await _get(s, t, sid)]
    out += [(await _get(s, t, sid))[0], await t.reason(sid)]
    return out


async def server_close_over_websocket(s, t):
    async with websockets.connect(t.ws("EIO=4&transport=websocket")) as ws:
        sid = await _ws_open(ws)
        await ws.send("4bye-close")
        frames = [await asyncio.wait_for(ws.recv(), 2)]
        await asyncio.wait_for(ws.wait_closed(), 2)
    return frames, await t.reason(sid)


SCENARIOS = [
    server_close_over_polling,
    server_close_over_websocket,
    cors,
    client_packets_of_every_type_over_polling,
    client_packets_of_every_type_over_websocket,
    handshake,
    bad_requests,
    echo_batches,
    invalid_post,
    duplicate_get,
    client_close_over_polling,
    oversize_post,
    octet_stream_post,
    heartbeat_polling,
    ping_timeout_polling,
    upgrade,
    websocket_bad_frames,
    websocket_heartbeat,
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node_target(node_bin) -> AsyncIterator[Target]:
    reasons: dict[str, asyncio.Future[str]] = {}
    traces: dict[str, list[dict[str, Any]]] = {}
    loop = asyncio.get_running_loop()

    def future(sid: str) -> asyncio.Future[str]:
        return reasons.setdefault(sid, loop.create_future())

    async def read_log(stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            event = json.loads(line)
            sid = event.pop("sid")
            traces.setdefault(sid, []).append(event)
            if event["ev"] == "close" and not future(sid).done():
                future(sid).set_result(event["reason"])

    async def reason(sid: str) -> tuple[str, list[dict[str, Any]]]:
        why = await asyncio.wait_for(asyncio.shield(future(sid)), 3)
        return why, _comparable(traces[sid])

    async with node_engine_server(node_bin, "300", "200") as (proc, port):
        assert proc.stdout is not None
        reader = asyncio.ensure_future(read_log(proc.stdout))
        try:
            yield Target(f"http://127.0.0.1:{port}", reason)
        finally:
            reader.cancel()


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=[*ENGINE_HOSTS, LEAN])
async def our_target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """Our echo server on each driver in turn (the httptools host too, whose polling
    path answers without a task): the same scenarios, the same answers."""
    async with running_echo(control=True, host=request.param) as srv:

        async def reason(sid: str) -> tuple[str, list[dict[str, Any]]]:
            why = (await srv.closed_with(sid, timeout=3))[0]
            return why, _comparable(conn_trace(srv, sid))

        yield Target(srv.url, reason)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
async def test_same_observations_as_node(scenario, node_target, our_target):
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        theirs = await scenario(s, node_target)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        ours = await scenario(s, our_target)
    assert ours == theirs
