"""The arithmetic of the report: medians over rounds, ratios, failures kept visible."""

from __future__ import annotations

import sys
from pathlib import Path

# `bench` is a top-level package of the repository, not installed: import it from there
# (tests/bench would otherwise shadow it as a namespace package under plain `pytest`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import report
from bench.cli import BEGIN, END, SUMMARY_BEGIN, SUMMARY_END, readme_summary, update_doc


def rec(server, scenario="echo", cpu=10.0, rnd=1, **extra):
    return {
        "server": server,
        "scenario": scenario,
        "round": rnd,
        "server_cpu_us_per_op": cpu,
        "throughput_per_s": 1000.0,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "rss_kb": 50_000,
        "loadgen_cpu_util": 0.5,
        **extra,
    }


def test_median_over_rounds_and_ratios_to_both_references():
    records = [
        rec("pysio", cpu=60, rnd=1),
        rec("pysio", cpu=40, rnd=2),
        rec("pysio", cpu=500, rnd=3),  # one noisy round does not move the median
        rec("node", cpu=15),
        rec("sioscope", cpu=20),
    ]
    agg = report.aggregate(records)
    assert agg[("echo", "pysio")]["cost"] == 60
    assert agg[("echo", "pysio")]["rounds"] == 3
    table = report.table(agg, ["node", "pysio", "sioscope"])
    row = next(line for line in table.splitlines() if line.startswith("| echo | sioscope"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[4] == "3.00x"  # 60 / 20: three times cheaper than python-socketio
    assert cells[5] == "0.75x"  # 15 / 20: a third more than Node


def test_idle_rows_rank_by_kb_per_connection():
    records = [
        rec("pysio", scenario="idle", cpu=999, rss_kb_per_conn=30.0),
        rec("sioscope", scenario="idle", cpu=1, rss_kb_per_conn=20.0),
    ]
    agg = report.aggregate(records)
    assert agg[("idle", "sioscope")]["cost"] == 20.0
    assert "1.50x" in report.table(agg, ["pysio", "sioscope"])


def test_failed_runs_are_shown_not_dropped():
    records = [rec("pysio"), {"server": "sioscope", "scenario": "echo", "error": "no ready line"}]
    table = report.table(report.aggregate(records), ["pysio", "sioscope"])
    assert "| echo | sioscope | failed: no ready line" in table


def test_the_goal_table_checks_node_python_socketio_and_p99():
    records = [
        rec("node", cpu=40.0, p99_ms=10.0),
        rec("pysio", cpu=150.0),
        rec("sioscope-lean", cpu=36.0, p99_ms=12.0),
    ]
    text = report.targets(report.aggregate(records))
    row = next(line for line in text.splitlines() if line.startswith("| echo"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[2:4] == ["0.90x", "yes"]  # 36 µs against Node's 40
    assert cells[4:6] == ["4.17x", "yes"]  # python-socketio's 150 µs is >= 4x
    assert cells[6:9] == ["1.20x", "no", "no"]  # but its p99 is above Node's


def test_the_table_goes_between_the_markers_only(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# x\n\n## Latest run\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Next\nkeep\n")
    update_doc("| new | table |\n", doc)
    text = doc.read_text()
    assert "old" not in text
    assert f"{BEGIN}\n| new | table |\n{END}" in text
    assert text.startswith("# x\n\n## Latest run\n\nintro\n") and text.endswith("## Next\nkeep\n")


def test_the_readme_summary_is_the_one_derived_from_docs_benchmarks():
    """The README shows a few figures of the full report: they must be that report's (a
    new run written with ``--doc`` rewrites both; a hand edit of one fails here)."""
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "benchmarks.md").read_text()
    readme = (root / "README.md").read_text()
    start = readme.index(SUMMARY_BEGIN) + len(SUMMARY_BEGIN)
    shown = readme[start : readme.index(SUMMARY_END)].strip()
    derived = readme_summary(doc).strip()
    assert shown == derived
    assert derived.count("\n") >= 3 and "| echo | " in derived  # rows, not just a header


def test_the_summary_takes_the_cost_column_of_the_full_table():
    records = [rec("node", cpu=15), rec("pysio", cpu=60), rec("sioscope", cpu=20)]
    full = report.table(report.aggregate(records), ["node", "pysio", "sioscope"])
    summary = readme_summary(f"{BEGIN}\n{full}{END}")
    assert "| scenario | node | pysio | sioscope |" in summary
    assert "| echo | 15.0 µs/op | 60.0 µs/op | 20.0 µs/op |" in summary


def test_a_saved_run_renders_again_without_running(tmp_path, capsys):
    import json

    from bench.cli import main

    lines = [rec("pysio", cpu=60), rec("sioscope", cpu=20), rec("node", cpu=15)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert main(["--from", str(tmp_path)]) == 0
    report_md = (tmp_path / "report.md").read_text()
    assert "| echo | sioscope | 20.0 µs/op | 3.00x | 0.75x |" in report_md
    assert report_md in capsys.readouterr().out


def test_a_missing_results_file_is_a_clear_error(tmp_path, capsys):
    from bench.cli import main

    assert main(["--from", str(tmp_path)]) == 2
    assert "results.jsonl: no such file" in capsys.readouterr().err


def test_slow_reader_rows_show_growth_per_broadcast_and_stall_beside_node():
    records = [
        rec("node", "slow_reader", rss_growth_kb_per_broadcast=4096, stall_ms=500, rnd=r)
        for r in (1, 2, 3)
    ] + [
        rec("sioscope", "slow_reader", rss_growth_kb_per_broadcast=g, stall_ms=s, rnd=r)
        for r, (g, s) in enumerate([(2048, 250), (240_000, 2200), (1024, 100)], 1)
    ]
    md = report.slow_readers(report.aggregate(records), ["node", "sioscope"])
    row = next(line for line in md.splitlines() if line.startswith("| sioscope"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[2:6] == ["2.0", "0.50x", "250", "0.50x"]  # medians, then multiples of Node
