"""Engine.IO v4: ``EngineServer`` and its connections, ``Conn``, on any host.

Node's engine.io semantics (events, reasons, status codes) on our own transports.
This layer is ours, not python-engineio's server, because that server departs from
the official Engine.IO v4 conformance suite (status codes, ping timeout and close over
polling, upgrade edge cases) and offers no hook for a socket class, so Node's ``conn``
events (``packet``, ``packetCreate``, ``drain``, the close reasons) could not be
emitted exactly.

One host-independent core (``server.py``, ``conn.py``, ``transports.py``) and one
driver per host (``aiohttp.py``; ``asgi.py``), as Node's ``BaseServer`` with its
node:http and uWebSockets drivers. The core knows a request only as ``Request``
(``request.py``) and a host only through ``host.py``'s contract.
"""

from .conn import Conn
from .host import ChannelError, HttpExchange, Response, WebSocketChannel
from .request import Headers, Query, Request
from .server import EngineServer
from .transports import PollingTransport, Transport, TransportError, WebSocketTransport

__all__ = [
    "ChannelError",
    "Conn",
    "EngineServer",
    "Headers",
    "HttpExchange",
    "PollingTransport",
    "Query",
    "Request",
    "Response",
    "Transport",
    "TransportError",
    "WebSocketChannel",
    "WebSocketTransport",
]
