"""Post-training (model) bias metrics of SageMaker Clarify.

Notation (SageMaker Clarify developer guide, "Post-training Data and Model
Bias Metrics"): for facet group a (the rest) and d (sensitive), ``n`` counts
rows, ``n^(1)``/``n^(0)`` observed positive/negative labels, ``n-hat^(1)``/
``n-hat^(0)`` predicted positive/negative labels, and TP, FP, FN, TN the
confusion counts within the group.

Ratios use Clarify's division rule (``0/0 = 0``, ``x/0 = inf``) and a
difference of two infinite ratios is 0.  Metrics that compare groups raise
``ValueError`` when either group is empty, as Clarify does.
"""

from __future__ import annotations

import numpy as np

from ._core import as_mask, difference, divide, group_counts, require_both_groups, same_length
from .pretraining_metrics import _difference_in_positive_proportions, conditional_demographic_disparity

__all__ = [
    "AD",
    "CDDPL",
    "DAR",
    "DCA",
    "DCR",
    "DI",
    "DPPL",
    "DRR",
    "FT",
    "GE",
    "RD",
    "SD",
    "TE",
    "generalized_entropy",
]


def DPPL(facet_d, positive_predicted) -> float:
    r"""Difference in Positive Proportions in Predicted Labels (DPPL).

    .. math:: DPPL = \hat q_a - \hat q_d = \frac{\hat n_a^{(1)}}{n_a} - \frac{\hat n_d^{(1)}}{n_d}
    """
    facet_d = as_mask(facet_d, "facet_d")
    positive_predicted = as_mask(positive_predicted, "positive_predicted")
    same_length(facet_d=facet_d, positive_predicted=positive_predicted)
    return _difference_in_positive_proportions(facet_d, positive_predicted, "DPPL")


def DI(facet_d, positive_predicted) -> float:
    r"""Disparate Impact (DI): ratio of the predicted positive proportions.

    .. math:: DI = \frac{\hat q_d}{\hat q_a} = \frac{\hat n_d^{(1)} / n_d}{\hat n_a^{(1)} / n_a}

    ``inf`` when group a has no positive prediction but d has some, 0 when
    neither has any.
    """
    facet_d = as_mask(facet_d, "facet_d")
    positive_predicted = as_mask(positive_predicted, "positive_predicted")
    same_length(facet_d=facet_d, positive_predicted=positive_predicted)
    require_both_groups(facet_d, "DI")
    n_d = int(np.count_nonzero(facet_d))
    n_a = len(facet_d) - n_d
    n_d_pos = int(np.count_nonzero(positive_predicted & facet_d))
    n_a_pos = int(np.count_nonzero(positive_predicted)) - n_d_pos
    return divide(n_d_pos / n_d, n_a_pos / n_a)


def DCA(facet_d, positive_label, positive_predicted) -> float:
    r"""Difference in Conditional Acceptance (DCAcc, method name ``DCA``).

    .. math:: DCA = c_a - c_d, \qquad c = \frac{n^{(1)}}{\hat n^{(1)}}

    c compares the observed positives of a group with the positives the model
    predicted for it (accepted rows).
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "DCA")
    c_a = divide(counts.labelled(False, True), counts.predicted(False, True))
    c_d = divide(counts.labelled(True, True), counts.predicted(True, True))
    return difference(c_a, c_d)


def DCR(facet_d, positive_label, positive_predicted) -> float:
    r"""Difference in Conditional Rejection (DCR).

    .. math:: DCR = r_d - r_a, \qquad r = \frac{n^{(0)}}{\hat n^{(0)}}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "DCR")
    r_a = divide(counts.labelled(False, False), counts.predicted(False, False))
    r_d = divide(counts.labelled(True, False), counts.predicted(True, False))
    return difference(r_d, r_a)


def RD(facet_d, positive_label, positive_predicted) -> float:
    r"""Recall Difference (RD): difference of the true positive rates.

    .. math:: RD = \frac{TP_a}{TP_a + FN_a} - \frac{TP_d}{TP_d + FN_d}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "RD")
    recall_a = divide(counts.tp(False), counts.tp(False) + counts.fn(False))
    recall_d = divide(counts.tp(True), counts.tp(True) + counts.fn(True))
    return difference(recall_a, recall_d)


def SD(facet_d, positive_label, positive_predicted) -> float:
    r"""Specificity Difference (SD): difference of the true negative rates.

    .. math:: SD = \frac{TN_d}{TN_d + FP_d} - \frac{TN_a}{TN_a + FP_a}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "SD")
    specificity_a = divide(counts.tn(False), counts.tn(False) + counts.fp(False))
    specificity_d = divide(counts.tn(True), counts.tn(True) + counts.fp(True))
    return difference(specificity_d, specificity_a)


