"""`c` and `i` say whether the clipboard received anything (issue: "copied" was a guess)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sioscope.inspector import clipboard
from sioscope.inspector.screenshots import SampleApp


def tool(tmp_path: Path, name: str, status: int) -> Path:
    """A stand-in for the desktop's clipboard command: keeps its input, exits ``status``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        f'#!/bin/sh\ncat > "{tmp_path}/{name}.got"\n'
        + (f'echo "{name}: cannot open display" >&2\n' if status else "")
        + f"exit {status}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


async def test_copy_says_osc52_when_nothing_confirms_and_i_copies_the_id(monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TMUX", "/tmp/tmux-1/default,1,0")
    app = SampleApp(sockets=5, packets=False)
    said: list[tuple[str, str]] = []
    app.notify = lambda message, severity="information", **_: said.append(  # type: ignore[method-assign]
        (str(message), severity)
    )
    async with app.run_test(size=(120, 36)) as pilot:
        sid = app.selected_socket().id  # type: ignore[union-attr]
        await pilot.press("c")
        message, severity = said[-1]
        assert "OSC 52" in message and "set-clipboard on" in message and severity == "warning"
        assert "copied" not in message
        await pilot.press("i")
        assert app.clipboard == sid
        assert f"socket id {sid}" in said[-1][0] and "OSC 52" in said[-1][0]


async def test_copy_says_copied_only_when_the_clipboard_command_took_it(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("PATH", f"{tool(tmp_path, 'wl-copy', 0)}{os.pathsep}{os.environ['PATH']}")
    app = SampleApp(sockets=5, packets=False)
    async with app.run_test(size=(120, 36)):
        sid = app.selected_socket().id  # type: ignore[union-attr]
        result = clipboard.copy(app, sid, f"socket id {sid}")
        assert result.ok and result.message.startswith(f"copied socket id {sid}")
        assert (tmp_path / "wl-copy.got").read_text() == sid
        failing = tool(tmp_path / "x", "wl-copy", 1)
        monkeypatch.setenv("PATH", f"{failing}{os.pathsep}{os.environ['PATH']}")
        result = clipboard.copy(app, sid, "the id")
        assert not result.ok and "cannot open display" in result.message
