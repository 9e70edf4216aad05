"""Writes ``screenshots/*.svg``: each view of the real app, at a fixed size, on sample data.

``python -m sioscope.inspector.screenshots`` (or ``make screenshots``). The same scenes feed the
snapshot tests, so the README images and the tests show the same thing. The data is the
seeded sample feed on a fixed clock: re-running gives the same files.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from sioscope.inspector import sample
from sioscope.inspector.app import InspectorApp
from sioscope.inspector.journal import Journal
from sioscope.inspector.model import Model

SIZE = (120, 36)
OUT = Path(__file__).resolve().parent.parent / "screenshots"


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
    "dashboard": ("4",),
    "exchanges": ("6",),
    "errors": ("7",),
    "help": ("question_mark",),
}
"""Scene name -> keys pressed after start-up."""


async def shoot(name: str, keys: tuple[str, ...], out: Path) -> Path:
    app = SampleApp()
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


async def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, keys in SCENES.items():
        path = await shoot(name, keys, out)
        print(path)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