def DAR(facet_d, positive_label, positive_predicted) -> float:
    r"""Difference in Acceptance Rates (DAR): difference of the precisions.

    .. math:: DAR = \frac{TP_a}{\hat n_a^{(1)}} - \frac{TP_d}{\hat n_d^{(1)}}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "DAR")
    accept_a = divide(counts.tp(False), counts.predicted(False, True))
    accept_d = divide(counts.tp(True), counts.predicted(True, True))
    return difference(accept_a, accept_d)


def DRR(facet_d, positive_label, positive_predicted) -> float:
    r"""Difference in Rejection Rates (DRR): difference of the negative predictive values.

    .. math:: DRR = \frac{TN_d}{\hat n_d^{(0)}} - \frac{TN_a}{\hat n_a^{(0)}}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "DRR")
    reject_a = divide(counts.tn(False), counts.predicted(False, False))
    reject_d = divide(counts.tn(True), counts.predicted(True, False))
    return difference(reject_d, reject_a)


def AD(facet_d, positive_label, positive_predicted) -> float:
    r"""Accuracy Difference (AD).

    .. math:: AD = \frac{TP_a + TN_a}{n_a} - \frac{TP_d + TN_d}{n_d}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "AD")
    accuracy_a = divide(counts.tp(False) + counts.tn(False), counts.size(False))
    accuracy_d = divide(counts.tp(True) + counts.tn(True), counts.size(True))
    return difference(accuracy_a, accuracy_d)


def TE(facet_d, positive_label, positive_predicted) -> float:
    r"""Treatment Equality (TE): difference of the false-negative to false-positive ratios.

    .. math:: TE = \frac{FN_d}{FP_d} - \frac{FN_a}{FP_a}
    """
    counts = group_counts(facet_d, positive_label, positive_predicted, "TE")
    tau_a = divide(counts.fn(False), counts.fp(False))
    tau_d = divide(counts.fn(True), counts.fp(True))
    return difference(tau_d, tau_a)


def CDDPL(facet_d, positive_predicted, group_variable) -> float:
    r"""Conditional Demographic Disparity in Predicted Labels (CDDPL).

    .. math:: CDDPL = \frac{1}{n} \sum_i n_i \, DD_i, \qquad
              DD_i = \frac{\hat n_{d,i}^{(0)}}{\hat n_i^{(0)}} - \frac{\hat n_{d,i}^{(1)}}{\hat n_i^{(1)}}

    CDDL computed on the predicted labels; see
    :func:`~charter.analytics.bias.pretraining_metrics.conditional_demographic_disparity`.
    """
    return conditional_demographic_disparity(facet_d, positive_predicted, group_variable, "CDDPL")


# FlipTest's k-nearest-neighbours settings (Clarify's): 5 neighbours, or 1
# when group a has at most 9 rows.
FT_NEIGHBOURS = 5
FT_FEW_NEIGHBOURS = 1
FT_FEW_ROWS = 9


# How FT finds the nearest group-a rows (see FT).
FT_SEARCHES = ("auto", "clarify", "exact")


def FT(features, facet_d, positive_predicted, *, search: str = "auto", chunk_rows: int | None = None) -> float:
    r"""Counterfactual Flip Test (FT).

    .. math:: FT = \frac{F^+ - F^-}{n_d}

    Each row of group d is given the prediction its k nearest group-a rows
    (Euclidean distance over ``features``, majority vote of their predicted
    labels, k = 5, or 1 when group a has at most 9 rows) would give it.
    :math:`F^+` counts the d rows the model predicts positive but their a
    neighbours negative, :math:`F^-` the opposite flips.  (That is the sign
    Clarify's implementation reports; the developer guide's prose names the
    two sets the other way round.)

    ``features`` is the numeric feature matrix (rows x columns) without the
    facet, label and predicted label columns.

    Ties.  The definition does not say which rows are "the k nearest" when
    more rows than places are left at the k-th distance, and on real tables
    of small integer features (COMPAS: age and counts of priors) that is
    common: for half of COMPAS's African-American defendants the tied rows
    disagree in their predicted labels, so the choice moves FT by up to 0.08.
    Clarify leaves the choice to scikit-learn's ``KNeighborsClassifier``
    (``algorithm="auto"``, ``leaf_size=30``: a KD-tree, whose traversal order
    decides).  ``search`` says how the neighbours are found here:

    * ``"clarify"``: the same scikit-learn search with Clarify's settings, so
      the value is Clarify's, ties included (needs scikit-learn);
    * ``"exact"``: Charter's own exact search in numpy (no scikit-learn);
      among rows at exactly the k-th distance the one that comes first in
      ``features`` is taken.  Equal to ``"clarify"`` wherever no such tie
      changes a vote;
    * ``"auto"`` (default): ``"clarify"`` where scikit-learn is installed,
      else ``"exact"``.

    ``chunk_rows`` bounds how many distances the exact search holds in memory
    at once (rows x group-a rows); the default keeps it to about 4 million.
    """
    if search not in FT_SEARCHES:
        raise ValueError(f"FT: search must be one of {', '.join(FT_SEARCHES)} (got {search!r})")
    facet_d = as_mask(facet_d, "facet_d")
    positive_predicted = as_mask(positive_predicted, "positive_predicted")
    if features is None:
        raise ValueError("FT: the flip test needs the feature matrix (features) of the rows")
    features = np.asarray(features)
    if features.ndim == 1:
        features = features.reshape(-1, 1)
    if features.ndim != 2:
        raise ValueError(f"FT: features must be a 2-D matrix of rows x columns (got shape {features.shape})")
    if features.dtype.kind == "O" and all(
        isinstance(item, (bool, int, float, np.bool_, np.number)) for item in features.ravel().tolist()
    ):
        features = features.astype(np.float64)  # e.g. a DataFrame mixing bool and number columns
    if features.dtype.kind not in "biuf":
        raise ValueError("FT: the flip test needs numeric feature columns only (got non-numeric data)")
    same_length(features=features, facet_d=facet_d, positive_predicted=positive_predicted)
    require_both_groups(facet_d, "FT")
    if features.shape[1] == 0:
        raise ValueError("FT: the flip test needs at least one feature column besides facet and labels")
    features = features.astype(np.float64, copy=False)
    if not np.all(np.isfinite(features)):
        raise ValueError("FT: feature values must be finite numbers (no NaN or infinity)")

    train_x, train_y = features[~facet_d], positive_predicted[~facet_d]
    query_x, query_y = features[facet_d], positive_predicted[facet_d]
    k = FT_NEIGHBOURS if len(train_x) > FT_FEW_ROWS else FT_FEW_NEIGHBOURS
    if search == "auto":
        search = "clarify" if _scikit_learn_neighbours() is not None else "exact"
    if search == "clarify":
        as_if_a = _clarify_neighbour_vote(train_x, train_y, query_x, k)
    else:
        as_if_a = _nearest_neighbour_vote(train_x, train_y, query_x, k, chunk_rows)
    flipped_to_negative = int(np.count_nonzero(query_y & ~as_if_a))
    flipped_to_positive = int(np.count_nonzero(~query_y & as_if_a))
    return divide(flipped_to_negative - flipped_to_positive, len(query_x))


def _scikit_learn_neighbours():
    """scikit-learn's ``KNeighborsClassifier``, or None where scikit-learn is not installed."""
    try:
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:
        return None
    return KNeighborsClassifier


