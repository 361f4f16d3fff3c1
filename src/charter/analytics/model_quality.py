"""Model Monitor model quality: merging ground truth, metrics, constraints and violations.

Formats follow the SageMaker Developer Guide pages "Ingest Ground Truth labels and merge them
with predictions" (model-monitor-model-quality-merge), "Model quality metrics"
(model-monitor-model-quality-metrics) and the model quality baseline / violations pages.

Merging
    A ground-truth record is ``{"groundTruthData": {"data": "1", "encoding": "CSV"},
    "eventMetadata": {"eventId": "..."}, "eventVersion": "0"}``.  Its ``eventId`` is matched
    against the captured record's ``eventMetadata.inferenceId`` when the capture has one, and
    against the capture's ``eventMetadata.eventId`` otherwise.  Records without a partner on
    the other side are left out (and counted).

Metrics (``statistics.json``)
    ``binary_classification_metrics``, ``multiclass_classification_metrics`` or
    ``regression_metrics``; every scalar metric is ``{"value", "standard_deviation"}``.  The
    confusion matrix is keyed ``[actual][predicted]`` (the documented binary example -- recall
    1.0, precision 1/3 -- only reads that way round).

    *Best constant classifier* metrics score a classifier that always answers the same class:
    for binary problems the positive class (the documented example: recall 1.0, precision and
    accuracy equal to the positive share); for multiclass problems the rarest actual class
    (the documented example's best-constant accuracy, 0.1937, is the share of its rarer class,
    and its weighted precision that share squared).  True negative and false negative rates
    are ``1 - FPR`` and ``1 - TPR``, which reproduces the documented 0.33333333333333337.
    Ratios with a zero denominator are 0 (scikit-learn's ``zero_division=0``).  ``auc`` is the
    area under the ROC curve of the probability (or of the predicted label when no probability
    was captured), equal to ``sklearn.metrics.roc_auc_score``.  The ROC curve starts at (0, 0)
    and the precision-recall curve at recall 0 with the first threshold's precision, as Spark's
    ``BinaryClassificationMetrics`` draws them; one point per distinct score, thinned evenly to
    ``max_curve_points``.

Standard deviation
    As documented: only with at least 200 rows; the metric is recomputed on 5 random subsamples
    of 80 % of the rows (drawn without replacement) and the sample standard deviation of those
    5 values is reported.  With fewer rows it is ``"NaN"``.  The subsamples come from a seeded
    generator (``seed``), so a run is reproducible, and all metrics of one report share them.
    Every metric is computed for the 5 subsamples at once on ``(5, m)`` arrays.

Constraints (``constraints.json``) and violations
    ``{"version": 0.0, "<problem>_constraints": {metric: {"threshold", "comparison_operator"}}}``.
    Suggested thresholds are the baseline values; quality metrics get ``LessThanThreshold``
    (a violation when the current value falls below), error metrics (``mae``, ``mse``,
    ``rmse``, ``false_positive_rate``, ``false_negative_rate``) ``GreaterThanThreshold``.
    A violation is ``{"constraint_check_type": <operator>, "metric_name", "description":
    "Metric f1 with 0.61 was LessThanThreshold 0.8"}``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "PROBLEM_TYPES",
    "COMPARISON_OPERATORS",
    "MergedGroundTruth",
    "merge_ground_truth",
    "binary_classification_metrics",
    "multiclass_classification_metrics",
    "regression_metrics",
    "model_quality_statistics",
    "suggest_quality_constraints",
    "check_quality",
]

# CreateModelQualityJobDefinition ProblemType -> the prefix of the statistics/constraints keys.
PROBLEM_TYPES = {
    "BinaryClassification": "binary_classification",
    "MulticlassClassification": "multiclass_classification",
    "Regression": "regression",
}

MIN_ROWS_FOR_STDDEV = 200
SUBSAMPLES = 5
SUBSAMPLE_FRACTION = 0.8

# operator -> predicate "value violates threshold"
COMPARISON_OPERATORS = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}

_SUGGESTED = {
    "binary_classification": {
        "recall": "LessThanThreshold",
        "precision": "LessThanThreshold",
        "accuracy": "LessThanThreshold",
        "true_positive_rate": "LessThanThreshold",
        "true_negative_rate": "LessThanThreshold",
        "false_positive_rate": "GreaterThanThreshold",
        "false_negative_rate": "GreaterThanThreshold",
        "auc": "LessThanThreshold",
        "f0_5": "LessThanThreshold",
        "f1": "LessThanThreshold",
        "f2": "LessThanThreshold",
    },
    "multiclass_classification": {
        "accuracy": "LessThanThreshold",
        "weighted_recall": "LessThanThreshold",
        "weighted_precision": "LessThanThreshold",
        "weighted_f0_5": "LessThanThreshold",
        "weighted_f1": "LessThanThreshold",
        "weighted_f2": "LessThanThreshold",
    },
    "regression": {
        "mae": "GreaterThanThreshold",
        "mse": "GreaterThanThreshold",
        "rmse": "GreaterThanThreshold",
        "r2": "LessThanThreshold",
    },
}


# --------------------------------------------------------------------------- merging


@dataclass
class MergedGroundTruth:
    """Captured predictions joined with their ground truth, in capture order."""

    inference_ids: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray | None
    unmatched_captures: list[str] = field(default_factory=list)
    unmatched_ground_truth: list[str] = field(default_factory=list)


def _decode(block: Mapping[str, Any]) -> tuple[str, bool]:
    """(text, is_json) of a capture/ground-truth data block."""
    data = block.get("data", "")
    encoding = str(block.get("encoding", "CSV")).upper()
    content_type = str(block.get("observedContentType", "")).lower()
    if not isinstance(data, str):
        return json.dumps(data), True
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"data is not valid BASE64 UTF-8 text: {error}") from None
    is_json = encoding == "JSON" or "json" in content_type
    return data, is_json


def _json_path(document: Any, path: str) -> Any:
    """Select ``a.b[0].c`` (optionally prefixed ``$.``) from a parsed JSON document."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:].lstrip(".")
    node = document
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            index = int(part[1:-1])
            if not isinstance(node, list) or not -len(node) <= index < len(node):
                raise ValueError(f"attribute {path!r}: no item {index}")
            node = node[index]
        else:
            if not isinstance(node, Mapping) or part not in node:
                raise ValueError(f"attribute {path!r}: no key {part!r}")
            node = node[part]
    return node


