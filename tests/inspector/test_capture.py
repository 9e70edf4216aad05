"""``sioscope record``: a real server, a real user client, the recorder in its own
process; the capture read back and replayed into a fresh model."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sys
from pathlib import Path

import pytest
import socketio

from sioscope.inspector.capture import CaptureError, read_capture, replay
from sioscope.inspector.model import Model
from sioscope.server.admin import protocol
from tests.admin.apps import PASSWORD, running_server


async def _record(url: str, out: Path, *extra: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "sioscope", "record", url, "-o", str(out)),
        *("--username", "admin", "--password-env", "SIOSCOPE_TEST_PW", *extra),
        env={**os.environ, "SIOSCOPE_TEST_PW": PASSWORD},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, err.decode()


@pytest.mark.parametrize("name", ["cap.jsonl", "cap.jsonl.gz"])
async def test_record_writes_what_the_inspector_receives(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    async with running_server() as srv:
        user = socketio.AsyncClient(reconnection=False)
        await user.connect(srv.url, transports=["websocket"])
        sid = user.get_sid("/")
        recorder = asyncio.ensure_future(_record(srv.url, out, "--duration", "2.5"))
        try:
            await asyncio.sleep(1.2)  # attached by now (bcrypt login, snapshot)
            await user.emit("hello", "capture")
            status, err = await recorder
        finally:
            await user.disconnect()
    assert status == 0, err
    assert err.strip().splitlines()[-1].startswith("sioscope: wrote ")
    assert (out.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    capture = read_capture(out)
    assert capture.header["format"] == "sioscope-capture" and capture.header["version"] == 1
    assert capture.header["namespace"] == "/admin"
    names = [event for _, event, _ in capture.events]
    assert names[:2] == [protocol.SESSION, protocol.CONFIG]
    assert protocol.EV_PACKETS in names and protocol.SERVER_STATS in names
    ats = [at for at, _, _ in capture.events]
    assert ats == sorted(ats) and ats[0] >= 0
    model = Model()
    assert replay(capture, model) == len(capture.events)
    assert sid in {s.id for s in model.sockets.values()}
    previews = [json.dumps(r) for _, e, a in capture.events if e == protocol.EV_PACKETS for r in a]
    assert any("capture" in p for p in previews)
    # A time cursor: nothing before the start; at a moment, exactly the events up to it;
    # then on from there to the end, to the same state.
    early = Model()
    assert replay(capture, early, until_ms=-1) == 0 and not early.sockets
    middle = ats[len(ats) // 2]
    index = replay(capture, early, until_ms=middle)
    assert all(at <= middle for at in ats[:index]) and all(at > middle for at in ats[index:])
    assert replay(capture, early, start=index) == len(capture.events)
    assert sid in {s.id for s in early.sockets.values()}


async def test_record_fails_with_one_line(tmp_path: Path) -> None:
    status, err = await _record("http://127.0.0.1:9", tmp_path / "x.jsonl", "--duration", "1")
    assert status == 1 and len(err.strip().splitlines()) == 1 and "cannot reach" in err
    status, err = await _record(
        "http://127.0.0.1:9", tmp_path / "no" / "dir" / "x.jsonl", "--duration", "1"
    )
    assert status == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err


def test_read_capture_refuses_what_is_not_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(CaptureError, match="not a sioscope capture"):
        read_capture(bad)
    header = {"format": "sioscope-capture", "version": 1, "started": 0}
    bad.write_text(json.dumps(header) + '\n[0,"config",[{}]]\nnot json\n[1,"x",[]]\n')
    with pytest.raises(CaptureError, match="line 3"):
        read_capture(bad)
    # A recorder killed mid-line: the broken last line is left out, the rest is kept.
    cut = tmp_path / "cut.jsonl.gz"
    with gzip.open(cut, "wt") as f:
        f.write(json.dumps(header) + '\n[0,"config",[{}]]\n[5,"server_st')
    assert [e for _, e, _ in read_capture(cut).events] == ["config"]
    with pytest.raises(CaptureError, match="cannot read"):
        read_capture(tmp_path / "missing.jsonl")
    header["version"] = 99
    bad.write_text(json.dumps(header) + "\n")
    with pytest.raises(CaptureError, match="version 99"):
        read_capture(bad)


def test_the_journal_is_bounded_in_events_and_bytes_and_keeps_its_head() -> None:
    from sioscope.inspector.journal import Journal

    journal = Journal(limit=3, max_bytes=100)
    journal.add(0, "config", [{"supportedFeatures": []}])
    journal.add(1, "all_sockets", [[]])
    for i in range(5):
        journal.add(10 + i, "server_stats", [{"n": i}])
    assert [e for _, e, _ in journal.all()][:2] == ["config", "all_sockets"]
    assert [a[0]["n"] for _, e, a in journal.all() if e == "server_stats"] == [2, 3, 4]
    assert journal.lost == 2
    journal.add(20, "sioscope:packets", [{"records": ["x" * 90]}])
    assert [e for _, e, _ in journal.all()][2:] == ["sioscope:packets"]  # the newest stays
    assert journal.lost == 5
