"""Model Monitor constraints: suggesting ``constraints.json`` and checking data against it.

Formats follow the SageMaker Developer Guide pages "Schema for Constraints (constraints.json
file)" (model-monitor-byoc-constraints) and "Schema for Violations (constraint_violations.json
file)" (model-monitor-interpreting-violations).  The checks are the six the prebuilt container
documents:

``data_type_check``
    the share of the current values that conform to the baseline's inferred type is below
    ``monitoring_config.datatype_check_threshold`` (Integral accepts integral values;
    Fractional accepts integral and fractional ones; String accepts anything).  When the
    current statistics carry no per-type counts, a differing inferred type is the violation.
``completeness_check``
    the current completeness (share of non-null items) is below the feature's suggested
    ``completeness``.
``baseline_drift_check``
    the distance between the baseline and current distributions exceeds
    ``distribution_constraints.comparison_threshold`` (numeric features) or
    ``categorical_comparison_threshold`` (string features).  Numeric distance: the largest gap
    between the two KLL sketches' CDFs (L-infinity, as Deequ computes it); ``Robust`` subtracts
    the two-sample Kolmogorov-Smirnov allowance ``1.8 * sqrt((n + m) / (n * m))`` so that small
    samples do not raise false alarms, ``Simple`` does not.  Categorical distance: L-infinity
    of the normalised value counts (``LInfinity``), or a Pearson chi-squared test
    (``ChiSquared``: drift when its p-value is below the threshold).
``missing_column_check`` / ``extra_column_check``
    a baseline feature is absent from the current data / the current data has a feature the
    baseline lacks.
``categorical_values_check``
    the share of the current values that lie in the feature's ``string_constraints.domains``
    is below ``monitoring_config.domain_content_threshold``.

Suggestions follow Deequ's constraint-suggestion rules in spirit: completeness is 1.0 for
complete features, otherwise the lower end of a 95% confidence interval of the observed
completeness rounded down to two decimals (so a fresh sample of the same data passes);
``is_non_negative`` when the baseline minimum is >= 0; domains for string features whose
distinct values are few (<= ``max_domain_size``) and rare relative to the row count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from charter.analytics.statistics import KLLSketch

__all__ = ["suggest_constraints", "check", "numeric_distance", "categorical_distance"]

DEFAULT_MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}

_KS_ALLOWANCE = 1.8


def _stats_of(feature: dict[str, Any]) -> dict[str, Any]:
    return feature.get("numerical_statistics") or feature.get("string_statistics") or {}


def _completeness(feature: dict[str, Any]) -> float:
    common = _stats_of(feature).get("common") or {}
    present = float(common.get("num_present", 0))
    missing = float(common.get("num_missing", 0))
    total = present + missing
    return present / total if total else 1.0


# --------------------------------------------------------------------------------------
# Suggestion
# --------------------------------------------------------------------------------------


def suggest_constraints(
    statistics: dict[str, Any],
    *,
    max_domain_size: int = 100,
    max_domain_ratio: float = 0.1,
    monitoring_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``constraints.json`` (version 0.0) suggested from a baseline ``statistics.json``."""
    features = []
    for feat in statistics.get("features", []):
        inferred = feat.get("inferred_type", "Unknown")
        stats = _stats_of(feat)
        common = stats.get("common") or {}
        present = int(common.get("num_present", 0))
        total = present + int(common.get("num_missing", 0))
        p = _completeness(feat)
        if p >= 1.0:
            completeness = 1.0
        else:
            lower = p - 1.96 * math.sqrt(p * (1 - p) / total) if total else p
            completeness = max(0.0, math.floor(lower * 100) / 100)
        out: dict[str, Any] = {"name": feat["name"], "inferred_type": inferred, "completeness": completeness}
        if inferred in ("Integral", "Fractional") and "min" in stats:
            out["num_constraints"] = {"is_non_negative": bool(stats["min"] >= 0)}
        if inferred == "String":
            buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
            distinct = float(stats.get("distinct_count", len(buckets)))
            if (
                buckets
                and distinct == len(buckets)
                and distinct <= max_domain_size
                and present
                and distinct / present <= max_domain_ratio
            ):
                out["string_constraints"] = {"domains": sorted(str(b["value"]) for b in buckets)}
        out["monitoringConfigOverrides"] = {}
        features.append(out)
    config = deep_merge(DEFAULT_MONITORING_CONFIG, monitoring_config or {})
    return {"version": 0.0, "features": features, "monitoring_config": config}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _feature_config(config: dict[str, Any], constraint: dict[str, Any]) -> dict[str, Any]:
    """monitoring_config with the feature's overrides applied (nested or flat keys)."""
    overrides = constraint.get("monitoringConfigOverrides") or constraint.get("monitoring_config_overrides") or {}
    merged = deep_merge(config, overrides)
    dist = merged.setdefault("distribution_constraints", {})
    for key in list(overrides):
        if key in DEFAULT_MONITORING_CONFIG["distribution_constraints"]:
            dist[key] = overrides[key]
    return merged


