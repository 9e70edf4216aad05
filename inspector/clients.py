"""Engine.IO clients: the sockets grouped by the connection they share (plain data).

An Engine.IO client (one ``clientId``) carries one socket per namespace it joined. The
official Admin UI has a Clients page for that level: a client's transport, its address
and its sockets, and "disconnect" there closes the whole connection. The admin protocol
has no client events, so the list is derived from the sockets, once per model version.
"""

from __future__ import annotations

import time
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


REBUILD_INTERVAL = 1.0
"""Seconds between two rebuilds while the sockets keep changing: a rebuild is ~60 ms at
10,000 sockets, too much for every 100 ms flush under churn; a filter change or a view
switch (``invalidate``) rebuilds at once."""


class ClientIndex:
    """The clients of a model's sockets that pass its socket filter, rebuilt when the
    sockets or the filter changed, at most once per ``REBUILD_INTERVAL`` under churn."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._version: tuple[int, str] = (-1, "")
        self._built_at = float("-inf")
        self._clients: dict[str, ClientInfo] = {}
        self._order: list[str] = []

    def invalidate(self) -> None:
        """Rebuild at the next call, whatever the interval."""
        self._version = (-1, "")
        self._built_at = float("-inf")

    def clients(self) -> dict[str, ClientInfo]:
        model = self.model
        version = (model.sockets_version, model.filter.expression)
        now = time.monotonic()  # a cost limit, so the machine's clock, not the model's
        fresh = version[1] != self._version[1] or now - self._built_at >= REBUILD_INTERVAL
        if version != self._version and fresh:
            self._built_at = now
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
