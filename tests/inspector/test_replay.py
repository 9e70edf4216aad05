"""Captures of a real session, sent again and exported: ``sioscope replay`` against our
server (did it receive the same events, in order, with the captured auth and query?),
``sioscope har`` (Chrome's ``_webSocketMessages``, matching the capture), and the one-line
failures of bad input. The capture is written by ``sioscope record`` in its own process
while a python-socketio client plays a scripted session."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from sioscope.inspector.capture import read_capture
from sioscope.inspector.har import har
from sioscope.inspector.traffic import socket_traffic
from tests.admin.apps import PASSWORD, Running, running_server
from tests.conftest import free_port, start_node_script

BLOB = bytes(range(250, 256)) + b"\x00\x01"


class ChatLog:
    """What the server's /chat namespace saw: auth, query, every event in order."""

    def __init__(self) -> None:
        self.connects: list[tuple[Any, Any]] = []
        self.events: list[tuple[str, list[Any], float]] = []


def _chat(srv: Running, seen: ChatLog) -> None:
    chat = srv.io.of("/chat")

    def gate(socket: Any) -> None:
        if (socket.handshake.get("auth") or {}).get("token") != "abc":
            raise ConnectionRefusedError("bad token")

    chat.use(gate)

    def on_connection(socket: Any) -> None:
        seen.connects.append((socket.handshake.get("auth"), socket.handshake["query"].get("room")))

        def any_event(event: str, *args: Any) -> None:
            args_list = list(args)
            ack = args_list.pop() if args_list and callable(args_list[-1]) else None
            seen.events.append((event, args_list, time.monotonic()))
            if ack is not None:
                ack(f"hi {args_list[0]}")

        socket.on_any(any_event)

    chat.on("connection", on_connection)


