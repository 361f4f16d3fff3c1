"""The quick form of every benchmark, and one table of Charter against its peers.

Run from the repository root (``make bench`` does)::

    .venv/bin/python benchmarks/quick.py                 # every benchmark's smoke run (~4-5 min on 2 cores)
    .venv/bin/python benchmarks/quick.py --only api --only clarify
    .venv/bin/python benchmarks/quick.py --table-only    # the table again from the last run's results

Each benchmark script runs in its own subprocess, one after the other, with the small
options its section of ``benchmarks/README.md`` gives for a smoke run, and writes its
usual JSON to ``benchmarks/results/quick/NAME.json`` (so the full runs' results beside
it are left alone) and its output to ``NAME.log`` there.  This script then reads those
files and prints one row per measured task: Charter's figure, the peer's, and the
ratio, oriented as in every script so that above 1 means Charter is faster (peer
seconds / Charter seconds; for the API benchmarks Charter requests per second / the
peer's).

A peer that is not installed is not a failure: its row says so (and where the
README says to install it), and Charter's side is still measured where the script
can measure it alone.  The exit status is 1 only when a benchmark produced no
results or Charter itself failed.  Quick runs are for seeing that everything runs
and roughly where Charter stands; the numbers to quote come from the full runs in
``benchmarks/README.md``, since small inputs weigh fixed costs (start-up, imports,
per-feature overheads) more.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "quick"
README = "benchmarks/README.md"


@dataclass
class Row:
    benchmark: str
    task: str
    unit: str  # what the Charter and peer columns hold
    charter: float | None
    peer: float | None
    peer_name: str
    ratio: float | None  # above 1: Charter faster
    note: str = ""


@dataclass
class Benchmark:
    name: str
    script: str
    args: list[str]
    rows: Callable[[dict, "Benchmark"], list[Row]]
    #: (peer, module) pairs importable in this interpreter that the script needs; a
    #: missing one changes the arguments through ``without``.
    peers: list[tuple[str, str]] = field(default_factory=list)
    without: Callable[[set[str]], list[str] | None] | None = None
    missing: set[str] = field(default_factory=set)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _ratio(numerator, denominator) -> float | None:
    return numerator / denominator if numerator and denominator else None


def _not_installed(peer: str, where: str) -> str:
    return f"{peer} not installed ({where})"


# --- reading each script's JSON -------------------------------------------------


def api_rows(result: dict, bench: Benchmark) -> list[Row]:
    rows = []
    for op in result["operations"]:
        charter, moto = op.get("charter") or {}, op.get("moto")
        note = ""
        if moto is None:
            note = _not_installed("moto", "pip install -e '.[test]'")
        elif not moto.get("supported", True):
            note = "moto does not implement it"
        elif moto.get("errors"):
            note = f"moto answered {moto['errors']} request(s) with an error"
        if charter.get("errors"):
            note = (note + "; " if note else "") + f"Charter: {charter['errors']} failed request(s)"
        rows.append(Row(bench.name, op["label"], "req/s", charter.get("rps"), (moto or {}).get("rps"), "moto",
                        op.get("rps_ratio"), note))
    return rows


def clarify_rows(result: dict, bench: Benchmark) -> list[Row]:
    rows = []
    for task in result["tasks"]:
        shap = task["task"] == "shap"
        charter_s, peer_s = task["charter"]["best_s"], task["peer"]["best_s"]
        agreement = task["agreement"]
        if shap:
            note = f"corr {agreement['correlation']:.5f}"
        else:
            note = "equal" if not agreement["problems"] else f"{len(agreement['problems'])} metric(s) DIFFER"
        rows.append(Row(bench.name, task["label"], "s", charter_s, peer_s, "shap" if shap else "smclarify",
                        _ratio(peer_s, charter_s), note))
    for peer in sorted(bench.missing):
        what = "Kernel SHAP" if peer == "shap" else "bias metrics"
        rows.append(Row(bench.name, what, "s", None, None, peer, None, _not_installed(peer, "pip install -e '.[test]'")))
    return rows


def explain_rows(result: dict, bench: Benchmark) -> list[Row]:
    task = f"Kernel SHAP, {result['rows']:,} rows"
    if result["shap_rows"] != result["rows"]:
        task += f" (shap on {result['shap_rows']}, time scaled)"
    return [Row(bench.name, task, "s", result["charter_s"], result["shap_s"], "shap", result["ratio"],
                f"corr {result['correlation']:.5f}")]


def monitor_rows(result: dict, bench: Benchmark) -> list[Row]:
    rows = []
    for task in result["table"]:
        peer = result["results"].get(task["peer"]) or {}
        note = ""
        if peer.get("error") == "not installed":
            note = _not_installed(task["peer"], f"/tmp/bench-venv: see {README}, monitor.py")
        elif peer.get("error"):
            note = f"{task['peer']} failed: {str(peer['error'])[:80]}"
        rows.append(Row(bench.name, task["task"], "s", task["charter_seconds"], task["peer_seconds"], task["peer"],
                        task["ratio"], note))
    return rows


def deepar_rows(result: dict, bench: Benchmark) -> list[Row]:
    rows = []
    for label, entry in result["datasets"].items():
        charter, gluonts = entry["summary"].get("charter") or {}, entry["summary"].get("gluonts")
        if gluonts is None:
            runs = entry["runs"].get("gluonts")
            if runs:
                note = "GluonTS failed: " + str(next((r["error"] for r in runs if "error" in r), "?"))[:80]
            else:
                note = _not_installed("GluonTS", f"/tmp/deepar-peers: see {README}, deepar.py")
        else:
            ours, theirs = charter["metrics"]["mean_wQuantileLoss"], gluonts["metrics"]["mean_wQuantileLoss"]
            note = f"mean wQL {ours:.4f} vs {theirs:.4f}"
        gluonts = gluonts or {}
        for key, what, unit in (("seconds_per_epoch", "training", "s/epoch"),
                                ("infer_seconds_per_1000", "forecasting 1,000 series", "s")):
            rows.append(Row(bench.name, f"{label}: {what}", unit, charter.get(key), gluonts.get(key), "GluonTS",
                            _ratio(gluonts.get(key), charter.get(key)), note))
    return rows


def s3_rows(result: dict, bench: Benchmark) -> list[Row]:
    rows = []
    charter, moto = result.get("Charter") or {}, result.get("moto")
    note = "" if moto is not None else _not_installed("moto", "pip install -e '.[test]'")
    for size in result["sizes"]:
        for op in ("put", "get"):
            ours, theirs = (charter.get(size) or {}).get(op) or {}, ((moto or {}).get(size) or {}).get(op) or {}
            unit, key = ("req/s", "req_per_s") if size.endswith("KiB") else ("MiB/s", "mib_per_s")
            problem = f"Charter: {ours['errors']} failed request(s)" if ours.get("errors") else ""
            rows.append(Row(bench.name, f"{op.upper()} {size}", unit, ours.get(key), theirs.get(key), "moto",
                            _ratio(ours.get(key), theirs.get(key)), "; ".join(x for x in (note, problem) if x)))
    ours, theirs = charter.get("listing") or {}, (moto or {}).get("listing") or {}
    rows.append(Row(bench.name, f"ListObjectsV2 walk, {result['list_keys']:,} keys", "s", ours.get("walk_s"),
                    theirs.get("walk_s"), "moto", _ratio(theirs.get("walk_s"), ours.get("walk_s")), note))
    return rows


def fuzz_rows(result: dict, bench: Benchmark) -> list[Row]:
    found = len(result["failures"]) + len(result["audit_gaps"]) + len(result["unreadable"])
    note = "no failures" if not found and result["server_up"] else (
        f"Charter: {len(result['failures'])} distinct failure(s), {len(result['audit_gaps'])} audit gap(s), "
        f"{len(result['unreadable'])} unreadable, server {'up' if result['server_up'] else 'DOWN'}")
    rate = result["requests"] / result["seconds"] if result["seconds"] else None
    return [Row(bench.name, f"{result['requests']:,} generated requests", "req/s", rate, None, "(none)", None, note)]


def jobs_rows(result: dict, bench: Benchmark) -> list[Row]:
    # jobs.py writes its rows itself (its own aims as the peer); a run that broke off is Charter's failure.
    rows = [Row(bench.name, **row) for row in result["rows"]]
    if result.get("error"):
        rows.append(Row(bench.name, "(run)", "", None, None, "(none)", None, f"Charter: {result['error'][:120]}"))
    return rows


def _clarify_without(missing: set[str]) -> list[str] | None:
    if missing >= {"smclarify", "shap"}:
        return None  # nothing left to measure against
    return ["--skip-bias"] if "smclarify" in missing else ["--skip-shap"]


def _charter_only(missing: set[str]) -> list[str]:
    return ["--only", "charter"]


BENCHMARKS = [
    Benchmark("api", "api.py", ["--groups", "500", "--requests-scale", "0.1"], api_rows,
              [("moto", "moto")], _charter_only),
    Benchmark("registry", "registry.py", ["--groups", "20", "--versions", "10", "--requests-scale", "0.1"], api_rows,
              [("moto", "moto")], _charter_only),
    Benchmark("s3", "s3.py", ["--quick", "--sizes", "1KiB,1MiB,64MiB", "--list-keys", "2000"], s3_rows,
              [("moto", "moto")], _charter_only),
    # No peer: the fuzzer's figure is the failures it finds (none, to pass).
    Benchmark("fuzz", "fuzz.py", ["--minutes", "0.5", "--seed", "1"], fuzz_rows),
    Benchmark("clarify", "clarify.py", ["--quick"], clarify_rows,
              [("smclarify", "smclarify"), ("shap", "shap")], _clarify_without),
    Benchmark("explain", "explain.py", ["--rows", "200", "--train-rows", "5000", "--shap-rows", "50"], explain_rows,
              [("shap", "shap")], lambda missing: None),
    # The monitor and DeepAR scripts find their peers' virtualenvs themselves and skip a
    # missing peer, saying so in their results.
    Benchmark("monitor", "monitor.py", ["--quick"], monitor_rows),
    Benchmark("deepar", "deepar.py", ["--quick"], deepar_rows),
    # No peer but its aims (first line under 1 s, makespan within 10% of ideal, overhead under 5%).
    Benchmark("jobs", "jobs.py", ["--quick"], jobs_rows),
    # No peer but its aim: the Model Dashboard's first page under 200 ms (rows in jobs.py's form).
    Benchmark("console", "console.py", ["--quick"], jobs_rows),
]


# --- running ------------------------------------------------------------------------


def run(bench: Benchmark, timeout: float) -> tuple[str, float | None]:
    """Run one script's quick form; (what happened, seconds)."""
    OUT.mkdir(parents=True, exist_ok=True)
    output, log = OUT / f"{bench.name}.json", OUT / f"{bench.name}.log"
    output.unlink(missing_ok=True)  # a failed run must not show the last run's numbers
    bench.missing = {peer for peer, module in bench.peers if not _installed(module)}
    args = list(bench.args)
    if bench.missing:
        extra = bench.without(bench.missing) if bench.without else None
        if extra is None:
            log.write_text(f"not run: {', '.join(sorted(bench.missing))} not installed\n")
            return "not run (peer missing)", None
        args += extra
    command = [sys.executable, str(ROOT / "benchmarks" / bench.script), *args, "--output", str(output)]
    began = time.perf_counter()
    with log.open("w") as sink:
        sink.write("$ " + " ".join(command) + "\n")
        sink.flush()
        try:
            proc = subprocess.run(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout,
                                  env={**os.environ, "COLUMNS": "160"})
            status = f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
    (OUT / f"{bench.name}.status").write_text(status)
    return status, time.perf_counter() - began


