"""The command palette's provider: every key of the binding table that applies right now.

The palette, the footer and the help screen all read ``keys.KEYS``; which keys apply is
the app's answer (``palette_entries``), so this module only turns that answer into
palette hits. It needs nothing else of the app, hence the :class:`PaletteHost` shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from sioscope.inspector.keys import Key


@runtime_checkable
class PaletteHost(Protocol):
    """What the provider asks of the app."""

    def palette_entries(self) -> Iterable[tuple[Key, str]]:
        """``(key, action)`` for every key that applies now."""

    def run_action(self, action: str, *args: Any, **kwargs: Any) -> Any:
        """Textual's ``App.run_action``."""


class ActionsProvider(Provider):
    """Offers the applicable keys by name, with their help line and their key."""

    def _host(self) -> PaletteHost:
        app = self.app
        if not isinstance(app, PaletteHost):
            raise TypeError(f"{type(app).__name__} does not provide palette entries")
        return app

    async def discover(self) -> Hits:
        host = self._host()
        for key, action in host.palette_entries():
            yield DiscoveryHit(key.description, partial(host.run_action, action), help=key.help)

    async def search(self, query: str) -> Hits:
        host = self._host()
        matcher = self.matcher(query)
        for key, action in host.palette_entries():
            text = f"{key.description}: {key.help}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(host.run_action, action),
                    help=f"key: {key.display_key}",
                )
