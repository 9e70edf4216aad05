"""Node's ``socket.handshake``: the details of the connection's first HTTP request.

Rules, as Node's ``Socket.buildHandshake``:

1. ``headers`` are lower-case names; a repeated header is joined with ``, `` (``; `` for
   ``cookie``), except ``set-cookie`` (a list) and the headers whose repeats Node's
   ``http.IncomingMessage`` discards (the first one wins).
2. ``query`` keeps the last value of a repeated key (``Object.fromEntries``).
3. ``time`` is ``String(new Date())`` and ``issued`` epoch milliseconds; ``secure`` is
   true when there is no request (a direct WebSocket without one) or it came over TLS;
   ``xdomain`` is whether the request had an ``Origin`` header.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sioscope.server.engine import Conn

__all__ = ["build_handshake"]


@functools.lru_cache(maxsize=4)
def _js_date_of_second(second: int) -> str:
    moment = datetime.fromtimestamp(second).astimezone()
    zone = moment.tzname() or ""
    if zone == "UTC":
        zone = "Coordinated Universal Time"
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT%z") + f" ({zone})"


def _js_date(now: float) -> str:
    """``String(new Date())``: ``Tue Nov 24 2026 23:03:22 GMT+0000 (Coordinated ...)``.

    The string has a resolution of one second, so it is formatted once per second
    (a burst of handshakes otherwise pays the strftime and tz lookup each time).
    """
    return _js_date_of_second(int(now))


_SINGLE_VALUED_HEADERS = frozenset(
    {
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    }
)
"""Headers whose repeats Node's ``http.IncomingMessage`` discards (the first one wins)."""


def build_handshake(conn: Conn, auth: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Node's ``socket.handshake`` from the connection's first HTTP request, as of
    ``now`` (epoch seconds; the socket's creation, when it is built later)."""
    request = conn.request
    headers: dict[str, Any] = {}
    query: dict[str, Any] = {}
    url = ""
    if request is not None:
        for name, value in request.headers.items():
            key = name.lower()
            if key == "set-cookie":
                headers.setdefault(key, []).append(value)
            elif key not in headers:
                headers[key] = value
            elif key not in _SINGLE_VALUED_HEADERS:
                separator = "; " if key == "cookie" else ", "
                headers[key] = f"{headers[key]}{separator}{value}"
        # Node: Object.fromEntries(url.searchParams), so a repeated key keeps its last value
        query = dict(request.query.items())
        url = request.raw_path
    if now is None:
        now = time.time()
    return {
        "headers": headers,
        "time": _js_date(now),
        "address": conn.remote_address,
        "xdomain": "origin" in headers,
        "secure": True if request is None else bool(conn.secure),
        "issued": int(now * 1000),
        "url": url,
        "query": query,
        "auth": auth,
    }
