"""The value codecs of the cluster adapters' wire: msgpack and JSON as Node writes them.

Sans-I/O: bytes in, Python values out, and back. Rules (read from the Node encoders the
adapters use: ``notepack.io`` 3, ``@msgpack/msgpack`` 2.8 and ``JSON.stringify``):

1. ``bytes`` travel as msgpack bin; floats as float64; tz-aware datetimes as the
   timestamp extension -1. Decoding gives ``bytes`` for bin and an aware ``datetime``
   for ext -1; notepack 2's legacy ext 0 (``undefined``, int64 ms dates, ArrayBuffer) is
   mapped too, and any other extension becomes ``[type, bytes]`` as notepack does.
2. JSON is ``JSON.stringify``'s: compact, ``bytes`` as ``{"type":"Buffer","data":[..]}``
   (``Buffer#toJSON``), datetimes as ISO strings with milliseconds and ``Z``, NaN and
   infinities as ``null``. Node never turns a Buffer object back into bytes on receipt,
   and neither do we.
3. ``has_binary`` is the adapters' ``hasBinary``: the choice between JSON and msgpack.
4. Broadcast options cross the wire in Node's units and keys (``wire_opts`` /
   ``opts_from_wire``): ``timeout`` in ms, ``expectSingleResponse``, ``local`` never
   sent, ``volatile`` only when true (a receiver treats any ``volatile`` key as set).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from sioscope.server.adapter import BroadcastOptions

__all__ = [
    "CodecError",
    "dumps_json",
    "has_binary",
    "loads_json",
    "opts_from_wire",
    "pack",
    "unpack",
    "wire_opts",
]


class CodecError(ValueError):
    """A message that is not what the protocol sends (not msgpack/JSON, wrong shape)."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} for the cluster wire")


def pack(obj: Any) -> bytes:
    """msgpack bytes as notepack 3 / @msgpack/msgpack write them (rule 1)."""
    packed: bytes = msgpack.packb(obj, use_bin_type=True, datetime=True, default=_default)
    return packed


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0:  # notepack 2.x legacy encodings
        if len(data) == 1:
            return None  # undefined
        if len(data) == 8:
            return _EPOCH + timedelta(milliseconds=int.from_bytes(data, "big", signed=True))
        return data  # ArrayBuffer
    return [code, data]


def unpack(data: bytes) -> Any:
    """Decode one msgpack value; :class:`CodecError` for anything else (rule 1)."""
    try:
        return msgpack.unpackb(data, raw=False, timestamp=3, ext_hook=_ext_hook)
    except (ValueError, TypeError, msgpack.UnpackException) as err:
        raise CodecError(f"not a msgpack message: {err}") from None


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(obj))}
    if isinstance(obj, datetime):
        return _iso(obj)
    return obj


def _json_default(obj: Any) -> Any:
    """What JSON has no type for, as ``JSON.stringify`` writes it (rule 2)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(obj))}
    if isinstance(obj, datetime):
        return _iso(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


try:  # pragma: no cover - which branch runs depends on the environment
    import orjson

    _ORJSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]  # the speed extra is optional


def dumps_json(obj: Any) -> str:
    """``JSON.stringify(obj)`` (rule 2).

    orjson (the ``speed`` extra) writes the same compact text several times faster, NaN
    as ``null`` included; what it refuses (a lone surrogate, an int past 64 bits) goes to
    the standard library. There, the walk that turns NaN into ``null`` runs only when a
    non-finite float made the fast path fail: for a fetch_sockets answer of 500 sockets
    the walk cost 4x the encoding itself.
    """
    if orjson is not None:
        try:
            return orjson.dumps(obj, default=_json_default, option=_ORJSON_OPTS).decode()
        except TypeError:
            pass
    try:
        text = json.dumps(
            obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=_json_default
        )
    except ValueError:  # a NaN or an infinity somewhere
        text = json.dumps(
            _jsonable(obj),
            separators=(",", ":"),
            allow_nan=False,
            ensure_ascii=False,
            default=_json_default,
        )
    if not text.isascii() and _SURROGATE.search(text):  # escaped, as JSON.stringify does
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def loads_json(data: str | bytes) -> Any:
    """``JSON.parse``; :class:`CodecError` for invalid JSON (``NaN`` and ``Infinity``
    included: JSON.parse refuses them, so Node drops such a message).

    orjson, when installed, parses twice as fast; what it refuses (a lone surrogate
    escape, which JSON.parse takes) is parsed again by the standard library.
    """
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise CodecError(f"not a JSON message: {err}") from None


def has_binary(obj: Any) -> bool:
    """Whether ``obj`` holds bytes anywhere in its lists and dict values (rule 3)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return True
    if isinstance(obj, (list, tuple)):
        return any(has_binary(v) for v in obj)
    if isinstance(obj, dict):
        return any(has_binary(v) for v in obj.values())
    return False


def wire_opts(opts: BroadcastOptions, *, with_flags: bool = True) -> dict[str, Any]:
    """Node's ``encodeOptions``: ``{rooms, except, flags}`` in Node's keys and units."""
    wire: dict[str, Any] = {"rooms": list(opts.rooms), "except": list(opts.except_rooms)}
    if with_flags:
        flags: dict[str, Any] = {}
        for key, value in opts.flags.items():
            if key == "local" or key == "broadcast":
                continue
            if key == "volatile":
                if value:
                    flags["volatile"] = True
            elif key == "timeout":
                if value is not None:
                    ms = value * 1000
                    flags["timeout"] = int(ms) if float(ms).is_integer() else ms
            elif key == "expect_single_response":
                if value:
                    flags["expectSingleResponse"] = True
            else:
                flags[key] = value
        wire["flags"] = flags
    return wire


def _room_list(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CodecError(f"rooms must be a list, got {type(value).__name__}")
    return tuple(value)


def opts_from_wire(wire: Any) -> BroadcastOptions:
    """Node's ``decodeOptions``, into sioscope's units (seconds, snake_case keys)."""
    if not isinstance(wire, dict):
        raise CodecError(f"opts must be an object, got {type(wire).__name__}")
    flags: dict[str, Any] = {}
    raw_flags = wire.get("flags") or {}
    if not isinstance(raw_flags, dict):
        raise CodecError("opts.flags must be an object")
    for key, value in raw_flags.items():
        if key == "volatile":
            flags["volatile"] = True  # Node tests `!== undefined`
        elif key == "timeout":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                flags["timeout"] = value / 1000
        elif key == "expectSingleResponse":
            flags["expect_single_response"] = bool(value)
        else:
            flags[key] = value
    return BroadcastOptions(
        rooms=_room_list(wire.get("rooms")),
        except_rooms=_room_list(wire.get("except")),
        flags=flags,
    )
