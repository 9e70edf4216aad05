"""``sioscope:diagnostics`` end to end (docs/admin-extension.md, Diagnostics): a real
server, python-socketio clients, and raw HTTP requests the engine refuses."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio

from .apps import PASSWORD, running_server
from .client import AdminClient

GOOD = {"username": "admin", "password": PASSWORD}
UA = "diagnostics-test/1.0"


def _all(admin: AdminClient, key: str) -> list[Any]:
    return [x for (msg,) in admin.named("sioscope:diagnostics") for x in msg[key]]


async def test_heartbeats_acks_refusals_disconnects_and_loop_lag() -> None:
    async with running_server(
        server_options={"ping_interval": 0.2, "ping_timeout": 5},
        ack_timeout=0.5,
        diagnostics_interval=0.3,
    ) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (config,) = await admin.wait_for("config")
        assert "X_SIOSCOPE_DIAGNOSTICS" in config["supportedFeatures"]
        await admin.command("sioscope:subscribe", {"diagnostics": True})
        (first,) = await admin.wait_for("sioscope:diagnostics")
        assert first["snapshot"] is True and first["exchanges"] == []

        user = socketio.AsyncClient(reconnection=False)
        asked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        user.on("ask", lambda n: n + 1)
        await user.connect(srv.url, transports=["websocket"], headers={"User-Agent": UA})
        cid = user.eio.sid[:12]
        try:
            # client -> server, answered (the app's hello acks "ok")
            await user.emit("hello", "x", callback=lambda *r: asked.set_result(r))
            assert await asyncio.wait_for(asked, 5) == ("ok",)
            # client -> server, never answered: no handler for it
            await user.emit("nobody-listens", 1, callback=lambda *r: None)
            # server -> client, answered by the client's handler
            (sock,) = srv.io.of("/").sockets.values()
            reply = await sock.timeout(5).emit_with_ack("ask", 41)
            assert reply == 42
            await admin.wait_for(
                "sioscope:diagnostics",
                lambda m: any(h[0] == cid for h in m["heartbeats"]),
            )
            await admin.wait_for(
                "sioscope:diagnostics",
                lambda m: any(e[5] == "nobody-listens" for e in m["exchanges"]),
            )
            sock.disconnect()  # "server namespace disconnect"
        finally:
            await user.disconnect()

        exchanges = [e for e in _all(admin, "exchanges") if e[1] == cid]
        by_event = {e[5]: e for e in exchanges}
        assert by_event["hello"][2] == "in" and by_event["hello"][3] == "/"
        assert isinstance(by_event["hello"][6], int) and by_event["hello"][6] >= 0
        assert by_event["ask"][2] == "out" and isinstance(by_event["ask"][6], int)
        assert by_event["nobody-listens"][2] == "in" and by_event["nobody-listens"][6] is None
        beats = [h for h in _all(admin, "heartbeats") if h[0] == cid]
        last, p50, p99, n = beats[-1][1:]
        assert n >= 1 and 0 <= p50 <= p99 < 5000 and last >= 0

        # Refusals: one of each kind, with address and user agent.
        async with aiohttp.ClientSession(headers={"User-Agent": UA}) as http:
            url = f"{srv.url}/socket.io/?EIO=4&transport=carrier-pigeon"
            async with http.get(url) as resp:
                assert resp.status == 400
        bad = AdminClient()
        await bad.connect(srv.url, {"username": "admin", "password": "nope"}, expect_ok=False)
        stray = socketio.AsyncClient(reconnection=False)
        try:
            await stray.connect(srv.url, namespaces=["/nope"], transports=["websocket"])
        except socketio.exceptions.ConnectionError:
            pass
        finally:
            await stray.disconnect()
        await admin.wait_for(
            "sioscope:diagnostics",
            lambda m: (
                {r["kind"] for r in m["refusals"]} & {"namespace"}
                or {"engine", "middleware", "namespace"}
                <= {r["kind"] for r in _all(admin, "refusals")}
            ),
        )
        await asyncio.sleep(0.4)
        refusals = {r["kind"]: r for r in _all(admin, "refusals")}
        engine = refusals["engine"]
        assert engine["code"] == 0 and engine["message"] == "Transport unknown"
        assert engine["address"] == "127.0.0.1" and engine["userAgent"] == UA
        middleware = refusals["middleware"]
        assert middleware["nsp"] == "/admin" and middleware["message"] == "invalid credentials"
        namespace = refusals["namespace"]
        assert namespace["nsp"] == "/nope" and namespace["message"] == "Invalid namespace"
        assert namespace["address"] == "127.0.0.1" and len(namespace["clientId"]) == 12

        reasons = {c["reason"] for c in _all(admin, "disconnects")}
        assert "server namespace disconnect" in reasons
        lags = [m["loopLag"] for (m,) in admin.named("sioscope:diagnostics") if m["loopLag"]]
        assert lags and all(0 <= lag["p50"] <= lag["max"] for lag in lags)

        # A new subscriber starts from the recent refusals and the live heartbeats.
        late = AdminClient()
        await late.connect(srv.url, {**GOOD, "sioscope": {"diagnostics": True}})
        (snap,) = await late.wait_for("sioscope:diagnostics")
        assert snap["snapshot"] is True
        assert {"engine", "middleware", "namespace"} <= {r["kind"] for r in snap["refusals"]}
        await late.close()
        await admin.close()


async def test_subscribe_refusals_and_the_feature_off() -> None:
    async with running_server(diagnostics=False) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, {**GOOD, "sioscope": {"diagnostics": True}})
        (config,) = await admin.wait_for("config")
        assert "X_SIOSCOPE_DIAGNOSTICS" not in config["supportedFeatures"]
        await admin.command("sioscope:subscribe", {"diagnostics": True})
        (err,) = await admin.wait_for("sioscope:command_error")
        assert err == {
            "command": "sioscope:subscribe",
            "message": 'expected {"packets": true|false}',
        }
        await asyncio.sleep(0.3)
        assert not admin.named("sioscope:diagnostics")
        assert srv.admin.diagnostics is None
        await admin.close()
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.command("sioscope:subscribe", {"diagnostics": "yes"})
        (err,) = await admin.wait_for("sioscope:command_error")
        assert "diagnostics" in err["message"]
        await admin.command("sioscope:subscribe", {"diagnostics": True})
        await admin.wait_for("sioscope:diagnostics")
        assert srv.admin.diagnostics is not None and srv.admin.diagnostics.task is not None
        await admin.command("sioscope:subscribe", {"diagnostics": False})
        for _ in range(50):
            if srv.admin.diagnostics.task is None:
                break
            await asyncio.sleep(0.05)
        assert srv.admin.diagnostics.task is None  # rule 3: no subscriber, no task
        await admin.close()
