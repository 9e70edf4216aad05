"""ClusterAdapterWithHeartbeat on an in-process transport, as Node's own
``cluster-adapter.ts`` tests run it (three nodes on an EventEmitter bus): the base
class's heartbeats, server count, request completion and timeout text. The transport
is the only stand-in; the servers and the protocol code are the real ones."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from sioscope.server import Server
from sioscope.server.adapters.cluster import ClusterAdapterWithHeartbeat
from tests.cluster.cluster_support import eventually


class BusAdapter(ClusterAdapterWithHeartbeat):
    """Delivers each message to the other adapters of its bus on a later loop turn."""

    def __init__(self, nsp: Any, bus: list[BusAdapter], **options: Any) -> None:
        super().__init__(nsp, **options)
        self.bus = bus
        self.silent = False  # a node that stopped talking (but is not closed)
        self.offsets = itertools.count()
        bus.append(self)

    async def publish_many(self, messages: list[dict[str, Any]]) -> list[str | None]:
        if not self.silent:
            loop = asyncio.get_running_loop()
            for message in messages:
                for peer in self.bus:
                    if peer is not self:
                        loop.call_soon(peer.on_message, dict(message), None)
        return [str(next(self.offsets)) for _ in messages]

    async def publish_response(self, requester_uid: str, response: dict[str, Any]) -> None:
        if not self.silent:
            for peer in self.bus:
                if peer.uid == requester_uid:
                    asyncio.get_running_loop().call_soon(peer.on_response, dict(response))


async def nodes(n: int, **options: Any) -> list[Server]:
    bus: list[BusAdapter] = []
    servers = [Server(adapter=lambda nsp: BusAdapter(nsp, bus, **options)) for _ in range(n)]
    await eventually(lambda: all(len(a.nodes) == n - 1 for a in bus))
    return servers


def adapter(io: Server) -> Any:
    return io.of("/").adapter


async def test_heartbeats_count_servers_and_requests_complete() -> None:
    servers = await nodes(3)
    assert [await adapter(io).server_count() for io in servers] == [3, 3, 3]
    assert await servers[0].fetch_sockets() == []
    for index, io in enumerate(servers):
        io.on("who", lambda callback, index=index: callback(index))
    assert sorted(await servers[0].server_side_emit_with_ack("who")) == [1, 2]
    for io in servers:
        await io.close()


async def test_a_silent_node_times_out_with_the_heartbeat_text() -> None:
    servers = await nodes(2)
    adapter(servers[1]).silent = True
    with pytest.raises(TimeoutError, match=r"^timeout reached: missing 1 responses$"):
        await servers[0].timeout(0.2).fetch_sockets()
    for io in servers:
        await io.close()


async def test_a_node_that_leaves_completes_pending_requests() -> None:
    """Node's "succeeds even if an instance leaves the cluster"."""
    servers = await nodes(3)
    adapter(servers[2]).silent = True
    pending = asyncio.ensure_future(servers[0].timeout(5).fetch_sockets())
    await asyncio.sleep(0.05)
    adapter(servers[2]).silent = False
    await servers[2].close()  # ADAPTER_CLOSE
    assert await asyncio.wait_for(pending, 1) == []
    assert await adapter(servers[0]).server_count() == 2
    for io in servers[:2]:
        await io.close()


async def test_a_node_silent_past_the_heartbeat_timeout_is_forgotten() -> None:
    servers = await nodes(2, heartbeat_interval=0.1, heartbeat_timeout=0.3)
    adapter(servers[1]).silent = True
    await eventually(lambda: len(adapter(servers[0]).nodes) == 0, timeout=3)
    assert await adapter(servers[0]).server_count() == 1
    for io in servers:
        await io.close()
