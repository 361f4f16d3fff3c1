"""Explanations benchmark: charter.analytics.explain versus the shap library, in one run.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/explain.py                      # 1,000 rows, 1-row baseline (~2 min)
    .venv/bin/python benchmarks/explain.py --rows 200           # smoke run (~20 s)
    .venv/bin/python benchmarks/explain.py --num-clusters 10 --shap-rows 50   # 10-row k-means baseline

Method
------
1. Generate an Adult-like census table deterministically (``--train-rows`` rows, default
   30,000; twelve numeric-coded columns: age, workclass, education_num, marital_status,
   occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week,
   native_country; label income>50K from a noisy logistic rule) and fit scikit-learn's
   ``HistGradientBoostingClassifier`` on it.  The model explained is the probability of
   the positive class, ``predict_proba(X)[:, 1]``.
2. Baseline: k-means of the training rows with ``--num-clusters`` centres (default 1,
   i.e. one representative row; centres snapped to observed values and weighted by
   cluster size), computed by ``charter.analytics.explain.compute_baseline``.  Charter
   computes it itself from ``num_clusters`` (checked equal); shap is given the *same*
   rows and weights as a weighted ``DenseData``.
3. Explain the first ``--rows`` rows (default 1,000) of a held-out sample with
   - Charter: ``kernel_shap`` (``num_samples`` = ``--num-samples``, default shap's
     ``2 M + 2048``; ``seed`` 0; model called on up to ``--batch-size`` rows a call);
   - shap: ``KernelExplainer(f, DenseData(baseline, weights)).shap_values(rows,
     nsamples=..., l1_reg=False)`` (no L1 feature selection, which is what Kernel SHAP
     with ``l1_reg="auto"`` did at this sampling fraction and what Charter computes).
   Each explainer's wall time covers everything it does, model calls included.
   ``--shap-rows`` explains only that many rows with shap and scales its time linearly to
   ``--rows`` (shap's cost is per row); the table says so when it is used.
4. Print times, rows per second, the speed ratio (shap time / Charter time, above 1 means
   Charter is faster) and the agreement of the values on the rows both explained:
   correlation, max |difference| relative to the largest |f(x) - E[f]|, RMS difference,
   and the efficiency check (``expected + sum(phi) == f(x)``) for each.  With
   ``--pdp`` it also times ``partial_dependence`` against scikit-learn's brute-force
   ``sklearn.inspection.partial_dependence`` on the same grid.  Writes
   ``benchmarks/results/explain.json``.

Caveats
-------
- Both explainers share the machine and the model; the model's own predict cost is part
  of both times and is the floor for both (Charter makes the same number of model
  evaluations as shap, in far fewer, larger calls).
- Sampled Kernel SHAP is random: the two use different random streams, so values agree
  statistically (same estimator), not bit for bit, except where every coalition is
  enumerated (rows with few varying features), where they agree to rounding.
- One run; repeat it for confidence and compare only runs from the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from charter.analytics.explain import (  # noqa: E402
    PdpConfig,
    ShapConfig,
    compute_baseline,
    kernel_shap,
    partial_dependence,
)

sys.path.insert(0, str(ROOT / "tests" / "unit"))
from synthetic_credit import ADULT_NUMERIC_FEATURES as FEATURES  # noqa: E402
from synthetic_credit import adult_numeric as make_adult  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows to explain (default 1000)")
    parser.add_argument("--train-rows", type=int, default=30000)
    parser.add_argument("--num-clusters", type=int, default=1, help="k-means baseline size (default 1)")
    parser.add_argument("--num-samples", type=int, default=None, help="coalitions per row (default 2M+2048)")
    parser.add_argument("--batch-size", type=int, default=500_000, help="max rows per model call (Charter)")
    parser.add_argument("--shap-rows", type=int, default=None, help="explain only this many rows with shap and scale its time")
    parser.add_argument("--pdp", action="store_true", help="also time partial dependence against scikit-learn")
    parser.add_argument("--model-threads", type=int, default=1,
                        help="OpenMP threads for the model's predict, both explainers (default 1; 0 = library default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    args = parser.parse_args()

    import shap
    import sklearn
    from shap.utils._legacy import DenseData
    from sklearn.ensemble import HistGradientBoostingClassifier

    if args.model_threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.model_threads, user_api="openmp")

    X, y = make_adult(args.train_rows + args.rows, seed=args.seed)
    X_train, y_train = X[: args.train_rows], y[: args.train_rows]
    rows = X[args.train_rows :]
    t0 = time.perf_counter()
    model = HistGradientBoostingClassifier(max_iter=100, random_state=args.seed).fit(X_train, y_train)
    fit_s = time.perf_counter() - t0

    def predict(A: np.ndarray) -> np.ndarray:
        return model.predict_proba(A)[:, 1]

    baseline, weights = compute_baseline(X_train, args.num_clusters, seed=args.seed)
    # the kernel computes the same k-means baseline itself from the training rows
    config = ShapConfig(num_clusters=args.num_clusters, seed=args.seed, num_samples=args.num_samples)

    print(
        f"Adult-like data: {args.train_rows} training rows, {len(FEATURES)} features; "
        f"model: HistGradientBoostingClassifier ({model.n_iter_} trees, fit {fit_s:.1f} s, "
        f"predict threads: {args.model_threads or 'library default'})"
    )
    print(f"baseline: {len(baseline)} row(s) (k-means, weights {np.round(weights, 3).tolist()})")

    t0 = time.perf_counter()
    ours = kernel_shap(predict, rows, config, feature_names=FEATURES, batch_size=args.batch_size,
                       baseline_source=X_train)
    charter_s = time.perf_counter() - t0
    assert np.allclose(ours.baseline, baseline) and np.allclose(ours.baseline_weights, weights)

    shap_n = min(args.rows, args.shap_rows) if args.shap_rows else args.rows
    explainer = shap.KernelExplainer(predict, DenseData(baseline, FEATURES, None, weights.copy()))
    np.random.seed(args.seed)
    t0 = time.perf_counter()
    theirs = explainer.shap_values(
        rows[:shap_n], nsamples=args.num_samples or "auto", l1_reg=False, silent=True
    )
    shap_measured_s = time.perf_counter() - t0
    shap_s = shap_measured_s * args.rows / shap_n

    ratio = shap_s / charter_s
    mine = ours.local_values[:shap_n]
    scale = float(np.max(np.abs(ours.predictions - ours.expected)))
    diff = np.abs(mine - theirs)
    corr = float(np.corrcoef(mine.ravel(), theirs.ravel())[0, 1])
    eff_ours = float(np.max(np.abs(ours.expected_value + ours.local_values.sum(1) - predict(rows))))
    eff_shap = float(np.max(np.abs(explainer.expected_value + theirs.sum(1) - predict(rows[:shap_n]))))
    varying = sorted(ours.num_samples.items())

    print()
    print(f"{'':28}{'Charter':>14}{'shap':>14}")
    print(f"{'rows explained':28}{args.rows:>14}{shap_n:>14}")
    print(f"{'wall time (s)':28}{charter_s:>14.2f}{shap_measured_s:>14.2f}")
    if shap_n != args.rows:
        print(f"{'shap time scaled to rows (s)':28}{'':>14}{shap_s:>14.2f}")
    print(f"{'rows per second':28}{args.rows / charter_s:>14.1f}{args.rows / shap_s:>14.1f}")
    print(f"{'model calls':28}{ours.model_calls:>14}{2 * shap_n:>14}")
    print(f"{'expected value':28}{ours.expected_value:>14.6f}{explainer.expected_value:>14.6f}")
    print(f"{'max |efficiency error|':28}{eff_ours:>14.2e}{eff_shap:>14.2e}")
    print()
    print(f"speed ratio (shap / Charter): {ratio:.2f}x")
    print(
        f"agreement on {shap_n} rows: correlation {corr:.6f}, max |diff| {diff.max():.2e} "
        f"({diff.max() / scale:.2%} of max |f(x)-E[f]| = {scale:.3f}), RMS diff {np.sqrt((diff ** 2).mean()):.2e}"
    )
    print(f"coalitions per row by number of varying features M: {dict(varying)}")
    print()
    print(f"{'feature':18}{'global (Charter)':>18}{'global (shap)':>16}")
    theirs_global = np.abs(theirs).mean(axis=0)
    mine_global = np.abs(mine).mean(axis=0)
    for name, a, b in sorted(zip(FEATURES, mine_global, theirs_global), key=lambda t: -t[1]):
        print(f"{name:18}{a:>18.5f}{b:>16.5f}")

    result = {
        "rows": args.rows,
        "shap_rows": shap_n,
        "train_rows": args.train_rows,
        "baseline_rows": int(len(baseline)),
        "num_samples": args.num_samples or "auto (2M+2048)",
        "model_threads": args.model_threads or "library default",
        "charter_s": charter_s,
        "shap_measured_s": shap_measured_s,
        "shap_s": shap_s,
        "ratio": ratio,
        "correlation": corr,
        "max_abs_diff": float(diff.max()),
        "max_abs_diff_over_scale": float(diff.max() / scale),
        "rms_diff": float(np.sqrt((diff ** 2).mean())),
        "efficiency_error_charter": eff_ours,
        "efficiency_error_shap": eff_shap,
        "charter_model_calls": ours.model_calls,
        "charter_model_rows": ours.model_rows,
        "versions": {"shap": shap.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }

    if args.pdp:
        from sklearn.inspection import partial_dependence as sk_pd

        pdp_features = ["age", "education_num", "hours_per_week", "capital_gain", "marital_status"]
        t0 = time.perf_counter()
        pd_ours = partial_dependence(
            predict, rows, PdpConfig(features=tuple(pdp_features), grid_resolution=15), feature_names=FEATURES,
            batch_size=args.batch_size,
        )
        pd_charter_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        worst = 0.0
        for res in pd_ours:
            j = FEATURES.index(res.feature_name)
            sk = sk_pd(model, rows, [j], custom_values={j: np.asarray(res.feature_values, dtype=float)},
                       method="brute", kind="average", response_method="predict_proba")
            worst = max(worst, float(np.max(np.abs(sk["average"][0] - res.model_predictions[0]))))
        pd_sklearn_s = time.perf_counter() - t0
        print()
        print(
            f"partial dependence, {len(pdp_features)} features x 15-point grids x {args.rows} rows: "
            f"Charter {pd_charter_s:.2f} s, scikit-learn brute {pd_sklearn_s:.2f} s, "
            f"ratio {pd_sklearn_s / pd_charter_s:.2f}x, max |diff| {worst:.1e}"
        )
        result.update(pdp_charter_s=pd_charter_s, pdp_sklearn_s=pd_sklearn_s, pdp_max_abs_diff=worst)

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
