"""Node's SerializedSocket shape, redaction and JSON-safety of app data."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

from sioscope.server.admin.serialize import (
    DEFAULT_REDACTED_HEADERS,
    REDACTED,
    iso_now,
    json_safe,
    serialize_socket,
)

HANDSHAKE = {
    "headers": {
        "host": "h",
        "cookie": "s=1",
        "authorization": "Basic x",
        "x-forwarded-for": "1.2.3.4",
    },
    "query": {"EIO": "4"},
    "time": "Tue Nov 24 2026 21:46:55 GMT+0000 (Coordinated Universal Time)",
    "address": "127.0.0.1",
    "xdomain": False,
    "secure": False,
    "issued": 1795556815854,
    "url": "/socket.io/?EIO=4",
    "auth": {"token": "secret"},
}


def test_iso_now_is_a_js_date_json() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_now())


def test_shape_order_and_redaction() -> None:
    out = serialize_socket(
        socket_id="s1",
        client_id="c" * 12,
        transport="polling",
        nsp="/",
        data={"_admin": 1, "n": 1},
        handshake=HANDSHAKE,
        rooms=["s1", "lobby"],
        redact_headers=DEFAULT_REDACTED_HEADERS,
    )
    assert list(out) == ["id", "clientId", "transport", "nsp", "data", "handshake", "rooms"]
    assert list(out["handshake"]) == [
        "address",
        "headers",
        "query",
        "issued",
        "secure",
        "time",
        "url",
        "xdomain",
    ]
    assert "auth" not in out["handshake"]  # never serialized, as in Node
    assert out["data"] == {"n": 1}
    assert out["handshake"]["address"] == "1.2.3.4"  # x-forwarded-for wins, as in Node
    assert out["handshake"]["headers"]["cookie"] == REDACTED
    assert out["handshake"]["headers"]["authorization"] == REDACTED
    plain = serialize_socket(
        socket_id="s1",
        client_id="c",
        transport="polling",
        nsp="/",
        data={},
        handshake=HANDSHAKE,
        rooms=[],
    )
    assert plain["handshake"]["headers"]["cookie"] == "s=1"  # redaction is an option


def test_json_safe_never_fails_on_app_values() -> None:
    cyclic: dict = {}
    cyclic["self"] = cyclic
    out = json_safe(
        {
            "when": dt.datetime(2026, 1, 1),
            "s": {1},
            "o": object(),
            "nan": float("nan"),
            "c": cyclic,
            1: b"\x00",
        }
    )
    assert out["when"].startswith("2026-01-01") and out["s"] == [1] and out["nan"] is None
    assert out["1"] == b"\x00" and isinstance(out["o"], str)


def test_json_safe_is_bounded_on_shared_and_cyclic_app_values() -> None:
    # A dict reaching itself by two keys, and a chain of lists each holding the next
    # twice: both are 2**depth paths; copying them must not hang the event loop.
    twice: dict = {}
    twice["a"] = twice
    twice["b"] = twice
    chain: list = []
    for _ in range(40):
        chain = [chain, chain]

    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    start = time.monotonic()
    assert json_safe(twice) == {"a": None, "b": None}
    json.dumps(json_safe(chain))  # cut somewhere, but encodable
    assert time.monotonic() - start < 2.0
    assert json_safe({"h": Hostile(), "big": 10**5000}) == {"h": "<Hostile>", "big": None}