async def _sioscope(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sioscope",
        *args,
        env={**os.environ, "SIOSCOPE_TEST_PW": PASSWORD},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[tuple[Running, ChatLog, Path, str, str]]:
    """A server, and a capture of one scripted client session on its /chat."""
    seen = ChatLog()
    out = tmp_path / "session.jsonl"
    async with running_server() as srv:
        _chat(srv, seen)
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "sioscope", "record", srv.url, "-o", str(out)),
            *("--username", "admin", "--password-env", "SIOSCOPE_TEST_PW", "--duration", "60"),
            env={**os.environ, "SIOSCOPE_TEST_PW": PASSWORD},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert b"recording" in line, line
        await asyncio.sleep(0.3)  # the stream subscription is answered before this
        user = socketio.AsyncClient(reconnection=False)
        await user.connect(
            f"{srv.url}?room=r1", namespaces=["/chat", "/"], auth={"token": "abc"}, wait_timeout=10
        )
        sid = user.get_sid("/chat")
        root_sid = user.get_sid("/")
        assert await user.call("hello", "world", namespace="/chat", timeout=5) == "hi world"
        await asyncio.sleep(0.4)
        await user.emit("bin", BLOB, namespace="/chat")
        await asyncio.sleep(0.2)
        await user.emit("bye", {"n": 3}, namespace="/chat")
        await user.emit("message", (1, "2", {"3": [True]}), namespace="/")
        await user.emit("message-with-ack", 7, namespace="/", callback=lambda *a: None)
        await asyncio.sleep(0.3)
        await user.disconnect()
        # Every record handed to the recorder (its cursor at the ring's head), then
        # ctrl+c: the recorder writes what it holds and ends.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        subs = srv.admin.stream.subscribers
        while loop.time() < deadline and not (
            subs and all(s.cursor == s.log.head for s in subs.values())
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the last batch crosses the wire
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
        assert [e for e, _, _ in seen.events] == ["hello", "bin", "bye"]
        seen.events.clear()
        seen.connects.clear()
        yield srv, seen, out, sid, root_sid


async def test_replay_sends_the_same_events_in_order_with_auth_query_and_timing(
    recorded: tuple[Running, ChatLog, Path, str, str],
) -> None:
    srv, seen, path, sid, _ = recorded
    started = time.monotonic()
    # --socket=ID, not --socket ID: a socket id may start with "-" (base64url), which
    # argparse would read as an option
    status, out, err = await _sioscope(
        "replay", str(path), f"--socket={sid}", srv.url, "--speed", "2", "--linger", "0.5"
    )
    assert status == 0, err
    assert seen.connects == [({"token": "abc"}, "r1")]
    assert [(e, a) for e, a, _ in seen.events] == [
        ("hello", ["world"]),
        ("bin", [BLOB]),
        ("bye", [{"n": 3}]),
    ]
    gap = seen.events[-1][2] - seen.events[0][2]
    assert 0.25 <= gap < 2.0, gap  # captured ~0.6 s apart, replayed at 2x
    assert time.monotonic() - started < 20
    lines = out.splitlines()
    assert any("→ EVENT /chat" in x and "hello" in x for x in lines), out
    assert any("← ACK /chat #" in x and '["hi world"]' in x for x in lines), out
    assert any("→ BINARY_EVENT /chat bin" in x for x in lines), out
    assert "replayed 3 packet(s)" in lines[-1]


async def test_har_has_chromes_websocket_shape_and_the_captured_messages(
    recorded: tuple[Running, ChatLog, Path, str, str], tmp_path: Path
) -> None:
    _, _, path, sid, _ = recorded
    status, _, err = await _sioscope(
        "har", str(path), f"--socket={sid}", "-o", str(tmp_path / "x.har")
    )
    assert status == 0, err
    doc = json.loads((tmp_path / "x.har").read_text())
    assert doc == har(socket_traffic(read_capture(path), sid))
    log = doc["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "sioscope"
    (entry,) = log["entries"]
    for key in ("startedDateTime", "time", "request", "response", "cache", "timings"):
        assert key in entry
    assert entry["_resourceType"] == "websocket" and entry["response"]["status"] == 101
    assert entry["request"]["url"].startswith("ws://127.0.0.1:")
    assert {"name": "room", "value": "r1"} in entry["request"]["queryString"]
    messages = entry["_webSocketMessages"]
    for m in messages:
        assert set(m) <= {"type", "time", "opcode", "data"} and m["type"] in ("send", "receive")
        assert m["opcode"] in (1, 2) and isinstance(m["time"], float)
    assert [m["time"] for m in messages] == sorted(m["time"] for m in messages)
    # The messages are the capture's: this client's records, as the WebSocket framed them.
    capture = read_capture(path)
    cid = socket_traffic(capture, sid).client_id
    records = [
        r
        for _, ev, args in capture.events
        if ev == "sioscope:packets"
        for r in args[0]["records"]
        if r[1] == cid and r[2] in ("in", "out") and r[3] != "message"
    ]
    engine = [m for m in messages if m["opcode"] == 1 and not m["data"].startswith("4")]
    assert len(engine) == len(records)  # open, pings, pongs, upgrade, close of the connection
    sent = [m["data"] for m in messages if m["type"] == "send"]
    assert sent[0] == '40/chat,{"token":"abc"}' and sent[-1] == '42/chat,["bye",{"n":3}]'
    hello = next(d for d in sent if '"hello"' in d)
    assert hello.startswith("42/chat,") and hello.endswith('["hello","world"]')
    binary = [m for m in messages if m["opcode"] == 2]
    assert [base64.b64decode(m["data"]) for m in binary] == [BLOB]
    received = [m["data"] for m in messages if m["type"] == "receive"]
    assert any(d.startswith("43/chat,") and d.endswith('["hi world"]') for d in received)


async def test_bad_input_gets_one_line_and_its_status(
    recorded: tuple[Running, ChatLog, Path, str, str], tmp_path: Path
) -> None:
    srv, _, path, sid, _ = recorded
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\x01 not json at all\n")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(path.read_bytes())[:200])
    dead = f"http://127.0.0.1:{free_port()}"
    cases = [
        (("replay", str(garbage), f"--socket={sid}", srv.url), 2, "not a sioscope capture"),
        (("replay", str(cut), f"--socket={sid}", srv.url), 2, "unreadable"),
        (("replay", str(tmp_path / "nope.jsonl"), f"--socket={sid}", srv.url), 2, "cannot read"),
        (("replay", str(path), "--socket=nosuchsocket", srv.url), 2, "no socket 'nosuchsocket'"),
        (("replay", str(path), f"--socket={sid}", dead), 1, "cannot reach"),
        (("replay", str(path), f"--socket={sid}", srv.url, "--speed", "0"), 2, "--speed"),
        (("har", str(path), "--socket=nosuchsocket"), 2, "no socket 'nosuchsocket'"),
        (("har", str(cut), f"--socket={sid}"), 2, "unreadable"),
        (("open", str(cut)), 2, "unreadable"),
    ]
    for args, want_status, want in cases:
        status, _, err = await _sioscope(*args)
        lines = err.strip().splitlines()
        assert status == want_status, (args, err)
        assert len(lines) == 1 and want in lines[0] and "Traceback" not in err, (args, err)


async def test_replay_against_nodes_socketio_server(
    recorded: tuple[Running, ChatLog, Path, str, str], node_bin: str
) -> None:
    """The reference server got the "/" socket's events in order (it echoes each) and
    answered its ack; the same client's /chat packets were not sent (another socket)."""
    _, _, path, chat_sid, root_sid = recorded
    proc, info = await start_node_script(node_bin, "sio-conformance-server.js", timeout=15)
    url = f"http://127.0.0.1:{info['port']}"
    try:
        status, out, err = await _sioscope(
            "replay", str(path), "--socket", root_sid, url, "--linger", "0.5"
        )
        assert status == 0, err
        back = [x.split(" ← ", 1)[1] for x in out.splitlines() if " ← " in x]
        assert back[1:] == [
            'EVENT / auth [{"token":"abc"}]',  # the captured CONNECT auth, sent again
            'EVENT / message-back [1,"2",{"3":[true]}]',
            "ACK / #1 [7]",
        ], out
        assert "replayed 2 packet(s)" in out.splitlines()[-1]
        # /chat is a namespace Node's server does not have: refused, one line, status 1.
        status, _, err = await _sioscope("replay", str(path), "--socket", chat_sid, url)
        assert status == 1 and err.strip().splitlines() == [
            'sioscope: /chat refused the connection: {"message":"Invalid namespace"}'
        ], err
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 10)


async def test_a_node_capture_has_events_only_and_still_exports_and_replays(
    node_admin: Any, tmp_path: Path
) -> None:
    """Node's admin-ui sends no packet stream: a socket's traffic is its events (no ack
    ids, no Engine.IO packets), which HAR shows and replay sends, in order."""
    from sioscope.inspector.capture import CaptureWriter, RecordingModel
    from sioscope.inspector.client import AdminClient, ClientOptions

    path = tmp_path / "node.jsonl"
    writer = CaptureWriter(
        path, source=node_admin.url, namespace="/admin", started_ms=int(time.time() * 1000)
    )
    model = RecordingModel(writer)
    client = AdminClient(ClientOptions(node_admin.url, username="admin", password="s3cret"), model)
    try:
        await client.connect()
        client.start()
        await asyncio.sleep(1.5)  # clients[0] says "hi" every 200 ms
    finally:
        await client.close()
        writer.close()
    chatty = node_admin.sockets[0]
    traffic = socket_traffic(read_capture(path), chatty)
    assert not traffic.streamed and traffic.packets
    messages = har(traffic)["log"]["entries"][0]["_webSocketMessages"]
    assert {(m["type"], m["data"]) for m in messages} == {("send", '42["chat","hi"]')}
    seen: list[tuple[str, tuple[Any, ...]]] = []
    async with running_server() as srv:
        srv.io.on("connection", lambda s: s.on_any(lambda e, *a: seen.append((e, a))))
        status, _, err = await _sioscope(
            "replay", str(path), "--socket", chatty, srv.url, "--speed", "4", "--linger", "0.3"
        )
    assert status == 0, err
    assert err.splitlines()[0] == (
        "sioscope: the capture has no packet stream (not a sioscope server): "
        "replaying its events, without ack ids"
    )
    assert seen == [("chat", ("hi",))] * len(messages)
