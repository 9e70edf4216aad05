"""Attach over the network: the time until the inspector shows a big server's socket count.

Three processes, as a user has them: the server (``bench/attach_server.py``, ours, or
``bench/attach_node_server.js``, Node's socket.io with ``@socket.io/admin-ui``), a light
crowd of sockets (``bench/attach_load.js``), and the inspector, which is this process: the
real ``InspectorApp`` (headless) on the real ``AdminClient``, as ``sioscope inspect`` runs
them. ``bench/inspector_load.py`` feeds the model directly; this crosses the wire.

Figures printed (one JSON line per run):

- ``crowd_s``: the crowd's connect time (not the inspector's; for the record);
- ``connect_s``: ``sioscope inspect`` start to the admin namespace's ``config``;
- ``shown_s``: start to the status bar showing the whole socket count;
- ``states``: the connection states the status bar went through (``reconnecting`` here
  means the snapshot broke the connection: the failure this benchmark exists for).

    python -m bench.inspector_attach --sockets 10000 [--namespaces 1] [--pps 1000]
        [--server ours|node] [--timeout 60] [--no-packets]

The socket count is connections x namespaces; a process here may hold 20,000 file
descriptors, so past ~15,000 sockets use namespaces (100,000 = ``--namespaces 10``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_CONNECTIONS = 15_000  # file descriptors per process (20,000 here), with room to spare


@dataclass
class Crowd:
    """A running server and the load process holding its sockets."""

    server: asyncio.subprocess.Process
    load: asyncio.subprocess.Process
    port: int
    sockets: int
    crowd_s: float
    kind: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _first_json_line(proc: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no ready line in time")
        line = await asyncio.wait_for(proc.stdout.readline(), left)
        if not line:
            raise RuntimeError(f"process exited ({await proc.wait()}) before its ready line")
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value


def namespaces(count: int) -> list[str]:
    return ["/", *(f"/n{i}" for i in range(1, count))]


async def start_crowd(
    sockets: int,
    *,
    namespace_count: int = 0,
    pps: int = 0,
    kind: str = "ours",
    node: str = "node",
    password: str | None = None,
    timeout: float = 120.0,
    server_args: list[str] | None = None,
) -> Crowd:
    """Start the server and the crowd; return once every socket is connected.
    ``server_args`` go to our server's command line (``bench/attach_server.py``)."""
    if namespace_count <= 0:
        namespace_count = max(1, math.ceil(sockets / MAX_CONNECTIONS))
    connections = math.ceil(sockets / namespace_count)
    if connections > MAX_CONNECTIONS:
        raise ValueError(f"{connections} connections: use --namespaces (fd limit)")
    if kind == "ours":
        cmd = [sys.executable, "-m", "bench.attach_server", "--namespaces", str(namespace_count)]
        cmd += ["--loop", "auto"]
        if password is not None:
            cmd += ["--password", password]
        cmd += server_args or []
    elif kind == "node":
        cmd = [node, str(ROOT / "bench" / "attach_node_server.js"), str(namespace_count)]
        if password is not None:
            cmd.append(password)
    else:
        raise ValueError(f"unknown server kind {kind!r}")
    server = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        info = await _first_json_line(server, 30)
        config = {
            "port": info["port"],
            "connections": connections,
            "namespaces": namespaces(namespace_count),
            "pps": pps,
            "timeoutS": int(timeout) + 600,
        }
        load = await asyncio.create_subprocess_exec(
            node,
            str(ROOT / "bench" / "attach_load.js"),
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
    except BaseException:
        await _stop(server)
        raise
    try:
        ready = await _first_json_line(load, timeout)
    except BaseException:
        await _stop(load)
        await _stop(server)
        raise
    if ready["ready"] != ready["target"]:
        await _stop(load)
        await _stop(server)
        raise RuntimeError(f"crowd incomplete: {ready}")
    return Crowd(server, load, info["port"], ready["ready"], ready["connect_s"], kind)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 5)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def stop_crowd(crowd: Crowd) -> None:
    await _stop(crowd.load)
    await _stop(crowd.server)


@dataclass
class Attach:
    """What one attach saw."""

    shown_s: float | None
    connect_s: float | None
    states: list[str] = field(default_factory=list)
    error: str = ""
    status: str = ""


async def attach(
    url: str,
    expect: int,
    *,
    timeout: float = 60.0,
    packets: bool = True,
    username: str | None = None,
    password: str | None = None,
) -> Attach:
    """Run the inspector as ``sioscope inspect URL`` does and time the socket count."""
    from sioscope.inspector.app import InspectorApp
    from sioscope.inspector.client import AdminClient, AdminConnectError, ClientOptions
    from sioscope.inspector.model import Model

    model = Model()
    options = ClientOptions(url=url, packets=packets, username=username, password=password)
    client = AdminClient(options, model)
    result = Attach(None, None)
    states: list[str] = result.states
    started = time.perf_counter()
    deadline = started + timeout
    try:
        await asyncio.wait_for(client.connect(), timeout)
    except (AdminConnectError, TimeoutError) as exc:
        result.error = str(exc) or type(exc).__name__
        await client.close()
        return result
    result.connect_s = time.perf_counter() - started
    client.start()
    app = InspectorApp(model, client, source=url)
    count = re.compile(r"(\d+) sockets")
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            while time.perf_counter() < deadline:
                if (not states or states[-1] != client.state) and len(states) < 20:
                    states.append(client.state)
                status = str(app.query_one("#status").render())
                result.status = status
                shown = count.search(status)
                # Node's all_sockets lists the admin socket too (ours hides it): at least.
                if shown is not None and int(shown.group(1)) >= expect:
                    result.shown_s = time.perf_counter() - started
                    break
                await pilot.pause(0.02)
    finally:
        await client.close()
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    crowd = await start_crowd(
        args.sockets,
        namespace_count=args.namespaces,
        pps=args.pps,
        kind=args.server,
        node=args.node,
        timeout=max(120.0, args.sockets / 200),
    )
    try:
        seen = await attach(crowd.url, crowd.sockets, timeout=args.timeout, packets=args.packets)
    finally:
        await stop_crowd(crowd)
    return {
        "server": args.server,
        "sockets": crowd.sockets,
        "namespaces": args.namespaces or max(1, math.ceil(args.sockets / MAX_CONNECTIONS)),
        "pps": args.pps,
        "packets": args.packets,
        "crowd_s": round(crowd.crowd_s, 2),
        "connect_s": None if seen.connect_s is None else round(seen.connect_s, 2),
        "shown_s": None if seen.shown_s is None else round(seen.shown_s, 2),
        "states": seen.states,
        "error": seen.error,
        "status": seen.status if seen.shown_s is None else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=0, help="default: as the fd limit needs")
    parser.add_argument("--pps", type=int, default=1000, help="crowd events a second")
    parser.add_argument("--server", choices=("ours", "node"), default="ours")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after (s)")
    parser.add_argument("--no-packets", dest="packets", action="store_false")
    parser.add_argument("--node", default="node")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result))
    return 0 if result["shown_s"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