def _pick(text: str, is_json: bool, attribute: str | int | None) -> Any:
    """One value out of a payload: a JSON path, or a CSV column index (default: the first)."""
    if is_json:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"payload is not JSON: {error}") from None
        if attribute is not None and str(attribute) != "":
            return _json_path(document, str(attribute))
        while isinstance(document, list) and len(document) == 1:
            document = document[0]
        if isinstance(document, Mapping) and len(document) == 1:
            document = next(iter(document.values()))
        if isinstance(document, (list, Mapping)):
            raise ValueError("payload holds several values; name the one to use with an attribute")
        return document
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    columns = [c.strip() for c in first_line.split(",")]
    index = 0 if attribute is None or str(attribute) == "" else int(attribute)
    if not -len(columns) <= index < len(columns):
        raise ValueError(f"CSV payload has no column {index}")
    return columns[index]


def parse_label(value: Any) -> Any:
    """Normalise a label: numbers as int when integral, else float; other text stripped."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        text = value.strip().strip('"')
        try:
            value = float(text)
        except ValueError:
            return text
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return value


def merge_ground_truth(
    captured: Iterable[Mapping[str, Any]],
    ground_truth: Iterable[Mapping[str, Any]],
    *,
    inference_attribute: str | int | None = None,
    probability_attribute: str | int | None = None,
    probability_threshold: float = 0.5,
) -> MergedGroundTruth:
    """Join data-capture records with ground-truth records, as Model Monitor does.

    ``captured`` are data-capture records (``captureData.endpointOutput`` holds the
    prediction); ``ground_truth`` are ground-truth records.  The join key is the capture's
    ``eventMetadata.inferenceId`` when present, else its ``eventMetadata.eventId``; the
    ground truth's key is its ``eventMetadata.eventId`` (the documented field; an
    ``inferenceId`` there is accepted too).  The last ground-truth record for a key wins.

    ``inference_attribute`` / ``probability_attribute`` locate the predicted label and the
    probability in the endpoint output: a JSON path (``"prediction"``, ``"$.scores[0]"``)
    for JSON output, a column index for CSV output (the first column by default).  With only
    a probability, the predicted label is ``1`` when the probability reaches
    ``probability_threshold`` and ``0`` otherwise.
    """
    truth: dict[str, Any] = {}
    for record in ground_truth:
        meta = record.get("eventMetadata") or {}
        key = meta.get("eventId") or meta.get("inferenceId")
        if key is None:
            continue
        text, is_json = _decode(record.get("groundTruthData") or {})
        truth[str(key)] = parse_label(_pick(text, is_json, None))

    ids: list[str] = []
    y_true: list[Any] = []
    y_pred: list[Any] = []
    y_score: list[float] = []
    unmatched: list[str] = []
    used: set[str] = set()
    for record in captured:
        meta = record.get("eventMetadata") or {}
        key = meta.get("inferenceId") or meta.get("eventId")
        if key is None:
            continue
        key = str(key)
        if key not in truth:
            unmatched.append(key)
            continue
        output = (record.get("captureData") or {}).get("endpointOutput") or {}
        text, is_json = _decode(output)
        score = None
        if probability_attribute is not None:
            score = float(_pick(text, is_json, probability_attribute))
            y_score.append(score)
        if inference_attribute is None and score is not None:
            prediction: Any = int(score >= probability_threshold)
        else:
            prediction = parse_label(_pick(text, is_json, inference_attribute))
        ids.append(key)
        y_true.append(truth[key])
        y_pred.append(prediction)
        used.add(key)
    return MergedGroundTruth(
        inference_ids=ids,
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        y_score=np.asarray(y_score, dtype=float) if probability_attribute is not None else None,
        unmatched_captures=unmatched,
        unmatched_ground_truth=[k for k in truth if k not in used],
    )


# --------------------------------------------------------------------------- helpers


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _fbeta(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    return _div((1 + b2) * precision * recall, b2 * precision + recall)


def _json_number(value: float) -> Any:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _subsamples(n: int, seed: int | None) -> np.ndarray | None:
    """(5, floor(0.8 n)) row indices, each row a subsample without replacement; None if n < 200."""
    if n < MIN_ROWS_FOR_STDDEV:
        return None
    rng = np.random.default_rng(seed)
    size = int(math.floor(SUBSAMPLE_FRACTION * n))
    return np.argsort(rng.random((SUBSAMPLES, n)), axis=1)[:, :size]


def _report(full: Mapping[str, np.ndarray], subs: Mapping[str, np.ndarray] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in full.items():
        std = float(np.std(subs[name], ddof=1)) if subs is not None else float("nan")
        out[name] = {"value": _json_number(np.asarray(value).item()), "standard_deviation": _json_number(std)}
    return out


def _as_1d(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    return array


def _check_same_length(**arrays: np.ndarray | None) -> int:
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns differ in length: {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("no rows to evaluate")
    return n


# --------------------------------------------------------------------------- binary


def _binary_counts(t: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics from boolean actual/predicted arrays of shape (..., n), computed along the last axis."""
    n = t.shape[-1]
    tp = np.sum(t & p, axis=-1)
    fp = np.sum(~t & p, axis=-1)
    fn = np.sum(t & ~p, axis=-1)
    tn = np.sum(~t & ~p, axis=-1)
    positives = tp + fn
    recall = _div(tp, positives)
    precision = _div(tp, tp + fp)
    fpr = _div(fp, fp + tn)
    # The best constant classifier always says "positive": TP = positives, FP = negatives.
    bcc_recall = _div(positives, positives)
    bcc_precision = positives / n
    metrics = {
        "recall": recall,
        "precision": precision,
        "accuracy": (tp + tn) / n,
        "recall_best_constant_classifier": bcc_recall,
        "precision_best_constant_classifier": bcc_precision,
        "accuracy_best_constant_classifier": positives / n,
        "true_positive_rate": recall,
        "true_negative_rate": 1.0 - fpr,
        "false_positive_rate": fpr,
        "false_negative_rate": 1.0 - recall,
    }
    for beta, suffix in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        metrics[suffix] = _fbeta(precision, recall, beta)
    for beta, suffix in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        metrics[f"{suffix}_best_constant_classifier"] = _fbeta(bcc_precision, bcc_recall, beta)
    return metrics


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of a 1-D array, tied values sharing their mean rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.nonzero(first)[0]
    ends = np.r_[starts[1:], len(xs)]
    ranks = np.empty(len(xs))
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(first) - 1]
    return ranks


