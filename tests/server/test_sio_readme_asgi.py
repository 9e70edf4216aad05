"""The README's FastAPI quick start runs as written: saved as ``chat_app.py`` and started
with ``uvicorn chat_app:app``, then driven by python-socketio clients and an admin client."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.admin.client import AdminClient
from tests.asgi_hosts import free_port
from tests.conftest import ROOT
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "chat_app:app", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
