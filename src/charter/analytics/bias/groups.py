"""From raw columns to the boolean masks the metrics take.

SageMaker Clarify describes a facet by ``value_or_threshold`` and the label by
``label_values_or_threshold``: a list of values for a categorical column, a
single threshold for a continuous one.  Which of the two a column is, Clarify
decides from the data (the rules of :func:`column_kind`); the ``*_type``
arguments here let a caller decide instead.

* Categorical: a row is sensitive (or positive) when its value is one of the
  listed values.  If no row matches, the values are converted to the type of
  the column's first element and matched again (so ``["1"]`` finds ``1``).
* Continuous: a row is sensitive (or positive) when its value is above the
  threshold; missing values never are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._core import divide, is_missing

Kind = Literal["categorical", "continuous"]
KINDS = ("auto", "categorical", "continuous")

# Clarify's rule: an integer column with at least this share of distinct
# values is continuous.
UNIQUENESS_THRESHOLD = 0.05


def values_list(values_or_threshold: Any) -> list | None:
    """``None``, a list, or a single value wrapped in a list."""
    if values_or_threshold is None:
        return None
    if isinstance(values_or_threshold, (list, tuple, np.ndarray)):
        return list(values_or_threshold)
    return [values_or_threshold]


def _column(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {array.shape})")
    return array


def _is_category(values: Any) -> bool:
    return getattr(getattr(values, "dtype", None), "name", None) == "category"


def _uniqueness(array: np.ndarray) -> float:
    """Distinct non-missing values over the number of non-missing values."""
    present = array[~is_missing(array)]
    if array.dtype.kind == "O":
        distinct = len(set(present.tolist()))
    else:
        distinct = len(np.unique(present))
    return divide(distinct, len(present))


def column_kind(values: Any, values_or_threshold: Any = None) -> Kind:
    """Clarify's guess whether a column is categorical or continuous.

    Categorical when the column is a pandas ``category``, when more than one
    value is listed, for booleans and anything not numeric; continuous for
    floating-point columns, and for integer columns (or strings that all
    parse as integers) with at least 5% distinct values.
    """
    listed = values_list(values_or_threshold)
    if _is_category(values) or (listed is not None and len(listed) > 1):
        return "categorical"
    array = _column(values, "column")
    kind = array.dtype.kind
    if kind in "OUS":
        try:
            array.astype(np.int64)
        except (ValueError, TypeError, OverflowError):
            return "categorical"
        return "continuous" if _uniqueness(array) >= UNIQUENESS_THRESHOLD else "categorical"
    if kind == "f":
        return "continuous"
    if kind in "iu":
        return "continuous" if _uniqueness(array) >= UNIQUENESS_THRESHOLD else "categorical"
    return "categorical"


def resolve_kind(values: Any, values_or_threshold: Any, kind: str, what: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"{what}_type must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "auto":
        return column_kind(values, values_or_threshold)
    return kind  # type: ignore[return-value]


def _numeric(array: np.ndarray, what: str) -> np.ndarray:
    """A continuous column as numbers (integers stay integers)."""
    kind = array.dtype.kind
    if kind in "iuf":
        return array
    if kind == "b":
        return array.astype(np.int64)
    if kind == "O" and all(isinstance(item, (str, int, np.integer)) for item in array.tolist()):
        try:
            return array.astype(np.int64)
        except (ValueError, TypeError, OverflowError):
            pass
    if kind in "US":
        try:
            return array.astype(np.int64)
        except (ValueError, OverflowError):
            pass
    try:
        return array.astype(np.float64)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{what} is treated as continuous but holds non-numeric values: {error}") from None


def threshold(values_or_threshold: Any, what: str) -> float:
    """The single numeric threshold of a continuous column."""
    listed = values_list(values_or_threshold)
    if not listed:
        raise ValueError(f"a threshold is required for the continuous {what} column")
    first = listed[0]
    if isinstance(first, (int, float)):  # Python numbers are kept as given (numpy ones become float)
        return first
    try:
        return float(first)
    except (TypeError, ValueError):
        raise ValueError(
            f"the {what} is continuous, so its value_or_threshold must be a single numeric threshold (got {first!r})"
        ) from None


def above(array: np.ndarray, limit: float) -> np.ndarray:
    """``array > limit``, False where the value is missing."""
    with np.errstate(invalid="ignore"):
        return np.asarray(array > limit, dtype=bool)


def interval_text(array: np.ndarray, limit: Any) -> str:
    """How Clarify names a continuous group: the interval ``(threshold, max]``."""
    present = array[~is_missing(array)]
    if len(present) == 0:
        return ""
    largest = present.max()
    breaks = [limit] if abs(largest) in [limit] else [limit, largest]
    breaks = sorted(breaks)
    if len(breaks) < 2:
        return ""
    integral = all(isinstance(b, (int, np.integer)) and not isinstance(b, (bool, np.bool_)) for b in breaks)
    low, high = (str(int(b)) if integral else str(float(b)) for b in breaks)
    return f"({low}, {high}]"


def _equal_any(array: np.ndarray, values: list) -> np.ndarray:
    mask = np.zeros(len(array), dtype=bool)
    for value in values:
        mask |= np.broadcast_to(np.asarray(array == value, dtype=bool), mask.shape)
    return mask


def _converted(array: np.ndarray, values: list, what: str) -> list:
    """``values`` converted to the type of the column's first element."""
    if len(array) == 0 or not values:
        return values
    first = array[0]
    target = type(first)
    if isinstance(values[0], target):
        return values
    try:
        return [target(value) for value in values]
    except (TypeError, ValueError) as error:
        if "invalid literal for int() with base 10" in str(error):
            try:
                return [float(value) for value in values]
            except (TypeError, ValueError):
                pass
        raise ValueError(
            f"no {what} value matches {values!r}, and the values cannot be converted to the column's type "
            f"({type(first).__name__}); check the values and the column's data type"
        ) from None


