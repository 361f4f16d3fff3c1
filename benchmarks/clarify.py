"""Clarify benchmark: Charter's bias metrics and Kernel SHAP against smclarify and shap.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/clarify.py              # full run: 1,000,000 rows (~5-10 min on 2 cores)
    .venv/bin/python benchmarks/clarify.py --quick      # smoke run (~30 s)
    .venv/bin/python benchmarks/clarify.py --skip-shap  # bias only
    .venv/bin/python benchmarks/clarify.py --dataset adult    # the real tables of ../shared/data:
    .venv/bin/python benchmarks/clarify.py --dataset german   #   adult, german, compas (whole
    .venv/bin/python benchmarks/clarify.py --dataset compas   #   tables, a few minutes each)

Method
------
``--dataset synthetic`` (the default) is the scale-up described in 1 and 2;
``--dataset adult|german|compas`` runs the same comparison on a real table of
``../shared/data`` (see "Real tables" below).

1. Bias.  The data is the seeded Adult-like table of the unit tests
   (``tests/unit/synthetic_credit.adult``) generated at ``--rows`` rows: label
   ``income`` (positive ">50K"), prediction ``income_pred``, numeric features
   ``education_num``, ``hours_per_week``, ``fnlwgt`` for the flip test.  Four
   reports, each computed by both libraries from the same numpy columns:

   - pre-training, facet ``sex`` = "Female" (binary), group variable
     ``occupation``: all 8 pre-training metrics;
   - post-training, same facet: all 13 post-training metrics, FT included;
   - pre-training, facet ``race`` with no value given, so one report per each
     of its 5 values (Clarify's multi-category behaviour), group variable
     ``marital_status``;
   - post-training, same facet: all 13 metrics for each of the 5 values.

   Charter runs ``charter.analytics.bias.bias_report``; smclarify 0.5 runs its
   ``bias_report`` through ``tests/unit/bias_oracle.oracle_report``, which
   builds the DataFrame and column descriptions the way the unit tests (and a
   Clarify job) do.  Each library's time includes turning the numpy columns
   into its own input (smclarify: pandas Series/DataFrame; Charter: stacking
   the feature matrix).  ``--ft-rows N`` takes FT out of the post-training
   reports and times it on its own on the first N rows instead (for machines
   where smclarify's FT at full size would take too long; by default FT is
   part of the full-size post-training reports).
2. SHAP.  Charter's ``kernel_shap`` against ``shap.KernelExplainer`` exactly as
   ``benchmarks/explain.py`` sets them up (its ``make_adult`` data and
   feature names are imported from it): HistGradientBoosting on 30,000 rows,
   a 1-row k-means baseline from ``compute_baseline``, shap's default number of
   coalitions (2M+2048), ``l1_reg=False``, model predict on one OpenMP thread,
   ``--shap-rows`` held-out rows explained by both.  The model is fitted once
   here and handed to both workers, so both explain the same model.
3. Every (library, task) runs in a fresh subprocess, so neither library's
   imports, caches or memory high-water mark touch the other's.  In it the
   data is generated (or loaded), the library imported, freed memory handed
   back to the OS (``malloc_trim``) and the kernel's peak-RSS counter reset
   (``/proc/self/clear_refs``); then the task runs.  "peak MB" is the peak
   resident memory during the task minus the resident memory just before it:
   what the computation itself needed on top of its input.  Where the counter
   cannot be reset it falls back to ``ru_maxrss`` minus the starting RSS
   (marked ``~``).  Wall time is the best of up to ``--repeat`` runs (default
   3), stopping after the first run that brings the task's total past
   ``--budget`` seconds (default 20), so slow tasks run once.
4. Agreement.  Bias: every metric of every facet value is compared with
   ``bias_oracle.compare_reports`` (1e-9; errors must match errors) and the
   largest absolute difference over the values both computed is printed.
   SHAP: max |difference| of the local values, also relative to the largest
   |f(x) - E[f]|, and their correlation (sampled Kernel SHAP agrees
   statistically, not bit for bit; see explain.py).
5. Print a Rich table (ratio = peer time / Charter time; above 1 means Charter
   is faster), the load average before and after, and write
   ``benchmarks/results/clarify.json``.  Exit status 1 if any bias report
   disagrees.

Real tables
-----------
``--dataset adult`` (48,842 rows, train and test files), ``german`` (1,000) or
``compas`` (6,172, ProPublica's filter), loaded with ``charter.datasets.fairness``.
Text columns are given to both libraries as a Clarify job reading the CSV sees
them (Adult's missing values spelt ``?``).  Post-training predictions come from
a model fitted here on a training split (Adult's train file, 70% of the others)
and applied to the whole table; for COMPAS they are ProPublica's binarisation
of the score (``score_text`` Medium/High = predicted 1; favourable label 0).
Reports (``REAL_TASKS``): Adult sex=Female and race (5 values), German credit
age > 25 and personal_status_sex (4 values), COMPAS race (6 values) and
sex=Female, each pre- and post-training with all metrics, FT on the table's
numeric columns.  SHAP: a HistGradientBoostingClassifier on the table's
features (text coded by sorted value, declared categorical), fitted on the
training split, explaining ``--shap-rows`` held-out rows (default 1,000, or
all 300 for German credit) with the same 1-row k-means baseline in both
libraries, exactly as in 2.

Caveats
-------
- One machine, shared with whatever else runs on it: the load average is
  printed because other processes skew both columns.  Compare only runs from
  the same machine.
- smclarify recomputes the facet and label masks per metric and walks rows in
  Python for FT; Charter computes the masks once per report.  The reports are
  the same, the work done to get them is not.
- Peak memory is resident memory, page-granular, and includes the
  allocator's own slack; treat small numbers (a few MB) as noise.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT / "tests" / "unit", ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

PRE, POST = "pre_training", "post_training"
ALL_POST_BUT_FT = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]

# (key, label for the table, facet, facet values, stage, group variable)
BIAS_TASKS = [
    ("pre_sex", "pre-training, sex (binary)", "sex", ["Female"], PRE, "occupation"),
    ("post_sex", "post-training, sex (binary)", "sex", ["Female"], POST, "occupation"),
    ("pre_race", "pre-training, race (5 values)", "race", None, PRE, "marital_status"),
    ("post_race", "post-training, race (5 values)", "race", None, POST, "marital_status"),
]

# The real tables: (label, positive label values, predicted label column, FT features, tasks).
REAL_TASKS = {
    "adult": [
        ("pre_sex", "pre-training, sex (binary)", "sex", ["Female"], PRE, "occupation"),
        ("post_sex", "post-training, sex (binary)", "sex", ["Female"], POST, "occupation"),
        ("pre_race", "pre-training, race (5 values)", "race", None, PRE, "marital-status"),
        ("post_race", "post-training, race (5 values)", "race", None, POST, "marital-status"),
    ],
    "german": [
        ("pre_age", "pre-training, age > 25 (continuous)", "age", [25], PRE, "purpose"),
        ("post_age", "post-training, age > 25 (continuous)", "age", [25], POST, "purpose"),
        ("pre_status", "pre-training, personal_status_sex (4 values)", "personal_status_sex", None, PRE, "purpose"),
        ("post_status", "post-training, personal_status_sex (4 values)", "personal_status_sex", None, POST,
         "purpose"),
    ],
    "compas": [
        ("pre_race", "pre-training, race (6 values)", "race", None, PRE, "age_cat"),
        ("post_race", "post-training, race (6 values)", "race", None, POST, "age_cat"),
        ("pre_sex", "pre-training, sex (binary)", "sex", ["Female"], PRE, "age_cat"),
        ("post_sex", "post-training, sex (binary)", "sex", ["Female"], POST, "age_cat"),
    ],
}

QUICK = {"rows": 20_000, "shap_rows": 50, "train_rows": 5_000, "repeat": 1}


# --------------------------------------------------------------------------
# Memory: resident set size of this process, with a resettable high-water mark
# --------------------------------------------------------------------------


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _release_and_reset_peak() -> bool:
    """Hand freed heap back to the OS and reset the peak-RSS counter; True if the reset worked."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # "reset the peak resident set size" (proc(5))
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    current = _status_mb("VmRSS")
    return current if current is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb(reset: bool) -> float:
    peak = _status_mb("VmHWM") if reset else None
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(run, full, warm_up, repeat: int, budget: float) -> dict:
    """``run(full)`` up to ``repeat`` times (stop once ``budget`` s are spent); times and memory.

    ``run(warm_up)`` on a small input goes first, unmeasured, so that lazy
    imports and first-call set-up are not counted.
    """
    run(warm_up)
    reset = _release_and_reset_peak()
    before = _rss_mb()
    times, result = [], None
    while len(times) < max(1, repeat):
        start = time.perf_counter()
        result = run(full)
        times.append(time.perf_counter() - start)
        if len(times) == 1:
            peak = _peak_mb(reset)  # the first run sets the high-water mark
        if sum(times) >= budget:
            break
    return {
        "result": result,
        "times_s": times,
        "best_s": min(times),
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "peak_mb": max(0.0, peak - before),
        "peak_exact": reset,
    }


