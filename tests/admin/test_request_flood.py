"""An admin client that floods requests without reading gets a bounded backlog.

Like test_slow_admin, the admin client speaks Engine.IO long-polling by hand (aiohttp)
so that it can stop reading: every answer waits in its connection's write buffer.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from sioscope.server.admin.backpressure import MAX_ADMIN_BACKLOG

from .apps import PASSWORD, running_server
from .client import polling_admin_login

AUTH = {"username": "admin", "password": PASSWORD}
REQUESTS = 3 * MAX_ADMIN_BACKLOG


@pytest.mark.parametrize(
    ("packet", "answer"),
    [
        ('42/admin,["sioscope:resync"]', "all_sockets"),
        ('42/admin,["join","/nope","r"]', "sioscope:command_error"),
        ('42/admin,["sioscope:subscribe","bad"]', "sioscope:command_error"),
    ],
)
async def test_a_request_flood_from_a_stalled_admin_is_bounded(packet: str, answer: str) -> None:
    async with running_server(server_options={"ping_interval": 30, "ping_timeout": 30}) as srv:
        users = []
        for _ in range(3):  # so that each all_sockets answer is not empty
            user = socketio.AsyncClient(reconnection=False)
            await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
            users.append(user)
        try:
            async with aiohttp.ClientSession() as http:
                url = await polling_admin_login(http, srv.url, AUTH, until="all_sockets")
                (admin_socket,) = srv.io.namespaces["/admin"].sockets.values()
                conn = admin_socket.conn
                # From here on it only writes: thousands of requests in one POST.
                flood = "\x1e".join([packet] * REQUESTS)
                async with http.post(url, data=flood) as resp:
                    assert resp.status == 200
                await asyncio.sleep(0.5)  # every request handled (and answered or not)
                pending = conn.write_buffer
                answers = [p for p in pending if answer in str(p.get("data", ""))]
                assert len(answers) > 0  # it did answer, up to the bound
                assert len(pending) <= MAX_ADMIN_BACKLOG + 10, len(pending)
                assert srv.admin.dropped_events > 0
        finally:
            for user in users:
                await user.disconnect()
