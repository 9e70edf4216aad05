"""sioscope's Socket.IO v5 server core: Node's server-side API under Python names.

>>> from sioscope.server import Server, ConnectionRefused
"""

from sioscope.server.adapter import Adapter, BroadcastOptions
from sioscope.server.broadcast import BroadcastOperator, RemoteSocket
from sioscope.server.client import Client
from sioscope.server.collector import tune_collector
from sioscope.server.namespace import ConnectionRefused, Namespace, ParentNamespace
from sioscope.server.parser import Packet, PacketType, ParseError
from sioscope.server.server import Server
from sioscope.server.socket import Socket

__all__ = [
    "Adapter",
    "BroadcastOperator",
    "BroadcastOptions",
    "Client",
    "ConnectionRefused",
    "Namespace",
    "Packet",
    "PacketType",
    "ParentNamespace",
    "ParseError",
    "RemoteSocket",
    "Server",
    "Socket",
    "tune_collector",
]
