"""One socket in full: the handshake as a tree and as text, rooms, data, its own packets."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from sioscope.inspector import keys as keymod
from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.screens.value import ValueScreen
from sioscope.inspector.units import human_age
from sioscope.inspector.widgets.footer import KeysFooter
from sioscope.inspector.widgets.latency import LatencyPanel
from sioscope.inspector.widgets.packet_view import PacketView

TABS = ("tab-handshake", "tab-rooms", "tab-packets")


def server_of(model: Model, sock: SocketInfo) -> str:
    """The server the socket lives on: its own ``server_id`` when the wire socket names
    one, else the only server that sends ``server_stats``; with several and no name,
    the socket cannot be placed, and that is said rather than guessed."""
    own = getattr(sock, "server_id", "")  # set by servers that tag sockets (cluster)
    if isinstance(own, str) and own:
        return own
    if len(model.servers) == 1:
        return next(iter(model.servers))
    if not model.servers:
        return "unknown (no server_stats yet)"
    return f"unknown (one of {len(model.servers)} servers)"


def summary(sock: SocketInfo, now: float, server: str = "") -> str:
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(sock.issued))
    return (
        f"[b]socket[/b] {sock.id}   [b]namespace[/b] {sock.nsp}   [b]client[/b] {sock.client_id}\n"
        f"[b]server[/b] {server or '?'}   [b]transport[/b] {sock.transport}   "
        f"[b]address[/b] {sock.address}\n"
        f"[b]created[/b] {created} ({human_age(now - sock.issued)} ago)"
    )


class DetailScreen(Screen[None]):
    """Pushed by Enter on a socket; Esc goes back. Kept live by the app's flush."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", "Back"),
        *keymod.detail_bindings(),
    ]
    DEFAULT_CSS = """
    DetailScreen { overflow: hidden; }
    DetailScreen TabbedContent { height: 1fr; }
    DetailScreen TabPane { height: 1fr; padding: 0; }
    DetailScreen TabPane > Horizontal { height: 1fr; }
    DetailScreen #summary { padding: 0 1; height: auto; background: $boost; }
    DetailScreen #gone { color: $error; text-style: bold; padding: 0 1; height: auto; }
    DetailScreen Tree { width: 1fr; }
    DetailScreen #pretty { width: 1fr; }
    DetailScreen #rooms, DetailScreen #data { padding: 0 1; }
    """

    def __init__(self, model: Model, socket_id: str) -> None:
        super().__init__()
        self.model = model
        self.socket_id = socket_id
        self.last: SocketInfo | None = model.sockets.get(socket_id)
        self.gone = False
        self._shown: tuple[Any, ...] = ()
        self._ready = False

    @property
    def socket(self) -> SocketInfo | None:
        return self.model.sockets.get(self.socket_id) or self.last

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        yield LatencyPanel(id="latency")
        yield Static(id="gone")
        with TabbedContent(initial="tab-handshake"):
            with TabPane("Handshake", id="tab-handshake"), Horizontal():
                yield Tree("handshake", id="tree")
                with VerticalScroll(id="pretty-scroll"):
                    yield Static(id="pretty")
            with TabPane("Rooms & data", id="tab-rooms"), VerticalScroll():
                yield Static(id="rooms")
                yield Static(id="data")
            with TabPane("Packets", id="tab-packets"):
                yield PacketView(id="socket-packets")
        yield KeysFooter()

    def on_mount(self) -> None:
        sock = self.socket
        tree = self.query_one("#tree", Tree)
        if sock is not None:
            add_json(tree.root, sock.handshake)
            tree.root.expand()
            for child in tree.root.children:
                if str(child.label).endswith(("headers", "query")):
                    child.expand()
            self.query_one("#pretty", Static).update(
                wrapped(JSON(json.dumps(sock.handshake, indent=2)))
            )
            tree.focus()
        self._ready = True
        self.refresh_from_model()

    def refresh_from_model(self) -> None:
        """Called by the app's flush; cheap when nothing about this socket changed."""
        if not self._ready:
            return
        live = self.model.sockets.get(self.socket_id)
        if live is not None:
            self.last = live
        elif not self.gone:
            self.gone = True
            self.query_one("#gone", Static).update(
                "This socket has disconnected; what is shown is its last known state."
            )
        sock = self.socket
        if sock is None:
            self.query_one("#summary", Static).update(f"unknown socket {self.socket_id}")
            return
        self.query_one("#summary", Static).update(
            summary(sock, self.model.clock(), server_of(self.model, sock))
        )
        self.query_one("#latency", LatencyPanel).show(self.model, sock)
        key = (tuple(sock.rooms), json.dumps(sock.data, sort_keys=True, default=str))
        if key != self._shown:
            self._shown = key
            rooms = (
                "\n".join(f"  {'(own id) ' if r == sock.id else ''}{r}" for r in sock.rooms)
                or "  (none)"
            )
            self.query_one("#rooms", Static).update(f"[b]Rooms[/b]\n{rooms}\n")
            self.query_one("#data", Static).update(
                wrapped(JSON(json.dumps(sock.data, indent=2, default=str)))
            )
        self.query_one("#socket-packets", PacketView).set_records(
            self.model.packets.for_socket(sock)
        )

    def action_tab(self, step: int) -> None:
        """Next or previous tab, wrapping (keys.DETAIL_KEYS)."""
        tabs = self.query_one(TabbedContent)
        i = TABS.index(tabs.active) if tabs.active in TABS else 0
        pane = TABS[(i + step) % len(TABS)]
        # Focus left inside the old pane would take it back (TabbedContent shows the
        # pane that holds the focus): let go first, then focus into the new one.
        self.set_focus(None)
        tabs.active = pane
        self.call_after_refresh(self._focus_pane, pane)

    def _focus_pane(self, pane: str) -> None:
        for widget in self.query_one(f"#{pane}", TabPane).query("*"):
            if widget.focusable:
                widget.focus()
                return

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        """Enter on a leaf opens its value whole (a row shows one line of it)."""
        node = event.node
        if node.children or node.parent is None:
            return
        event.stop()
        path = []
        walk: TreeNode[Any] | None = node
        while walk is not None and walk.parent is not None:
            path.append(str(walk.label).split("=", 1)[0])
            walk = walk.parent
        self.app.push_screen(ValueScreen(".".join(reversed(path)), node.data))


def wrapped(pretty: JSON) -> JSON:
    """Rich's JSON never wraps (a long user agent ran off the pane): fold long lines."""
    pretty.text.no_wrap = False
    pretty.text.overflow = "fold"
    return pretty


def add_json(node: TreeNode[Any], data: Any) -> None:
    """``data`` under ``node`` with leaves written as JSON (``false``, ``null``, quoted
    strings): Textual's ``Tree.add_json`` writes Python's ``False`` and ``None``, which no
    Socket.IO peer ever sent."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        if isinstance(value, dict | list) and value:
            child = node.add(Text(str(key), style="bold"), data=value)
            add_json(child, value)
        else:
            node.add_leaf(Text.assemble((str(key), "bold"), "=", json.dumps(value)), data=value)