def collect(bench: Benchmark) -> tuple[list[Row], str | None]:
    """The rows of one benchmark's results; (rows, why there are none)."""
    output, log = OUT / f"{bench.name}.json", OUT / f"{bench.name}.log"
    if bench.missing and not output.exists() and log.exists() and log.read_text().startswith("not run"):
        return [Row(bench.name, "(all)", "", None, None, peer, None, _not_installed(peer, "pip install -e '.[test]'"))
                for peer in sorted(bench.missing)], None
    if not output.exists():
        status = (OUT / f"{bench.name}.status").read_text() if (OUT / f"{bench.name}.status").exists() else "not run"
        tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
        return [], f"{status}, no results: {tail[0][:120] if tail else 'no output'} (see {log.relative_to(ROOT)})"
    try:
        return bench.rows(json.loads(output.read_text()), bench), None
    except (KeyError, TypeError, ValueError) as exc:
        return [], f"results not understood ({type(exc).__name__}: {exc}); see {output.relative_to(ROOT)}"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "req/s":
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def table(rows: list[Row], failures: dict[str, str]):
    from rich.table import Table

    out = Table(title="Charter against its peers: the quick form of every benchmark")
    for column, justify in (("benchmark", "left"), ("task", "left"), ("unit", "left"), ("Charter", "right"),
                            ("peer", "right"), ("peer is", "left"), ("ratio", "right"), ("note", "left")):
        out.add_column(column, justify=justify, overflow="fold")
    last = None
    for row in rows:
        if last is not None and row.benchmark != last:
            out.add_section()
        last = row.benchmark
        out.add_row(row.benchmark, row.task, row.unit, _fmt(row.charter, row.unit), _fmt(row.peer, row.unit),
                    row.peer_name, "-" if row.ratio is None else f"{row.ratio:.2f}x", row.note)
    for name, why in failures.items():
        out.add_section()
        out.add_row(name, "[red]FAILED[/]", "", "-", "-", "", "-", why)
    out.caption = ("ratio = peer seconds / Charter seconds (req/s: Charter / peer); above 1 means Charter is faster. "
                   f"Quick runs on small inputs; the full runs are in {README}.")
    return out


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=names, help="run only these benchmarks (repeatable)")
    parser.add_argument("--table-only", action="store_true",
                        help=f"run nothing: print the table from {OUT.relative_to(ROOT)}/ as the last run left it")
    parser.add_argument("--timeout", type=float, default=900, help="give up on one benchmark after this many s")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 160))
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    load_before = os.getloadavg()
    began = time.perf_counter()
    for bench in chosen:
        if args.table_only:
            bench.missing = {peer for peer, module in bench.peers if not _installed(module)}
            continue
        console.print(f"{bench.name}: {bench.script} {' '.join(bench.args)} ...", end=" ")
        status, seconds = run(bench, args.timeout)
        console.print(status + (f", {seconds:.0f} s" if seconds is not None else ""))
    rows: list[Row] = []
    failures: dict[str, str] = {}
    for bench in chosen:
        found, why = collect(bench)
        rows += found
        if why:
            failures[bench.name] = why
    console.print(table(rows, failures))
    if not args.table_only:
        console.print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
                      f"{os.cpu_count()} CPUs; {time.perf_counter() - began:.0f} s in all; logs in "
                      f"{OUT.relative_to(ROOT)}/")
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "quick.json").write_text(json.dumps({"rows": [asdict(r) for r in rows], "failures": failures,
                                                    "load_average_before": load_before,
                                                    "load_average_after": os.getloadavg()}, indent=2) + "\n")
    charter_failed = any("Charter:" in row.note or "DIFFER" in row.note for row in rows)
    return 1 if failures or charter_failed else 0


if __name__ == "__main__":
    sys.exit(main())
