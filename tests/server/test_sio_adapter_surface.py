"""The Adapter surface a cluster adapter builds on (rules in ``server/adapter.py``).

A subclass may override the commands that cross servers as coroutines; their callers
stay synchronous and run them as tasks of the server, in call order, and the local
effect still reaches real clients (python-socketio) through the one write path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, ClassVar

from sioscope.server import Adapter, BroadcastOptions, Packet, Server, Socket
from tests.server.sio_support import (  # noqa: F401
    Factory,
    Recorder,
    py_client_fixture,
    serve_fixture,
    wait_for,
)


class PublishingAdapter(Adapter):
    """Stands in for a cluster adapter: each command awaits (a publish) before its
    local effect, as Node's ClusterAdapter does."""

    calls: ClassVar[list[str]] = []

    async def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        PublishingAdapter.calls.append(f"broadcast {packet.data[0]}")
        await asyncio.sleep(0)  # the publish
        super().broadcast(packet, opts)

    async def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        PublishingAdapter.calls.append("add_sockets")
        await asyncio.sleep(0)
        super().add_sockets(opts, rooms)


async def test_coroutine_commands_are_settled_on_the_server(serve: Factory, py_client: Any) -> None:
    PublishingAdapter.calls = []
    joined = Recorder()

    def setup(io: Server) -> None:
        @io.on("connection")
        def on_connection(socket: Socket) -> None:
            socket.adapter.on("join-room", joined)

    io, url = await serve(setup, adapter=PublishingAdapter)
    received = Recorder()
    client = await py_client(url, setup=lambda c: c.on("*", received))
    assert isinstance(io.sockets.adapter, PublishingAdapter)

    assert io.emit("first", 1) is True  # synchronous for the caller
    io.sockets_join("room")
    assert io.to("room").emit("second", 2) is True
    assert PublishingAdapter.calls == [] and len(io.tasks) == 3  # settled: tasks of io
    await received.wait(2)
    assert PublishingAdapter.calls == ["broadcast first", "add_sockets", "broadcast second"]
    assert received.calls == [("first", 1), ("second", 2)]  # call order kept
    assert ("room", client.get_sid()) in joined.calls
    assert len(io.tasks) == 0  # each settled command was a task of io, and it is done
