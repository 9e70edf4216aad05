"""The ``sioscope`` command: ``sioscope demo``, ``sioscope inspect URL``,
``sioscope record URL -o FILE``, ``sioscope open FILE``, ``sioscope har FILE --socket ID``
and ``sioscope replay FILE --socket ID URL``; ``--web`` serves ``demo`` or
``inspect`` to a browser instead of the terminal (``inspector/web.py``).

Failures a user can cause (a bad URL, a refused login, an unreachable host) end with one
line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sioscope import __version__
from sioscope.inspector.client import AdminClient, AdminConnectError, ClientOptions
from sioscope.inspector.model import Model
from sioscope.server.collector import tune_collector

if TYPE_CHECKING:
    from sioscope.inspector.traffic import Traffic
from sioscope.inspector.web import DEFAULT_PORT, is_web_child, parse_port

MAX_DEMO_CLIENTS = 1000  # each is a real connection in this process
MAX_CLUSTER_SERVERS = 8  # servers of demo --cluster, each with its own Redis connections


SOCKET_HELP = "the captured socket id (write --socket=ID when it starts with -)"


def _add_web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the inspector to a browser on 127.0.0.1 instead of this terminal",
    )
    parser.add_argument(
        "--port",
        default=str(DEFAULT_PORT),
        help=f"port of --web on 127.0.0.1 (default {DEFAULT_PORT})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sioscope",
        description="Watch a Socket.IO server live through its admin namespace.",
    )
    parser.add_argument("--version", action="version", version=f"sioscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start an embedded server with demo clients and inspect it")
    demo.add_argument("--clients", type=int, default=36, help="demo clients, 0-1000 (default 36)")
    demo.add_argument("--readonly", action="store_true", help="hide every action")
    demo.add_argument(
        "--host-driver",
        choices=("aiohttp", "asgi"),
        default="aiohttp",
        help="serve the demo on aiohttp (default) or as an ASGI app on uvicorn",
    )
    demo.add_argument(
        "--cluster",
        type=int,
        default=0,
        metavar="N",
        help="N servers (2-8) on one local redis-server, the clients spread across them",
    )
    _add_web_options(demo)
    insp = sub.add_parser(
        "inspect", help="attach to a server instrumented with the admin namespace (ours or Node's)"
    )
    insp.add_argument(
        "url",
        help="server URL, e.g. http://localhost:3000 or localhost:3000 (a path = namespace)",
    )
    insp.add_argument("--namespace", default="/admin", help="admin namespace (default /admin)")
    insp.add_argument("--path", default="/socket.io", help="Socket.IO path (default /socket.io)")
    insp.add_argument("--username", help="basic-auth user name (no auth when omitted)")
    insp.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable "
        "(without it, the password is prompted for)",
    )
    insp.add_argument("--websocket-only", action="store_true", help="skip HTTP long-polling")
    insp.add_argument("--readonly", action="store_true", help="hide every action")
    insp.add_argument("--no-packets", action="store_true", help="do not ask for the packet stream")
    insp.add_argument(
        "--export-dir",
        type=Path,
        help="where ctrl+s writes (default: ~/sioscope-exports, never the current directory)",
    )
    insp.add_argument(
        "--export-drains",
        action="store_true",
        help="keep the stream's drain records in exports (left out by default)",
    )
    _add_web_options(insp)
    op = sub.add_parser(
        "open", help="browse a capture offline in the inspector's views, with a time cursor"
    )
    op.add_argument("file", type=Path, help="a capture written by sioscope record")
    rep = sub.add_parser(
        "replay",
        help="reconnect as a captured client and send its packets again, printing the answers",
    )
    rep.add_argument("file", type=Path, help="a capture (sioscope record, or the TUI's ctrl+s)")
    rep.add_argument("--socket", required=True, metavar="ID", help=SOCKET_HELP)
    rep.add_argument("url", help="server URL to replay against, e.g. http://localhost:3000")
    rep.add_argument(
        "--speed", type=float, default=1.0, help="timing factor: 2 = twice as fast (default 1)"
    )
    rep.add_argument(
        "--linger", type=float, default=1.0, help="seconds to wait for answers at the end"
    )
    rep.add_argument("--path", default="/socket.io", help="Socket.IO path (default /socket.io)")
    har = sub.add_parser(
        "har", help="write one captured socket's traffic as HAR (opens in Chrome DevTools)"
    )
    har.add_argument("file", type=Path, help="a capture (sioscope record, or the TUI's ctrl+s)")
    har.add_argument("--socket", required=True, metavar="ID", help=SOCKET_HELP)
    har.add_argument(
        "-o", "--output", type=Path, help="HAR file to write (default: <socket id>.har)"
    )
    rec = sub.add_parser(
        "record",
        help="write what the inspector would receive to a capture file, without the TUI",
    )
    rec.add_argument("url", help="server URL, as for inspect")
    rec.add_argument("-o", "--output", type=Path, required=True, help="capture file to write")
    rec.add_argument(
        "--gzip", action="store_true", help="compress (implied by a name ending in .gz)"
    )
    rec.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: ctrl+c)"
    )
    rec.add_argument("--namespace", default="/admin", help="admin namespace (default /admin)")
    rec.add_argument("--path", default="/socket.io", help="Socket.IO path (default /socket.io)")
    rec.add_argument("--username", help="basic-auth user name (no auth when omitted)")
    rec.add_argument(
        "--password-env", metavar="VAR", help="read the password from this environment variable"
    )
    rec.add_argument("--websocket-only", action="store_true", help="skip HTTP long-polling")
    rec.add_argument("--no-packets", action="store_true", help="do not ask for the packet stream")
    return parser


def _fail(message: str, status: int = 2) -> int:
    print(f"sioscope: {message}", file=sys.stderr)
    return status


def _password(args: argparse.Namespace) -> str | None:
    if args.username is None:
        return None
    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise ValueError(f"environment variable {args.password_env} is not set")
        return value
    if not sys.stdin.isatty():
        raise ValueError("no terminal to prompt for the password: use --password-env VAR")
    try:
        return getpass.getpass(f"password for {args.username}: ")
    except EOFError:  # ctrl+d at the prompt
        raise ValueError("no password given") from None
    except KeyboardInterrupt:
        # ctrl+c: getpass leaves the cursor after the prompt, so the shell's next prompt
        # would start on that line. End it, as a shell does for an interrupted command.
        print(file=sys.stderr)
        raise


async def inspect(
    options: ClientOptions, readonly: bool, export_dir: Path | None, export_drains: bool = False
) -> int:
    """Connect once (failing with one line), then run the TUI with reconnects."""
    from sioscope.inspector.app import InspectorApp
    from sioscope.inspector.journal import Journal

    model = Model(journal=Journal())  # what ctrl+s exports as a capture
    client = AdminClient(options, model)
    try:
        await client.connect()
    except AdminConnectError as exc:
        await client.close()
        return _fail(str(exc), 1)
    except Exception as exc:  # a peer we did not foresee: still one line, not a traceback
        await client.close()
        return _fail(f"cannot attach to {options.url}: {type(exc).__name__}: {exc}", 1)
    client.start()
    app = InspectorApp(
        model,
        client,
        readonly=readonly,
        export_dir=export_dir,
        export_drains=export_drains,
        source=options.url,
    )
    # The inspector holds every socket of the server (10,000 and more) for as long as it
    # runs: the collector's default thresholds walked them all in full collections of
    # up to ~190 ms, often, which a key pressed then waited for (docs/benchmarks.md).
    tune_collector()
    try:
        await app.run_async()
    finally:
        await client.close()
    return 0


async def record(
    options: ClientOptions, output: Path, compress: bool, duration: float | None
) -> int:
    """Connect once (failing with one line), then write every event until ``duration``
    or ctrl+c; the capture format is ``inspector/capture.py``'s."""
    import time

    from sioscope.inspector.capture import CaptureWriter, RecordingModel

    base, namespace = options.endpoint()
    try:
        writer = CaptureWriter(
            output,
            source=base,
            namespace=namespace,
            started_ms=int(time.time() * 1000),
            compress=True if compress else None,
        )
    except OSError as exc:
        return _fail(f"cannot write {output}: {exc.strerror or exc}")
    model = RecordingModel(writer)
    client = AdminClient(options, model)
    try:
        await client.connect()
    except Exception as exc:  # AdminConnectError, or a peer we did not foresee: one line
        await client.close()
        writer.close()
        output.unlink(missing_ok=True)  # nothing was recorded
        if isinstance(exc, AdminConnectError):
            return _fail(str(exc), 1)
        return _fail(f"cannot attach to {options.url}: {type(exc).__name__}: {exc}", 1)
    try:
        client.start()
        if options.packets and not model.has_packet_stream:
            print(
                f"sioscope: {base} sends no packet stream (not a sioscope server): "
                "recording sockets, rooms, events and stats only",
                file=sys.stderr,
            )
        print(f"sioscope: recording {base}{namespace} to {output}", file=sys.stderr)
        if duration is not None:
            await asyncio.sleep(duration)
        else:
            await asyncio.Event().wait()  # until ctrl+c cancels us
    finally:
        await client.close()
        writer.close()
        print(
            f"sioscope: wrote {writer.events} events ({len(model.sockets)} sockets) to {output}",
            file=sys.stderr,
        )
    return 0


