"""A one-line question (a room name, an event to emit)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sioscope.inspector.widgets.keybar import KeyBar


class PromptScreen(ModalScreen[str | None]):
    """Returns the entered text, or ``None`` on Esc."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 76; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    PromptScreen #question { text-style: bold; margin-bottom: 1; }
    PromptScreen #hint { color: $text-muted; }
    """

    def __init__(
        self, question: str, placeholder: str = "", value: str = "", hint: str = ""
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            yield Static(self.hint, id="hint")
        yield KeyBar()  # its keys, not the App's: here "q" is a letter of the answer

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
