"""The cluster wire's values, byte for byte against Node's own codec (notepack.io 3.0.1,
the msgpack of @socket.io/redis-adapter), and JSON as ``JSON.stringify`` writes it."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sioscope.server.adapter import BroadcastOptions
from sioscope.server.adapters.codec import (
    dumps_json,
    has_binary,
    loads_json,
    opts_from_wire,
    pack,
    unpack,
    wire_opts,
)
from tests.cluster.peers import UNDEFINED, NodePeer

pytestmark = pytest.mark.interop


@pytest.fixture
async def notepack(node_bin: str) -> AsyncIterator[NodePeer]:
    peer = await NodePeer.start(node_bin, "notepack-codec.js")
    try:
        yield peer
    finally:
        await peer.close()


def _ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def to_node(value: Any) -> Any:
    """A Python value as notepack-codec.js revives it."""
    if isinstance(value, datetime):
        return {"$date": _ms(value)}
    if isinstance(value, float):
        return {"$float": value}
    if isinstance(value, list):
        return [to_node(item) for item in value]
    if isinstance(value, dict):
        return {key: to_node(item) for key, item in value.items()}
    return value


def from_node(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value["$date"])
        return {key: from_node(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_node(item) for item in value]
    return value


INTS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1]
INTS += [-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**53 - 1)]
VALUES: list[Any] = [
    None,
    True,
    False,
    *INTS,
    1.5,
    -0.25,
    1.5e-300,  # (an integral 1e300 is not a fair test: notepack writes it as u64 0)
    "",
    "a" * 31,
    "a" * 32,
    "a" * 255,
    "a" * 256,
    "a" * 65536,
    "é€😀",
    b"",
    b"\x01\x02\x03",
    bytes(range(256)) * 2,
    bytes(70000),
    [],
    [1, [2, [3, "x"]]],
    list(range(16)),
    {},
    {"a": 1, "b": [1, b"\x00"], "c": {"d": None}},
    {f"k{i}": i for i in range(16)},
    datetime(2000, 6, 13, tzinfo=UTC),  # whole seconds: timestamp 32
    datetime(2000, 6, 13, 0, 0, 0, 123000, tzinfo=UTC),  # timestamp 64
    datetime(2500, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),  # seconds past 32 bits
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before 1970: timestamp 96
]


async def test_msgpack_bytes_match_notepack(notepack: NodePeer) -> None:
    """Each value packs to notepack's exact bytes, and each side decodes the other's."""
    for value in VALUES:
        node_hex = await notepack.call("encode", value=to_node(value))
        ours = pack(value)
        assert ours.hex() == node_hex, value if not isinstance(value, (str, bytes)) else len(value)
        assert unpack(bytes.fromhex(node_hex)) == value
        decoded = from_node(await notepack.call("decode", hex=ours.hex()))
        assert decoded == value


async def test_integral_float_is_the_same_number_for_node(notepack: NodePeer) -> None:
    """JavaScript has no 2.0: notepack writes the int 2; we keep Python's float64 (a
    different byte string that Node reads as the same number)."""
    assert await notepack.call("encode", value={"$float": 2.0}) == "02"
    assert pack(2.0).hex() == "cb4000000000000000"
    assert await notepack.call("decode", hex=pack(2.0).hex()) == 2


async def test_notepack_2_legacy_extensions(notepack: NodePeer) -> None:
    """notepack 2.x wrote undefined as fixext1 type 0 and Dates as fixext8 type 0
    (int64 ms): notepack 3 still reads them, so do we; other extensions come back as
    [type, bytes], as notepack gives them."""
    legacy = bytes.fromhex("92d40000d700000000e8d4a51000")  # [undefined, Date(1e12)]
    assert unpack(legacy) == [None, datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)]
    assert await notepack.call("decode", hex=legacy.hex()) == [UNDEFINED, {"$date": 10**12}]
    assert unpack(bytes.fromhex("d40561")) == [5, b"a"]
    assert await notepack.call("decode", hex="d40561") == [5, b"a"]


@pytest.mark.parametrize(
    "payload",
    ["", "c1", "92", "93a1", "0102", "dc0005", "d9", "c4ff00"],
)
def test_malformed_msgpack_is_a_value_error(payload: str) -> None:
    with pytest.raises(ValueError):
        unpack(bytes.fromhex(payload))


def test_json_is_json_stringify() -> None:
    """The JSON paths write what ``JSON.stringify`` writes for the same values."""
    assert dumps_json({"a": [1, "é", None], "b": True}) == '{"a":[1,"é",null],"b":true}'
    assert dumps_json({"buf": b"\x01\x02"}) == '{"buf":{"type":"Buffer","data":[1,2]}}'
    assert dumps_json([math.nan, math.inf, -math.inf, 1.5]) == "[null,null,null,1.5]"
    moment = datetime(2000, 6, 13, 0, 0, 0, 123456, tzinfo=UTC)
    assert dumps_json({"t": moment}) == '{"t":"2000-06-13T00:00:00.123Z"}'
    big = 2**70  # past orjson's 64 bits: the standard library's path
    assert dumps_json({"s": "\ud800é", 1: {big}}) == f'{{"s":"\\ud800é","1":[{big}]}}'
    assert dumps_json({"nan": [math.nan], "b": b"\x00"}) == (
        '{"nan":[null],"b":{"type":"Buffer","data":[0]}}'
    )
    assert loads_json(b'{"a":[1,2]}') == {"a": [1, 2]}
    with pytest.raises(ValueError):
        loads_json(b'{"a":')


def test_has_binary() -> None:
    assert has_binary([1, {"a": [b""]}])
    assert has_binary(bytearray(b"x"))
    assert not has_binary([1, {"a": ["b"]}, None])


def test_flags_in_node_units_and_keys() -> None:
    """seconds <-> ms, expect_single_response <-> expectSingleResponse, no local, and
    volatile only when true (Node treats a present volatile key as volatile)."""
    flags = {"timeout": 1.5, "expect_single_response": True, "local": True, "volatile": False}
    wire = wire_opts(BroadcastOptions(("r1", "r2"), ("r3",), flags))
    assert wire == {
        "rooms": ["r1", "r2"],
        "except": ["r3"],
        "flags": {"timeout": 1500, "expectSingleResponse": True},
    }
    kept = {"volatile": True, "compress": False}
    assert wire_opts(BroadcastOptions(flags=kept))["flags"] == kept
    assert wire_opts(BroadcastOptions(("r1",)), with_flags=False) == {"rooms": ["r1"], "except": []}
    back = opts_from_wire(
        {
            "rooms": ["r1", 123],
            "flags": {"timeout": 250, "expectSingleResponse": True, "volatile": False},
        }
    )
    assert (back.rooms, back.except_rooms) == (("r1", 123), ())
    assert back.flags == {"timeout": 0.25, "expect_single_response": True, "volatile": True}
    for bad in ([1, 2], {"rooms": "r1"}, {"flags": [1]}):
        with pytest.raises(ValueError):
            opts_from_wire(bad)