def open_capture(path: Path) -> int:
    """``sioscope open FILE``: the capture in the inspector's views (``capture_app``)."""
    from sioscope.inspector.capture import CaptureError, read_capture

    try:
        capture = read_capture(path)
    except CaptureError as exc:
        return _fail(str(exc))
    from sioscope.inspector.capture_app import CaptureApp

    tune_collector()  # as for inspect: a capture's sockets live as long as the app
    CaptureApp(capture, name=path.name).run()
    return 0


async def probe(options: ClientOptions) -> int:
    """Log in once and leave (``--web`` checks the server in the terminal, before any
    browser opens the page): 0, or 1 after one line on stderr."""
    client = AdminClient(options, Model())
    try:
        await client.connect()
    except AdminConnectError as exc:
        return _fail(str(exc), 1)
    except Exception as exc:  # a peer we did not foresee: still one line
        return _fail(f"cannot attach to {options.url}: {type(exc).__name__}: {exc}", 1)
    finally:
        await client.close()
    return 0


NO_STREAM = "the capture has no packet stream (not a sioscope server)"


def _traffic(path: Path, socket_id: str) -> Traffic:
    """The socket's traffic in the capture at ``path``; ``CaptureError`` says why not."""
    from sioscope.inspector.capture import read_capture
    from sioscope.inspector.traffic import socket_traffic

    return socket_traffic(read_capture(path), socket_id, name=str(path))


