"""Whole payloads and fan-out ids in the packet stream (stream rule 5), end to end and
rule by rule."""

from __future__ import annotations

import asyncio
import base64

import socketio

from sioscope.server.admin import stream
from sioscope.server.admin.stream import PacketLog, Subscriber, full_record

from .apps import PASSWORD, running_server
from .client import AdminClient

GOOD = {"username": "admin", "password": PASSWORD}


def test_full_record_carries_text_binary_and_nothing_past_the_limit() -> None:
    long = "4" + "x" * 500
    rec, used = full_record((1, "c", "in", "message", long), None)
    assert rec[5] == long[: stream.PREVIEW_CHARS] and rec[6] == long and used == 501
    rec, used = full_record((1, "c", "out", "message", b"\x00\xff"), 7)
    assert rec[5] is None and rec[6] == {"base64": base64.b64encode(b"\x00\xff").decode()}
    assert rec[7] == 7 and used == 2
    big = "x" * (stream.PAYLOAD_LIMIT + 1)
    rec, used = full_record((1, "c", "in", "message", big), None)
    assert rec[6] is None and rec[4] == len(big) and used == 0
    rec, _ = full_record((1, "c", "drain", None, None), None)
    assert rec == [1, "c", "drain", None, 0, None, None, None]


def test_one_encoding_shares_a_fanout_id_across_batches_and_singles_do_not() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, interval=0.0, payloads=True)
    shared = "".join(["2", '["news","hello everyone"]'])  # one object, three recipients
    log.append((1, "a", "out", "message", shared))
    log.append((1, "b", "out", "message", shared))
    log.append((1, "a", "out", "message", "".join(["2", '["dm","to a"]'])))
    first = sub.poll(0.0)
    assert first is not None
    sub.ack()
    log.append((2, "c", "out", "message", shared))  # the broadcast goes on next batch
    log.append((2, "c", "in", "message", shared))  # never for what came in
    second = sub.poll(1.0)
    assert second is not None
    ids = [r[7] for r in first["records"] + second["records"]]
    assert ids[0] == ids[1] == ids[3] == 0
    assert ids[2] == 2 and ids[4] is None


def test_a_batch_stops_at_its_payload_budget_and_the_rest_follows() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, interval=0.0, payloads=True)
    chunk = "x" * (stream.PAYLOAD_LIMIT - 1)
    n = stream.MAX_BATCH_PAYLOAD // len(chunk) + 3
    for i in range(n):
        log.append((i, "a", "in", "message", chunk))
    got = []
    for t in range(5):
        batch = sub.poll(float(t))
        sub.ack()
        if batch is not None:
            assert sum(len(r[6] or "") for r in batch["records"][:-1]) < stream.MAX_BATCH_PAYLOAD
            got.append(len(batch["records"]))
    assert len(got) == 2 and sum(got) == n


async def test_payload_subscriber_gets_whole_packets_and_broadcast_fanout_ids() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("config")
        await admin.command("sioscope:subscribe", {"packets": True, "payloads": True})
        await admin.wait_for("sioscope:snapshot")
        users = []
        for _ in range(3):
            user = socketio.AsyncClient(reconnection=False)
            await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
            users.append(user)
        try:
            cids = {u.eio.sid[:12] for u in users}
            text = "x" * 300
            await users[0].emit("hello", [text, b"\x01\x02\x03"])
            srv.io.emit("news", {"n": 1})

            def news(batch: dict) -> bool:
                return sum(1 for r in batch["records"] if "news" in (r[6] or "")) >= 1

            await admin.wait_for("sioscope:packets", news)
            await asyncio.sleep(0.3)
            records = [r for (b,) in admin.named("sioscope:packets") for r in b["records"]]
            sent = [r for r in records if r[2] == "out" and "news" in (r[6] or "")]
            assert {r[1] for r in sent} == cids
            assert len({r[7] for r in sent}) == 1 and sent[0][7] is not None
            welcome = [r for r in records if r[2] == "out" and "welcome" in (r[6] or "")]
            assert welcome and welcome[0][7] not in {sent[0][7]}
            header = next(r for r in records if r[2] == "in" and "hello" in (r[6] or ""))
            assert text in header[6] and len(header[5]) == stream.PREVIEW_CHARS
            assert header[4] == len(header[6])
            attachment = records[records.index(header) + 1]
            assert attachment[6] == {"base64": base64.b64encode(b"\x01\x02\x03").decode()}
        finally:
            for user in users:
                await user.disconnect()
            await admin.close()
