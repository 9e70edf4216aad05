"""The diagnostics accumulators (server/admin/diagnostics.py), rule by rule, with made-up
times: nothing there reads a clock."""

from __future__ import annotations

import random

from sioscope.server.admin import diagnostics as d


def test_percentile_is_nearest_rank() -> None:
    assert d.percentile([1, 2, 3, 4], 0.5) == 2
    assert d.percentile([1, 2, 3, 4], 0.99) == 4
    assert d.percentile([7], 0.5) == 7
    assert d.percentile(list(range(1, 101)), 0.99) == 99


def test_parse_ack_head_reads_type_nsp_id_and_name() -> None:
    assert d.parse_ack_head('21["chat","hi"]') == (True, "/", 1, "chat")
    assert d.parse_ack_head('2/admin,17["x"]') == (True, "/admin", 17, "x")
    assert d.parse_ack_head('31["ok"]') == (False, "/", 1, None)
    assert d.parse_ack_head("3/a,9[]") == (False, "/a", 9, None)
    assert d.parse_ack_head('51-2["up",{"_placeholder":true,"num":0}]') == (True, "/", 2, "up")
    assert d.parse_ack_head('61-/b,4[{"_placeholder":true,"num":0}]') == (False, "/b", 4, None)
    assert d.parse_ack_head('2["no ack"]') is None
    assert d.parse_ack_head("0") is None and d.parse_ack_head("") is None
    assert d.parse_ack_head('21["say \\"hi\\""]') == (True, "/", 1, 'say "hi"')
    assert d.parse_ack_head("21[42]") == (True, "/", 1, None)


def test_parse_connect_error() -> None:
    assert d.parse_connect_error('4/nope,{"message":"Invalid namespace"}') == (
        "/nope",
        "Invalid namespace",
        None,
    )
    assert d.parse_connect_error('4{"message":"no","data":{"why":1}}') == ("/", "no", {"why": 1})
    assert d.parse_connect_error("4{broken") is None


def test_heartbeats_pair_ping_with_pong_over_a_window() -> None:
    hb = d.HeartbeatTracker(window=3)
    hb.pong("a", 5)  # rule 3: no ping pending, ignored
    assert hb.summary("a") is None and hb.take_changed() == []
    for sent, rtt in [(0, 10), (100, 30), (200, 20), (300, 40)]:
        hb.ping("a", sent)
        hb.pong("a", sent + rtt)
    # window 3 keeps 30, 20, 40: last 40, p50 30, p99 40
    assert hb.summary("a") == ["a", 40, 30, 40, 3]
    assert hb.take_changed() == [["a", 40, 30, 40, 3]]
    assert hb.take_changed() == []  # only what changed since
    hb.ping("b", 0)
    hb.pong("b", 7)
    assert hb.all() == [["a", 40, 30, 40, 3], ["b", 7, 7, 7, 1]]
    hb.forget("a")
    assert hb.all() == [["b", 7, 7, 7, 1]]


def test_heartbeat_window_matches_a_sort_of_the_last_samples() -> None:
    # The window keeps its sorted copy up to date pong by pong: after every pong the
    # summary must be what sorting the last `window` samples gives (rule 5).
    rng = random.Random(14)
    for window in (1, 2, 5, d.HEARTBEAT_WINDOW):
        hb = d.HeartbeatTracker(window=window)
        seen: list[int] = []
        for i in range(200):
            rtt = rng.choice([0, 1, 1, 2, 3, 5, 8, 13, 400, rng.randint(0, 2000)])
            hb.ping("a", i * 100)
            hb.pong("a", i * 100 + rtt)
            seen.append(rtt)
            last = sorted(seen[-window:])
            expected = ["a", rtt, d.percentile(last, 0.5), d.percentile(last, 0.99), len(last)]
            assert hb.summary("a") == expected
            assert hb.take_changed() == [expected]


def test_lag_meter() -> None:
    lag = d.LagMeter()
    assert lag.take() is None
    lag.sample(1.0, 1.002)
    lag.sample(2.0, 2.050)
    lag.sample(3.0, 2.999)  # early wake: 0, never negative
    taken = lag.take()
    assert taken == {"last": 0.0, "max": 50.0, "p50": 2.0, "p99": 50.0}
    assert lag.take() is None


def test_acks_pair_both_directions_and_expire() -> None:
    acks = d.AckPairer(timeout_ms=1000)
    acks.message(100, "c1", False, '21["hello","x"]')  # the client asks
    acks.message(130, "c1", True, '31["ok"]')  # the server answers
    acks.message(200, "c1", True, '2/chat,5["ask"]')  # the server asks on /chat
    acks.message(260, "c1", False, "3/chat,5[1]")  # the client answers
    acks.message(300, "c1", True, '31["stray"]')  # an ack nobody asked for: ignored
    acks.message(400, "c2", False, '27["never"]')  # never answered
    acks.message(450, "c1", False, '31["wrong direction"]')  # id 1 "out" is not pending
    assert acks.take() == [
        [100, "c1", "in", "/", 1, "hello", 30],
        [200, "c1", "out", "/chat", 5, "ask", 60],
    ]
    assert acks.pending == 1
    acks.expire(1399)
    assert acks.take() == []
    acks.expire(1400)
    assert acks.take() == [[400, "c2", "in", "/", 7, "never", None]]
    assert acks.pending == 0


