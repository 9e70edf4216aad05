"""One socket's traffic in a capture: what HAR export and replay are made of.

A capture holds admin events (``inspector/capture.py``); a socket's traffic is spread
over them: the socket itself in ``all_sockets``, snapshot pages or ``socket_connected``,
its packets in ``sioscope:packets`` records that name its Engine.IO client. Rules:

1. The socket is found by its Socket.IO id; its last serialized state wins (a later
   ``socket_connected`` of the same id is the same socket reconnected with recovery).
2. Its frames are its connection's Engine.IO packets that are not another namespace's:
   every non-message packet (open, ping, pong, upgrade, noop, close) and the messages
   whose Socket.IO packet names its namespace, attachments included. Messages are
   decoded with ``decoding`` (the server's parser), one decoder per direction.
3. A capture without the packet stream (a Node server) still has the socket's events
   (``event_received`` / ``event_sent``); they become EVENT packets, encoded with the
   server's encoder, without ack ids (Node does not report them).
4. A frame whose payload the capture did not hold whole is marked ``cut``: HAR shows
   what there is, replay refuses to send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sioscope.inspector.capture import Capture, CaptureError
from sioscope.inspector.decoding import ConnectionDecoder, Meaning, meaning, wire_payload
from sioscope.inspector.records import parse_timestamp
from sioscope.server.admin import protocol
from sioscope.server.parser import Packet, PacketType, encode

ENGINE_TYPES = {"open": 0, "close": 1, "ping": 2, "pong": 3, "message": 4, "upgrade": 5, "noop": 6}
"""Engine.IO packet type -> the digit a WebSocket text frame starts with."""


class UnknownSocket(CaptureError):
    """The capture has no socket of that id (the message says what it has)."""


@dataclass(slots=True)
class Frame:
    """One Engine.IO packet of the connection, as it crossed the wire."""

    ts_ms: int
    direction: str
    """``in``: client to server; ``out``: server to client."""
    type: str
    data: str | bytes | None
    cut: bool = False


@dataclass(slots=True)
class SioPacket:
    """One Socket.IO packet of the socket (rule 2) and the frames it came in."""

    ts_ms: int
    direction: str
    meaning: Meaning
    frames: list[Frame]

    @property
    def whole(self) -> bool:
        return not any(f.cut for f in self.frames) and not self.meaning.error


@dataclass
class Traffic:
    """Rule 1 to 3 for one socket."""

    socket: dict[str, Any]
    source: str
    frames: list[Frame] = field(default_factory=list)
    packets: list[SioPacket] = field(default_factory=list)
    streamed: bool = False
    """The capture had the packet stream (else rule 3)."""

    @property
    def socket_id(self) -> str:
        return str(self.socket.get("id", ""))

    @property
    def client_id(self) -> str:
        return str(self.socket.get("clientId", ""))

    @property
    def nsp(self) -> str:
        return str(self.socket.get("nsp", "/"))

    @property
    def handshake(self) -> dict[str, Any]:
        hs = self.socket.get("handshake")
        return hs if isinstance(hs, dict) else {}


def _sockets_in(event: str, args: list[Any]) -> list[Any]:
    first = args[0] if args else None
    if event == protocol.ALL_SOCKETS and isinstance(first, list):
        return first
    if event == protocol.EV_SNAPSHOT_PAGE and isinstance(first, dict):
        sockets = first.get("sockets")
        return sockets if isinstance(sockets, list) else []
    if event == protocol.SOCKET_CONNECTED and isinstance(first, dict):
        return [first]
    return []


def socket_traffic(capture: Capture, socket_id: str, name: str = "the capture") -> Traffic:
    """The traffic of ``socket_id`` (module rules); :class:`UnknownSocket` if absent."""
    found: dict[str, Any] | None = None
    seen: dict[str, None] = {}
    for _, event, args in capture.events:
        for raw in _sockets_in(event, args):
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                seen[raw["id"]] = None
                if raw["id"] == socket_id:
                    found = raw
    if found is None:
        some = ", ".join(list(seen)[:3]) + (", …" if len(seen) > 3 else "")
        has = f"it has {len(seen)} ({some})" if seen else "it has none"
        raise UnknownSocket(f"no socket {socket_id!r} in {name}: {has}")
    traffic = Traffic(found, str(capture.header.get("source", "")))
    _fill(traffic, capture)
    return traffic


def _fill(traffic: Traffic, capture: Capture) -> None:
    cid, nsp = traffic.client_id, traffic.nsp
    decoders = {protocol.KIND_IN: ConnectionDecoder(), protocol.KIND_OUT: ConnectionDecoder()}
    pending: dict[str, list[Frame]] = {protocol.KIND_IN: [], protocol.KIND_OUT: []}
    traffic.streamed = any(event == protocol.EV_PACKETS for _, event, _ in capture.events)
    for _, event, args in capture.events:
        if event in (protocol.EVENT_RECEIVED, protocol.EVENT_SENT):
            _node_event(traffic, event, args)
            continue
        if event != protocol.EV_PACKETS or not args or not isinstance(args[0], dict):
            continue
        for rec in args[0].get("records", []):
            if not isinstance(rec, list) or len(rec) < 6 or rec[1] != cid:
                continue
            ts, _, kind, ptype, size, preview = rec[:6]
            if kind not in decoders:
                continue
            payload = wire_payload(rec[6]) if len(rec) > 6 else None
            data: str | bytes | None = payload if payload is not None else preview
            size = int(size or 0)
            cut = (payload is None and size > 0) and not (
                isinstance(preview, str) and len(preview.encode("utf-8", "surrogatepass")) == size
            )
            frame = Frame(int(ts), kind, str(ptype), data, cut)
            if ptype != "message":
                traffic.frames.append(frame)
                continue
            frames = pending[kind]
            frames.append(frame)
            got = decoders[kind].feed(payload, preview if isinstance(preview, str) else None, size)
            if got is None:
                continue
            pending[kind] = []
            if got.nsp == nsp or not got.sio:
                traffic.frames.extend(frames)
                traffic.packets.append(SioPacket(frames[0].ts_ms, kind, got, frames))
    traffic.frames.sort(key=lambda f: f.ts_ms)  # stable: same-ms frames keep their order


def _node_event(traffic: Traffic, event: str, args: list[Any]) -> None:
    """Rule 3: ``[nsp, socketId, [name, ...args], timestamp]``."""
    if traffic.streamed or len(args) < 3 or args[1] != traffic.socket_id:
        return
    data = args[2]
    if not isinstance(data, list) or not data:
        return
    ts = int(parse_timestamp(args[3] if len(args) > 3 else None, 0.0) * 1000)
    direction = protocol.KIND_IN if event == protocol.EVENT_RECEIVED else protocol.KIND_OUT
    packet = Packet(PacketType.EVENT, traffic.nsp, data)
    wire = encode(packet)
    frames = [Frame(ts, direction, "message", part) for part in wire]
    traffic.frames.extend(frames)
    traffic.packets.append(SioPacket(ts, direction, meaning(packet, False, list(wire)), frames))
