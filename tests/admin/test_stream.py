"""The packet stream's rules (server/admin/stream.py docstring), one by one, no I/O."""

from __future__ import annotations

import pytest

from sioscope.server.admin.stream import PREVIEW_CHARS, PacketLog, Subscriber, wire_record


def _fill(log: PacketLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append((1000 + i, "cid", "in", "message", f"p{i}"))


def test_wire_record_measures_utf8_and_previews_text_only() -> None:
    assert wire_record((1, "c", "in", "message", "héllo")) == [1, "c", "in", "message", 6, "héllo"]
    assert wire_record((1, "c", "out", "message", b"\x00\x01\x02")) == [
        1,
        "c",
        "out",
        "message",
        3,
        None,
    ]
    assert wire_record((1, "c", "drain", None, None)) == [1, "c", "drain", None, 0, None]
    long = "x" * 500
    rec = wire_record((1, "c", "in", "message", long))
    assert rec[4] == 500 and rec[5] == "x" * PREVIEW_CHARS


def test_ring_is_bounded_and_reports_lost_records() -> None:
    log = PacketLog(capacity=10)
    _fill(log, 25)
    records, lost, nxt = log.read(0, 100)
    assert lost == 15 and nxt == 25
    assert [r[4] for r in records] == [f"p{i}" for i in range(15, 25)]
    assert len(log._buf) == 10


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PacketLog(capacity=0)


def test_subscriber_starts_at_head_and_numbers_batches_from_one() -> None:
    log = PacketLog(capacity=100)
    _fill(log, 5)  # before subscribing: never sent
    sub = Subscriber(log, interval=0.1)
    assert sub.poll(0.0) is None  # nothing new yet
    _fill(log, 3, start=5)
    batch = sub.poll(1.0)
    assert batch is not None
    assert batch["seq"] == 1 and batch["dropped"] == 0
    assert [r[5] for r in batch["records"]] == ["p5", "p6", "p7"]


def test_rate_limit_and_in_flight_gate() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, interval=0.1)
    _fill(log, 1)
    assert sub.poll(10.0)["seq"] == 1
    _fill(log, 1, start=1)
    assert sub.poll(10.05) is None  # in flight and too soon
    sub.ack()
    assert sub.poll(10.05) is None  # drained, but still within the interval
    b2 = sub.poll(10.11)
    assert b2 is not None and b2["seq"] == 2
    _fill(log, 1, start=2)
    assert sub.poll(10.5) is None  # not drained: held back
    assert sub.poll(100.0) is None  # however long it takes
    sub.ack()
    b3 = sub.poll(100.0)
    assert b3 is not None and b3["seq"] == 3


def test_max_batch_splits_backlog_without_losing_it() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, max_batch=4, interval=0.0)
    _fill(log, 10)
    seen: list[str] = []
    now = 0.0
    for _ in range(10):
        now += 1
        batch = sub.poll(now)
        sub.ack()
        if batch is None:
            break
        assert len(batch["records"]) <= 4 and batch["dropped"] == 0
        seen += [r[5] for r in batch["records"]]
    assert seen == [f"p{i}" for i in range(10)]


def test_slow_subscriber_counts_drops_and_memory_stays_bounded() -> None:
    log = PacketLog(capacity=50)
    sub = Subscriber(log, max_batch=1000, interval=0.1)
    _fill(log, 1)
    assert sub.poll(0.0)["seq"] == 1  # in flight (a stalled client)
    _fill(log, 500, start=1)
    assert sub.poll(0.5) is None
    sub.ack()  # it finally drained
    batch = sub.poll(3.0)
    assert batch is not None and batch["seq"] == 2
    assert batch["dropped"] == 450 and len(batch["records"]) == 50
    assert sub.total_dropped == 450
    assert len(log._buf) == 50


def test_drops_alone_still_produce_a_batch_so_the_client_knows() -> None:
    log = PacketLog(capacity=5)
    sub = Subscriber(log, max_batch=5, interval=0.0)
    _fill(log, 20)
    batch = sub.poll(1.0)
    assert batch["dropped"] == 15 and len(batch["records"]) == 5


def test_restart_begins_a_new_sequence_at_the_head() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, interval=0.0)
    _fill(log, 3)
    assert sub.poll(1.0)["seq"] == 1
    sub.ack()
    _fill(log, 3, start=3)
    sub.restart()
    assert sub.poll(2.0) is None  # records before the restart are skipped
    _fill(log, 1, start=6)
    batch = sub.poll(3.0)
    assert batch["seq"] == 1 and [r[5] for r in batch["records"]] == ["p6"]


def test_hidden_clients_are_never_sent_and_the_set_is_bounded() -> None:
    log = PacketLog(capacity=100)
    sub = Subscriber(log, interval=0.0)
    log.append((1, "admin", "in", "message", "x"))
    log.append((2, "user", "in", "message", "y"))
    log.hide("admin")
    batch = sub.poll(1.0)
    assert [r[1] for r in batch["records"]] == ["user"]
    for i in range(10):
        log.hide(f"c{i}", keep=3)
    assert list(log.hidden) == ["c7", "c8", "c9"]
