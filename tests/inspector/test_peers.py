"""Logging in to every kind of server: Node's admin-ui, python-socketio's instrument(), ours.

The login payload must be exactly the official UI's (``{username, password}``): python-
socketio compares the whole auth object, so one extra key is "authentication failed".
The packet stream (ours only) is asked for with a command after login.
"""

from __future__ import annotations

from typing import Any

import pytest

from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.model import Model
from tests.inspector.conftest import PysioAdminServer, wait_for

pytestmark = pytest.mark.interop


async def test_python_socketio_accepts_the_right_password(pysio_admin: PysioAdminServer) -> None:
    model = Model()
    client = AdminClient(ClientOptions(pysio_admin.url, username="admin", password="s3cret"), model)
    try:
        await client.connect()
        assert client.state == "connected"
        client.start()
        app_sid = pysio_admin.clients[0].get_sid("/")
        await wait_for(lambda: app_sid in model.sockets)
    finally:
        await client.close()


async def test_our_packet_stream_is_asked_for_after_login(our_demo) -> None:
    model = Model()
    client = AdminClient(ClientOptions(our_demo.url), model)
    try:
        await client.connect()
        client.start()
        await wait_for(lambda: model.snapshots >= 1 and model.packets.total > 0)
        admin = our_demo.io.of("/admin")
        # The demo runs without auth, so the official UI's payload is empty: nothing else.
        assert [s.handshake["auth"] for s in admin.sockets.values()] == [{}]
    finally:
        await client.close()
    assert model.gaps == 0


async def test_our_packets_carry_their_socket_and_namespace(our_demo) -> None:
    """Our stream's records name the Engine.IO client only; a message names its namespace
    in its Socket.IO header (``2/chat,[...]``), so a record maps to one socket. Before,
    ``socket:`` never matched (no socket id) and ``nsp:`` took the client's first socket's
    namespace, ``/`` for a ``/chat`` message."""
    model = Model()
    client = AdminClient(ClientOptions(our_demo.url), model)
    try:
        await client.connect()
        client.start()

        def chat_records() -> list[Any]:
            return [r for r in model.packets.view if (r.preview or "").startswith("2/chat,")]

        await wait_for(lambda: bool(chat_records()), timeout=15)
        rec = chat_records()[-1]
        sock = model.sockets[rec.socket_id]
        assert (sock.nsp, sock.client_id, rec.nsp) == ("/chat", rec.client_id, "/chat")
        model.packets.set_filter(f"socket:{rec.socket_id}")
        assert rec in list(model.packets.view)
        model.packets.set_filter("nsp:/chat")
        shown = list(model.packets.view)
        assert rec in shown and all(r.nsp == "/chat" for r in shown)
    finally:
        await client.close()
