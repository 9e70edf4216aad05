"""`python -m bench` (`make bench`): run the matrix, print JSON lines and the ratio table.

Plugins: a module ``bench/admin_scenario.py`` or ``bench/inspector_load.py`` that defines
``register(registry: bench.cli.Registry) -> None`` is imported at start and may add
scenarios (``registry.scenario(Scenario(...))``) and servers
(``registry.server(ServerSpec(...))``). Modules that are absent or have no ``register``
are ignored, so plugins land independently of this harness.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.run import ROOT, machine_info, run_matrix
from bench.scenarios import DEFAULT_SCENARIOS, SCALES, SCENARIOS, Scenario
from bench.scenarios import add as add_scenario
from bench.servers import SERVERS, ServerSpec, resolve
from bench.servers import add as add_server

PLUGINS = ("bench.admin_scenario", "bench.inspector_load")
DEFAULT_SERVERS = ("node", "pysio", "pysio-uvicorn", "sioscope", "sioscope-uvicorn", "floor")
BENCH_DOC = ROOT / "docs" / "benchmarks.md"  # the full report of the latest run
README = ROOT / "README.md"  # holds a summary of that report, derived from it
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SUMMARY_BEGIN, SUMMARY_END = "<!-- bench-summary:begin -->", "<!-- bench-summary:end -->"
SUMMARY_SCENARIOS = ("connect_steady", "echo", "fanout_closed", "polling", "idle")
SUMMARY_SERVERS = ("node", "pysio", "sioscope", "sioscope-lean")


@dataclass(frozen=True)
class Registry:
    """What a plugin's ``register`` receives: the two tables it may extend."""

    def scenario(self, scenario: Scenario) -> None:
        add_scenario(scenario)

    def server(self, spec: ServerSpec) -> None:
        add_server(spec)


def load_plugins() -> list[str]:
    loaded = []
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        register = getattr(module, "register", None)
        if callable(register):
            register(Registry())
            loaded.append(name)
    return loaded


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--servers",
        type=_csv,
        default=list(DEFAULT_SERVERS),
        help="comma-separated; NAME@DIR runs NAME from another checkout (A/B of a change)",
    )
    p.add_argument("--scenarios", type=_csv, default=list(DEFAULT_SCENARIOS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", choices=sorted(SCALES), default="full")
    p.add_argument("--out", type=Path, help="results directory (default bench/results/<time>)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="SCENARIO.KEY=VALUE",
        help="override a size of the scale, e.g. fanout.rate=1000 (repeatable)",
    )
    p.add_argument(
        "--doc",
        "--readme",  # its old name, from when the table was in README.md
        dest="doc",
        action="store_true",
        help="write the report into docs/benchmarks.md and its summary into README.md",
    )
    p.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        help="no run: render the report of a results directory (results.jsonl, machine.json)",
    )
    p.add_argument("--pin", action="store_true", help="server on CPU 0, load generator on CPU 1")
    p.add_argument("--list", action="store_true", help="list servers and scenarios, then exit")
    p.add_argument("--quiet", action="store_true", help="no JSON lines on stdout")
    return p.parse_args(argv)


def _replace_between(text: str, begin: str, end: str, body: str, path: Path) -> str:
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no {begin} ... {end} markers to write the table between")
    block = f"{begin}\n{body}{end}"
    return re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)


def update_doc(md: str, path: Path = BENCH_DOC) -> None:
    """Replace the text between the bench markers of docs/benchmarks.md with ``md``."""
    path.write_text(_replace_between(path.read_text(), BEGIN, END, md, path))


