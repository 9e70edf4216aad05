"""BroadcastOperator: an immutable (rooms, except rooms, flags) target, and RemoteSocket.

Every modifier returns a new operator, so ``io.to("a")`` can be kept and reused while
``.to("b")`` on it builds another: Node's semantics. Fan-out itself is the adapter's.

Broadcast acks follow Node exactly: one ack id shared by every recipient, each
client's first ack argument collected in arrival order, completion once every server
reported its client count and that many replies came, and a timeout that is in
effect mandatory (without ``timeout()`` Node fires after about 1 ms; so do we).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, KeysView
from typing import TYPE_CHECKING, Any

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.emitter import call_safely
from sioscope.server.parser import RESERVED_EVENTS, Packet, PacketType

if TYPE_CHECKING:
    from sioscope.server.adapter import Adapter

__all__ = ["BroadcastOperator", "RemoteSocket", "check_reserved", "rooms_tuple"]

_NO_TIMEOUT_DELAY = 0.001  # Node's setTimeout(fn, undefined)
_EVENT = PacketType.EVENT  # a global: an Enum class attribute is ~80 ns to read

log = logging.getLogger("sioscope")


def check_reserved(event: str) -> None:
    """Raise for an event name only the library may emit (Node throws the same)."""
    if event in RESERVED_EVENTS:
        raise ValueError(f'"{event}" is a reserved event name')


def rooms_tuple(rooms: str | Iterable[str]) -> tuple[str, ...]:
    """A room or rooms as a tuple of unique names, order kept."""
    if isinstance(rooms, str):
        return (rooms,)
    return tuple(dict.fromkeys(rooms))


class BroadcastOperator:
    """Targets sockets of one namespace by rooms; immutable."""

    __slots__ = ("_adapter", "_except_rooms", "_flags", "_rooms")

    def __init__(
        self,
        adapter: Adapter,
        rooms: tuple[str, ...] = (),
        except_rooms: tuple[str, ...] = (),
        flags: dict[str, Any] | None = None,
    ) -> None:
        self._adapter = adapter
        self._rooms = rooms
        self._except_rooms = except_rooms
        self._flags: dict[str, Any] = flags or {}

    def _with(self, **changes: Any) -> BroadcastOperator:
        return BroadcastOperator(
            self._adapter,
            changes.get("rooms", self._rooms),
            changes.get("except_rooms", self._except_rooms),
            changes.get("flags", self._flags),
        )

    # -- modifiers ------------------------------------------------------------

    def to(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Also target ``rooms`` (union)."""
        return self._with(rooms=tuple(dict.fromkeys(self._rooms + rooms_tuple(rooms))))

    in_ = to

    def except_(self, rooms: str | Iterable[str]) -> BroadcastOperator:
        """Exclude the sockets of ``rooms``."""
        merged = tuple(dict.fromkeys(self._except_rooms + rooms_tuple(rooms)))
        return self._with(except_rooms=merged)

    def compress(self, compress: bool) -> BroadcastOperator:
        """Whether to compress (when the transport negotiated it)."""
        return self._with(flags={**self._flags, "compress": compress})

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for a recipient whose transport is not writable right now."""
        return self._with(flags={**self._flags, "volatile": True})

    @property
    def local(self) -> BroadcastOperator:
        """Do not forward to other servers of a cluster."""
        return self._with(flags={**self._flags, "local": True})

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Seconds to wait for every ack of the next ``emit`` with a callback."""
        return self._with(flags={**self._flags, "timeout": seconds})

    @property
    def _opts(self) -> BroadcastOptions:
        return BroadcastOptions(self._rooms, self._except_rooms, self._flags)

    # -- emitting -------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Send ``event`` to every target; with ``callback``, collect their acks.

        ``callback(err, responses)``: ``err`` is ``None`` or a ``TimeoutError`` and
        ``responses`` each client's first ack argument, in arrival order.
        """
        check_reserved(event)
        packet = Packet(_EVENT, "/", [event, *args])
        if callback is None:
            adapter = self._adapter
            adapter.settle(adapter.broadcast(packet, self._opts))
            return True
        self._emit_with_ack(packet, callback)
        return True

    def _emit_with_ack(self, packet: Packet, callback: Callable[..., Any]) -> None:
        loop = asyncio.get_running_loop()
        single = bool(self._flags.get("expect_single_response"))
        responses: list[Any] = []
        state = {"timed_out": False, "expected_servers": -1, "servers": 0, "clients": 0}
        adapter = self._adapter

        def on_timeout() -> None:
            state["timed_out"] = True
            ack_id = packet.id
            if ack_id is not None:  # Node >= 4.8.4 forgets the pending acks too
                for socket in adapter.nsp.sockets.values():
                    socket.forget_ack(ack_id, collect)
            error = TimeoutError("operation has timed out")
            call_safely(adapter.tasks, callback, error, None if single else responses)

        delay = self._flags.get("timeout")
        timer = loop.call_later(_NO_TIMEOUT_DELAY if delay is None else delay, on_timeout)

        def check() -> None:
            if (
                not state["timed_out"]
                and state["expected_servers"] == state["servers"]
                and len(responses) == state["clients"]
            ):
                state["timed_out"] = True  # completed: ignore anything late
                timer.cancel()
                result = (responses[0] if responses else None) if single else responses
                call_safely(adapter.tasks, callback, None, result)

        def on_count(count: int) -> None:
            state["clients"] += count
            state["servers"] += 1
            check()

        def collect(*args: Any) -> None:
            if state["timed_out"]:
                return
            responses.append(args[0] if args else None)
            check()

        adapter.settle(adapter.broadcast_with_ack(packet, self._opts, on_count, collect))

        async def count_servers() -> None:
            state["expected_servers"] = await adapter.server_count()
            check()

        adapter.tasks.spawn(count_servers())

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Await every target's first ack argument; ``TimeoutError`` otherwise.

        The error carries the partial list as ``.responses``.
        """
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def done(err: TimeoutError | None, responses: Any) -> None:
            if future.done():
                return
            if err is not None:
                # Node's err.responses, set on the TimeoutError itself so that callers keep
                # catching TimeoutError (mypy: the builtin declares no such attribute).
                err.responses = responses  # type: ignore[attr-defined]  # Node's err.responses
                future.set_exception(err)
            else:
                future.set_result(responses)

        self.emit(event, *args, callback=done)
        return await future

    def send(self, *args: Any) -> BroadcastOperator:
        """``emit("message", *args)``."""
        self.emit("message", *args)
        return self

    write = send

    # -- socket management ----------------------------------------------------

    async def fetch_sockets(self) -> list[Any]:
        """The matching sockets: local ones are real ``Socket`` objects."""
        return await self._adapter.fetch_sockets(self._opts)

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make the matching sockets join ``rooms``."""
        adapter = self._adapter
        adapter.settle(adapter.add_sockets(self._opts, rooms_tuple(rooms)))

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make the matching sockets leave ``rooms``."""
        adapter = self._adapter
        adapter.settle(adapter.del_sockets(self._opts, rooms_tuple(rooms)))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the matching sockets (``close`` also closes their connection)."""
        adapter = self._adapter
        adapter.settle(adapter.disconnect_sockets(self._opts, close))

    async def all_sockets(self) -> set[str]:
        """Ids of the sockets in the target rooms (ignores ``except_``; deprecated in Node)."""
        return await self._adapter.sockets(self._rooms)


class RemoteSocket:
    """A snapshot of a socket that lives on another server (from ``fetch_sockets``).

    Its methods act through the adapter, addressed to the room named after its id.
    """

    def __init__(self, adapter: Adapter, details: dict[str, Any]) -> None:
        self.id: str = details["id"]
        self.handshake: dict[str, Any] = details["handshake"]
        self.rooms: KeysView[str] = dict.fromkeys(details["rooms"]).keys()  # join order
        self.data: Any = details["data"]
        self._operator = BroadcastOperator(
            adapter, (self.id,), (), {"expect_single_response": True}
        )

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Send ``event`` to this socket."""
        return self._operator.emit(event, *args, callback=callback)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """An operator for an ack with a timeout."""
        return self._operator.timeout(seconds)

    def join(self, rooms: str | Iterable[str]) -> None:
        """Make this socket join ``rooms``."""
        self._operator.sockets_join(rooms)

    def leave(self, room: str) -> None:
        """Make this socket leave ``room``."""
        self._operator.sockets_leave(room)

    def disconnect(self, close: bool = False) -> RemoteSocket:
        """Disconnect this socket."""
        self._operator.disconnect_sockets(close)
        return self