# --------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------


def sketch_of(feature: dict[str, Any]) -> KLLSketch | None:
    stats = feature.get("numerical_statistics") or {}
    kll = (stats.get("distribution") or {}).get("kll") or {}
    if kll.get("sketch") and any(kll["sketch"].get("data") or []):
        return KLLSketch.from_json(kll["sketch"])
    buckets = kll.get("buckets") or []
    if not buckets:
        return None
    # No sketch: stand each bucket's mass at its upper bound (two-level resolution).
    sk = KLLSketch()
    values = np.repeat([b["upper_bound"] for b in buckets], [int(round(b["count"])) for b in buckets])
    sk.update(values)
    return sk


def numeric_distance(baseline: KLLSketch, current: KLLSketch, method: str = "Robust") -> float:
    """L-infinity distance between the sketches' CDFs; ``Robust`` less the KS allowance."""
    points = np.unique(np.concatenate(baseline.levels + current.levels))
    if points.size == 0:
        return 0.0
    linf = float(np.max(np.abs(baseline.cdf(points) - current.cdf(points))))
    if method == "Robust":
        n, m = float(baseline.n), float(current.n)
        if n > 0 and m > 0:
            linf = max(0.0, linf - _KS_ALLOWANCE * math.sqrt((n + m) / (n * m)))
    return linf


def category_counts(feature: dict[str, Any]) -> dict[str, float]:
    stats = feature.get("string_statistics") or {}
    buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    return {str(b["value"]): float(b["count"]) for b in buckets}


def categorical_distance(
    baseline: dict[str, float], current: dict[str, float], method: str = "LInfinity"
) -> float:
    """``LInfinity``: max |p_i - q_i| of normalised counts.  ``ChiSquared``: the p-value of a
    Pearson goodness-of-fit test of the current counts against the baseline proportions."""
    keys = sorted(set(baseline) | set(current))
    b = np.array([baseline.get(k, 0.0) for k in keys])
    c = np.array([current.get(k, 0.0) for k in keys])
    if b.sum() == 0 or c.sum() == 0:
        return 0.0
    if method == "ChiSquared":
        expected = b / b.sum() * c.sum()
        # Unseen-in-baseline values get a pseudo-count of half an item.
        expected = np.where(expected > 0, expected, 0.5)
        stat = float(np.sum((c - expected) ** 2 / expected))
        dof = max(len(keys) - 1, 1)
        return _chi2_sf(stat, dof)
    return float(np.max(np.abs(b / b.sum() - c / c.sum())))


def _chi2_sf(x: float, k: int) -> float:
    """Upper tail of the chi-squared distribution (Wilson-Hilferty approximation)."""
    if x <= 0:
        return 1.0
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


