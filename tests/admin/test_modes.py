"""Modes and options: readonly, production, auth=False, header redaction, self-exclusion."""

from __future__ import annotations

import asyncio

import socketio

from .apps import PASSWORD, running_server
from .client import AdminClient

GOOD = {"username": "admin", "password": PASSWORD}


async def _sync(admin: AdminClient) -> None:
    """Commands of one connection run in order: a refused one answers, so every command
    sent before it has been handled once its answer arrives."""
    mark = len(admin.events)
    await admin.command("sioscope:subscribe", "sync")
    await admin.wait_for("sioscope:command_error", since=mark)


async def test_readonly_advertises_and_registers_no_command() -> None:
    async with running_server(readonly=True) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (config,) = await admin.wait_for("config")
        assert config["supportedFeatures"] == [
            "AGGREGATED_EVENTS",
            "ALL_EVENTS",
            "X_SIOSCOPE_PACKETS",
            "X_SIOSCOPE_DIAGNOSTICS",
        ]
        user = socketio.AsyncClient(reconnection=False)
        await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
        try:
            sid = user.get_sid("/")
            await admin.command("join", "/", "nope", sid)
            await admin.command("_disconnect", "/", True, sid)
            await _sync(admin)
            assert user.connected
            assert "nope" not in srv.io.namespaces["/"].sockets[sid].rooms
        finally:
            await user.disconnect()
            await admin.close()


async def test_production_sends_only_config_and_stats() -> None:
    async with running_server(mode="production", stats_interval=0.1) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (config,) = await admin.wait_for("config")
        assert "ALL_EVENTS" not in config["supportedFeatures"]
        assert "EMIT" in config["supportedFeatures"]  # Node keeps commands in production
        user = socketio.AsyncClient(reconnection=False)
        await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
        try:
            await user.emit("hello", "x")
            await user.emit("join", "vip")
            mark = len(admin.events)
            (stats,) = await admin.wait_for(
                "server_stats",
                lambda s: any(n["name"] == "/" and n["socketsCount"] == 1 for n in s["namespaces"]),
                since=mark,
            )
            assert stats["clientsCount"] == 1  # the user; the admin connection is not counted
            kinds = {e["type"] for e in stats["aggregatedEvents"]}
            await admin.wait_for("server_stats", since=len(admin.events))
            seen = {ev for ev, _ in admin.events}
            assert seen <= {"session", "config", "server_stats"}, seen
            assert kinds <= {"rawConnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"}
        finally:
            await user.disconnect()
            await admin.close()


async def test_auth_false_admits_anyone() -> None:
    async with running_server(auth=False) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, None)
        await admin.wait_for("all_sockets")
        assert not admin.named("session")
        await admin.close()


async def test_headers_are_redacted_unless_asked_and_admin_never_listed() -> None:
    headers = {
        "Cookie": "session=secret",
        "Authorization": "Bearer secret",
        "Proxy-Authorization": "Basic p",
        "X-Trace": "t1",
    }
    for redact, expect in ((None, "[redacted]"), ((), "session=secret")):
        kw = {} if redact is None else {"redact_headers": redact}
        async with running_server(stats_interval=0.1, **kw) as srv:
            # python-engineio moves a Cookie header into aiohttp's jar, which drops
            # cookies for an IP host: pass it as a WebSocket option so it is sent.
            user = socketio.AsyncClient(
                reconnection=False, websocket_extra_options={"headers": headers}
            )
            await asyncio.wait_for(user.connect(srv.url, transports=["websocket"]), 10)
            admin = AdminClient()
            await admin.connect(srv.url, GOOD)
            try:
                (sockets,) = await admin.wait_for("all_sockets")
                assert [s["nsp"] for s in sockets] == ["/"]  # the admin socket is not listed
                h = sockets[0]["handshake"]["headers"]
                assert h["x-trace"] == "t1"
                assert h["authorization"] == ("[redacted]" if redact is None else "Bearer secret")
                assert h["proxy-authorization"] == ("[redacted]" if redact is None else "Basic p")
                assert h["cookie"] == expect
                (stats,) = await admin.wait_for("server_stats")
                assert [n["name"] for n in stats["namespaces"]] == ["/"]
            finally:
                await user.disconnect()
                await admin.close()


async def test_later_namespaces_polling_counts_and_close_true() -> None:
    async with running_server(stats_interval=0.1) as srv:
        chat = srv.io.of("/chat")  # created after instrument(): hooked via new_namespace
        chat.on("connection", lambda socket: socket.join("room-c"))
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("all_sockets")
        user = socketio.AsyncClient(reconnection=False)
        await asyncio.wait_for(
            user.connect(srv.url, namespaces=["/", "/chat"], transports=["polling"]), 10
        )
        try:
            chat_sid = user.get_sid("/chat")
            (sock, _ts) = await admin.wait_for("socket_connected", lambda s, t: s["nsp"] == "/chat")
            assert sock["id"] == chat_sid and sock["transport"] == "polling"
            await admin.wait_for("room_joined", lambda n, r, i, t: (n, r) == ("/chat", "room-c"))
            mark = len(admin.events)
            (stats,) = await admin.wait_for("server_stats", since=mark)
            assert stats["pollingClientsCount"] == 1 and stats["clientsCount"] == 1
            assert {"name": "/chat", "socketsCount": 1} in stats["namespaces"]
            # close=true closes the whole connection: both namespaces' sockets go.
            await admin.command("_disconnect", "/chat", True, chat_sid)
            gone = [
                await admin.wait_for(
                    "socket_disconnected", lambda n, i, *a, s=s: i == s, since=mark
                )
                for s in (chat_sid, user.get_sid("/"))
            ]
            assert all(g[2] == "server namespace disconnect" for g in gone), gone
        finally:
            await user.disconnect()
            await admin.close()


async def test_io_close_stops_the_admin_timers() -> None:
    async with running_server(stats_interval=0.05) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, {**GOOD, "sioscope": {"packets": True}})
        await admin.wait_for("server_stats")
        tasks = [srv.admin.stats_task, srv.admin.flush_task]
        assert all(t is not None and not t.done() for t in tasks)
        await srv.io.close()  # only io.close(): nobody calls admin.close()
        await asyncio.sleep(0.2)
        assert all(t.done() for t in tasks)
        assert srv.admin.stats_task is None
        await admin.close()
