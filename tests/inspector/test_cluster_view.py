"""The inspector across a cluster: the SERVER column and ``server:`` filter, the
Dashboard per server and for the cluster, and a server that stops reporting."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from sioscope.inspector import cluster
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.model import Model
from sioscope.inspector.widgets.socket_table import SocketTable
from tests.inspector.test_model import Clock, wire_socket


def stats(server_id: str, clients: int, packets_in: int = 0) -> dict[str, Any]:
    return {
        "serverId": server_id,
        "hostname": "host",
        "pid": 1,
        "uptime": 60.0,
        "clientsCount": clients,
        "pollingClientsCount": 0,
        "aggregatedEvents": [
            {"timestamp": 1_795_556_800_000, "type": "packetsIn", "count": packets_in}
        ],
        "namespaces": [{"name": "/", "socketsCount": clients}],
    }


def cluster_model() -> tuple[Model, Clock]:
    """Three servers reporting every 2 s; sockets a, b on s1, c on s2, d of a Node
    server (no serverId)."""
    clock = Clock()
    model = Model(clock=clock)
    sockets = []
    for sid, server in (("a", "s1"), ("b", "s1"), ("c", "s2"), ("d", None)):
        raw = wire_socket(sid)
        if server is not None:
            raw["serverId"] = server
        sockets.append(raw)
    model.apply("all_sockets", [sockets])
    for _ in range(4):
        for server, clients in (("s1", 2), ("s2", 1), ("s3", 1)):
            model.apply("server_stats", [stats(server, clients, packets_in=10)])
        clock.now += 2.0
    return model, clock


def test_each_socket_names_its_server_in_the_server_column_and_filter() -> None:
    model, _clock = cluster_model()
    # two servers' sockets are listed: SERVER joined the columns by itself, after NSP
    shown = [c.id for c in model.shown_columns()]
    assert shown[shown.index("nsp") + 1] == "server"
    col = cluster.SERVER_COLUMN
    assert {s: col.cell(model, model.sockets[s]) for s in "abcd"} == {
        "a": "s1",
        "b": "s1",
        "c": "s2",
        "d": "?",  # a Node server's socket: not guessed among three servers
    }
    model.set_filter("server:s1")
    assert sorted(model.visible_ids()) == ["a", "b"]
    model.set_filter("!server:s1")
    assert sorted(model.visible_ids()) == ["c", "d"]
    model.set_filter("")
    model.set_sort("server", reverse=False)
    assert model.visible_ids() == ["d", "a", "b", "c"]  # "?" sorts first, then by server
    # a user who removes the column keeps it removed
    model.set_columns([c for c in model.columns if c != "server"])
    model.apply("server_stats", [stats("s1", 2)])
    assert "server" not in model.columns


def test_a_lone_server_or_unnamed_sockets_do_not_add_the_column() -> None:
    model = Model(clock=Clock())
    model.apply("all_sockets", [[wire_socket("a"), wire_socket("b")]])
    for server in ("n1", "n2"):  # a Node cluster: stats from two, no socket named
        model.apply("server_stats", [stats(server, 1)])
    assert "server" not in model.columns
    lone = Model(clock=Clock())
    lone.apply("all_sockets", [[wire_socket("a")]])
    lone.apply("server_stats", [stats("only", 1)])
    assert cluster.server_of(lone, lone.sockets["a"]) == "only"  # the one reporting


def test_a_server_that_stops_reporting_is_stale_after_three_intervals() -> None:
    model, clock = cluster_model()
    assert abs(model.servers["s1"].interval - 2.0) < 0.01
    # s2 goes silent; the others keep reporting every 2 s
    for _ in range(3):
        for server in ("s1", "s3"):
            model.apply("server_stats", [stats(server, 2, packets_in=10)])
        clock.now += 2.0
    now = clock()
    assert model.servers["s2"].stale(now)  # 8 s silent > 3 x 2 s
    assert not model.servers["s1"].stale(now)
    assert cluster.SERVER_COLUMN.cell(model, model.sockets["c"]) == "s2 (stale)"
    lines = cluster.server_lines(model)
    assert "1 stale" in lines[0]
    at = {line.split()[0]: i for i, line in enumerate(lines)}
    assert "stale: no stats for 8s" in lines[at["s2"]]
    s1, s1_rates = lines[at["s1"]], lines[at["s1"] + 1]
    assert "reporting[/] (2s ago)" in s1 and "sockets 2" in s1
    assert "in 5 pkt/s" in s1_rates  # 10 packets in its last 2 s
    # the cluster line sums the servers still reporting only
    assert lines[-2] == "[b]cluster[/b]  2 of 3 reporting  clients 4  sockets 2"
    assert "in 10 pkt/s" in lines[-1]


def test_a_server_on_a_faster_timer_is_stale_sooner() -> None:
    clock = Clock()
    model = Model(clock=clock)
    for _ in range(10):
        model.apply("server_stats", [stats("fast", 1)])
        clock.now += 0.5
    assert model.servers["fast"].interval < 0.7
    clock.now += 1.6
    assert model.servers["fast"].stale(clock())


async def test_the_app_shows_the_server_column_and_the_cluster_dashboard() -> None:
    model, clock = cluster_model()
    clock.now += 10.0
    for server in ("s1", "s3"):
        model.apply("server_stats", [stats(server, 2)])
    app = InspectorApp(model, None, source="cluster test")
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(SocketTable)
        header = "".join(seg.text for seg in table.render_line(0))
        assert "SERVER" in header
        body = "\n".join("".join(seg.text for seg in table.render_line(y)) for y in range(1, 5))
        assert "s2 (stale)" in body and "s1" in body
        await pilot.press("4")
        await pilot.pause()
        servers = str(app.query_one("#dash-servers", Static).render())
        assert "s2" in servers and "stale" in servers and "2 of 3 reporting" in servers


def test_batches_of_other_servers_keep_their_own_sequence() -> None:
    model, _clock = cluster_model()
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s1"}])
    record = [1_795_556_800_000, "c", "in", "message", 3, '2["x"]']
    for batch in (
        {"seq": 1, "dropped": 0, "records": [record]},
        {"seq": 1, "dropped": 0, "records": [record], "serverId": "s2"},
        {"seq": 2, "dropped": 0, "records": [record]},
        {"seq": 2, "dropped": 0, "records": [record], "serverId": "s2"},
        {"seq": 1, "dropped": 0, "records": [record], "serverId": "s3"},
    ):
        model.apply("sioscope:packets", [batch])
    assert model.gaps == 0 and not model.resync_needed
    model.apply("sioscope:packets", [{"seq": 5, "dropped": 0, "records": [], "serverId": "s2"}])
    assert model.gaps == 1 and not model.resync_needed  # counted; our resync cannot mend it


def test_the_packet_filter_names_each_records_server_and_fanouts_stay_per_server() -> None:
    model, _clock = cluster_model()
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s1"}])
    ts = 1_795_556_800_000

    def out(cid: str, text: str, fanout: int) -> list[Any]:
        return [ts, cid, "out", "message", len(text), text, text, fanout]

    # Fan-out ids are positions in each server's own ring: s1's 7 and s2's 7 are two
    # unrelated encodings, two rows (not one row with two recipients).
    model.apply("sioscope:packets", [{"seq": 1, "dropped": 0, "records": [out("a", '2["x"]', 7)]}])
    model.apply(
        "sioscope:packets",
        [{"seq": 1, "dropped": 0, "records": [out("c", '2["y"]', 7)], "serverId": "s2"}],
    )
    rows = list(model.packets.view)
    assert [(r.client_id, r.event, r.server_id, r.recipients) for r in rows] == [
        ("a", "x", "s1", []),
        ("c", "y", "s2", []),
    ]
    model.packets.set_filter("server:s2")  # a field of packets too, not of sockets only
    assert [r.client_id for r in model.packets.view] == ["c"]
    model.packets.set_filter("!server:s2")
    assert [r.client_id for r in model.packets.view] == ["a"]
