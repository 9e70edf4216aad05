"""`sioscope inspect`: whatever the user gets wrong ends in one clear line, not a traceback."""

from __future__ import annotations

import asyncio
import sys

import pytest

from sioscope.inspector.client import AdminClient, AdminConnectError, AuthRefused, ClientOptions
from sioscope.inspector.model import Model
from tests.conftest import free_port
from tests.inspector.conftest import NodeAdminServer, wait_for


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "inspector",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()  # a CLI that hangs must not outlive its test
        await proc.wait()
        raise AssertionError(f"sioscope {' '.join(args)} did not exit within 30 s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("args", "status", "expected"),
    [
        (("inspect", "ftp://example"), 2, "bad URL 'ftp://example'"),
        (("inspect", "http://127.0.0.1:notaport"), 2, "bad port"),
        (("inspect", "http://[::1"), 2, "bad URL 'http://[::1': Invalid IPv6 URL"),
        (("demo", "--clients", "-3"), 2, "--clients must be between 0 and 1000"),
        (("demo", "--clients", "100000"), 2, "--clients must be between 0 and 1000"),
        (("inspect", "http://127.0.0.1:PORT", "--username", "admin"), 2, "--password-env"),
        (
            (
                "inspect",
                "http://127.0.0.1:PORT",
                "--username",
                "a",
                "--password-env",
                "SIOSCOPE_NO",
            ),
            2,
            "environment variable SIOSCOPE_NO is not set",
        ),
        (("inspect", "http://127.0.0.1:PORT"), 1, "cannot reach http://127.0.0.1:PORT"),
    ],
)
async def test_one_clear_line(args: tuple[str, ...], status: int, expected: str) -> None:
    port = str(free_port())  # nothing listens there
    args = tuple(a.replace("PORT", port) for a in args)
    code, _out, err = await run_cli(*args)
    assert code == status
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected.replace("PORT", port) in err


@pytest.mark.interop
async def test_refused_login_on_node(node_admin: NodeAdminServer) -> None:
    import os

    env = dict(os.environ, SIO_PW="wrong")
    code, _, err = await run_cli(
        "inspect", node_admin.url, "--username", "admin", "--password-env", "SIO_PW", env=env
    )
    assert code == 1
    assert err.strip() == "sioscope: /admin refused the connection: invalid credentials"


@pytest.mark.interop
async def test_client_reconnects_with_backoff_and_reports_state(node_bin: str) -> None:
    from tests.inspector.conftest import start_node_admin, stop_node_admin

    server = await start_node_admin(node_bin, "--clients", "1")
    model = Model()
    client = AdminClient(
        ClientOptions(server.url, username="admin", password="s3cret", websocket_only=True),
        model,
        backoff=(0.05, 0.2),
    )
    await client.connect()
    assert client.state == "connected" and client.transport == "websocket"
    client.start()
    await wait_for(lambda: len(model.sockets) == 2)
    await stop_node_admin(server)
    await wait_for(lambda: client.state == "reconnecting", timeout=10)
    await wait_for(lambda: "cannot reach" in client.detail, timeout=10)
    assert client.attempt >= 1
    await client.close()
    assert client.state == "closed"


async def test_commands_refuse_an_empty_target() -> None:
    client = AdminClient(ClientOptions("http://127.0.0.1:1"), Model())
    with pytest.raises(ValueError, match="without a target"):
        await client.disconnect_socket("/", "")
    with pytest.raises(ValueError, match="needs a target"):
        await client.emit("/", "", "ev")
    with pytest.raises(AdminConnectError):
        await client.command("join", "/", "r", "x")
    assert issubclass(AuthRefused, AdminConnectError)


def test_url_is_validated_and_path_means_namespace() -> None:
    assert ClientOptions("http://h:3000/chat-admin").endpoint() == ("http://h:3000", "/chat-admin")
    assert ClientOptions("ws://h:3000", namespace="adm").endpoint() == ("http://h:3000", "/adm")
    with pytest.raises(ValueError, match="no host"):
        ClientOptions("http://").endpoint()


