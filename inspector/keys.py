"""Every key of the inspector, as data.

One table feeds the App's ``BINDINGS`` (hence the footer), the help screen and the
command palette, so the three cannot drift apart. ``destructive`` keys change the
server; read-only mode hides them, and so does a server that does not advertise the
``feature`` they need (``supportedFeatures``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from sioscope.server.admin import protocol


@dataclass(frozen=True, slots=True)
class Key:
    """One binding: the key, its action, and what the user is told about it."""

    id: str
    key: str
    action: str
    description: str
    group: str
    help: str
    show: bool = True
    destructive: bool = False
    feature: str | None = None
    views: frozenset[str] | None = None
    """Views where the action applies (``None``: everywhere)."""
    priority: bool = False
    """Before any widget's own binding (ctrl+c: the filter box would copy instead)."""

    @property
    def display_key(self) -> str:
        return self.key.split(",")[0]


SOCKETS, ROOMS, PACKETS, DASHBOARD, DETAIL = "sockets", "rooms", "packets", "dashboard", "detail"
CLIENTS = "clients"
EXCHANGES, ERRORS = "exchanges", "errors"
_SOCKETISH = frozenset({SOCKETS, DETAIL})

KEYS: tuple[Key, ...] = (
    Key("view.sockets", "1", "view('sockets')", "Sockets", "Views", "Live table of sockets"),
    Key("view.rooms", "2", "view('rooms')", "Rooms", "Views", "Namespace → room → sockets"),
    Key("view.packets", "3", "view('packets')", "Packets", "Views", "Live packet stream"),
    Key(
        "view.dashboard",
        "4",
        "view('dashboard')",
        "Dashboard",
        "Views",
        "Clients, rates and server health",
    ),
    Key(
        "view.clients",
        "5",
        "view('clients')",
        "Clients",
        "Views",
        "Engine.IO connections: transport, address, their sockets",
    ),
    Key(
        "view.exchanges",
        "6",
        "view('exchanges')",
        "Exchanges",
        "Views",
        "Events that asked for an ack, each with its ack and the time between",
    ),
    Key(
        "view.errors",
        "7",
        "view('errors')",
        "Errors",
        "Views",
        "Refused and failed connections; disconnect reasons over time",
    ),
    Key(
        "open",
        "enter",
        "open",
        "Open",
        "Views",
        "Open the selected socket, or the selected packet whole (in Clients: its sockets)",
        show=False,
    ),
    Key(
        "filter",
        "slash",
        "filter",
        "Filter",
        "Find",
        "Filter the current view: text, field:value, !negate, re:regex",
    ),
    Key(
        "filter.clear",
        "ctrl+l",
        "clear_filter",
        "Clear filter",
        "Find",
        "Remove the current view's filter",
        show=False,
    ),
    Key("sort", "s", "sort", "Sort", "Find", "Cycle the sort column", views=frozenset({SOCKETS})),
    Key(
        "sort.reverse",
        "S",
        "sort_reverse",
        "Reverse",
        "Find",
        "Reverse the sort order",
        show=False,
        views=frozenset({SOCKETS}),
    ),
    Key(
        "columns",
        "C",
        "columns",
        "Columns",
        "Find",
        "Choose the Sockets table's columns (client id, user agent, data fields…)",
        show=False,
        views=frozenset({SOCKETS}),
    ),
    Key(
        "packets.socket",
        "P",
        "socket_packets",
        "Its packets",
        "Stream",
        "Packets view filtered to the selected socket's connection",
        show=False,
        views=_SOCKETISH,
    ),
    Key(
        "pause",
        "p,space",
        "pause",
        "Pause",
        "Stream",
        "Freeze the packet stream; new packets are counted",
        views=frozenset({PACKETS}),
    ),
    Key(
        "packets.engine",
        "E",
        "toggle_engine",
        "Engine.IO",
        "Stream",
        "Show or hide the Engine.IO-only packets (ping, pong, noop, upgrade probes, drains)",
        views=frozenset({PACKETS}),
    ),
    Key(
        "packet.expand",
        "x",
        "expand_packet",
        "Expand",
        "Stream",
        "Unfold a fan-out (one packet to N sockets) into one line per recipient",
        show=False,
        views=frozenset({PACKETS}),
    ),
    Key(
        "disconnect",
        "d",
        "disconnect(False)",
        "Disconnect",
        "Actions",
        "Force-disconnect the selected socket (asks first; in Clients: the whole client)",
        destructive=True,
        feature=protocol.FEATURE_DISCONNECT,
        views=frozenset({SOCKETS, DETAIL, CLIENTS}),
    ),
    Key(
        "disconnect.client",
        "D",
        "disconnect(True)",
        "Kill client",
        "Actions",
        "Close the selected socket's whole Engine.IO client (asks first)",
        show=False,
        destructive=True,
        feature=protocol.FEATURE_DISCONNECT,
        views=_SOCKETISH,
    ),
    Key(
        "join",
        "J",
        "join",
        "Join",
        "Actions",
        "Make the selected socket join a room",
        show=False,
        destructive=True,
        feature=protocol.FEATURE_JOIN,
        views=_SOCKETISH,
    ),
    Key(
        "leave",
        "L",
        "leave",
        "Leave",
        "Actions",
        "Make the selected socket leave a room",
        show=False,
        destructive=True,
        feature=protocol.FEATURE_LEAVE,
        views=_SOCKETISH,
    ),
    Key(
        "bulk",
        "b",
        "bulk",
        "Bulk",
        "Actions",
        "Disconnect, join or leave every socket the filter matches (asks, with the count)",
        show=False,
        destructive=True,
        feature=protocol.FEATURE_MDISCONNECT,
        views=frozenset({SOCKETS}),
    ),
    Key(
        "emit",
        "e",
        "emit",
        "Emit",
        "Actions",
        "Emit an event to the selected socket or room",
        destructive=True,
        feature=protocol.FEATURE_EMIT,
        views=frozenset({SOCKETS, DETAIL, ROOMS}),
    ),
    Key(
        "copy",
        "c",
        "copy_handshake",
        "Copy",
        "Data",
        "Copy the selected socket's handshake JSON (says whether the clipboard got it)",
        show=False,
        views=_SOCKETISH,
    ),
    Key(
        "copy.id",
        "i",
        "copy_id",
        "Copy id",
        "Data",
        "Copy just the selected socket's id",
        show=False,
        views=_SOCKETISH,
    ),
    Key(
        "export",
        "ctrl+s",
        "export",
        "Export",
        "Data",
        "Write the sockets (JSON) and a capture of the session (for sioscope open, har, replay) "
        "to --export-dir (~/sioscope-exports)",
        show=False,
    ),
    Key(
        "export.har",
        "H",
        "export_har",
        "HAR",
        "Data",
        "Write the selected socket's traffic as HAR (Chrome DevTools opens it) to --export-dir",
        show=False,
        views=frozenset({SOCKETS, DETAIL, PACKETS}),
    ),
    Key("help", "question_mark,f1", "help", "Help", "App", "This screen"),
    Key(
        "palette", "ctrl+p", "command_palette", "Palette", "App", "Search every action", show=False
    ),
    Key("quit", "q", "quit", "Quit", "App", "Leave the inspector"),
    Key(
        "quit.interrupt",
        "ctrl+c",
        "interrupt",
        "Quit",
        "App",
        "Leave the inspector, from anywhere (as k9s, htop and lazygit do)",
        show=False,
        priority=True,
    ),
)


