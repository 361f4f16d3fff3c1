"""Model Monitor benchmark: Charter's baseline + drift check against Evidently and whylogs.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/monitor.py --quick       # smoke run (100,000 x 20, ~1 min)
    .venv/bin/python benchmarks/monitor.py               # full run: 1,000,000 rows x 50 features
    .venv/bin/python benchmarks/monitor.py --peer-python /path/to/python   # peers elsewhere
    .venv/bin/python benchmarks/monitor.py --dataset adult  # UCI Adult replicated to 1,000,000 rows

Method
------
1. Data.  A seeded table of ``--rows`` rows by ``--features`` features is written once to
   Parquet in a temporary directory: four in five features numeric (normal, log-normal,
   uniform and small-integer columns, about 1% missing in every seventh), the rest
   categorical strings (8 to 40 levels, Zipf-like frequencies).  A second "current" table
   of the same size is drawn from the same generator with a different seed, and a few
   features are drifted: three numeric features shifted by half a standard deviation, one
   scaled by 2 about its mean, and two categorical features given a new category on 15%
   of the rows.
   With ``--dataset adult`` the tables are UCI Adult from ``../shared/data`` instead (15
   columns; see ``adult_tables``): each half of a random split replicated to ``--rows`` rows,
   the current one with ``age`` and ``hours-per-week`` shifted and a new ``workclass``.
2. Tasks, each in a fresh subprocess (so imports, caches and the memory high-water mark of
   one library never touch another's):

   - Charter (this interpreter): ``charter.analytics.statistics.profile_files`` over the
     baseline Parquet and over the current Parquet (streamed in record batches), then
     ``charter.analytics.constraints.suggest_constraints`` on the baseline statistics and
     ``check`` of the current statistics against it: what a Model Monitor baselining job
     followed by one monitoring execution computes.
   - Evidently (``--peer-python``): both Parquet files read with ``pandas.read_parquet``,
     then a ``Report([DataDriftPreset()])`` run on reference vs current and its result
     materialised with ``snapshot.dict()``.
   - whylogs (``--peer-python``): both files read with pandas, then ``why.log(df)`` of each
     and the profile views turned into their summary tables (``view().to_pandas()``).

   Every task's time starts before the Parquet files are read, so all libraries pay for
   their own input.  Charter's profiling time alone (both files) is also recorded and is
   what the whylogs row compares against, since whylogs only profiles.
3. Memory.  In each worker, once the library is imported, freed memory is handed back to
   the OS (``malloc_trim``) and the kernel's peak-RSS counter reset
   (``/proc/self/clear_refs``).  "peak MB" is the peak resident memory during the task
   minus the resident memory just before it.  Where the counter cannot be reset it falls
   back to ``ru_maxrss`` minus the starting RSS (marked ``~``).
4. Wall time is the best of ``--repeat`` runs (default 1 at full size; each run is a few
   seconds to minutes).  Ratios are peer time / Charter time and peer MB / Charter MB:
   above 1 means Charter is faster / smaller.
5. Outcome.  Each side reports which features it flagged as drifted, printed next to the
   features that were actually drifted, so speed is not bought with a wrong answer.

A Rich table is printed and ``benchmarks/results/monitor.json`` written
(``monitor-adult.json`` with ``--dataset adult``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV_PYTHON = Path("/tmp/bench-venv/bin/python")


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def feature_plan(n_features: int) -> list[tuple[str, str]]:
    """(name, kind) of every feature; kind is one of normal/lognormal/uniform/int/cat."""
    n_cat = max(1, n_features // 5)
    kinds = ["normal", "lognormal", "uniform", "int"]
    plan = []
    for i in range(n_features - n_cat):
        plan.append((f"num_{i:02d}", kinds[i % len(kinds)]))
    for i in range(n_cat):
        plan.append((f"cat_{i:02d}", "cat"))
    return plan


def drifted_features(n_features: int) -> dict[str, str]:
    """Which features the current table drifts, and how."""
    plan = feature_plan(n_features)
    nums = [name for name, kind in plan if kind in ("normal", "lognormal", "uniform")]
    cats = [name for name, kind in plan if kind == "cat"]
    out = {}
    for name in nums[:3]:
        out[name] = "shift +0.5 sd"
    if len(nums) > 3:
        out[nums[3]] = "scale x2"
    for name in cats[:2]:
        out[name] = "new category on 15% of rows"
    return out


def make_table(rows: int, n_features: int, seed: int, drift: bool):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    plan = feature_plan(n_features)
    drift_of = drifted_features(n_features) if drift else {}
    columns, names = [], []
    for idx, (name, kind) in enumerate(plan):
        # Each feature's parameters come from the feature index, not the table seed, so
        # baseline and current describe the same population unless drifted.
        prng = np.random.default_rng(1000 + idx)
        loc, sd = float(prng.normal(0, 10)), float(prng.uniform(0.5, 5))
        if kind == "normal":
            x = rng.normal(loc, sd, rows)
        elif kind == "lognormal":
            x = rng.lognormal(0.0, 0.5 + idx % 3 * 0.25, rows) * sd
        elif kind == "uniform":
            x = rng.uniform(loc - sd, loc + sd, rows)
        elif kind == "int":
            x = rng.poisson(3 + idx % 5, rows).astype(np.int64)
        else:
            levels = 8 + (idx * 7) % 33
            weights = 1.0 / np.arange(1, levels + 1) ** 1.1
            codes = rng.choice(levels, rows, p=weights / weights.sum())
            vocab = np.array([f"{name}_v{j}" for j in range(levels)] + [f"{name}_NEW"], dtype=object)
            how = drift_of.get(name)
            if how:
                codes = np.where(rng.random(rows) < 0.15, levels, codes)
            columns.append(pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()),
                                                          pa.array(vocab, pa.string())).dictionary_decode())
            names.append(name)
            continue
        how = drift_of.get(name)
        if how and how.startswith("shift"):
            x = x + 0.5 * float(np.std(x))
        elif how and how.startswith("scale"):
            x = (x - x.mean()) * 2.0 + x.mean()
        if idx % 7 == 0 and kind != "int":
            x = np.where(rng.random(rows) < 0.01, np.nan, x)
        columns.append(pa.array(x, from_pandas=True))
        names.append(name)
    return pa.table(columns, names=names)


# What the Adult current table changes, by construction.
ADULT_DRIFT = {"age": "shift +5 years", "hours-per-week": "shift +6 hours",
               "workclass": "new category on 15% of rows"}


def adult_tables(rows: int, seed: int):
    """UCI Adult (../shared/data) replicated to ``rows`` rows: baseline and drifted current.

    The 48,842 rows are split at random in two halves; each table draws ``rows`` rows with
    replacement from its own half, so an undrifted current table differs from the baseline
    only by sampling. The current table then gets ``ADULT_DRIFT``.
    """
    import numpy as np
    import pyarrow as pa

    from charter.datasets import fairness

    frame = fairness.adult("all")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    halves = order[: len(frame) // 2], order[len(frame) // 2:]
    baseline = frame.iloc[rng.choice(halves[0], rows)].reset_index(drop=True)
    current = frame.iloc[rng.choice(halves[1], rows)].reset_index(drop=True)
    current["age"] = current["age"] + 5
    current["hours-per-week"] = current["hours-per-week"] + 6
    current["workclass"] = current["workclass"].astype(object)
    current.loc[rng.random(rows) < 0.15, "workclass"] = "Gig-economy"
    return (pa.Table.from_pandas(baseline, preserve_index=False),
            pa.Table.from_pandas(current, preserve_index=False))


def write_data(rows: int, n_features: int, seed: int, workdir: Path, dataset: str = "synthetic"):
    import pyarrow.parquet as pq

    start = time.perf_counter()
    baseline = workdir / "baseline.parquet"
    current = workdir / "current.parquet"
    if dataset == "adult":
        tables = adult_tables(rows, seed)
    else:
        tables = make_table(rows, n_features, seed, drift=False), make_table(rows, n_features, seed + 1, drift=True)
    pq.write_table(tables[0], baseline, row_group_size=131072)
    pq.write_table(tables[1], current, row_group_size=131072)
    return str(baseline), str(current), time.perf_counter() - start


# --------------------------------------------------------------------------------------
# Worker side (runs in a subprocess, possibly under another interpreter)
# --------------------------------------------------------------------------------------


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _release_and_reset_peak() -> bool:
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _peak_mb(reset: bool) -> float:
    hwm = _status_mb("VmHWM") if reset else None
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _charter_task(spec: dict) -> dict:
    from charter.analytics.constraints import check, suggest_constraints
    from charter.analytics.statistics import profile_files

    t0 = time.perf_counter()
    base_stats = profile_files([spec["baseline"]], "parquet").to_statistics_json()
    t1 = time.perf_counter()
    cur_stats = profile_files([spec["current"]], "parquet").to_statistics_json()
    t2 = time.perf_counter()
    constraints = suggest_constraints(base_stats)
    violations = check(base_stats, constraints, cur_stats)
    t3 = time.perf_counter()
    flagged = sorted({v["feature_name"] for v in violations.get("violations", [])
                      if v.get("constraint_check_type") in ("baseline_drift_check", "categorical_values_check")})
    checks = sorted({f'{v["feature_name"]}:{v["constraint_check_type"]}' for v in violations.get("violations", [])})
    return {
        "phases": {"profile_baseline": t1 - t0, "profile_current": t2 - t1, "suggest_and_check": t3 - t2},
        "profile_seconds": t2 - t0,
        "flagged": flagged,
        "violations": checks,
    }


def _evidently_task(spec: dict) -> dict:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    t0 = time.perf_counter()
    reference = pd.read_parquet(spec["baseline"])
    current = pd.read_parquet(spec["current"])
    t1 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    result = snapshot.dict()
    t2 = time.perf_counter()
    flagged = []
    for metric in result.get("metrics", []):
        cfg = metric.get("config") or {}
        if cfg.get("type", "").endswith("ValueDrift"):
            value = float(metric["value"])
            threshold = float(cfg.get("threshold", 0.05))
            method = str(cfg.get("method", ""))
            # p-value methods drift below the threshold; distance methods above it.
            drifted = value < threshold if "p_value" in method else value >= threshold
            if drifted:
                flagged.append(cfg["column"])
    return {"phases": {"read_parquet": t1 - t0, "report": t2 - t1}, "flagged": sorted(flagged)}


def _whylogs_task(spec: dict) -> dict:
    import pandas as pd
    import whylogs as why

    t0 = time.perf_counter()
    reference = pd.read_parquet(spec["baseline"])
    current = pd.read_parquet(spec["current"])
    t1 = time.perf_counter()
    ref_view = why.log(reference).view()
    cur_view = why.log(current).view()
    summaries = (ref_view.to_pandas(), cur_view.to_pandas())
    t2 = time.perf_counter()
    return {"phases": {"read_parquet": t1 - t0, "profile": t2 - t1},
            "summary_shape": [list(s.shape) for s in summaries], "flagged": None}


TASKS = {"charter": _charter_task, "evidently": _evidently_task, "whylogs": _whylogs_task}
IMPORTS = {
    "charter": "charter.analytics.statistics",
    "evidently": "evidently",
    "whylogs": "whylogs",
}


def worker_main(spec_path: str) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    spec = json.loads(Path(spec_path).read_text())
    task = TASKS[spec["library"]]
    __import__(IMPORTS[spec["library"]])
    if spec["library"] == "evidently":
        import evidently.presets  # noqa: F401  (import cost outside the timing)
    runs = []
    for _ in range(spec["repeat"]):
        reset = _release_and_reset_peak()
        before = _rss_mb()
        start = time.perf_counter()
        detail = task(spec)
        seconds = time.perf_counter() - start
        peak = _peak_mb(reset)
        runs.append({"seconds": seconds, "peak_mb": max(peak - before, 0.0), "exact_peak": reset,
                     "detail": detail})
    best = min(runs, key=lambda r: r["seconds"])
    versions = {}
    for mod in ("pandas", "numpy", "pyarrow", spec["library"]):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001 - version lookup only
            pass
    out = dict(best, runs=[{"seconds": r["seconds"], "peak_mb": r["peak_mb"]} for r in runs],
               python=sys.executable, versions=versions)
    Path(spec["out"]).write_text(json.dumps(out))
    return 0


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def can_import(python: str, module: str) -> bool:
    try:
        return subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pick_peer_python(module: str, given: str | None) -> str | None:
    candidates = [given] if given else [str(BENCH_VENV_PYTHON), sys.executable]
    for python in candidates:
        if python and Path(python).exists() and can_import(python, module):
            return python
    return None


def run_worker(python: str, library: str, spec: dict, workdir: Path, timeout: float) -> dict:
    spec = dict(spec, library=library, out=str(workdir / f"{library}.out.json"))
    spec_path = workdir / f"{library}.spec.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    if library != "charter":
        # The peer's interpreter must not pick Charter's sources or site-packages up.
        env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    try:
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", str(spec_path)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0 or not Path(spec["out"]).exists():
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"],
                "stderr_tail": proc.stderr[-3000:]}
    out = json.loads(Path(spec["out"]).read_text())
    out["process_seconds"] = time.perf_counter() - started
    return out


def _fmt_s(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt_mb(side: dict | None) -> str:
    if not side or "peak_mb" not in side:
        return "-"
    return f"{'' if side.get('exact_peak') else '~'}{side['peak_mb']:.0f}"


def _ratio(a, b) -> str:
    if a is None or b is None or b <= 0:
        return "-"
    return f"{a / b:.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows per table (default 1000000)")
    parser.add_argument("--features", type=int, default=None, help="features per table (default 50)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows x 20 features")
    parser.add_argument("--dataset", choices=["synthetic", "adult"], default="synthetic",
                        help="adult: UCI Adult from ../shared/data replicated to --rows rows (15 columns)")
    parser.add_argument("--peer-python", default=None,
                        help="interpreter with evidently and whylogs (default: /tmp/bench-venv/bin/python "
                             "or this one, whichever can import the peer)")
    parser.add_argument("--only", choices=["charter", "evidently", "whylogs"], action="append",
                        help="run only these libraries (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per library")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a worker after this many s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None,
                        help="result file (default benchmarks/results/monitor.json, monitor-adult.json for --dataset adult)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.output is None:
        suffix = "" if args.dataset == "synthetic" else f"-{args.dataset}"
        args.output = str(ROOT / "benchmarks" / "results" / f"monitor{suffix}.json")
    if args.worker:
        return worker_main(args.worker)

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 130))
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    features = 15 if args.dataset == "adult" else args.features or (20 if args.quick else 50)
    libraries = args.only or ["charter", "evidently", "whylogs"]
    workdir = Path(tempfile.mkdtemp(prefix="charter-monitor-bench-"))
    try:
        console.print(f"generating {rows:,} x {features} {args.dataset} baseline and drifted current tables ...")
        baseline, current, gen_s = write_data(rows, features, args.seed, workdir, args.dataset)
        sizes = {p: os.path.getsize(p) / 2**20 for p in (baseline, current)}
        console.print(f"  written in {gen_s:.1f} s ({sum(sizes.values()):.0f} MiB of Parquet)")
        spec = {"baseline": baseline, "current": current, "repeat": args.repeat}
        load_before = os.getloadavg()
        results: dict[str, dict] = {}
        for lib in libraries:
            python = sys.executable if lib == "charter" else pick_peer_python(lib, args.peer_python)
            if python is None:
                console.print(f"[yellow]{lib}: no interpreter can import it; skipped "
                              f"(install it in {BENCH_VENV_PYTHON.parent.parent} or pass --peer-python)")
                results[lib] = {"error": "not installed"}
                continue
            console.print(f"running {lib} ({python}) ...")
            results[lib] = run_worker(python, lib, spec, workdir, args.timeout)
            if "error" in results[lib]:
                console.print(f"[red]{lib} failed: {results[lib]['error']}")
                console.print(results[lib].get("stderr_tail", ""))
            else:
                console.print(f"  {results[lib]['seconds']:.2f} s, peak {_fmt_mb(results[lib])} MB")
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ch = results.get("charter") or {}
    ch_ok = "error" not in ch and bool(ch)
    ch_total = ch.get("seconds") if ch_ok else None
    ch_profile = ch["detail"]["profile_seconds"] if ch_ok else None
    rows_out = []
    for lib, task, ch_s in (("evidently", "baseline + drift check (Evidently DataDriftPreset)", ch_total),
                            ("whylogs", "profile both tables (whylogs why.log)", ch_profile)):
        peer = results.get(lib) or {}
        ok = bool(peer) and "error" not in peer
        rows_out.append({
            "task": task, "peer": lib,
            "charter_seconds": ch_s, "peer_seconds": peer.get("seconds") if ok else None,
            "ratio": (peer["seconds"] / ch_s) if ok and ch_s else None,
            "charter_peak_mb": ch.get("peak_mb") if ch_ok else None,
            "peer_peak_mb": peer.get("peak_mb") if ok else None,
            "memory_ratio": (peer["peak_mb"] / ch["peak_mb"]) if ok and ch_ok and ch.get("peak_mb") else None,
        })

    table = Table(title=f"Model Monitor, {args.dataset}: {rows:,} rows x {features} features, baseline + current "
                        f"(ratio = peer / Charter; above 1 = Charter faster / smaller)")
    for col in ("task", "Charter s", "peer s", "ratio", "Charter peak MB", "peer peak MB", "MB ratio"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for r in rows_out:
        peer = results.get(r["peer"]) or {}
        table.add_row(r["task"], _fmt_s(r["charter_seconds"]),
                      _fmt_s(r["peer_seconds"]) if "error" not in peer else f"[red]{peer.get('error')}",
                      _ratio(r["peer_seconds"], r["charter_seconds"]),
                      _fmt_mb(ch if ch_ok else None), _fmt_mb(peer if "error" not in peer else None),
                      "-" if r["memory_ratio"] is None else f"{r['memory_ratio']:.1f}x")
    console.print(table)
    truth = ADULT_DRIFT if args.dataset == "adult" else drifted_features(features)
    console.print(f"drifted by construction: {', '.join(sorted(truth))}")
    if ch_ok:
        console.print(f"Charter flagged (drift/domain checks): {', '.join(ch['detail']['flagged']) or 'none'}")
        ph = ch["detail"]["phases"]
        console.print("Charter phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in ph.items()))
    ev = results.get("evidently") or {}
    if "error" not in ev and ev:
        console.print(f"Evidently flagged: {', '.join(ev['detail']['flagged']) or 'none'}")
        console.print("Evidently phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in ev["detail"]["phases"].items()))
    wl = results.get("whylogs") or {}
    if "error" not in wl and wl:
        console.print("whylogs phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in wl["detail"]["phases"].items()))
    console.print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
                  f"{os.cpu_count()} CPUs")

    out = {
        "dataset": args.dataset, "rows": rows, "features": features, "seed": args.seed, "repeat": args.repeat,
        "parquet_mib": sum(sizes.values()), "generate_seconds": gen_s,
        "drifted_by_construction": truth, "table": rows_out, "results": results,
        "load_average": {"before": load_before, "after": load_after},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, default=str))
    console.print(f"wrote {args.output}")
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
