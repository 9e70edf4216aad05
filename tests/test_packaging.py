"""The distribution installs one top-level package, ``sioscope``.

Builds the wheel from this checkout, installs it into a fresh virtualenv and checks what
a user gets: ``sioscope.server`` and ``sioscope.inspector`` import, a top-level
``server`` or ``inspector`` does not exist, and both entry points (``sioscope`` and
``python -m sioscope``) run. The fresh venv borrows the test environment's third-party
packages through a ``.pth`` line (so the test needs no network); a ``.pth`` line adds a
directory without running the ``.pth`` files inside it, so the editable install of this
checkout stays invisible there.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (found,) = out.glob("sioscope-*.whl")
    return found


def test_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"sioscope"}
    for module in (
        "sioscope/__main__.py",
        "sioscope/server/engine/conn.py",
        "sioscope/server/admin/instrument.py",
        "sioscope/inspector/app.py",
        "sioscope/inspector/screens/detail.py",
        "sioscope/server/py.typed",
    ):
        assert module in names
    # Every package folder of the source tree made it into the wheel.
    for folder in ("server", "inspector"):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.relative_to(ROOT).as_posix()
            assert f"sioscope/{rel}" in names, f"{rel} is not listed in pyproject's packages"


def test_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # cwd outside the checkout, so nothing is found in the current directory.
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    imported = run(
        str(py), "-c",
        "import sioscope.server, sioscope.inspector, sioscope.inspector.app;"
        "print(sioscope.server.__file__)",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().startswith(site)
    for top in ("server", "inspector"):
        refused = run(str(py), "-c", f"import {top}")
        assert refused.returncode == 1
        assert f"No module named '{top}'" in refused.stderr
    for command in ([str(env_dir / "bin" / "sioscope"), "--help"],
                    [str(py), "-m", "sioscope", "--help"]):  # fmt: skip
        helped = run(*command)
        assert helped.returncode == 0, helped.stderr
        assert "usage: sioscope" in helped.stdout


def test_the_checkout_imports_only_under_sioscope() -> None:
    """Nothing in the suite imported the source folders as top-level packages."""
    import sioscope.inspector.app
    import sioscope.server  # noqa: F401

    assert "server" not in sys.modules
    assert "inspector" not in sys.modules
