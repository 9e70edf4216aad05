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
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo
from sioscope.inspector.units import human_age
from sioscope.inspector.widgets.packet_view import PacketView


def summary(sock: SocketInfo, now: float) -> str:
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(sock.issued))
    return (
        f"[b]socket[/b] {sock.id}   [b]namespace[/b] {sock.nsp}   [b]client[/b] {sock.client_id}\n"
        f"[b]transport[/b] {sock.transport}   [b]address[/b] {sock.address}   "
        f"[b]created[/b] {created} ({human_age(now - sock.issued)} ago)"
    )


class DetailScreen(Screen[None]):
    """Pushed by Enter on a socket; Esc goes back. Kept live by the app's flush."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]  # noqa: RUF012
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
        yield Footer()

    def on_mount(self) -> None:
        sock = self.socket
        tree = self.query_one("#tree", Tree)
        if sock is not None:
            add_json(tree.root, sock.handshake)
            tree.root.expand()
            for child in tree.root.children:
                if str(child.label).endswith(("headers", "query")):
                    child.expand()
            self.query_one("#pretty", Static).update(JSON(json.dumps(sock.handshake, indent=2)))
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
        self.query_one("#summary", Static).update(summary(sock, self.model.clock()))
        key = (tuple(sock.rooms), json.dumps(sock.data, sort_keys=True, default=str))
        if key != self._shown:
            self._shown = key
            rooms = (
                "\n".join(f"  {'(own id) ' if r == sock.id else ''}{r}" for r in sock.rooms)
                or "  (none)"
            )
            self.query_one("#rooms", Static).update(f"[b]Rooms[/b]\n{rooms}\n")
            self.query_one("#data", Static).update(JSON(json.dumps(sock.data, default=str)))
        self.query_one("#socket-packets", PacketView).set_records(
            self.model.packets.for_socket(sock)
        )


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
