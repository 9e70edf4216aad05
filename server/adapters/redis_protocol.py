"""The wire of ``@socket.io/redis-adapter`` 8.3 ``createAdapter``, sans-I/O.

Channel names, message encoders and decoders of the classic Redis pub/sub adapter;
no Redis and no sockets here (``redis.py`` drives it). The rules, as Node's
``lib/index.ts`` has them:

1. Channels, with ``<key>`` (default ``socket.io``) and the namespace name ``<nsp>``:
   broadcasts on ``<key>#<nsp>#`` (plus ``<room>#`` when exactly one room is targeted),
   received with the pattern ``<key>#<nsp>#*``; requests on ``<key>-request#<nsp>#``;
   responses on ``<key>-response#<nsp>#`` and on ``<key>-response#<nsp>#<uid>#``.
2. A broadcast is the msgpack array ``[uid, packet, {rooms, except, flags}]`` with the
   unencoded Socket.IO packet ``{type: 2, data, nsp}``: binary stays raw ``bytes``
   inside ``data``. A receiver drops it without decoding when the channel names a room
   it lacks, then by uid (its own) and by namespace (a missing ``nsp`` means ``/``).
3. Requests and responses are JSON objects with a numeric ``type`` (:class:`RequestType`),
   except the ack broadcast (type 7) and its per-client acks (type 9), which are msgpack
   maps; a reader tells them apart by the first byte (``{`` is JSON).
4. Every decoder raises :class:`MalformedMessage` for anything that is not a message of
   this protocol (garbage, a foreign format, a wrong shape); the driver drops and counts
   it. Node's peers are lenient the same way for requests; for broadcasts Node throws
   inside its listener, which we never do.
5. Ids are ``uid2(6)``: six characters of ``A-Za-z0-9-_`` (a random byte mod 64).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.adapters.codec import (
    dumps_json,
    loads_json,
    opts_from_wire,
    pack,
    unpack,
    wire_opts,
)

__all__ = [
    "NOTEPACK",
    "Broadcast",
    "Channels",
    "MalformedMessage",
    "Parser",
    "Request",
    "RequestType",
    "Response",
    "ack_broadcast_request",
    "all_rooms_request",
    "all_rooms_response",
    "broadcast_ack_response",
    "broadcast_message",
    "client_count_response",
    "decode_broadcast",
    "decode_request",
    "decode_response",
    "disconnect_request",
    "fetch_request",
    "fetch_response",
    "join_request",
    "leave_request",
    "legacy_done_response",
    "new_uid",
    "response_id",
    "server_side_emit_request",
    "server_side_emit_response",
    "sockets_response",
]

_UID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def new_uid() -> str:
    """A server uid or request id: Node's ``uid2(6)`` (rule 5)."""
    return "".join(_UID_CHARS[byte % 64] for byte in secrets.token_bytes(6))


class RequestType(IntEnum):
    """Node's ``RequestType`` (the values are the wire's)."""

    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


class MalformedMessage(ValueError):
    """Not a message of this protocol (rule 4)."""


class Parser(Protocol):
    """What encodes the msgpack-position messages (broadcasts, types 7 and 9): Node's
    ``parser`` option. Every server of a cluster must use the same one."""

    def encode(self, obj: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class _Notepack:
    """The default parser: msgpack as notepack.io writes it (see :mod:`.codec`)."""

    @staticmethod
    def encode(obj: Any) -> bytes:
        return pack(obj)

    @staticmethod
    def decode(data: bytes) -> Any:
        return unpack(data)


NOTEPACK: Parser = _Notepack()
"""The default :class:`Parser` (Node's default, notepack.io)."""


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of one namespace under one key, for a server ``uid`` (rule 1)."""

    key: str
    nsp: str
    uid: str

    @property
    def broadcast(self) -> str:
        return f"{self.key}#{self.nsp}#"

    @property
    def pattern(self) -> str:
        return f"{self.key}#{self.nsp}#*"

    @property
    def request(self) -> str:
        return f"{self.key}-request#{self.nsp}#"

    @property
    def response(self) -> str:
        return f"{self.key}-response#{self.nsp}#"

    @property
    def own_response(self) -> str:
        return f"{self.key}-response#{self.nsp}#{self.uid}#"

    def broadcast_to(self, rooms: tuple[Any, ...]) -> str:
        """The channel a broadcast to ``rooms`` goes to (one room: its own channel)."""
        if len(rooms) == 1:
            return f"{self.key}#{self.nsp}#{rooms[0]}#"
        return self.broadcast

    def response_to(self, requester_uid: Any, specific: bool) -> str:
        """Where a reply goes: the requester's channel when ``specific`` (and the
        request said who it is), else the common one."""
        if specific and isinstance(requester_uid, str):
            return f"{self.key}-response#{self.nsp}#{requester_uid}#"
        return self.response

    def room_of(self, channel: str) -> str | None:
        """The room a broadcast channel names (``""`` for none), ``None`` if the
        channel is not this namespace's."""
        prefix = self.broadcast
        if not channel.startswith(prefix) or not channel.endswith("#"):
            return None
        return channel[len(prefix) : -1]


