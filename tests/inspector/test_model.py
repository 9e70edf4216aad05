"""The inspector's model, fed the official event shapes (admin-ui.md §2.3/2.4)."""

from __future__ import annotations

import pytest

from sioscope.inspector.filtering import Filter, FilterError
from sioscope.inspector.model import Model
from sioscope.inspector.packet_log import PacketLog
from sioscope.inspector.records import PacketRecord, deep_merge

T0 = 1_795_556_800.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def wire_socket(sid: str, nsp: str = "/", rooms: list[str] | None = None, **kw) -> dict:
    return {
        "id": sid,
        "clientId": kw.get("client", sid[:12]),
        "transport": kw.get("transport", "polling"),
        "nsp": nsp,
        "data": kw.get("data", {}),
        "handshake": {
            "address": kw.get("address", "127.0.0.1"),
            "headers": {"user-agent": "node-XMLHttpRequest"},
            "query": {"EIO": "4", "transport": "polling"},
            "issued": kw.get("issued", int(T0 * 1000)),
            "secure": False,
            "time": "Tue Nov 24 2026 21:46:55 GMT+0000 (Coordinated Universal Time)",
            "url": "/socket.io/?EIO=4&transport=polling",
            "xdomain": False,
        },
        "rooms": rooms if rooms is not None else [sid],
    }


@pytest.fixture
def model() -> Model:
    return Model(clock=Clock())


