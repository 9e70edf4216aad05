"""`python -m bench.micro`: the lean host's own CPU per operation, without the kernel.

On a shared machine the end-to-end scenarios (``python -m bench``) move by 20-40% from
round to round, because the server's cost per operation depends on how many requests
each loop iteration batches, which depends on the load generator's share of the CPU.
This harness removes both the sockets and the load generator: it drives the bench
server's ``Server`` (``bench/servers/sioscope_server.py``'s behaviours) through the
httptools driver's ``HttpConnection`` in this process, feeding it request bytes and
collecting what it writes through an in-memory transport, and bills process CPU time
per operation. What it measures is what Python code costs (httptools' parser, the
driver, the engine, the Socket.IO layer, the loop's callbacks), not system calls: a
change to that code shows here within a few percent, where the scenarios need many
interleaved rounds to see it.

    python -m bench.micro                         # polling, echo, fanout, connect: this checkout
    python -m bench.micro --ops 20000 --rounds 5 --tree ../other-checkout --tree .

``--tree DIR`` (repeatable) runs the same harness on another checkout's ``server/``
(as ``sioscope@DIR`` does in ``python -m bench``), rounds interleaved across trees.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCENARIOS = ("polling", "echo", "fanout", "connect")

FANOUT_CLIENTS = 1000
"""Sockets in room ``all`` for the ``fanout`` scenario (the end-to-end scenario's size)."""


class MemoryTransport(asyncio.Transport):
    """What the driver writes, kept in memory; a waiter wakes when a marker arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closing = False
        self.reading = True
        self.waiter: asyncio.Future[None] | None = None
        self.marker = b""
        #: ``time.perf_counter()`` of each write, when a list is set (``fanout``)
        self.stamps: list[float] | None = None

    def write(self, data: Any) -> None:
        self.out += data
        if self.stamps is not None:
            self.stamps.append(time.perf_counter())
        waiter = self.waiter
        if waiter is not None and not waiter.done() and self.marker in self.out:
            waiter.set_result(None)

    async def wait_for(self, marker: bytes) -> bytes:
        if marker not in self.out:
            self.marker = marker
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter  # bounded by run_here's deadline
            self.waiter = None
        data = bytes(self.out)
        self.out.clear()
        return data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_reading(self) -> bool:
        return self.reading

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return 0


def _connection(engine: Any) -> tuple[Any, MemoryTransport]:
    from sioscope.server.engine.httptools import HttpConnection

    conn = HttpConnection(engine, 5.0)
    transport = MemoryTransport()
    conn.connection_made(transport)
    return conn, transport


def _http(method: str, query: str, body: bytes = b"") -> bytes:
    head = f"{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: x\r\n"
    if body:
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _mask(payload: bytes) -> bytes:
    key = b"\x01\x02\x03\x04"
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + key + masked


async def polling(engine: Any, ops: int) -> float:
    """CPU seconds for ``ops`` acks over long-polling: a parked GET, then the POST
    whose event is acked into it (two keep-alive connections, as a browser has)."""
    get_conn, get_out = _connection(engine)
    post_conn, post_out = _connection(engine)
    get_conn.data_received(_http("GET", ""))
    sid = json.loads((await get_out.wait_for(b"}")).split(b"\r\n\r\n", 1)[1][1:])["sid"]
    q = f"&sid={sid}"
    post_conn.data_received(_http("POST", q, b"40"))
    await post_out.wait_for(b"ok")
    get_conn.data_received(_http("GET", q))
    await get_out.wait_for(b"40{")

    async def one(i: int) -> None:
        get_conn.data_received(_http("GET", q))
        await asyncio.sleep(0)
        post_conn.data_received(_http("POST", q, f'42{i}["echo","hello"]'.encode()))
        await post_out.wait_for(b"ok")
        await get_out.wait_for(b'"hello"]')

    for i in range(200):
        await one(i)
    started = time.process_time()
    for i in range(ops):
        await one(i)
    return time.process_time() - started


async def _websocket(engine: Any) -> tuple[Any, MemoryTransport]:
    """A WebSocket connection whose socket joined the default namespace."""
    conn, out = _connection(engine)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.data_received(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await out.wait_for(b'"maxPayload"')
    conn.data_received(_mask(b"40"))
    await out.wait_for(b"40{")
    return conn, out


async def echo(engine: Any, ops: int) -> float:
    """CPU seconds for ``ops`` acks over one WebSocket."""
    conn, out = await _websocket(engine)
    frames = [_mask(f'42{i}["echo","hello"]'.encode()) for i in range(100)]

    async def one(i: int) -> None:
        conn.data_received(frames[i % 100])
        await out.wait_for(b'"hello"]')

    for i in range(200):
        await one(i)
    started = time.process_time()
    for i in range(ops):
        await one(i)
    return time.process_time() - started


async def fanout(engine: Any, ops: int) -> tuple[float, float, float]:
    """CPU seconds for ``ops`` broadcasts from one socket to ``FANOUT_CLIENTS`` sockets
    of room ``all``, and two server-side latencies of a delivery (seconds from the
    broadcast request handed to the host to each recipient's write): the mean over
    deliveries and the mean over broadcasts of the last one. No kernel here, so they
    show where in the loop's pass the writes happen, not what the wire adds."""
    sockets = [await _websocket(engine) for _ in range(FANOUT_CLIENTS)]
    sender = sockets[0][0]
    outs = [out for _, out in sockets]
    frame = _mask(b'42["broadcast","hello"]')
    offsets: list[float] = []
    lasts: list[float] = []

    async def one(measure: bool) -> None:
        stamps: list[float] = []
        for out in outs:
            out.stamps = stamps
        started = time.perf_counter()
        sender.data_received(frame)
        for _ in range(100):  # a few loop passes at most: bounded, never a hang
            # at least one: the server's own callbacks of this pass (its flush batch)
            # run before the next request, as they do between two reads of a socket
            await asyncio.sleep(0)
            if len(stamps) >= FANOUT_CLIENTS:
                break
        if len(stamps) < FANOUT_CLIENTS:
            raise RuntimeError(f"{len(stamps)} of {FANOUT_CLIENTS} deliveries")
        for out in outs:
            out.out.clear()
        if measure:
            offsets.append(sum(stamps) / len(stamps) - started)
            lasts.append(max(stamps) - started)

    for _ in range(20):
        await one(False)
    started = time.process_time()
    for _ in range(ops):
        await one(True)
    seconds = time.process_time() - started
    return seconds, statistics.fmean(offsets), statistics.fmean(lasts)


async def connect(engine: Any, ops: int) -> float:
    """CPU seconds for ``ops`` WebSocket handshakes, from the upgrade request to the
    namespace CONNECT reply (the ``connect`` scenario's span), in batches of up to 1,000
    connections kept open; closing a batch is not billed."""
    batch = 1000

    def request() -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
            "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        ).encode()

    connect_frame = _mask(b"40")

    async def run(n: int) -> float:
        requests = [request() for _ in range(n)]
        live: list[tuple[Any, MemoryTransport]] = []
        started = time.process_time()
        for data in requests:
            conn, out = _connection(engine)
            conn.data_received(data)
            await out.wait_for(b'"maxPayload"')
            conn.data_received(connect_frame)
            await out.wait_for(b'40{"sid"')
            live.append((conn, out))
        seconds = time.process_time() - started
        for conn, _ in live:
            conn.connection_lost(None)
        for _ in range(5):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        return seconds

    await run(200)
    total = 0.0
    done = 0
    while done < ops:
        n = min(batch, ops - done)
        total += await run(n)
        done += n
    return total


def run_here(scenario: str, ops: int) -> float | dict[str, float]:
    """µs of CPU per operation of ``scenario`` on this interpreter's ``sioscope``."""
    from bench.servers.sioscope_server import make_io, tune

    try:  # the bench servers' loop (uvloop when installed), without touching the policy
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None

    async def main() -> float | dict[str, float]:
        # a harness that hangs (a response that never comes) ends, never waits forever
        asyncio.get_running_loop().call_later(300, os._exit, 3)
        io = make_io()
        tune()  # the collector tuning the bench servers do once listening
        try:
            if scenario == "fanout":
                broadcasts = max(1, ops // FANOUT_CLIENTS)
                seconds, mean, last = await fanout(io.engine, broadcasts)
                return {
                    "cpu": seconds * 1e6 / (broadcasts * FANOUT_CLIENTS),
                    "mean_ms": mean * 1e3,
                    "last_ms": last * 1e3,
                }
            harness = {"polling": polling, "echo": echo, "connect": connect}[scenario]
            seconds = await harness(io.engine, ops)
        finally:
            await io.close()
        return seconds * 1e6 / ops

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.split("\n")[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--ops", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", action="append", default=[], help="another checkout (repeatable)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_here(args.child, args.ops)))
        return 0
    from bench.servers import checkout_root

    root = Path(__file__).resolve().parent.parent
    trees = [Path(t).resolve() for t in args.tree] or [root]
    results: dict[tuple[str, str], list[float]] = {}
    extras: dict[tuple[str, str, str], list[float]] = {}
    for scenario in args.scenarios.split(","):
        for _ in range(args.rounds):
            for tree in trees:
                env = dict(os.environ, PYTHONPATH=checkout_root(tree))
                argv_child = [sys.executable, "-m", "bench.micro", "--child", scenario]
                argv_child += ["--ops", str(args.ops)]
                done = subprocess.run(
                    argv_child, cwd=root, env=env, capture_output=True, text=True, check=False
                )
                if done.returncode != 0:
                    print(done.stderr, file=sys.stderr)
                    return 1
                result = json.loads(done.stdout)
                if isinstance(result, dict):  # fanout: CPU per delivery and latencies
                    for name, value in result.items():
                        if name != "cpu":
                            extras.setdefault((scenario, str(tree), name), []).append(value)
                    result = result["cpu"]
                results.setdefault((scenario, str(tree)), []).append(result)
    for (scenario, tree), values in results.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{scenario:8} {tree}: median {statistics.median(values):.2f} µs/op ({shown})")
        for (scen, tr, name), more in extras.items():
            if (scen, tr) == (scenario, tree):
                shown = ", ".join(f"{v:.2f}" for v in more)
                median = statistics.median(more)
                print(f"{'':8} {'':{len(tree)}}  {name} median {median:.2f} ({shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
