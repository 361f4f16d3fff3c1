"""Clarify-style bias reports built from raw columns.

:func:`bias_report` produces the per-facet-value structure Clarify writes
into ``analysis.json`` (``pre_training_bias_metrics`` /
``post_training_bias_metrics`` -> ``facets`` -> one entry per sensitive
group).  :func:`pretraining` and :func:`posttraining` are the compact form for
one sensitive group: ``{"CI": 0.32, ...}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import posttraining_metrics as post
from . import pretraining_metrics as pre
from .groups import (
    facet_groups,
    positive_label_mask,
    positive_predicted_mask,
    values_list,
)

PRE_TRAINING = "pre_training"
POST_TRAINING = "post_training"


@dataclass(frozen=True)
class _Inputs:
    facet_d: np.ndarray
    positive_label: np.ndarray
    positive_predicted: np.ndarray | None
    group_variable: np.ndarray | None
    features: np.ndarray | None


@dataclass(frozen=True)
class Metric:
    """A registered metric: its Clarify name, description and how to call it."""

    name: str
    description: str
    compute: Callable[[_Inputs], float]
    needs: str | None = None  # an optional input the metric cannot do without


PRETRAINING_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("CI", "Class Imbalance (CI)", lambda i: pre.CI(i.facet_d)),
        Metric(
            "DPL",
            "Difference in Positive Proportions in Labels (DPL)",
            lambda i: pre.DPL(i.facet_d, i.positive_label),
        ),
        Metric("KL", "Kullback-Leibler Divergence (KL)", lambda i: pre.KL(i.positive_label, i.facet_d)),
        Metric("JS", "Jensen-Shannon Divergence (JS)", lambda i: pre.JS(i.positive_label, i.facet_d)),
        Metric("LP", "L-p Norm (LP)", lambda i: pre.LP(i.positive_label, i.facet_d)),
        Metric("TVD", "Total Variation Distance (TVD)", lambda i: pre.TVD(i.positive_label, i.facet_d)),
        Metric("KS", "Kolmogorov-Smirnov Distance (KS)", lambda i: pre.KS(i.positive_label, i.facet_d)),
        Metric(
            "CDDL",
            "Conditional Demographic Disparity in Labels (CDDL)",
            lambda i: pre.CDDL(i.facet_d, i.positive_label, i.group_variable),
            needs="group_variable",
        ),
    )
}

POSTTRAINING_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "DPPL",
            "Difference in Positive Proportions in Predicted Labels (DPPL)",
            lambda i: post.DPPL(i.facet_d, i.positive_predicted),
        ),
        Metric("DI", "Disparate Impact (DI)", lambda i: post.DI(i.facet_d, i.positive_predicted)),
        Metric(
            "DCA",
            "Difference in Conditional Acceptance (DCA)",
            lambda i: post.DCA(i.facet_d, i.positive_label, i.positive_predicted),
        ),
        Metric(
            "DCR",
            "Difference in Conditional Rejection (DCR)",
            lambda i: post.DCR(i.facet_d, i.positive_label, i.positive_predicted),
        ),
        Metric("RD", "Recall Difference (RD)", lambda i: post.RD(i.facet_d, i.positive_label, i.positive_predicted)),
        Metric(
            "SD", "Specificity Difference (SD)", lambda i: post.SD(i.facet_d, i.positive_label, i.positive_predicted)
        ),
        Metric(
            "DAR",
            "Difference in Acceptance Rates (DAR)",
            lambda i: post.DAR(i.facet_d, i.positive_label, i.positive_predicted),
        ),
        Metric(
            "DRR",
            "Difference in Rejection Rates (DRR)",
            lambda i: post.DRR(i.facet_d, i.positive_label, i.positive_predicted),
        ),
        Metric("AD", "Accuracy Difference (AD)", lambda i: post.AD(i.facet_d, i.positive_label, i.positive_predicted)),
        Metric("TE", "Treatment Equality (TE)", lambda i: post.TE(i.facet_d, i.positive_label, i.positive_predicted)),
        Metric(
            "CDDPL",
            "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
            lambda i: post.CDDPL(i.facet_d, i.positive_predicted, i.group_variable),
            needs="group_variable",
        ),
        Metric(
            "FT",
            "Flip Test (FT)",
            lambda i: post.FT(i.features, i.facet_d, i.positive_predicted),
            needs="features",
        ),
        Metric("GE", "Generalized Entropy (GE)", lambda i: post.GE(i.positive_label, i.positive_predicted)),
    )
}

# Other spellings of method names that Clarify's documentation uses.
ALIASES = {"DCAcc": "DCA"}


def _stage_metrics(stage: str) -> dict[str, Metric]:
    if stage == PRE_TRAINING:
        return PRETRAINING_METRICS
    if stage == POST_TRAINING:
        return POSTTRAINING_METRICS
    raise ValueError(f"stage must be {PRE_TRAINING!r} or {POST_TRAINING!r} (got {stage!r})")


def select_metrics(stage: str, methods: str | Iterable[str] = "all") -> list[Metric]:
    """The metrics named by ``methods`` ("all" or a list of names), sorted by name as Clarify reports them."""
    registry = _stage_metrics(stage)
    if isinstance(methods, str):
        methods = [methods]
    names = list(methods)
    if names == ["all"]:
        chosen = list(registry)
    else:
        chosen = [ALIASES.get(name, name) for name in names]
        unknown = [name for name in chosen if name not in registry]
        if unknown:
            raise ValueError(
                f"unknown {stage} bias metric(s) {', '.join(map(repr, unknown))}; "
                f"choose from: {', '.join(registry)} (or 'all')"
            )
    return [registry[name] for name in sorted(set(chosen))]


def _optional_column(values: Any, name: str) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {array.shape})")
    return array


def _check_lengths(**columns: Any) -> None:
    lengths = {name: len(value) for name, value in columns.items() if value is not None}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"all columns must have one entry per row ({listed})")


def _json_value(value: float) -> Any:
    """Clarify's analysis.json spells infinite values as strings."""
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _prepare(
    stage: str,
    label: Any,
    facet: Any,
    predicted_label: Any,
    label_values_or_threshold: Any,
    facet_values_or_threshold: Any,
    group_variable: Any,
    features: Any,
    label_type: str,
    facet_type: str,
) -> tuple[list, Callable]:
    """Validate the columns; return the facet groups and a function giving each group's inputs."""
    if stage == POST_TRAINING and predicted_label is None:
        raise ValueError("predicted_label is required for post-training bias metrics")
    group_array = _optional_column(group_variable, "group_variable")
    feature_matrix = None if features is None else np.asarray(features)
    _check_lengths(
        label=np.asarray(label),
        facet=np.asarray(facet),
        predicted_label=None if predicted_label is None else np.asarray(predicted_label),
        group_variable=group_array,
        features=feature_matrix,
    )
    positive_label = positive_label_mask(label, label_values_or_threshold, label_type=label_type)
    positive_predicted = None
    if stage == POST_TRAINING:
        positive_predicted = positive_predicted_mask(
            predicted_label, label, label_values_or_threshold, label_type=label_type
        )
    groups = facet_groups(facet, facet_values_or_threshold, facet_type=facet_type)

    def inputs(facet_d: np.ndarray) -> _Inputs:
        return _Inputs(facet_d, positive_label, positive_predicted, group_array, feature_matrix)

    return groups, inputs


