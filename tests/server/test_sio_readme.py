"""The README's Socket.IO server example runs as printed, against python-socketio."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import socketio

from tests.conftest import ROOT
from tests.server.sio_support import WAIT, Recorder, listen, py_client_fixture  # noqa: F401

pytestmark = pytest.mark.interop


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A Socket.IO server in Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_readme_example(py_client: Any) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    io = namespace["io"]
    runner, url = await listen(io)
    try:
        refused = Recorder()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await py_client(
                url, auth={"token": "nope"}, setup=lambda c: c.on("connect_error", refused)
            )
        assert await refused.wait() == [({"message": "not authorized", "data": {"code": 401}},)]

        inbox_a, inbox_b = Recorder(), Recorder()
        a = await py_client(
            url, auth={"token": "123", "name": "alice"}, setup=lambda c: c.on("*", inbox_a)
        )
        b = await py_client(
            url,
            auth={"token": "123", "name": "bob"},
            setup=lambda c: (c.on("*", inbox_b), c.on("question", lambda q: 42)),
        )
        await inbox_a.wait_until(lambda calls: ("welcome", a.get_sid("/")) in calls)
        assert await a.call("chat", "hi", timeout=WAIT) == "delivered"
        await inbox_b.wait_until(lambda calls: ("chat", "alice", "hi") in calls)
        await a.emit("admin only")
        await inbox_a.wait_until(lambda calls: ("refused", "unauthorized event") in calls)
        await b.emit("ask everyone", "meaning?")
        # alice's catch-all handler answers nothing, so her ack carries no argument
        calls = await inbox_b.wait_until(lambda calls: any(c[0] == "answers" for c in calls))
        assert sorted(next(c[1] for c in calls if c[0] == "answers"), key=str) == [42, None]
        b_id = b.get_sid("/")
        await b.disconnect()
        await inbox_a.wait_until(lambda calls: ("user left", b_id) in calls)
    finally:
        await asyncio.wait_for(io.close(), WAIT)
        await runner.cleanup()
