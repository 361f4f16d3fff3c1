"""The evaluation metrics SageMaker's XGBoost container computes itself, beside XGBoost's own.

``eval_metric`` (or the tuning objective) may name metrics XGBoost does not have; the
container computes them from each evaluation set's predictions (aws/sagemaker-xgboost-container,
``metrics/custom_metrics.py``), and so does this module, with the same definitions:

- classification, on the predicted class: ``accuracy``; ``balanced_accuracy`` (the mean
  recall over the classes present in the labels); ``f1`` and ``f1_macro`` (F1 averaged over
  classes); ``f1_binary``, ``precision``, ``recall`` (of class 1, binary labels only);
  ``precision_macro``/``recall_macro`` (averaged over classes) and ``precision_micro``/
  ``recall_micro`` (over all rows);
- regression, on the prediction itself: ``mse`` (mean squared error) and ``r2``
  (1 - SS_res/SS_tot, 1 for a perfect fit of constant labels and 0 for an imperfect one).

The predicted class depends on the objective: probability > 0.5 for ``binary:logistic``
and ``reg:logistic``, margin > 0 for ``binary:logitraw``, the most probable class for
``multi:softprob``, the prediction itself (rounded) otherwise.  A score undefined for a
class (no predictions of it, say) counts 0, as in scikit-learn.  Instance weights are
not applied, as in the container.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import ClientError

__all__ = ["make_custom_metric", "predicted_classes"]


def predicted_classes(predictions: np.ndarray, objective: str) -> np.ndarray:
    """The class XGBoost's transformed prediction stands for, as integers."""
    if predictions.ndim == 2:
        return np.argmax(predictions, axis=1)
    if objective in ("binary:logistic", "reg:logistic"):
        return (predictions > 0.5).astype(np.int64)
    if objective == "binary:logitraw":
        return (predictions > 0.0).astype(np.int64)
    return np.rint(predictions).astype(np.int64)


def _per_class(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classes (those in either array), true positives, predicted and actual counts per class."""
    classes = np.union1d(truth, predicted)
    tp = np.array([np.sum((truth == c) & (predicted == c)) for c in classes], dtype=np.float64)
    predicted_count = np.array([np.sum(predicted == c) for c in classes], dtype=np.float64)
    actual_count = np.array([np.sum(truth == c) for c in classes], dtype=np.float64)
    return classes, tp, predicted_count, actual_count


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    return _ratio(2 * precision * recall, precision + recall)


def _binary(truth: np.ndarray, predicted: np.ndarray, metric: str) -> tuple[float, float]:
    """(precision, recall) of class 1; a ClientError for labels other than 0 and 1."""
    if not np.all(np.isin(np.union1d(truth, predicted), (0, 1))):
        raise ClientError(f"eval_metric {metric} is for binary labels 0 and 1, but these labels have more classes; "
                          "use f1, precision_macro or recall_macro instead")
    tp = float(np.sum((truth == 1) & (predicted == 1)))
    predicted_positive, actual_positive = float(np.sum(predicted == 1)), float(np.sum(truth == 1))
    return (tp / predicted_positive if predicted_positive else 0.0, tp / actual_positive if actual_positive else 0.0)


def _classification(metric: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    if truth.size == 0:
        return 0.0
    if metric == "accuracy" or metric in ("precision_micro", "recall_micro"):
        # With one label per row, micro-averaged precision and recall both equal accuracy.
        return float(np.mean(truth == predicted))
    if metric in ("precision", "recall", "f1_binary"):
        precision, recall = _binary(truth, predicted, metric)
        if metric == "precision":
            return precision
        if metric == "recall":
            return recall
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    _, tp, predicted_count, actual_count = _per_class(truth, predicted)
    precision, recall = _ratio(tp, predicted_count), _ratio(tp, actual_count)
    if metric == "balanced_accuracy":
        return float(np.mean(recall[actual_count > 0]))
    if metric in ("f1", "f1_macro"):
        return float(np.mean(_f1(precision, recall)))
    if metric == "precision_macro":
        return float(np.mean(precision))
    if metric == "recall_macro":
        return float(np.mean(recall))
    raise KeyError(metric)


def _regression(metric: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    if truth.size == 0:
        return 0.0
    residual = float(np.sum((truth - predicted) ** 2))
    if metric == "mse":
        return residual / truth.size
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def make_custom_metric(names: Sequence[str], objective: str) -> Callable | None:
    """The ``custom_metric`` for ``xgboost.train`` that reports ``names`` (None when there are none)."""
    if not names:
        return None

    def custom_metric(predictions: np.ndarray, dmatrix) -> list[tuple[str, float]]:
        truth = dmatrix.get_label().astype(np.float64)
        predictions = np.asarray(predictions, dtype=np.float64)
        results = []
        classes = None
        for name in names:
            if name in ("mse", "r2"):
                values = predictions if predictions.ndim == 1 else predicted_classes(predictions, objective)
                results.append((name, _regression(name, truth, values.astype(np.float64))))
            else:
                if classes is None:
                    classes = predicted_classes(predictions, objective)
                results.append((name, _classification(name, np.rint(truth).astype(np.int64), classes)))
        return results

    return custom_metric