def _options(wire: Any) -> BroadcastOptions:
    """Node's ``{rooms, except, flags}``; rooms must be names (numbers allowed: Node
    has ``join(123)``), anything else is not a message of ours."""
    try:
        opts = opts_from_wire(wire)
    except ValueError as err:
        raise MalformedMessage(str(err)) from err
    rooms: tuple[Any, ...] = (*opts.rooms, *opts.except_rooms)  # str by type, not on the wire
    for room in rooms:
        if not isinstance(room, (str, int, float)) or isinstance(room, bool):
            raise MalformedMessage(f"a room is a name, not {type(room).__name__}")
    return opts


# -- broadcasts (msgpack arrays, rule 2) --------------------------------------------


def wire_packet(nsp: str, data: list[Any], ack_id: int | None = None) -> dict[str, Any]:
    """The unencoded packet object Node puts in adapter messages (type 2, key order
    ``type, data, nsp``; ``id`` only with one)."""
    packet: dict[str, Any] = {"type": 2, "data": data, "nsp": nsp}
    if ack_id is not None:
        packet["id"] = ack_id
    return packet


def broadcast_message(
    parser: Parser, uid: str, nsp: str, data: list[Any], opts: BroadcastOptions
) -> bytes:
    """``[uid, packet, {rooms, except, flags}]`` in msgpack."""
    return parser.encode([uid, wire_packet(nsp, data), wire_opts(opts)])


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A decoded broadcast: who sent it, the packet's namespace, data and targets."""

    uid: Any
    nsp: str
    data: list[Any]
    opts: BroadcastOptions


def decode_broadcast(parser: Parser, payload: bytes) -> Broadcast:
    """A broadcast message, or :class:`MalformedMessage`."""
    try:
        message = parser.decode(payload)
    except Exception as err:
        raise MalformedMessage(str(err)) from err
    if not isinstance(message, list) or len(message) < 3:
        raise MalformedMessage("a broadcast is a [uid, packet, opts] array")
    uid, packet, opts = message[0], message[1], message[2]
    if not isinstance(packet, dict) or not isinstance(packet.get("data"), list):
        raise MalformedMessage("a broadcast packet is an object with a data array")
    if packet.get("type", 2) != 2:
        raise MalformedMessage("a broadcast packet is an EVENT (type 2)")
    data: list[Any] = packet["data"]
    if not data or not isinstance(data[0], (str, int, float)) or isinstance(data[0], bool):
        raise MalformedMessage("a broadcast packet's data starts with the event name")
    nsp = packet.get("nsp", "/")
    if not isinstance(nsp, str):
        raise MalformedMessage("a broadcast packet's nsp is a string")
    return Broadcast(uid, nsp, data, _options(opts))


# -- requests (JSON, and msgpack for type 7; rule 3) --------------------------------


def _json(obj: dict[str, Any]) -> bytes:
    return dumps_json(obj).encode()


def join_request(uid: str, opts: BroadcastOptions, rooms: list[Any]) -> bytes:
    """REMOTE_JOIN: make the matching sockets of every server join ``rooms``."""
    return _json(
        {
            "uid": uid,
            "type": RequestType.REMOTE_JOIN.value,
            "opts": wire_opts(opts, with_flags=False),
            "rooms": rooms,
        }
    )


def leave_request(uid: str, opts: BroadcastOptions, rooms: list[Any]) -> bytes:
    """REMOTE_LEAVE: make the matching sockets of every server leave ``rooms``."""
    return _json(
        {
            "uid": uid,
            "type": RequestType.REMOTE_LEAVE.value,
            "opts": wire_opts(opts, with_flags=False),
            "rooms": rooms,
        }
    )


def disconnect_request(uid: str, opts: BroadcastOptions, close: bool) -> bytes:
    """REMOTE_DISCONNECT: disconnect the matching sockets of every server."""
    return _json(
        {
            "uid": uid,
            "type": RequestType.REMOTE_DISCONNECT.value,
            "opts": wire_opts(opts, with_flags=False),
            "close": close,
        }
    )


def fetch_request(uid: str, request_id: str, opts: BroadcastOptions) -> bytes:
    """REMOTE_FETCH: every other server answers with its matching sockets."""
    return _json(
        {
            "uid": uid,
            "requestId": request_id,
            "type": RequestType.REMOTE_FETCH.value,
            "opts": wire_opts(opts, with_flags=False),
        }
    )


def all_rooms_request(uid: str, request_id: str) -> bytes:
    """ALL_ROOMS: every other server answers with its rooms."""
    return _json({"uid": uid, "requestId": request_id, "type": RequestType.ALL_ROOMS.value})


def server_side_emit_request(uid: str, data: list[Any], request_id: str | None) -> bytes:
    """SERVER_SIDE_EMIT ``[event, *args]``, with ``requestId`` when replies are awaited."""
    request: dict[str, Any] = {"uid": uid}
    if request_id is not None:
        request["requestId"] = request_id  # Node's key order: uid, requestId, type, data
    request["type"] = RequestType.SERVER_SIDE_EMIT.value
    request["data"] = data
    return _json(request)


