"""The README's FastAPI quick start runs as written: saved as ``chat_app.py`` and started
with ``uvicorn chat_app:app``, then driven by python-socketio clients and an admin client."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.admin.client import AdminClient
from tests.conftest import ROOT, free_port, listening_process
from tests.server.sio_support import WAIT, Recorder, py_client_fixture  # noqa: F401

pytestmark = pytest.mark.interop


def readme_fastapi_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## In a FastAPI (ASGI) app", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.fixture
def chat_app(tmp_path: Path) -> Iterator[str]:
    """``uvicorn chat_app:app`` on a free port, from a folder holding only the README's
    example; yields its URL."""
    (tmp_path / "chat_app.py").write_text(readme_fastapi_example())
    port = free_port()
    with listening_process(
        [sys.executable, "-m", "uvicorn", "chat_app:app", "--port", str(port)],
        port=port,
        cwd=tmp_path,
        timeout=20,
        name="uvicorn",
    ):
        yield f"http://127.0.0.1:{port}"


async def test_readme_fastapi_example(chat_app: str, py_client: Any) -> None:
    url = chat_app
    inbox_a, inbox_b = Recorder(), Recorder()
    a = await py_client(url, auth={"name": "alice"}, setup=lambda c: c.on("*", inbox_a))
    b = await py_client(url, auth={"name": "bob"}, setup=lambda c: c.on("*", inbox_b))
    await inbox_a.wait_until(lambda calls: ("joined", "bob") in calls)
    assert await a.call("chat", "hi", timeout=WAIT) == "delivered"
    await b.emit("chat", "yo")
    for inbox in (inbox_a, inbox_b):
        await inbox.wait_until(lambda calls: ("chat", "alice", "hi") in calls)
        await inbox.wait_until(lambda calls: ("chat", "bob", "yo") in calls)
    async with aiohttp.ClientSession() as http, http.get(f"{url}/health") as resp:
        assert await resp.json() == {"sockets": 2}

    refused = AdminClient()
    await refused.connect(url, {"username": "admin", "password": "nope"}, expect_ok=False)
    admin = AdminClient()
    await admin.connect(url, {"username": "admin", "password": "changeit"})
    try:
        (sockets,) = await admin.wait_for("all_sockets")
        assert sorted(s["data"]["name"] for s in sockets) == ["alice", "bob"]
    finally:
        await admin.close()