def _evaluate(metric: Metric, group, inputs: Callable) -> tuple[float | None, str | None]:
    """(value, None) or (None, why the metric cannot be computed for this group)."""
    if group.facet_d is None:
        return None, group.error
    try:
        return metric.compute(inputs(group.facet_d)), None
    except ValueError as error:
        return None, str(error)


def bias_report(
    label: Any,
    facet: Any,
    *,
    label_values_or_threshold: Any,
    facet_values_or_threshold: Any = None,
    stage: str = PRE_TRAINING,
    predicted_label: Any = None,
    group_variable: Any = None,
    features: Any = None,
    methods: str | Iterable[str] = "all",
    label_type: str = "auto",
    facet_type: str = "auto",
) -> list[dict]:
    """A Clarify bias report: one entry per sensitive facet group.

    Each entry is ``{"value_or_threshold": "Female", "metrics": [...]}``
    with metrics sorted by name, each ``{"name", "description", "value"}``
    or, where Clarify cannot compute it, ``{"name", "description", "value":
    None, "error": "why"}``.  Infinite values are written ``"Infinity"`` /
    ``"-Infinity"`` as in ``analysis.json``.

    ``label`` / ``predicted_label`` / ``facet`` / ``group_variable`` are
    columns (one entry per row); ``features`` the other numeric columns,
    rows x columns, for the flip test (FT).  ``stage`` is ``"pre_training"``
    or ``"post_training"`` (which needs ``predicted_label``).
    ``label_type`` / ``facet_type`` ("auto", "categorical", "continuous")
    override Clarify's guess of the column kind.  Problems with the columns
    themselves (no positive label values given, a prediction never
    positive, a continuous facet without threshold) raise ValueError.
    """
    metrics = select_metrics(stage, methods)
    groups, inputs = _prepare(
        stage,
        label,
        facet,
        predicted_label,
        label_values_or_threshold,
        facet_values_or_threshold,
        group_variable,
        features,
        label_type,
        facet_type,
    )
    report = []
    for group in groups:
        results = []
        for metric in metrics:
            value, error = _evaluate(metric, group, inputs)
            entry: dict[str, Any] = {
                "name": metric.name,
                "description": metric.description,
                "value": _json_value(value),
            }
            if error is not None:
                entry["error"] = error
            results.append(entry)
        report.append({"value_or_threshold": group.value_or_threshold, "metrics": results})
    return report


