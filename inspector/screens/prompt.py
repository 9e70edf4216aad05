"""A one-line question (a room name, an event to emit), with a history and in-place answers.

Rules:

1. Enter submits. A ``check`` that finds the text wrong keeps the prompt open with the
   text as typed and says why under it; nothing is lost to a typo.
2. Up and Down walk the ``history`` (a list the caller keeps for the session, newest
   last); a submitted answer joins it.
3. An ``extra`` action (emit with an ack) runs with the checked text while the prompt
   stays open, and its answer (or its failure) is shown in place; Esc closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sioscope.inspector.widgets.footer import KeysFooter

Check = Callable[[str], str | None]
"""Returns why the text cannot be used, or None."""


@dataclass(frozen=True, slots=True)
class Extra:
    """A second way to submit (rule 3): ``run(text)`` returns what to show."""

    run: Callable[[str], Awaitable[str]]
    unavailable: str | None = None
    """Why it cannot run here (the server lacks the feature), said when pressed."""


class PromptScreen(ModalScreen[str | None]):
    """Returns the entered text, or ``None`` on Esc."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+t", "extra", "With ack"),
    ]
    """``ctrl+t`` is offered only with an ``extra`` (``check_action``)."""
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 100%; max-width: 76; height: auto;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    PromptScreen #question { text-style: bold; margin-bottom: 1; }
    PromptScreen #hint { color: $text-muted; }
    PromptScreen #error { color: $error; text-style: bold; height: auto; }
    PromptScreen #result { height: auto; max-height: 12; margin-top: 1; }
    """

    def __init__(
        self,
        question: str,
        placeholder: str = "",
        value: str = "",
        hint: str = "",
        *,
        check: Check | None = None,
        history: list[str] | None = None,
        extra: Extra | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.value = value
        self.hint = hint
        self.check = check
        self.history = history if history is not None else []
        self._walk = len(self.history)
        self._draft = value
        self.extra = extra

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "extra":
            return self.extra is not None
        return True

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            yield Static(id="error")
            yield Static(self.hint, id="hint")
            yield Static(id="result")
        yield KeysFooter()  # its keys, not the App's: here "q" is a letter of the answer

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @property
    def answer(self) -> Input:
        return self.query_one("#answer", Input)

    def _checked(self) -> str | None:
        """The stripped text if it passes ``check``; else None, and the error shown."""
        text = self.answer.value.strip()
        error = self.check(text) if (self.check is not None and text) else None
        self.query_one("#error", Static).update(Text(error or ""))
        return None if error else text

    def _remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._walk = len(self.history)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = self._checked()
        if text is None:
            return  # rule 1: the text stays, the error says why
        self._remember(text)
        self.dismiss(text or None)

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        if key not in ("up", "down") or not self.history:
            return
        stop = getattr(event, "stop", None)
        if callable(stop):
            stop()
        if self._walk == len(self.history):
            self._draft = self.answer.value
        self._walk = max(0, min(len(self.history), self._walk + (-1 if key == "up" else 1)))
        text = self._draft if self._walk == len(self.history) else self.history[self._walk]
        self.answer.value = text
        self.answer.cursor_position = len(text)

    async def action_extra(self) -> None:
        extra = self.extra
        if extra is None:
            return
        result = self.query_one("#result", Static)
        if extra.unavailable:
            result.update(Text(extra.unavailable, style="yellow"))
            return
        text = self._checked()
        if not text:
            return
        self._remember(text)
        result.update(Text("sent; waiting for the answer…", style="italic"))
        self.run_worker(self._run_extra(extra, text), group="prompt-extra", exclusive=True)

    async def _run_extra(self, extra: Extra, text: str) -> None:
        try:
            shown = await extra.run(text)
        except Exception as exc:  # the answer of a failed command is its message
            shown = f"failed: {exc}"
        if self.is_attached:
            self.query_one("#result", Static).update(Text(shown))

    def action_cancel(self) -> None:
        self.dismiss(None)
