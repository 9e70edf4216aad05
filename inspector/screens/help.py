"""The help screen, generated from the binding table so it cannot drift from the keys."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sioscope.inspector.keys import DETAIL_KEYS, DIALOG_KEYS, KEYS, NAV_KEYS, Key
from sioscope.inspector.widgets.footer import KeysFooter

FILTER_HELP = (
    "Filter grammar: words must all match · [b]lobby[/b] anywhere · [b]room:lobby[/b] one "
    "field · [b]!polling[/b] negates · [b]re:^ab[/b] regex.\n"
    "Socket fields: id room address transport nsp data client server · "
    "Packet fields: socket client dir type nsp\n"
    "Exchange fields: socket client dir nsp event state · "
    "Error fields: kind message address ua nsp code data client"
)


def help_table(available: dict[str, bool]) -> Table:
    """Keys grouped; unavailable ones (read-only, unsupported) are shown dimmed, as htop does."""
    table = Table(box=None, expand=True, show_header=True, header_style="bold")
    table.add_column("Key", width=14)
    table.add_column("Action", width=14)
    table.add_column("What it does")
    group = ""
    for k in (*KEYS, *DETAIL_KEYS, *NAV_KEYS, *DIALOG_KEYS):
        if k.group != group:
            group = k.group
            table.add_row(f"[b u]{group}[/]", "", "")
        keys = " ".join(_pretty(x) for x in k.key.split(","))
        ok = available.get(k.id, True)
        note = "" if ok else "  [i](unavailable here)[/i]"
        style = "" if ok else "dim"
        table.add_row(keys, k.description, k.help + note, style=style)
    return table


def _pretty(key: str) -> str:
    return {
        "slash": "/",
        "question_mark": "?",
        "space": "Space",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }.get(key, key)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark,f1", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 100; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, available: dict[str, bool]) -> None:
        super().__init__()
        self.available = available

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]sioscope inspector — keys[/b]  (Esc closes)\n")
            yield Static(help_table(self.available))
            yield Static("\n" + FILTER_HELP)
        yield KeysFooter()


__all__ = ["HelpScreen", "Key", "help_table"]