# --------------------------------------------------------------------------
# Workers (each runs in its own subprocess)
# --------------------------------------------------------------------------


def _bias_worker(spec: dict) -> dict:
    import synthetic_credit

    if spec.get("table"):
        with open(spec["table"], "rb") as handle:
            data = pickle.load(handle)
    else:
        data = synthetic_credit.adult(spec["rows"], seed=spec["seed"])
    features = [f for f in data.features if f != spec["facet"]]
    if spec["rows_limit"]:
        data = data.head(spec["rows_limit"])
    facet, values, stage, group = spec["facet"], spec["values"], spec["stage"], spec["group"]
    methods = spec["methods"]
    use_features = methods == ["all"] or "FT" in methods

    if spec["library"] == "charter":
        from charter.analytics import bias

        def run(data):
            return bias.bias_report(
                data[data.label],
                data[facet],
                label_values_or_threshold=data.positive,
                facet_values_or_threshold=values,
                stage=stage,
                predicted_label=data[data.predicted] if stage == POST else None,
                group_variable=data[group] if group else None,
                features=np.column_stack([data[f] for f in features]) if use_features else None,
                methods=methods,
            )

    else:
        from bias_oracle import oracle_report

        def run(data):
            return oracle_report(
                data,
                facet=facet,
                facet_values=values,
                stage=stage,
                group=group,
                features=features if use_features else None,
                methods=methods,
            )

    return _measure(run, data, data.head(min(len(data), 5_000)), spec["repeat"], spec["budget"])


