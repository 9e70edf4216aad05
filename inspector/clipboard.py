"""Copying to the user's clipboard, and saying honestly whether it arrived.

Textual's ``copy_to_clipboard`` writes an OSC 52 escape to the terminal and cannot know
what the terminal did with it: many terminals ignore it (macOS Terminal), tmux drops it
unless ``set-clipboard`` is on, and some cap its size. So "copied" was a claim the
inspector could not back. Rules:

1. OSC 52 is always sent (it is the only way through ssh to the user's own machine).
2. When a clipboard command of the local desktop is there (``wl-copy`` under Wayland,
   ``xclip`` / ``xsel`` under X11, ``pbcopy`` on macOS), the text is also handed to it;
   its exit status is a real answer, so the message says "copied" only then.
3. Otherwise the message says what was sent, how big, and that it arrives only if the
   terminal supports OSC 52 (with tmux's setting when under tmux).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textual.app import App

TOOL_TIMEOUT = 2.0
"""Seconds a clipboard command may take (``xclip`` forks and returns at once)."""


@dataclass(frozen=True, slots=True)
class Copied:
    """What became of one copy: ``ok`` only when a clipboard command confirmed it."""

    ok: bool
    message: str


def clipboard_command(env: Mapping[str, str] | None = None) -> Sequence[str] | None:
    """The local clipboard command to use (rule 2), or None."""
    env = os.environ if env is None else env
    path = env.get("PATH")
    candidates: list[list[str]] = []
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(["wl-copy"])
    if env.get("DISPLAY"):
        candidates += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    if sys.platform == "darwin":
        candidates.append(["pbcopy"])
    for argv in candidates:
        found = shutil.which(argv[0], path=path)
        if found:
            return [found, *argv[1:]]
    return None


def copy(app: App[Any], text: str, what: str, env: Mapping[str, str] | None = None) -> Copied:
    """Copy ``text`` (described as ``what``) and say what is known of the outcome."""
    env = os.environ if env is None else env
    app.copy_to_clipboard(text)  # rule 1
    size = f"{len(text.encode())} bytes"
    argv = clipboard_command(env)
    if argv is not None:
        name = os.path.basename(argv[0])
        try:
            done = subprocess.run(
                argv,
                input=text.encode(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=TOOL_TIMEOUT,
                check=False,
                env=dict(env),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Copied(False, f"{what}: {name} failed ({exc}); sent by OSC 52 only")
        if done.returncode == 0:
            return Copied(True, f"copied {what} ({size}) to the clipboard ({name})")
        err = done.stderr.decode(errors="replace").strip().splitlines()
        why = err[0] if err else f"exit status {done.returncode}"
        return Copied(False, f"{what}: {name} failed ({why}); sent by OSC 52 only")
    tmux = " (in tmux: set -g set-clipboard on)" if env.get("TMUX") else ""
    return Copied(
        False,
        f"sent {what} ({size}) to the terminal's clipboard by OSC 52: it arrives only if "
        f"the terminal supports OSC 52{tmux}",
    )
