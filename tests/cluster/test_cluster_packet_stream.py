"""The packet stream extension across a cluster (docs/admin-extension.md, "Across a
cluster"): two sioscope servers on one real redis-server; an admin of server A asks
for all servers' packets, or some, and gets B's records in batches B sends through the
adapter, marked with B's serverId and numbered on their own; unsubscribing or leaving
stops B, and a lease B does not see renewed ends by itself."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from sioscope.server.admin import instrument, protocol
from sioscope.server.admin import subscriptions as subs
from tests.admin.client import AdminClient
from tests.cluster.peers import Clients, NodePeer, sioscope_server, wait_until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop


def _setup(server_id: str) -> Any:
    def setup(io: Any) -> None:
        io.instrument = instrument(io, auth=False, server_id=server_id, stats_interval=0.5)

    return setup


def _batches(admin: AdminClient, server_id: str | None) -> list[dict[str, Any]]:
    return [b for (b,) in admin.named(protocol.EV_PACKETS) if b.get("serverId") == server_id]


def _previews(batches: list[dict[str, Any]]) -> list[str]:
    return [r[5] for b in batches for r in b["records"] if isinstance(r[5], str)]


async def test_an_admin_streams_the_packets_of_all_servers_or_some(
    node_bin: str, redis_server: RedisServer
) -> None:
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    admin = AdminClient()
    try:
        async with (
            sioscope_server(redis_server.url, setup=_setup("server-a")) as (io_a, url_a),
            sioscope_server(redis_server.url, setup=_setup("server-b")) as (io_b, url_b),
        ):
            await clients.connect("on-a", url_a)
            await clients.connect("on-b", url_b)
            auth = {protocol.AUTH_FIELD: {"packets": True, "servers": "all"}}
            await admin.connect(url_a, auth=auth)
            stream_b = io_b.instrument.stream
            await wait_until(lambda: len(stream_b.remote) == 1)

            await clients.peer.call("emit", name="on-b", event="hello-from-b", args=[1])
            await clients.peer.call("emit", name="on-a", event="hello-from-a", args=[2])
            await wait_until(
                lambda: any("hello-from-b" in p for p in _previews(_batches(admin, "server-b")))
            )
            await wait_until(
                lambda: any("hello-from-a" in p for p in _previews(_batches(admin, None)))
            )
            # B's batches carry B's id, their own seq from 1, and B's clients only
            from_b = _batches(admin, "server-b")
            assert [b["seq"] for b in from_b] == list(range(1, len(from_b) + 1))
            assert not any("hello-from-a" in p for p in _previews(from_b))
            b_client = io_b.of("/").sockets[clients.sids["on-b"]].conn.id[:12]
            assert {r[1] for b in from_b for r in b["records"]} == {b_client}

            # only server-a now: B stops, A goes on
            await admin.command(protocol.CMD_SUBSCRIBE, {"packets": True, "servers": ["server-a"]})
            await wait_until(lambda: not stream_b.remote)
            # only server-b: A's own stream stops, B's starts again
            await admin.command(protocol.CMD_SUBSCRIBE, {"packets": True, "servers": ["server-b"]})
            await wait_until(lambda: len(stream_b.remote) == 1)
            assert not io_a.instrument.stream.subscribers
            # a bad servers value is refused, and changes nothing
            await admin.command(protocol.CMD_SUBSCRIBE, {"packets": True, "servers": "some"})
            await admin.wait_for(protocol.EV_COMMAND_ERROR)
            assert len(stream_b.remote) == 1
            # the admin leaves: B stops streaming for it
            await admin.close()
            await wait_until(lambda: not stream_b.remote)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
        await clients.peer.close()


async def test_a_remote_cursor_ends_when_its_lease_is_not_renewed(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin's server died (its renewals stop): the other server stops streaming to
    its admin's room after LEASE, without being told."""
    monkeypatch.setattr(subs, "LEASE", 0.3)
    async with (
        sioscope_server(redis_server.url, setup=_setup("server-a")) as (io_a, _url_a),
        sioscope_server(redis_server.url, setup=_setup("server-b")) as (io_b, _url_b),
    ):
        stream = io_b.instrument.stream
        # the last request of a server that dies right after: never renewed
        request: protocol.ClusterStreamRequest = {"admin": "gone", "servers": "all", "on": True}
        io_a.of("/admin").server_side_emit(protocol.CLUSTER_STREAM, request)
        await wait_until(lambda: set(stream.remote) == {"gone"})
        await wait_until(lambda: not stream.remote)
        await wait_until(lambda: stream.flush_task is None)  # nothing left: the task ended


async def test_whole_payloads_come_from_the_other_servers_too(
    node_bin: str, redis_server: RedisServer
) -> None:
    clients = Clients(await NodePeer.start(node_bin, "cluster-clients.js"))
    admin = AdminClient()
    try:
        async with (
            sioscope_server(redis_server.url, setup=_setup("server-a")) as (_io_a, url_a),
            sioscope_server(redis_server.url, setup=_setup("server-b")) as (io_b, url_b),
        ):
            await clients.connect("on-b", url_b)
            await admin.connect(url_a, auth={})
            options = {"packets": True, "payloads": True, "servers": "all"}
            await admin.command(protocol.CMD_SUBSCRIBE, options)
            await wait_until(lambda: len(io_b.instrument.stream.remote) == 1)
            await clients.peer.call("emit", name="on-b", event="whole", args=["x" * 300])

            def whole() -> list[Any]:
                return [
                    r
                    for b in _batches(admin, "server-b")
                    for r in b["records"]
                    if len(r) > 6 and isinstance(r[6], str) and "whole" in r[6]
                ]

            await wait_until(lambda: bool(whole()))
            (record,) = whole()
            assert record[6].endswith("x" * 300 + '"]') and len(record[5]) == 120
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
        await clients.peer.close()
