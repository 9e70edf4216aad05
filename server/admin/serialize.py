"""Node admin-ui's wire shapes: ``SerializedSocket``, timestamps, ``socket.data``.

Field order, names and value forms follow ``serialize()`` in ``@socket.io/admin-ui``
0.5.1 (``dist/index.js`` of the npm peer pinned in ``tests/interop/package.json``) so
the official UI, and a diff against Node, see the same thing. The shapes themselves are
declared in ``protocol``; this module fills them in.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sioscope.server.admin.protocol import SerializedSocket

REDACTED = "[redacted]"
DEFAULT_REDACTED_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
_MAX_DEPTH = 32
_MAX_NODES = 10_000  # containers copied from one socket.data value
_MAX_INT_BITS = 13_000  # ~3900 decimal digits, under the 4300-digit str() limit


_second_cache: list[Any] = [None, ""]  # [epoch second, its "YYYY-MM-DDTHH:MM:SS"]


def iso_now() -> str:
    """A JS ``Date`` as JSON: ISO 8601 UTC, milliseconds, ``Z`` (never ``+00:00``).

    Called once per admin event (in development mode, twice per echo), so the
    formatted second is cached and only the milliseconds are formatted each time.
    """
    ms = int(time.time() * 1000)
    second, millis = divmod(ms, 1000)
    cache = _second_cache
    if cache[0] != second:
        cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        cache[0] = second
    return f"{cache[1]}.{millis:03d}Z"


def json_safe(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that the Socket.IO encoder can always encode.

    ``socket.data`` is the application's: it may hold sets, dates, objects. Node's
    ``JSON.stringify`` turns what it cannot encode into ``{}`` or drops it; an admin
    stream must never fail because of an app value, so unknown objects become their
    ``str()`` (or their type name when ``str()`` raises), cycles become ``None``, and
    the copy stops at ``_MAX_DEPTH`` levels and ``_MAX_NODES`` values (a value shared
    many times over, or a cycle reached by several paths, would otherwise cost
    exponential time on the event loop).
    """
    return _safe(value, depth, set(), [_MAX_NODES])


def _safe(value: Any, depth: int, seen: set[int], budget: list[int]) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        # Python's encoder refuses ints over 4300 digits (ValueError, sys.int_info);
        # JSON.stringify could not hold one either.
        return value if value.bit_length() <= _MAX_INT_BITS else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON.stringify(NaN) === "null"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    budget[0] -= 1
    if depth >= _MAX_DEPTH or budget[0] < 0:
        return None
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        key = id(value)
        if key in seen:
            return None  # a cycle: JSON.stringify would throw
        seen.add(key)
        try:
            if isinstance(value, Mapping):
                return {_text(k): _safe(v, depth + 1, seen, budget) for k, v in list(value.items())}
            return [_safe(v, depth + 1, seen, budget) for v in list(value)]
        except Exception:
            return None  # a Mapping whose iteration raises
        finally:
            seen.discard(key)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def serialize_data(data: Any) -> dict[str, Any]:
    """``socket.data`` for the wire, without the private ``_admin`` key (as Node)."""
    if not isinstance(data, Mapping):
        return {}
    return {_text(k): json_safe(v) for k, v in data.items() if k != "_admin"}


def _headers(headers: Any, redact: frozenset[str]) -> dict[str, Any]:
    if not isinstance(headers, Mapping):
        return {}
    return {k: (REDACTED if k in redact else v) for k, v in headers.items()}


def client_address(handshake: Mapping[str, Any]) -> Any:
    """Node's pick: ``cf-connecting-ip``, else ``x-forwarded-for`` (raw), else the peer."""
    headers = handshake.get("headers") or {}
    return (
        headers.get("cf-connecting-ip")
        or headers.get("x-forwarded-for")
        or handshake.get("address")
    )


def serialize_socket(
    *,
    socket_id: str,
    client_id: str | None,
    transport: str | None,
    nsp: str,
    data: Any,
    handshake: Mapping[str, Any],
    rooms: Iterable[str],
    redact_headers: frozenset[str] = frozenset(),
) -> SerializedSocket:
    """One ``SerializedSocket``; ``handshake.auth`` is left out on purpose, as in Node."""
    return {
        "id": socket_id,
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp,
        "data": serialize_data(data),
        "handshake": {
            "address": client_address(handshake),
            "headers": _headers(handshake.get("headers"), redact_headers),
            "query": dict(handshake.get("query") or {}),
            "issued": handshake.get("issued"),
            "secure": handshake.get("secure"),
            "time": handshake.get("time"),
            "url": handshake.get("url"),
            "xdomain": handshake.get("xdomain"),
        },
        "rooms": list(rooms),
    }


def crosses_servers(adapter: Any) -> bool:
    """Whether ``adapter`` shares its namespace with other servers: the cluster adapters
    (Node's and ours) carry a ``uid``, the in-memory ones do not."""
    return isinstance(getattr(adapter, "uid", None), str)


def admin_tag(client_id: str, transport: str, server_id: str | None) -> dict[str, Any]:
    """``socket.data._admin``: what a Node admin-ui server keeps there (``clientId``,
    the first 12 characters of the Engine.IO id, and ``transport``), so the sockets of
    a sioscope server fetched by a Node one of the same cluster show right in Node's
    UI; plus ``serverId`` (an extension: Node reads only the first two), so a sioscope
    admin can tell which server a fetched socket lives on."""
    tag: dict[str, Any] = {"clientId": client_id[:12], "transport": transport}
    if server_id is not None:
        tag["serverId"] = server_id
    return tag


def describe_socket(
    socket: Any, nsp_name: str, redact_headers: frozenset[str], server_id: str | None = None
) -> SerializedSocket:
    """:func:`serialize_socket` of a live ``Socket``, or of a ``RemoteSocket`` (another
    server of a cluster), which carries no connection: its ``clientId`` and ``transport``
    are what its server keeps in ``socket.data._admin`` (Node's admin-ui and ours),
    else None.

    With ``server_id`` (given in a cluster), the socket also names its server
    (``serverId``, an extension the official UI ignores): ``server_id`` for a local
    socket, ``_admin.serverId`` for a remote one of a sioscope server (a Node server's
    sockets carry none, and get no ``serverId``)."""
    conn = getattr(socket, "conn", None)
    data = socket.data
    own = data.get("_admin") if isinstance(data, dict) else None
    if not isinstance(own, dict):
        own = {}
    located: Any = None
    if conn is not None:
        client_id, transport = conn.id[:12], conn.transport.name
        located = server_id
    else:
        client_id, transport = own.get("clientId"), own.get("transport")
        if server_id is not None:
            located = own.get("serverId")
    described = serialize_socket(
        socket_id=socket.id,
        client_id=client_id,
        transport=transport,
        nsp=nsp_name,
        data=data,
        handshake=socket.handshake,
        rooms=socket.rooms,
        redact_headers=redact_headers,
    )
    if isinstance(located, str):
        described["serverId"] = located
    return described
