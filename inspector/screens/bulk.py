"""The choice in front of a bulk action: what to do to every socket the filter matches."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from sioscope.inspector.widgets.footer import KeysFooter

CHOICES = {"d": "disconnect", "j": "join", "l": "leave"}
"""The key of each choice -> the verb :meth:`Actions.bulk` is answered with."""


class BulkScreen(ModalScreen[str | None]):
    """Answers ``"disconnect"``, ``"join"``, ``"leave"`` or None.

    A choice is only a step: each is followed by a confirmation that gives the count. As
    in ``ConfirmScreen``, a key typed before the dialog was up is never an answer (``bd``
    in one burst must not choose), so the choices are read in ``on_key``, not bound.
    """

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("q,n", "dismiss(None)", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    BulkScreen { align: center middle; }
    BulkScreen > Vertical {
        width: 100%; max-width: 72; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    BulkScreen #title { text-style: bold; margin-bottom: 1; }
    """

    shown_at = float("inf")

    def __init__(self, count: int, expression: str, unavailable: dict[str, str]) -> None:
        super().__init__()
        self.count = count
        self.expression = expression
        self.unavailable = unavailable
        """verb -> why the server cannot do it (a missing M* feature)."""

    def compose(self) -> ComposeResult:
        lines = []
        for key, verb in CHOICES.items():
            what = {
                "disconnect": "disconnect them",
                "join": "make them join a room",
                "leave": "make them leave a room",
            }[verb]
            why = self.unavailable.get(verb)
            lines.append(f"[dim]{key}  {what} ({why})[/]" if why else f"[b]{key}[/b]  {what}")
        with Vertical():
            yield Static(f"{self.count} socket(s) match the filter {self.expression!r}", id="title")
            yield Static("\n".join(lines), id="choices")
            yield Static("Each asks for confirmation, with the count.", id="hint")
        yield KeysFooter()

    def on_mount(self, event: events.Mount) -> None:
        self.shown_at = event.time

    def on_key(self, event: events.Key) -> None:
        verb = CHOICES.get(event.key)
        if verb is None:
            return
        event.stop()
        if event.time > self.shown_at and verb not in self.unavailable:
            self.dismiss(verb)
