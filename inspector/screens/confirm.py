"""The confirmation in front of every destructive action."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from sioscope.inspector.widgets.footer import KeysFooter


class ConfirmScreen(ModalScreen[bool]):
    """Names the target in full and focuses *Cancel*, so a stray Enter does nothing."""

    BINDINGS = [  # noqa: RUF012
        Binding("n", "answer(False)", "Cancel"),
        Binding("escape", "answer(False)", "Cancel", show=False),
        Binding("q", "answer(False)", "Cancel", show=False),
    ]
    """No binding for ``y``: a binding is looked up on whatever screen is on top when a key
    reaches the App, even a key typed at the screen below before this one came up (``dy``
        in one burst disconnected a socket). ``y`` is taken in ``on_key`` instead. ``q``
    cancels, as it leaves every other dialog; the dialog's own footer says so (the App's
    ``q Quit`` is not offered under a dialog)."""
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 100%; max-width: 72; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ConfirmScreen #title { text-style: bold; color: $error; }
    ConfirmScreen #target-scroll { height: auto; max-height: 10; margin: 1 0; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    shown_at = float("inf")
    """When the dialog came up (the clock of Textual's messages); keys from before it
    were typed ahead and are never an answer."""

    def __init__(self, title: str, target: str, confirm_label: str = "Disconnect") -> None:
        super().__init__()
        self.title_text = title
        self.target = target
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title")
            # A long target (a client's sockets) scrolls: the buttons stay on screen.
            with VerticalScroll(id="target-scroll"):
                yield Static(self.target, id="target")
            yield Static("[b]y[/b] confirm · [b]n[/b]/[b]Esc[/b] cancel", id="hint")
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(self.confirm_label, id="confirm", variant="error")
        yield KeysFooter()

    def on_mount(self, event: events.Mount) -> None:
        self.shown_at = event.time
        self.query_one("#cancel", Button).focus()

    def on_key(self, event: events.Key) -> None:
        # Only keys sent to this screen arrive here, and of those only a key pressed
        # once the dialog was up (not typed ahead, not even by a hair) can confirm.
        if event.key == "y":
            event.stop()
            if event.time > self.shown_at:
                self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
