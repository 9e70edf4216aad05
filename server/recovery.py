"""Connection state recovery: Node's options, its in-memory ``SessionAwareAdapter`` and
its offsets.

With ``Server(connection_state_recovery={...})`` a client that lost its connection
(one of :data:`RECOVERABLE_REASONS`) and comes back within
``max_disconnection_duration`` seconds with its ``pid`` and the last ``offset`` it got
keeps its id, rooms and ``data``, and first receives the packets it missed. Rules, all
Node's (``socket.io`` 4.8 and ``socket.io-adapter`` 2.5):

1. **Options**: ``max_disconnection_duration`` (seconds, default 120) and
   ``skip_middlewares`` (default ``True``). ``True`` means the defaults.
2. **Offsets**: a broadcast that is an EVENT without an ack id and not volatile gets
   its offset appended as its last argument, and is kept; with recovery on,
   ``socket.emit`` goes through the adapter's ``broadcast`` to the socket's own room,
   so it gets one too. In memory the offset is a :func:`yeast` id.
3. **Sessions**: on a recoverable disconnection the socket's ``{sid, pid, rooms, data}``
   is persisted; a restore finds the session (not expired), finds the offset among the
   kept packets, and returns the later packets its rooms match (a target room in
   common, no except room). The in-memory session stays after a restore (Node's).
4. **Expiry**: every 60 s sessions older than the duration and packets emitted before
   it are dropped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import Adapter, BroadcastOptions, Command
from sioscope.server.parser import Packet, PacketType

if TYPE_CHECKING:
    from sioscope.server.namespace import Namespace

__all__ = [
    "RECOVERABLE_REASONS",
    "SessionAwareAdapter",
    "recovery_options",
    "should_include",
    "yeast",
]

RECOVERABLE_REASONS = frozenset(
    {
        "transport error",
        "transport close",
        "forced close",
        "ping timeout",
        "server shutting down",
        "forced server close",
    }
)
"""Node's ``RECOVERABLE_DISCONNECT_REASONS``: the reasons that persist a session."""

PURGE_INTERVAL = 60.0


def recovery_options(value: Any) -> dict[str, Any] | None:
    """Rule 1: ``None``/``False`` off, ``True`` the defaults, a dict over the defaults."""
    if not value:
        return None
    given = {} if value is True else dict(value)
    unknown = set(given) - {"max_disconnection_duration", "skip_middlewares"}
    if unknown:
        raise ValueError(f"unknown connection_state_recovery options: {sorted(unknown)}")
    options = {"max_disconnection_duration": 120.0, "skip_middlewares": True, **given}
    if options["max_disconnection_duration"] < 0:
        raise ValueError("max_disconnection_duration must be >= 0 seconds")
    return options


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_yeast_state: dict[str, Any] = {"prev": "", "seed": 0}


def _encode64(num: int) -> str:
    encoded = ""
    while True:
        encoded = _ALPHABET[num % 64] + encoded
        num //= 64
        if num <= 0:
            return encoded


def yeast() -> str:
    """Node's ``yeast()``: the ms clock in base 64, plus ``.n`` within the same ms."""
    now = _encode64(int(time.time() * 1000))
    if now != _yeast_state["prev"]:
        _yeast_state["prev"] = now
        _yeast_state["seed"] = 0
        return now
    seed = _yeast_state["seed"]
    _yeast_state["seed"] = seed + 1
    return f"{now}.{_encode64(seed)}"


def should_include(rooms: list[Any], opts: BroadcastOptions) -> bool:
    """Whether a session in ``rooms`` was a target of a broadcast with ``opts``."""
    included = not opts.rooms or any(room in opts.rooms for room in rooms)
    return included and all(room not in opts.except_rooms for room in rooms)


@dataclass(slots=True)
class _Kept:
    id: str
    opts: BroadcastOptions
    data: list[Any]
    emitted_at: float


class SessionAwareAdapter(Adapter):
    """The in-memory adapter that keeps sessions and packets (rules 2-4)."""

    def __init__(self, nsp: Namespace) -> None:
        super().__init__(nsp)
        options = nsp.server.connection_state_recovery or {}
        self.max_disconnection_duration: float = options.get("max_disconnection_duration", 120.0)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.packets: list[_Kept] = []
        self._timer: asyncio.TimerHandle | None = None

    def init(self) -> Command:
        self._timer = asyncio.get_running_loop().call_later(PURGE_INTERVAL, self._purge)
        return None

    def _purge(self) -> None:
        threshold = time.time() - self.max_disconnection_duration
        for pid, session in list(self.sessions.items()):
            if session["disconnected_at"] < threshold:
                del self.sessions[pid]
        for index in range(len(self.packets) - 1, -1, -1):
            if self.packets[index].emitted_at < threshold:
                del self.packets[: index + 1]
                break
        self._timer = asyncio.get_running_loop().call_later(PURGE_INTERVAL, self._purge)

    def persist_session(self, session: dict[str, Any]) -> Command:
        self.sessions[session["pid"]] = {**session, "disconnected_at": time.time()}
        return None

    async def restore_session(self, pid: str, offset: str) -> dict[str, Any] | None:
        session = self.sessions.get(pid)
        if session is None:
            return None
        if session["disconnected_at"] + self.max_disconnection_duration < time.time():
            del self.sessions[pid]
            return None
        index = next((i for i, kept in enumerate(self.packets) if kept.id == offset), -1)
        if index < 0:
            return None
        rooms = session["rooms"]
        missed = [p.data for p in self.packets[index + 1 :] if should_include(rooms, p.opts)]
        return {**session, "missed_packets": missed}

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> Command:
        if packet.type == PacketType.EVENT and packet.id is None and "volatile" not in opts.flags:
            offset = yeast()
            packet.data.append(offset)
            self.packets.append(_Kept(offset, opts, packet.data, time.time()))
        return super().broadcast(packet, opts)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await super().close()
