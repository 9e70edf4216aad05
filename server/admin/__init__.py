"""The admin namespace: the official Socket.IO Admin UI protocol plus opt-in extensions.

``instrument(io, auth=...)`` is Node's ``instrument`` from ``@socket.io/admin-ui``;
the extension contract (the Engine.IO packet stream) is ``docs/admin-extension.md``.
"""

from sioscope.server.admin.auth import InMemoryStore, Store
from sioscope.server.admin.instrument import PACKET_FEATURE, Admin, instrument

__all__ = ["PACKET_FEATURE", "Admin", "InMemoryStore", "Store", "instrument"]
