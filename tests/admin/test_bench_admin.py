"""A tiny run of the echo_admin bench scenario (bench/admin_scenario.py), so it never rots.

Real processes throughout: the instrumented server, the Node load generator, and the
admin client subscribed to the packet stream. Figures are not judged here (a smoke run
is too short); only that both phases were measured and the admin client was streamed.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_bench_smoke

pytestmark = pytest.mark.interop


@pytest.mark.timeout(90)
def test_echo_admin_smoke_run_streams_and_reports_a_ratio(node_bin, tmp_path) -> None:
    records = run_bench_smoke(
        tmp_path, "--servers", "sioscope-admin", "--scenarios", "echo_admin", timeout=80
    )
    assert not [r for r in records if "error" in r], records
    by_name = {r["scenario"]: r for r in records}
    off, on = by_name["echo_admin_off"], by_name["echo_admin_on"]
    assert off["ops"] > 0 and on["ops"] > 0
    assert on["ratio"] > 0 and on["cpu_ratio"] > 0
    assert len(on["admin"]) == 3  # one admin client per side-by-side run
    for counts in on["admin"]:
        assert counts["records"] > 0 and counts["batches"] > 0
        assert counts["seq_gaps"] == 0


@pytest.mark.timeout(90)
def test_echo_diag_smoke_run_sends_diagnostics_to_one_side_only(node_bin, tmp_path) -> None:
    records = run_bench_smoke(
        tmp_path, "--servers", "sioscope-admin", "--scenarios", "echo_diag", timeout=80
    )
    assert not [r for r in records if "error" in r], records
    by_name = {r["scenario"]: r for r in records}
    off, on = by_name["echo_diag_off"], by_name["echo_diag_on"]
    assert off["ops"] > 0 and on["ops"] > 0 and on["cpu_ratio"] > 0
    assert all(c["records"] > 0 and c["diagnostics"] > 0 for c in on["admin"])
    assert off["admin"]["records"] > 0 and off["admin"]["diagnostics"] == 0