def _auc(t: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Area under the ROC curve along the last axis (Mann-Whitney U with tied ranks averaged)."""
    ranks = np.apply_along_axis(_average_ranks, -1, score)
    n_pos = np.sum(t, axis=-1)
    n_neg = t.shape[-1] - n_pos
    u = np.sum(np.where(t, ranks, 0.0), axis=-1) - n_pos * (n_pos + 1) / 2.0
    den = (n_pos * n_neg).astype(float)
    return np.where(den > 0, u / np.where(den > 0, den, 1.0), np.nan)


def _thin(points: np.ndarray, limit: int) -> np.ndarray:
    if limit <= 1 or len(points) <= limit:
        return points
    keep = np.unique(np.round(np.linspace(0, len(points) - 1, limit)).astype(int))
    return points[keep]


def _curves(t: np.ndarray, score: np.ndarray, max_points: int) -> tuple[dict, dict]:
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    tt = t[order]
    last_of_threshold = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(tt)[last_of_threshold].astype(float)
    fps = (last_of_threshold + 1) - tps
    n_pos = float(tt.sum())
    n_neg = float(len(tt) - n_pos)
    tpr = tps / n_pos if n_pos else np.zeros_like(tps)
    fpr = fps / n_neg if n_neg else np.zeros_like(fps)
    roc = _thin(np.column_stack([np.r_[0.0, fpr], np.r_[0.0, tpr]]), max_points)
    precision = tps / (tps + fps)
    pr = _thin(np.column_stack([np.r_[precision[0], precision], np.r_[0.0, tpr]]), max_points)
    return (
        {"false_positive_rates": roc[:, 0].tolist(), "true_positive_rates": roc[:, 1].tolist()},
        {"precisions": pr[:, 0].tolist(), "recalls": pr[:, 1].tolist()},
    )


def _binary_confusion(t: np.ndarray, p: np.ndarray, negative: Any, positive: Any) -> dict:
    neg, pos = str(negative), str(positive)
    return {
        neg: {neg: int(np.sum(~t & ~p)), pos: int(np.sum(~t & p))},
        pos: {neg: int(np.sum(t & ~p)), pos: int(np.sum(t & p))},
    }


def binary_classification_metrics(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    y_score: Sequence[float] | None = None,
    *,
    positive_label: Any = 1,
    seed: int | None = 0,
    max_curve_points: int = 1000,
) -> dict[str, Any]:
    """The ``binary_classification_metrics`` object of a model quality ``statistics.json``.

    ``y_true`` / ``y_pred`` are labels (``positive_label`` marks the positive class, every
    other value is negative); ``y_score`` the captured probability of the positive class,
    used for ``auc`` and the curves (the predicted label stands in when it is absent).
    """
    yt = _as_1d(y_true, "y_true")
    yp = _as_1d(y_pred, "y_pred")
    ys = None if y_score is None else _as_1d(y_score, "y_score").astype(float)
    n = _check_same_length(y_true=yt, y_pred=yp, y_score=ys)
    positive = parse_label(positive_label)
    t = np.array([parse_label(v) == positive for v in yt.tolist()])
    p = np.array([parse_label(v) == positive for v in yp.tolist()])
    score = ys if ys is not None else p.astype(float)
    negatives = sorted({parse_label(v) for v in np.r_[yt, yp].tolist()} - {positive}, key=str)
    negative = negatives[0] if len(negatives) == 1 else (0 if positive == 1 else "not " + str(positive))

    full = _binary_counts(t, p)
    full["auc"] = _auc(t, score)
    idx = _subsamples(n, seed)
    subs = None
    if idx is not None:
        subs = _binary_counts(t[idx], p[idx])
        subs["auc"] = _auc(t[idx], score[idx])
    scalars = _report(full, subs)
    roc, pr = _curves(t, score, max_curve_points)
    order = [
        "recall", "precision", "accuracy", "recall_best_constant_classifier",
        "precision_best_constant_classifier", "accuracy_best_constant_classifier",
        "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
    ]
    out: dict[str, Any] = {"confusion_matrix": _binary_confusion(t, p, negative, positive)}
    out.update({k: scalars[k] for k in order})
    out["receiver_operating_characteristic_curve"] = roc
    out["precision_recall_curve"] = pr
    for k in ("auc", "f0_5", "f1", "f2", "f0_5_best_constant_classifier",
              "f1_best_constant_classifier", "f2_best_constant_classifier"):
        out[k] = scalars[k]
    return out


# --------------------------------------------------------------------------- multiclass


def _multiclass_from_confusion(cm: np.ndarray, constant: int) -> dict[str, np.ndarray]:
    """Metrics from confusion matrices (..., L, L) indexed [actual, predicted]."""
    n = cm.sum(axis=(-2, -1)).astype(float)
    support = cm.sum(axis=-1).astype(float)  # actual count per class
    predicted = cm.sum(axis=-2).astype(float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    weight = support / n[..., None]
    recall = _div(tp, support)
    precision = _div(tp, predicted)
    metrics = {
        "accuracy": tp.sum(axis=-1) / n,
        "weighted_recall": np.sum(weight * recall, axis=-1),
        "weighted_precision": np.sum(weight * precision, axis=-1),
    }
    for beta, suffix in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        metrics[f"weighted_{suffix}"] = np.sum(weight * _fbeta(precision, recall, beta), axis=-1)
    # Always answering class c: only c has a nonzero score, precision = share of c, recall 1.
    share = weight[..., constant]
    bcc_recall = _div(support[..., constant], support[..., constant])
    metrics["accuracy_best_constant_classifier"] = share
    metrics["weighted_recall_best_constant_classifier"] = share * bcc_recall
    metrics["weighted_precision_best_constant_classifier"] = share * share
    for beta, suffix in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        metrics[f"weighted_{suffix}_best_constant_classifier"] = share * _fbeta(share, bcc_recall, beta)
    return metrics


def _confusion(actual: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices along the last axis: (..., n) codes -> (..., k, k)."""
    flat = actual * k + predicted
    lead = flat.shape[:-1]
    rows = int(np.prod(lead)) if lead else 1
    flat = flat.reshape(rows, -1) + (np.arange(rows) * k * k)[:, None]
    counts = np.bincount(flat.ravel(), minlength=rows * k * k)
    return counts.reshape(*lead, k, k) if lead else counts.reshape(k, k)


def multiclass_classification_metrics(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    seed: int | None = 0,
) -> dict[str, Any]:
    """The ``multiclass_classification_metrics`` object of a model quality ``statistics.json``.

    Weighted metrics average the per-class values weighted by each class's share of the
    ground truth (scikit-learn's ``average="weighted"``).
    """
    yt = [parse_label(v) for v in _as_1d(y_true, "y_true").tolist()]
    yp = [parse_label(v) for v in _as_1d(y_pred, "y_pred").tolist()]
    n = _check_same_length(y_true=np.asarray(yt, dtype=object), y_pred=np.asarray(yp, dtype=object))
    labels = sorted(set(yt) | set(yp), key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))
    code = {v: i for i, v in enumerate(labels)}
    actual = np.array([code[v] for v in yt])
    predicted = np.array([code[v] for v in yp])
    k = len(labels)
    cm = _confusion(actual, predicted, k)
    support = cm.sum(axis=1)
    present = np.nonzero(support)[0]
    # the rarest actual class; ties go to the later label
    constant = int(present[np.lexsort((-present, support[present]))[0]])

    full = _multiclass_from_confusion(cm, constant)
    idx = _subsamples(n, seed)
    subs = None if idx is None else _multiclass_from_confusion(_confusion(actual[idx], predicted[idx], k), constant)
    out: dict[str, Any] = {
        "confusion_matrix": {
            str(a): {str(p): int(cm[i, j]) for j, p in enumerate(labels)} for i, a in enumerate(labels)
        }
    }
    out.update(_report(full, subs))
    return out


