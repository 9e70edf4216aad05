"""python-engineio's AsyncClient (a real peer nobody here wrote) against the echo server."""

from __future__ import annotations

import asyncio

import engineio
import pytest

pytestmark = pytest.mark.interop


async def run_client(echo, transports, payloads):
    client = engineio.AsyncClient()
    got: asyncio.Queue = asyncio.Queue()
    client.on("message", got.put_nowait)
    await asyncio.wait_for(client.connect(echo.url, transports=transports), 5)
    try:
        for data in payloads:
            await client.send(data)
        echoes = [await asyncio.wait_for(got.get(), 3) for _ in payloads]
        return client.transport(), echoes
    finally:
        await asyncio.wait_for(client.disconnect(), 5)


async def wait_for_close(echo):
    conn = echo.conns[0]
    return await echo.closed_with(conn.id, timeout=3)


PAYLOADS = ["hello", b"\x00\x01\xfe\xff", "héllo ✓", b""]


async def test_polling_upgrades_to_websocket_and_echoes(echo):
    transport, echoes = await run_client(echo, ["polling", "websocket"], PAYLOADS)
    assert transport == "websocket"
    assert echoes == PAYLOADS
    assert [type(e) for e in echoes] == [type(p) for p in PAYLOADS]
    conn = echo.conns[0]
    assert conn.upgraded and conn.transport.name == "websocket"
    names = echo.names(conn.id)
    assert names.index("upgrading") < names.index("upgrade") < names.index("message")
    assert (await wait_for_close(echo))[0] == "transport close"


async def test_websocket_only(echo):
    transport, echoes = await run_client(echo, ["websocket"], PAYLOADS)
    assert transport == "websocket" and echoes == PAYLOADS
    assert "upgrade" not in echo.names(echo.conns[0].id)
    assert (await wait_for_close(echo))[0] == "transport close"


async def test_polling_only(echo):
    transport, echoes = await run_client(echo, ["polling"], PAYLOADS)
    assert transport == "polling" and echoes == PAYLOADS
    assert (await wait_for_close(echo))[0] == "transport close"


async def test_event_order_for_one_echo_over_websocket(echo):
    await run_client(echo, ["websocket"], ["ping-me"])
    sid = echo.conns[0].id
    trace = [
        (name, args)
        for s, name, args in echo.events
        if s == sid and name in ("packet", "message", "packetCreate", "flush", "drain")
    ]
    start = trace.index(("packet", ({"type": "message", "data": "ping-me"},)))
    assert trace[start : start + 5] == [
        ("packet", ({"type": "message", "data": "ping-me"},)),
        ("message", ("ping-me",)),
        ("packetCreate", ({"type": "message", "data": "ping-me"},)),
        ("flush", ([{"type": "message", "data": "ping-me"}],)),
        ("drain", ()),
    ]


async def test_heartbeat_keeps_a_quiet_client_alive(echo):
    client = engineio.AsyncClient()
    await asyncio.wait_for(client.connect(echo.url, transports=["websocket"]), 5)
    try:
        conn = echo.conns[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while echo.names(conn.id).count("heartbeat") < 3 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert echo.names(conn.id).count("heartbeat") >= 3
        assert conn.ready_state == "open"
    finally:
        await asyncio.wait_for(client.disconnect(), 5)


async def test_many_clients_with_misbehaving_neighbours(echo, http, monkeypatch):
    """Well-behaved clients on every transport keep echoing while others send garbage."""
    import websockets
    from engineio import payload

    # The client (not the server) drops a whole polling response of more than 16
    # packets unless told otherwise; our server, like Node's, batches without a limit.
    monkeypatch.setattr(payload.Payload, "max_decode_packets", 1000)

    from .helpers import handshake, post

    async def good(transports, tag):
        payloads = [f"{tag}-{i}" for i in range(20)] + [bytes([i]) * 3 for i in range(5)]
        transport, echoes = await run_client(echo, transports, payloads)
        assert echoes == payloads
        return transport

    async def bad_polling():
        sid = (await handshake(http, echo))["sid"]
        await post(http, echo, sid, "\x1e\x1e garbage")

    async def bad_ws():
        async with websockets.connect(echo.ws_endpoint("EIO=4&transport=websocket")) as ws:
            await ws.recv()
            await ws.send("x")
            await asyncio.wait_for(ws.wait_closed(), 3)

    jobs = []
    for i in range(6):
        jobs += [
            good(["polling", "websocket"], f"up{i}"),
            good(["polling"], f"poll{i}"),
            good(["websocket"], f"ws{i}"),
            bad_polling(),
            bad_ws(),
        ]
    results = await asyncio.wait_for(asyncio.gather(*jobs), 20)
    transports = [r for r in results if r is not None]
    assert sorted(set(transports)) == ["polling", "websocket"]
    reasons = [fut.result()[0] for fut in echo.closed.values() if fut.done()]
    assert reasons.count("parse error") == 12
