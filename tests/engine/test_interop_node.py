"""npm engine.io-client 6.6.8 (a real peer nobody here wrote) against the echo server."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import INTEROP_DIR

from .conftest import running_echo
from .helpers import conn_trace, node_engine_server

pytestmark = pytest.mark.interop


async def run_node(
    node_bin: str, url: str, transports: str, count: int = 3, mode: str = "after-upgrade"
) -> dict:
    proc = await asyncio.create_subprocess_exec(
        node_bin,
        "engine-client.js",
        url,
        transports,
        str(count),
        mode,
        cwd=INTEROP_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_engine_io_client_upgrades_and_echoes(echo, node_bin):
    report = await run_node(node_bin, echo.url, "polling,websocket")
    assert report["echoesMatch"] is True, report
    assert report["transports"] == ["polling", "websocket"]
    assert report["finalTransport"] == "websocket"
    conn = echo.conns[0]
    assert report["sid"] == conn.id and conn.upgraded
    reason, _ = await echo.closed_with(conn.id, timeout=3)
    assert reason == "transport close"
    names = echo.names(conn.id)
    # Node's order: upgrading then upgrade, the messages after it, close last
    assert names.index("upgrading") < names.index("upgrade") < names.index("message")
    assert names[-1] == "close"
    # every flush is followed by its drain before the next flush
    flow = [n for n in names if n in ("flush", "drain")]
    assert flow and flow == ["flush", "drain"] * (len(flow) // 2)
    created = [args[0] for s, n, args in echo.events if s == conn.id and n == "packetCreate"]
    received = [args[0] for s, n, args in echo.events if s == conn.id and n == "packet"]
    assert [p for p in created if p["type"] == "message"] == [
        p for p in received if p["type"] == "message"
    ]


async def test_engine_io_client_messages_cross_the_upgrade(echo, node_bin):
    report = await run_node(node_bin, echo.url, "polling,websocket", count=30, mode="eager")
    assert report["echoesMatch"] is True, report
    assert report["finalTransport"] == "websocket"
    conn = echo.conns[0]
    assert conn.upgraded
    assert (await echo.closed_with(conn.id, timeout=3))[0] == "transport close"


async def test_engine_io_client_websocket_only(echo, node_bin):
    report = await run_node(node_bin, echo.url, "websocket")
    assert report["echoesMatch"] is True, report
    assert report["transports"] == ["websocket"] and report["upgraded"] is None


async def test_engine_io_client_polling_only_with_big_batches(echo, node_bin):
    report = await run_node(node_bin, echo.url, "polling", count=40)
    assert report["echoesMatch"] is True, report
    assert report["finalTransport"] == "polling"
    assert (await echo.closed_with(echo.conns[0].id, timeout=3))[0] == "transport close"


def _comparable(trace: list[dict]) -> list[dict]:
    """Drop what depends on timing: batching (flush/drain) and heartbeats."""
    return [
        e
        for e in trace
        if e["ev"] not in ("flush", "drain", "heartbeat")
        and e.get("type") not in ("ping", "pong", "noop")
    ]


@pytest.mark.parametrize("transports", ["polling,websocket", "websocket", "polling"])
async def test_conn_events_match_node_engine_io(node_bin, transports, engine_host):
    async with (
        node_engine_server(node_bin) as (node, port),
        running_echo(ping_interval=5, ping_timeout=5, host=engine_host) as srv,
    ):
        assert node.stdout is not None
        node_report = await run_node(node_bin, f"http://127.0.0.1:{port}", transports, 2)
        our_report = await run_node(node_bin, srv.url, transports, 2)
        assert node_report["echoesMatch"] and our_report["echoesMatch"]
        assert node_report["transports"] == our_report["transports"]
        await srv.closed_with(srv.conns[0].id, timeout=3)
        node_trace: list[dict] = []
        while not node_trace or node_trace[-1]["ev"] != "close":
            line = await asyncio.wait_for(node.stdout.readline(), 5)
            node_trace.append(json.loads(line))
        for e in node_trace:
            e.pop("sid")
        ours = conn_trace(srv, srv.conns[0].id)
        assert _comparable(ours) == _comparable(node_trace)
        # flush is always followed by drain, in both
        for trace in (ours, node_trace):
            flow = [e["ev"] for e in trace if e["ev"] in ("flush", "drain")]
            assert flow == ["flush", "drain"] * (len(flow) // 2)
