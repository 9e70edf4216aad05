"""sioscope:emit_ack: an emit that tells the admin client what its targets answered."""

from __future__ import annotations

import asyncio

import socketio

from sioscope.server.admin import protocol

from .apps import PASSWORD, running_server
from .client import ADMIN, AdminClient

GOOD = {"username": "admin", "password": PASSWORD}


async def test_emit_ack_replies_with_the_targets_answers_or_says_it_timed_out() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (config,) = await admin.wait_for("config")
        assert protocol.EMIT_ACK_FEATURE in config["supportedFeatures"]
        polite = socketio.AsyncClient(reconnection=False)
        slow_client = socketio.AsyncClient(reconnection=False)

        @polite.on("ping?")
        async def answer(*args: object) -> list[object]:
            return ["pong", *args]

        @slow_client.on("ping?")
        async def slow(*args: object) -> str:
            # python-socketio acks every event that asks (None when the handler returns
            # nothing), so "no answer in time" is an answer that comes too late
            await asyncio.sleep(1.0)
            return "late"

        for client in (polite, slow_client):
            await asyncio.wait_for(client.connect(srv.url, transports=["websocket"]), 10)
        try:
            call = admin.sio.call
            reply = await call(
                protocol.CMD_EMIT_ACK,
                ("/", polite.get_sid("/"), 2000, "ping?", 1, {"x": True}),
                namespace=ADMIN,
                timeout=5,
            )
            # a handler's return value is its ack's one argument (a tuple would be
            # several; each target's first ack argument is its response, as in Node)
            assert reply == {"responses": [["pong", 1, {"x": True}]], "timedOut": False}

            reply = await call(
                protocol.CMD_EMIT_ACK,
                ("/", slow_client.get_sid("/"), 300, "ping?"),
                namespace=ADMIN,
                timeout=5,
            )
            assert reply == {"responses": [], "timedOut": True}

            reply = await call(
                protocol.CMD_EMIT_ACK, ("/", None, 300, "ping?"), namespace=ADMIN, timeout=5
            )
            assert reply["responses"] == [] and "filter" in reply["error"]
            reply = await call(
                protocol.CMD_EMIT_ACK, ("/", "x", 0, "ping?"), namespace=ADMIN, timeout=5
            )
            assert "timeout_ms" in reply["error"]
        finally:
            for client in (polite, slow_client):
                await client.disconnect()
            await admin.close()


async def test_readonly_offers_no_emit_ack() -> None:
    async with running_server(readonly=True) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (config,) = await admin.wait_for("config")
        assert protocol.EMIT_ACK_FEATURE not in config["supportedFeatures"]
        await admin.close()
