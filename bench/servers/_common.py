"""What every Python server under test shares: arguments, the event loop, the ready line.

The harness reads one JSON line, ``{"port": N, "pid": P}``, from a server's stdout to
know it is listening; binding port 0 and reading it back keeps parallel runs apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop", "auto"),
        default="asyncio",
        help="auto: uvloop when installed, else asyncio",
    )
    parser.add_argument("--profile", help="write cProfile stats to this file at exit")
    parser.add_argument(
        "--gc-stats", help="write the garbage collector's count and CPU time per generation here"
    )
    parser.add_argument(
        "--gc-log",
        help="append 'epoch_seconds cpu_ms' here after each full collection (as it happens)",
    )
    return parser.parse_args(argv)


def install_loop(choice: str) -> str:
    """Select the event loop before any loop exists; returns the name actually used."""
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


class GcStats:
    """Collections and CPU seconds per generation, from ``gc.callbacks``; with ``log``,
    also one line per full collection as it ends, so a bench can tell which of its
    windows a full collection fell in (at 10,000 connections one costs over a second)."""

    def __init__(self, log: str | None = None) -> None:
        self.started = 0.0
        self.count = [0, 0, 0]
        self.cpu_s = [0.0, 0.0, 0.0]
        self.log = open(log, "a", buffering=1) if log else None  # open for the process
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.process_time()
        else:
            gen = info["generation"]
            used = time.process_time() - self.started
            self.count[gen] += 1
            self.cpu_s[gen] += used
            if gen == 2 and self.log is not None:
                self.log.write(f"{time.time():.3f} {used * 1000:.1f}\n")

    def as_dict(self) -> dict:
        return {"collections": self.count, "cpu_s": self.cpu_s}


async def _listen_aiohttp(app: web.Application, args: argparse.Namespace) -> int:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=4096)
    await site.start()
    return int(runner.addresses[0][1])


async def _listen_uvicorn(app: Any, args: argparse.Namespace, **options: Any) -> int:
    """Serve an ASGI app on uvicorn in this loop (httptools, websockets sans-I/O, no
    access log); the socket is bound here, so port 0 works and is read back."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # SIGTERM is the harness's stop
            yield

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(4096)
    sock.setblocking(False)
    config = uvicorn.Config(
        app,
        loop="none",  # the loop install_loop chose
        http="httptools",
        ws="websockets-sansio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        ws_ping_interval=None,
        **options,
    )
    server = Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped during startup")
        await asyncio.sleep(0.01)
    return int(sock.getsockname()[1])


def serve(
    make_app: Callable[[], web.Application],
    argv: list[str] | None = None,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Run an aiohttp app on 127.0.0.1 until SIGTERM, announcing the bound port."""
    run(lambda args: _listen_aiohttp(make_app(), args), argv, on_listening)


def serve_asgi(
    make_app: Callable[[], Any],
    argv: list[str] | None = None,
    on_listening: Callable[[], None] | None = None,
    **uvicorn_options: Any,
) -> None:
    """Run an ASGI app on uvicorn at 127.0.0.1 until SIGTERM, announcing the bound port."""
    run(lambda args: _listen_uvicorn(make_app(), args, **uvicorn_options), argv, on_listening)


def run(
    listen: Callable[[argparse.Namespace], Awaitable[int]],
    argv: list[str] | None,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Listen, run ``on_listening`` (where a server tunes its process once set up, e.g.
    sioscope's ``tune_collector``), print the ready line, serve until SIGTERM."""
    args = parse_args(argv)
    loop_name = install_loop(args.loop)

    gc_stats = GcStats(args.gc_log) if args.gc_stats or args.gc_log else None
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

    async def main() -> None:
        port = await listen(args)
        if on_listening is not None:
            on_listening()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sys.stdout.write(json.dumps({"port": port, "pid": os.getpid(), "loop": loop_name}) + "\n")
        sys.stdout.flush()
        if profiler is not None:
            profiler.enable()
        await stop.wait()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        if gc_stats is not None and args.gc_stats:
            with open(args.gc_stats, "w") as fh:
                json.dump(gc_stats.as_dict(), fh)
        # No graceful drain: open long-polls would hold cleanup for seconds, and the run
        # this server served is already measured.
        os._exit(0)

    asyncio.run(main())
