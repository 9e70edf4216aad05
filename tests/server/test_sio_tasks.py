"""Background tasks belong to the server that started them (``io.tasks``).

``await io.close()`` cancels and awaits every task of that server, whatever started it
(a pending async middleware, a coroutine handler awaiting an ack with a timeout, a
coroutine listener of the engine connection), and two servers in one process share
nothing: closing one leaves the other serving.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sioscope.server import Server, Socket
from tests.server.sio_rawpeer import RawWs
from tests.server.sio_support import (  # noqa: F401
    Factory,
    py_client_fixture,
    serve_fixture,
    wait_for,
)


async def test_close_leaves_no_task_of_the_server_running(serve: Factory) -> None:
    started: dict[str, asyncio.Task[Any]] = {}
    all_started = asyncio.Event()
    expected = {"middleware", "ack timeout", "handler", "conn listener"}

    def record(what: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        started[what] = task
        if set(started) == expected:
            all_started.set()

    def setup(io: Server) -> None:
        @io.of("/slow").use
        async def pending_middleware(socket: Socket) -> None:
            record("middleware")
            await asyncio.Event().wait()  # never admits the socket

        @io.on("connection")
        async def on_connection(socket: Socket) -> None:
            async def on_packet(packet: Any) -> None:
                if "conn listener" not in started:
                    record("conn listener")
                    await asyncio.Event().wait()

            socket.conn.on("packet", on_packet)

            @socket.on("hang")
            async def hang() -> None:
                record("handler")
                await asyncio.Event().wait()

            record("ack timeout")
            await socket.timeout(60).emit_with_ack("ask")  # the raw peer never acks

    io, url = await serve(setup)
    peer = await RawWs.open(url)
    try:
        await peer.send("0")
        assert json.loads((await peer.recv())[1:]).keys() == {"sid"}
        assert await peer.recv() == '20["ask"]'
        await peer.send('2["hang"]', "0/slow,")
        await wait_for(all_started.wait())
        assert len(io.tasks) >= 3  # middleware, handler and ack waiter; the listener: engine's
        assert not any(task.done() for task in started.values())

        await wait_for(io.close())

        assert len(io.tasks) == 0 and len(io.engine.tasks) == 0
        assert all(task.cancelled() for task in started.values()), started
        assert not set(started.values()) & asyncio.all_tasks()
    finally:
        await peer.close()


async def test_two_servers_closed_one_after_the_other(serve: Factory, py_client: Any) -> None:
    gates = {"first": asyncio.Event(), "second": asyncio.Event()}
    entered = {"first": asyncio.Event(), "second": asyncio.Event()}

    def app(name: str) -> Any:
        def setup(io: Server) -> None:
            @io.on("connection")
            def on_connection(socket: Socket) -> None:
                @socket.on("slow echo")
                async def slow_echo(value: Any, ack: Any = None) -> None:
                    entered[name].set()
                    await gates[name].wait()
                    ack(f"{name}: {value}")

        return setup

    first, first_url = await serve(app("first"))
    second, second_url = await serve(app("second"))
    client_1 = await py_client(first_url)
    client_2 = await py_client(second_url)
    reply_2: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    await client_1.emit("slow echo", "a")
    await client_2.emit("slow echo", "b", callback=reply_2.set_result)
    await wait_for(entered["first"].wait())
    await wait_for(entered["second"].wait())
    assert len(first.tasks) == 1 and len(second.tasks) == 1

    await wait_for(first.close())  # cancels the first's pending handler only
    assert len(first.tasks) == 0 and len(second.tasks) == 1
    gates["second"].set()
    assert await wait_for(reply_2) == "second: b"
    assert await wait_for(client_2.call("slow echo", "c")) == "second: c"  # still serving

    disconnected = asyncio.Event()
    client_2.on("disconnect", lambda *reason: disconnected.set())
    await wait_for(second.close())
    await wait_for(disconnected.wait())
    assert len(second.tasks) == 0 and len(second.engine.tasks) == 0
    assert second.namespaces["/"].sockets == {}


async def test_a_coroutine_ack_callback_with_a_timeout_runs(serve: Factory, py_client: Any) -> None:
    """``socket.timeout(s).emit(ev, callback=coro_fn)``: the callback's coroutine runs
    (as a task of the server) when the client acks in time."""
    replies: asyncio.Queue[Any] = asyncio.Queue()

    def setup(io: Server) -> None:
        @io.on("connection")
        def on_connection(socket: Socket) -> None:
            async def on_reply(err: Exception | None, value: Any) -> None:
                await asyncio.sleep(0)
                replies.put_nowait((err, value))

            socket.timeout(5).emit("ask", 1, callback=on_reply)

    _, url = await serve(setup)
    await py_client(url, setup=lambda c: c.on("ask", lambda n: n + 1))
    assert await wait_for(replies.get()) == (None, 2)
