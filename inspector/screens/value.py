"""One value of the handshake (or data) tree, whole: a tree row shows one line of it."""

from __future__ import annotations

import json
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sioscope.inspector.widgets.footer import KeysFooter


class ValueScreen(ModalScreen[None]):
    """Enter on a tree leaf opens it: the path, then the value wrapped to the box."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "dismiss", "Close"),
        Binding("q,enter", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    ValueScreen { align: center middle; }
    ValueScreen > VerticalScroll {
        width: 90%; max-width: 110; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ValueScreen #path { text-style: bold; }
    """

    def __init__(self, path: str, value: Any) -> None:
        super().__init__()
        self.path = path
        self.value = value

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.path), id="path")
            if isinstance(self.value, str):
                # The string itself (a user agent, a token), not its JSON escape.
                yield Static(Text(self.value), id="value")
            else:
                yield Static(JSON(json.dumps(self.value, indent=2, default=str)), id="value")
        yield KeysFooter()