@pytest.mark.interop
async def test_reconnects_with_its_session_after_a_server_side_kick(
    node_admin: NodeAdminServer,
) -> None:
    states: list[str] = []
    model = Model()
    client = AdminClient(
        ClientOptions(node_admin.url, username="admin", password="s3cret"),
        model,
        on_change=None,
        backoff=(0.05, 0.2),
    )
    client.on_change = lambda: states.append(client.state)
    await client.connect()
    client.start()
    await wait_for(lambda: len(model.sockets) == 4)
    session, first_sid = model.session_id, client.sid
    assert session
    client.options.password = "no longer valid"  # so only the session can log us back in
    await client.command("_disconnect", "/admin", False, first_sid)  # the server kicks us
    await wait_for(lambda: "reconnecting" in states)
    await wait_for(lambda: client.state == "connected" and client.sid != first_sid, timeout=10)
    await wait_for(lambda: len(model.sockets) == 4 and first_sid not in model.sockets)
    assert model.session_id == session
    await client.close()


async def test_a_gap_in_the_packet_stream_triggers_a_resync_on_ours(our_demo) -> None:
    model = Model()
    client = AdminClient(ClientOptions(our_demo.url), model, backoff=(0.05, 0.2))
    await client.connect()
    client.start()
    await wait_for(lambda: model.has_packet_stream and model.seq_expected is not None)
    await wait_for(lambda: (model.seq_expected or 0) > 5)  # batches are flowing
    assert model.snapshots == 1 and model.gaps == 0
    model.seq_expected = 10_000  # pretend batches were lost
    await wait_for(lambda: model.gaps == 1)
    # the server answered sioscope:resync with a snapshot, then restarted seq at 1
    await wait_for(lambda: model.snapshots == 2)
    await wait_for(lambda: model.seq_expected is not None and model.seq_expected >= 2)
    await asyncio.sleep(0.3)
    assert model.gaps == 1  # and the restarted sequence is gap-free
    assert any(s.nsp == "/" for s in model.sockets.values())  # the fresh all_sockets
    await client.close()


NOT_SOCKETIO = {
    "404": (404, "text/plain", "Not Found"),
    "html": (200, "text/html", "<html><body>a web site</body></html>"),
    # An Engine.IO OPEN answer to every poll: the handshake works, then every packet
    # is one python-engineio complains about (it used to print each to stderr).
    "engine.io only": (
        200,
        "text/plain",
        '0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    ),
}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("404", "HTTP 404 (not a Socket.IO server at this path?)"),
        ("html", "unexpected response (not a Socket.IO server at this path?)"),
        ("engine.io only", "no answer from namespace /admin"),
    ],
)
async def test_a_server_that_is_not_socketio_gets_one_line(kind: str, expected: str) -> None:
    from aiohttp import web

    status, content_type, body = NOT_SOCKETIO[kind]

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        code, _out, err = await run_cli("inspect", f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err[:500]
    assert err.startswith("sioscope: ") and expected in err


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("/nope", "sioscope: /nope refused the connection: Invalid namespace"),
        # the app's own namespace accepts anyone, but it is no admin namespace
        ("/", "sioscope: / at http://127.0.0.1:PORT is not an admin namespace"),
    ],
)
async def test_a_namespace_that_is_not_the_admin_one_gets_one_line(
    our_demo, namespace: str, expected: str
) -> None:
    code, _out, err = await run_cli("inspect", our_demo.url, "--namespace", namespace)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err[:500]
    assert err.startswith(expected.replace("PORT", str(our_demo.url.rsplit(":", 1)[1])))


def _answer_the_password_prompt(key: bytes) -> tuple[int, str]:
    """getpass reads the controlling terminal: give the CLI a real pty, press ``key`` at
    the prompt, return (exit status, everything the terminal showed)."""
    import fcntl
    import os
    import pty
    import select
    import subprocess
    import termios
    import time

    master, slave = pty.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "inspect", "http://127.0.0.1:1", "--username", "a"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=own_terminal,
    )
    os.close(slave)
    out, sent = b"", False
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if b"password for a:" in out and not sent:
                    os.write(master, key)
                    sent = True
            elif proc.poll() is not None:
                break
        code = proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = out.decode(errors="replace")
    assert sent, text
    return code, text


