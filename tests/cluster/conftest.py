"""Fixtures of the cluster tests: a real redis-server and the mixed-cluster plumbing."""

from tests.cluster.cluster_support import cluster
from tests.redis_server import redis_server

__all__ = ["cluster", "redis_server"]
