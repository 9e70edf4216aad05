"""Network-free checks of the object model: adapter bookkeeping and events, operator
immutability, the handler-arity convention, ids."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sioscope.server.adapter import Adapter, BroadcastOptions
from sioscope.server.broadcast import BroadcastOperator
from sioscope.server.handlers import call_handler, handler_spec
from sioscope.server.ids import generate_id


class _Nsp:
    name = "/"

    def __init__(self) -> None:
        self.sockets: dict[str, Any] = {}


def test_adapter_room_events_in_node_order() -> None:
    adapter = Adapter(_Nsp())  # type: ignore[arg-type]
    events: list[tuple[Any, ...]] = []
    for name in ("create-room", "join-room", "leave-room", "delete-room"):
        adapter.on(name, lambda *args, name=name: events.append((name, *args)))
    adapter.add_all("s1", ["s1", "red"])
    adapter.add_all("s2", ["red"])
    adapter.add_all("s2", ["red"])  # already there: nothing
    adapter.delete("s1", "red")
    adapter.del_all("s2")
    assert events == [
        ("create-room", "s1"),
        ("join-room", "s1", "s1"),
        ("create-room", "red"),
        ("join-room", "red", "s1"),
        ("join-room", "red", "s2"),
        ("leave-room", "red", "s1"),
        ("leave-room", "red", "s2"),
        ("delete-room", "red"),
    ]
    assert adapter.rooms == {"s1": {"s1": None}} and adapter.sids == {"s1": {"s1": None}}


def test_adapter_keeps_join_order_like_node_sets() -> None:
    """``rooms`` and ``sids`` are ordered sets (JS ``Set`` order): joins keep their place,
    a rejoin does not move, ``del_all`` leaves in join order, selection follows it."""
    nsp = _Nsp()
    adapter = Adapter(nsp)  # type: ignore[arg-type]
    left: list[str] = []
    adapter.on("leave-room", lambda room, sid: left.append(room))
    seen_while_leaving: list[list[str]] = []
    adapter.on("leave-room", lambda room, sid: seen_while_leaving.append(list(adapter.sids[sid])))
    for sid in ("z", "m", "a"):  # ids in reverse alphabetical order: no sorting hides it
        nsp.sockets[sid] = type("S", (), {"id": sid})()
        adapter.add_all(sid, [sid])
    adapter.add_all("z", ["b", "a-room", "c"])
    adapter.add_all("a", ["c", "b"])
    adapter.add_all("m", ["c"])
    adapter.add_all("z", ["b"])  # already in: keeps its place
    assert list(adapter.socket_rooms("z") or ()) == ["z", "b", "a-room", "c"]
    assert list(adapter.rooms["c"]) == ["z", "a", "m"]
    assert list(adapter.rooms) == ["z", "m", "a", "b", "a-room", "c"]
    select = lambda **kw: [s.id for s in adapter.select(BroadcastOptions(**kw))]  # noqa: E731
    assert select(rooms=("c",)) == ["z", "a", "m"]
    assert select(rooms=("b", "c")) == ["z", "a", "m"]  # b's members, then c's new ones
    assert select(rooms=("c",), except_rooms=("a",)) == ["z", "m"]
    assert select() == ["z", "m", "a"]
    adapter.delete("z", "b")
    adapter.add_all("z", ["b"])  # left and rejoined: now last, as in a JS Set
    assert list(adapter.socket_rooms("z") or ()) == ["z", "a-room", "c", "b"]
    assert list(adapter.rooms["b"]) == ["a", "z"]
    adapter.del_all("z")
    assert left == ["b", "z", "a-room", "c", "b"]
    # as in Node, the socket's rooms are still listed while it leaves them
    assert seen_while_leaving[-1] == ["z", "a-room", "c", "b"]
    assert "z" not in adapter.sids and adapter.socket_rooms("z") is None


def test_apply_selects_connected_once_honouring_except() -> None:
    nsp = _Nsp()
    adapter = Adapter(nsp)  # type: ignore[arg-type]
    for sid, rooms in {"a": ["x", "y"], "b": ["y"], "c": ["z"], "pending": ["x"]}.items():
        adapter.add_all(sid, [sid, *rooms])
        if sid != "pending":
            nsp.sockets[sid] = type("S", (), {"id": sid})()
    select = lambda **kw: [s.id for s in adapter.select(BroadcastOptions(**kw))]  # noqa: E731
    assert select(rooms=("x", "y")) == ["a", "b"]  # no duplicate, no unconnected
    assert select(rooms=("y",), except_rooms=("x",)) == ["b"]
    assert sorted(select()) == ["a", "b", "c"]
    assert sorted(select(except_rooms=("y",))) == ["c"]
    assert BroadcastOptions(("r",), ("e",), {"volatile": True}).to_dict() == {
        "rooms": ["r"],
        "except": ["e"],
        "flags": {"volatile": True},
    }


def test_operator_is_immutable() -> None:
    adapter = Adapter(_Nsp())  # type: ignore[arg-type]
    base = BroadcastOperator(adapter)
    red = base.to("red")
    both = red.in_(["blue", "red"]).except_("x").timeout(1).volatile.compress(False).local
    assert base._rooms == () and base._flags == {}
    assert red._rooms == ("red",)
    assert both._rooms == ("red", "blue") and both._except_rooms == ("x",)
    assert both._flags == {"timeout": 1, "volatile": True, "compress": False, "local": True}


def _kw(a, b, ack=None): ...
def _kw_only(*args, ack): ...
def _pos(a, callback): ...
def _one(a): ...
def _none(): ...


class _Handlers:
    def method(self, a, ack=None): ...


@pytest.mark.parametrize(
    ("fn", "ack_keyword", "max_positional"),
    [
        (_kw, True, 2),
        (_kw_only, True, None),
        (_pos, False, 2),
        (_one, False, 1),
        (_none, False, 0),
        (_Handlers().method, True, 1),
        (print, False, None),
    ],
)
def test_handler_spec(fn: Any, ack_keyword: bool, max_positional: int | None) -> None:
    spec = handler_spec(fn)
    assert (spec.ack_keyword, spec.max_positional) == (ack_keyword, max_positional)
    assert handler_spec(fn) is spec or fn is print  # cached per function


def test_call_handler_convention() -> None:
    calls: list[tuple[Any, ...]] = []
    ack = object()

    def kw(a: Any, ack: Any = None) -> None:
        calls.append(("kw", a, ack))

    def positional(a: Any, callback: Any) -> None:
        calls.append(("pos", a, callback))

    def one(a: Any) -> None:
        calls.append(("one", a))

    def broken(a: Any) -> None:
        calls.append(("broken", a))
        raise TypeError("inside the handler")

    call_handler(kw, [1, 2, 3], ack)  # extra args dropped, ack as keyword
    call_handler(kw, [1], None)  # no ack requested: ack=None
    call_handler(positional, [1], ack)  # ack appended
    call_handler(one, [1, 2], ack)  # no room for ack or extras: dropped
    call_handler(broken, [1], None)  # logged, called exactly once
    assert calls == [("kw", 1, ack), ("kw", 1, None), ("pos", 1, ack), ("one", 1), ("broken", 1)]


def test_ids_are_node_shaped_and_unique() -> None:
    ids = {generate_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", i) for i in ids)


def test_a_forked_child_never_hands_out_the_parents_pooled_random_bytes() -> None:
    """The ids' random bytes come from a pool (``server/ids.py``): a child forked with
    a pool half used draws its own, so no two processes share an id's random part."""
    import os

    generate_id()  # the pool is filled, most of it unused
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then out without pytest's teardown
        os.write(write, "".join(generate_id() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read)
    parent = [generate_id() for _ in range(8)]
    child_random = {child[i : i + 16] for i in range(0, len(child), 20)}
    assert len(child_random) == 8 and not child_random & {i[:16] for i in parent}


def test_off_removes_a_bound_method_passed_again() -> None:
    from sioscope.server.emitter import EventEmitter

    calls: list[str] = []

    class Handler:
        def on_ping(self, *_: Any) -> None:
            calls.append("ping")

    h, other = Handler(), Handler()
    em = EventEmitter()
    em.on("ping", h.on_ping)
    em.on("ping", other.on_ping)
    em.once("ping", h.on_ping)
    em.off("ping", h.on_ping)  # a fresh bound method: the same function on the same object
    em.off("ping", h.on_ping)
    em.emit("ping")
    assert calls == ["ping"]  # only other's is left
    assert em.listeners("ping") == [other.on_ping]
