"""Pre-training (data) bias metrics of SageMaker Clarify.

Each function compares the *sensitive* facet group d (``facet_d`` True) with
the rest of the data, group a (``facet_d`` False).  Inputs are 1-D numpy
arrays (pandas Series work too); boolean arguments must have dtype ``bool``.
Where SageMaker Clarify cannot compute a metric (an empty group, no label
value shared by both groups, ...) the function raises ``ValueError`` with the
reason, as Clarify reports an error for that metric.

The definitions follow the SageMaker Clarify developer guide, "Pre-training
Bias Metrics", and its open-source implementation (smclarify 0.5), including
the way the label distributions of the two groups are aligned.
"""

from __future__ import annotations

import numpy as np

from ._core import as_mask, divide, factorize, require_both_groups, same_length

__all__ = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD", "conditional_demographic_disparity"]


def CI(facet_d) -> float:
    r"""Class Imbalance (CI).

    .. math:: CI = \frac{n_a - n_d}{n_a + n_d}

    In [-1, 1]; positive when the sensitive group d is under-represented.
    """
    facet_d = as_mask(facet_d, "facet_d")
    require_both_groups(facet_d, "CI")
    n_d = int(np.count_nonzero(facet_d))
    n_a = len(facet_d) - n_d
    return (n_a - n_d) / (n_a + n_d)


def DPL(facet_d, positive_label) -> float:
    r"""Difference in Proportions of Labels (DPL).

    .. math:: DPL = q_a - q_d = \frac{n_a^{(1)}}{n_a} - \frac{n_d^{(1)}}{n_d}

    where :math:`n^{(1)}` counts the observed positive labels of a group.
    """
    facet_d = as_mask(facet_d, "facet_d")
    positive_label = as_mask(positive_label, "positive_label")
    same_length(facet_d=facet_d, positive_label=positive_label)
    return _difference_in_positive_proportions(facet_d, positive_label, "DPL")


def _difference_in_positive_proportions(facet_d: np.ndarray, positive: np.ndarray, metric: str) -> float:
    require_both_groups(facet_d, metric)
    n_d = int(np.count_nonzero(facet_d))
    n_a = len(facet_d) - n_d
    n_d_pos = int(np.count_nonzero(positive & facet_d))
    n_a_pos = int(np.count_nonzero(positive)) - n_d_pos
    return n_a_pos / n_a - n_d_pos / n_d


