"""Real ASGI servers on a free loopback port, in the test's own event loop.

``serve_asgi(app, host)`` runs ``app`` on uvicorn (httptools + websockets, or h11 +
wsproto) or hypercorn, on a socket bound to 127.0.0.1:0 before the server starts (no
port race), and yields its base URL. Lifespan runs as the host runs it. On exit the
server shuts down with a short grace period. granian, a Rust server, runs as its own
process: ``granian_process``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.conftest import listening_process

ROOT = Path(__file__).resolve().parent.parent

UVICORN = "uvicorn"  # httptools + websockets (sans-I/O): what `uvicorn app:app` picks
UVICORN_H11 = "uvicorn-h11"  # h11 + wsproto
UVICORN_LEGACY_WS = "uvicorn-legacy-ws"  # httptools + websockets' legacy (asyncio) protocol
HYPERCORN = "hypercorn"
UVICORNS = (UVICORN, UVICORN_H11, UVICORN_LEGACY_WS)

_UVICORN_WS = {
    UVICORN: "websockets-sansio",
    UVICORN_H11: "wsproto",
    UVICORN_LEGACY_WS: "websockets",
}


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve_asgi(
    app: Any,
    host: str = UVICORN,
    *,
    per_message_deflate: bool = False,
    tls: tuple[str, str] | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host`` at a free loopback port: yields ``http://127.0.0.1:<port>``.

    ``per_message_deflate``: whether the server negotiates WebSocket compression (an
    ASGI server's option, not the app's; off as in Node's default). ``tls``: (certfile,
    keyfile) to serve HTTPS (uvicorn only); the URL is then ``https://``."""
    sock = _bound_socket()
    port = sock.getsockname()[1]
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    if host in UVICORNS:
        async with _uvicorn(app, sock, host, per_message_deflate, tls):
            yield url
    elif host == HYPERCORN and tls is None:
        async with _hypercorn(app, sock, per_message_deflate):
            yield url
    else:
        sock.close()
        raise ValueError(f"unknown ASGI host {host!r}")


@asynccontextmanager
async def _uvicorn(
    app: Any,
    sock: socket.socket,
    host: str,
    per_message_deflate: bool,
    tls: tuple[str, str] | None = None,
) -> AsyncIterator[None]:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
            yield

    config = uvicorn.Config(
        app,
        http="h11" if host == UVICORN_H11 else "httptools",
        ws=_UVICORN_WS[host],
        lifespan="on",
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # the peer address as the socket gives it, as aiohttp
        ws_per_message_deflate=per_message_deflate,
        ws_ping_interval=None,  # Engine.IO has its own heartbeat
        timeout_graceful_shutdown=1,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped during startup")
                await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 10)
        finally:
            sock.close()


@asynccontextmanager
async def _hypercorn(
    app: Any, sock: socket.socket, per_message_deflate: bool
) -> AsyncIterator[None]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket
    config.loglevel = "WARNING"
    config.graceful_timeout = 1
    config.websocket_ping_interval = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        await _wait_listening(port, task)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _wait_listening(port: int, task: asyncio.Task[Any]) -> None:
    """Until an HTTP request on ``port`` gets any answer (the server is up)."""
    async with asyncio.timeout(10):
        while True:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during startup")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.write(b"GET /__ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            line = await reader.readline()
            writer.close()
            if line.startswith(b"HTTP/"):
                return
            await asyncio.sleep(0.02)


@contextlib.contextmanager
def granian_process(target: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``granian --interface asgi target`` on 127.0.0.1:``port`` from the project root,
    until it listens; stopped on exit."""
    with listening_process(
        [
            *(sys.executable, "-m", "granian", "--interface", "asgi"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            *("--log-level", "warning"),
            target,
        ],
        port=port,
        cwd=ROOT,
        timeout=15,
        name="granian",
    ) as proc:
        yield proc


def self_signed_cert(folder: Path) -> tuple[str, str] | None:
    """A throwaway certificate for 127.0.0.1 made by the ``openssl`` binary: (certfile,
    keyfile), or ``None`` when openssl is not installed."""
    import shutil

    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return str(cert), str(key)