def test_snapshot_then_deltas(model: Model) -> None:
    model.apply(
        "config", [{"supportedFeatures": ["EMIT", "DISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]}]
    )
    model.apply("all_sockets", [[wire_socket("aaa"), wire_socket("bbb", "/chat")]])
    assert set(model.sockets) == {"aaa", "bbb"}
    model.apply(
        "socket_connected", [wire_socket("ccc", data={"user": "carol"}), "2026-11-24T21:46:55.855Z"]
    )
    model.apply("room_joined", ["/", "lobby", "ccc", "2026-11-24T21:46:55.855Z"])
    assert model.sockets["ccc"].rooms == ["ccc", "lobby"]
    assert model.rooms()["/"]["lobby"] == ["ccc"]
    model.apply("room_left", ["/", "lobby", "ccc", "2026-11-24T21:46:58.559Z"])
    assert model.sockets["ccc"].rooms == ["ccc"]
    model.apply("socket_disconnected", ["/", "ccc", "transport close", "2026-11-24T21:46:59.961Z"])
    assert "ccc" not in model.sockets
    # a delta for an unknown socket changes nothing
    model.apply("room_joined", ["/", "lobby", "zzz", "2026-11-24T21:46:55.855Z"])
    assert "zzz" not in model.sockets
    assert model.can("DISCONNECT") and not model.can("JOIN")


def test_events_before_connect_ack_and_before_snapshot(model: Model) -> None:
    # session and room_joined come before the CONNECT ack and before all_sockets
    model.apply("session", ["8931c0c4cf0aef75"])
    model.apply("room_joined", ["/admin", "adm1", "adm1", "2026-11-24T21:47:19.274Z"])
    model.apply("config", [{"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}])
    model.apply("all_sockets", [[wire_socket("adm1", "/admin")]])
    assert model.session_id == "8931c0c4cf0aef75"
    assert model.sockets["adm1"].rooms == ["adm1"]


def test_socket_updated_is_a_deep_merge(model: Model) -> None:
    model.apply(
        "all_sockets", [[wire_socket("a", data={"user": {"name": "alice", "tags": [1, 2]}})]]
    )
    model.apply(
        "socket_updated", [{"id": "a", "nsp": "/", "data": {"user": {"age": 3}, "score": 1}}]
    )
    assert model.sockets["a"].data == {
        "user": {"name": "alice", "tags": [1, 2], "age": 3},
        "score": 1,
    }
    model.apply("socket_updated", [{"id": "a", "nsp": "/", "transport": "websocket"}])
    assert model.sockets["a"].transport == "websocket"
    assert deep_merge({"l": [{"a": 1}, 2]}, {"l": [{"b": 2}]}) == {"l": [{"a": 1, "b": 2}, 2]}


def test_malformed_events_never_raise(model: Model) -> None:
    model.apply("socket_connected", [])
    model.apply("server_stats", ["not a dict"])
    model.apply("room_joined", [None])
    model.apply("what_is_this", [1, 2])
    assert model.unknown_events["what_is_this"] == 1
    assert model.unknown_events["malformed server_stats"] == 1


def test_filter_grammar(model: Model) -> None:
    model.apply(
        "all_sockets",
        [
            [
                wire_socket(
                    "alpha", rooms=["alpha", "lobby"], transport="websocket", data={"user": "ann"}
                ),
                wire_socket("beta", "/chat", rooms=["beta", "vip"], address="10.0.0.7"),
                wire_socket("gamma", rooms=["gamma", "lobby"]),
            ]
        ],
    )
    cases = {
        "": ["alpha", "beta", "gamma"],
        "lobby": ["alpha", "gamma"],
        "room:vip": ["beta"],
        "!polling": ["alpha"],
        "transport:polling room:lobby": ["gamma"],
        "10.0.0": ["beta"],
        "data:ann": ["alpha"],
        "re:^(al|ga)": ["alpha", "gamma"],
        "nsp:/chat": ["beta"],
    }
    model.set_sort("id")
    for expr, expected in cases.items():
        model.set_filter(expr)
        assert model.visible_ids() == expected, expr
    with pytest.raises(FilterError):
        model.set_filter("colour:red")
    with pytest.raises(FilterError):
        model.set_filter("re:(")
    assert model.filter.expression == "nsp:/chat"  # the bad ones left the last good filter


def test_sort_and_cache(model: Model) -> None:
    model.apply(
        "all_sockets",
        [
            [
                wire_socket("b", issued=int(T0 * 1000) + 2000),
                wire_socket("a", issued=int(T0 * 1000) + 5000, rooms=["a", "x", "y"]),
                wire_socket("c", issued=int(T0 * 1000) + 1000),
            ]
        ],
    )
    model.set_sort("age", reverse=False)
    assert model.visible_ids() == ["c", "b", "a"]
    model.set_sort("age")  # same key again flips the order
    assert model.visible_ids() == ["a", "b", "c"]
    model.set_sort("rooms", reverse=True)
    assert model.visible_ids()[0] == "a"
    first = model.visible_ids()
    assert model.visible_ids() is first  # cached while nothing changed
    model.apply("socket_updated", [{"id": "c", "nsp": "/", "transport": "websocket"}])
    assert model.visible_ids() is first  # nothing moved in the order: the same list
    model.apply("room_joined", ["/", "r", "b", None])
    model.apply("room_joined", ["/", "q", "b", None])
    moved = model.visible_ids()
    assert moved is not first and moved == ["b", "a", "c"]  # b: 3 rooms, after a by id


def test_visible_ids_follow_the_filter_through_updates(model: Model) -> None:
    """An update that turns a socket in or out of the filter changes the list; one
    that does not keeps it (the same object, nothing recomputed)."""
    model.apply("all_sockets", [[wire_socket("a"), wire_socket("b"), wire_socket("c")]])
    model.set_sort("id", reverse=False)
    model.set_filter("transport:websocket")
    assert model.visible_ids() == []
    model.apply("socket_updated", [{"id": "b", "nsp": "/", "transport": "websocket"}])
    shown = model.visible_ids()
    assert shown == ["b"]
    model.apply("socket_updated", [{"id": "b", "nsp": "/", "data": {"n": 1}}])
    model.apply("socket_updated", [{"id": "c", "nsp": "/", "data": {"n": 1}}])
    assert model.visible_ids() is shown  # still matching / still not
    model.apply("socket_updated", [{"id": "a", "nsp": "/", "transport": "websocket"}])
    assert model.visible_ids() == ["a", "b"]
    model.apply("socket_disconnected", ["/", "b", "transport close"])
    assert model.visible_ids() == ["a"]


def test_take_changes_tracks_keys(model: Model) -> None:
    model.apply("all_sockets", [[wire_socket("a"), wire_socket("b")]])
    dirty, structural = model.take_changes()
    assert dirty == {"a", "b"} and structural
    model.apply("room_joined", ["/", "r", "a", None])
    assert model.take_changes() == ({"a"}, False)
    assert model.take_changes() == (set(), False)


def test_server_stats_multi_server_and_health(model: Model) -> None:
    clock = model.clock
    assert isinstance(clock, Clock)
    stats = {
        "serverId": "s1",
        "hostname": "vm",
        "pid": 1,
        "uptime": 2.0,
        "clientsCount": 5,
        "pollingClientsCount": 2,
        "aggregatedEvents": [
            {"timestamp": int((T0 - 1) * 1000), "type": "rawConnection", "count": 4},
            {"timestamp": int((T0 - 1) * 1000), "type": "bytesOut", "count": 1654},
            {
                "timestamp": int((T0 - 1) * 1000),
                "type": "rawDisconnection",
                "subType": "transport close",
                "count": 3,
            },
        ],
        "namespaces": [{"name": "/", "socketsCount": 3}, {"name": "/admin", "socketsCount": 1}],
    }
    model.apply("config", [{"supportedFeatures": ["AGGREGATED_EVENTS"]}])  # production
    model.apply("server_stats", [stats])
    model.apply("server_stats", [dict(stats, serverId="s2", clientsCount=1, pollingClientsCount=1)])
    assert model.clients() == (3, 3)
    assert model.namespaces() == {"/": 6, "/admin": 2}
    assert model.series["connections"].last(T0) == 8
    assert model.series["bytesOut"].values(T0)[-1] == 3308
    assert [ok for _, ok in model.server_health()] == [True, True]  # both, healthy
    clock.now += 11
    model.apply("server_stats", [dict(stats, serverId="s2")])
    health = dict((s.server_id, ok) for s, ok in model.server_health())
    assert health == {"s1": False, "s2": True}


def test_packet_stream_gap_sets_resync(model: Model) -> None:
    model.apply("config", [{"supportedFeatures": ["ALL_EVENTS", "X_SIOSCOPE_PACKETS"]}])
    model.apply("all_sockets", [[wire_socket("sock1", client="XzESIe3kwZmq")]])
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s"}])
    rec = [int(T0 * 1000), "XzESIe3kwZmq", "in", "message", 27, '2["chat","hi"]']
    model.apply("sioscope:packets", [{"seq": 1, "dropped": 0, "records": [rec]}])
    model.apply(
        "sioscope:packets",
        [
            {
                "seq": 2,
                "dropped": 0,
                "records": [rec, [int(T0 * 1000), "XzESIe3kwZmq", "upgrade", "websocket", 0, None]],
            }
        ],
    )
    assert not model.take_resync()
    assert len(model.packets.view) == 3
    assert model.packets.view[2].type == "upgrade:websocket"
    assert model.packets.for_socket(model.sockets["sock1"])[0].preview == '2["chat","hi"]'
    model.apply("sioscope:packets", [{"seq": 4, "dropped": 7, "records": []}])
    assert model.take_resync() and not model.take_resync()
    assert model.gaps == 1 and model.dropped == 7
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s"}])
    model.apply("sioscope:packets", [{"seq": 1, "dropped": 0, "records": []}])
    assert not model.take_resync()


def test_packet_records_find_their_socket_as_sockets_come_and_go(model: Model) -> None:
    """The clientId -> socket index is kept as sockets connect and leave (it is not
    rebuilt per batch): a client's message goes to the socket of its namespace, its
    other packets to its only socket, or to nobody while it has two."""
    model.apply("config", [{"supportedFeatures": ["ALL_EVENTS", "X_SIOSCOPE_PACKETS"]}])
    model.apply("all_sockets", [[wire_socket("root1", client="C1")]])
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s"}])
    seq = iter(range(1, 100))

    def owners(*records: list[object]) -> list[str]:
        model.apply("sioscope:packets", [{"seq": next(seq), "dropped": 0, "records": records}])
        return [r.socket_id for r in list(model.packets.records)[-len(records) :]]

    ping = [int(T0 * 1000), "C1", "out", "ping", 1, None]
    chat = [int(T0 * 1000), "C1", "in", "message", 9, '2/chat,["hi"]']
    assert owners(ping) == ["root1"]
    model.apply("socket_connected", [wire_socket("chat1", nsp="/chat", client="C1")])
    assert owners(ping, chat) == ["", "chat1"]  # two sockets: the ping is the client's
    model.apply("socket_disconnected", ["/", "root1", "client namespace disconnect"])
    assert owners(ping, chat) == ["chat1", "chat1"]
    model.apply("socket_disconnected", ["/chat", "chat1", "transport close"])
    assert owners(ping, chat) == ["", ""]
    model.apply("all_sockets", [[wire_socket("root2", client="C1")]])  # replaces all
    assert owners(ping, chat) == ["root2", ""]


def test_node_fallback_events_fill_the_packet_log(model: Model) -> None:
    model.apply("config", [{"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}])
    model.apply("all_sockets", [[wire_socket("s1")]])
    model.apply("event_received", ["/", "s1", ["hello", "world"], "2026-11-24T21:46:57.353Z"])
    model.apply("event_sent", ["/", "s1", ["welcome", {"n": 42}], "2026-11-24T21:46:57.354Z"])
    view = list(model.packets.view)
    assert [(r.direction, r.sio, r.event, r.args_text()) for r in view] == [
        ("in", "EVENT", "hello", '["world"]'),
        ("out", "EVENT", "welcome", '[{"n":42}]'),
    ]
    assert view[1].preview == '["welcome",{"n":42}]'
    assert model.packets.for_socket(model.sockets["s1"]) == view


def _rec(i: int, direction: str = "in", type_: str = "message") -> PacketRecord:
    return PacketRecord(T0 + i, f"c{i % 3}", direction, type_, i, f"p{i}")


def test_packet_log_pause_filter_and_bounds() -> None:
    log = PacketLog(capacity=100)
    log.append(_rec(i) for i in range(10))
    log.pause()
    log.append(_rec(i, "out") for i in range(10, 15))
    assert len(log.view) == 10 and log.pending == 5
    log.resume()
    assert len(log.view) == 15 and log.pending == 0
    log.set_filter("dir:out")
    assert len(log.view) == 5
    log.pause()
    log.append([_rec(20, "in"), _rec(21, "out")])
    assert log.pending == 1  # only what matches the filter is pending
    log.resume()
    log.append(_rec(i) for i in range(1000))
    assert len(log.records) == 100 and log.total == 1017
    with pytest.raises(FilterError):
        log.set_filter("colour:x")


def test_filter_negated_regex_field() -> None:
    flt = Filter("!type:re:^p[io]ng$")
    assert flt.matches(_rec(1))
    assert not flt.matches(_rec(1, type_="ping"))


def test_incremental_order_matches_a_full_sort(model: Model) -> None:
    import random

    rng = random.Random(3)
    model.apply(
        "all_sockets",
        [
            [
                wire_socket(
                    f"s{i:03d}",
                    issued=int(T0 * 1000) + rng.randint(0, 10**6),
                    rooms=[f"s{i:03d}"] * rng.randint(1, 3),
                )
                for i in range(200)
            ]
        ],
    )
    for key in ("age", "rooms", "id", "transport"):
        model.set_sort(key, reverse=False)
        model.visible_ids()
        for step in range(300):  # churn: connects, disconnects, room and transport changes
            sid = rng.choice(list(model.sockets))
            roll = rng.random()
            if roll < 0.3:
                model.apply("socket_disconnected", ["/", sid, "transport close", None])
                new = f"n{key}{step}"
                model.apply(
                    "socket_connected", [wire_socket(new, issued=rng.randint(0, 10**12)), None]
                )
            elif roll < 0.6:
                model.apply("room_joined", ["/", f"r{step}", sid, None])
            elif roll < 0.8:
                model.apply("room_left", ["/", sid, sid, None])
            else:
                model.apply("socket_updated", [{"id": sid, "nsp": "/", "transport": "websocket"}])
            if step % 50 == 0:
                expected = [
                    s.id
                    for s in sorted(model.sockets.values(), key=lambda s: model.sort_value(key, s))
                ]
                assert model.visible_ids() == expected
        model.set_sort(key, reverse=True)
        expected = [
            s.id
            for s in sorted(
                model.sockets.values(), key=lambda s: model.sort_value(key, s), reverse=True
            )
        ]
        assert model.visible_ids() == expected


def test_gauge_series_carry_the_last_level() -> None:
    from sioscope.inspector.series import Series

    gauge, counter = Series(length=5, gauge=True), Series(length=5)
    gauge.set(100, 7.0)
    gauge.set(102, 9.0)
    counter.add(100, 7.0)
    assert gauge.values(104.5) == [0.0, 7.0, 7.0, 9.0, 9.0]  # seconds 99..103
    assert counter.values(104.5) == [0.0, 7.0, 0.0, 0.0, 0.0]


def test_rates_do_not_fall_to_zero_between_two_stats(model: Model) -> None:
    """server_stats come every 2 s with one aggregated count per second. The rate was
    the last finished second's bucket, and every other second that bucket was not yet
    reported: the dashboard read 100/s, 0/s, 100/s, ... for a steady 100/s."""
    shown = []
    for tick in range(8):  # 8 seconds at 4 Hz
        for quarter in range(4):
            now = T0 + tick + quarter / 4
            model.clock.now = now  # type: ignore[attr-defined]
            if tick % 2 == 0 and quarter == 0:  # a stats every 2 s, the two last seconds
                model.apply(
                    "server_stats",
                    [
                        {
                            "serverId": "s",
                            "aggregatedEvents": [
                                {
                                    "timestamp": int((now - k) * 1000),
                                    "type": "packetsIn",
                                    "count": 100,
                                }
                                for k in (2, 1)
                            ],
                        }
                    ],
                )
            shown.append(model.series["packetsIn"].last(now))
    assert shown[4:] == [100.0] * len(shown[4:]), shown
    assert max(model.series["packetsIn"].values(T0 + 8)) == 100.0


def test_rooms_are_cached_until_membership_or_the_filter_changes(model: Model) -> None:
    model.apply("all_sockets", [[wire_socket("a", rooms=["a", "r"]), wire_socket("b")]])
    first = model.rooms(filtered=True)
    assert first["/"]["r"] == ["a"]
    model.apply("socket_updated", [{"id": "a", "nsp": "/", "data": {"n": 1}}])
    assert model.rooms(filtered=True) is first  # data only: the same rooms
    model.apply("room_joined", ["/", "r", "b", None])
    assert model.rooms(filtered=True)["/"]["r"] == ["a", "b"]
    model.set_filter("b")
    assert model.rooms(filtered=True)["/"]["r"] == ["b"]
    assert model.rooms()["/"]["r"] == ["a", "b"]  # unfiltered: everyone
    model.set_filter("")
    assert model.rooms(filtered=True)["/"]["r"] == ["a", "b"]
