"""Engine.IO v4 on aiohttp: ``EngineServer`` and its connections, ``Conn``.

Node's engine.io semantics (events, reasons, status codes) on our own transports;
see ``/work/shared/DESIGN.md`` for why this layer is not python-engineio's server.
"""

from .conn import Conn
from .server import EngineServer
from .transports import PollingTransport, Transport, TransportError, WebSocketTransport

__all__ = [
    "Conn",
    "EngineServer",
    "PollingTransport",
    "Transport",
    "TransportError",
    "WebSocketTransport",
]
