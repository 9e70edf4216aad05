"""Table-driven vectors for the Socket.IO v5 codec, from socket.io-parser's behaviour."""

from __future__ import annotations

import random

import pytest

from sioscope.server.parser import MAX_DEPTH, Decoder, Packet, PacketType, ParseError, encode

T = PacketType

ENCODE_VECTORS = [
    (Packet(T.CONNECT), ["0"]),
    (Packet(T.CONNECT, "/admin", {"sid": "abc"}), ['0/admin,{"sid":"abc"}']),
    (Packet(T.DISCONNECT), ["1"]),
    (Packet(T.DISCONNECT, "/admin"), ["1/admin,"]),
    (Packet(T.EVENT, "/", ["message", 1, "2", {"3": [True]}]), ['2["message",1,"2",{"3":[true]}]']),
    (Packet(T.EVENT, "/admin", ["ev", "x"], 0), ['2/admin,0["ev","x"]']),
    (Packet(T.ACK, "/", ["r1", 2], 1), ['31["r1",2]']),
    (Packet(T.ACK, "/", [1, "2", {"3": [False]}], 456), ['3456[1,"2",{"3":[false]}]']),
    (
        Packet(T.CONNECT_ERROR, "/admin", {"message": "nope", "data": {"code": 42}}),
        ['4/admin,{"message":"nope","data":{"code":42}}'],
    ),
    (
        Packet(T.CONNECT_ERROR, "/nope", {"message": "Invalid namespace"}),
        ['4/nope,{"message":"Invalid namespace"}'],
    ),
    # key order kept, non-ASCII left as is, compact
    (Packet(T.EVENT, "/", ["é", {"z": 1, "a": 2}]), ['2["é",{"z":1,"a":2}]']),
]


@pytest.mark.parametrize(("packet", "wire"), ENCODE_VECTORS)
def test_encode_vectors(packet: Packet, wire: list[str]) -> None:
    assert encode(packet) == wire


@pytest.mark.parametrize(("packet", "wire"), ENCODE_VECTORS)
def test_decode_is_inverse_of_encode(packet: Packet, wire: list[str]) -> None:
    decoded = Decoder().feed(wire[0])
    assert decoded == packet


def test_binary_event_placeholders_depth_first() -> None:
    packet = Packet(T.EVENT, "/", ["bin", b"\x01\x02\x03", {"a": b"\x04"}])
    assert encode(packet) == [
        '52-["bin",{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]',
        b"\x01\x02\x03",
        b"\x04",
    ]


def test_binary_ack_with_namespace_and_id() -> None:
    out = encode(Packet(T.ACK, "/admin", [b"\x09"], 7))
    assert out == ['61-/admin,7[{"_placeholder":true,"num":0}]', b"\x09"]
    dec = Decoder()
    assert dec.feed(out[0]) is None
    assert dec.awaiting_attachments
    assert dec.feed(out[1]) == Packet(T.BINARY_ACK, "/admin", [b"\x09"], 7)


