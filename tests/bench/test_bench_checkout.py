"""`--servers NAME@DIR`: the server under test imports DIR's core, not this checkout's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench.servers import resolve

ROOT = Path(__file__).resolve().parents[2]


def test_another_checkout_is_the_one_imported(tmp_path):
    tree = tmp_path / "other"
    (tree / "src" / "sioscope").mkdir(parents=True)
    (tree / "src" / "sioscope" / "__init__.py").write_text("")
    (tree / "server").mkdir()
    (tree / "server" / "__init__.py").write_text("MARK = 'other checkout'\n")
    spec = resolve(f"sioscope@{tree}")
    assert spec is not None and spec.cwd == tree
    done = subprocess.run(
        [spec.argv()[0], "-c", "import sioscope.server as s; print(s.MARK, s.__file__)"],
        cwd=spec.cwd,
        env={**os.environ, **spec.env},
        capture_output=True,
        text=True,
        check=True,
    )
    mark, path = done.stdout.split(" checkout ")
    assert mark == "other" and Path(path.strip()).resolve() == tree / "server" / "__init__.py"
    assert resolve("sioscope").env == {}  # this checkout: the editable install as is
