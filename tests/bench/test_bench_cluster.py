"""A tiny run of bench/cluster_redis.py (two servers on one real Redis, Node's adapter
against ours), so the cluster bench never rots: every run loss-free and measured, on
each of the three adapters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.redis_server import redis_binary


@pytest.mark.interop
@pytest.mark.timeout(90)
@pytest.mark.parametrize("adapter", ["classic", "sharded", "streams"])
def test_cluster_bench_smoke(node_bin, tmp_path, adapter):
    redis_binary()  # a skip (a failure in CI) when redis-server is missing
    out = tmp_path / "cluster.jsonl"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.cluster_redis", "--clients", "3", "--broadcasts", "5"),
            *("--rounds", "1", "--fetches", "2", "--out", str(out), "--adapter", adapter),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["kind"] for r in records) == ["node", "sioscope"]
    assert {r["adapter"] for r in records} == {adapter}
    for record in records:
        assert record["deliveries"] == record["expected"] == 5 * 6
        assert record["fetched_sockets"] == 6
        assert record["server_a_cpu_s"] > 0 and record["server_b_cpu_s"] > 0
    assert "sioscope/node:" in done.stdout
