"""Driving the Node side of the admin tests: the reference server and the scenario."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from tests.conftest import INTEROP_DIR, start_node_script

START_TIMEOUT = 15.0
SCENARIO_TIMEOUT = 40.0


@contextlib.asynccontextmanager
async def node_server(node_bin: str, bcrypt_hash: str, **env: str) -> AsyncIterator[str]:
    """tests/interop/admin-node-server.js on 127.0.0.1 port 0; yields its base URL."""
    proc, first = await start_node_script(
        node_bin,
        "admin-node-server.js",
        timeout=START_TIMEOUT,
        env={**os.environ, "ADMIN_HASH": bcrypt_hash, **env},
    )
    try:
        yield f"http://127.0.0.1:{first['port']}"
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), START_TIMEOUT)


async def run_node_json(node_bin: str, *args: str, timeout: float = SCENARIO_TIMEOUT) -> list[Any]:
    """Run a Node script from tests/interop; its stdout JSON lines, or fail with them."""
    proc = await asyncio.create_subprocess_exec(
        node_bin,
        *args,
        cwd=INTEROP_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    if proc.returncode != 0:
        raise AssertionError(
            f"{args[0]} failed ({proc.returncode}):\n{out.decode()[-4000:]}\n{err.decode()[-2000:]}"
        )
    return lines


async def run_scenario(node_bin: str, url: str, password: str) -> list[dict[str, Any]]:
    """The recorded admin payloads of tests/interop/admin-scenario.js against ``url``."""
    lines = await run_node_json(node_bin, "admin-scenario.js", url, "admin", password)
    assert lines and lines[-1] == {"done": True}, lines[-3:]
    return lines[:-1]
