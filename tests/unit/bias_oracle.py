"""Run AWS's open-source Clarify library (smclarify) as the reference.

smclarify 0.5 computes the bias metrics with pandas; it is a test-only
dependency.  It works with pandas 3 as long as text columns reach it with
dtype ``object`` (pandas 3 otherwise infers its new ``str`` dtype, which
smclarify's column-type detection cannot read), so every column is handed
over as an explicitly typed Series.

:func:`oracle_report` builds the DataFrame and column descriptions the way a
Clarify job would and returns smclarify's ``bias_report`` JSON;
:func:`compare_reports` lists every difference from ours.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
from synthetic_credit import Dataset

# smclarify logs a full traceback for every metric it cannot compute.
logging.getLogger("smclarify").setLevel(logging.CRITICAL)

TOLERANCE = 1e-9


def series(values: np.ndarray, name: str):
    import pandas as pd

    values = np.asarray(values)
    dtype = object if values.dtype.kind in "OUS" else values.dtype
    return pd.Series(values, name=name, dtype=dtype)


def oracle_report(
    data: Dataset,
    *,
    facet: str,
    facet_values: list | None,
    stage: str = "pre_training",
    label: str | None = None,
    positive: list | None = None,
    predicted: str | None = None,
    group: str | None = None,
    features: list[str] | None = None,
    methods: Any = ("all",),
) -> list[dict]:
    """smclarify's bias report for one facet of ``data``.

    The DataFrame holds the facet column and the ``features`` columns (what
    the flip test sees); label and prediction are passed as separate columns.
    """
    import pandas as pd
    from smclarify.bias import report

    label = label or data.label
    positive = list(positive if positive is not None else data.positive)
    columns = [facet, *(features or [])]
    frame = pd.DataFrame({name: series(data[name], name) for name in columns})
    label_column = report.LabelColumn(label, series(data[label], label), positive)
    predicted_column = None
    if stage == "post_training":
        predicted = predicted or data.predicted
        predicted_column = report.LabelColumn(predicted, series(data[predicted], predicted))
    group_variable = series(data[group], group) if group else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report.bias_report(
            frame,
            report.FacetColumn(facet, list(facet_values) if facet_values is not None else None),
            label_column,
            report.StageType(stage),
            predicted_column,
            metrics=list(methods),
            group_variable=group_variable,
        )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}[value]
    return float(value)


def same_value(ours: Any, theirs: Any, tolerance: float = TOLERANCE) -> bool:
    """Equal within ``tolerance``; NaN equals NaN, infinities must match exactly."""
    a, b = _number(ours), _number(theirs)
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tolerance


def compare_reports(ours: list[dict], theirs: list[dict], tolerance: float = TOLERANCE) -> list[str]:
    """Every difference between two bias reports, as readable lines (empty when equal).

    Values must agree within ``tolerance``; a metric that is an error in one
    report must be an error in the other (the messages may differ).
    """
    problems = []
    if [g["value_or_threshold"] for g in ours] != [g["value_or_threshold"] for g in theirs]:
        groups_ours = [g["value_or_threshold"] for g in ours]
        groups_theirs = [g["value_or_threshold"] for g in theirs]
        return [f"facet groups differ: ours {groups_ours} theirs {groups_theirs}"]
    for group_ours, group_theirs in zip(ours, theirs):
        where = group_ours["value_or_threshold"]
        names_ours = [m["name"] for m in group_ours["metrics"]]
        names_theirs = [m["name"] for m in group_theirs["metrics"]]
        if names_ours != names_theirs:
            problems.append(f"[{where}] metric names differ: {names_ours} vs {names_theirs}")
            continue
        for mine, ref in zip(group_ours["metrics"], group_theirs["metrics"]):
            failed_ours, failed_theirs = "error" in mine, "error" in ref
            if failed_ours != failed_theirs:
                problems.append(
                    f"[{where}] {mine['name']}: ours {mine.get('error') or mine['value']!r}, "
                    f"smclarify {ref.get('error') or ref['value']!r}"
                )
            elif not failed_ours and not same_value(mine["value"], ref["value"], tolerance):
                problems.append(f"[{where}] {mine['name']}: ours {mine['value']!r}, smclarify {ref['value']!r}")
    return problems
