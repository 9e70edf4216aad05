"""Sans-I/O units of the sharded and streams wire, on vectors made by Node's own
encoders (``@msgpack/msgpack`` 2.8, ``JSON.stringify``, the adapters' ``hashCode``)."""

from __future__ import annotations

import base64
import math

import pytest

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.adapters.codec import (
    CodecError,
    loads_json,
    opts_from_wire,
    pack,
    wire_opts,
)
from sioscope.server.adapters.redis_streams import encode_entry, hash_code, stream_of


@pytest.mark.parametrize(
    ("nsp", "expected"),
    [("/", 47), ("/admin", 1438238848), ("/chat", 46457863), ("/notifications", -1014064871)],
)
def test_hash_code_is_javas(nsp: str, expected: int) -> None:
    assert hash_code(nsp) == expected


def test_stream_names_use_javascripts_signed_remainder() -> None:
    assert stream_of("/", "socket.io", 1) == "socket.io"
    assert stream_of("/", "socket.io", 4) == "socket.io-3"
    assert stream_of("/admin", "socket.io", 4) == "socket.io-0"
    assert stream_of("/notifications", "socket.io", 4) == "socket.io--3"


def test_entry_data_is_base64_msgpack_when_binary_else_json() -> None:
    binary = {
        "uid": "u",
        "nsp": "/",
        "type": 3,
        "data": {
            "packet": {"type": 2, "data": ["bin", b"\x01\x02\x03"]},
            "opts": {"rooms": [], "except": [], "flags": {}},
        },
    }
    assert encode_entry(binary) == {
        "uid": "u",
        "nsp": "/",
        "type": "3",
        "data": "gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQIDpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA==",
    }
    text = {
        "uid": "u",
        "nsp": "/",
        "type": 3,
        "data": {
            "packet": {"type": 2, "data": ["hello", "world"]},
            "opts": {"rooms": ["room1"], "except": [], "flags": {}},
        },
    }
    assert encode_entry(text)["data"] == (
        '{"packet":{"type":2,"data":["hello","world"]},'
        '"opts":{"rooms":["room1"],"except":[],"flags":{}}}'
    )
    assert "data" not in encode_entry({"uid": "u", "nsp": "/", "type": 1})


def test_session_value_is_nodes() -> None:
    session = {
        "sid": "A" * 20,
        "pid": "B" * 20,
        "rooms": ["A" * 20, "room1"],
        "data": {"foo": "bar"},
    }
    expected = (
        "hKNzaWS0QUFBQUFBQUFBQUFBQUFBQUFBQUGjcGlktEJCQkJCQkJCQkJCQkJC"
        "QkJCQkJCpXJvb21zkrRBQUFBQUFBQUFBQUFBQUFBQUFBQaVyb29tMaRkYXRhgaNmb2+jYmFy"
    )
    assert base64.b64encode(pack(session)).decode() == expected


def test_options_cross_in_nodes_units_and_keys() -> None:
    opts = BroadcastOptions(
        ("r1",),
        ("r2",),
        {"volatile": True, "local": True, "timeout": 0.5, "expect_single_response": True},
    )
    assert wire_opts(opts) == {
        "rooms": ["r1"],
        "except": ["r2"],
        "flags": {"volatile": True, "timeout": 500, "expectSingleResponse": True},
    }
    assert wire_opts(BroadcastOptions(flags={"volatile": False}))["flags"] == {}  # never false
    back = opts_from_wire({"rooms": ["r1"], "except": [], "flags": {"timeout": 1500}})
    assert back.rooms == ("r1",) and math.isclose(back.flags["timeout"], 1.5)
    assert opts_from_wire({"rooms": [], "except": []}).flags == {}  # notepack drops a missing flags


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a":-Infinity}', "{nope"])
def test_json_is_json_parses(text: str) -> None:
    with pytest.raises(CodecError):
        loads_json(text)
