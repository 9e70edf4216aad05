"""Fixtures for the Socket.IO server tests: a real aiohttp server on 127.0.0.1:0.

Test modules import ``serve_fixture`` (the fixture named ``serve``). This is not a
``conftest.py`` because ``tests/server`` cannot be a package named ``server`` (it would
shadow the real one) and a second top-level ``conftest`` module confuses others' imports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from server import Server

WAIT = 5.0
"""Upper bound of any single wait in these tests (seconds)."""

Factory = Callable[..., Awaitable[tuple[Server, str]]]


@pytest.fixture(name="serve")
async def serve_fixture() -> AsyncIterator[Factory]:
    """``await serve(**server_options)`` -> (io, "http://127.0.0.1:<port>")."""
    runners: list[tuple[Server, web.AppRunner]] = []

    async def start(setup: Callable[[Server], Any] | None = None, **opts: Any
                    ) -> tuple[Server, str]:
        opts.setdefault("ping_interval", 0.5)
        opts.setdefault("ping_timeout", 0.5)
        io = Server(**opts)
        if setup is not None:
            setup(io)
        app = web.Application()
        io.attach(app)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append((io, runner))
        return io, f"http://127.0.0.1:{port}"

    yield start
    for io, runner in reversed(runners):
        try:
            await asyncio.wait_for(io.close(), WAIT)
        finally:
            await asyncio.wait_for(runner.cleanup(), WAIT)


async def wait_for(fut: Awaitable[Any], timeout: float = WAIT) -> Any:
    """Await with the suite's bound."""
    return await asyncio.wait_for(fut, timeout)
