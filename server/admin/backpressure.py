"""How the admin namespace treats an admin client that stops reading.

Node's admin-ui writes every admin message to every admin socket whatever the state of
its connection, so an admin client that stalls (a laptop put to sleep, a hostile client
that never polls) makes the server buffer for it without limit. Rules:

1. An admin connection is *backlogged* while its write buffer (``conn.write_buffer``,
   Node's ``writeBuffer``) holds more than ``MAX_ADMIN_BACKLOG`` packets.
2. A broadcast skips the backlogged admin sockets and goes to the others; an answer to
   one admin socket (a resync, a refusal) is not sent to a backlogged one. Each skip
   counts one in :attr:`Backpressure.dropped_events`.
3. Nothing is queued for later: what an admin client missed it can ask for again
   (``sioscope:resync``), and the packet stream has its own bound (``stream``).
"""

from __future__ import annotations

from typing import Any

from sioscope.server.adapter import Adapter

MAX_ADMIN_BACKLOG = 1_000  # packets an admin connection may have waiting to be written


class Backpressure:
    """Sends to the admin namespace ``nsp`` within the rules above."""

    __slots__ = ("dropped_events", "nsp")

    def __init__(self, nsp: Any) -> None:
        self.nsp = nsp
        self.dropped_events = 0
        """Admin messages skipped for admin clients that lag (rule 2)."""

    def backlogged(self, socket: Any) -> bool:
        """Rule 1 for one admin socket; a True answer is counted as one skip."""
        if len(socket.conn.write_buffer) > MAX_ADMIN_BACKLOG:
            self.dropped_events += 1
            return True
        return False

    def listening(self) -> bool:
        """Whether an admin client may hear a broadcast: one connected here, or, with a
        cluster adapter, possibly on another server (Node always broadcasts)."""
        return bool(self.nsp.sockets) or type(self.nsp.adapter) is not Adapter

    def broadcast(self, event: str, *args: Any) -> None:
        """One broadcast to the admin namespace (Node's ``adminNamespace.emit``), skipped
        when nobody listens (:meth:`listening`) and for the backlogged admin sockets
        (rule 2)."""
        sockets = self.nsp.sockets
        if not sockets:
            if type(self.nsp.adapter) is not Adapter:
                self.nsp.emit(event, *args)  # the other servers' admin clients
            return
        slow: list[str] | None = None
        for sid, socket in sockets.items():
            if len(socket.conn.write_buffer) > MAX_ADMIN_BACKLOG:
                if slow is None:
                    slow = []
                slow.append(sid)
        if slow is None:
            self.nsp.emit(event, *args)
            return
        self.dropped_events += len(slow)
        if len(slow) < len(sockets):
            self.nsp.except_(slow).emit(event, *args)

    def send(self, socket: Any, event: str, *args: Any) -> None:
        """An answer to one admin socket, unless it is backlogged (rule 2)."""
        if not self.backlogged(socket):
            socket.emit(event, *args)