def categorical_mask(values: Any, listed: list, what: str) -> np.ndarray:
    """Rows whose value is one of ``listed`` (retrying with converted values)."""
    array = _column(values, what)
    mask = _equal_any(array, listed)
    if mask.any():
        return mask
    return _equal_any(array, _converted(array, listed, what))


def _first_appearance(array: np.ndarray) -> list:
    """Distinct values in order of first appearance; NaN/None collapse into one."""
    if array.dtype.kind == "O":
        seen: dict = {}
        missing_seen = False
        for item in array.tolist():
            if item is None or (isinstance(item, float) and math.isnan(item)):
                if not missing_seen:
                    seen[("__missing__",)] = np.nan
                    missing_seen = True
                continue
            seen.setdefault(item, item)
        return list(seen.values())
    uniques, first = np.unique(array, return_index=True)
    return list(uniques[np.argsort(first, kind="stable")])


def positive_label_mask(label: Any, label_values_or_threshold: Any, *, label_type: str = "auto") -> np.ndarray:
    """Rows whose observed label is positive (a listed value, or above the threshold)."""
    listed = values_list(label_values_or_threshold)
    if not listed:
        raise ValueError("label_values_or_threshold is required: the positive label value(s) or a threshold")
    kind = resolve_kind(label, listed, label_type, "label")
    array = _column(label, "label")
    if kind == "continuous":
        return above(_numeric(array, "label"), threshold(listed, "label"))
    return categorical_mask(array, listed, "label")


def positive_predicted_mask(
    predicted_label: Any,
    label: Any,
    label_values_or_threshold: Any,
    *,
    label_type: str = "auto",
    predicted_label_type: str | None = None,
) -> np.ndarray:
    """Rows predicted positive, judged with the label's values or threshold.

    The predicted label column must be of the same kind as the label column;
    a continuous prediction is first cast to the label's numeric type (so a
    float prediction of an integer label is truncated), as Clarify does.
    Clarify refuses predictions that are never positive.
    """
    listed = values_list(label_values_or_threshold)
    if not listed:
        raise ValueError("label_values_or_threshold is required: the positive label value(s) or a threshold")
    label_kind = resolve_kind(label, listed, label_type, "label")
    predicted_kind = resolve_kind(predicted_label, listed, predicted_label_type or label_type, "predicted_label")
    if predicted_kind != label_kind:
        raise ValueError(
            f"the predicted label column is {predicted_kind} but the label column is {label_kind}; "
            "they must be of the same kind"
        )
    predicted = _column(predicted_label, "predicted_label")
    if label_kind == "continuous":
        label_numbers = _numeric(_column(label, "label"), "label")
        predicted_numbers = _numeric(predicted, "predicted_label")
        if label_numbers.dtype.kind in "iu" and predicted_numbers.dtype.kind == "f":
            if not np.all(np.isfinite(predicted_numbers)):
                raise ValueError("predicted labels must be finite to compare with an integer label column")
            predicted_numbers = predicted_numbers.astype(label_numbers.dtype)
        mask = above(predicted_numbers, threshold(listed, "label"))
    else:
        mask = categorical_mask(predicted, listed, "predicted label")
    if not mask.any():
        raise ValueError(
            "no predicted label is positive: none matches label_values_or_threshold "
            f"{listed!r}; Clarify needs at least one positive prediction"
        )
    return mask


@dataclass(frozen=True)
class FacetGroup:
    """One sensitive group: how Clarify names it and which rows are in it.

    ``facet_d`` is None when the group could not be formed; ``error`` says why
    (every metric of the group then reports that error).
    """

    value_or_threshold: str
    facet_d: np.ndarray | None
    error: str | None = None


def facet_groups(facet: Any, facet_values_or_threshold: Any = None, *, facet_type: str = "auto") -> list[FacetGroup]:
    """The sensitive groups Clarify reports for a facet column.

    * categorical with values: one group, the rows holding any listed value;
    * categorical without values: one group per distinct value (in order of
      first appearance), each against all other rows;
    * continuous: one group, the rows above the threshold (required).
    """
    listed = values_list(facet_values_or_threshold)
    kind = resolve_kind(facet, listed, facet_type, "facet")
    array = _column(facet, "facet")
    if kind == "continuous":
        numbers = _numeric(array, "facet")
        limit = threshold(listed, "facet")
        return [FacetGroup(interval_text(numbers, limit), above(numbers, limit))]
    candidates = [[value] for value in _first_appearance(array)] if not listed else [listed]
    groups = []
    for values in candidates:
        name = ",".join(map(str, values))
        try:
            groups.append(FacetGroup(name, categorical_mask(array, values, "facet")))
        except ValueError as error:
            groups.append(FacetGroup(name, None, str(error)))
    return groups
