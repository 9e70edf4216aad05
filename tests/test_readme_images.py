"""The README's images exist, and its gallery is the one ``make screenshots`` writes."""

from __future__ import annotations

import re

from sioscope.inspector import screenshots
from tests.conftest import ROOT


def test_every_image_the_readme_shows_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert images, "the README shows no image"
    missing = [path for path in images if not (ROOT / path).is_file()]
    assert not missing, missing


def test_the_gallery_is_generated_from_the_scenes(tmp_path) -> None:
    readme = tmp_path / "README.md"
    (tmp_path / "screenshots").mkdir()
    (tmp_path / screenshots.WEB[1]).write_bytes(b"")
    readme.write_text(f"a\n{screenshots.GALLERY_BEGIN}\nold\n{screenshots.GALLERY_END}\nb\n")
    assert screenshots.update_readme(readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("a\n") and text.endswith("\nb\n")
    for name in [*screenshots.SCENES, *screenshots.CAPTURE_SCENES]:
        assert f"(screenshots/{name}.svg)" in text, name
    assert f"({screenshots.WEB[1]})" in text
