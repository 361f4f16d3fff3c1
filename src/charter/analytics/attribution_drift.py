"""Model Monitor's Clarify checks: feature attribution drift and bias drift.

Feature attribution drift (SageMaker Developer Guide, "Monitor feature attribution drift for
models in production" and "Model feature attribution drift violations")
    Let ``F = [f1..fm]`` be the features sorted by their baseline (training) attribution,
    ``F' = [f'1..f'm]`` the same features sorted by their live attribution, and ``a(f)`` a
    feature's *baseline* attribution.  Then

        NDCG = DCG / iDCG,  DCG = sum_i a(f'_i) / log2(i + 1),  iDCG = sum_i a(f_i) / log2(i + 1)

    NDCG is 1 when the live ranking equals the baseline's; the documented college admission
    example (baseline 0.70 / 0.50 / 0.05, live ranking reversed) scores 0.69.  The violations
    page points at ``sklearn.metrics.ndcg_score``; like it, features whose live attributions tie
    share the average gain of the positions they occupy.  A score below the threshold (0.9 by
    default) is a violation ``{"label", "metric_name": "shap", "constraint_check_type":
    "feature_attribution_drift_check", "description": "Feature attribution drift 0.76 exceeds
    threshold 0.9"}``, one per label of the explanations.

Bias drift (SageMaker Developer Guide, "Bias drift violations")
    The baseline constraints are the bias metrics of the baseline analysis.  A bias metric
    measures imbalance, and the closer to its balanced value the better; a live metric is a
    violation when it lies farther from the balanced value than the baseline's (the documented
    example: baseline DPPL 0.2 allows 0.1, flags -0.3).  The balanced value is 0 for every
    metric except disparate impact (DI), a ratio that is balanced at 1.  So each metric's
    allowed range is ``[balanced - |baseline - balanced|, balanced + |baseline - balanced|]``;
    ``constraints`` may replace it with explicit ``[lower, upper]`` ranges per metric.
    A violation is ``{"facet", "facet_value", "metric_name", "constraint_check_type":
    "bias_drift_check", "description": "Value -0.3 does not meet the constraint requirement"}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_NDCG_THRESHOLD",
    "BALANCED_VALUE",
    "ndcg",
    "global_attributions",
    "check_attribution_drift",
    "bias_metric_values",
    "bias_allowed_range",
    "compare_bias",
]

DEFAULT_NDCG_THRESHOLD = 0.90
# Where each bias metric shows no imbalance; every metric not listed is balanced at 0.
BALANCED_VALUE = {"DI": 1.0}


# --------------------------------------------------------------------------- attribution drift


def ndcg(baseline_attributions: Mapping[str, float], current_attributions: Mapping[str, float]) -> float:
    """NDCG of the live feature ranking, scored with the baseline attributions as relevance.

    The features are those of the baseline; a feature missing from the live attributions is
    ranked last (live attribution -inf), and live-only features are ignored (they have no
    baseline relevance).  With all baseline attributions zero there is no ranking to keep
    and the score is 1.0.
    """
    if not baseline_attributions:
        raise ValueError("baseline attributions are empty")
    features = list(baseline_attributions)
    relevance = np.array([float(baseline_attributions[f]) for f in features])
    if not np.all(np.isfinite(relevance)):
        raise ValueError("baseline attributions must be finite numbers")
    live = np.array([float(current_attributions.get(f, -math.inf)) for f in features])
    if np.any(np.isnan(live)):
        raise ValueError("current attributions must be numbers")
    discount = 1.0 / np.log2(np.arange(2, len(features) + 2))
    ideal = float(np.sum(np.sort(relevance)[::-1] * discount))
    if ideal == 0.0:
        return 1.0
    # Rank by live attribution, highest first; tied features share their positions' mean gain.
    order = np.argsort(-live, kind="mergesort")
    sorted_live = live[order]
    sorted_rel = relevance[order]
    dcg = 0.0
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and sorted_live[stop] == sorted_live[start]:
            stop += 1
        dcg += float(np.mean(sorted_rel[start:stop]) * np.sum(discount[start:stop]))
        start = stop
    return dcg / ideal


def global_attributions(analysis: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{label: {feature: attribution}}`` out of whatever form the attributions come in.

    Accepts a Clarify ``analysis.json`` (``explanations.kernel_shap.<label>.global_shap_values``),
    its ``explanations`` / ``kernel_shap`` parts, ``{label: {"global_shap_values": {...}}}``,
    ``{label: {feature: value}}``, or a plain ``{feature: value}`` (label ``"label0"``).
    """
    node: Any = analysis
    if isinstance(node, Mapping) and "explanations" in node:
        node = node["explanations"]
    if isinstance(node, Mapping) and "kernel_shap" in node:
        node = node["kernel_shap"]
    if not isinstance(node, Mapping) or not node:
        raise ValueError("no feature attributions found")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in node.values()):
        return {"label0": {k: float(v) for k, v in node.items()}}
    out: dict[str, dict[str, float]] = {}
    for label, entry in node.items():
        if isinstance(entry, Mapping) and "global_shap_values" in entry:
            entry = entry["global_shap_values"]
        if not isinstance(entry, Mapping):
            raise ValueError(f"label {label!r}: expected feature attributions, got {type(entry).__name__}")
        out[str(label)] = {k: float(v) for k, v in entry.items()}
    return out


