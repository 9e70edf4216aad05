"""The opt-in Engine.IO packet stream (docs/admin-extension.md), end to end."""

from __future__ import annotations

import asyncio
import time

import socketio

from .apps import PASSWORD, running_server
from .client import AdminClient

GOOD = {"username": "admin", "password": PASSWORD}
OPT_IN = {**GOOD, "sioscope": {"packets": True}}
KINDS = {"in", "out", "drain", "upgrade", "close"}


async def _user(url: str, transports: list[str] | None = None) -> socketio.AsyncClient:
    user = socketio.AsyncClient(reconnection=False)
    await asyncio.wait_for(user.connect(url, transports=transports or ["websocket"]), 10)
    return user


def _records(admin: AdminClient) -> list[list]:
    return [r for (batch,) in admin.named("sioscope:packets") for r in batch["records"]]


async def test_opted_in_admin_gets_snapshot_then_sequenced_batches() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        plain = AdminClient()
        await admin.connect(srv.url, OPT_IN)
        await plain.connect(srv.url, GOOD)
        names = [ev for ev, _ in admin.events]
        (snap,) = await admin.wait_for("sioscope:snapshot")
        assert snap == {"seq": 0, "serverId": "parity"}
        await admin.wait_for("all_sockets")
        names = [ev for ev, _ in admin.events]
        assert names.index("sioscope:snapshot") == names.index("all_sockets") - 1
        user = await _user(srv.url, ["polling", "websocket"])
        try:
            cid = user.eio.sid[:12]
            await user.emit("hello", "world")
            await admin.wait_for(
                "sioscope:packets",
                lambda b: any(
                    r[1] == cid and r[2] == "in" and "hello" in (r[5] or "") for r in b["records"]
                ),
            )
            await user.disconnect()
            await admin.wait_for(
                "sioscope:packets",
                lambda b: any(r[1] == cid and r[2] == "close" for r in b["records"]),
            )
        finally:
            await user.disconnect()
        batches = [b for (b,) in admin.named("sioscope:packets")]
        assert [b["seq"] for b in batches] == list(range(1, len(batches) + 1))
        assert all(b["dropped"] == 0 for b in batches)
        records = _records(admin)
        for ts, rcid, kind, _type, size, preview in records:
            assert isinstance(ts, int) and ts > 1_600_000_000_000
            assert len(rcid) == 12 and kind in KINDS and isinstance(size, int)
            assert preview is None or (isinstance(preview, str) and len(preview) <= 120)
        mine = [r for r in records if r[1] == cid]
        assert {r[2] for r in mine} >= {"in", "out", "drain", "upgrade", "close"}
        assert ["upgrade"] == [r[2] for r in mine if r[2] == "upgrade"]
        assert next(r for r in mine if r[2] == "upgrade")[3] == "websocket"
        # Rule 2: the admin connections' own traffic is never streamed.
        assert not {admin.client_id, plain.client_id} & {r[1] for r in records}
        # Not opted in: nothing of the extension.
        assert not plain.named("sioscope:packets") and not plain.named("sioscope:snapshot")
        await admin.close()
        await plain.close()


async def test_subscribe_command_resync_and_unsubscribe() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("all_sockets")
        mark = len(admin.events)
        await admin.command("sioscope:subscribe", {"packets": True})
        assert await admin.wait_for("sioscope:snapshot", since=mark) == (
            {"seq": 0, "serverId": "parity"},
        )
        user = await _user(srv.url)
        try:
            await user.emit("hello", "a")
            await admin.wait_for("sioscope:packets")
            mark = len(admin.events)
            await admin.command("sioscope:resync")
            await admin.wait_for("sioscope:snapshot", since=mark)
            (sockets,) = await admin.wait_for("all_sockets", since=mark)
            assert [s["id"] for s in sockets] == [user.get_sid("/")]
            await user.emit("hello", "b")
            (first,) = await admin.wait_for("sioscope:packets", since=mark)
            assert first["seq"] == 1  # a resync restarts the sequence
            await admin.command("sioscope:subscribe", {"packets": False})
            await admin.command("sioscope:subscribe", "sync")  # refused: answers in order
            mark = len(admin.events)
            await admin.wait_for("sioscope:command_error")
            await user.emit("hello", "c")
            await admin.wait_for(
                "event_received", lambda n, i, a, t: a == ["hello", "c"], since=mark
            )
            await asyncio.sleep(0.25)  # > two flush intervals: a batch would have come
            assert not [ev for ev, _ in admin.events[mark:] if ev == "sioscope:packets"]
        finally:
            await user.disconnect()
            await admin.close()


async def test_batches_are_paced_and_overflow_is_counted() -> None:
    async with running_server(stream_capacity=50, mode="production") as srv:
        admin = AdminClient()
        await admin.connect(srv.url, OPT_IN)
        await admin.wait_for("sioscope:snapshot")
        user = await _user(srv.url)
        try:
            start = time.monotonic()
            mark = len(admin.events)
            while time.monotonic() - start < 1.0:
                await asyncio.gather(*(user.emit("hello", "x" * 10) for _ in range(50)))
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            batches = [args[0] for ev, args in admin.events[mark:] if ev == "sioscope:packets"]
            assert 3 <= len(batches) <= 14  # ~10 a second at most, over ~1.2 s
            assert all(len(b["records"]) <= 50 for b in batches)
            assert sum(b["dropped"] for b in batches) > 0  # the ring of 50 overflowed
            seqs = [b["seq"] for b in batches]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        finally:
            await user.disconnect()
            await admin.close()


async def test_toggling_the_subscription_leaves_no_listeners_behind() -> None:
    async with running_server(mode="production") as srv:
        admin = AdminClient()
        await admin.connect(srv.url, OPT_IN)
        await admin.wait_for("sioscope:snapshot")
        (sock,) = srv.admin.nsp.sockets.values()

        def counts() -> tuple[int, int]:
            return (
                len(sock.conn._events.get("drain", [])),
                len(sock._events.get("disconnect", [])),
            )

        subscribed = counts()
        try:
            for _ in range(20):
                await admin.command("sioscope:subscribe", {"packets": False})
                await admin.command("sioscope:subscribe", {"packets": True})
            mark = len(admin.events)
            await admin.command("sioscope:subscribe", {"packets": False})
            await admin.command("sioscope:subscribe", "bad")  # answered in order: a sync point
            await admin.wait_for("sioscope:command_error", since=mark)
            assert sock.id not in srv.admin.subscribers
            assert counts()[0] == subscribed[0] - 1  # the one drain listener went with it
            assert counts()[1] <= subscribed[1]
        finally:
            await admin.close()
        assert counts()[0] <= subscribed[0] - 1
