"""The admin namespace and the inspector against an ASGI-hosted server: the demo's
server as ``io.asgi_app()`` on uvicorn (``sioscope demo --host-driver asgi``), watched by
the inspector's own client, the packet stream extension included."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import pytest

from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.demo import NAMES, Demo
from sioscope.inspector.model import Model
from tests.inspector.conftest import STARTUP_TIMEOUT, wait_for

pytestmark = pytest.mark.interop


async def test_inspector_watches_the_demo_served_by_uvicorn() -> None:
    demo = Demo(clients=4, seed=3, host="asgi")
    await asyncio.wait_for(demo.start(), STARTUP_TIMEOUT)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{demo.url}/socket.io/?EIO=4&transport=polling") as resp:
                assert resp.headers["server"] == "uvicorn"  # really the ASGI host
                assert (await resp.text()).startswith('0{"sid":')
        model = Model()
        client = AdminClient(ClientOptions(demo.url), model)
        try:
            await client.connect()
            client.start()
            await wait_for(lambda: len(model.sockets) >= 4 and model.packets.total > 0)
            names = [s.data["user"]["name"] for s in model.sockets.values() if s.nsp == "/"]
            assert names and all(name.rstrip("0123456789") in NAMES for name in names)
        finally:
            await client.close()
        assert model.gaps == 0
    finally:
        await demo.stop()


def test_demo_host_must_be_known() -> None:
    with pytest.raises(ValueError, match="host must be one of aiohttp, asgi"):
        Demo(host="tornado")


def test_host_driver_asgi_without_uvicorn_is_one_line() -> None:
    # uvicorn is installed here: hide it from the lookup the CLI makes before starting
    script = (
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'uvicorn' else real(n, *a)\n"
        "from sioscope.inspector.cli import main\n"
        "raise SystemExit(main(['demo', '--host-driver', 'asgi']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == (
        "sioscope: --host-driver asgi needs uvicorn: pip install 'sioscope[asgi]'\n"
    )
