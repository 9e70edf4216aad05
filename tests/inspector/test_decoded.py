"""Decoded packets (the Packets view shows Socket.IO meaning): the model fed stream
records, our server end to end, and the keys that open, expand and hide."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import socketio

from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.model import Model
from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.screens.packet_detail import PacketDetailScreen, describe, hexdump

from .conftest import wait_for
from .test_model import T0, Clock, wire_socket

CID = "XzESIe3kwZmq"
MS = int(T0 * 1000)


def _model() -> Model:
    model = Model(clock=Clock())
    model.apply("config", [{"supportedFeatures": ["ALL_EVENTS", "X_SIOSCOPE_PACKETS"]}])
    model.apply(
        "all_sockets",
        [[wire_socket("sockRoot", client=CID), wire_socket("sockChat", "/chat", client=CID)]],
    )
    model.apply("sioscope:snapshot", [{"seq": 0, "serverId": "s"}])
    return model


def _feed(model: Model, *records: list[Any]) -> None:
    seq = model.seq_expected or 1
    model.apply("sioscope:packets", [{"seq": seq, "dropped": 0, "records": list(records)}])


def _rec(kind: str, text: str | None, ptype: str = "message", **kw: Any) -> list[Any]:
    size = kw.get("size", len(text.encode()) if text else 0)
    rec = [MS, kw.get("cid", CID), kind, ptype, size, text[:120] if text else None]
    if "payload" in kw or "fanout" in kw:
        rec += [kw.get("payload"), kw.get("fanout")]
    return rec


def test_events_acks_and_connects_are_decoded_with_their_socket() -> None:
    model = _model()
    _feed(
        model,
        _rec("in", '2/chat,17["hello",{"to":"you"},3]'),
        _rec("out", '3/chat,17["ok"]'),
        _rec("in", '0{"token":"t"}'),
        _rec("out", '4{"message":"not authorized"}'),
        _rec("out", "1/chat,"),
    )
    rows = [
        (r.sio, r.nsp, r.socket_id, r.ack_id, r.event, r.args_text()) for r in model.packets.view
    ]
    assert rows == [
        ("EVENT", "/chat", "sockChat", 17, "hello", '[{"to":"you"},3]'),
        ("ACK", "/chat", "sockChat", 17, None, '["ok"]'),
        ("CONNECT", "/", "sockRoot", None, None, '{"token":"t"}'),
        ("CONNECT_ERROR", "/", "sockRoot", None, None, '{"message":"not authorized"}'),
        ("DISCONNECT", "/chat", "sockChat", None, None, ""),
    ]
    model.packets.set_filter("event:hello")
    assert [r.ack_id for r in model.packets.view] == [17]
    model.packets.set_filter("type:ACK")
    assert [r.sio for r in model.packets.view] == ["ACK"]


def test_binary_attachments_fold_into_their_packet_with_whole_payloads() -> None:
    model = _model()
    blob = b"\x00\x01\xfe\xff"
    head = '51-/chat,["file",{"_placeholder":true,"num":0},"name.bin"]'
    _feed(
        model,
        _rec("in", head, payload=head),
        _rec("in", None, size=4, payload={"base64": base64.b64encode(blob).decode()}),
    )
    (rec,) = model.packets.view
    assert (rec.sio, rec.event, rec.socket_id) == ("BINARY_EVENT", "file", "sockChat")
    assert rec.args == [blob, "name.bin"] and rec.frames == [head, blob]
    assert rec.size == len(head) + 4 and not rec.error
    shown = describe(rec)
    assert shown["attachments"] == [blob]
    assert '"<binary 4 B: attachment 0>"' in shown["json"]
    assert hexdump(blob).startswith("00000000  00 01 fe ff")


def test_without_payloads_a_binary_header_keeps_its_event_and_a_cut_preview_says_so() -> None:
    model = _model()
    head = '51-["file",{"_placeholder":true,"num":0}]'
    long = '2["big","' + "x" * 300 + '"]'
    _feed(
        model,
        _rec("in", head),
        _rec("in", None, size=4),  # its attachment, without bytes: folded in
        _rec("in", long),
        _rec("in", "2{not json"),
    )
    binary, cut, bad = model.packets.view
    assert (binary.sio, binary.event, binary.error) == (
        "BINARY_EVENT",
        "file",
        "1 attachment(s) not streamed",
    )
    assert (cut.sio, cut.nsp) == ("EVENT", "/") and cut.error.startswith("cut: only the first 120")
    assert bad.sio == "EVENT" and bad.error == "refused by the parser: invalid payload"


def test_engine_only_packets_are_hidden_until_toggled() -> None:
    model = _model()
    _feed(
        model,
        _rec("out", None, "ping"),
        _rec("in", None, "pong"),
        _rec("in", "probe", "ping"),
        _rec("out", None, "noop"),
        [MS, CID, "drain", None, 0, None],
        _rec("in", '2["chat","hi"]'),
        [MS, CID, "upgrade", "websocket", 0, None],
    )
    assert [r.sio or r.type for r in model.packets.view] == ["EVENT", "upgrade:websocket"]
    model.packets.set_show_engine(True)
    assert len(model.packets.view) == 7
    model.packets.set_show_engine(False)
    assert len(model.packets.view) == 2 and model.packets.total == 7


def test_a_fanout_is_one_row_with_every_recipient() -> None:
    model = _model()
    model.apply("socket_connected", [wire_socket("sockB", client="BBBBBBBBBBBB"), "x"])
    model.apply("socket_connected", [wire_socket("sockC", client="CCCCCCCCCCCC"), "x"])
    text = '2["news",{"n":1}]'
    _feed(
        model,
        _rec("out", text, payload=text, fanout=40),
        _rec("out", text, payload=text, fanout=40, cid="BBBBBBBBBBBB"),
        _rec("out", '2["dm"]', payload='2["dm"]', fanout=42),
    )
    _feed(model, _rec("out", text, payload=text, fanout=40, cid="CCCCCCCCCCCC"))
    news, dm = model.packets.view
    assert news.count == 3 and dm.count == 1
    assert [sid for sid, _ in news.recipients] == ["sockRoot", "sockB", "sockC"]
    model.packets.set_filter("socket:sockC")
    assert list(model.packets.view) == [news]


async def test_enter_opens_the_packet_whole_and_s_its_socket() -> None:
    from sioscope.inspector.app import InspectorApp

    model = _model()
    model.apply("socket_connected", [wire_socket("sockB", client="BBBBBBBBBBBB"), "x"])
    text = '2["news",{"n":1}]'
    _feed(
        model,
        _rec("in", '2/chat,5["hello","world"]'),
        _rec("out", text, payload=text, fanout=9),
        _rec("out", text, payload=text, fanout=9, cid="BBBBBBBBBBBB"),
    )
    app = InspectorApp(model)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        view = app.query_one("#packet-view")
        assert "2 sockets" in "".join(s.text for s in view.render_line(1))
        await pilot.press("x")  # the fan-out under the cursor (the last row) unfolds
        await pilot.pause()
        assert len(view.rows) == 4 and view.rows[2] == (view.rows[1], 0)
        await pilot.press("x", "up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PacketDetailScreen)
        assert app.screen.record.event == "hello"
        summary = str(app.screen.query_one("#packet-summary").render())
        assert "EVENT hello" in summary and "ack id 5" in summary and "sockChat" in summary
        assert '"world"' in str(app.screen.query_one("#packet-json").render())
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.socket_id == "sockChat"
        await pilot.press("escape", "E")
        await pilot.pause()
        assert model.packets.show_engine


async def test_our_server_end_to_end_acks_binary_and_a_broadcast(our_demo) -> None:
    """Through the wire: our server's stream with payloads, decoded by the inspector."""
    nsp = our_demo.io.of("/t")
    nsp.on("connection", lambda s: s.on("hello", lambda *a, ack=None: ack and ack("hi back")))
    model = Model()
    client = AdminClient(ClientOptions(our_demo.url), model)
    users = []
    try:
        await client.connect()
        client.start()
        await wait_for(lambda: model.snapshots >= 1)
        for _ in range(3):
            user = socketio.AsyncClient(reconnection=False)
            await asyncio.wait_for(user.connect(our_demo.url, namespaces=["/t"]), 10)
            users.append(user)
        await wait_for(lambda: sum(1 for s in model.sockets.values() if s.nsp == "/t") == 3)
        answer = await users[0].call("hello", {"blob": b"\x07\x08"}, namespace="/t", timeout=5)
        assert answer == "hi back"
        nsp.emit("news", "to all")

        def by(pred: Any) -> list[Any]:
            return [r for r in model.packets.records if pred(r)]

        await wait_for(lambda: bool(by(lambda r: r.event == "news" and r.count == 3)))
        (hello,) = by(lambda r: r.event == "hello")
        assert hello.sio == "BINARY_EVENT" and hello.args == [{"blob": b"\x07\x08"}]
        assert hello.socket_id == users[0].get_sid("/t") and hello.nsp == "/t"
        await wait_for(lambda: bool(by(lambda r: r.sio == "ACK")))
        (ack,) = by(lambda r: r.sio == "ACK")
        assert ack.ack_id == hello.ack_id and ack.args == ["hi back"] and ack.direction == "out"
        (news,) = by(lambda r: r.event == "news")
        assert {sid for sid, _ in news.recipients} == {u.get_sid("/t") for u in users}
    finally:
        for user in users:
            await user.disconnect()
        await client.close()


