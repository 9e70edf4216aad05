"""Admin login: Node's basic auth (bcrypt hash), sessions, and a cost model for failures.

Node's admin-ui accepts ``{sessionId}`` found in the store, or ``{username, password}``
matching the configured username and bcrypt hash (then it emits ``session`` with a new
id); anything else is ``invalid credentials``. We keep those semantics and strings and
fix what makes Node's version fragile:

- Every field is type-checked before bcrypt sees it. Node crashes its whole process
  when the username is right and ``password`` is missing (bcryptjs throws, the async
  middleware leaves the rejection unhandled); here that is ``invalid credentials``.
- bcrypt runs in a thread, at most ``max_concurrent`` at a time, with at most
  ``max_waiting`` attempts queued; beyond that an attempt is refused at once. An
  attacker therefore gets a bounded share of the server's CPU, never the event loop.
- A failed attempt waits ``failure_delay`` seconds before its refusal (an
  ``asyncio.sleep``: it costs the server a timer, the attacker wall-clock time).
- A wrong username still runs bcrypt against the configured hash, so response time
  does not tell a wrong username from a wrong password; names are compared in
  constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import bcrypt

from sioscope.server.admin import protocol
from sioscope.server.namespace import ConnectionRefused

INVALID_CREDENTIALS = "invalid credentials"
MAX_FIELD_LENGTH = 1024  # bytes; bcrypt itself only reads the first 72 of a password
_BCRYPT_HASH = re.compile(r"^\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")


class Store(Protocol):
    """Where session ids live (Node's ``Store``: ``doesSessionExist`` / ``saveSession``)."""

    async def does_session_exist(self, session_id: str) -> bool: ...

    async def save_session(self, session_id: str) -> None: ...


class InMemoryStore:
    """Session ids in memory, bounded in count and age.

    Node's ``InMemoryStore`` is a ``Set`` that never forgets; a server that logs in
    often would grow forever, so ours keeps at most ``max_sessions`` (oldest evicted)
    for at most ``ttl`` seconds (Node's RedisStore default: one day).

    It keeps the SHA-256 of each id, never the id: a dict probe compares hashes, so the
    time a lookup takes depends on the digest of the guess, which tells an attacker
    nothing about a stored id (a plain ``str`` key would be compared byte by byte).
    """

    def __init__(self, max_sessions: int = 10_000, ttl: float = 86_400.0) -> None:
        self.max_sessions = max_sessions
        self.ttl = ttl
        self._sessions: OrderedDict[bytes, float] = OrderedDict()  # sha256(id) -> saved

    async def does_session_exist(self, session_id: str) -> bool:
        """True while ``session_id`` is known and younger than ``ttl``."""
        key = _digest(session_id)
        saved = self._sessions.get(key)
        if saved is None:
            return False
        if time.monotonic() - saved > self.ttl:
            del self._sessions[key]
            return False
        return True

    async def save_session(self, session_id: str) -> None:
        """Remember ``session_id``, evicting the oldest beyond ``max_sessions``."""
        key = _digest(session_id)
        self._sessions[key] = time.monotonic()
        self._sessions.move_to_end(key)
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).digest()


def check_auth_option(auth: Any) -> BasicAuth | None:
    """Validate ``instrument(auth=...)`` as Node does; None means auth is off.

    Node's error strings are kept. The hash check is stricter than bcryptjs's
    ``getRounds`` (which lets a plaintext password through, after which every login
    fails): a plaintext password is refused here when ``instrument()`` runs.
    """
    if auth is None:
        raise ValueError("the `auth` option must be specified or explicitly set to `false`")
    if auth is False:
        return None
    if not isinstance(auth, dict) or auth.get("type") != "basic":
        raise ValueError("invalid `auth` option, please check the documentation")
    username, password = auth.get("username"), auth.get("password")
    if not isinstance(username, str):
        raise ValueError("invalid `auth` option, please check the documentation")
    if not isinstance(password, str) or not _BCRYPT_HASH.match(password):
        raise ValueError("the `password` field must be a valid bcrypt hash")
    return BasicAuth(username=username, password_hash=password)


