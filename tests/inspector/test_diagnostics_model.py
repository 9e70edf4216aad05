"""The model's side of ``sioscope:diagnostics``: latency per socket, exchanges, refusals,
disconnect reasons and slow connections, driven with the wire shapes, no terminal."""

from __future__ import annotations

from typing import Any

from sioscope.inspector import columns as colmod
from sioscope.inspector.diagnostics import ExchangeRecord, RingView
from sioscope.inspector.model import Model
from sioscope.server.admin import protocol
from tests.inspector.test_model import T0, Clock, wire_socket

MS = int(T0 * 1000)


def message(**kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "timestamp": MS,
        "snapshot": False,
        "loopLag": None,
        "heartbeats": [],
        "exchanges": [],
        "pendingAcks": 0,
        "refusals": [],
        "disconnects": [],
        "dropped": 0,
        "slowConnections": [],
    }
    out.update(kw)
    return out


def refusal(ts: int, kind: str = "engine", message: str = "Transport unknown", **kw: Any) -> dict:
    return {
        "timestamp": ts,
        "kind": kind,
        "code": kw.get("code", 0 if kind == "engine" else None),
        "message": message,
        "data": kw.get("data"),
        "nsp": kw.get("nsp"),
        "address": kw.get("address", "127.0.0.1"),
        "userAgent": kw.get("ua", "curl/8.5.0"),
        "clientId": kw.get("client"),
    }


def attached(features: tuple[str, ...] = (protocol.DIAGNOSTICS_FEATURE,)) -> Model:
    model = Model(clock=Clock())
    model.apply("config", [{"supportedFeatures": ["ALL_EVENTS", *features]}])
    model.apply(
        "all_sockets",
        [
            [
                wire_socket("a1", client="CA"),
                wire_socket("a2", "/chat", client="CA"),
                wire_socket("b1", client="CB"),
                wire_socket("c1", client="CC"),
            ]
        ],
    )
    model.take_changes()
    return model


def test_heartbeats_fill_the_rtt_columns_and_sort_them() -> None:
    model = attached()
    assert {"rtt", "owed"} <= {c.id for c in model.shown_columns()}
    model.apply(
        protocol.EV_DIAGNOSTICS,
        [message(snapshot=True, heartbeats=[["CA", 30, 20, 90, 8], ["CB", 4, 5, 7, 3]])],
    )
    dirty, _ = model.take_changes()
    assert dirty == {"a1", "a2", "b1"}  # every socket of both clients, not c1
    rtt = colmod.COLUMNS["rtt"]
    assert [rtt.cell(model, model.sockets[s]) for s in ("a1", "a2", "b1", "c1")] == [
        "30ms",
        "30ms",
        "4ms",
        "",
    ]
    assert colmod.COLUMNS["rtt99"].cell(model, model.sockets["a1"]) == "90ms"
    model.set_sort("rtt", reverse=False)
    assert model.visible_ids() == ["b1", "a1", "a2", "c1"]  # unknown last
    # A later message moves one client; the sort follows without a full re-sort.
    model.apply(protocol.EV_DIAGNOSTICS, [message(heartbeats=[["CC", 1, 1, 1, 1]])])
    assert model.visible_ids() == ["c1", "b1", "a1", "a2"]
    assert list(model.diag.latency["CA"].history) == [30]
    # A snapshot (a new subscription) replaces what was held.
    model.apply(protocol.EV_DIAGNOSTICS, [message(snapshot=True, heartbeats=[["CB", 9, 9, 9, 4]])])
    assert set(model.diag.latency) == {"CB"}


def test_slow_connections_show_as_owed_and_sort_first() -> None:
    model = attached()
    model.apply(
        protocol.EV_DIAGNOSTICS,
        [message(slowConnections=[["CB", 4 * 1024 * 1024, 2], ["CC", 100_000, 0]])],
    )
    owed = colmod.COLUMNS["owed"]
    assert owed.cell(model, model.sockets["b1"]) == "▲4.0MB"
    assert owed.cell(model, model.sockets["a1"]) == ""
    model.set_sort("owed", reverse=False)
    assert model.visible_ids()[:2] == ["b1", "c1"]
    model.take_changes()
    model.apply(protocol.EV_DIAGNOSTICS, [message(slowConnections=[["CC", 100_000, 0]])])
    dirty, _ = model.take_changes()
    assert dirty == {"b1"}  # caught up: its row is drawn again, without the mark
    assert owed.cell(model, model.sockets["b1"]) == ""


