"""The paged snapshot: ``all_sockets`` in pages for an admin client that asks for them.

A crowd of 2,500 sockets in another process (bench/attach_load.js) on our server in a
third; the inspector's client asks for pages in its handshake query and gets three
``sioscope:snapshot_page`` events instead of one ``all_sockets``.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.inspector_attach import start_crowd, stop_crowd
from sioscope.inspector.client import AdminClient, ClientOptions
from sioscope.inspector.model import Model
from sioscope.server.admin import protocol
from tests.inspector.conftest import wait_for

pytestmark = pytest.mark.interop


async def test_a_client_that_asks_gets_pages(node_bin: str) -> None:
    crowd = await start_crowd(2_500, namespace_count=5, kind="ours", node=node_bin)
    model = Model()
    seen: list[tuple[str, list[Any]]] = []
    apply = model.apply

    def record(event: str, args: list[Any]) -> None:
        seen.append((event, args))
        apply(event, args)

    model.apply = record  # type: ignore[method-assign]
    client = AdminClient(ClientOptions(crowd.url, packets=False), model)
    try:
        await client.connect()
        client.start()
        await wait_for(lambda: len(model.sockets) == 2_500 and not model.snapshot_loading)
    finally:
        await client.close()
        await stop_crowd(crowd)
    names = [name for name, _ in seen]
    assert protocol.ALL_SOCKETS not in names
    pages = [args[0] for name, args in seen if name == protocol.EV_SNAPSHOT_PAGE]
    assert [(p["page"], p["last"], p["total"], len(p["sockets"])) for p in pages] == [
        (0, False, 2_500, 1_000),
        (1, False, 2_500, 1_000),
        (2, True, 2_500, 500),
    ]
    assert len({s["id"] for p in pages for s in p["sockets"]}) == 2_500
