"""sioscope's Socket.IO v5 server core: Node's server-side API under Python names.

>>> from server import Server, ConnectionRefused
"""

from server.adapter import Adapter, BroadcastOptions
from server.broadcast import BroadcastOperator, RemoteSocket
from server.client import Client
from server.namespace import ConnectionRefused, Namespace, ParentNamespace
from server.parser import Packet, PacketType, ParseError
from server.server import Server
from server.socket import Socket

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
]
