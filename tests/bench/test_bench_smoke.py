"""A tiny run of the benchmark harness, so `make bench` never rots.

It drives the real thing: every server under test started as its own process, the Node
load generator speaking the protocol over `ws` and node:http, CPU and RSS read from
/proc. Sizes are a few clients for a fraction of a second; the figures are not judged,
only that every scenario produced a measured, loss-free result for every server.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_bench_smoke

SERVERS = (
    "node",
    "pysio",
    "sioscope",
    "sioscope-uvicorn",
    "sioscope-lean",
    "pysio-uvicorn",
    "floor",
)
RESULTS = {
    "connect_cold": "handshake",
    "connect_steady": "handshake",
    "echo": "ack",
    "fanout_paced": "delivery",
    "fanout_closed": "delivery",
    "idle": "connection",
    "polling": "ack",
}
# idle_deflate is idle with one flag of the generator: left out to keep this under 30 s
SCENARIOS = ("connect", "echo", "fanout", "idle", "polling")


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_smoke_run_measures_every_scenario_on_every_server(node_bin, tmp_path):
    records = run_bench_smoke(
        tmp_path,
        *("--servers", ",".join(SERVERS), "--scenarios", ",".join(SCENARIOS)),
        timeout=110,
    )
    failed = [r for r in records if "error" in r]
    assert not failed, failed

    seen = {(r["scenario"], r["server"]): r for r in records}
    for server in SERVERS:
        for result, op in RESULTS.items():
            if server == "floor" and result == "polling":
                assert (result, server) not in seen  # the floor has no long-polling
                continue
            rec = seen[(result, server)]
            assert rec["op"] == op
            assert rec["ops"] > 0, rec
            assert rec["errors"] == 0, rec
            assert rec["server_cpu_s"] > 0, rec
            assert rec["loadgen_cpu_s"] > 0, rec
            assert rec["rss_kb"] > 1000, rec  # a live process's RSS, read from /proc
            assert rec["p50_ms"] is not None and rec["p50_ms"] <= rec["p99_ms"], rec
            if result.startswith("fanout"):
                assert rec["lost"] == 0, rec
                # every socket (the sender included) got every broadcast
                assert rec["ops"] == rec["broadcasts"] * rec["clients"], rec
            if result.startswith("idle"):
                assert isinstance(rec["rss_kb_per_conn"], int | float), rec

    report = (tmp_path / "report.md").read_text()
    for server in SERVERS:
        assert f"| echo | {server} |" in report
    assert "vs python-socketio" in report


@pytest.mark.interop
@pytest.mark.timeout(90)
def test_smoke_scale_steps_keep_every_connection(node_bin, tmp_path):
    records = run_bench_smoke(
        tmp_path, "--servers", "node,sioscope-lean", "--scenarios", "scale", timeout=80
    )
    assert not [r for r in records if "error" in r], records
    seen = {(r["scenario"], r["server"]): r for r in records}
    for server in ("node", "sioscope-lean"):
        for step in (3, 6):  # the smoke steps: 3 connections, then 3 more
            connect = seen[(f"scale_connect_{step}", server)]
            assert connect["op"] == "handshake" and connect["ops"] == 3, connect
            idle = seen[(f"scale_idle_{step}", server)]
            assert idle["clients"] == step and idle["rss_kb_per_conn"] is not None, idle
            fanout = seen[(f"scale_fanout_{step}", server)]
            assert fanout["lost"] == 0 and fanout["ops"] == 2 * step, fanout
    report = (tmp_path / "report.md").read_text()
    assert "| sioscope-lean | handshake µs |" in report  # the scaling table


@pytest.mark.timeout(120)
def test_micro_harness_measures_its_scenarios_in_and_out_of_process(capsys):
    """bench/micro.py: the lean host's CPU per operation without sockets; a few
    operations in this process (the harness itself), then through its child runner
    (polling, echo, fanout with its two latencies, and connect)."""
    from bench.micro import main, run_here

    for scenario in ("polling", "echo"):
        assert 0 < run_here(scenario, 20) < 10_000
    fanout = run_here("fanout", 20)  # one broadcast to 1,000 sockets: CPU and latencies
    assert isinstance(fanout, dict) and 0 < fanout["cpu"] < 10_000
    assert 0 < fanout["mean_ms"] <= fanout["last_ms"]
    assert 0 < run_here("connect", 20) < 100_000  # handshakes up to the CONNECT reply
    assert main(["--ops", "20", "--rounds", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    firsts = [line.split()[0] for line in lines]
    assert firsts == ["polling", "echo", "fanout", "mean_ms", "last_ms", "connect"]