def test_acks_are_bounded() -> None:
    acks = d.AckPairer()
    for i in range(d.MAX_PENDING + 5):
        acks.message(i, "c", False, f'2{i}["e"]')
    assert acks.pending == d.MAX_PENDING and acks.dropped == 5
    # the oldest went: id 0 has no pending event any more
    acks.message(10**6, "c", True, "30[]")
    assert acks.take() == []


def _refusal(n: int) -> d.Refusal:
    return {
        "timestamp": n,
        "kind": "engine",
        "code": 0,
        "message": "Transport unknown",
        "data": None,
        "nsp": None,
        "address": "127.0.0.1",
        "userAgent": None,
        "clientId": None,
    }


def test_refusal_log_history_never_repeats_what_comes_next() -> None:
    log = d.RefusalLog()
    log.add(_refusal(1))
    assert log.take() == [_refusal(1)]
    log.add(_refusal(2))
    # a new subscriber starts from 1; 2 comes in the next take
    assert log.history() == [_refusal(1)]
    assert log.take() == [_refusal(2)]
    assert log.history() == [_refusal(1), _refusal(2)] and log.total == 2


def test_disconnect_counts_per_second_and_reason() -> None:
    counts = d.DisconnectCounts()
    counts.push(1_000, "transport close")
    counts.push(1_999, "transport close")
    counts.push(1_500, "ping timeout")
    counts.push(2_000, "transport close")
    assert counts.take() == [
        {"timestamp": 1000, "reason": "transport close", "count": 2},
        {"timestamp": 1000, "reason": "ping timeout", "count": 1},
        {"timestamp": 2000, "reason": "transport close", "count": 1},
    ]
    assert counts.take() == []


def test_slow_connections_are_the_ones_owing_past_64_kib_most_owed_first() -> None:
    from types import SimpleNamespace

    from sioscope.server.admin.diagnostics_observer import SLOW_MAX, DiagnosticsObserver

    def conn(cid: str, owed: int, dropped: int = 0) -> SimpleNamespace:
        return SimpleNamespace(id=cid * 4, owed_bytes=owed, dropped_packets=dropped)

    clients = {"a": conn("aaaa", 10), "b": conn("bbbb", 70_000, 3), "c": conn("cccc", 900_000)}
    clients.update({f"x{i}": conn(f"x{i:03d}", 100_000 + i) for i in range(30)})
    observer = DiagnosticsObserver(SimpleNamespace(clients=clients), None, None, None)
    message = observer.tick(1000)
    slow = message["slowConnections"]
    assert len(slow) == SLOW_MAX
    assert slow[0] == ["cccccccccccc", 900_000, 0]
    assert [row[1] for row in slow] == sorted((row[1] for row in slow), reverse=True)
    assert all(row[0] != "aaaaaaaaaaaa" for row in slow)


def test_a_full_tick_stops_registering_questions_but_still_pairs_answers() -> None:
    acks = d.AckPairer(timeout_ms=1000)
    acks.message(0, "c", False, '2900000["early"]')  # asked before the tick filled up
    for i in range(d.MAX_EXCHANGES):
        acks.message(1, "c", False, f'2{i}["e"]')
        acks.message(2, "c", True, f"3{i}[]")
    acks.message(3, "c", False, '2999999["late"]')  # not registered: counted
    assert acks.dropped == 1 and acks.pending == 1
    acks.message(4, "c", True, "3900000[]")  # answered: leaves pending, not recorded
    assert acks.pending == 0 and acks.dropped == 2
    assert len(acks.take()) == d.MAX_EXCHANGES
    acks.expire(10_000)
    assert acks.take() == []  # nothing falsely unanswered


def test_slow_connections_scan_a_slice_a_tick_and_keep_the_known_ones_fresh() -> None:
    """At 10,000 connections a pass over all of them each second was most of what the
    diagnostics cost the server: a tick reads at most SLOW_SCAN of them, plus the known
    slow ones; a new slow one is found within a round, one that caught up leaves at once."""
    from types import SimpleNamespace

    from sioscope.server.admin.diagnostics_observer import SLOW_SCAN, DiagnosticsObserver

    reads = 0

    class Conn:
        def __init__(self, cid: str) -> None:
            self.id, self.dropped_packets, self.owed = cid, 0, 0

        @property
        def owed_bytes(self) -> int:
            nonlocal reads
            reads += 1
            return self.owed

    clients = {f"c{i:011d}x": Conn(f"c{i:011d}x") for i in range(SLOW_SCAN * 5 // 2)}
    observer = DiagnosticsObserver(SimpleNamespace(clients=clients), None, None, None)
    last = list(clients.values())[-1]
    last.owed = 500_000
    found_at = None
    for tick in range(1, 4):
        reads = 0
        slow = observer.slow_connections()
        assert reads <= SLOW_SCAN + len(slow) + 1
        if slow and found_at is None:
            found_at = tick
    assert found_at == 3  # the third slice holds it
    last.owed = 2_000_000
    reads = 0
    assert observer.slow_connections()[0][1] == 2_000_000  # fresh, though not in this slice
    last.owed = 0
    assert observer.slow_connections() == []  # caught up: gone at once