# --------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    """A share as a percentage, never rounded up to the threshold it failed: AWS's own
    descriptions print the full double ("Only 99.3103448275862% of data is Integral")."""
    return f"{x * 100:.12g}%" if x < 1 else "100%"


def _violation(name: str, check_type: str, description: str) -> dict[str, str]:
    return {"feature_name": name, "constraint_check_type": check_type, "description": description}


_CONFORMING = {
    "Integral": ("Integral",),
    "Fractional": ("Integral", "Fractional"),
}


def check(
    baseline_statistics: dict[str, Any] | None,
    baseline_constraints: dict[str, Any],
    current_statistics: dict[str, Any],
) -> dict[str, Any]:
    """``constraint_violations.json`` for the current statistics against the baseline.

    ``baseline_statistics`` may be ``None``: the drift check then is skipped (Model Monitor
    compares distributions only when a baseline statistics file is given).
    """
    config = deep_merge(DEFAULT_MONITORING_CONFIG, baseline_constraints.get("monitoring_config") or {})
    constraints = {f["name"]: f for f in baseline_constraints.get("features", [])}
    current = {f["name"]: f for f in current_statistics.get("features", [])}
    base_stats = {f["name"]: f for f in (baseline_statistics or {}).get("features", [])}
    violations: list[dict[str, str]] = []

    n_base, n_cur = len(constraints), len(current)
    for name in constraints:
        if name not in current:
            violations.append(_violation(
                name, "missing_column_check",
                f"There are missing columns in current dataset. Number of columns in current "
                f"dataset: {n_cur}, Number of columns in baseline constraints: {n_base}. "
                f"Missing column: {name}",
            ))
    for name in current:
        if name not in constraints:
            violations.append(_violation(
                name, "extra_column_check",
                f"There are extra columns in current dataset. Number of columns in current "
                f"dataset: {n_cur}, Number of columns in baseline constraints: {n_base}. "
                f"Extra column: {name}",
            ))

    for name, constraint in constraints.items():
        feat = current.get(name)
        if feat is None:
            continue
        cfg = _feature_config(config, constraint)
        evaluate = str(cfg.get("evaluate_constraints", "Enabled")) == "Enabled"
        base_type = constraint.get("inferred_type", "Unknown")
        cur_type = feat.get("inferred_type", "Unknown")
        type_ok = True

        # data_type_check
        if evaluate and base_type in _CONFORMING and cur_type != "Unknown":
            threshold = float(cfg.get("datatype_check_threshold", 1.0))
            counts = feat.get("inferred_type_counts")
            if counts:
                total = float(sum(counts.values()))
                share = sum(counts.get(t, 0) for t in _CONFORMING[base_type]) / total if total else 1.0
            else:
                share = 1.0 if cur_type in _CONFORMING[base_type] else 0.0
            if share < threshold:
                type_ok = False
                violations.append(_violation(
                    name, "data_type_check",
                    f"Data type match requirement is not met. Expected data type: {base_type}, "
                    f"Expected match: {_pct(threshold)}. Observed: Only {_pct(share)} of data is "
                    f"{base_type}.",
                ))

        # completeness_check
        if evaluate and "completeness" in constraint:
            expected = float(constraint["completeness"])
            observed = _completeness(feat)
            if observed < expected:
                violations.append(_violation(
                    name, "completeness_check",
                    f"Data completeness requirement is not met. Expected: {_pct(expected)} of data "
                    f"is complete. Observed: Only {_pct(observed)} of data is complete.",
                ))

        # categorical_values_check
        domains = (constraint.get("string_constraints") or {}).get("domains")
        if evaluate and domains and cur_type == "String":
            threshold = float(cfg.get("domain_content_threshold", 1.0))
            counts = category_counts(feat)
            present = float(((feat.get("string_statistics") or {}).get("common") or {}).get("num_present", 0))
            if present:
                allowed = set(map(str, domains))
                inside = sum(v for k, v in counts.items() if k in allowed)
                share = inside / present
                if share < threshold:
                    unknown = sorted(k for k in counts if k not in allowed)[:10]
                    violations.append(_violation(
                        name, "categorical_values_check",
                        f"Categorical values requirement is not met. Expected: {_pct(threshold)} of "
                        f"values in the baseline domain. Observed: Only {_pct(share)} of data is within "
                        f"the baseline domain; values not in the domain include {unknown}.",
                    ))

        # baseline_drift_check
        dist_cfg = cfg.get("distribution_constraints") or {}
        base_feat = base_stats.get(name)
        if (
            base_feat is not None
            and type_ok
            and str(dist_cfg.get("perform_comparison", "Enabled")) == "Enabled"
        ):
            base_kind = "num" if "numerical_statistics" in base_feat else "str"
            cur_kind = "num" if "numerical_statistics" in feat else "str"
            if base_kind == cur_kind == "num":
                a, b = sketch_of(base_feat), sketch_of(feat)
                if a is not None and b is not None and a.n and b.n:
                    method = dist_cfg.get("comparison_method", "Robust")
                    threshold = float(dist_cfg.get("comparison_threshold", 0.1))
                    distance = numeric_distance(a, b, method)
                    if distance > threshold:
                        violations.append(_violation(
                            name, "baseline_drift_check",
                            f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g}",
                        ))
            elif base_kind == cur_kind == "str" and base_type == "String":
                a_counts, b_counts = category_counts(base_feat), category_counts(feat)
                if a_counts and b_counts:
                    method = dist_cfg.get("categorical_drift_method", "LInfinity")
                    threshold = float(dist_cfg.get("categorical_comparison_threshold", 0.1))
                    distance = categorical_distance(a_counts, b_counts, method)
                    drifted = distance < threshold if method == "ChiSquared" else distance > threshold
                    if drifted:
                        what = "p-value" if method == "ChiSquared" else "distance"
                        relation = "is below" if method == "ChiSquared" else "exceeds"
                        violations.append(_violation(
                            name, "baseline_drift_check",
                            f"Baseline drift {what} ({method}): {distance:.6g} {relation} threshold: {threshold:g}",
                        ))
    return {"violations": violations}
