"""Model explanations the way SageMaker Clarify computes them: Kernel SHAP and partial dependence.

Clarify's explainability analysis (``analysis_config.json``, ``methods.shap`` and
``methods.pdp``; see the SageMaker Developer Guide, "Analysis configuration files" and
"Feature attributions that use Shapley values") explains a model with Kernel SHAP
(Lundberg & Lee, 2017, "A Unified Approach to Interpreting Model Predictions") against a
baseline dataset, aggregates the per-row values into global values, and draws partial
dependence plots (Friedman, 2001) for chosen features.  This module is the numeric kernel
behind that analysis.  It does no I/O: the caller reads datasets and baselines, calls
these functions with a ``predict`` callable, and writes whatever it wants of the result.

Kernel SHAP
-----------
For an instance ``x``, a background (baseline) set ``B`` with weights ``w_b`` and a model
``f``, a coalition ``z`` (a subset of the features) is valued as

    v(z) = link( sum_b w_b * f(x_z, b_{not z}) )                 (1)

(features in ``z`` take the instance's value, the others the background row's value).
The Shapley values ``phi`` are the solution of the weighted least squares problem

    min_phi  sum_z  pi(z) * ( v(z) - v(0) - sum_{j in z} phi_j )^2
    subject to  sum_j phi_j = v(all) - v(0) = link(f(x)) - link(E_B[f])     (2)

with the Shapley kernel ``pi(z) = (M - 1) / (C(M, |z|) * |z| * (M - |z|))``.  The
constraint is the efficiency property, so ``expected_value + sum_j phi_j = link(f(x))``
holds for every row.  ``expected_value = link(sum_b w_b f(b))`` is the value Clarify
reports as the baseline prediction; ``use_logit`` makes ``link`` the logit
``log(p / (1 - p))`` so values are in log-odds units, otherwise it is the identity.

Which coalitions are used follows the ``shap`` library's ``KernelExplainer`` exactly, so
the two agree to rounding error when every coalition is enumerated and agree statistically
(same estimator, same variance) when coalitions are sampled:

* features whose value equals every background row's value (``numpy.isclose``, rtol 1e-5,
  atol 1e-8) cannot change any coalition's value; they get 0 and are left out, and ``M``
  is the number of remaining ("varying") features of that row;
* ``num_samples`` defaults to ``2 M + 2048`` and is capped at ``2^M - 2``;
* coalition sizes are visited from the outside in (size ``s`` paired with ``M - s``); each
  size whose expected share of the sample budget covers all its subsets is enumerated
  completely with its exact kernel weight, and the rest of the budget is drawn at random:
  a size is drawn with probability proportional to the kernel mass left, a subset of that
  size uniformly, and its complement is added with it; a subset drawn again adds weight to
  the copy already held instead of taking a new slot (at most ``4 x`` the remaining budget
  of draws are made).  The sampled weights are then scaled to the kernel mass left;
* the constrained problem (2) is solved by eliminating the last varying feature and
  solving the normal equations (least squares if they are singular).  No L1 feature
  selection is applied (``shap``'s ``l1_reg=False``).

What differs from ``shap`` is how the work is done, not what is computed: the synthetic
rows of all explained rows are built at once with numpy and the model is called on large
batches of them (up to ``batch_size`` rows per call) instead of once per explained row,
the random coalitions of many rows are drawn and de-duplicated in one vectorised pass
(numpy's ``Generator`` seeded with ``seed``), and the small least-squares systems of all
rows are solved as one batched ``numpy.linalg.solve``.

Global values (Clarify's ``agg_method``) over the ``n`` explained rows:
``mean_abs = mean_i |phi_ij|``, ``median = median_i phi_ij``, ``mean_sq = mean_i phi_ij^2``.

A computed baseline (no ``baseline`` rows given: ``num_clusters`` k-means centres, as
Clarify does for numeric data) is found like ``shap.kmeans``: Lloyd's k-means with
k-means++ starts, each centre coordinate snapped to the nearest value observed in that
column (so integer-coded categories stay valid), each centre weighted by its cluster's
share of the rows.

Partial dependence
------------------
For a feature ``j`` and a grid value ``g``: ``pd_j(g) = (1/n) sum_i f(x_i with x_ij := g)``
(Friedman, 2001, eq. 53; Clarify ``methods.pdp``).  The grid of a numeric feature is its
distinct values when there are at most ``grid_resolution`` of them, otherwise
``grid_resolution`` quantiles (nearest observed values, duplicates dropped); a categorical
feature's grid is its categories.  Without ``features``, the ``top_k_features`` features
with the largest global SHAP values are used, as Clarify does when SHAP is configured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "AGG_METHODS",
    "Explanation",
    "PdpConfig",
    "PdpResult",
    "ShapConfig",
    "ShapResult",
    "aggregate",
    "compute_baseline",
    "explain",
    "kernel_shap",
    "partial_dependence",
]

AGG_METHODS = ("mean_abs", "median", "mean_sq")
DEFAULT_NUM_CLUSTERS = 10
DEFAULT_GRID_RESOLUTION = 15
DEFAULT_TOP_K_FEATURES = 10
DEFAULT_BATCH_SIZE = 500_000

# Rows of one group are handled in chunks of about this many mask cells
# (rows x coalitions x features).  It bounds memory and, being independent of
# batch_size, keeps the random stream (hence the results) independent of it.
_CELL_BUDGET = 1 << 22
_LOGIT_EPS = 1e-15
_ZERO_CLEANUP = 1e-10  # shap rounds |phi| below this to exactly 0
_SEED_MASK = (1 << 64) - 1  # any integer seed, negative ones included, maps to a valid one

Predict = Callable[[np.ndarray], Any]


# --------------------------------------------------------------------------- configuration


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_int(field_name: str, value: Any) -> int:
    if not _is_int(value) or int(value) < 1:
        raise ValueError(f"{field_name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ShapConfig:
    """What Kernel SHAP is asked to do: Clarify's ``methods.shap`` block, already checked.

    The Clarify built-in reads and checks ``analysis_config.json``
    (:mod:`charter.builtins.clarify.config`) and hands the kernel this typed object; the
    kernel trusts it and checks only what depends on the data (a baseline row's width, a
    feature name).  ``baseline``: rows in the dataset's feature layout (an S3 URI is read
    into rows by the caller).  ``num_clusters``: size of the k-means baseline computed
    when no ``baseline`` is given (default 10).  ``num_samples``: coalitions per row
    (default ``2 M + 2048``).  ``agg_method``: one of :data:`AGG_METHODS`.
    ``use_logit``: explain log-odds of probability outputs.  ``save_local_shap_values``:
    whether the per-row values are part of :meth:`ShapResult.to_analysis`.  ``seed``:
    makes sampling (and the k-means baseline) reproducible.  ``features_to_explain``:
    names or indices of the features to attribute; the other features are held together
    as one player whose share is reported separately (``ShapResult.other_values``).
    """

    baseline: Sequence[Sequence[Any]] | None = None
    num_clusters: int | None = None
    num_samples: int | None = None
    agg_method: str = "mean_abs"
    use_logit: bool = False
    save_local_shap_values: bool = True
    seed: int | None = None
    features_to_explain: tuple[str | int, ...] | None = None


@dataclass(frozen=True)
class PdpConfig:
    """What partial dependence is asked to do: Clarify's ``methods.pdp`` block, already checked.

    ``features``: names or indices to plot; when absent, the ``top_k_features`` (default
    10) features with the largest global SHAP values are used.  ``grid_resolution``
    (default 15): number of grid points for a numeric feature.
    """

    features: tuple[str | int, ...] | None = None
    grid_resolution: int = DEFAULT_GRID_RESOLUTION
    top_k_features: int = DEFAULT_TOP_K_FEATURES


# --------------------------------------------------------------------------- inputs


def _as_matrix(data: Any, what: str) -> tuple[np.ndarray, list[str] | None]:
    """A 2-D array (float64 when every column is numeric, else object) and column names."""
    names = None
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a pandas DataFrame
        names = [str(c) for c in data.columns]
        data = data.to_numpy()
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a 2-D table of rows by features, got shape {arr.shape}")
    if arr.dtype.kind in "biuf":
        arr = arr.astype(np.float64, copy=False)
    elif arr.dtype.kind != "O":
        arr = arr.astype(object)
        try:  # numbers stored as strings, e.g. rows read from CSV
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    else:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    return arr, names


def _feature_names(count: int, given: Sequence[str] | None, from_data: list[str] | None) -> list[str]:
    if given is not None:
        names = [str(n) for n in given]
        if len(names) != count:
            raise ValueError(f"feature_names has {len(names)} names for {count} features")
    elif from_data is not None:
        names = from_data
    else:
        names = [f"feature_{i}" for i in range(count)]
    if len(set(names)) != len(names):
        raise ValueError("feature_names must be unique")
    return names


def _resolve_features(field_name: str, items: Sequence, names: list[str]) -> list[int]:
    index = {n: i for i, n in enumerate(names)}
    out: list[int] = []
    for item in items:
        if isinstance(item, str):
            if item not in index:
                raise ValueError(f"{field_name}: unknown feature {item!r}; features are {names}")
            j = index[item]
        else:
            j = int(item)
            if not 0 <= j < len(names):
                raise ValueError(f"{field_name}: feature index {j} is out of range 0..{len(names) - 1}")
        if j in out:
            raise ValueError(f"{field_name}: feature {names[j]!r} is listed twice")
        out.append(j)
    return out


class _Model:
    """Calls ``predict`` on at most ``batch_size`` rows at a time and checks its output."""

    def __init__(self, predict: Predict, batch_size: int):
        if not callable(predict):
            raise ValueError("predict must be callable: rows (n x features) -> predictions")
        self.predict = predict
        self.batch_size = _positive_int("batch_size", batch_size)
        self.outputs: int | None = None
        self.calls = 0
        self.rows = 0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        parts = []
        for start in range(0, n, self.batch_size):
            chunk = rows[start : start + self.batch_size]
            out = np.asarray(self.predict(chunk), dtype=np.float64)
            self.calls += 1
            self.rows += chunk.shape[0]
            if out.ndim == 1:
                out = out[:, None]
            if out.ndim != 2 or out.shape[0] != chunk.shape[0]:
                raise ValueError(
                    f"predict returned shape {out.shape} for {chunk.shape[0]} rows; expected "
                    "(rows,) or (rows, outputs)"
                )
            if self.outputs is None:
                self.outputs = out.shape[1]
            elif out.shape[1] != self.outputs:
                raise ValueError("predict returned a different number of outputs between calls")
            if not np.all(np.isfinite(out)):
                raise ValueError("predict returned NaN or infinite predictions")
            parts.append(out)
        if not parts:
            return np.zeros((0, self.outputs or 1))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _label_headers(count: int, given: Sequence[str] | None) -> list[str]:
    if given is None:
        return [f"label{i}" for i in range(count)]
    headers = [str(h) for h in given]
    if len(headers) != count:
        raise ValueError(f"label_headers has {len(headers)} entries for {count} model outputs")
    return headers


# --------------------------------------------------------------------------- baseline


def compute_baseline(
    data: Any, num_clusters: int = DEFAULT_NUM_CLUSTERS, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k-means summary of ``data``: (centres, weights), as Clarify computes a SHAP baseline.

    Lloyd's algorithm from four k-means++ starts (the lowest within-cluster sum of squares
    wins), missing values imputed with the column mean, each centre coordinate then snapped
    to the nearest value observed in its column, and each centre weighted by the fraction
    of rows in its cluster (the recipe of ``shap.kmeans``).  At most 100,000 rows (drawn
    with ``seed``) are clustered.
    """
    num_clusters = _positive_int("shap.num_clusters", num_clusters)
    X, _ = _as_matrix(data, "baseline data")
    if X.dtype != np.float64:
        raise ValueError(
            "shap.num_clusters: a computed baseline needs numeric features; "
            "give shap.baseline rows instead"
        )
    rng = np.random.default_rng(0 if seed is None else int(seed) & _SEED_MASK)
    if X.shape[0] > 100_000:
        X = X[np.sort(rng.choice(X.shape[0], 100_000, replace=False))]
    if np.isnan(X).any():
        means = np.nanmean(X, axis=0)
        means = np.where(np.isnan(means), 0.0, means)
        X = np.where(np.isnan(X), means, X)
    n = X.shape[0]
    k = min(num_clusters, n)
    sq = np.einsum("ij,ij->i", X, X)

    def assign(centres: np.ndarray) -> tuple[np.ndarray, float]:
        d = sq[:, None] - 2.0 * X @ centres.T + np.einsum("ij,ij->i", centres, centres)[None, :]
        labels = np.argmin(d, axis=1)
        return labels, float(np.maximum(d[np.arange(n), labels], 0.0).sum())

    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(4):
        centres = np.empty((k, X.shape[1]))
        centres[0] = X[rng.integers(n)]
        closest = np.maximum(sq - 2.0 * X @ centres[0] + centres[0] @ centres[0], 0.0)
        for c in range(1, k):
            total = closest.sum()
            pick = rng.choice(n, p=closest / total) if total > 0 else rng.integers(n)
            centres[c] = X[pick]
            dist = np.maximum(sq - 2.0 * X @ centres[c] + centres[c] @ centres[c], 0.0)
            closest = np.minimum(closest, dist)
        labels, inertia = assign(centres)
        for _ in range(300):
            counts = np.bincount(labels, minlength=k)
            sums = np.zeros_like(centres)
            np.add.at(sums, labels, X)
            moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
            new_labels, new_inertia = assign(moved)
            centres = moved
            if np.array_equal(new_labels, labels):
                labels, inertia = new_labels, new_inertia
                break
            labels, inertia = new_labels, new_inertia
        if best is None or inertia < best[0]:
            best = (inertia, centres, labels)
    assert best is not None
    _, centres, labels = best
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    keep = counts > 0
    centres, counts = centres[keep], counts[keep]
    for j in range(X.shape[1]):  # snap to observed values
        values = np.unique(X[:, j])
        pos = np.clip(np.searchsorted(values, centres[:, j]), 1, max(len(values) - 1, 1))
        lower = values[pos - 1]
        upper = values[np.minimum(pos, len(values) - 1)]
        centres[:, j] = np.where(np.abs(centres[:, j] - lower) <= np.abs(upper - centres[:, j]), lower, upper)
    return centres, counts / counts.sum()


