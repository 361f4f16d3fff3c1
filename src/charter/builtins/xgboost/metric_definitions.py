"""The metrics the XGBoost algorithm reports, and the ``MetricDefinitions`` that read them from its log.

Every boosting round the algorithm prints one evaluation line (specs/containers.md,
"Metrics from logs"), in XGBoost's own format::

    [12]\ttrain-auc:0.93120\tvalidation-auc:0.92544

SageMaker's log pipeline shows each tab as ``#011`` (Charter's log shipper does the
same), so the definitions below match ``[12]#011train-auc:...#011validation-auc:...``.
There is one definition per data set (``train``, ``validation``) and metric, named
``train:auc``, ``validation:auc`` and so on, the names SageMaker gives the built-in
algorithm's metrics and hyperparameter tuning's objectives.

The metric names are those of SageMaker's XGBoost container (aws/sagemaker-xgboost-container,
``constants/xgb_constants.py``): XGBoost's own ``eval_metric`` values plus the ones the
container computes itself (``accuracy``, ``f1``, ``mse``, ``r2``, ...; see
``custom_metrics.py``), split by whether a tuning job maximizes or minimizes them.

Pure data, no imports beyond the standard library: listing images and describing
algorithms read this without loading XGBoost.
"""

from __future__ import annotations

import re

__all__ = ["DATA_SETS", "MAXIMIZE", "METRICS", "METRIC_DEFINITIONS", "MINIMIZE", "is_maximized", "metric_regex"]

# Larger is better.
MAXIMIZE = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "precision_macro", "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip
# Smaller is better.
MINIMIZE = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)  # fmt: skip
METRICS = tuple(sorted(MAXIMIZE + MINIMIZE))
# The names the algorithm gives its evaluation sets, in the order it evaluates them.
DATA_SETS = ("train", "validation")

# A decimal number, optionally signed and in exponent form: what XGBoost prints for a finite
# score ("nan" and "inf" do not match, so they are never taken as samples).
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
assert all(re.fullmatch(r"[a-z0-9_-]+", m) for m in METRICS)  # safe to put into a regex unescaped


def metric_regex(data_set: str, metric: str) -> str:
    """The regex whose first group is ``metric`` on ``data_set`` in an evaluation line (tabs as ``#011``)."""
    return rf".*\[[0-9]+\].*#011{data_set}-{metric}:{_NUMBER}.*"


def is_maximized(metric: str) -> bool:
    """Whether larger values of ``metric`` are better; ``ndcg@5``/``error@0.7`` count as ``ndcg``/``error``."""
    return metric.split("@", 1)[0] in MAXIMIZE


METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": f"{data_set}:{metric}", "Regex": metric_regex(data_set, metric)}
    for data_set in DATA_SETS
    for metric in METRICS
]
