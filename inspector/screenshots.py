"""Writes ``screenshots/*.svg``: each view of the real app, at a fixed size, on sample data.

``python -m sioscope.inspector.screenshots`` (or ``make screenshots``). The same scenes feed the
snapshot tests, so the README images and the tests show the same thing. The data is the
seeded sample feed on a fixed clock: re-running gives the same files.

``CAPTURE_SCENES`` are ``sioscope open`` on the same feed written as a capture; the ages
there count from the capture's time to now, so those images are left out of the
snapshot tests. ``gallery()`` is the README's table of every image.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from sioscope.inspector import sample
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.capture import Capture, header
from sioscope.inspector.journal import Journal
from sioscope.inspector.model import Model

SIZE = (120, 36)
OUT = Path(__file__).resolve().parent.parent / "screenshots"
README = OUT.parent / "README.md"  # in a checkout: its gallery is rewritten with the images
GALLERY_BEGIN, GALLERY_END = "<!-- screenshots:begin -->", "<!-- screenshots:end -->"
WEB = ("In a browser (--web, Chromium)", "screenshots/web.png")  # scripts/screenshot_web.py


class SampleApp(InspectorApp):
    """The app on a sample model; nothing connects anywhere."""

    def __init__(self, sockets: int = 60, packets: bool = True) -> None:
        model = sample_model(sockets, packets)
        super().__init__(model, None, source="sample data (sioscope screenshots)")

    def can_act(self) -> bool:
        """Show the action keys as they appear against a live, writable server."""
        return True


def sample_model(sockets: int = 60, packets: bool = True) -> Model:
    model = Model(clock=sample.FixedClock(), journal=Journal())
    for event, args in sample.snapshot_events(sockets):
        model.apply(event, args)
    wire = [s.to_json() for s in model.sockets.values()]
    for event, args in sample.diagnostics_messages(wire):
        model.apply(event, args)
    if packets:
        clients = sorted({s.client_id for s in model.sockets.values()})
        for event, args in sample.packet_batches(clients, 12, 40):
            model.apply(event, args)
    return model


Drive = Callable[[Pilot[None]], Awaitable[None]]


async def _keys(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()


SCENES: dict[str, tuple[str, ...]] = {
    "sockets": (),
    "sockets-filtered": ("slash", *"room:lobby !polling", "enter"),
    "detail": ("down", "down", "enter"),
    "rooms": ("2", "down", "down", "down", "down", "space"),
    "packets": ("3", "slash", *"type:message", "enter", "p"),
    "packet": ("3", "up", "enter"),
    "dashboard": ("4",),
    "clients": ("5",),
    "exchanges": ("6",),
    "errors": ("7",),
    "help": ("question_mark",),
}
"""Scene name -> keys pressed after start-up."""


CAPTURE_SCENES: dict[str, tuple[str, ...]] = {
    "capture": ("right_square_bracket", "3"),  # 10 s into the capture, its packets
}
"""Scene name -> keys pressed after ``sioscope open`` of ``sample_capture()``."""

TITLES: dict[str, str] = {
    "sockets": "Sockets (RTT: heartbeat round trip)",
    "sockets-filtered": "Filtered",
    "detail": "Socket detail, with its heartbeat round trip",
    "rooms": "Rooms",
    "packets": "Packets (paused, filtered)",
    "packet": "A packet, opened (Enter): decoded, with its socket",
    "dashboard": "Dashboard",
    "clients": "Clients (Engine.IO connections)",
    "exchanges": "Exchanges: each ack with its event",
    "errors": "Errors: refused connections, disconnect reasons",
    "help": "Help",
    "capture": "A capture, 10 s in (sioscope open)",
}
"""Scene name -> its caption in the README (the name itself when missing)."""


def sample_capture(sockets: int = 60, seconds: int = 20) -> Capture:
    """The sample feed as ``sioscope record`` would have written it: the snapshot at the
    start, then ten packet batches a second for ``seconds``."""
    events: list[tuple[int, str, list[object]]] = [
        (0, event, args) for event, args in sample.snapshot_events(sockets)
    ]
    clients = sorted({s.client_id for s in sample_model(sockets, packets=False).sockets.values()})
    start = sample.T0 - seconds
    batches = sample.packet_batches(clients, 12, seconds * 10, start=start)
    for i, (event, args) in enumerate(batches):
        events.append((100 * (i + 1), event, args))
    return Capture(header("http://127.0.0.1:3000", "/admin", int(start * 1000)), events)


async def shoot(
    name: str, keys: tuple[str, ...], out: Path, make: Callable[[], InspectorApp] | None = None
) -> Path:
    app = make() if make is not None else SampleApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.2)
        app.flush()
        await pilot.pause()
        path = out / f"{name}.svg"
        app.save_screenshot(path.name, str(out))
    return path


def _capture_app() -> InspectorApp:
    from sioscope.inspector.capture_app import CaptureApp

    return CaptureApp(sample_capture(), name="session.jsonl.gz")


def gallery(names: list[str] | None = None, extra: tuple[tuple[str, str], ...] = ()) -> str:
    """The README's screenshot table: two images a row, each under its caption.
    ``extra`` adds (caption, path) images made elsewhere (the browser's PNG)."""
    names = names if names is not None else [*SCENES, *CAPTURE_SCENES]
    cells = [(TITLES.get(n, n), f"screenshots/{n}.svg", n) for n in names]
    cells += [(title, path, Path(path).stem) for title, path in extra]
    lines = []
    for i in range(0, len(cells), 2):
        pair = cells[i : i + 2]
        titles = [f"**{t}**" for t, _, _ in pair] + [""] * (2 - len(pair))
        images = [f"![{alt}]({path})" for _, path, alt in pair] + [""] * (2 - len(pair))
        lines.append("| " + " | ".join(titles) + " |")
        if i == 0:
            lines.append("| --- | --- |")
        lines.append("| " + " | ".join(images) + " |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path = README) -> bool:
    """Rewrite the README's gallery between its markers; False when there is none (an
    installed copy, not a checkout)."""
    if not readme.is_file():
        return False
    text = readme.read_text()
    if GALLERY_BEGIN not in text or GALLERY_END not in text:
        return False
    extra = (WEB,) if (readme.parent / WEB[1]).is_file() else ()
    head, rest = text.split(GALLERY_BEGIN, 1)
    tail = rest.split(GALLERY_END, 1)[1]
    readme.write_text(f"{head}{GALLERY_BEGIN}\n{gallery(extra=extra)}{GALLERY_END}{tail}")
    return True


async def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, keys in SCENES.items():
        path = await shoot(name, keys, out)
        print(path)
    for name, keys in CAPTURE_SCENES.items():
        path = await shoot(name, keys, out, _capture_app)
        print(path)
    if out == OUT and update_readme():
        print(f"{README}: gallery rewritten")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