# --------------------------------------------------------------------------- regression


def _regression(t: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    err = p - t
    mse = np.mean(err * err, axis=-1)
    sse = np.sum(err * err, axis=-1)
    sst = np.sum((t - t.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    # scikit-learn's r2_score: a constant truth scores 1.0 when matched exactly, else 0.0
    r2 = np.where(sst != 0, 1.0 - _div(sse, sst), np.where(sse == 0, 1.0, 0.0))
    return {"mae": np.mean(np.abs(err), axis=-1), "mse": mse, "rmse": np.sqrt(mse), "r2": r2}


def regression_metrics(
    y_true: Sequence[float],
    y_pred: Sequence[float],
    *,
    seed: int | None = 0,
) -> dict[str, Any]:
    """The ``regression_metrics`` object (mae, mse, rmse, r2) of a model quality ``statistics.json``."""
    try:
        t = _as_1d(y_true, "y_true").astype(float)
        p = _as_1d(y_pred, "y_pred").astype(float)
    except ValueError as error:
        raise ValueError(f"regression needs numeric labels and predictions: {error}") from None
    n = _check_same_length(y_true=t, y_pred=p)
    idx = _subsamples(n, seed)
    return _report(_regression(t, p), None if idx is None else _regression(t[idx], p[idx]))


# --------------------------------------------------------------------------- files


def _section(problem_type: str) -> str:
    if problem_type in PROBLEM_TYPES:
        return PROBLEM_TYPES[problem_type]
    if problem_type in PROBLEM_TYPES.values():
        return problem_type
    raise ValueError(f"problem type must be one of {sorted(PROBLEM_TYPES)} (got {problem_type!r})")


def model_quality_statistics(
    problem_type: str,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    y_score: Sequence[float] | None = None,
    *,
    positive_label: Any = 1,
    seed: int | None = 0,
    evaluation_time: _dt.datetime | None = None,
) -> dict[str, Any]:
    """A whole model quality ``statistics.json``: version, dataset summary and the metrics."""
    section = _section(problem_type)
    if section == "binary_classification":
        metrics = binary_classification_metrics(y_true, y_pred, y_score, positive_label=positive_label, seed=seed)
    elif section == "multiclass_classification":
        metrics = multiclass_classification_metrics(y_true, y_pred, seed=seed)
    else:
        metrics = regression_metrics(y_true, y_pred, seed=seed)
    when = evaluation_time or _dt.datetime.now(_dt.timezone.utc)
    stamp = when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return {
        "version": 0.0,
        "dataset": {"item_count": len(y_true), "evaluation_time": stamp},
        f"{section}_metrics": metrics,
    }


def _metrics_of(statistics: Mapping[str, Any], section: str) -> Mapping[str, Any]:
    key = f"{section}_metrics"
    if key in statistics:
        return statistics[key]
    if any(k.endswith("_metrics") for k in statistics):
        raise ValueError(f"statistics hold no {key!r}")
    return statistics  # already the metrics object


def _scalar(entry: Any) -> float | None:
    value = entry.get("value") if isinstance(entry, Mapping) else entry
    if isinstance(value, bool) or value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def suggest_quality_constraints(statistics: Mapping[str, Any], problem_type: str) -> dict[str, Any]:
    """A model quality ``constraints.json`` suggested from baseline statistics.

    Each monitored metric's threshold is its baseline value; the operator is
    ``LessThanThreshold`` for metrics where higher is better and ``GreaterThanThreshold``
    for error rates and losses.  Metrics whose baseline value is not a number are left out.
    """
    section = _section(problem_type)
    metrics = _metrics_of(statistics, section)
    constraints = {}
    for name, operator in _SUGGESTED[section].items():
        value = _scalar(metrics.get(name))
        if value is not None:
            constraints[name] = {"threshold": value, "comparison_operator": operator}
    return {"version": 0.0, f"{section}_constraints": constraints}


def check_quality(constraints: Mapping[str, Any], statistics: Mapping[str, Any]) -> dict[str, Any]:
    """``constraint_violations.json`` for current model quality statistics.

    Every constraint whose metric violates its threshold under its ``comparison_operator``
    (GreaterThanThreshold: value > threshold; LessThanThreshold: value < threshold; the
    OrEqualTo forms include equality) becomes a violation.  A metric the current statistics
    lack, or whose value is not a number, is not judged.
    """
    sections = [k[: -len("_constraints")] for k in constraints if k.endswith("_constraints")]
    if len(sections) != 1:
        raise ValueError("constraints must hold exactly one '<problem>_constraints' object")
    section = sections[0]
    metrics = _metrics_of(statistics, section)
    violations = []
    for name, rule in constraints[f"{section}_constraints"].items():
        operator = rule.get("comparison_operator")
        if operator not in COMPARISON_OPERATORS:
            raise ValueError(
                f"constraint {name!r}: comparison_operator must be one of {sorted(COMPARISON_OPERATORS)}"
                f" (got {operator!r})"
            )
        threshold = float(rule["threshold"])
        value = _scalar(metrics.get(name))
        if value is None:
            continue
        if COMPARISON_OPERATORS[operator](value, threshold):
            violations.append({
                "constraint_check_type": operator,
                "metric_name": name,
                "description": f"Metric {name} with {value} was {operator} {threshold}",
            })
    return {"violations": violations}