def ack_broadcast_request(
    parser: Parser, uid: str, request_id: str, nsp: str, data: list[Any], opts: BroadcastOptions
) -> bytes:
    """BROADCAST (type 7, msgpack): a broadcast whose clients' acks come back."""
    return parser.encode(
        {
            "uid": uid,
            "requestId": request_id,
            "type": RequestType.BROADCAST.value,
            "packet": wire_packet(nsp, data),
            "opts": wire_opts(opts),
        }
    )


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: its type, the requester's ``uid`` (``None`` from an
    emitter), its ``request_id`` (``None`` when no reply is wanted) and the rest."""

    type: RequestType
    uid: Any
    request_id: str | None
    body: dict[str, Any]

    @property
    def opts(self) -> BroadcastOptions:
        """The request's targets (flags only on type 7)."""
        return _options(self.body.get("opts"))

    def rooms(self) -> list[Any]:
        """The rooms a join/leave request names."""
        rooms = self.body.get("rooms")
        if not isinstance(rooms, list):
            raise MalformedMessage("a join/leave request names its rooms in a list")
        if not all(isinstance(r, (str, int, float)) and not isinstance(r, bool) for r in rooms):
            raise MalformedMessage("a room is a name")
        return rooms


def _decode_object(parser: Parser, payload: bytes) -> dict[str, Any]:
    try:
        message = loads_json(payload) if payload[:1] == b"{" else parser.decode(payload)
    except Exception as err:
        raise MalformedMessage(str(err)) from err
    if not isinstance(message, dict):
        raise MalformedMessage("a request or response is an object")
    return message


def decode_request(parser: Parser, payload: bytes) -> Request:
    """A request, or :class:`MalformedMessage` (also for an unknown ``type``)."""
    message = _decode_object(parser, payload)
    kind = message.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool) or not 0 <= kind <= 7:
        raise MalformedMessage(f"unknown request type {kind!r}")
    request_id = message.get("requestId")
    if request_id is not None and not isinstance(request_id, str):
        raise MalformedMessage("a requestId is a string")
    return Request(RequestType(kind), message.get("uid"), request_id, message)


# -- responses -----------------------------------------------------------------------


def sockets_response(request_id: str, sockets: list[str]) -> bytes:
    """The answer to a legacy SOCKETS request (sent by 7.x peers only)."""
    return _json({"requestId": request_id, "sockets": sockets})


def all_rooms_response(request_id: str, rooms: list[Any]) -> bytes:
    """The answer to ALL_ROOMS."""
    return _json({"requestId": request_id, "rooms": rooms})


def fetch_response(request_id: str, sockets: list[dict[str, Any]]) -> bytes:
    """The answer to REMOTE_FETCH: ``[{id, handshake, rooms, data}]``."""
    return _json({"requestId": request_id, "sockets": sockets})


def server_side_emit_response(request_id: str, data: Any, has_data: bool) -> bytes:
    """One server's reply to SERVER_SIDE_EMIT: its first ack argument (the key is
    absent when the handler acked with nothing, as JSON drops ``undefined``)."""
    response: dict[str, Any] = {
        "type": RequestType.SERVER_SIDE_EMIT.value,
        "requestId": request_id,
    }
    if has_data:
        response["data"] = data
    return _json(response)


def client_count_response(request_id: str, count: int) -> bytes:
    """BROADCAST_CLIENT_COUNT: how many local clients an ack broadcast reached."""
    return _json(
        {
            "type": RequestType.BROADCAST_CLIENT_COUNT.value,
            "requestId": request_id,
            "clientCount": count,
        }
    )


def broadcast_ack_response(parser: Parser, request_id: str, reply: tuple[Any, ...]) -> bytes:
    """BROADCAST_ACK (msgpack): one client's first ack argument (absent if none)."""
    response: dict[str, Any] = {"type": RequestType.BROADCAST_ACK.value, "requestId": request_id}
    if reply:
        response["packet"] = reply[0]
    return parser.encode(response)


def legacy_done_response(request_id: str) -> bytes:
    """``{requestId}``: the answer to a 7.x join/leave/disconnect of one socket."""
    return _json({"requestId": request_id})


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded response: its request id, its ``type`` if it says one, the rest."""

    request_id: str
    type: Any
    body: dict[str, Any]


_REQUEST_ID = re.compile(rb'^\{(?:"type":\d+,)?"requestId":"([A-Za-z0-9_-]*)"')


def response_id(payload: bytes) -> str | None:
    """The ``requestId`` of a JSON response as Node writes it (``{"requestId":...`` or
    ``{"type":N,"requestId":...``), read without decoding the rest; ``None`` when the
    message does not start that way. Every server receives every reply on the common
    channel: this lets one drop a large fetchSockets answer for another server unread."""
    match = _REQUEST_ID.match(payload)
    return match.group(1).decode() if match else None


def decode_response(parser: Parser, payload: bytes) -> Response:
    """A response, or :class:`MalformedMessage`."""
    message = _decode_object(parser, payload)
    request_id = message.get("requestId")
    if not isinstance(request_id, str):
        raise MalformedMessage("a response carries its requestId")
    return Response(request_id, message.get("type"), message)