def _shap_worker(spec: dict) -> dict:
    from threadpoolctl import threadpool_limits

    with open(spec["inputs"], "rb") as handle:
        inputs = pickle.load(handle)
    threadpool_limits(limits=1, user_api="openmp")
    model, rows, names = inputs["model"], inputs["rows"], inputs["feature_names"]

    def predict(matrix: np.ndarray) -> np.ndarray:
        return model.predict_proba(matrix)[:, 1]

    if spec["library"] == "charter":
        from charter.analytics.explain import ShapConfig, kernel_shap

        def run(rows):
            result = kernel_shap(
                predict,
                rows,
                ShapConfig(num_clusters=1, seed=spec["seed"]),
                feature_names=names,
                batch_size=500_000,
                baseline_source=inputs["train"],
            )
            return result.local_values, float(result.expected_value)

    else:
        import shap
        from shap.utils._legacy import DenseData

        def run(rows):
            explainer = shap.KernelExplainer(
                predict, DenseData(inputs["baseline"], names, None, inputs["weights"].copy())
            )
            np.random.seed(spec["seed"])
            values = explainer.shap_values(rows, nsamples="auto", l1_reg=False, silent=True)
            return np.asarray(values), float(explainer.expected_value)

    measured = _measure(run, rows, rows[:2], spec["repeat"], spec["budget"])
    values, expected = measured.pop("result")
    np.save(spec["values_out"], values)
    measured["result"] = {"expected_value": expected}
    return measured