# --------------------------------------------------------------------------- Kernel SHAP


def _link(values: np.ndarray, use_logit: bool) -> np.ndarray:
    if not use_logit:
        return values
    p = np.clip(values, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
    return np.log(p / (1.0 - p))


@dataclass
class _Plan:
    """The coalition design of one ``M`` (number of varying players)."""

    M: int
    nsamples: int
    enum_masks: np.ndarray  # (E, M) bool, fully enumerated sizes
    enum_weights: np.ndarray  # (E,)
    sizes: np.ndarray  # random part: subset sizes that may be drawn
    probs: np.ndarray  # their draw probabilities
    paired: np.ndarray  # whether a drawn subset brings its complement
    samples_left: int  # random part budget
    weight_left: float  # kernel mass the random part carries


def _plan(M: int, num_samples: int | None) -> _Plan:
    """Split the budget into enumerated subset sizes and a sampled rest, as shap does."""
    nsamples = num_samples if num_samples is not None else 2 * M + 2**11
    if M <= 30:
        nsamples = min(nsamples, 2**M - 2)
    n_sizes = math.ceil((M - 1) / 2.0)
    n_paired = math.floor((M - 1) / 2.0)
    weight = np.array([(M - 1.0) / (s * (M - s)) for s in range(1, n_sizes + 1)])
    weight[:n_paired] *= 2
    weight /= weight.sum()

    full = 0
    left = float(nsamples)
    remaining = weight.copy()
    masks: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for size in range(1, n_sizes + 1):
        count = math.comb(M, size)
        subsets = count * 2 if size <= n_paired else count
        if left * remaining[size - 1] / subsets < 1.0 - 1e-8:
            break
        full += 1
        left -= subsets
        if remaining[size - 1] < 1.0:
            remaining /= 1 - remaining[size - 1]
        w = weight[size - 1] / count
        if size <= n_paired:
            w /= 2.0
        combos = np.array(list(itertools.combinations(range(M), size)), dtype=np.intp)
        m = np.zeros((len(combos), M), dtype=bool)
        m[np.arange(len(combos))[:, None], combos] = True
        if size <= n_paired:  # each subset followed by its complement
            m = np.stack([m, ~m], axis=1).reshape(-1, M)
        masks.append(m)
        weights.append(np.full(len(m), w))
    enum_masks = np.concatenate(masks) if masks else np.zeros((0, M), dtype=bool)
    enum_weights = np.concatenate(weights) if weights else np.zeros(0)
    samples_left = nsamples - len(enum_masks)
    if full == n_sizes or samples_left <= 0:
        empty = np.zeros(0)
        return _Plan(M, nsamples, enum_masks, enum_weights, empty.astype(int), empty,
                     empty.astype(bool), 0, 0.0)
    probs = weight.copy()
    probs[:n_paired] /= 2  # a paired draw brings two subsets
    probs = probs[full:]
    probs /= probs.sum()
    sizes = np.arange(full + 1, n_sizes + 1)
    return _Plan(
        M, nsamples, enum_masks, enum_weights, sizes, probs, sizes <= n_paired,
        int(samples_left), float(weight[full:].sum()),
    )


def _random_subsets(sizes: np.ndarray, M: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random subsets of {0..M-1} with the given sizes, as (..., M) bool masks."""
    keys = rng.random(sizes.shape + (M,))
    threshold = np.take_along_axis(np.sort(keys, axis=-1), sizes[..., None] - 1, axis=-1)
    return keys <= threshold


def _first_draws(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """For (R, T, M) draws: whether each is its row's first draw of that subset, and a
    group id per draw shared by equal subsets of the same row."""
    R, T, M = masks.shape
    rows = np.repeat(np.arange(R), T)
    if M + max(1, R.bit_length()) <= 62:
        # one integer key per draw: row in the high bits, the subset's bits below
        code = masks.reshape(R * T, M).astype(np.int64) @ (np.int64(1) << np.arange(M, dtype=np.int64))
        key = (rows.astype(np.int64) << M) | code
        order = np.argsort(key, kind="stable")  # stable: equal keys stay in draw order
        skey = key[order]
        start = np.ones(R * T, dtype=bool)
        start[1:] = skey[1:] != skey[:-1]
    else:
        packed = np.packbits(masks, axis=-1, bitorder="little")
        pad = (-packed.shape[-1]) % 8
        if pad:
            packed = np.concatenate([packed, np.zeros((R, T, pad), dtype=np.uint8)], axis=-1)
        words = np.ascontiguousarray(packed).view("<u8").reshape(R * T, -1)
        draw_index = np.tile(np.arange(T), R)
        keys = [draw_index] + [words[:, w] for w in range(words.shape[1] - 1, -1, -1)] + [rows]
        order = np.lexsort(keys)
        srows, swords = rows[order], words[order]
        start = np.ones(R * T, dtype=bool)
        start[1:] = (srows[1:] != srows[:-1]) | np.any(swords[1:] != swords[:-1], axis=1)
    gid_sorted = np.cumsum(start) - 1
    gid = np.empty(R * T, dtype=np.intp)
    gid[order] = gid_sorted
    draw = order % T  # draw index of each sorted entry
    first_draw = draw[start]
    is_first = np.empty(R * T, dtype=bool)
    is_first[order] = draw == first_draw[gid_sorted]
    return is_first.reshape(R, T), gid.reshape(R, T), int(gid_sorted[-1]) + 1


def _draws_needed(plan: _Plan) -> int:
    """A number of draws that fills the random budget for nearly every row.

    After T draws, subsets of size s (N_s of them, drawn with probability p_s) are
    expected to cover N_s (1 - (1 - p_s / N_s)^T) distinct subsets; find the T at which
    that (with complements) reaches the budget, plus a margin for the spread between rows.
    Rows that still fall short get more draws.
    """
    counts = np.array([float(min(math.comb(plan.M, int(s)), 10**300)) for s in plan.sizes])
    per_subset = plan.probs / counts
    gain = 1.0 + plan.paired
    left = plan.samples_left
    space = float(np.sum(counts * gain))

    def expected(T: float) -> float:
        return float(np.sum(counts * gain * -np.expm1(T * np.log1p(-per_subset))))

    if left >= space:
        return 4 * left
    lo, hi = 0.0, float(4 * left)
    if expected(hi) < left:
        return 4 * left
    for _ in range(60):
        mid = (lo + hi) / 2
        if expected(mid) < left:
            lo = mid
        else:
            hi = mid
    return int(math.ceil(hi * 1.1)) + 16


def _sample_coalitions(plan: _Plan, R: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The random part of the design for R rows: (R, samples_left, M) masks and weights."""
    M, left = plan.M, plan.samples_left
    max_draws = 4 * left
    T = min(max_draws, _draws_needed(plan))
    choice = rng.choice(len(plan.sizes), size=(R, T), p=plan.probs)
    masks = _random_subsets(plan.sizes[choice], M, rng)
    while True:
        is_first, gid, groups = _first_draws(masks)
        paired = plan.paired[choice]
        new = is_first * (1 + paired.astype(np.int64))
        cum = np.cumsum(new, axis=1)
        reached = cum[:, -1] >= left
        if reached.all() or T >= max_draws:
            break
        extra = min(max_draws, T + T // 2) - T
        more = rng.choice(len(plan.sizes), size=(R, extra), p=plan.probs)
        choice = np.concatenate([choice, more], axis=1)
        masks = np.concatenate([masks, _random_subsets(plan.sizes[more], M, rng)], axis=1)
        T += extra
    draw = np.arange(T)[None, :]
    last = np.where(reached, np.argmax(cum >= left, axis=1), T - 1)
    used = draw <= last[:, None]
    counts = np.bincount(gid[used], minlength=groups).astype(np.float64)
    take = is_first & used
    pos = cum - new
    complement = take & paired & ~((draw == last[:, None]) & (cum > left))

    out_masks = np.zeros((R, left, M), dtype=bool)
    out_weights = np.zeros((R, left))
    r, t = np.nonzero(take)
    out_masks[r, pos[r, t]] = masks[r, t]
    out_weights[r, pos[r, t]] = counts[gid[r, t]]
    r, t = np.nonzero(complement)
    out_masks[r, pos[r, t] + 1] = ~masks[r, t]
    out_weights[r, pos[r, t] + 1] = counts[gid[r, t]]
    totals = out_weights.sum(axis=1, keepdims=True)
    out_weights *= plan.weight_left / np.where(totals > 0, totals, 1.0)
    return out_masks, out_weights


_MAX_CONDITION = 1e10  # condition number above which the normal equations are not trusted


def _solve(masks: np.ndarray, weights: np.ndarray, y: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Constrained weighted least squares (2) for R rows at once.

    masks (R, S, M) bool, weights (R, S), y = v(z) - v(0) as (R, S, K),
    total = v(all) - v(0) as (R, K).  Returns phi (R, M, K).
    """
    F = masks.astype(np.float64)
    last = F[:, :, -1:]
    X = F[:, :, :-1] - last
    target = y - last * total[:, None, :]
    WX = X * weights[:, :, None]
    A = np.matmul(X.transpose(0, 2, 1), WX)
    b = np.matmul(WX.transpose(0, 2, 1), target)
    # Few samples for many features leave A singular or nearly so, where solve()
    # answers nonsense (values of 1e12) rather than failing: those rows get the
    # minimum-norm least-squares solution instead.
    ill = np.linalg.cond(A) > _MAX_CONDITION if len(A) else np.zeros(0, bool)
    sol = np.empty_like(b)
    well = ~ill
    if well.any():
        sol[well] = np.linalg.solve(A[well], b[well])
    for i in np.flatnonzero(ill):
        root = np.sqrt(weights[i])[:, None]
        sol[i] = np.linalg.lstsq(root * X[i], root * target[i], rcond=None)[0]
    phi = np.empty((masks.shape[0], masks.shape[2], y.shape[2]))
    phi[:, :-1] = sol
    phi[:, -1] = total - sol.sum(axis=1)
    phi[np.abs(phi) < _ZERO_CLEANUP] = 0.0
    return phi


def _varying(X: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(n, P) bool: the row's value differs from at least one background row's value."""
    n, P = X.shape
    out = np.empty((n, P), dtype=bool)
    step = max(1, (1 << 22) // max(1, background.shape[0] * P))
    numeric = X.dtype == np.float64 and background.dtype == np.float64
    for start in range(0, n, step):
        x = X[start : start + step, None, :]
        if numeric:
            same = np.isclose(x, background[None], rtol=1e-5, atol=1e-8, equal_nan=True)
        else:
            same = x == background[None]
        out[start : start + step] = ~same.all(axis=1)
    return out


@dataclass
class ShapResult:
    """Kernel SHAP values of ``n`` rows over ``F`` explained features and ``K`` outputs.

    ``local`` is (n, F, K) in link units, ``predictions`` = link(f(x)) (n, K),
    ``expected`` = link(E_baseline[f]) (K,), and for every row
    ``expected + local.sum(features) + other_values = predictions`` (efficiency).
    """

    feature_names: list[str]
    label_headers: list[str]
    local: np.ndarray
    expected: np.ndarray
    predictions: np.ndarray
    agg_method: str
    use_logit: bool
    save_local_shap_values: bool
    baseline: np.ndarray
    baseline_weights: np.ndarray
    num_samples: dict[int, int]
    other_values: np.ndarray | None = None
    model_calls: int = 0
    model_rows: int = 0
    global_: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.global_ = aggregate(self.local, self.agg_method)

    @property
    def local_values(self) -> np.ndarray:
        """Per-row values: (n, F) for a single-output model, else (n, F, K)."""
        return self.local[:, :, 0] if self.local.shape[2] == 1 else self.local

    @property
    def global_values(self) -> np.ndarray:
        """Global values by ``agg_method``: (F,) for a single-output model, else (F, K)."""
        return self.global_[:, 0] if self.global_.shape[1] == 1 else self.global_

    @property
    def expected_value(self) -> float | np.ndarray:
        """The baseline prediction in link units (a float for a single-output model)."""
        return float(self.expected[0]) if self.expected.shape[0] == 1 else self.expected

    def global_shap_values(self, label: int | str = 0) -> dict[str, float]:
        k = self._label_index(label)
        return {name: float(v) for name, v in zip(self.feature_names, self.global_[:, k])}

    def top_features(self, count: int, label: int | str = 0) -> list[str]:
        """Names of the ``count`` features with the largest global values."""
        k = self._label_index(label)
        order = np.argsort(-self.global_[:, k], kind="stable")
        return [self.feature_names[i] for i in order[:count]]

    def _label_index(self, label: int | str) -> int:
        if isinstance(label, str):
            if label not in self.label_headers:
                raise ValueError(f"unknown label {label!r}; labels are {self.label_headers}")
            return self.label_headers.index(label)
        if not 0 <= int(label) < len(self.label_headers):
            raise ValueError(f"label index {label} is out of range")
        return int(label)

    def to_analysis(self) -> dict[str, Any]:
        """The ``kernel_shap`` part of Clarify's ``analysis.json``, one entry per label."""
        out: dict[str, Any] = {}
        for k, label in enumerate(self.label_headers):
            entry: dict[str, Any] = {
                "global_shap_values": self.global_shap_values(k),
                "expected_value": float(self.expected[k]),
            }
            if self.save_local_shap_values:
                entry["local_shap_values"] = self.local[:, :, k].tolist()
            out[label] = entry
        return out


def aggregate(local: np.ndarray, agg_method: str = "mean_abs") -> np.ndarray:
    """Global values from per-row values along axis 0 (Clarify ``agg_method``)."""
    if agg_method not in AGG_METHODS:
        raise ValueError(f"agg_method must be one of {', '.join(AGG_METHODS)}, got {agg_method!r}")
    local = np.asarray(local, dtype=np.float64)
    if local.shape[0] == 0:
        return np.zeros(local.shape[1:])
    if agg_method == "mean_abs":
        return np.abs(local).mean(axis=0)
    if agg_method == "median":
        return np.median(local, axis=0)
    return np.square(local).mean(axis=0)


def kernel_shap(
    predict: Predict,
    data: Any,
    config: ShapConfig | None = None,
    *,
    feature_names: Sequence[str] | None = None,
    label_headers: Sequence[str] | None = None,
    baseline_source: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ShapResult:
    """Kernel SHAP values of every row of ``data`` (see the module docstring for the maths).

    ``predict`` takes a 2-D array of rows (float64, or object when a column is not numeric)
    and returns one prediction per row, ``(rows,)`` or ``(rows, outputs)``; it is called on
    at most ``batch_size`` rows at a time.  ``config`` says what to compute (defaults:
    :class:`ShapConfig`).  Without ``baseline`` rows, the baseline is the k-means summary
    of ``baseline_source`` (default: ``data``).
    """
    cfg = config if config is not None else ShapConfig()
    X, names_from_data = _as_matrix(data, "data")
    n, P = X.shape
    names = _feature_names(P, feature_names, names_from_data)
    model = _Model(predict, batch_size)

    if cfg.baseline is not None:
        try:
            background, _ = _as_matrix(cfg.baseline, "shap.baseline")
        except ValueError as exc:
            if str(exc).startswith("shap.baseline"):
                raise
            raise ValueError(f"shap.baseline must be rows of equal length: {exc}") from None
        if background.shape[1] != P:
            raise ValueError(
                f"shap.baseline rows have {background.shape[1]} values; the data has {P} features"
            )
        if X.dtype == np.float64 and background.dtype != np.float64:
            raise ValueError("shap.baseline has non-numeric values but the data is numeric")
        if X.dtype == object:
            background = background.astype(object)
        bg_weights = np.full(background.shape[0], 1.0 / background.shape[0])
    else:
        source = X if baseline_source is None else baseline_source
        background, bg_weights = compute_baseline(
            source, cfg.num_clusters or DEFAULT_NUM_CLUSTERS, cfg.seed
        )
        if background.shape[1] != P:
            raise ValueError(f"baseline_source has {background.shape[1]} features; the data has {P}")
        if X.dtype == object:
            background = background.astype(object)

    # players: the explained features one by one, plus the rest held together
    if cfg.features_to_explain is not None:
        explained = _resolve_features("shap.features_to_explain", cfg.features_to_explain, names)
    else:
        explained = list(range(P))
    rest = [j for j in range(P) if j not in explained]
    groups = [[j] for j in explained] + ([rest] if rest else [])
    membership = np.zeros((len(groups), P), dtype=bool)
    for g, members in enumerate(groups):
        membership[g, members] = True
    singletons = not rest

    null_out = model(background)
    K = null_out.shape[1]
    headers = _label_headers(K, label_headers)
    fnull = bg_weights @ null_out  # (K,)
    fx = model(X) if n else np.zeros((0, K))
    if cfg.use_logit:
        for what, values in (("baseline", null_out), ("data", fx)):
            if values.size and (values.min() < 0.0 or values.max() > 1.0):
                raise ValueError(
                    "shap.use_logit needs model outputs that are probabilities in [0, 1]; "
                    f"the {what} predictions range over [{values.min():g}, {values.max():g}]"
                )
    link_null = _link(fnull, cfg.use_logit)
    link_fx = _link(fx, cfg.use_logit)
    total = link_fx - link_null[None, :]  # (n, K)

    varying = (_varying(X, background).astype(np.int32) @ membership.T.astype(np.int32)) > 0
    per_row = varying.sum(axis=1)
    phi_players = np.zeros((n, len(groups), K))
    rng = np.random.default_rng(None if cfg.seed is None else int(cfg.seed) & _SEED_MASK)
    used_samples: dict[int, int] = {}

    for M in np.unique(per_row):
        M = int(M)
        rows = np.nonzero(per_row == M)[0]
        if M == 0:
            continue
        players = np.nonzero(varying[rows])[1].reshape(len(rows), M)
        if M == 1:
            phi_players[rows, players[:, 0]] = total[rows]
            continue
        plan = _plan(M, cfg.num_samples)
        used_samples[M] = plan.nsamples
        S = plan.nsamples
        chunk = max(1, _CELL_BUDGET // (S * max(M, P)))
        for start in range(0, len(rows), chunk):
            r_idx = rows[start : start + chunk]
            p_idx = players[start : start + chunk]
            R = len(r_idx)
            masks = np.broadcast_to(plan.enum_masks, (R,) + plan.enum_masks.shape)
            weights = np.broadcast_to(plan.enum_weights, (R, len(plan.enum_weights)))
            if plan.samples_left:
                rand_masks, rand_weights = _sample_coalitions(plan, R, rng)
                masks = np.concatenate([masks, rand_masks], axis=1)
                weights = np.concatenate([weights, rand_weights], axis=1)
            full = _feature_masks(masks, p_idx, membership, singletons, P)
            ey = _expected_outputs(model, X[r_idx], full, background, bg_weights)
            y = _link(ey, cfg.use_logit) - link_null[None, None, :]
            phi = _solve(np.ascontiguousarray(masks), np.ascontiguousarray(weights), y, total[r_idx])
            phi_players[r_idx[:, None], p_idx] = phi

    local = phi_players[:, : len(explained)]
    other = phi_players[:, len(explained)] if rest else None
    return ShapResult(
        feature_names=[names[j] for j in explained],
        label_headers=headers,
        local=local,
        expected=link_null,
        predictions=link_fx,
        agg_method=cfg.agg_method,
        use_logit=cfg.use_logit,
        save_local_shap_values=cfg.save_local_shap_values,
        baseline=background,
        baseline_weights=bg_weights,
        num_samples=used_samples,
        other_values=other,
        model_calls=model.calls,
        model_rows=model.rows,
    )


def _feature_masks(
    masks: np.ndarray, players: np.ndarray, membership: np.ndarray, singletons: bool, P: int
) -> np.ndarray:
    """(R, S, M) player masks -> (R, S, P) feature masks (True: take the row's value)."""
    R, S, M = masks.shape
    if singletons:
        feature = np.argmax(membership, axis=1)
        full = np.zeros((R, S, P), dtype=bool)
        full[np.arange(R)[:, None], :, feature[players]] = masks.transpose(0, 2, 1)
        return full
    members = membership[players].astype(np.float32)  # (R, M, P)
    return np.matmul(masks.astype(np.float32), members) > 0.5


def _expected_outputs(
    model: _Model, X: np.ndarray, full: np.ndarray, background: np.ndarray, bg_weights: np.ndarray
) -> np.ndarray:
    """E_b[f(x_z, b_not z)] for every row and coalition: (R, S, K), in large model calls."""
    R, S, P = full.shape
    B = background.shape[0]
    flat = full.reshape(R * S, P)
    step = max(1, model.batch_size // B)
    out = None
    for start in range(0, R * S, step):
        zm = flat[start : start + step]
        xr = X[np.arange(start, start + len(zm)) // S]
        synth = np.where(zm[:, None, :], xr[:, None, :], background[None, :, :]).reshape(-1, P)
        pred = model(synth).reshape(len(zm), B, -1)
        if out is None:
            out = np.empty((R * S, pred.shape[2]))
        out[start : start + len(zm)] = np.einsum("qbk,b->qk", pred, bg_weights)
    assert out is not None
    return out.reshape(R, S, -1)


# --------------------------------------------------------------------------- partial dependence


@dataclass
class PdpResult:
    """One feature's partial dependence: mean prediction per grid value, per output."""

    feature_name: str
    data_type: str  # "numerical" or "categorical"
    feature_values: list
    model_predictions: np.ndarray  # (K, G)
    label_headers: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The entry Clarify writes to ``analysis.json`` under ``explanations.pdp``."""
        values = [v.item() if isinstance(v, np.generic) else v for v in self.feature_values]
        return {
            "feature_name": self.feature_name,
            "data_type": self.data_type,
            "feature_values": values,
            "model_predictions": self.model_predictions.tolist(),
            "label_headers": list(self.label_headers),
        }


def _grid(column: np.ndarray, categorical: bool, resolution: int) -> np.ndarray:
    if column.dtype == np.float64:
        values = column[~np.isnan(column)]
        if values.size == 0:
            raise ValueError("pdp: a feature has no values to build a grid from")
        distinct = np.unique(values)
        if categorical or len(distinct) <= resolution:
            return distinct
        qs = np.quantile(values, np.linspace(0.0, 1.0, resolution), method="nearest")
        return np.unique(qs)
    present = [v for v in column if v is not None and v == v]
    return np.array(sorted(set(present), key=lambda v: (str(type(v)), v)), dtype=object)


def partial_dependence(
    predict: Predict,
    data: Any,
    config: PdpConfig | None = None,
    *,
    feature_names: Sequence[str] | None = None,
    categorical_features: Sequence[str | int] | None = None,
    shap_result: ShapResult | None = None,
    label_headers: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[PdpResult]:
    """Partial dependence of the model's predictions on each chosen feature.

    All (feature, grid value, row) combinations are evaluated in calls of at most
    ``batch_size`` rows.  Non-numeric columns and ``categorical_features`` are categorical.
    """
    cfg = config if config is not None else PdpConfig()
    X, names_from_data = _as_matrix(data, "data")
    n, P = X.shape
    if n == 0:
        raise ValueError("pdp: data has no rows")
    names = _feature_names(P, feature_names, names_from_data)
    if cfg.features is not None:
        chosen = _resolve_features("pdp.features", cfg.features, names)
    elif shap_result is not None:
        top = shap_result.top_features(cfg.top_k_features)
        chosen = [names.index(name) for name in top]
    else:
        raise ValueError("pdp.features is required when SHAP values are not computed")
    categorical = set(
        _resolve_features("categorical_features", categorical_features or [], names)
    )
    model = _Model(predict, batch_size)

    grids = [_grid(X[:, j], j in categorical or X.dtype != np.float64, cfg.grid_resolution) for j in chosen]
    block_feature = np.concatenate([np.full(len(g), j) for g, j in zip(grids, chosen)])
    block_value = np.concatenate([g.astype(object) for g in grids])
    blocks = len(block_feature)
    total_rows = blocks * n
    sums = None
    for start in range(0, total_rows, model.batch_size):
        q = np.arange(start, min(total_rows, start + model.batch_size))
        block, row = q // n, q % n
        synth = X[row].copy()
        values = block_value[block]
        synth[np.arange(len(q)), block_feature[block]] = values.astype(X.dtype) if X.dtype == np.float64 else values
        pred = model(synth)
        if sums is None:
            sums = np.zeros((blocks, pred.shape[1]))
        for k in range(pred.shape[1]):
            sums[:, k] += np.bincount(block, weights=pred[:, k], minlength=blocks)
    assert sums is not None
    means = sums / n
    headers = _label_headers(means.shape[1], label_headers)
    results = []
    offset = 0
    for j, grid in zip(chosen, grids):
        G = len(grid)
        results.append(
            PdpResult(
                feature_name=names[j],
                data_type="categorical" if (j in categorical or X.dtype != np.float64) else "numerical",
                feature_values=list(grid),
                model_predictions=means[offset : offset + G].T.copy(),
                label_headers=headers,
            )
        )
        offset += G
    return results


# --------------------------------------------------------------------------- one call, as Clarify


@dataclass
class Explanation:
    """What ``explain`` computed: SHAP values and/or partial dependence."""

    shap: ShapResult | None
    pdp: list[PdpResult] | None

    def to_analysis(self) -> dict[str, Any]:
        """The ``explanations`` object of Clarify's ``analysis.json``."""
        out: dict[str, Any] = {}
        if self.shap is not None:
            out["kernel_shap"] = self.shap.to_analysis()
        if self.pdp is not None:
            out["pdp"] = [p.to_dict() for p in self.pdp]
        return {"explanations": out}


def explain(
    predict: Predict,
    data: Any,
    *,
    shap: ShapConfig | None = None,
    pdp: PdpConfig | None = None,
    feature_names: Sequence[str] | None = None,
    label_headers: Sequence[str] | None = None,
    categorical_features: Sequence[str | int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Explanation:
    """Kernel SHAP and/or partial dependence in one call, as a Clarify analysis runs them.

    PDP without ``features`` uses SHAP's top features, as Clarify does.
    """
    if shap is None and pdp is None:
        raise ValueError("neither shap nor pdp is given; nothing to explain")
    shap_result = None
    if shap is not None:
        shap_result = kernel_shap(
            predict, data, shap, feature_names=feature_names,
            label_headers=label_headers, batch_size=batch_size,
        )
    pdp_result = None
    if pdp is not None:
        pdp_result = partial_dependence(
            predict, data, pdp, feature_names=feature_names,
            categorical_features=categorical_features, shap_result=shap_result,
            label_headers=label_headers, batch_size=batch_size,
        )
    return Explanation(shap=shap_result, pdp=pdp_result)