def test_binary_roundtrip_two_attachments() -> None:
    dec = Decoder()
    head = '452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'[1:]
    assert dec.feed(head) is None
    assert dec.feed(b"\x01") is None
    packet = dec.feed(bytearray(b"\x02\x03"))
    assert packet == Packet(T.BINARY_EVENT, "/", ["message", b"\x01", b"\x02\x03"])
    assert not dec.awaiting_attachments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Packet(T.CONNECT)),
        ('0{"token":"123"}', Packet(T.CONNECT, "/", {"token": "123"})),
        ("0/custom,", Packet(T.CONNECT, "/custom")),
        ("0/custom", Packet(T.CONNECT, "/custom")),
        ('0/custom,{"token":"abc"}', Packet(T.CONNECT, "/custom", {"token": "abc"})),
        ("1", Packet(T.DISCONNECT)),
        ("1/custom", Packet(T.DISCONNECT, "/custom")),
        ('2[1,"x"]', Packet(T.EVENT, "/", [1, "x"])),
        ('2["error","x"]', Packet(T.EVENT, "/", ["error", "x"])),
        ('3/a,12["r"]', Packet(T.ACK, "/a", ["r"], 12)),
        ('4"nope"', Packet(T.CONNECT_ERROR, "/", "nope")),
    ],
)
def test_decode_vectors(text: str, expected: Packet) -> None:
    assert Decoder().feed(text) == expected


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "empty packet"),
        ("abc", "unknown packet type"),
        ("7", "unknown packet type"),
        ("2{}", "invalid payload"),
        ('2abc["x"]', "invalid payload"),
        ("2[]", "invalid payload"),
        ("2[true]", "invalid payload"),
        ('2["connect"]', "invalid payload"),
        ('2["disconnecting"]', "invalid payload"),
        ('2["newListener"]', "invalid payload"),
        ("2", "invalid payload"),
        ("3{}", "invalid payload"),
        ('0"x"', "invalid payload"),
        ("0[]", "invalid payload"),
        ('1{"a":1}', "invalid payload"),
        ("4[]", "invalid payload"),
        ("2[NaN]", "invalid payload"),
        ("2[1,", "invalid payload"),
        ('5x-["a"]', "Illegal attachments"),
        ('5["a"]', "Illegal attachments"),
        ('50-["a"]', "Illegal attachments"),  # Node: an attachment count below 1
        ("60-[1]", "Illegal attachments"),
        ('511-["a"]', "too many attachments"),
        ("212345678901234567890[1]", "invalid ack id"),
    ],
)
def test_malformed_input_raises_parse_error(message: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        Decoder().feed(message)


def test_ten_attachments_allowed() -> None:
    data = ["ev", *[bytes([i]) for i in range(10)]]
    out = encode(Packet(T.EVENT, "/", data))
    assert out[0].startswith("510-")  # type: ignore[union-attr]
    dec = Decoder()
    results = [dec.feed(m) for m in out]
    assert results[:-1] == [None] * 10
    assert results[-1] == Packet(T.BINARY_EVENT, "/", data)


def test_binary_when_none_expected() -> None:
    with pytest.raises(ParseError, match="got binary data"):
        Decoder().feed(b"\x01")


def test_text_while_reconstructing_then_reset() -> None:
    dec = Decoder()
    dec.feed('51-["a",{"_placeholder":true,"num":0}]')
    with pytest.raises(ParseError, match="plaintext"):
        dec.feed('2["b"]')
    assert not dec.awaiting_attachments
    assert dec.feed('2["b"]') == Packet(T.EVENT, "/", ["b"])


@pytest.mark.parametrize("num", ["1", "-1", '"0"', "true"])
def test_placeholder_out_of_range(num: str) -> None:
    dec = Decoder()
    dec.feed('51-["a",{"_placeholder":true,"num":' + num + "}]")
    with pytest.raises(ParseError, match="illegal attachments"):
        dec.feed(b"\x00")


def test_tuple_and_int_keys_encode_like_js() -> None:
    assert encode(Packet(T.EVENT, "/", ("ev", {1: (1, 2)}))) == ['2["ev",{"1":[1,2]}]']


def test_unserialisable_data_raises_type_error() -> None:
    with pytest.raises(TypeError):
        encode(Packet(T.EVENT, "/", ["ev", {1, 2}]))


def nested(inner: int, leaf: str = "") -> str:
    return "[" * inner + leaf + "]" * inner


@pytest.fixture(params=["orjson", "walk"])
def depth_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The depth check asks orjson's encoder when it can, else walks: both must agree."""
    import sioscope.server.parser as parser

    if request.param == "walk":
        monkeypatch.setattr(parser, "_orjson_dumps", None)
    elif parser._orjson_dumps is None:
        pytest.skip("orjson is not installed")
    return str(request.param)


@pytest.mark.parametrize("depth", [100, MAX_DEPTH - 1, MAX_DEPTH, 1000, 5000, 200_000])
def test_deep_nesting_is_refused_past_max_depth(depth: int, depth_check: str) -> None:
    """The outer event array counts: ``["a", <depth levels>]`` nests depth + 1 deep (a
    placeholder object is one more level, as it is on the wire)."""
    text = '2["a",' + nested(depth) + "]"
    binary = '51-["a",' + nested(depth - 1, '{"_placeholder":true,"num":0}') + "]"
    objects = '2["a",' + '{"k":' * depth + "1" + "}" * depth + "]"
    for messages in ([text], [binary, b"x"], [objects]):
        dec = Decoder()
        if depth + 1 > MAX_DEPTH:
            with pytest.raises(ParseError, match="nested too deeply"):
                for message in messages:
                    dec.feed(message)
            assert not dec.awaiting_attachments
        else:
            results = [dec.feed(m) for m in messages]
            assert results[-1] is not None


def test_whatever_the_decoder_accepts_the_encoder_writes() -> None:
    """An echo of the deepest accepted payload, from a deep call stack, still encodes."""
    wire = '2["a",' + nested(MAX_DEPTH - 1) + "]"
    packet = Decoder().feed(wire)
    assert packet is not None

    def from_depth(frames: int) -> list[str | bytes]:
        return encode(packet) if frames == 0 else from_depth(frames - 1)

    assert from_depth(200) == [wire]


def test_brackets_inside_strings_do_not_count_as_depth(depth_check: str) -> None:
    text = '2["a","' + "[" * 5000 + '",' + nested(3) + "]"
    assert Decoder().feed(text) is not None


def test_random_input_only_ever_raises_parse_error() -> None:
    rng = random.Random(1234)
    seeds = [
        '2["message",1,"2",{"3":[true]}]',
        '0/custom,{"token":"abc"}',
        "1/custom,",
        '452-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        '3456[1,"2",{"3":[false]}]',
        '4{"message":"x"}',
        '61-/a,7[{"_placeholder":true,"num":0}]',
    ]
    alphabet = '0123456789-/,[]{}":_ptrueahlcnm\\x\x00é'
    decoded = errors = 0
    for _ in range(3000):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            pos = rng.randrange(len(text) + 1)
            if op == 0:
                text.insert(pos, rng.choice(alphabet))
            elif text and op == 1:
                del text[min(pos, len(text) - 1)]
            elif text:
                text[min(pos, len(text) - 1)] = rng.choice(alphabet)
        dec = Decoder()
        try:
            packet = dec.feed("".join(text))
            while packet is None and dec.awaiting_attachments:
                packet = dec.feed(rng.choice([b"\x01", b""]))
            decoded += 1
        except ParseError:
            errors += 1
    assert decoded > 100 and errors > 100  # both paths were exercised


@pytest.mark.parametrize(
    "data",
    [
        ["message", 1, "2", {"3": [True, None, 1.5, -0.25]}],
        {"z": 1, "a": 'é ✓ \u2028 "quoted" \\ \n', "nested": {"k": [[], {}]}},
        ["ev", 2**53 - 1, -(2**31), "", "</script>"],
        {1: "int keys become strings", "2": (1, 2)},
    ],
)
def test_stdlib_fallback_writes_what_orjson_writes(data: object) -> None:
    from sioscope.server.parser import _std_dumps, dumps

    assert _std_dumps(data) == dumps(data)


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (["m", "\ud800", {"\udfff": "a\ud83dz"}], '2["m","\\ud800",{"\\udfff":"a\\ud83dz"}]'),
        (["m", 2**70], f'2["m",{2**70}]'),
    ],
)
def test_what_orjson_refuses_is_still_encoded_like_json_stringify(data: list, wire: str) -> None:
    """Lone surrogates (a JS client may send them) are escaped, as JSON.stringify does."""
    assert encode(Packet(T.EVENT, "/", data)) == [wire]
    assert Decoder().feed(wire).data == data  # type: ignore[union-attr]


def test_orjson_depth_limit_falls_back_to_the_standard_library() -> None:
    deep: list = []
    for _ in range(300):  # orjson stops at 254 levels
        deep = [deep]
    assert encode(Packet(T.EVENT, "/", ["m", deep])) == ['2["m",' + "[" * 301 + "]" * 301 + "]"]


def test_pending_attachment_bytes_are_capped() -> None:
    dec = Decoder(max_attachment_bytes=10)
    assert dec.feed('52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]') is None
    assert dec.feed(b"x" * 6) is None
    with pytest.raises(ParseError, match="attachments too large"):
        dec.feed(b"x" * 6)
    assert not dec.awaiting_attachments