def check_attribution_drift(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    threshold: float = DEFAULT_NDCG_THRESHOLD,
) -> dict[str, Any]:
    """Feature attribution drift ``constraint_violations.json``: one violation per label whose
    live attribution ranking scores an NDCG below ``threshold`` against the baseline.

    A label of the baseline that the live analysis lacks is not judged.
    """
    base = global_attributions(baseline)
    live = global_attributions(current)
    violations = []
    for label, attributions in base.items():
        if label not in live:
            continue
        score = ndcg(attributions, live[label])
        if score < threshold:
            violations.append({
                "label": label,
                "metric_name": "shap",
                "constraint_check_type": "feature_attribution_drift_check",
                "description": f"Feature attribution drift {score} exceeds threshold {threshold}",
            })
    return {"version": "1.0", "violations": violations}


# --------------------------------------------------------------------------- bias drift


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def bias_metric_values(metrics: Mapping[str, Any] | list) -> dict[tuple[str, str, str], float]:
    """``{(facet, facet_value, metric): value}`` out of any of the bias report forms.

    Accepts a Clarify ``analysis.json`` (``pre_training_bias_metrics`` /
    ``post_training_bias_metrics`` -> ``facets`` -> facet -> groups), ``{facet: groups}``,
    one ``charter.analytics.bias.bias_report`` list (facet ``""``), or the compact
    ``{"CI": 0.3}`` of ``pretraining`` / ``posttraining`` (facet and value ``""``).  Metrics
    without a value (Clarify could not compute them) are left out.
    """
    out: dict[tuple[str, str, str], float] = {}

    def groups(facet: str, entries: list) -> None:
        for group in entries:
            value_or_threshold = group.get("value_or_threshold", "")
            facet_value = "" if value_or_threshold is None else str(value_or_threshold)
            for metric in group.get("metrics", []):
                value = _number(metric.get("value"))
                if value is not None:
                    out[(facet, facet_value, str(metric["name"]))] = value

    if isinstance(metrics, list):
        groups("", metrics)
        return out
    stages = [k for k in ("pre_training_bias_metrics", "post_training_bias_metrics") if k in metrics]
    if stages:
        for stage in stages:
            for facet, entries in (metrics[stage].get("facets") or {}).items():
                groups(str(facet), entries)
        return out
    for key, value in metrics.items():
        if isinstance(value, list):
            groups(str(key), value)
        else:
            number = _number(value)
            if number is not None:
                out[("", "", str(key))] = number
    return out


def bias_allowed_range(metric: str, baseline_value: float) -> tuple[float, float]:
    """The live values of ``metric`` that are no farther from balance than the baseline's."""
    balanced = BALANCED_VALUE.get(metric, 0.0)
    spread = abs(baseline_value - balanced)
    return balanced - spread, balanced + spread


def compare_bias(
    baseline_metrics: Mapping[str, Any] | list,
    current_metrics: Mapping[str, Any] | list,
    constraints: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Bias drift ``constraint_violations.json`` for live bias metrics against the baseline.

    Each (facet, facet value, metric) present in both is checked against its allowed range:
    by default the documented "no farther from balanced than the baseline" range; a
    ``constraints`` entry ``{"DPPL": [-0.1, 0.1]}`` (or ``{"lower": .., "upper": ..}``)
    replaces it for that metric.  Values may be ``Infinity`` as Clarify writes them.
    """
    base = bias_metric_values(baseline_metrics)
    live = bias_metric_values(current_metrics)
    ranges: dict[str, tuple[float, float]] = {}
    for name, rule in (constraints or {}).items():
        if isinstance(rule, Mapping):
            lower, upper = rule.get("lower", -math.inf), rule.get("upper", math.inf)
        else:
            lower, upper = rule
        low, high = _number(lower), _number(upper)
        if low is None or high is None or low > high:
            raise ValueError(f"constraint for {name!r} must be a [lower, upper] range of numbers")
        ranges[str(name)] = (low, high)
    violations = []
    for key, value in live.items():
        facet, facet_value, metric = key
        if metric in ranges:
            low, high = ranges[metric]
        elif key in base:
            low, high = bias_allowed_range(metric, base[key])
        else:
            continue
        if not low <= value <= high:
            violations.append({
                "facet": facet,
                "facet_value": facet_value,
                "metric_name": metric,
                "constraint_check_type": "bias_drift_check",
                "description": f"Value {value} does not meet the constraint requirement",
            })
    return {"version": "1.0", "violations": violations}
