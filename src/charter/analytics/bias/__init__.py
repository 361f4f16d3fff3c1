"""SageMaker Clarify bias metrics, in plain vectorised numpy.

Pre-training (data) metrics: CI, DPL, KL, JS, LP, TVD, KS, CDDL.
Post-training (model) metrics: DPPL, DI, DCA (DCAcc), DCR, RD, SD, DAR, DRR,
AD, TE, CDDPL, FT, GE.

Two layers:

* per-metric functions on boolean masks -- ``facet_d`` (row is in the
  sensitive group d), ``positive_label``, ``positive_predicted`` -- for
  callers that already know their groups (Model Monitor's bias drift);
* :func:`bias_report`, :func:`pretraining` and :func:`posttraining`, which
  start from raw columns and Clarify's ``value_or_threshold`` /
  ``label_values_or_threshold`` settings, infer categorical versus
  continuous columns the way Clarify does and report one entry per facet
  value.

Values equal those of AWS's open-source Clarify library (smclarify 0.5),
including its handling of empty groups (ValueError) and division by zero
(``0/0 = 0``, ``x/0 = inf``), on the real Adult, German credit and COMPAS
tables as well (tests/unit/test_bias_real_data.py).  The flip test finds its
neighbours with scikit-learn as Clarify does when scikit-learn is installed,
else with its own exact search (see :func:`FT` for when the two differ).  A
missing value in a text group variable puts the row in no CDD subgroup, as
smclarify does for a numeric one (smclarify itself fails on the text column).
"""

from .groups import (
    FacetGroup,
    column_kind,
    facet_groups,
    positive_label_mask,
    positive_predicted_mask,
)
from .posttraining_metrics import AD, CDDPL, DAR, DCA, DCR, DI, DPPL, DRR, FT, GE, RD, SD, TE, generalized_entropy
from .pretraining_metrics import CDDL, CI, DPL, JS, KL, KS, LP, TVD, conditional_demographic_disparity
from .report import (
    POST_TRAINING,
    POSTTRAINING_METRICS,
    PRE_TRAINING,
    PRETRAINING_METRICS,
    bias_report,
    posttraining,
    pretraining,
    select_metrics,
)

DCAcc = DCA

__all__ = [
    "AD",
    "CDDL",
    "CDDPL",
    "CI",
    "DAR",
    "DCA",
    "DCR",
    "DI",
    "DPL",
    "DPPL",
    "DRR",
    "FT",
    "GE",
    "JS",
    "KL",
    "KS",
    "LP",
    "POSTTRAINING_METRICS",
    "POST_TRAINING",
    "PRETRAINING_METRICS",
    "PRE_TRAINING",
    "RD",
    "SD",
    "TE",
    "TVD",
    "DCAcc",
    "FacetGroup",
    "bias_report",
    "column_kind",
    "conditional_demographic_disparity",
    "facet_groups",
    "generalized_entropy",
    "positive_label_mask",
    "positive_predicted_mask",
    "posttraining",
    "pretraining",
    "select_metrics",
]
