"""One packet whole: what it means, its arguments as pretty JSON, binary as hex, sizes.

Opened by Enter in the Packets view (or a socket's packets tab); the socket the packet
belongs to is one key away (``keys.PACKET_DETAIL_KEYS``). The text is built by plain
functions (:func:`describe`, :func:`hexdump`) so tests read it without a terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from sioscope.inspector import keys as keymod
from sioscope.inspector.records import PacketRecord

HEX_LIMIT = 4096
"""Bytes of one attachment shown as hex (the size is always given in full)."""
WIRE_LIMIT = 4000
"""Characters of the wire text shown."""
DIRECTIONS = {
    "in": "→ in (client → server)",
    "out": "← out (server → client)",
    "info": "· connection event",
}


def hexdump(data: bytes, limit: int = HEX_LIMIT) -> str:
    """``offset  hex bytes  |ascii|``, 16 bytes a line, at most ``limit`` bytes."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes")
    return "\n".join(lines) if lines else "(empty)"


def _jsonable(value: Any, attachments: list[bytes]) -> Any:
    """``value`` with each binary value replaced by a note naming its attachment."""
    if isinstance(value, bytes | bytearray | memoryview):
        attachments.append(bytes(value))
        return f"<binary {len(value)} B: attachment {len(attachments) - 1}>"
    if isinstance(value, list | tuple):
        return [_jsonable(v, attachments) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, attachments) for k, v in value.items()}
    return value


def describe(rec: PacketRecord) -> dict[str, Any]:
    """Everything the screen shows, as data: ``summary`` lines, ``json`` (pretty
    arguments or None), ``attachments`` (bytes each), ``wire`` (the frames' text)."""
    whole_ms = round(rec.ts * 1000)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole_ms // 1000))
    when += f".{whole_ms % 1000:03d} UTC"
    kind = rec.sio or rec.type
    title = f"{kind} {rec.event}" if rec.event is not None else kind
    lines = [f"[b]{title}[/b]   {DIRECTIONS.get(rec.direction, rec.direction)}   {when}"]
    who = f"socket {rec.socket_id or '(unknown)'}   client {rec.client_id or '(unknown)'}"
    if rec.sio:
        who += f"   namespace {rec.nsp}"
    if rec.ack_id is not None:
        who += f"   ack id {rec.ack_id}"
    lines.append(who)
    attachments: list[bytes] = []
    pretty = None
    if rec.sio and rec.args is not None:
        pretty = json.dumps(_jsonable(rec.args, attachments), indent=2, ensure_ascii=False)
    text_bytes = next(
        (len(f.encode("utf-8", "surrogatepass")) for f in rec.frames if isinstance(f, str)), None
    )
    size = f"size {rec.size} B"
    if attachments or (text_bytes is not None and text_bytes != rec.size):
        size += f" in all: text {text_bytes if text_bytes is not None else '?'} B"
        if attachments:
            size += f", {len(attachments)} attachment(s) of " + ", ".join(
                f"{len(a)} B" for a in attachments
            )
    lines.append(size)
    if rec.recipients:
        lines.append(f"fan-out: the same packet to {rec.count} sockets:")
        lines.extend(f"  {sid or '(unknown socket)'}  client {cid}" for sid, cid in rec.recipients)
    if rec.error:
        lines.append(f"[b]note[/b] {rec.error}")
    wire = "\n".join(
        (f if len(f) <= WIRE_LIMIT else f[:WIRE_LIMIT] + f" … ({len(f)} characters)")
        if isinstance(f, str)
        else f"<binary frame, {len(f)} B>"
        for f in rec.frames
    )
    if not wire and rec.preview is not None:
        wire = rec.preview
    return {"summary": lines, "json": pretty, "attachments": attachments, "wire": wire}


class PacketDetailScreen(ModalScreen[None]):
    """Pushed by Enter on a packet; Esc goes back, ``s`` opens its socket."""

    BINDINGS: ClassVar[list[BindingType]] = keymod.screen_bindings(keymod.PACKET_DETAIL_KEYS)
    DEFAULT_CSS = """
    PacketDetailScreen { background: $background 60%; align: center middle; }
    PacketDetailScreen > VerticalScroll {
        width: 100%; height: 1fr; background: $surface; padding: 0 1;
    }
    PacketDetailScreen .section { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, record: PacketRecord, on_socket: Callable[[str, str], None]) -> None:
        super().__init__()
        self.record = record
        self.on_socket = on_socket
        """Opens ``(socket id, client id)``: the app's, which knows the socket list."""
        self.details = describe(record)

    def compose(self) -> ComposeResult:
        d = self.details
        with VerticalScroll():
            yield Static("\n".join(d["summary"]), id="packet-summary")
            if d["json"] is not None:
                yield Static("Arguments", classes="section")
                yield Static(Text(d["json"]), id="packet-json")
            for n, data in enumerate(d["attachments"]):
                yield Static(f"Attachment {n} ({len(data)} B)", classes="section")
                yield Static(Text(hexdump(data)), id=f"packet-hex-{n}")
            if d["wire"]:
                yield Static("On the wire (Engine.IO message payloads)", classes="section")
                yield Static(Text(d["wire"]), id="packet-wire")
        yield Footer()

    def action_open_socket(self) -> None:
        """Close this screen and open the packet's socket (the app says if it is gone)."""
        rec = self.record
        sid = rec.socket_id or (rec.recipients[0][0] if rec.recipients else "")
        self.dismiss(None)
        self.on_socket(sid, rec.client_id)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(json.dumps(self.record.to_json(), indent=2, default=str))
        self.app.notify("packet copied as JSON", timeout=2)
