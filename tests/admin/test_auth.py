"""Admin login: Node's rules and strings, type checks before bcrypt, bounded cost."""

from __future__ import annotations

import asyncio
import subprocess
import time

import bcrypt
import pytest

from sioscope.server.admin.auth import (
    INVALID_CREDENTIALS,
    Authenticator,
    AuthFailed,
    InMemoryStore,
    check_auth_option,
)
from tests.conftest import INTEROP_DIR

HASH = bcrypt.hashpw(b"changeit", bcrypt.gensalt(4)).decode()


def _auth(**kw: object) -> Authenticator:
    basic = check_auth_option({"type": "basic", "username": "admin", "password": HASH})
    assert basic is not None
    kw.setdefault("failure_delay", 0.0)
    return Authenticator(basic, InMemoryStore(), **kw)  # type: ignore[arg-type]


def test_auth_option_is_required_and_checked_with_nodes_messages() -> None:
    with pytest.raises(ValueError, match="must be specified or explicitly set to `false`"):
        check_auth_option(None)
    assert check_auth_option(False) is None
    with pytest.raises(ValueError, match="invalid `auth` option"):
        check_auth_option({"type": "digest", "username": "a", "password": HASH})
    with pytest.raises(ValueError, match="valid bcrypt hash"):
        check_auth_option({"type": "basic", "username": "a", "password": "changeit"})
    with pytest.raises(ValueError, match="valid bcrypt hash"):
        check_auth_option({"type": "basic", "username": "a", "password": None})


async def test_good_login_returns_a_session_that_logs_in_again() -> None:
    auth = _auth()
    session = await auth.authenticate({"username": "admin", "password": "changeit"})
    assert isinstance(session, str) and len(session) == 16
    int(session, 16)
    assert await auth.authenticate({"sessionId": session}) is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "admin:changeit",
        [],
        {},
        {"username": "admin"},  # crashes Node's process; here a refusal
        {"username": "admin", "password": None},
        {"username": "admin", "password": 12345},
        {"username": "admin", "password": ["changeit"]},
        {"username": ["admin"], "password": "changeit"},
        {"username": "admin", "password": "wrong"},
        {"username": "root", "password": "changeit"},
        {"username": "admin", "password": "x" * 100_000},
        {"sessionId": "0123456789abcdef"},
        {"sessionId": 42},
        {"sessionId": {"$ne": None}},
    ],
)
async def test_every_bad_login_is_invalid_credentials(payload: object) -> None:
    with pytest.raises(AuthFailed) as err:
        await _auth().authenticate(payload)
    assert str(err.value) == INVALID_CREDENTIALS


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
async def test_hash_prefixes_from_every_generator_verify(prefix: str) -> None:
    hashed = prefix + bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()[4:]
    basic = check_auth_option({"type": "basic", "username": "u", "password": hashed})
    assert basic is not None
    auth = Authenticator(basic, InMemoryStore(), failure_delay=0)
    assert await auth.authenticate({"username": "u", "password": "pw"})


async def test_a_bcryptjs_hash_made_by_node_verifies(node_bin: str) -> None:
    script = "process.stdout.write(require('bcryptjs').hashSync('from-node', 4))"
    hashed = subprocess.run(
        [node_bin, "-e", script],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    basic = check_auth_option({"type": "basic", "username": "u", "password": hashed})
    assert basic is not None
    auth = Authenticator(basic, InMemoryStore(), failure_delay=0)
    assert await auth.authenticate({"username": "u", "password": "from-node"})


async def test_failures_cost_the_caller_time_not_the_loop() -> None:
    auth = _auth(failure_delay=0.2)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    start = time.monotonic()
    results = await asyncio.gather(
        *(auth.authenticate({"username": "admin", "password": f"bad{i}"}) for i in range(4)),
        return_exceptions=True,
    )
    elapsed = time.monotonic() - start
    t.cancel()
    assert all(isinstance(r, AuthFailed) for r in results)
    assert elapsed >= 0.2  # every refusal waited
    assert ticks >= 10  # while the event loop kept running


async def test_queue_overflow_is_refused_immediately() -> None:
    auth = _auth(max_concurrent=1, max_waiting=2, failure_delay=0.0)
    results = await asyncio.gather(
        *(auth.authenticate({"username": "admin", "password": "changeit"}) for _ in range(6)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, AuthFailed)]
    assert len(ok) == 2 and len(refused) == 4


async def test_in_memory_store_is_bounded_and_expires() -> None:
    store = InMemoryStore(max_sessions=2, ttl=0.05)
    for s in ("a", "b", "c"):
        await store.save_session(s)
    assert not await store.does_session_exist("a")  # evicted
    assert await store.does_session_exist("c")
    await asyncio.sleep(0.06)
    assert not await store.does_session_exist("c")  # expired


async def test_in_memory_store_holds_no_session_id_to_compare_against() -> None:
    """A lookup probes digests (timing says nothing about a stored id), and a memory
    dump of the store yields no id that would log in."""
    auth = _auth()
    session = await auth.authenticate({"username": "admin", "password": "changeit"})
    store = auth.store
    assert isinstance(store, InMemoryStore)
    stored = list(store._sessions)
    assert len(stored) == 1 and session not in stored
    assert all(session.encode() not in bytes(k) for k in stored)
    assert await auth.authenticate({"sessionId": session}) is None
    with pytest.raises(AuthFailed):
        await auth.authenticate({"sessionId": session[:-1] + ("0" if session[-1] != "0" else "1")})