def _clarify_neighbour_vote(train_x: np.ndarray, train_y: np.ndarray, query_x: np.ndarray, k: int) -> np.ndarray:
    """The k-nearest-neighbour vote exactly as Clarify runs it (scikit-learn, Clarify's settings)."""
    classifier = _scikit_learn_neighbours()
    if classifier is None:
        raise ValueError("FT: search='clarify' needs scikit-learn; install it or use search='exact'")
    knn = classifier(n_neighbors=k, weights="uniform", algorithm="auto", leaf_size=30, p=2, metric="minkowski")
    knn.fit(train_x, train_y)
    return np.asarray(knn.predict(query_x), dtype=bool)


def _squared_distances(block: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distances, block rows x train rows.

    Summed column by column in a fixed order, so equal inputs always give
    bit-identical distances (ties stay ties).
    """
    distance = np.zeros((len(block), len(train)))
    scratch = np.empty_like(distance)
    for column in range(train.shape[1]):
        np.subtract(block[:, column, None], train[None, :, column], out=scratch)
        np.multiply(scratch, scratch, out=scratch)
        distance += scratch
    return distance


def _nearest_neighbour_vote(
    train_x: np.ndarray, train_y: np.ndarray, query_x: np.ndarray, k: int, chunk_rows: int | None
) -> np.ndarray:
    """Majority of the ``k`` nearest training labels for every query row (exact).

    Brute force would compare every query with every training row.  Instead
    both are sorted along the column with the widest spread: the k training
    rows next to a query in that order give an upper bound on its k-th
    neighbour distance, and only training rows within that distance along
    the sorted column can be closer (a squared coordinate difference never
    exceeds the squared distance).  Queries are handled in blocks of
    neighbouring positions, each against the union of their windows, so the
    result is exactly that of the full comparison.  Ties at the k-th
    distance go to the training rows that come first in the input.
    """
    n_train = len(train_x)
    if k >= n_train:
        return np.full(len(query_x), 2 * int(np.count_nonzero(train_y)) > n_train)
    axis = int(np.argmax(np.ptp(train_x, axis=0)))
    order = np.argsort(train_x[:, axis], kind="stable")
    train_sorted, labels_sorted = train_x[order], train_y[order]
    key = train_sorted[:, axis]
    query_order = np.argsort(query_x[:, axis], kind="stable")
    queries = query_x[query_order]
    at = queries[:, axis]

    # Upper bound on each query's k-th squared distance: its 2k neighbours along the axis.
    width = min(2 * k, n_train)
    first = np.clip(np.searchsorted(key, at) - k, 0, n_train - width)
    bound = np.empty(len(queries))
    for start in range(0, len(queries), 4096):
        rows = slice(start, start + 4096)
        near = first[rows, None] + np.arange(width)[None, :]
        local = np.zeros(near.shape)
        for column in range(train_x.shape[1]):
            delta = queries[rows, column, None] - train_sorted[near, column]
            local += delta * delta
        bound[rows] = np.partition(local, k - 1, axis=1)[:, k - 1]
    reach = np.sqrt(bound) * (1 + 1e-9) + 4 * np.spacing(np.abs(at))
    low = np.searchsorted(key, at - reach, side="left")
    high = np.searchsorted(key, at + reach, side="right")

    budget = chunk_rows * n_train if chunk_rows else 4 << 20  # distances held at once
    votes = np.empty(len(queries), dtype=np.intp)
    start, step = 0, 256
    while start < len(queries):
        stop = min(start + step, len(queries))
        lo, hi = int(low[start:stop].min()), int(high[start:stop].max())
        if (stop - start) * (hi - lo) > budget and stop - start > 1:
            step = max(1, step // 2)
            continue
        distance = _squared_distances(queries[start:stop], train_sorted[lo:hi])
        labels = labels_sorted[lo:hi]
        kth = np.partition(distance, k - 1, axis=1)[:, k - 1, None]
        closer = distance < kth
        tied = distance == kth
        room = k - np.count_nonzero(closer, axis=1)
        chosen = closer | tied
        crowded = np.flatnonzero(np.count_nonzero(tied, axis=1) > room)
        if len(crowded):
            # More rows at the k-th distance than places left: keep the earliest in input order.
            rank = np.where(tied[crowded], order[lo:hi][None, :], n_train)
            cutoff = np.sort(rank, axis=1)[np.arange(len(crowded)), room[crowded] - 1]
            chosen[crowded] = closer[crowded] | (tied[crowded] & (rank <= cutoff[:, None]))
        votes[start:stop] = np.count_nonzero(chosen & labels[None, :], axis=1)
        start = stop
        step = min(step * 2, 256)
    result = np.empty(len(queries), dtype=bool)
    result[query_order] = 2 * votes > k
    return result


def generalized_entropy(positive_label, positive_predicted, alpha: float = 2) -> float:
    r"""Generalized entropy index of the benefits :math:`b_i = \hat y_i - y_i + 1`.

    .. math:: GE(\alpha) = \frac{1}{n \, \alpha (\alpha - 1)} \sum_i \left[ \left(\frac{b_i}{\bar b}\right)^\alpha - 1 \right]

    Defined here for alpha other than 0 and 1 (those limits are not part of
    Clarify's report).
    """
    if alpha in (0, 1):
        raise ValueError("GE: alpha 0 and 1 (the logarithmic limits) are not supported")
    positive_label = as_mask(positive_label, "positive_label")
    positive_predicted = as_mask(positive_predicted, "positive_predicted")
    n = same_length(positive_label=positive_label, positive_predicted=positive_predicted)
    if n == 0:
        raise ValueError("GE: the data set is empty")
    benefit = positive_predicted.astype(np.int64) - positive_label.astype(np.int64) + 1
    mean_benefit = benefit.mean()
    if mean_benefit == 0:
        raise ValueError(
            "GE: every prediction is a false negative (all benefits are 0); "
            "at least one prediction must be something else"
        )
    return float(((benefit / mean_benefit) ** alpha - 1).sum() / (n * alpha * (alpha - 1)))


def GE(positive_label, positive_predicted) -> float:
    r"""Generalized Entropy (GE) with alpha = 2, as Clarify reports it.

    .. math:: GE = \frac{1}{2n} \sum_i \left[ \left(\frac{b_i}{\bar b}\right)^2 - 1 \right],
              \qquad b_i = \hat y_i - y_i + 1

    A benefit is 0 for a false negative, 1 for a correct prediction and 2 for
    a false positive.  GE does not depend on the facet.
    """
    return generalized_entropy(positive_label, positive_predicted, 2)
