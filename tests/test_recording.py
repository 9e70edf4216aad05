"""docs/demo.cast, the README's recording: an asciinema v2 cast of the real app's output.

It is written by ``scripts/record_demo.py`` (``make recording``), which drives
``sioscope demo`` in a pty. Checked here: the format a player needs (a header line, then
``[time, "o", text]`` events in time order, inside the header's size), that it is the
app's tour (the status bar, then each view the script visits), and that it stays a
small file.
"""

from __future__ import annotations

import json
import re
import sys

from tests.conftest import ROOT

CAST = ROOT / "docs" / "demo.cast"
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def test_the_cast_is_asciinema_v2_from_the_app() -> None:
    header, *lines = CAST.read_text(encoding="utf-8").splitlines()
    meta = json.loads(header)
    assert meta["version"] == 2 and meta["width"] > 0 and meta["height"] > 0
    events = [json.loads(line) for line in lines]
    times = [at for at, _, _ in events]
    assert all(kind == "o" and isinstance(text, str) for _, kind, text in events)
    assert times == sorted(times) and times[-1] > 10
    screen = ESCAPES.sub("", "".join(text for _, _, text in events))
    for seen in ("connected", "sockets", "Connections/s", "Namespace"):  # status, dashboard
        assert seen in screen, seen
    assert CAST.stat().st_size < 2_500_000


def test_the_script_tours_only_keys_the_app_has() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import record_demo
    finally:
        sys.path.pop(0)
    from sioscope.inspector.keys import KEYS

    bound = {k for key in KEYS for k in key.key.split(",")}
    names = {"question_mark": "?", "slash": "/"}
    bound |= {names.get(k, k) for k in bound}
    typed = [keys for _, keys in record_demo.tour() if len(keys) == 1 or keys in record_demo.KEYS]
    singles = [k for k in typed if len(k) == 1 and k not in record_demo.KEYS]
    assert set(singles) <= bound, set(singles) - bound
