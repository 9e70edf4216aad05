"""``sioscope inspect --web`` and ``sioscope demo --web``: the same app, in a browser.

For people who cannot open a terminal on the host. textual-serve serves a page and, for
each browser that opens it, starts the inspector as a child process on Textual's web
driver and relays its screen and the browser's keys over one WebSocket. Rules:

1. The child is this very command line without ``--web`` and ``--port``: the same argv
   (so every option of ``demo`` and ``inspect`` works in the browser with no code here),
   run as ``python -m sioscope`` by this interpreter. The child knows it is the served
   app by Textual's web driver in its environment (``is_web_child``), which is how it
   ignores ``--web`` instead of serving again.
2. Loopback only: the page and its WebSocket listen on 127.0.0.1, and every URL the page
   is given names 127.0.0.1. Exposing it further is a reverse proxy's job, with its own
   authentication: whoever opens the page drives the inspector, actions included.
3. Whatever can be checked before serving is checked here, in the terminal, with one
   line: the port (a number, free), and for ``inspect`` the server itself (one login,
   then closed), so a wrong URL or password is not discovered by a blank browser tab.
4. A password the user typed at the prompt reaches the children through an environment
   variable of this process (``PASSWORD_VAR``), never through their command line, which
   other users of the host can read.
5. Each browser tab is its own child: ``demo --web`` gives each tab its own demo server
   and clients, ``inspect --web`` its own admin connection. Closing the tab ends it.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
PASSWORD_VAR = "SIOSCOPE_WEB_PASSWORD"
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve gives each child


def is_web_child() -> bool:
    """True in the inspector a ``--web`` server started for a browser (rule 1)."""
    return os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER


def parse_port(text: str) -> int:
    """The ``--port`` value as a TCP port, or ``ValueError`` with the line to show."""
    try:
        port = int(text, 10)
    except ValueError:
        raise ValueError(f"--port must be a number from 1 to 65535, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"--port must be from 1 to 65535, not {port}")
    return port


def child_argv(argv: list[str], password: str | None) -> list[str]:
    """The child's arguments (rule 1): ``argv`` as given, since the child ignores
    ``--web``; with ``--password-env`` pointing at ``PASSWORD_VAR`` when the password
    was prompted for here (rule 4; the last ``--password-env`` wins in argparse)."""
    if password is None:
        return list(argv)
    return [*argv, "--password-env", PASSWORD_VAR]


def command_line(argv: list[str]) -> str:
    """The shell command textual-serve runs for each browser (it takes a string)."""
    return shlex.join([sys.executable, "-m", "sioscope", *argv])


def url(port: int) -> str:
    return f"http://{HOST}:{port}"


def check_port(port: int) -> None:
    """``OSError`` when 127.0.0.1:``port`` cannot be listened on now. aiohttp runs the
    startup hooks (which print the URL) before it binds, so the bind is tried here first:
    a port in use is one line, never a URL followed by an error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        probe.bind((HOST, port))
        probe.listen(1)


def _bind_error(port: int, exc: OSError) -> str:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"cannot serve on {HOST}:{port}: {reason.lower()} (choose another --port)"


def serve(argv: list[str], port: int, password: str | None, title: str) -> int:
    """Serve the app for ``argv`` on 127.0.0.1:``port`` until ctrl+c. A port that cannot
    be bound is one line on stderr and status 1; ctrl+c is status 0."""
    try:
        check_port(port)
    except OSError as exc:
        return _fail(_bind_error(port, exc))
    try:
        from textual_serve.server import Server
    except ModuleNotFoundError:  # a hand-made environment without the dependency
        print("sioscope: --web needs textual-serve: pip install textual-serve", file=sys.stderr)
        return 2

    class WebServer(Server):
        """textual-serve's server, telling the user one line (the URL) instead of its
        banner, and logging only what goes wrong."""

        def initialize_logging(self) -> None:
            logging.basicConfig(level=logging.WARNING, format="sioscope web: %(message)s")
            # On ctrl+c the loop closes while the tabs' apps are still quitting (each was
            # told to); asyncio's child watcher then warns about every one of them.
            logging.getLogger("asyncio").setLevel(logging.ERROR)

        async def on_startup(self, app: Any) -> None:
            print(f"sioscope: serving {title} on {url(port)} (ctrl+c stops)", flush=True)

    if password is not None:
        os.environ[PASSWORD_VAR] = password
    server = WebServer(
        command_line(child_argv(argv, password)),
        host=HOST,
        port=port,
        title=title,
        public_url=url(port),
    )
    sys.unraisablehook = _quiet_closed_loop_transports(sys.unraisablehook)
    try:
        server.serve()
    except OSError as exc:  # taken between the check and the bind
        return _fail(_bind_error(port, exc))
    except KeyboardInterrupt:
        pass
    return 0


def _quiet_closed_loop_transports(
    previous: Callable[[Any], object],
) -> Callable[[Any], object]:
    """An unraisable-exception hook that drops one known case and passes on the rest.

    On ctrl+c, aiohttp's runner closes the loop while the tabs' app processes are still
    quitting; their subprocess transports are collected afterwards, and asyncio's
    ``BaseSubprocessTransport.__del__`` then raises ``RuntimeError: Event loop is closed``,
    which Python prints as a traceback on stderr at exit. The children were already told
    to quit, so nothing is lost: only that message goes, every other one is shown."""

    def hook(unraisable: Any) -> None:
        value = unraisable.exc_value
        where = getattr(unraisable.object, "__qualname__", "")
        if (
            isinstance(value, RuntimeError)
            and str(value) == "Event loop is closed"
            and where.endswith("SubprocessTransport.__del__")
        ):
            return
        previous(unraisable)

    return hook


def _fail(message: str) -> int:
    print(f"sioscope: {message}", file=sys.stderr)
    return 1
