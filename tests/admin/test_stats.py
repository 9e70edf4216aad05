"""Node's EventBuffer semantics for server_stats.aggregatedEvents."""

from __future__ import annotations

from sioscope.server.admin.stats import EventBuffer, byte_length


def test_byte_length_is_node_buffer_bytelength() -> None:
    assert byte_length("abc") == 3
    assert byte_length("é€") == 5
    assert byte_length(b"\x00" * 7) == 7
    assert byte_length(None) == 0


def test_counts_are_grouped_per_second_type_and_subtype() -> None:
    buf = EventBuffer()
    buf.push(1_000_250, "rawConnection")
    buf.push(1_000_900, "rawConnection")
    buf.push(1_000_100, "rawDisconnection", "transport close")
    buf.push(1_001_000, "rawConnection")
    assert buf.values_and_clear() == [
        {"timestamp": 1_000_000, "type": "rawConnection", "count": 2},
        {
            "timestamp": 1_000_000,
            "type": "rawDisconnection",
            "subType": "transport close",
            "count": 1,
        },
        {"timestamp": 1_001_000, "type": "rawConnection", "count": 1},
    ]
    assert buf.values_and_clear() == []


def test_packet_fast_path_folds_per_second() -> None:
    buf = EventBuffer()
    buf.packet_in(5_000_100, 10)
    buf.packet_in(5_000_200, 5)
    buf.packet_out(5_000_300, 100)
    buf.packet_in(5_001_050, 1)  # next second
    values = buf.values_and_clear()
    by_key = {(v["timestamp"], v["type"]): v["count"] for v in values}
    assert by_key == {
        (5_000_000, "packetsIn"): 2,
        (5_000_000, "bytesIn"): 15,
        (5_000_000, "packetsOut"): 1,
        (5_000_000, "bytesOut"): 100,
        (5_001_000, "packetsIn"): 1,
        (5_001_000, "bytesIn"): 1,
    }
    # Cleared, including the fast counters.
    assert buf.values_and_clear() == []
    buf.packet_out(5_001_500, 3)
    assert buf.values_and_clear() == [
        {"timestamp": 5_001_000, "type": "packetsOut", "count": 1},
        {"timestamp": 5_001_000, "type": "bytesOut", "count": 3},
    ]
