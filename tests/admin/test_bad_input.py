"""Bad input at the admin namespace: each a clear refusal, the server unharmed.

Real peers only: python-socketio clients for the admin and the user sides.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from .apps import PASSWORD, running_server
from .client import AdminClient

GOOD = {"username": "admin", "password": PASSWORD}

BAD_LOGINS: list[Any] = [
    None,  # no auth payload at all
    {},
    {"username": "admin"},  # the payload that crashes Node's process
    {"username": "admin", "password": None},
    {"username": "admin", "password": 1234},
    {"username": "admin", "password": {"$ne": ""}},
    {"username": ["admin"], "password": PASSWORD},
    {"username": "admin", "password": "wrong"},
    {"username": "root", "password": PASSWORD},
    {"username": "admin", "password": "x" * 50_000},
    {"sessionId": "0123456789abcdef"},
    {"sessionId": ["0123456789abcdef"]},
]


async def _user(url: str) -> socketio.AsyncClient:
    user = socketio.AsyncClient(reconnection=False)
    await asyncio.wait_for(user.connect(url, transports=["websocket"]), 10)
    return user


async def test_bad_credentials_are_refused_and_the_server_keeps_serving() -> None:
    async with running_server() as srv:
        for auth in BAD_LOGINS:
            admin = AdminClient()
            await admin.connect(srv.url, auth, expect_ok=False)
            assert admin.connect_error == {"message": "invalid credentials"}, auth
            assert not admin.named("session")
            await admin.close()
        # Unharmed: a good login still works, and its session id logs in again.
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        (session,) = await admin.wait_for("session")
        await admin.close()
        again = AdminClient()
        await again.connect(srv.url, {"sessionId": session})
        await again.wait_for("config")
        assert not again.named("session")  # a session login gets no new session
        await again.close()


def test_auth_must_be_given_or_false() -> None:
    from sioscope.server import Server
    from sioscope.server.admin import instrument

    with pytest.raises(ValueError, match="must be specified or explicitly set to `false`"):
        instrument(Server())
    with pytest.raises(ValueError, match="valid bcrypt hash"):
        instrument(Server(), auth={"type": "basic", "username": "a", "password": "plaintext"})


async def test_bad_commands_are_refused_without_side_effects() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("all_sockets")
        user = await _user(srv.url)
        sid = user.get_sid("/")
        try:
            await admin.wait_for("socket_connected", lambda s, ts: s["id"] == sid)
            rooms_before = set(srv.io.namespaces["/"].sockets[sid].rooms)
            bad: list[tuple[str, tuple[Any, ...], str]] = [
                ("join", ("/nope", "r", sid), "unknown namespace '/nope'"),
                ("_disconnect", ("/ghost", True, sid), "unknown namespace"),
                ("emit", ("/admin", None, "x"), "unknown namespace '/admin'"),
                ("join", ("/", "r", ""), "empty filter"),
                ("leave", ("/", "lobby", []), "empty filter"),
                ("_disconnect", ("/", False, ""), "empty filter"),
                ("join", (), "missing namespace"),
                ("join", ("/", "x" * 5000, sid), "longer than"),
                ("join", ("/", "r", {"all": True}), "filter must be a room name"),
                ("join", ("/", "r", ["a"] * 500), "more than 100 rooms"),
                ("_disconnect", ("/", "yes", sid), "close must be a boolean"),
                ("emit", ("/", sid, "disconnect"), "reserved event name"),
                ("emit", ("/", sid, "ev", *range(100)), "more than 64 arguments"),
                ("sioscope:subscribe", ("yes",), "expected"),
            ]
            for name, args, message in bad:
                mark = len(admin.events)
                await admin.command(name, *args)
                (err,) = await admin.wait_for("sioscope:command_error", since=mark)
                assert err["command"] == name and message in err["message"], (name, err)
            assert set(srv.io.namespaces) == {"/", "/admin"}  # no namespace was created
            assert srv.io.namespaces["/"].sockets[sid].rooms == rooms_before
            assert user.connected
            # Unharmed: a good command still works.
            mark = len(admin.events)
            await admin.command("join", "/", "ok-room", sid)
            await admin.wait_for("room_joined", lambda n, r, i, t: r == "ok-room", since=mark)
        finally:
            await user.disconnect()
            await admin.close()


async def test_missing_filter_keeps_nodes_whole_namespace_semantics() -> None:
    async with running_server() as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("all_sockets")
        users = [await _user(srv.url) for _ in range(2)]
        try:
            sids = {u.get_sid("/") for u in users}
            mark = len(admin.events)
            await admin.command("join", "/", "everyone")  # no filter: the whole namespace
            for s in sids:
                await admin.wait_for(
                    "room_joined", lambda n, r, i, t, s=s: (r, i) == ("everyone", s), since=mark
                )
            await admin.command("_disconnect", "/", False, None)  # null filter: everyone
            for s in sids:
                await admin.wait_for(
                    "socket_disconnected", lambda n, i, *a, s=s: i == s, since=mark
                )
        finally:
            for u in users:
                await u.disconnect()
            await admin.close()


async def test_an_oversized_command_costs_only_its_own_connection() -> None:
    async with running_server(server_options={"max_http_buffer_size": 100_000}) as srv:
        admin = AdminClient()
        await admin.connect(srv.url, GOOD)
        await admin.wait_for("all_sockets")
        await admin.command("emit", "/", None, "big", "x" * 200_000)
        for _ in range(100):  # bounded: the engine closes that connection
            if not admin.sio.connected:
                break
            await asyncio.sleep(0.05)
        assert not admin.sio.connected
        assert set(srv.io.namespaces) == {"/", "/admin"}
        again = AdminClient()  # unharmed
        await again.connect(srv.url, GOOD)
        await again.wait_for("all_sockets")
        await again.close()
        await admin.close()
