"""``sioscope open``: a capture in the inspector's views, its time cursor driven by keys
(Pilot). The capture is written by the capture writer from a scripted admin feed."""

from __future__ import annotations

from pathlib import Path

from sioscope.inspector.capture import CaptureWriter, read_capture
from sioscope.inspector.capture_app import CaptureApp
from sioscope.inspector.cli import main
from sioscope.server.admin import protocol


def _socket(sid: str) -> dict:
    return {
        "id": sid,
        "clientId": sid[:12].ljust(12, "x"),
        "transport": "websocket",
        "nsp": "/",
        "data": {},
        "handshake": {
            "address": "127.0.0.1",
            "headers": {},
            "query": {},
            "issued": 1_700_000_000_000,
            "secure": False,
            "time": "",
            "url": "/socket.io/",
            "xdomain": False,
        },
        "rooms": [sid],
    }


def _capture(path: Path) -> Path:
    writer = CaptureWriter(path, source="http://127.0.0.1:1", namespace="/admin", started_ms=0)
    writer.write(0, protocol.CONFIG, [{"supportedFeatures": ["ALL_EVENTS"]}])
    writer.write(10, protocol.ALL_SOCKETS, [[_socket("aaaaaaaaaaaaaaaaaaaa")]])
    writer.write(5_000, protocol.SOCKET_CONNECTED, [_socket("bbbbbbbbbbbbbbbbbbbb"), ""])
    writer.write(20_000, protocol.SOCKET_CONNECTED, [_socket("cccccccccccccccccccc"), ""])
    writer.close()
    return path


async def test_the_time_cursor_steps_jumps_goes_back_and_plays(tmp_path: Path) -> None:
    capture = read_capture(_capture(tmp_path / "c.jsonl"))
    app = CaptureApp(capture, name="c.jsonl")
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.cursor_ms == 0 and len(app.model.sockets) == 0
        await pilot.press("full_stop")  # the next event: all_sockets
        assert app.cursor_ms == 10 and set(app.model.sockets) == {"aaaaaaaaaaaaaaaaaaaa"}
        await pilot.press("right_square_bracket")  # +10 s
        assert app.cursor_ms == 10_010 and len(app.model.sockets) == 2
        await pilot.press("left_square_bracket", "left_square_bracket")  # back, clamped
        assert app.cursor_ms == -1 and len(app.model.sockets) == 0
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert app.cursor_ms == 20_000 and len(app.model.sockets) == 3
        await pilot.press("comma")  # back one event
        assert app.cursor_ms == 5_000 and len(app.model.sockets) == 2
        await pilot.pause()
        assert "capture c.jsonl" in str(app.query_one("#status").render())
        app.seek(-1)
        await pilot.press("T", "t")  # 10x, play
        assert app.playing and app.speed == 10
        await pilot.pause(0.6)  # 0.6 s at 10x: about 6 s of capture
        assert app.playing and 3_000 <= app.cursor_ms <= 15_000
        assert len(app.model.sockets) >= 1
        await pilot.press("t")
        stopped = app.cursor_ms
        await pilot.pause(0.3)
        assert not app.playing and app.cursor_ms == stopped


def test_open_refuses_what_is_not_a_capture(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text("hello\n")
    assert main(["open", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a sioscope capture" in err[0]


async def test_play_at_1x_follows_real_time_stops_at_the_end_and_the_clock_is_the_captures(
    tmp_path: Path,
) -> None:
    capture = read_capture(_capture(tmp_path / "c.jsonl"))
    app = CaptureApp(capture, name="c.jsonl")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("full_stop", "full_stop")  # all_sockets, then the 5 s connect
        assert app.cursor_ms == 5_000
        assert app.model.clock() == 5.0  # started 0 + the cursor: the capture's time
        await pilot.press("t")  # 1x
        await pilot.pause(0.5)
        assert app.playing and app.speed == 1
        assert 5_200 <= app.cursor_ms <= 6_500, app.cursor_ms  # real time, not ticks
        await pilot.press("T")  # 10x from here on
        app.seek(19_500)
        await pilot.pause(0.4)
        assert not app.playing and app.cursor_ms == capture.duration_ms == 20_000
        assert len(app.model.sockets) == 3
        await pilot.press("t")  # play again: from the start
        assert app.playing and app.cursor_ms < 5_000


async def test_a_captured_packet_stream_shows_decoded_and_the_cursor_takes_it_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.jsonl"
    writer = CaptureWriter(path, source="http://127.0.0.1:1", namespace="/admin", started_ms=0)
    sock = _socket("aaaaaaaaaaaaaaaaaaaa")
    writer.write(0, protocol.CONFIG, [{"supportedFeatures": ["ALL_EVENTS", "X_SIOSCOPE_PACKETS"]}])
    writer.write(1, protocol.ALL_SOCKETS, [[sock]])
    writer.write(2, protocol.EV_SNAPSHOT, [{"seq": 0, "serverId": "s"}])
    text = '2["chat","hi"]'
    record = [100, sock["clientId"], "in", "message", len(text), text, text, None]
    writer.write(100, protocol.EV_PACKETS, [{"seq": 1, "dropped": 0, "records": [record]}])
    writer.close()
    app = CaptureApp(read_capture(path), name="p.jsonl")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right_square_bracket", "3")
        await pilot.pause()
        (rec,) = app.model.packets.view
        assert (rec.sio, rec.event, rec.socket_id) == ("EVENT", "chat", sock["id"])
        line = "".join(s.text for s in app.query_one("#packet-view").render_line(0))
        assert "EVENT" in line and 'chat ["hi"]' in line
        await pilot.press("comma")
        await pilot.pause()
        assert not app.model.packets.view
