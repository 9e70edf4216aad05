"""Fixtures of the cluster tests: a real redis-server, the mixed-cluster plumbing, and
``kind``, which runs a test once per adapter ("sharded", "streams")."""

import pytest

from tests.cluster.cluster_support import cluster
from tests.redis_server import redis_server

__all__ = ["cluster", "kind", "redis_server"]


@pytest.fixture(params=["sharded", "streams"])
def kind(request: pytest.FixtureRequest) -> str:
    """The adapter under test, Node's and ours alike."""
    return str(request.param)