def test_ctrl_d_at_the_password_prompt_is_one_line() -> None:
    code, text = _answer_the_password_prompt(b"\x04")
    assert code == 2 and "Traceback" not in text, text
    assert "sioscope: no password given" in text


def test_ctrl_c_at_the_password_prompt_ends_the_line() -> None:
    code, text = _answer_the_password_prompt(b"\x03")
    assert code == 130 and "Traceback" not in text, text
    # The terminal shows the prompt, then a line end: the shell's prompt starts afresh.
    assert text.rstrip(" ").endswith("password for a: \r\n") or text.endswith(
        "password for a: ^C\r\n"
    ), repr(text)


async def test_version() -> None:
    from sioscope import __version__

    code, out, err = await run_cli("--version")
    assert (code, out, err) == (0, f"sioscope {__version__}\n", "")


def test_a_url_without_a_scheme_and_a_root_path() -> None:
    assert ClientOptions("localhost:3200").endpoint() == ("http://localhost:3200", "/admin")
    assert ClientOptions("127.0.0.1:3200/adm").endpoint() == ("http://127.0.0.1:3200", "/adm")
    with pytest.raises(ValueError, match=r"the Socket\.IO path cannot be the root"):
        ClientOptions("localhost:3200", path="/").endpoint()


@pytest.mark.interop
async def test_no_username_against_a_server_that_needs_one(node_admin: NodeAdminServer) -> None:
    code, _, err = await run_cli("inspect", node_admin.url.removeprefix("http://"))
    assert code == 1
    assert err.strip() == (
        "sioscope: /admin refused the connection: invalid credentials "
        "(no --username given: this server needs a login)"
    )


async def test_a_slow_404_is_one_line_not_a_race() -> None:
    """An ordinary web server's 404 whose body comes a moment after its headers.

    python-engineio closed its HTTP session before reading an error body, so the read
    raced the close: against ``python -m http.server`` a third of runs ended in
    ``RuntimeError: Connection closed.`` and a 44-line traceback. The body's delay here
    makes the race lose every time.
    """

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"<html><body>404 Not Found</body></html>"
        writer.write(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AdminClient(ClientOptions(f"http://127.0.0.1:{port}"), Model())
    try:
        with pytest.raises(AdminConnectError, match=r"HTTP 404 \(not a Socket.IO server"):
            await client.connect()
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def test_an_ordinary_web_server_gets_one_line_every_time(tmp_path) -> None:
    port = free_port()
    web_server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(50):  # until it listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        for _ in range(3):
            code, _out, err = await run_cli("inspect", f"http://127.0.0.1:{port}")
            assert code == 1
            assert err.count("\n") == 1 and "Traceback" not in err, err[:500]
            assert "HTTP 404 (not a Socket.IO server at this path?)" in err
    finally:
        web_server.terminate()
        await web_server.wait()


async def test_ctrl_c_quits_the_tui_cleanly(our_demo) -> None:
    """In a real terminal: ctrl+c ends the app (status 0), with no "press ctrl+q"
    message and no "Unclosed client session" from an aiohttp session left open."""
    import os
    import pty
    import time

    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "inspector",
        "inspect",
        our_demo.url,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30"),
    )
    os.close(slave)
    os.set_blocking(master, False)
    out, sent = b"", False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and proc.returncode is None:
            try:
                out += os.read(master, 65536)
            except BlockingIOError:
                pass
            except OSError:  # the child closed the terminal
                break
            if not sent and b"sockets" in out:
                await asyncio.sleep(0.5)
                os.write(master, b"\x03")
                sent = True
            try:
                await asyncio.wait_for(proc.wait(), 0.05)
            except TimeoutError:
                pass
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert sent, text[-500:]
    assert proc.returncode == 0, text[-500:]
    assert "Unclosed" not in text and "Traceback" not in text and "to quit" not in text