def readme_summary(doc: str) -> str:
    """The README's short table, taken from the full table between the bench markers of
    ``doc`` (the text of docs/benchmarks.md): the cost of a few scenarios on the main
    servers, so the README can never show figures the full report does not."""
    start, stop = doc.find(BEGIN), doc.find(END)
    if start < 0 or stop < 0:
        raise SystemExit(f"{BENCH_DOC}: no {BEGIN} ... {END} markers")
    costs: dict[tuple[str, str], str] = {}
    for line in doc[start:stop].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 3 and cells[0] in SUMMARY_SCENARIOS:
            costs[(cells[0], cells[1])] = cells[2]
    servers = [s for s in SUMMARY_SERVERS if any(k[1] == s for k in costs)]
    rows = [
        "| scenario | " + " | ".join(servers) + " |",
        "|---|" + "---:|" * len(servers),
    ]
    for scenario in SUMMARY_SCENARIOS:
        if any(k[0] == scenario for k in costs):
            cells = [costs.get((scenario, s), "-") for s in servers]
            rows.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def update_summary(doc_path: Path = BENCH_DOC, readme: Path = README) -> None:
    """Rewrite the README's summary from docs/benchmarks.md (after ``update_doc``)."""
    body = readme_summary(doc_path.read_text())
    text = readme.read_text()
    readme.write_text(_replace_between(text, SUMMARY_BEGIN, SUMMARY_END, body, readme))


def render_saved(out_dir: Path, servers: list[str], doc: bool) -> int:
    """Re-render a finished run's report (e.g. after a report change), optionally into
    docs/benchmarks.md (and its summary into the README)."""
    results = out_dir / "results.jsonl"
    if not results.is_file():
        print(f"{results}: no such file", file=sys.stderr)
        return 2
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    meta = out_dir / "machine.json"
    machine = json.loads(meta.read_text()) if meta.is_file() else machine_info()
    in_run = {r.get("server") for r in records}
    order = [s for s in servers if s in in_run] + sorted(in_run - set(servers) - {None})
    md = report.markdown(records, order, machine, machine.get("command", "python -m bench"))
    (out_dir / "report.md").write_text(md)
    print(md)
    if doc:
        update_doc(md)
        update_summary()
        print(f"table written to {BENCH_DOC}, summary to {README}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    plugins = load_plugins()
    args = parse_args(argv)
    if args.list:
        for spec in SERVERS.values():
            print(f"server   {spec.name:18} {spec.label}")
        for sc in SCENARIOS.values():
            print(f"scenario {sc.name:18} {sc.doc}")
        if plugins:
            print("plugins:", ", ".join(plugins))
        return 0
    if args.from_dir is not None:
        return render_saved(args.from_dir, args.servers, args.doc)
    unknown = [s for s in args.servers if resolve(s) is None]
    unknown += [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        print(f"unknown server or scenario: {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("--rounds must be >= 1", file=sys.stderr)
        return 2
    for item in args.param:
        key, sep, value = item.partition("=")
        scen, dot, name = key.partition(".")
        if not sep or not dot or scen not in SCENARIOS:
            print(f"--param {item!r}: expected SCENARIO.KEY=VALUE", file=sys.stderr)
            return 2
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        SCALES[args.scale].setdefault(scen, {})[name] = parsed
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.out or ROOT / "bench" / "results" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    load_before = os.getloadavg()[0]

    def emit(rec: dict) -> None:
        if not args.quiet:
            print(json.dumps(rec), flush=True)

    with open(out_dir / "results.jsonl", "w") as out:
        records = run_matrix(
            args.servers,
            args.scenarios,
            args.rounds,
            args.scale,
            out,
            out_dir / "logs",
            emit=emit,
            pin=args.pin,
        )
    machine["loadavg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    command = "python -m bench " + shlex.join(argv) if argv else "python -m bench"
    machine["command"] = command.strip()
    md = report.markdown(records, args.servers, machine, command.strip())
    (out_dir / "report.md").write_text(md)
    (out_dir / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    print()
    print(md)
    print(f"results: {out_dir}")
    if args.doc:
        update_doc(md)
        update_summary()
        print(f"table written to {BENCH_DOC}, summary to {README}")
    failed = [r for r in records if "error" in r]
    return 1 if failed and len(failed) == len(records) else 0