def _one_group(
    stage: str,
    label: Any,
    facet: Any,
    predicted_label: Any,
    label_values_or_threshold: Any,
    facet_values_or_threshold: Any,
    group_variable: Any,
    features: Any,
    methods: str | Iterable[str],
    label_type: str,
    facet_type: str,
) -> dict[str, float]:
    if not values_list(facet_values_or_threshold):
        raise ValueError(
            "facet_values_or_threshold is required (the sensitive value(s) or a threshold); "
            "use bias_report() for one report per facet value"
        )
    names = [methods] if isinstance(methods, str) else list(methods)
    metrics = select_metrics(stage, names)
    if names == ["all"]:
        # "all" means all that the given inputs allow.
        available = {"group_variable": group_variable, "features": features}
        metrics = [m for m in metrics if m.needs is None or available[m.needs] is not None]
    groups, inputs = _prepare(
        stage,
        label,
        facet,
        predicted_label,
        label_values_or_threshold,
        facet_values_or_threshold,
        group_variable,
        features,
        label_type,
        facet_type,
    )
    (group,) = groups
    values = {}
    for metric in metrics:
        value, error = _evaluate(metric, group, inputs)
        if error is not None:
            raise ValueError(f"{metric.name} cannot be computed: {error}")
        values[metric.name] = float(value)
    return values


def pretraining(
    label: Any,
    facet: Any,
    *,
    label_values_or_threshold: Any,
    facet_values_or_threshold: Any,
    group_variable: Any = None,
    methods: str | Iterable[str] = "all",
    label_type: str = "auto",
    facet_type: str = "auto",
) -> dict[str, float]:
    """Pre-training bias metrics of one sensitive facet group, ``{name: value}``.

    ``methods="all"`` computes every metric the inputs allow (CDDL only with
    a ``group_variable``); a metric Clarify cannot compute raises ValueError.
    """
    return _one_group(
        PRE_TRAINING,
        label,
        facet,
        None,
        label_values_or_threshold,
        facet_values_or_threshold,
        group_variable,
        None,
        methods,
        label_type,
        facet_type,
    )


def posttraining(
    label: Any,
    predicted_label: Any,
    facet: Any,
    *,
    label_values_or_threshold: Any,
    facet_values_or_threshold: Any,
    group_variable: Any = None,
    features: Any = None,
    methods: str | Iterable[str] = "all",
    label_type: str = "auto",
    facet_type: str = "auto",
) -> dict[str, float]:
    """Post-training bias metrics of one sensitive facet group, ``{name: value}``.

    ``methods="all"`` computes every metric the inputs allow (CDDPL only
    with a ``group_variable``, FT only with ``features``); a metric Clarify
    cannot compute raises ValueError.
    """
    return _one_group(
        POST_TRAINING,
        label,
        facet,
        predicted_label,
        label_values_or_threshold,
        facet_values_or_threshold,
        group_variable,
        features,
        methods,
        label_type,
        facet_type,
    )
