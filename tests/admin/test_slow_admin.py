"""A stalled admin client costs the server a bounded amount of memory.

The admin client here speaks Engine.IO long-polling by hand (aiohttp) and, once logged
in and subscribed to the packet stream, stops polling: everything the server sends it
waits in its connection's write buffer. A python-socketio user then generates far more
admin traffic than the bound (two admin events per user event in development mode).
"""

from __future__ import annotations

import asyncio

import aiohttp
import socketio

from sioscope.server.admin.backpressure import MAX_ADMIN_BACKLOG
from sioscope.server.admin.protocol import EV_PACKETS

from .apps import PASSWORD, running_server
from .client import polling_admin_login

AUTH = {"username": "admin", "password": PASSWORD, "sioscope": {"packets": True}}


async def test_a_stalled_admin_client_is_bounded_not_buffered_for() -> None:
    async with running_server(server_options={"ping_interval": 30, "ping_timeout": 30}) as srv:
        async with aiohttp.ClientSession() as http:
            await polling_admin_login(http, srv.url, AUTH, until="sioscope:snapshot")
            # From here on the admin client never polls again.
            (admin_socket,) = srv.io.namespaces["/admin"].sockets.values()
            conn = admin_socket.conn

            user = socketio.AsyncClient(reconnection=False)
            await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
            try:
                for i in range(900):
                    await user.emit("hello", i)
                assert await user.call("hello", "last", timeout=10) == "ok"  # all handled
                await asyncio.sleep(0.3)  # several stream flush ticks
            finally:
                await user.disconnect()

            pending = conn.write_buffer
            assert len(pending) <= MAX_ADMIN_BACKLOG + 10, len(pending)
            assert srv.admin.dropped_events > 0
            batches = [p for p in pending if f'"{EV_PACKETS}"' in str(p.get("data", ""))]
            assert len(batches) == 1  # one stream batch in flight, never more
