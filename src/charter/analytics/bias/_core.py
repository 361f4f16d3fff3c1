"""Shared arithmetic for the bias metrics: input checks, Clarify's division
rule and the per-group confusion counts most post-training metrics share."""

from __future__ import annotations

import math

import numpy as np

INFINITY = math.inf


def divide(numerator: float, denominator: float) -> float:
    """Clarify's guarded division.

    ``0 / 0`` is ``0.0``; ``x / 0`` is ``+inf`` (``-inf`` when ``x < 0``);
    anything else is the ordinary quotient.
    """
    if denominator == 0:
        if numerator == 0:
            return 0.0
        return -INFINITY if numerator < 0 else INFINITY
    return numerator / denominator


def difference(first: float, second: float) -> float:
    """``first - second``, except that two infinite rates count as equal (0.0).

    Clarify applies this to ratio metrics (DCA, DCR, TE, ...) whose rates are
    ``+inf`` in both groups when neither group has any of the denominator's
    outcomes; the plain subtraction would give NaN.
    """
    if first == second == INFINITY:
        return 0.0
    return float(first - second)


def as_mask(values, name: str) -> np.ndarray:
    """A 1-D boolean array, or ValueError naming the argument.

    Like Clarify, the masks must already be boolean: 0/1 integers are refused
    so that a label column is never silently taken for an index.
    """
    mask = np.asarray(values)
    if mask.dtype != np.bool_:
        raise ValueError(f"{name} must be a boolean array (got dtype {mask.dtype})")
    if mask.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {mask.shape})")
    return mask


def same_length(**arrays: np.ndarray) -> int:
    """The common length of ``arrays``; ValueError listing them if they differ."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"arrays must have the same length ({listed})")
    return next(iter(lengths.values()), 0)


def require_both_groups(facet_d: np.ndarray, metric: str) -> None:
    """Clarify refuses group comparisons when either facet group is empty."""
    n_d = int(np.count_nonzero(facet_d))
    if n_d == 0:
        raise ValueError(
            f"{metric}: the sensitive facet group (d) is empty; no row matches the facet value(s) or threshold"
        )
    if n_d == len(facet_d):
        raise ValueError(
            f"{metric}: the rest of the data (facet group a) is empty; every row matches the facet value(s) or threshold"
        )


class GroupCounts:
    """Confusion counts of the advantaged (a) and sensitive (d) facet groups.

    ``counts[g, y, p]`` is the number of rows in group ``g`` (0 = a, 1 = d)
    whose observed label is ``y`` and predicted label ``p`` (1 = positive),
    computed in one :func:`numpy.bincount` pass.
    """

    def __init__(self, facet_d: np.ndarray, positive_label: np.ndarray, positive_predicted: np.ndarray):
        code = (facet_d.astype(np.intp) << 2) | (positive_label.astype(np.intp) << 1) | positive_predicted
        self.counts = np.bincount(code, minlength=8).reshape(2, 2, 2)

    def _group(self, d: bool) -> np.ndarray:
        return self.counts[1 if d else 0]

    def tp(self, d: bool) -> int:
        return int(self._group(d)[1, 1])

    def fp(self, d: bool) -> int:
        return int(self._group(d)[0, 1])

    def fn(self, d: bool) -> int:
        return int(self._group(d)[1, 0])

    def tn(self, d: bool) -> int:
        return int(self._group(d)[0, 0])

    def labelled(self, d: bool, positive: bool) -> int:
        """Observed labels of one sign: n^(1) or n^(0)."""
        return int(self._group(d)[1 if positive else 0].sum())

    def predicted(self, d: bool, positive: bool) -> int:
        """Predicted labels of one sign: n-hat^(1) or n-hat^(0)."""
        return int(self._group(d)[:, 1 if positive else 0].sum())

    def size(self, d: bool) -> int:
        return int(self._group(d).sum())


def group_counts(facet_d, positive_label, positive_predicted, metric: str) -> GroupCounts:
    """Checked masks turned into :class:`GroupCounts` (both groups non-empty)."""
    facet_d = as_mask(facet_d, "facet_d")
    positive_label = as_mask(positive_label, "positive_label")
    positive_predicted = as_mask(positive_predicted, "positive_predicted")
    same_length(facet_d=facet_d, positive_label=positive_label, positive_predicted=positive_predicted)
    require_both_groups(facet_d, metric)
    return GroupCounts(facet_d, positive_label, positive_predicted)


def is_missing(values: np.ndarray) -> np.ndarray:
    """Element-wise "no value": NaN in float arrays, None or NaN in object arrays."""
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter(
            (item is None or (isinstance(item, float) and math.isnan(item)) for item in values.tolist()),
            dtype=bool,
            count=len(values),
        )
    return np.zeros(len(values), dtype=bool)


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes for the distinct non-missing values (-1 for missing), and their count."""
    missing = is_missing(values)
    codes = np.full(len(values), -1, dtype=np.intp)
    present = values[~missing]
    try:
        uniques, inverse = np.unique(present, return_inverse=True)
        count = len(uniques)
    except TypeError:  # unorderable mixture of Python objects: hash instead of sort
        index: dict = {}
        inverse = np.fromiter(
            (index.setdefault(item, len(index)) for item in present.tolist()), dtype=np.intp, count=len(present)
        )
        count = len(index)
    codes[~missing] = inverse.reshape(-1)
    return codes, count
