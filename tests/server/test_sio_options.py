"""Server options: validation, engine pass-through, custom path, TLS (handshake.secure)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from sioscope.server import Adapter, Server
from tests.server.sio_support import WAIT, Factory, Recorder, py_client_fixture, serve_fixture  # noqa: F401


def test_bad_options_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="path must start"):
        Server(path="socket.io")
    with pytest.raises(ValueError, match="connect_timeout"):
        Server(connect_timeout=-1)
    io = Server()
    with pytest.raises(TypeError, match="a namespace is a name"):
        io.of(42)  # type: ignore[arg-type]
    assert io.of("custom") is io.of("/custom")
    assert Server(connect_timeout=0).connect_timeout == 45.0  # Node's `|| 45000`


async def test_path_engine_options_and_adapter_factory(serve: Factory, py_client: Any) -> None:
    made: list[Adapter] = []

    class CountingAdapter(Adapter):
        def init(self) -> None:
            made.append(self)

    io, url = await serve(
        path="/custom-path/", ping_interval=0.25, ping_timeout=0.3, adapter=CountingAdapter
    )
    assert io.engine.ping_interval == 0.25 and io.engine.ping_timeout == 0.3
    client = await py_client(url, socketio_path="custom-path", transports=["websocket"])
    assert client.connected
    assert [a.nsp.name for a in made] == ["/"]
    assert isinstance(io.sockets.adapter, CountingAdapter)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


async def test_handshake_secure_under_tls(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    io = Server(ping_interval=1, ping_timeout=1)
    connections = Recorder()
    io.on("connection", connections)
    app = web.Application()
    io.attach(app)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    try:
        await client.connect(f"https://127.0.0.1:{port}", wait_timeout=WAIT)
        ((socket,),) = await connections.wait()
        assert socket.handshake["secure"] is True
        assert client.get_sid("/") == socket.id
    finally:
        await asyncio.wait_for(client.disconnect(), WAIT)
        await asyncio.wait_for(io.close(), WAIT)
        await runner.cleanup()
