"""Attach over the network at 10,000 sockets: inspector, server and sockets in three processes.

The scale figures of ``bench/inspector_load.py`` feed the model directly; this is the
path a user takes (``bench/inspector_attach.py``, whose 100,000-socket run is a bench
figure, not a test). 2,000 connections with a socket in each of 5 namespaces keep the
crowd quick to start; the snapshot's size is per socket, so it is the same as 10,000
connections'. Both servers send ``all_sockets`` as one event of ~5 MB: past aiohttp's
default 4 MiB websocket message limit, which made the inspector reconnect forever.
"""

from __future__ import annotations

import pytest

from bench.inspector_attach import attach, start_crowd, stop_crowd

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


@pytest.mark.parametrize("kind", ["ours", "node"])
async def test_the_socket_count_shows_at_10000_sockets(kind: str, node_bin: str) -> None:
    crowd = await start_crowd(10_000, namespace_count=5, pps=200, kind=kind, node=node_bin)
    try:
        seen = await attach(crowd.url, crowd.sockets, timeout=30)
    finally:
        await stop_crowd(crowd)
    assert seen.shown_s is not None, f"never shown: {seen}"
    assert seen.states == ["connected"], f"the attach was not clean: {seen.states}"
