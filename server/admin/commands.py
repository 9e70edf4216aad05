"""The four official admin commands, checked before anything acts on them (sans-I/O).

Node registers ``emit``, ``join``, ``leave`` and ``_disconnect`` handlers that pass
their arguments straight to ``io.of(nsp).in(filter)...``. That has two sharp edges we
refuse instead of reproducing:

- ``io.of(nsp)`` *creates* the namespace it is given, so a typo in a command (or a
  hostile admin client) adds namespaces that then show up everywhere and never go away.
  A command naming a namespace the server does not have is refused.
- A falsy filter means "every socket of the namespace". That is Node's documented
  semantics and the official UI relies on it ("clear room" sends ``leave(nsp, room)``
  with no filter), so a *missing* (``undefined``/``null``) filter keeps it. An *empty*
  filter (``""`` or ``[]``) is refused: it is far more likely an id that failed to
  fill in than a wish to hit the whole namespace.

Everything else a JSON client can send (wrong types, oversized names, too many rooms,
reserved event names) is refused with a message saying which argument is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sioscope.server.admin import protocol
from sioscope.server.parser import RESERVED_EVENTS

MAX_NAME = 1024  # characters in a namespace, room or event name
MAX_ROOMS = 100  # rooms in one filter list
MAX_ARGS = 64  # emit arguments


class CommandRefused(ValueError):
    """An admin command that will not be run; ``str()`` says why."""


@dataclass(frozen=True)
class Command:
    """A validated command: ``filter`` None means the whole namespace (Node)."""

    name: str
    nsp: str
    rooms: tuple[str, ...] | None
    room: str | None = None
    close: bool = False
    event: str | None = None
    args: tuple[Any, ...] = ()
    timeout: float | None = None
    """Seconds to wait for acks (``sioscope:emit_ack`` only)."""


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise CommandRefused(f"{what} must be a string, got {type(value).__name__}")
    if not value:
        raise CommandRefused(f"{what} must not be empty")
    if len(value) > MAX_NAME:
        raise CommandRefused(f"{what} is longer than {MAX_NAME} characters")
    return value


def _filter(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise CommandRefused("empty filter (omit it or send null to target the namespace)")
        return (_name(value, "filter"),)
    if isinstance(value, list):
        if not value:
            raise CommandRefused("empty filter (omit it or send null to target the namespace)")
        if len(value) > MAX_ROOMS:
            raise CommandRefused(f"filter has more than {MAX_ROOMS} rooms")
        return tuple(_name(v, "filter room") for v in value)
    raise CommandRefused(
        f"filter must be a room name or a list of them, got {type(value).__name__}"
    )


def parse_command(
    name: str, args: tuple[Any, ...], namespace_exists: Callable[[str], bool]
) -> Command:
    """Validate ``name(*args)`` as the admin client sent it; raise :class:`CommandRefused`."""
    if name not in protocol.COMMANDS:
        raise CommandRefused(f"unknown command {name!r}")
    if not args:
        raise CommandRefused(f"{name}: missing namespace argument")
    nsp = _name(args[0], f"{name}: namespace")
    if not namespace_exists(nsp):
        raise CommandRefused(f"{name}: unknown namespace {nsp!r}")
    rest = args[1:]
    if name == protocol.CMD_EMIT:
        if len(rest) < 2:
            raise CommandRefused("emit: expected (nsp, filter, event, ...args)")
        event = _name(rest[1], "emit: event name")
        if event in RESERVED_EVENTS:
            raise CommandRefused(f"emit: {event!r} is a reserved event name")
        if len(rest) - 2 > MAX_ARGS:
            raise CommandRefused(f"emit: more than {MAX_ARGS} arguments")
        return Command(name, nsp, _filter(rest[0]), event=event, args=tuple(rest[2:]))
    if name in (protocol.CMD_JOIN, protocol.CMD_LEAVE):
        if not 1 <= len(rest) <= 2:
            raise CommandRefused(f"{name}: expected (nsp, room, filter?)")
        room = _name(rest[0], f"{name}: room")
        return Command(name, nsp, _filter(rest[1] if len(rest) > 1 else None), room=room)
    # _disconnect
    if not 1 <= len(rest) <= 2:
        raise CommandRefused("_disconnect: expected (nsp, close, filter?)")
    if not isinstance(rest[0], bool):
        raise CommandRefused("_disconnect: close must be a boolean")
    return Command(name, nsp, _filter(rest[1] if len(rest) > 1 else None), close=rest[0])


def parse_emit_ack(args: tuple[Any, ...], namespace_exists: Callable[[str], bool]) -> Command:
    """Validate ``sioscope:emit_ack(nsp, filter, timeout_ms, event, *args)``: as ``emit``,
    but the filter is required (acks from a whole namespace are not what a person at an
    inspector means) and the timeout is 1 ms to ``MAX_ACK_TIMEOUT_MS``."""
    name = protocol.CMD_EMIT_ACK
    if len(args) < 4:
        raise CommandRefused(f"{name}: expected (nsp, filter, timeout_ms, event, ...args)")
    nsp = _name(args[0], f"{name}: namespace")
    if not namespace_exists(nsp):
        raise CommandRefused(f"{name}: unknown namespace {nsp!r}")
    rooms = _filter(args[1])
    if rooms is None:
        raise CommandRefused(f"{name}: a filter (socket id or room) is required")
    timeout = args[2]
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 1 <= timeout <= protocol.MAX_ACK_TIMEOUT_MS
    ):
        raise CommandRefused(
            f"{name}: timeout_ms must be a number from 1 to {protocol.MAX_ACK_TIMEOUT_MS}"
        )
    event = _name(args[3], f"{name}: event name")
    if event in RESERVED_EVENTS:
        raise CommandRefused(f"{name}: {event!r} is a reserved event name")
    if len(args) - 4 > MAX_ARGS:
        raise CommandRefused(f"{name}: more than {MAX_ARGS} arguments")
    return Command(name, nsp, rooms, event=event, args=tuple(args[4:]), timeout=timeout / 1000)