NAV_KEYS: tuple[Key, ...] = (
    Key("nav.down", "down,j", "cursor(1)", "Down", "Move", "Next row (tables, tree, packets)"),
    Key("nav.up", "up,k", "cursor(-1)", "Up", "Move", "Previous row"),
    Key("nav.page", "pagedown,pageup", "page(1)", "Page", "Move", "A screenful down or up"),
    Key("nav.top", "home,g", "edge(0)", "Top", "Move", "First row (in Packets: pauses the stream)"),
    Key(
        "nav.bottom",
        "end,G",
        "edge(1)",
        "Bottom",
        "Move",
        "Last row (in Packets: back to the live tail, resumed)",
    ),
    Key(
        "nav.escape",
        "escape",
        "back",
        "Back",
        "Move",
        "Close a dialog or the detail screen; in the filter box, take back what was typed",
    ),
    Key("nav.focus", "tab", "focus_next", "Focus", "Move", "Next pane (tab of the detail screen)"),
)
"""Keys the widgets bind themselves (``widgets.table`` and Textual's own), listed here so
the help screen and the README show every key; they make no App binding."""

DIALOG_KEYS: tuple[Key, ...] = (
    Key(
        "confirm.yes",
        "y",
        "confirm",
        "Confirm",
        "Dialogs",
        "In a confirmation: do it (a y typed before it was shown never counts)",
    ),
    Key("confirm.no", "n,escape,q", "cancel", "Cancel", "Dialogs", "In a confirmation: cancel"),
    Key(
        "prompt.history",
        "up,down",
        "history",
        "History",
        "Dialogs",
        "In a prompt: the answers given earlier in this session",
    ),
    Key(
        "prompt.ack",
        "ctrl+t",
        "extra",
        "With ack",
        "Dialogs",
        "In the emit prompt: emit with an ack and show the reply, or the timeout, in place "
        "(servers with X_SIOSCOPE_EMIT_ACK)",
    ),
    Key(
        "bulk.choose",
        "d,j,l",
        "choose",
        "Choose",
        "Dialogs",
        "In the bulk choice: disconnect, join or leave every match (then a confirmation)",
    ),
)
"""The keys of the dialogs (``screens``), for the help screen and the README; each
dialog binds or reads them itself."""

