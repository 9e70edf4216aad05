"""Admin command validation: Node's filter semantics, and a clear refusal for bad input."""

from __future__ import annotations

import pytest

from sioscope.server.admin.commands import Command, CommandRefused, parse_command


def known(nsp: str) -> bool:
    return nsp in {"/", "/chat"}


def test_nodes_filter_semantics_are_kept() -> None:
    assert parse_command("join", ("/", "r"), known) == Command("join", "/", None, room="r")
    assert parse_command("join", ("/", "r", None), known).rooms is None
    assert parse_command("leave", ("/chat", "r", "sid1"), known).rooms == ("sid1",)
    assert parse_command("leave", ("/", "r", ["a", "b"]), known).rooms == ("a", "b")
    cmd = parse_command("_disconnect", ("/", True, "sid1"), known)
    assert cmd.close is True and cmd.rooms == ("sid1",)
    cmd = parse_command("emit", ("/", None, "ev", 1, {"a": [2]}), known)
    assert cmd.rooms is None and cmd.event == "ev" and cmd.args == (1, {"a": [2]})


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("join", ("/nope", "r", "sid"), "unknown namespace '/nope'"),
        ("emit", ("/bogus", None, "ev"), "unknown namespace"),
        ("join", ("/", "r", ""), "empty filter"),
        ("leave", ("/", "r", []), "empty filter"),
        ("_disconnect", ("/", False, ""), "empty filter"),
        ("join", (), "missing namespace"),
        ("join", (42, "r"), "namespace must be a string"),
        ("join", ("/", None), "room must be a string"),
        ("join", ("/", ""), "room must not be empty"),
        ("join", ("/", "x" * 5000), "longer than"),
        ("join", ("/", "r", {"$in": "all"}), "filter must be a room name"),
        ("join", ("/", "r", [1, 2]), "filter room must be a string"),
        ("join", ("/", "r", ["a"] * 101), "more than 100 rooms"),
        ("join", ("/", "r", "s", "extra"), "expected (nsp, room, filter?)"),
        ("_disconnect", ("/", "yes", "sid"), "close must be a boolean"),
        ("_disconnect", ("/",), "expected (nsp, close, filter?)"),
        ("emit", ("/", None), "expected (nsp, filter, event"),
        ("emit", ("/", None, "disconnect"), "reserved event name"),
        ("emit", ("/", None, 7), "event name must be a string"),
        ("emit", ("/", None, "ev", *range(65)), "more than 64 arguments"),
        ("shutdown", ("/",), "unknown command"),
    ],
)
def test_bad_commands_are_refused_with_a_reason(name: str, args: tuple, message: str) -> None:
    with pytest.raises(CommandRefused) as err:
        parse_command(name, args, known)
    assert message in str(err.value)