@dataclass(frozen=True)
class BasicAuth:
    """The configured admin account: a username and a bcrypt hash."""

    username: str
    password_hash: str


def new_session_id() -> str:
    """Node's ``randomBytes(8).toString("hex")``: 16 hex characters."""
    return secrets.token_hex(8)


def _text_field(auth: dict[str, Any], key: str) -> bytes | None:
    value = auth.get(key)
    if not isinstance(value, str):
        return None
    raw = value.encode("utf-8", "surrogatepass")
    return raw if len(raw) <= MAX_FIELD_LENGTH else None


def _bcrypt_check(password: bytes, hashed: bytes) -> bool:
    # bcrypt 5 refuses passwords over 72 bytes; Node's bcryptjs silently truncates
    # them, so do the same to accept what Node accepts.
    try:
        return bcrypt.checkpw(password[:72], hashed)
    except ValueError:
        return False


class Authenticator:
    """Decides one admin CONNECT: ``await authenticate(auth)`` -> new session id or raise."""

    def __init__(
        self,
        basic: BasicAuth,
        store: Store,
        *,
        failure_delay: float = 0.5,
        max_concurrent: int = 1,
        max_waiting: int = 16,
    ) -> None:
        self.basic = basic
        self.store = store
        self.failure_delay = failure_delay
        # "$2a$", "$2b$" and "$2y$" (PHP, web generators) all verify with bcrypt 5.
        self._hash = basic.password_hash.encode("ascii")
        self._username = basic.username.encode("utf-8", "surrogatepass")
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_waiting = max_waiting
        self._waiting = 0

    async def authenticate(self, auth: Any) -> str | None:
        """Accept (returns a new session id, or None for a session login) or raise.

        Raises :class:`AuthFailed` with Node's exact message for every refusal.
        """
        if not isinstance(auth, dict):
            await self._fail()
        session_id = auth.get("sessionId")
        if (
            isinstance(session_id, str)
            and 0 < len(session_id) <= 128
            and await self.store.does_session_exist(session_id)
        ):
            return None
        username = _text_field(auth, "username")
        password = _text_field(auth, "password")
        if username is None or password is None:
            await self._fail()
        assert username is not None and password is not None
        if self._waiting >= self._max_waiting:
            # Too many attempts queued: refuse without spending CPU (and without the
            # delay, so queued sleepers cannot pile up either).
            raise AuthFailed(INVALID_CREDENTIALS)
        self._waiting += 1
        try:
            async with self._slots:
                ok = await asyncio.get_running_loop().run_in_executor(
                    None, _bcrypt_check, password, self._hash
                )
        finally:
            self._waiting -= 1
        name_ok = hmac.compare_digest(username, self._username)
        if not (ok and name_ok):
            await self._fail()
        session = new_session_id()
        await self.store.save_session(session)
        return session

    async def _fail(self) -> NoReturn:
        if self.failure_delay > 0:
            await asyncio.sleep(self.failure_delay)
        raise AuthFailed(INVALID_CREDENTIALS)


class AuthFailed(Exception):
    """A refused admin login; the message is what the client sees."""


def login_middleware(authenticator: Authenticator) -> Callable[[Any], Awaitable[None]]:
    """The admin namespace's middleware: a refusal is a ``CONNECT_ERROR`` carrying
    Node's message; a password login gets its new session id in a ``session`` event,
    sent from the middleware (before the CONNECT ack), exactly as Node does."""

    async def authenticate(socket: Any) -> None:
        try:
            session = await authenticator.authenticate(socket.handshake.get("auth"))
        except AuthFailed as err:
            raise ConnectionRefused(str(err)) from None
        if session is not None:
            socket.emit(protocol.SESSION, session)

    return authenticate
