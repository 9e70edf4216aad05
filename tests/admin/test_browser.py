"""The official Admin UI, unmodified, in headless Chromium against our server.

``ui/dist`` of @socket.io/admin-ui 0.5.1 is served by the same app (as a deployment
would serve it: aiohttp, or a Starlette app beside ``io.asgi_app()`` on uvicorn) and
driven with playwright-core by ``tests/interop/admin-browser.js``: a wrong password
shows the UI's own "Invalid credentials", the right one logs in; the Sockets, Rooms and
Clients pages list a python-socketio client's socket, room and client id; a disconnect
clicked in the UI disconnects that client, which the client itself observes.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import socketio

from tests.conftest import INTEROP_DIR

from .apps import PASSWORD, running_server
from .node import run_node_json

pytestmark = pytest.mark.interop

UI_DIR = INTEROP_DIR / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"


@pytest.mark.parametrize("host", ["aiohttp", "uvicorn"])
async def test_official_ui_lists_and_disconnects_our_socket(
    node_bin: str, chromium_bin: str, tmp_path, host: str
) -> None:
    async with running_server(ui_dir=UI_DIR, host=host) as srv:
        user = socketio.AsyncClient(reconnection=False)
        gone = asyncio.Event()
        user.on("disconnect", lambda *a: gone.set())
        await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
        try:
            sid = user.get_sid("/")
            await user.emit("join", "ui-room")
            client_id = user.eio.sid[:12]
            config = {
                "uiUrl": f"{srv.url}/ui/index.html",
                "serverUrl": srv.url,
                "username": "admin",
                "password": PASSWORD,
                "chromium": chromium_bin,
                "profileDir": str(tmp_path / "chromium-profile"),
                "sid": sid,
                "room": "ui-room",
                "clientId": client_id,
            }
            steps = await run_node_json(
                node_bin, "admin-browser.js", json.dumps(config), timeout=90
            )
            assert steps[-1] == {"ok": True}, steps
            done = {s.get("step") for s in steps}
            assert "sockets list shows the socket" in done
            assert "rooms list shows the room" in done
            assert "clients list shows the client" in done
            await asyncio.wait_for(gone.wait(), 10)
            assert sid not in srv.io.namespaces["/"].sockets
        finally:
            await user.disconnect()
