"""The inspector App: four views over one Model, refreshed by a ~10 Hz flush.

Events never touch widgets. The admin client folds them into the Model and raises a
flag; ``flush`` (every 100 ms) reads the model's change counters and hands one
``Frame`` to the view on screen only, which decides what to redraw: the socket table
gets its new key order (the cursor stays on its socket), the packet view its ring, the
dashboard its series. That is what keeps 10,000 sockets and 1,000 packets a second
fluid: the cost is per frame, not per event.

The views are data (``views.VIEWS``), each a widget of its own module under
``widgets``; the screens (detail, confirm, prompt, help) are under ``screens``. The
App holds the status bar, the filter box and the keys; what an action key does to
the server is ``actions``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import ContentSwitcher, Input, Static, Tree

from sioscope.inspector import keys as keymod
from sioscope.inspector.actions import Actions
from sioscope.inspector.capture import Capture, CaptureError, from_journal, write_capture
from sioscope.inspector.client import AdminClient
from sioscope.inspector.filtering import FilterError
from sioscope.inspector.frame import Filterable, Frame, View
from sioscope.inspector.har import har
from sioscope.inspector.model import Model
from sioscope.inspector.palette import ActionsProvider
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.screens.columns import ColumnsScreen
from sioscope.inspector.screens.detail import DetailScreen
from sioscope.inspector.screens.help import HelpScreen
from sioscope.inspector.screens.packet_detail import PacketDetailScreen
from sioscope.inspector.traffic import socket_traffic
from sioscope.inspector.views import FIRST, VIEWS
from sioscope.inspector.widgets.footer import KeysFooter
from sioscope.inspector.widgets.packet_view import PacketView
from sioscope.inspector.widgets.packets_pane import PACKET_VIEW_ID
from sioscope.inspector.widgets.socket_table import SocketTable, column_title
from sioscope.inspector.widgets.status_bar import Part, StatusBar
from sioscope.inspector.widgets.table import KeyedTable


def default_export_dir() -> Path:
    """Where ctrl+s writes without ``--export-dir``: one clear place in the home directory,
    never the current directory (a repository, often, where the files got committed)."""
    return Path.home() / "sioscope-exports"


class InspectorApp(App[None]):
    """sioscope's inspector. ``client`` may be None (a replayed or synthetic model)."""

    TITLE = "sioscope"
    CSS = """
    #status { height: 1; background: $primary-background; padding: 0 1; }
    #views { height: 1fr; }
    #status.-bad { background: $error 40%; }
    #banner { height: auto; display: none; background: $warning 40%; padding: 0 1; }
    #banner.-on { display: block; }
    #filter { display: none; dock: bottom; margin-bottom: 1; }
    #filter.-on { display: block; }
    #filter.-invalid { border: tall $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = keymod.bindings()
    COMMANDS = App.COMMANDS | {ActionsProvider}

    def __init__(
        self,
        model: Model,
        client: AdminClient | None = None,
        *,
        readonly: bool = False,
        export_dir: Path | None = None,
        export_drains: bool = False,
        source: str = "",
        flush_interval: float = 0.1,
    ) -> None:
        super().__init__()
        self.model = model
        self.client = client
        self.readonly = readonly
        self.export_dir = export_dir or default_export_dir()
        self.export_drains = export_drains
        self.source = source
        self.flush_interval = flush_interval
        self.view = FIRST
        self._filter_before = ""
        """The filter when "/" opened the box: what Esc goes back to."""
        self.error = ""
        self._dirty = True
        self._views: dict[str, View] = {}
        self._detail_seen: object = None  # packet count the detail screen last showed
        self._last_second = -1
        self.flush_count = 0
        self._told_mode = False
        self._pending_dirty: set[str] = set()
        self.flush_seconds = 0.0
        self.actions = Actions(self)
        self._shown_text: dict[str, str] = {}
        """What the status bar and the banner show: updated only when it changes."""
        if client is not None:
            client.on_change = self.mark_dirty

    # -- layout

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="banner")
        with ContentSwitcher(initial=FIRST, id="views"):
            for name, spec in VIEWS.items():
                widget = spec.build(self.model)
                if not isinstance(widget, View):
                    raise TypeError(f"view {name!r}: {type(widget).__name__} is not a View")
                self._views[name] = widget
                yield widget
        yield Input(placeholder="filter: text  field:value  !negate  re:regex", id="filter")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_interval(self.flush_interval, self.flush)
        self.flush()
        self.query_one(VIEWS[FIRST].focus_selector).focus()

    def mark_dirty(self) -> None:
        self._dirty = True

    # -- the flush

    def flush(self) -> None:
        """Bring the visible view up to date with the model; cheap when nothing changed."""
        try:
            self._apply_model_updates()
        except NoMatches:
            # A screen is being mounted or torn down (push, pop, quit): the next tick
            # finds it whole, so skipping one frame is the right answer, not a crash.
            self._dirty = True

    def _apply_model_updates(self) -> None:
        started = time.perf_counter()
        now = self.model.clock()
        second = int(now)
        tick = second != self._last_second
        self._last_second = second
        was_dirty = self._dirty
        if self._dirty or tick:
            self._dirty = False
            self._update_status()
        if self.model.config_received and not self.model.development and not self._told_mode:
            # Production mode sends no per-socket data (the official UI shows only the
            # dashboard then): say so where the sockets would be, and open the view that
            # does have data.
            self._told_mode = True
            self.query_one(
                f"#{keymod.SOCKETS}", SocketTable
            ).empty = "production mode: the server sends no per-socket data (see 4 Dashboard)"
            if self.view == keymod.SOCKETS and not isinstance(self.screen, ModalScreen):
                self.call_later(self.action_view, keymod.DASHBOARD)
        dirty, structural = self.model.take_changes()
        self._pending_dirty |= dirty
        if isinstance(self.screen, DetailScreen):
            total = self.model.packets.total
            if dirty or tick or total != self._detail_seen:
                self._detail_seen = total
                self.screen.refresh_from_model()
        else:
            frame = Frame(
                now=now,
                tick=tick,
                dirty=was_dirty,
                changed=self._pending_dirty,
                structural=structural,
            )
            self._pending_dirty = set()  # frame rule 1: the view may keep the one it got
            self._views[self.view].sync(frame)
        self.flush_count += 1
        self.flush_seconds += time.perf_counter() - started

    def _reset_views(self) -> None:
        """Every view draws again at its next flush."""
        for view in self._views.values():
            view.invalidate()
        self._detail_seen = None

    def _update_status(self) -> None:
        model = self.model
        parts: list[Part] = []
        bad = False
        if self.client is not None:
            state = self.client.state
            dot = {"connected": "[green]●[/]", "connecting": "[yellow]◌[/]"}.get(state, "[red]●[/]")
            bad = state != "connected"
            full = f"{dot} {state} {self.client.detail}".rstrip()
            parts.append(Part(full, f"{dot} {state}", rank=3))
        else:
            parts.append(Part(f"[cyan]●[/] {self.source or 'offline'}", "[cyan]●[/]", rank=3))
        servers = model.server_health()
        if servers:
            healthy = sum(1 for _, ok in servers if ok)
            ratio = f"{healthy}/{len(servers)}"
            parts.append(Part(f"servers {ratio} healthy", f"{ratio} ok", rank=2, droppable=True))
        shown = len(model.visible_ids())
        count = f"{len(model.sockets)} sockets"
        short = count
        if model.snapshot_loading:
            count += f" (loading, {model.snapshot_total} in all)"
            short += f" (of {model.snapshot_total})"
        if model.filter:
            count += f" ({shown} match)"
            short += f" ({shown} match)"
        parts.append(Part(count, short, rank=1))
        if self.readonly or not self.can_act():
            parts.append(Part("[b]READ-ONLY[/b]"))
        if not model.development and model.config_received:
            parts.append(Part("production mode: stats only", "production", rank=2))
        if model.dropped or model.gaps:
            parts.append(
                Part(
                    f"[red]lost: {model.dropped} dropped, {model.gaps} gaps[/]",
                    f"[red]lost {model.dropped}/{model.gaps}[/]",
                )
            )
        status = self.query_one("#status", StatusBar)
        status.show(parts)
        status.set_class(bad, "-bad")
        self._update_banner()

    def _update_banner(self) -> None:
        log = self.model.packets
        banner = self.query_one("#banner", Static)
        text = ""
        if log.paused:
            text = f"PAUSED — {log.pending} new packets (p resumes)"
        if self.error:
            text = (text + "   " if text else "") + f"[b]{self.error}[/b]"
        filters = []
        if self.model.filter and self.view == keymod.SOCKETS:
            filters.append(f"filter: {self.model.filter.expression}")
        if self.model.filter and self.view == keymod.CLIENTS:
            filters.append(
                f"clients of the sockets matching {self.model.filter.expression!r} (ctrl+l clears)"
            )
        if self.model.filter and self.view == keymod.ROOMS:
            # The tree lists only the sockets the Sockets filter lets through: say so, or
            # a room looks emptier than it is.
            filters.append(
                f"rooms of the sockets matching {self.model.filter.expression!r} "
                f"({len(self.model.visible_ids())} of {len(self.model.sockets)}; ctrl+l clears)"
            )
        own = self._view_filter()
        if own is not None and own.filter_expression:
            filters.append(own.filter_summary())
        if log.filter and self.view == keymod.PACKETS:
            filters.append(f"filter: {log.filter.expression} ({len(log.view)} shown)")
        if filters:
            text = (text + "   " if text else "") + "  ".join(filters)
        if text != self._shown_text.get("banner"):
            # Its height follows its text (it may wrap): a layout, but only on a change.
            self._shown_text["banner"] = text
            banner.update(text)
        banner.set_class(bool(text), "-on")

    # -- views

    def action_view(self, name: str) -> None:
        if name not in VIEWS:
            return
        if isinstance(self.screen, DetailScreen):
            self.pop_screen()
        self.view = name
        self.query_one("#views", ContentSwitcher).current = name
        self._reset_views()
        self._last_second = -1  # frame rule 2: the view just shown redraws whole
        self._dirty = True
        self.flush()
        self.query_one(VIEWS[name].focus_selector).focus()

    @on(KeyedTable.Selected)
    def _open_socket(self, event: KeyedTable.Selected) -> None:
        if event.table.id == keymod.CLIENTS:
            self.actions.show_client(event.key)
        else:
            self.open_socket(event.key)

    def open_socket(self, sid: str) -> None:
        if sid in self.model.sockets:
            self.push_screen(DetailScreen(self.model, sid))

    def open_socket_by_id(self, sid: str, client_id: str = "") -> None:
        """The socket ``sid`` (else the only socket of ``client_id``), or say it is gone."""
        if sid in self.model.sockets:
            self.open_socket(sid)
            return
        of_client = [s.id for s in self.model.sockets.values() if s.client_id == client_id]
        if client_id and len(of_client) == 1:
            self.open_socket(of_client[0])
            return
        who = sid or f"of client {client_id}"
        self.notify(f"socket {who} is not in the socket list (gone?)", severity="warning")

    @on(PacketView.Opened)
    def _open_packet(self, event: PacketView.Opened) -> None:
        self.push_screen(PacketDetailScreen(event.record, self.open_socket_by_id))

    @on(Tree.NodeSelected)
    def _tree_selected(self, event: Tree.NodeSelected[Any]) -> None:
        data = event.node.data
        if isinstance(data, tuple) and data[0] == "socket":
            self.open_socket(data[2])

    @on(PacketView.FollowChanged)
    def _follow_changed(self, event: PacketView.FollowChanged) -> None:
        """Leaving the tail pauses the stream (new packets are counted); End resumes."""
        if event.view.id != PACKET_VIEW_ID:
            return  # the detail screen's per-socket view has no pause of its own
        log = self.model.packets
        if not event.follow and not log.paused:
            log.pause()
        elif event.follow and log.paused:
            log.resume()
        self._dirty = True
        self.flush()

    # -- selection

    def selected_socket(self) -> SocketInfo | None:
        if isinstance(self.screen, DetailScreen):
            return self.model.sockets.get(self.screen.socket_id)
        return self._views[self.view].selected_socket()

    def selected_room(self) -> tuple[str, str] | None:
        if isinstance(self.screen, DetailScreen):
            return None
        return self._views[self.view].selected_room()

    # -- availability (footer, help and palette all ask here)

    def can_act(self) -> bool:
        """Whether actions on the server are offered: not read-only, and connected to one."""
        return not self.readonly and self.client is not None

    def key_available(self, key: keymod.Key) -> bool:
        if key.destructive:
            if not self.can_act():
                return False
            if key.feature and self.model.config_received and not self.model.can(key.feature):
                return False
        if key.views is not None:
            where = keymod.DETAIL if isinstance(self.screen, DetailScreen) else self.view
            if where not in key.views:
                return False
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        key = keymod.by_action(action)
        if key is None:
            return True
        if isinstance(self.screen, ModalScreen):
            # A dialog's footer shows the dialog's own keys (q closes the help box and
            # cancels a confirmation; in a prompt it is a letter): only ctrl+c, which
            # quits from anywhere, passes through it.
            return key.id == "quit.interrupt"
        return self.key_available(key)

    def palette_entries(self) -> Iterable[tuple[keymod.Key, str]]:
        for key in keymod.KEYS:
            if key.id in ("palette", "open") or not self.key_available(key):
                continue
            yield key, key.action

    # -- filter, sort, pause

    def _view_filter(self) -> Filterable | None:
        """The view on screen, when it has a filter of its own (Exchanges, Errors)."""
        view: object = self._views.get(self.view)
        return view if isinstance(view, Filterable) else None

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        own = self._view_filter()
        box.value = self._filter_before = (
            own.filter_expression
            if own is not None
            else self.model.packets.filter.expression
            if self.view == keymod.PACKETS
            else self.model.filter.expression
        )
        box.add_class("-on")
        # Shown and focused now, not on the next refresh as the class and ``focus()``
        # would do: keys typed in the same burst as "/" are already queued, and each goes
        # to whatever has focus when it is dispatched ("/dy" once ran the d shortcut).
        box.display = True
        self.screen.set_focus(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, expression: str) -> bool:
        """Apply to the current view; a bad expression keeps the previous filter."""
        box = self.query_one("#filter", Input)
        own = self._view_filter()
        try:
            if own is not None:
                own.set_filter(expression)
            elif self.view == keymod.PACKETS:
                self.model.packets.set_filter(expression)
            else:
                self.model.set_filter(expression)
        except FilterError as exc:
            box.add_class("-invalid")
            self.error = str(exc)
            self._dirty = True
            return False
        box.remove_class("-invalid")
        self.error = ""
        self._dirty = True
        self._reset_views()
        self.flush()  # the user sees the effect of each keystroke now, not next tick
        return True

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self._close_filter()

    def _close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("-on")
        box.display = False
        self.query_one(VIEWS[self.view].focus_selector).focus()

    async def on_event(self, event: events.Event) -> None:
        """Keys typed in the same burst as "/" belong to the filter box.

        The App hands each key to whatever had focus when the key was *dispatched*, and
        in a burst ("/dy" in one read of the terminal) the keys after "/" were handed to
        the table before the box took focus; from there they bubble back here, where the
        App's bindings would run them as shortcuts ("d": disconnect). A printable key
        that reaches the App while the box has focus came from elsewhere (the box keeps
        every printable key it receives), so it is sent on to the box, in order.
        """
        if (
            isinstance(event, events.Key)
            and event.is_forwarded
            and event.is_printable
            and self.screen is self.screen_stack[0]
        ):
            box = self.query_one("#filter", Input)
            if self.focused is box:  # not has_focus: that follows on the next message
                event.stop()
                box.post_message(events.Key(event.key, event.character))
                return
        await super().on_event(event)

    def on_key(self, event: Any) -> None:
        if getattr(event, "key", "") == "escape" and self.query_one("#filter").has_focus:
            # Esc takes back what was typed since "/" (Enter keeps it), as in k9s.
            box = self.query_one("#filter", Input)
            if box.value != self._filter_before:
                box.value = self._filter_before
                self.apply_filter(self._filter_before)
            self._close_filter()
            event.stop()
            return
        # A key whose action is not offered here reaches the App unhandled: say why,
        # rather than do nothing (read-only, or a server without the feature).
        key = keymod.by_key(getattr(event, "key", ""))
        if key is not None and key.destructive and not isinstance(self.screen, ModalScreen):
            if not self.key_available(key):
                if self.readonly:
                    why = "read-only"
                elif not self.can_act():
                    why = "not attached to a server"
                elif key.feature and not self.model.can(key.feature):
                    why = "the server does not offer it"
                else:
                    why = "not in this view"
                self.notify(f"{key.description}: unavailable ({why})", timeout=2)
                event.stop()

    def set_filter_text(self, expression: str) -> None:
        """Put ``expression`` in the filter box and apply it to the current view."""
        self.query_one("#filter", Input).value = expression
        self.apply_filter(expression)

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.apply_filter("")

    def action_sort(self) -> None:
        """The next shown column that sorts (``columns``)."""
        names = [c.id for c in self.model.sortable_columns()]
        if not names:
            return
        at = names.index(self.model.sort_key) if self.model.sort_key in names else -1
        nxt = names[(at + 1) % len(names)]
        self.model.set_sort(nxt, reverse=False)
        self.notify(f"sorted by {column_title(nxt)}", timeout=1.5)
        self._dirty = True
        self.flush()

    def action_columns(self) -> None:
        """The column chooser; its answer goes to the model (``Model.set_columns``)."""

        def answered(ids: list[str] | None) -> None:
            if not ids:
                return
            self.model.set_columns(ids)
            self._reset_views()
            self._dirty = True
            self.flush()

        self.push_screen(ColumnsScreen(self.model), answered)

    def action_sort_reverse(self) -> None:
        self.model.set_sort(self.model.sort_key, reverse=not self.model.sort_reverse)
        self._dirty = True
        self.flush()

    def action_pause(self) -> None:
        log = self.model.packets
        if log.paused:
            log.resume()
            self.query_one(f"#{PACKET_VIEW_ID}", PacketView).follow = True
        else:
            log.pause()
        self._dirty = True
        self.flush()

    def action_toggle_engine(self) -> None:
        """Show or hide the Engine.IO-only packets (hidden by default)."""
        log = self.model.packets
        log.set_show_engine(not log.show_engine)
        self.notify(
            "Engine.IO packets shown" if log.show_engine else "Engine.IO packets hidden",
            timeout=1.5,
        )
        self._dirty = True
        self._reset_views()
        self.flush()

    def action_expand_packet(self) -> None:
        """Unfold or fold the fan-out under the Packets view's cursor."""
        view = self.query_one(f"#{PACKET_VIEW_ID}", PacketView)
        if not view.toggle_expanded():
            self.notify("not a fan-out: this packet went to one socket", timeout=2)

    def action_socket_packets(self) -> None:
        """Jump to the Packets view filtered to one socket's Engine.IO connection."""
        sock = self.selected_socket()
        if sock is None:
            self.notify("no socket selected", severity="warning")
            return
        # The packet stream knows connections (clientId); Node's events know socket ids.
        stream = self.model.has_packet_stream
        term = f"client:{sock.client_id}" if stream else f"socket:{sock.id}"
        self.action_view(keymod.PACKETS)
        self.query_one("#filter", Input).value = term
        self.apply_filter(term)

    # -- actions on the server and on the selection (inspector/actions.py)

    def action_disconnect(self, close: bool) -> None:
        self.actions.disconnect(close)

    def action_join(self) -> None:
        self.actions.room_command("join")

    def action_leave(self) -> None:
        self.actions.room_command("leave")

    def action_emit(self) -> None:
        self.actions.emit()

    def action_bulk(self) -> None:
        self.actions.bulk()

    def action_copy_handshake(self) -> None:
        self.actions.copy_handshake()

    def action_copy_id(self) -> None:
        self.actions.copy_id()

    def action_export(self) -> None:
        try:
            paths = self.export()
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        names = ", ".join(p.name for p in paths)
        hint = next((f" (sioscope open {p})" for p in paths if ".jsonl" in p.name), "")
        self.notify(f"exported to {self.export_dir}: {names}{hint}", timeout=8)

    def action_export_har(self) -> None:
        """The selected socket's traffic as HAR, from what was received (the journal)."""
        sock = self.selected_socket()
        capture = self.capture_for_export()
        if sock is None or capture is None:
            why = "no socket selected" if sock is None else "nothing kept to export"
            self.notify(f"HAR: {why}", severity="warning")
            return
        try:
            traffic = socket_traffic(capture, sock.id)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.model.clock()))
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / f"sioscope-{sock.id}-{stamp}.har"
            path.write_text(json.dumps(har(traffic), indent=1))
        except (OSError, CaptureError) as exc:
            self.notify(f"HAR export failed: {exc}", severity="error")
            return
        self.notify(f"{len(traffic.frames)} messages of {sock.id} written to {path}", timeout=8)

    def capture_for_export(self) -> Capture | None:
        """What ctrl+s writes as a capture: the model's journal (None without one)."""
        journal = self.model.journal
        if journal is None:
            return None
        namespace = self.client.options.namespace if self.client is not None else "/admin"
        return from_journal(journal, source=self.source, namespace=namespace)

    def export(self) -> list[Path]:
        """Write the visible socket list (JSON) and what was received as a capture
        (``sioscope record``'s format, so ``sioscope open`` and ``replay`` read it)."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.model.clock()))
        self.export_dir.mkdir(parents=True, exist_ok=True)
        sockets = self.export_dir / f"sioscope-sockets-{stamp}.json"
        sockets.write_text(json.dumps(self.model.export_sockets(), indent=2, default=str))
        paths = [sockets]
        capture = self.capture_for_export()
        if capture is not None:
            path = self.export_dir / f"sioscope-capture-{stamp}.jsonl"
            write_capture(path, capture, drains=self.export_drains)
            paths.append(path)
        return paths

    def action_help(self) -> None:
        available = {k.id: self.key_available(k) or k.views is not None for k in keymod.KEYS}
        for k in keymod.KEYS:
            if k.destructive and not self.can_act():
                available[k.id] = False
        self.push_screen(HelpScreen(available))

    async def action_interrupt(self) -> None:
        """ctrl+c: quit from anywhere, a dialog or the filter box included."""
        await self.action_quit()

    async def action_quit(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.exit()
