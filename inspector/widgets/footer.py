"""The key footer: Textual's ``Footer``, brought up to date in place rather than rebuilt.

Textual's footer composes itself again (a widget per key, each styled anew, three style
passes a key) whenever the screen says its bindings may have changed: on every focus
change, so on every view switch, and on each reactive that declares bindings. That was
the largest part of a view switch (about 40% of its CPU at 10,000 sockets). Rules:

1. One update per burst: the screen's notices are coalesced into one ``_sync_keys`` after
   the next refresh (Textual queued a whole recompose per notice).
2. In place: the keys that stay are kept (their enabled state and labels updated), the
   keys that went are removed, the new ones mounted at their place. Between two views
   that is zero to two keys, not the whole row.
3. Anything this does not model (grouped bindings, keys that changed order) falls back
   to Textual's own recompose, so the footer shows what ``Footer.compose`` would.
4. A key is mounted already in the footer's compact state (Textual's ``FooterKey``
   starts compact and is then bound to the footer's non-compact default: two restyles).
5. Which keys, with which labels, is ``keybar.fitted_keys`` (the footer fitted to the
   terminal's width: ``? Help`` and ``q Quit`` always on it); a resize fits it again.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's own key widget, reused

from sioscope.inspector.widgets.keybar import Shown, fitted_keys


class _Key(FooterKey):
    """Textual's footer key, starting in the footer's default (non-compact) state."""

    compact = reactive(False)


class KeysFooter(Footer):
    """A ``Footer`` updated in place (module rules)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sync_pending = False
        self._palette_fits = True
        self._laid_for = -1

    def _shown(self, screen: Screen[Any]) -> list[Shown]:
        """The keys to show now, in order (rule 5): one key per action, the first."""
        width = self.app.size.width
        self._laid_for = width
        shown, palette = fitted_keys(screen.active_bindings, self.app, width)
        self._palette_fits = palette is not None
        return shown

    def _make_key(self, key: Shown) -> FooterKey:
        return _Key(
            key.binding.key,
            key.key_display,
            key.description,
            key.binding.action,
            disabled=not key.enabled,
            tooltip=key.tooltip,
        ).data_bind(compact=Footer.compact)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        shown = self._shown(self.screen)
        if any(key.binding.group is not None for key in shown):
            yield from super().compose()  # rule 3
            return
        self.styles.grid_size_columns = len(shown)
        for key in shown:
            yield self._make_key(key)
        palette = self._palette_key()
        if palette is not None:
            yield palette

    def _palette_key(self) -> FooterKey | None:
        """The command palette's key at the right, as ``Footer.compose`` adds it."""
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        if not self._palette_fits:
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _, binding, enabled, _ = found
        return FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            classes="-command-palette",
            disabled=not enabled,
            tooltip=binding.tooltip or binding.description,
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not self._bindings_ready or not self.children:
            super().bindings_changed(screen)  # the first compose is Textual's path
            return
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._sync_pending:
            self._sync_pending = True  # rule 1
            self.call_after_refresh(self._sync_keys)

    async def _sync_keys(self) -> None:
        """Make the footer's keys those the screen shows now (rule 2)."""
        self._sync_pending = False
        if not self.is_attached:
            return
        shown = self._shown(self.screen)
        children = list(self.children)
        keys = [c for c in children if isinstance(c, _Key)]
        others = [c for c in children if not isinstance(c, _Key)]
        palette = [c for c in others if isinstance(c, FooterKey)]
        if (
            len(others) != len(palette)
            or any(key.binding.group is not None for key in shown)
            or (self._palette_key() is None) != (not palette)
        ):
            await self.recompose()  # rule 3
            return
        wanted = [(key.binding.key, key.binding.action) for key in shown]
        have = {(k.key, k.action): k for k in keys}
        kept = [k for k in keys if (k.key, k.action) in set(wanted)]
        if [(k.key, k.action) for k in kept] != [w for w in wanted if w in have]:
            await self.recompose()  # the kept keys changed order (rule 3)
            return
        for old in keys:
            if (old.key, old.action) not in set(wanted):
                old.remove()
        place = 0
        for want in shown:
            key = have.get((want.binding.key, want.binding.action))
            if key is None:
                before = kept[place] if place < len(kept) else (palette[0] if palette else None)
                new = self._make_key(want)
                if before is None:
                    self.mount(new)
                else:
                    self.mount(new, before=before)
                continue
            place += 1
            _restate(key, want.key_display, want.description, want.enabled, want.tooltip)
        if palette:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, enabled, _tooltip = found
                _restate(
                    palette[0],
                    self.app.get_key_display(binding),
                    binding.description,
                    enabled,
                    binding.tooltip or binding.description,
                )
        self.styles.grid_size_columns = len(shown)

    def on_resize(self, event: Resize) -> None:
        """A new width fits the keys again (rule 5), in place as any other change."""
        if self._bindings_ready and self.app.size.width != self._laid_for:
            self.bindings_changed(self.screen)


def _restate(key: FooterKey, display: str, description: str, enabled: bool, tooltip: str) -> None:
    """Bring a kept key's label, enabled state and tooltip to what the screen says."""
    if key.key_display != display or key.description != description:
        key.key_display, key.description = display, description
        key.refresh(layout=True)
    if key._disabled == enabled:  # the key's only record of it (FooterKey has no setter)
        key._disabled = not enabled
        key.set_class(not enabled, "-disabled")
    if (key.tooltip or "") != (tooltip or ""):
        key.tooltip = tooltip or None