def write_har(path: Path, socket_id: str, output: Path | None) -> int:
    """``sioscope har``: 0, or 2 with one line (not a capture, no such socket, no write)."""
    import json

    from sioscope.inspector.capture import CaptureError
    from sioscope.inspector.har import har

    try:
        traffic = _traffic(path, socket_id)
    except CaptureError as exc:
        return _fail(str(exc))
    if not traffic.streamed:
        print(f"sioscope: {NO_STREAM}: the HAR holds its events only", file=sys.stderr)
    output = output or Path(f"{socket_id}.har")
    try:
        output.write_text(json.dumps(har(traffic), indent=1))
    except OSError as exc:
        return _fail(f"cannot write {output}: {exc.strerror or exc}")
    print(
        f"sioscope: wrote {len(traffic.frames)} messages of {socket_id} to {output}",
        file=sys.stderr,
    )
    return 0


def replay_capture(args: argparse.Namespace) -> int:
    """``sioscope replay``: 2 for bad input (file, socket id, arguments), 1 when the server
    cannot be reached or refuses, else what the replay returns."""
    from sioscope.inspector.capture import CaptureError
    from sioscope.inspector.replay import Replayer, ReplayError, plan

    if not args.speed > 0:
        return _fail("--speed must be more than 0")
    if args.linger < 0:
        return _fail("--linger must be 0 or more seconds")
    try:
        base, _ = ClientOptions(url=args.url).endpoint()
        traffic = _traffic(args.file, args.socket)
    except (CaptureError, ValueError) as exc:
        return _fail(str(exc))
    if not traffic.streamed:
        print(f"sioscope: {NO_STREAM}: replaying its events, without ack ids", file=sys.stderr)
    the_plan = plan(traffic)
    replayer = Replayer(
        the_plan, base, path=args.path, speed=args.speed, linger=args.linger, out=print
    )
    try:
        return asyncio.run(replayer.run())
    except ReplayError as exc:
        return _fail(str(exc), 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    # In the app a --web server started for a browser, --web is already done (web.py).
    web = getattr(args, "web", False) and not is_web_child()
    port = DEFAULT_PORT
    try:
        if web:
            try:
                port = parse_port(args.port)
            except ValueError as exc:
                return _fail(str(exc))
        if args.command == "demo":
            from sioscope.inspector.demo import run_demo

            if not 0 <= args.clients <= MAX_DEMO_CLIENTS:
                return _fail(f"--clients must be between 0 and {MAX_DEMO_CLIENTS}")
            if args.host_driver == "asgi" and importlib.util.find_spec("uvicorn") is None:
                return _fail("--host-driver asgi needs uvicorn: pip install 'sioscope[asgi]'")
            if args.cluster and not 2 <= args.cluster <= MAX_CLUSTER_SERVERS:
                return _fail(f"--cluster must be between 2 and {MAX_CLUSTER_SERVERS} servers")
            if args.cluster and args.host_driver != "aiohttp":
                return _fail("--cluster runs on the aiohttp host driver only")
            if web:
                from sioscope.inspector.web import serve

                return serve(argv, port, None, "sioscope demo")
            return asyncio.run(
                run_demo(args.clients, args.readonly, args.host_driver, cluster=args.cluster)
            )
        if args.command == "open":
            return open_capture(args.file)
        if args.command == "har":
            return write_har(args.file, args.socket, args.output)
        if args.command == "replay":
            return replay_capture(args)
        if args.command == "record" and args.duration is not None and args.duration <= 0:
            return _fail("--duration must be more than 0 seconds")
        try:
            options = ClientOptions(
                url=args.url,
                namespace=args.namespace,
                path=args.path,
                username=args.username,
                password=_password(args),
                websocket_only=args.websocket_only,
                packets=not args.no_packets,
            )
            options.endpoint()
        except ValueError as exc:
            return _fail(str(exc))
        if web:
            from sioscope.inspector.web import serve

            status = asyncio.run(probe(options))
            if status:
                return status
            prompted = options.password if args.username and not args.password_env else None
            return serve(argv, port, prompted, f"sioscope inspect {args.url}")
        if args.command == "record":
            return asyncio.run(record(options, args.output, args.gzip, args.duration))
        return asyncio.run(inspect(options, args.readonly, args.export_dir, args.export_drains))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