# --------------------------------------------------------------------------
# The real tables of ../shared/data
# --------------------------------------------------------------------------

ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
GERMAN_NUMERIC = ["duration", "credit_amount", "installment_rate", "residence_since", "age", "existing_credits",
                  "num_dependents"]  # fmt: skip
COMPAS_NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"]
COMPAS_FEATURES = ["sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
                   "c_charge_degree"]  # fmt: skip


def _coded(frame, features: list[str]) -> tuple[np.ndarray, list[bool]]:
    """Features as a float matrix, text coded by its sorted values; which columns are text."""
    import pandas as pd

    text = [frame[c].dtype.kind not in "biuf" for c in features]
    columns = [
        pd.Categorical(frame[c], categories=sorted(frame[c].unique())).codes.astype(np.float64)
        if is_text else frame[c].to_numpy(dtype=np.float64)
        for c, is_text in zip(features, text)
    ]
    return np.column_stack(columns), text


def real_table(name: str, seed: int) -> dict:
    """The bias table (with a trained model's predictions) and the SHAP inputs of one real data set."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from synthetic_credit import Dataset  # the named-columns table the oracle reads

    from charter.datasets import fairness

    if name == "adult":
        table = fairness.adult("all")
        train = np.arange(len(table)) < len(fairness.adult("train"))
        label, positive, numeric = "income", [">50K"], ADULT_NUMERIC
        features = [c for c in table.columns if c != "income"]
    elif name == "german":
        table = fairness.german()
        train = np.random.default_rng(seed).permutation(len(table)) < 700
        label, positive, numeric = "class", [1], GERMAN_NUMERIC
        features = [c for c in table.columns if c not in ("class", "sex")]
    else:
        table = fairness.compas()
        train = np.random.default_rng(seed).permutation(len(table)) < round(0.7 * len(table))
        label, positive, numeric = "two_year_recid", [0], COMPAS_NUMERIC
        features = COMPAS_FEATURES
    for column in table.columns:  # as a Clarify job reading the CSV sees text: missing is "?"
        if table[column].dtype.kind not in "biuf":
            table[column] = table[column].fillna("?")
    X, text = _coded(table, features)
    y = (table[label] == positive[0]).to_numpy()
    model = HistGradientBoostingClassifier(categorical_features=text, random_state=seed).fit(X[train], y[train])
    if name == "compas":
        predicted = (table["score_text"] != "Low").astype(np.int64).to_numpy()  # ProPublica: Medium/High = 1
    else:
        labels = np.array([positive[0], table[label][table[label] != positive[0]].iloc[0]], dtype=object)
        predicted = labels[(~model.predict(X)).astype(int)]
        predicted = predicted.astype(table[label].dtype) if table[label].dtype.kind in "iu" else predicted
    columns = {
        c: table[c].to_numpy() if table[c].dtype.kind in "biuf" else table[c].to_numpy(dtype=object)
        for c in table.columns
    }
    columns["predicted"] = predicted
    return {
        "data": Dataset(name, columns, label, positive, "predicted", numeric),
        "shap": {"train": X[train], "y": y[train], "rows": X[~train], "feature_names": features, "text": text},
    }


def worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    out = _shap_worker(spec) if spec["kind"] == "shap" else _bias_worker(spec)
    Path(spec["out"]).write_text(json.dumps(out))
    return 0


def _run_worker(spec: dict, workdir: Path, timeout: float | None) -> dict:
    name = f"{spec['kind']}-{spec.get('task', 'shap')}-{spec['library']}"
    spec = dict(spec, out=str(workdir / f"{name}.out.json"))
    spec_path = workdir / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    wall = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{name} worker failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    result = json.loads(Path(spec["out"]).read_text())
    result["process_s"] = time.perf_counter() - wall
    return result


# --------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------


def _as_float(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value)
    return float(value)


def bias_agreement(ours: list[dict], theirs: list[dict]) -> dict:
    from bias_oracle import compare_reports

    problems = compare_reports(ours, theirs)
    worst, compared = 0.0, 0
    for group_ours, group_theirs in zip(ours, theirs):
        for mine, ref in zip(group_ours["metrics"], group_theirs["metrics"]):
            a, b = _as_float(mine.get("value")), _as_float(ref.get("value"))
            if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
                continue
            compared += 1
            worst = max(worst, abs(a - b))
    metrics = sum(len(g["metrics"]) for g in ours)
    return {"problems": problems, "max_abs_diff": worst, "values_compared": compared, "metrics": metrics}


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("numpy", "pandas", "smclarify", "shap", "scikit-learn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def run_bias(args, workdir: Path, console, table: str | None = None, task_list=BIAS_TASKS) -> list[dict]:
    rows_out = []
    tasks = []
    for key, label, facet, values, stage, group in task_list:
        if stage == POST and args.ft_rows:
            tasks.append((key, label + ", no FT", facet, values, stage, group, ALL_POST_BUT_FT, 0))
        else:
            tasks.append((key, label, facet, values, stage, group, ["all"], 0))
    if args.ft_rows:
        for key, label, facet, values, stage, group in task_list:
            if stage == POST:
                tasks.append(
                    (f"ft_{key.split('_')[1]}", f"FT only, {label.split(', ')[1]}, {args.ft_rows:,} rows",
                     facet, values, stage, None, ["FT"], args.ft_rows)
                )
    for key, label, facet, values, stage, group, methods, limit in tasks:
        measured = {}
        for library in ("charter", "smclarify"):
            spec = {
                "kind": "bias", "task": key, "library": library, "rows": args.rows, "rows_limit": limit,
                "seed": args.seed, "facet": facet, "values": values, "stage": stage, "group": group,
                "methods": methods, "repeat": args.repeat, "budget": args.budget, "table": table,
            }
            console.print(f"  {label}: {library} ...", end="")
            measured[library] = _run_worker(spec, workdir, args.timeout)
            console.print(f" {measured[library]['best_s']:.2f} s")
        agreement = bias_agreement(measured["charter"]["result"], measured["smclarify"]["result"])
        rows_out.append({
            "task": key,
            "label": label,
            "rows": limit or args.rows,
            "facet": facet,
            "facet_values": values,
            "stage": stage,
            "group_variable": group,
            "methods": methods,
            "facet_groups": [g["value_or_threshold"] for g in measured["charter"]["result"]],
            "charter": {k: v for k, v in measured["charter"].items() if k != "result"},
            "peer": {k: v for k, v in measured["smclarify"].items() if k != "result"},
            "agreement": agreement,
        })
    return rows_out


def run_shap(args, workdir: Path, console, real: dict | None = None) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from charter.analytics.explain import compute_baseline

    if real is None:
        from explain import FEATURES, make_adult  # benchmarks/explain.py

        X, y = make_adult(args.train_rows + args.shap_rows, seed=args.seed)
        X_train, y_train, rows = X[: args.train_rows], y[: args.train_rows], X[args.train_rows :]
        text = None
    else:
        FEATURES, X_train, y_train, text = real["feature_names"], real["train"], real["y"], real["text"]
        rows = real["rows"][: args.shap_rows]
        args.shap_rows, args.train_rows = len(rows), len(X_train)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=args.seed, categorical_features=text)
    model.fit(X_train, y_train)
    baseline, weights = compute_baseline(X_train, 1, seed=args.seed)
    inputs = workdir / "shap-inputs.pkl"
    with open(inputs, "wb") as handle:
        pickle.dump(
            {"model": model, "rows": rows, "train": X_train, "baseline": baseline, "weights": weights,
             "feature_names": FEATURES},
            handle,
        )
    measured, values = {}, {}
    for library in ("charter", "shap"):
        out = workdir / f"shap-values-{library}.npy"
        spec = {"kind": "shap", "library": library, "inputs": str(inputs), "values_out": str(out),
                "seed": args.seed, "repeat": args.repeat, "budget": args.budget}
        console.print(f"  SHAP, {args.shap_rows:,} rows: {library} ...", end="")
        measured[library] = _run_worker(spec, workdir, args.timeout)
        values[library] = np.load(out)
        console.print(f" {measured[library]['best_s']:.2f} s")
    with threadpool_limits(limits=1, user_api="openmp"):
        prediction = model.predict_proba(rows)[:, 1]
    mine, theirs = values["charter"], values["shap"]
    expected = measured["charter"]["result"]["expected_value"]
    scale = float(np.max(np.abs(prediction - expected)))
    diff = np.abs(mine - theirs)
    agreement = {
        "max_abs_diff": float(diff.max()),
        "max_abs_diff_over_scale": float(diff.max() / scale) if scale else None,
        "rms_diff": float(np.sqrt((diff**2).mean())),
        "correlation": float(np.corrcoef(mine.ravel(), theirs.ravel())[0, 1]),
        "expected_value_diff": abs(expected - measured["shap"]["result"]["expected_value"]),
        "efficiency_error_charter": float(np.max(np.abs(expected + mine.sum(1) - prediction))),
    }
    return {
        "task": "shap",
        "label": f"Kernel SHAP, {args.shap_rows:,} rows",
        "rows": args.shap_rows,
        "train_rows": args.train_rows,
        "features": len(FEATURES),
        "charter": {k: v for k, v in measured["charter"].items() if k != "result"},
        "peer": {k: v for k, v in measured["shap"].items() if k != "result"},
        "agreement": agreement,
    }


def _mb(side: dict) -> str:
    return f"{'' if side['peak_exact'] else '~'}{side['peak_mb']:,.0f}"


def render(results: dict):
    from rich.table import Table

    table = Table(
        title=f"Clarify: Charter vs smclarify {results['versions']['smclarify']} / shap {results['versions']['shap']}"
        f" ({results.get('dataset', 'synthetic')}: {results['rows']:,} rows for bias)"
    )
    for name, justify in [("task", "left"), ("Charter s", "right"), ("peer s", "right"), ("ratio", "right"),
                          ("Charter peak MB", "right"), ("peer peak MB", "right"), ("agreement", "left")]:
        table.add_column(name, justify=justify, no_wrap=name != "agreement")
    for row in results["tasks"]:
        agreement = row["agreement"]
        if row["task"] == "shap":
            peer = "shap"
            agreed = (
                f"max |Δ| {agreement['max_abs_diff']:.1e} ({agreement['max_abs_diff_over_scale']:.2%} of max "
                f"|f-E f|), corr {agreement['correlation']:.7f}"
            )
        else:
            peer = "smclarify"
            verdict = "equal" if not agreement["problems"] else f"[red]{len(agreement['problems'])} DIFFER[/red]"
            agreed = (
                f"{verdict}: max |Δ| {agreement['max_abs_diff']:.1e} over {agreement['values_compared']}"
                f"/{agreement['metrics']} values"
            )
        charter_s, peer_s = row["charter"]["best_s"], row["peer"]["best_s"]
        table.add_row(
            f"{row['label']} ({peer})", f"{charter_s:.3f}", f"{peer_s:.3f}", f"{peer_s / charter_s:.1f}x",
            _mb(row["charter"]), _mb(row["peer"]), agreed,
        )
    bias_rows = [r for r in results["tasks"] if r["task"] != "shap"]
    if bias_rows:
        charter_total = sum(r["charter"]["best_s"] for r in bias_rows)
        peer_total = sum(r["peer"]["best_s"] for r in bias_rows)
        problems = sum(len(r["agreement"]["problems"]) for r in bias_rows)
        worst = max(r["agreement"]["max_abs_diff"] for r in bias_rows)
        table.add_section()
        table.add_row(
            "all bias reports (sum; peak = max)", f"{charter_total:.3f}", f"{peer_total:.3f}",
            f"{peer_total / charter_total:.1f}x",
            f"{max(r['charter']['peak_mb'] for r in bias_rows):,.0f}",
            f"{max(r['peer']['peak_mb'] for r in bias_rows):,.0f}",
            ("equal" if not problems else f"[red]{problems} DIFFER[/red]") + f": max |Δ| {worst:.1e}",
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows of the bias table (default 1000000)")
    parser.add_argument("--shap-rows", type=int, default=None, help="rows explained with SHAP (default 1000)")
    parser.add_argument("--train-rows", type=int, default=None, help="SHAP model training rows (default 30000)")
    parser.add_argument("--skip-shap", action="store_true", help="bias only")
    parser.add_argument("--skip-bias", action="store_true", help="SHAP only")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK['rows']:,} rows, {QUICK['shap_rows']} SHAP rows, one run each")
    parser.add_argument("--ft-rows", type=int, default=0,
                        help="leave FT out of the post-training reports and time it alone on this many rows")
    parser.add_argument("--repeat", type=int, default=None, help="best of up to this many runs per task (default 3)")
    parser.add_argument("--budget", type=float, default=20.0, help="stop repeating a task after this many seconds")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on one worker after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", choices=["synthetic", "adult", "german", "compas"], default="synthetic",
                        help="the synthetic scale-up (default) or a real table of ../shared/data")
    parser.add_argument("--output", default=None,
                        help="results file (default benchmarks/results/clarify.json, or clarify-DATASET.json)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker)

    preset = QUICK if args.quick else {"rows": 1_000_000, "shap_rows": 1_000, "train_rows": 30_000, "repeat": 3}
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.output is None:
        suffix = "" if args.dataset == "synthetic" else f"-{args.dataset}"
        args.output = str(ROOT / "benchmarks" / "results" / f"clarify{suffix}.json")
    real = None
    if args.dataset != "synthetic":
        real = real_table(args.dataset, args.seed)
        args.rows = len(real["data"])
        args.shap_rows = min(args.shap_rows, len(real["shap"]["rows"]))

    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=200)
    load_before = _load()
    started = time.perf_counter()
    what = "Adult-like" if real is None else f"real {args.dataset}"
    console.print(
        f"Clarify benchmark: bias on {args.rows:,} {what} rows"
        + ("" if args.skip_shap else f", SHAP on {args.shap_rows:,} rows")
        + f"; {os.cpu_count()} CPUs, load average {load_before} (1/5/15 min)"
    )
    results = {
        "dataset": args.dataset,
        "rows": args.rows,
        "shap_rows": None if args.skip_shap else args.shap_rows,
        "ft_rows": args.ft_rows or None,
        "repeat": args.repeat,
        "budget_s": args.budget,
        "seed": args.seed,
        "load_average_before": load_before,
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "tasks": [],
    }
    out = Path(args.output)
    with tempfile.TemporaryDirectory(prefix="clarify-bench-") as tmp:
        workdir = Path(tmp)
        table, tasks = None, BIAS_TASKS
        if real is not None:
            table, tasks = str(workdir / "table.pkl"), REAL_TASKS[args.dataset]
            with open(table, "wb") as handle:
                pickle.dump(real["data"], handle)
        if not args.skip_bias:
            results["tasks"].extend(run_bias(args, workdir, console, table, tasks))
        if not args.skip_shap:
            results["tasks"].append(run_shap(args, workdir, console, None if real is None else real["shap"]))
    results["load_average_after"] = _load()
    results["total_s"] = time.perf_counter() - started

    console.print()
    console.print(render(results))
    console.print(
        f"ratio = peer s / Charter s (above 1: Charter faster); times are the best of up to {args.repeat} run(s); "
        "peak MB = peak RSS during the task above the RSS just before it (~ = fallback to ru_maxrss)."
    )
    console.print(
        f"load average (1/5/15 min): before {load_before}, after {results['load_average_after']}; "
        f"{os.cpu_count()} CPUs; whole run {results['total_s']:.0f} s"
    )
    for row in results["tasks"]:
        for problem in row["agreement"].get("problems", [])[:10]:
            console.print(f"[red]{row['task']}: {problem}[/red]")

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {out}")
    return 1 if any(row["agreement"].get("problems") for row in results["tasks"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
