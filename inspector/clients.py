"""Engine.IO clients: the sockets grouped by the connection they share (plain data).

An Engine.IO client (one ``clientId``) carries one socket per namespace it joined. The
official Admin UI has a Clients page for that level: a client's transport, its address
and its sockets, and "disconnect" there closes the whole connection. The admin protocol
has no client events, so the list is derived from the sockets, once per model version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sioscope.inspector.model import Model
from sioscope.inspector.records import SocketInfo


@dataclass(slots=True)
class ClientInfo:
    """One Engine.IO connection and its sockets (sorted by namespace)."""

    id: str
    transport: str
    address: str
    issued: float
    sockets: list[SocketInfo] = field(default_factory=list)

    @property
    def namespaces(self) -> list[str]:
        return [s.nsp for s in self.sockets]


class ClientIndex:
    """The clients of a model's sockets that pass its socket filter, rebuilt only when
    the sockets or the filter changed."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._version: tuple[int, str] = (-1, "")
        self._clients: dict[str, ClientInfo] = {}
        self._order: list[str] = []

    def clients(self) -> dict[str, ClientInfo]:
        model = self.model
        version = (model.sockets_version, model.filter.expression)
        if version != self._version:
            out: dict[str, ClientInfo] = {}
            sockets = (
                [model.sockets[i] for i in model.visible_ids()]
                if model.filter
                else list(model.sockets.values())
            )
            for sock in sockets:
                cid = sock.client_id or f"(no client id) {sock.id}"
                info = out.get(cid)
                if info is None:
                    info = out[cid] = ClientInfo(cid, sock.transport, sock.address, sock.issued)
                info.sockets.append(sock)
                info.issued = min(info.issued, sock.issued)
            for info in out.values():
                info.sockets.sort(key=lambda s: (s.nsp, s.id))
            self._clients = out
            self._order = sorted(out, key=lambda c: (out[c].issued, c))
            self._version = version
        return self._clients

    def order(self) -> list[str]:
        """Client ids, oldest connection first (as the Sockets view's default)."""
        self.clients()
        return self._order