DETAIL_KEYS: tuple[Key, ...] = (
    Key(
        "detail.next_tab",
        "tab,right_square_bracket",
        "tab(1)",
        "Next tab",
        "Socket detail",
        "Next tab of the socket detail (Handshake, Rooms & data, Packets)",
        views=frozenset({DETAIL}),
        priority=True,  # before the Screen's own tab (focus next), which would win
    ),
    Key(
        "detail.prev_tab",
        "shift+tab,left_square_bracket",
        "tab(-1)",
        "Previous tab",
        "Socket detail",
        "Previous tab of the socket detail",
        show=False,
        views=frozenset({DETAIL}),
        priority=True,
    ),
    Key(
        "detail.open_value",
        "enter",
        "open",
        "Open value",
        "Socket detail",
        "On a handshake row: the value whole, wrapped (a row shows one line)",
        show=False,
        views=frozenset({DETAIL}),
    ),
)
"""The socket detail screen's own keys: its bindings (Enter is the tree's own)."""


def detail_bindings() -> list[BindingType]:
    """Textual bindings for the detail screen (``screens.detail``)."""
    return [
        Binding(
            k.key,
            k.action,
            k.description,
            show=k.show,
            id=k.id,
            tooltip=k.help,
            priority=k.priority,
        )
        for k in DETAIL_KEYS
        if k.id != "detail.open_value"
    ]


def bindings() -> list[BindingType]:
    """Textual bindings for the App, with ids so users can remap them with a keymap."""
    return [
        Binding(
            k.key,
            k.action,
            k.description,
            show=k.show,
            id=k.id,
            tooltip=k.help,
            priority=k.priority,
        )
        for k in KEYS
        if k.id != "open"  # Enter belongs to the tables themselves
    ]


def by_key(key: str) -> Key | None:
    """The entry bound to the Textual key name ``key`` (``d``, ``D``, ``ctrl+s``)."""
    for k in KEYS:
        if key in k.key.split(","):
            return k
    return None


def by_action(action: str) -> Key | None:
    """The key whose action name (without arguments) is ``action``."""
    for k in KEYS:
        if k.action.split("(")[0] == action:
            return k
    return None


def markdown_table() -> str:
    """The README's key table, generated here so a test can tell when it drifts."""
    pretty = {
        "slash": "/",
        "question_mark": "?",
        "space": "Space",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    rows = ["| Key | Action | What it does |", "| --- | --- | --- |"]
    for k in (*KEYS, *DETAIL_KEYS, *NAV_KEYS, *DIALOG_KEYS):
        keys = " ".join(f"`{pretty.get(x, x)}`" for x in k.key.split(","))
        note = " *(hidden when read-only)*" if k.destructive else ""
        rows.append(f"| {keys} | {k.description} | {k.help}{note} |")
    return "\n".join(rows)


PACKET_DETAIL_KEYS: tuple[Key, ...] = (
    Key("packet.back", "escape", "dismiss", "Back", "Packet", "Back to the packets"),
    Key("packet.socket", "s", "open_socket", "Its socket", "Packet", "The packet's socket"),
    Key("packet.copy", "c", "copy", "Copy", "Packet", "Copy the packet as JSON"),
)
"""The keys of the packet detail screen (``screens.packet_detail``)."""


def screen_bindings(keys: tuple[Key, ...]) -> list[BindingType]:
    """Textual bindings for a screen's own keys."""
    return [
        Binding(k.key, k.action, k.description, show=k.show, id=k.id, tooltip=k.help) for k in keys
    ]


CAPTURE_KEYS: tuple[Key, ...] = (
    Key("cursor.next", "full_stop", "cursor_step(1)", "Step", "Capture", "Next event"),
    Key("cursor.prev", "comma", "cursor_step(-1)", "Back", "Capture", "Previous event"),
    Key("cursor.fwd", "right_square_bracket", "cursor_jump(10)", "+10s", "Capture", "Jump 10 s"),
    Key("cursor.back", "left_square_bracket", "cursor_jump(-10)", "-10s", "Capture", "Back 10 s"),
    Key("cursor.play", "t", "cursor_play", "Play", "Capture", "Play or pause the capture"),
    Key("cursor.speed", "T", "cursor_speed", "Speed", "Capture", "Play at 1x or 10x"),
)
"""The time cursor of ``sioscope open`` (``capture_app``): only that app binds them."""


def capture_bindings() -> list[BindingType]:
    """Textual bindings for the capture app's time cursor."""
    return screen_bindings(CAPTURE_KEYS)