async def test_H_writes_the_selected_sockets_traffic_as_har(tmp_path) -> None:
    import json

    from sioscope.inspector.screenshots import SampleApp

    app = SampleApp(sockets=5, packets=True)
    app.export_dir = tmp_path
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        sock = app.selected_socket()
        assert sock is not None  # the socket of the packet under the cursor
        await pilot.press("H")
        await pilot.pause()
    (path,) = tmp_path.glob(f"sioscope-{sock.id}-*.har")
    messages = json.loads(path.read_text())["log"]["entries"][0]["_webSocketMessages"]
    mine = [r for r in app.model.packets.records if r.client_id == sock.client_id]
    assert messages and len(messages) == len([r for r in mine if r.nsp in ("", sock.nsp)])
    assert said[-1] == f"{len(messages)} messages of {sock.id} written to {path}"


def test_nodes_broadcast_one_event_sent_per_socket_is_one_fanout_row() -> None:
    model = Model(clock=Clock())
    model.apply("config", [{"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}])
    model.apply("all_sockets", [[wire_socket(s) for s in ("s1", "s2", "s3")]])
    at = "2026-11-24T21:46:57.353Z"
    for sid in ("s1", "s2", "s3"):
        model.apply("event_sent", ["/", sid, ["news", 1], at])
    model.apply("event_sent", ["/", "s1", ["news", 1], "2026-11-24T21:46:58.354Z"])
    model.apply("event_sent", ["/", "s2", ["news", 1], "2026-11-24T21:46:58.355Z"])  # 1 ms on
    model.apply("event_sent", ["/", "s2", ["other"], "2026-11-24T21:46:58.355Z"])
    rows = [(r.event, r.count) for r in model.packets.view]
    assert rows == [("news", 3), ("news", 2), ("other", 1)]
