"""The filter grammar shared by the socket table and the packet log.

One grammar for both views, so a user learns it once; an item only has to offer
``haystack()`` (free text, lower-cased by the item) and ``field_text(name)`` (one
field, or ``FilterError`` for a name it does not have). An expression is compiled and
checked once when it is set, so a bad regex or an unknown field is reported then rather
than on the first row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class Matchable(Protocol):
    """What a filter matches against: sockets, packet records, exchanges, refusals."""

    def haystack(self) -> str: ...

    def field_text(self, name: str) -> list[str]: ...


class FilterError(ValueError):
    """A filter expression that cannot be compiled; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class _Term:
    field: str | None
    negate: bool
    text: str | None
    regex: re.Pattern[str] | None

    def matches(self, values: Iterable[str], lowered: bool = False) -> bool:
        """``lowered``: the values are lower-cased already (a haystack is)."""
        if self.regex is not None:
            hit = any(self.regex.search(v) for v in values)
        else:
            assert self.text is not None
            text = self.text
            hit = (
                any(text in v for v in values)
                if lowered
                else any(text in v.lower() for v in values)
            )
        return hit != self.negate


class Filter:
    """k9s/btop-style filter: space-separated terms, all must match.

    ``lobby`` substring anywhere; ``room:lobby`` one field; ``!polling`` negates;
    ``re:^abc`` (or ``field:re:...``) is a case-insensitive regex.
    """

    def __init__(self, expression: str = "") -> None:
        self.expression = expression.strip()
        self.terms: list[_Term] = [self._compile(tok) for tok in self.expression.split()]

    @staticmethod
    def _compile(token: str) -> _Term:
        negate = token.startswith("!")
        if negate:
            token = token[1:]
        name: str | None = None
        head, sep, rest = token.partition(":")
        if sep and head and head != "re" and head.isidentifier():
            name, token = head.lower(), rest
        if token.startswith("re:"):
            try:
                return _Term(name, negate, None, re.compile(token[3:], re.IGNORECASE))
            except re.error as exc:
                raise FilterError(f"bad regex {token[3:]!r}: {exc}") from None
        if not token:
            raise FilterError("empty filter term")
        return _Term(name, negate, token.lower(), None)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, item: Matchable) -> bool:
        for term in self.terms:
            if term.field is None:  # the haystack is lower-cased once, when it is built
                if not term.matches((item.haystack(),), lowered=True):
                    return False
            elif not term.matches(item.field_text(term.field)):
                return False
        return True

    def validate_fields(self, probe: Matchable) -> None:
        """Raise ``FilterError`` now for an unknown field rather than on the first row."""
        for term in self.terms:
            if term.field is not None:
                probe.field_text(term.field)
