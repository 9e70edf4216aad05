"""The admin namespace: the official Socket.IO Admin UI protocol plus opt-in extensions.

``instrument(io, auth=...)`` is Node's ``instrument`` from ``@socket.io/admin-ui``;
the extension contract (the Engine.IO packet stream) is ``docs/admin-extension.md``;
the wire vocabulary of both is ``protocol``, which the inspector imports too.
"""

from sioscope.server.admin.auth import InMemoryStore, Store
from sioscope.server.admin.instrument import Admin, instrument
from sioscope.server.admin.protocol import PACKET_FEATURE

__all__ = ["PACKET_FEATURE", "Admin", "InMemoryStore", "Store", "instrument"]
