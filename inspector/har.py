"""A socket's traffic as HAR 1.2, the way Chrome DevTools writes a WebSocket.

Chrome exports a WebSocket as one ``log.entries[]`` item: the upgrade request
(``_resourceType: "websocket"``, response status 101) with its frames in
``_webSocketMessages``, each ``{"type": "send"|"receive", "time": epoch seconds,
"opcode": 1 (text) | 2 (binary), "data": text, or base64 for binary}``; DevTools and
HAR tools open such a file. Rules:

1. The frames are the socket's (``traffic`` rule 2), as the WebSocket carried them:
   an Engine.IO text frame is its type digit and its payload (``42["chat","hi"]``), a
   binary one its bytes. ``send`` is client to server.
2. A connection that stayed on HTTP long-polling is still written as one WebSocket
   entry: its packets are what matters, and a HAR of a hundred polling requests would
   not show them as messages. ``_transport`` says which it was.
3. A frame the capture did not hold whole carries ``"_cut": true``.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sioscope import __version__
from sioscope.inspector.traffic import ENGINE_TYPES, Frame, Traffic

_TRANSPORT_QUERY = frozenset({"EIO", "transport", "t", "sid", "j", "b64"})


def _iso(ms: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{int(ms % 1000):03d}Z"


def message(frame: Frame) -> dict[str, Any]:
    """One ``_webSocketMessages`` item (rules 1 and 3)."""
    out: dict[str, Any] = {
        "type": "send" if frame.direction == "in" else "receive",
        "time": frame.ts_ms / 1000,
    }
    if isinstance(frame.data, bytes):
        out.update(opcode=2, data=base64.b64encode(frame.data).decode("ascii"))
    else:
        out.update(opcode=1, data=f"{ENGINE_TYPES.get(frame.type, 4)}{frame.data or ''}")
    if frame.cut:
        out["_cut"] = True
    return out


def websocket_url(traffic: Traffic) -> str:
    """``ws(s)://host/path/?<the app's query>&EIO=4&transport=websocket``."""
    hs = traffic.handshake
    base = urlsplit(traffic.source or "http://localhost")
    scheme = "wss" if base.scheme == "https" or hs.get("secure") is True else "ws"
    url = urlsplit(str(hs.get("url") or "/socket.io/"))
    query = [(k, v) for k, v in parse_qsl(url.query) if k not in _TRANSPORT_QUERY]
    query += [("EIO", "4"), ("transport", "websocket")]
    return f"{scheme}://{base.netloc}{url.path or '/socket.io/'}?{urlencode(query)}"


def har(traffic: Traffic) -> dict[str, Any]:
    """The HAR document of one socket (module rules)."""
    hs = traffic.handshake
    headers = hs.get("headers") if isinstance(hs.get("headers"), dict) else {}
    assert isinstance(headers, dict)
    url = websocket_url(traffic)
    messages = [message(f) for f in traffic.frames]
    started = hs.get("issued")
    if not isinstance(started, int | float):
        started = traffic.frames[0].ts_ms if traffic.frames else 0
    entry = {
        "startedDateTime": _iso(float(started)),
        "time": 0,
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": str(k), "value": str(v)} for k, v in headers.items()],
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query)],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 101,
            "statusText": "Switching Protocols",
            "httpVersion": "HTTP/1.1",
            "headers": [],
            "cookies": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0},
        "serverIPAddress": "",
        "_resourceType": "websocket",
        "_webSocketMessages": messages,
        "_transport": str(traffic.socket.get("transport", "")),
        "_socketId": traffic.socket_id,
        "_clientId": traffic.client_id,
        "_namespace": traffic.nsp,
    }
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "sioscope", "version": __version__},
            "pages": [],
            "entries": [entry],
        }
    }
