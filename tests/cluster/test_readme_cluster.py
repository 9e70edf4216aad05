"""The README's cluster example runs as printed: two servers on one redis-server, a user
on each, and either server lists both (the seed's server A / server B example)."""

from __future__ import annotations

import re
from typing import Any

from tests.cluster.cluster_support import Cluster, eventually
from tests.conftest import ROOT
from tests.redis_server import RedisServer


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Sharded and streams adapters", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_readme_cluster_example(redis_server: RedisServer, cluster: Cluster) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_cluster"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    servers = []
    for _ in range(2):
        io = namespace["make_server"](redis_server.url)
        cluster.own(io.of("/").adapter.redis)  # the example's client, closed after the test
        servers.append((io, await cluster.serve(io)))
    (a, url_a), (b, url_b) = servers
    await eventually(lambda: _count_is(a, 2))
    clients = await cluster.clients()
    clients.open("alice", url_a, auth={"username": "alice"})
    clients.open("bob", url_b, auth={"username": "bob"})
    await clients.connected("alice")
    await clients.connected("bob")
    assert sorted(await namespace["usernames"](b)) == ["alice", "bob"]
    assert sorted(await namespace["usernames"](a)) == ["alice", "bob"]


async def _count_is(io: Any, n: int) -> bool:
    return await io.of("/").adapter.server_count() == n
