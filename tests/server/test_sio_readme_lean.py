"""The README's lean-host example runs as printed: its ``main`` serves python-socketio."""

from __future__ import annotations

import asyncio
import gc
import re
from typing import Any

import pytest

from sioscope.server.engine import httptools
from tests.conftest import ROOT
from tests.server.sio_support import WAIT, Recorder, py_client_fixture  # noqa: F401

pytestmark = pytest.mark.interop


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Without a web framework: the lean host", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_readme_lean_example(py_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def serve_on_a_free_port(engine: Any, host: str, port: int) -> asyncio.Server:
        assert (host, port) == ("127.0.0.1", 3000)  # as printed; the test takes port 0
        listener = await httptools.serve(engine, host, 0)
        listening.set_result(listener.sockets[0].getsockname()[1])
        return listener

    namespace["serve"] = serve_on_a_free_port
    thresholds = gc.get_threshold()
    main = asyncio.create_task(namespace["main"]())
    try:
        port = await asyncio.wait_for(listening, WAIT)
        welcome = Recorder()
        client = await py_client(
            f"http://127.0.0.1:{port}", setup=lambda c: c.on("welcome", welcome)
        )
        assert await welcome.wait() == [(client.get_sid("/"),)]
        await client.disconnect()
    finally:
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)
        gc.unfreeze()
        gc.set_threshold(*thresholds)