def test_exchanges_name_their_socket_and_filter() -> None:
    model = attached()
    model.apply(
        protocol.EV_DIAGNOSTICS,
        [
            message(
                exchanges=[
                    [MS - 500, "CA", "in", "/chat", 3, "hello", 4],
                    [MS - 400, "CB", "out", "/", 7, "whoami", None],
                    [MS - 300, "CZ", "in", "/", 1, None, 2],
                ],
                pendingAcks=2,
            )
        ],
    )
    diag = model.diag
    assert [(e.socket_id, e.answered) for e in diag.exchanges] == [
        ("a2", True),  # the /chat socket of client CA
        ("b1", False),
        ("", True),  # a client the inspector does not know
    ]
    assert (diag.exchanges_total, diag.unanswered_total, diag.pending_acks) == (3, 1, 2)
    view = RingView(diag.exchanges, ExchangeRecord(0, 0.0, "", "", "", "", 0, None, None))
    assert view.keys() == ["2", "1", "0"]  # newest first
    view.set_filter("state:unanswered")
    assert view.keys() == ["1"]
    model.apply(
        protocol.EV_DIAGNOSTICS, [message(exchanges=[[MS, "CC", "out", "/", 8, "ping", None]])]
    )
    assert view.keys() == ["3", "1"]  # the new one tested once, on arrival


def test_refusals_are_not_doubled_by_a_new_snapshot_and_filter() -> None:
    model = attached()
    first = [refusal(MS - 2000), refusal(MS - 1000, "middleware", "not authorized", nsp="/")]
    model.apply(protocol.EV_DIAGNOSTICS, [message(snapshot=True, refusals=first)])
    model.apply(
        protocol.EV_DIAGNOSTICS, [message(refusals=[refusal(MS, "namespace", "Invalid namespace")])]
    )
    # After a reconnect the server's history comes again, with one more.
    again = [*first, refusal(MS, "namespace", "Invalid namespace"), refusal(MS + 5, ua="wget")]
    model.apply(protocol.EV_DIAGNOSTICS, [message(snapshot=True, refusals=again)])
    diag = model.diag
    assert [r.kind for r in diag.refusals] == ["engine", "middleware", "namespace", "engine"]
    from sioscope.inspector.widgets.errors_view import _PROBE

    view = RingView(diag.refusals, _PROBE)
    view.set_filter("kind:engine ua:wget")
    assert [view.by_key[k].user_agent for k in view.keys()] == ["wget"]


def test_disconnect_reasons_breakdown_lists_nodes_nine() -> None:
    model = attached()
    model.apply(
        protocol.EV_DIAGNOSTICS,
        [
            message(
                timestamp=MS + 2000,
                disconnects=[
                    {"timestamp": MS, "reason": "ping timeout", "count": 2},
                    {"timestamp": MS + 1000, "reason": "ping timeout", "count": 1},
                    {"timestamp": MS + 1000, "reason": "server disconnect", "count": 1},
                ],
            )
        ],
    )
    model.clock.now = T0 + 2.5  # type: ignore[attr-defined]
    breakdown = dict(model.diag.disconnect_breakdown())
    assert len(breakdown) == 10 and breakdown["ping timeout"] == 3
    assert breakdown["server disconnect"] == 1  # python-socketio's string, kept as sent
    series = model.diag.disconnects["ping timeout"].values(model.clock())
    assert series[-2:] == [2.0, 1.0]


def test_a_server_without_the_feature_shows_no_diagnostic_columns() -> None:
    model = attached(features=())
    assert "rtt" in model.columns  # still chosen: it comes back on a server that has it
    shown = [c.id for c in model.shown_columns()]
    assert shown == [c for c in colmod.default_columns() if c not in ("rtt", "owed")]
    from sioscope.inspector.diagnostics import feature_note

    assert "sends no diagnostics" in feature_note(model.features, model.config_received)