def _aligned_distributions(label, facet_d, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Label distributions P_a and P_d over the label values seen in *both* groups.

    Each group's probabilities are its own value counts over its own size;
    values present in only one group are left out (without renormalising),
    exactly as Clarify aligns them.
    """
    label = np.asarray(label)
    facet_d = as_mask(facet_d, "facet_d")
    same_length(label=label, facet_d=facet_d)
    labels_a, labels_d = label[~facet_d], label[facet_d]
    values_a, counts_a = np.unique(labels_a, return_counts=True)
    values_d, counts_d = np.unique(labels_d, return_counts=True)
    _, index_a, index_d = np.intersect1d(values_a, values_d, assume_unique=True, return_indices=True)
    if len(index_a) == 0:
        raise ValueError(
            f"{metric}: no label value occurs in both facet groups (one group may be empty), "
            "so the label distributions cannot be compared"
        )
    return counts_a[index_a] / len(labels_a), counts_d[index_d] / len(labels_d)


def KL(label, facet_d) -> float:
    r"""Kullback-Leibler divergence (KL) of the label distributions.

    .. math:: KL(P_a \| P_d) = \sum_y P_a(y) \log \frac{P_a(y)}{P_d(y)}

    ``label`` holds the label values (Clarify passes the positive-label mask,
    making this a two-outcome distribution); sums run over the values that
    occur in both groups.
    """
    p_a, p_d = _aligned_distributions(label, facet_d, "KL")
    return float(np.sum(p_a * np.log(p_a / p_d)))


def JS(label, facet_d) -> float:
    r"""Jensen-Shannon divergence (JS) of the label distributions.

    .. math:: JS = \tfrac12 \left[ KL(P_a \| P) + KL(P_d \| P) \right],
              \quad P = \tfrac12 (P_a + P_d)
    """
    p_a, p_d = _aligned_distributions(label, facet_d, "JS")
    p = 0.5 * (p_a + p_d)
    return float(0.5 * (np.sum(p_a * np.log(p_a / p)) + np.sum(p_d * np.log(p_d / p))))


def LP(label, facet_d, p: float = 2) -> float:
    r"""L\ :sub:`p` norm (LP) of the difference of the label distributions.

    .. math:: L_p(P_a, P_d) = \left[ \sum_y |P_a(y) - P_d(y)|^p \right]^{1/p}

    Clarify reports p = 2 (the Euclidean distance); ``p=np.inf`` gives the
    largest absolute difference.
    """
    p_a, p_d = _aligned_distributions(label, facet_d, "LP")
    return _norm(p_a - p_d, p)


def _norm(delta: np.ndarray, p: float) -> float:
    if p == np.inf:
        return float(np.max(np.abs(delta)))
    return float(np.linalg.norm(delta, p))


def TVD(label, facet_d) -> float:
    r"""Total Variation Distance (TVD): half the L1 norm.

    .. math:: TVD = \tfrac12 \sum_y |P_a(y) - P_d(y)|
    """
    p_a, p_d = _aligned_distributions(label, facet_d, "TVD")
    return 0.5 * _norm(p_a - p_d, 1)


def KS(label, facet_d) -> float:
    r"""Kolmogorov-Smirnov distance (KS): the largest gap between the label distributions.

    .. math:: KS = \max_y |P_a(y) - P_d(y)|
    """
    p_a, p_d = _aligned_distributions(label, facet_d, "KS")
    return _norm(p_a - p_d, np.inf)


def conditional_demographic_disparity(facet_d, positive, group_variable, metric: str = "CDD") -> float:
    r"""Conditional demographic disparity of ``positive`` outcomes (labels or predictions).

    .. math:: CDD = \frac{1}{n} \sum_i n_i \, DD_i, \qquad
              DD_i = \frac{n_{d,i}^{(0)}}{n_i^{(0)}} - \frac{n_{d,i}^{(1)}}{n_i^{(1)}}

    over the subgroups i of ``group_variable``: DD_i is the share of subgroup
    i's rejected rows that belong to facet d minus its share of the accepted
    rows (a share is 0 when the subgroup has no rejected or no accepted rows).
    Rows whose group is missing (NaN/None) count in no subgroup.  The whole
    data set needs at least one positive and one negative outcome.
    """
    facet_d = as_mask(facet_d, "facet_d")
    positive = as_mask(positive, "positive outcomes")
    if group_variable is None or len(group_variable) == 0:
        raise ValueError(f"{metric}: a group variable (group_variable) is required")
    group_variable = np.asarray(group_variable)
    same_length(facet_d=facet_d, positive=positive, group_variable=group_variable)
    if not positive.any():
        raise ValueError(f"{metric}: there are no positive outcomes in the data set")
    if positive.all():
        raise ValueError(f"{metric}: there are no negative outcomes in the data set")
    codes, n_groups = factorize(group_variable)
    keep = codes >= 0
    codes, facet_d, positive = codes[keep], facet_d[keep], positive[keep]
    sizes = np.bincount(codes, minlength=n_groups)
    accepted = np.bincount(codes[positive], minlength=n_groups)
    accepted_d = np.bincount(codes[positive & facet_d], minlength=n_groups)
    rejected = sizes - accepted
    rejected_d = np.bincount(codes[~positive & facet_d], minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_accepted = np.where(accepted > 0, accepted_d / np.maximum(accepted, 1), 0.0)
        share_rejected = np.where(rejected > 0, rejected_d / np.maximum(rejected, 1), 0.0)
    disparity = share_rejected - share_accepted
    return float(divide(np.sum(sizes * disparity), np.sum(sizes)))


def CDDL(facet_d, positive_label, group_variable) -> float:
    r"""Conditional Demographic Disparity in Labels (CDDL).

    .. math:: CDDL = \frac{1}{n} \sum_i n_i \, DD_i, \qquad
              DD_i = \frac{n_{d,i}^{(0)}}{n_i^{(0)}} - \frac{n_{d,i}^{(1)}}{n_i^{(1)}}

    Demographic disparity of the observed labels within each subgroup i of
    ``group_variable``, averaged with the subgroup sizes as weights.  See
    :func:`conditional_demographic_disparity` for the edge cases.
    """
    return conditional_demographic_disparity(facet_d, positive_label, group_variable, "CDDL")
