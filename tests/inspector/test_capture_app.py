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
