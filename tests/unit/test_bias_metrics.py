"""Clarify bias metrics: hand-checked values, input handling, and equality
with AWS's open-source Clarify library (smclarify) on small tables built to
reach its corner cases.  The comparison on the real Adult, German credit and
COMPAS tables is in test_bias_real_data.py.

The smclarify comparisons need the test-only dependency ``smclarify`` (with
pandas and scikit-learn); they are skipped with a reason where it is not
installed, the rest always runs.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
import synthetic_credit
from bias_oracle import compare_reports, oracle_report, same_value, series

from charter.analytics import bias
from charter.analytics.bias import posttraining_metrics
from charter.analytics.bias._core import difference, divide

PRE = "pre_training"
POST = "post_training"


@pytest.fixture
def smclarify():
    return pytest.importorskip("smclarify", reason="smclarify (test-only dependency) is not installed")


@functools.cache
def dataset(name: str) -> synthetic_credit.Dataset:
    return getattr(synthetic_credit, name)()


def our_report(
    data,
    *,
    facet,
    facet_values,
    stage,
    label=None,
    positive=None,
    predicted=None,
    group=None,
    features=None,
    methods="all",
    **kinds,
):
    label = label or data.label
    return bias.bias_report(
        data[label],
        data[facet],
        label_values_or_threshold=positive if positive is not None else data.positive,
        facet_values_or_threshold=facet_values,
        stage=stage,
        predicted_label=data[predicted or data.predicted] if stage == POST else None,
        group_variable=data[group] if group else None,
        features=np.column_stack([data[f] for f in features]) if features else None,
        methods=methods,
        **kinds,
    )


# --------------------------------------------------------------------------
# Hand-checked values
# --------------------------------------------------------------------------

# Ten rows: group d is the first four.
FACET_D = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
LABEL = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 1], dtype=bool)
PREDICTED = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1], dtype=bool)
# Group a: labels 1,1,1,0,0,1 predictions 1,1,0,0,1,1 -> TP 3, FP 1, FN 1, TN 1
# Group d: labels 1,0,0,0     predictions 1,1,0,0     -> TP 1, FP 1, FN 0, TN 2


def test_pretraining_values_by_hand():
    assert bias.CI(FACET_D) == pytest.approx((6 - 4) / 10)
    assert bias.DPL(FACET_D, LABEL) == pytest.approx(4 / 6 - 1 / 4)
    p_a, p_d = np.array([2 / 6, 4 / 6]), np.array([3 / 4, 1 / 4])
    assert bias.KL(LABEL, FACET_D) == pytest.approx(np.sum(p_a * np.log(p_a / p_d)))
    mid = (p_a + p_d) / 2
    assert bias.JS(LABEL, FACET_D) == pytest.approx(
        0.5 * (np.sum(p_a * np.log(p_a / mid)) + np.sum(p_d * np.log(p_d / mid)))
    )
    assert bias.LP(LABEL, FACET_D) == pytest.approx(np.sqrt(np.sum((p_a - p_d) ** 2)))
    assert bias.TVD(LABEL, FACET_D) == pytest.approx(0.5 * np.sum(np.abs(p_a - p_d)))
    assert bias.KS(LABEL, FACET_D) == pytest.approx(np.max(np.abs(p_a - p_d)))


def test_posttraining_values_by_hand():
    args = (FACET_D, LABEL, PREDICTED)
    assert bias.DPPL(FACET_D, PREDICTED) == pytest.approx(4 / 6 - 2 / 4)
    assert bias.DI(FACET_D, PREDICTED) == pytest.approx((2 / 4) / (4 / 6))
    assert bias.DCA(*args) == pytest.approx(4 / 4 - 1 / 2)  # observed / predicted positives
    assert bias.DCAcc is bias.DCA
    assert bias.DCR(*args) == pytest.approx(3 / 2 - 2 / 2)
    assert bias.RD(*args) == pytest.approx(3 / 4 - 1 / 1)
    assert bias.SD(*args) == pytest.approx(2 / 3 - 1 / 2)
    assert bias.DAR(*args) == pytest.approx(3 / 4 - 1 / 2)
    assert bias.DRR(*args) == pytest.approx(2 / 2 - 1 / 2)
    assert bias.AD(*args) == pytest.approx(4 / 6 - 3 / 4)
    assert bias.TE(*args) == pytest.approx(0 / 1 - 1 / 1)
    benefit = PREDICTED.astype(int) - LABEL.astype(int) + 1
    ratio = benefit / benefit.mean()
    assert bias.GE(LABEL, PREDICTED) == pytest.approx(np.sum(ratio**2 - 1) / (10 * 2))


def test_conditional_demographic_disparity_by_hand():
    group = np.array(["x", "x", "y", "y", "x", "x", "y", "y", "y", None], dtype=object)
    # x: rows 0,1,4,5 labels 1,0,1,1 facet d rows 0,1 -> rejected share 1/1, accepted share 1/3
    # y: rows 2,3,6,7,8 labels 0,0,1,0,0 facet d rows 2,3 -> rejected 2/4, accepted 0/1
    # row 9 has no group and counts nowhere.
    expected = (4 * (1 - 1 / 3) + 5 * (2 / 4 - 0)) / 9
    assert bias.CDDL(FACET_D, LABEL, group) == pytest.approx(expected)
    assert bias.CDDPL(FACET_D, LABEL, group) == pytest.approx(expected)


def test_division_rule():
    assert divide(0, 0) == 0.0
    assert divide(3, 0) == math.inf
    assert divide(-3, 0) == -math.inf
    assert divide(1, 4) == 0.25
    assert difference(math.inf, math.inf) == 0.0
    assert difference(math.inf, 1.0) == math.inf
    assert difference(1.0, math.inf) == -math.inf


def test_infinite_ratios():
    facet_d = np.array([1, 1, 0, 0], dtype=bool)
    # Group a is never predicted positive, d is: DI is infinite.
    assert bias.DI(facet_d, np.array([1, 0, 0, 0], dtype=bool)) == math.inf
    # Neither group has a false positive: both FN/FP ratios infinite -> TE 0.
    label = np.array([1, 1, 1, 1], dtype=bool)
    predicted = np.array([0, 1, 0, 1], dtype=bool)
    assert bias.TE(facet_d, label, predicted) == 0.0


def test_generalized_entropy_alpha():
    assert bias.generalized_entropy(LABEL, PREDICTED, 2) == bias.GE(LABEL, PREDICTED)
    assert bias.generalized_entropy(LABEL, PREDICTED, 3) > 0
    with pytest.raises(ValueError, match="alpha"):
        bias.generalized_entropy(LABEL, PREDICTED, 1)
    with pytest.raises(ValueError, match="false negative"):
        bias.GE(np.ones(3, dtype=bool), np.zeros(3, dtype=bool))


# --------------------------------------------------------------------------
# Empty groups and bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("facet_d", [np.zeros(4, dtype=bool), np.ones(4, dtype=bool)], ids=["no-d", "no-a"])
def test_empty_facet_group_is_an_error(facet_d):
    label = np.array([1, 0, 1, 0], dtype=bool)
    for metric in (
        bias.CI,
        lambda d: bias.DPL(d, label),
        lambda d: bias.DCA(d, label, label),
        lambda d: bias.KL(label, d),
        lambda d: bias.DI(d, label),
    ):
        with pytest.raises(ValueError, match="empty"):
            metric(facet_d)
    # CDD has no such check in Clarify: every subgroup disparity is 0.
    assert bias.CDDL(facet_d, label, np.array([1, 1, 2, 2])) == 0.0


def test_masks_must_be_boolean_and_aligned():
    with pytest.raises(ValueError, match="facet_d must be a boolean array"):
        bias.CI(np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="same length"):
        bias.DPL(np.array([True, False]), np.array([True, False, True]))
    with pytest.raises(ValueError, match="group variable"):
        bias.CDDL(FACET_D, LABEL, None)
    with pytest.raises(ValueError, match="no negative outcomes"):
        bias.CDDL(FACET_D, np.ones(10, dtype=bool), np.zeros(10))
    with pytest.raises(ValueError, match="non-numeric"):
        bias.FT(np.array([["a"], ["b"]]), np.array([True, False]), np.array([True, False]))
    with pytest.raises(ValueError, match="feature matrix"):
        bias.FT(None, FACET_D, PREDICTED)


def test_column_kind_follows_clarify():
    many = np.arange(100)
    assert bias.column_kind(many) == "continuous"  # 100% distinct integers
    assert bias.column_kind(np.repeat(np.arange(4), 25)) == "categorical"  # 4% distinct
    assert bias.column_kind(np.array([0.0, 1.0, 1.0])) == "continuous"  # floats always
    assert bias.column_kind(np.array(["a", "b"] * 50, dtype=object)) == "categorical"
    assert bias.column_kind(np.array([str(i) for i in range(100)], dtype=object)) == "continuous"
    assert bias.column_kind(np.array([True, False])) == "categorical"
    assert bias.column_kind(many, [3, 4]) == "categorical"  # several values listed


def test_facet_groups():
    facet = np.array(["b", "a", "b", "c"], dtype=object)
    groups = bias.facet_groups(facet)
    assert [g.value_or_threshold for g in groups] == ["b", "a", "c"]  # order of appearance
    assert groups[0].facet_d.tolist() == [True, False, True, False]
    (both,) = bias.facet_groups(facet, ["a", "c"])
    assert both.value_or_threshold == "a,c" and both.facet_d.tolist() == [False, True, False, True]
    ages = np.array([20.0, 35.0, np.nan, 61.0])
    (older,) = bias.facet_groups(ages, [40])
    assert older.value_or_threshold == "(40.0, 61.0]"
    assert older.facet_d.tolist() == [False, False, False, True]  # missing is never sensitive
    codes = np.array([1, 2, 2, 3] * 30)  # 2.5% distinct integers: categorical
    (as_numbers,) = bias.facet_groups(codes, ["2"])  # "2" is converted to the column's type
    assert as_numbers.value_or_threshold == "2" and as_numbers.facet_d.tolist() == (codes == 2).tolist()
    (above_two,) = bias.facet_groups(codes[:4], ["2"])  # 75% distinct: continuous, "2" a threshold
    assert above_two.value_or_threshold == "(2.0, 3.0]" and above_two.facet_d.tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="threshold is required"):
        bias.facet_groups(ages)
    with pytest.raises(ValueError, match="single numeric threshold"):
        bias.facet_groups(ages, ["old"])


def test_type_overrides():
    age = np.array([25, 40, 41, 70] * 5)  # 20% distinct: continuous by Clarify's rule
    (group,) = bias.facet_groups(age, [40])
    assert group.facet_d.sum() == 10
    (group,) = bias.facet_groups(age, [40], facet_type="categorical")
    assert group.facet_d.sum() == 5
    label = np.array([0, 1] * 10)  # 2 values in 20 rows: 10% distinct, "continuous" for Clarify
    assert not bias.positive_label_mask(label, [1]).any()  # 1 is not above the threshold 1
    assert bias.positive_label_mask(label, [1], label_type="categorical").sum() == 10
    with pytest.raises(ValueError, match="label_type"):
        bias.positive_label_mask(label, [1], label_type="ordinal")


def test_prediction_mask_rules():
    label = np.array(["y", "n", "y", "n"], dtype=object)
    with pytest.raises(ValueError, match="no predicted label is positive"):
        bias.positive_predicted_mask(np.array(["n"] * 4, dtype=object), label, ["y"])
    with pytest.raises(ValueError, match="same kind"):
        bias.positive_predicted_mask(np.array([0.1, 0.9, 0.2, 0.7]), label, ["y"])
    # A float prediction of an integer label is truncated before the threshold.
    label = np.arange(100)
    predicted = np.full(100, 50.9)  # 50 once truncated: not above 50
    predicted[0] = 51.2
    assert bias.positive_predicted_mask(predicted, label, [50]).tolist() == [True] + [False] * 99


def test_dictionary_api():
    data = dataset("edge_cases")
    common = dict(label_values_or_threshold=["yes"], facet_values_or_threshold=["alpha"])
    values = bias.pretraining(data["label"], data["group"], **common)
    assert list(values) == ["CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]  # CDDL needs a group variable
    values = bias.posttraining(
        data["label"], data["predicted"], data["group"], group_variable=data["region"],
        features=data.feature_matrix(), **common,
    )
    assert list(values) == sorted(bias.POSTTRAINING_METRICS)
    assert all(isinstance(v, float) for v in values.values())
    only = bias.posttraining(data["label"], data["predicted"], data["group"], methods=["DCAcc", "DI"], **common)
    assert list(only) == ["DCA", "DI"] and only["DCA"] == values["DCA"]
    with pytest.raises(ValueError, match="FT cannot be computed: FT: the flip test needs the feature matrix"):
        bias.posttraining(data["label"], data["predicted"], data["group"], methods=["FT"], **common)
    with pytest.raises(ValueError, match="use bias_report"):
        bias.pretraining(data["label"], data["group"], label_values_or_threshold=["yes"],
                         facet_values_or_threshold=None)
    with pytest.raises(ValueError, match="unknown pre_training bias metric"):
        bias.pretraining(data["label"], data["group"], methods=["DPPL"], **common)
    with pytest.raises(ValueError, match="CI cannot be computed: CI: the sensitive facet group"):
        bias.pretraining(data["label"], data["group"], label_values_or_threshold=["yes"],
                         facet_values_or_threshold=["nobody"])


def test_report_shape_and_errors():
    data = dataset("edge_cases")
    report = our_report(
        data,
        facet="group",
        facet_values=None,
        stage=POST,
        predicted="always_yes",
        group="region",
        features=data.features,
    )
    assert [g["value_or_threshold"] for g in report] == ["solo", "alpha", "beta", "gamma"]
    solo = {m["name"]: m for m in report[0]["metrics"]}
    assert list(solo) == sorted(solo)
    assert solo["DCR"]["value"] == "-Infinity"  # group a is never predicted negative
    assert set(solo["DCR"]) == {"name", "description", "value"}
    with pytest.raises(ValueError, match="predicted_label is required"):
        bias.bias_report(data["label"], data["group"], label_values_or_threshold=["yes"], stage=POST)
    with pytest.raises(ValueError, match="stage must be"):
        bias.bias_report(data["label"], data["group"], label_values_or_threshold=["yes"], stage="training")
    with pytest.raises(ValueError, match="label_values_or_threshold is required"):
        bias.bias_report(data["label"], data["group"], label_values_or_threshold=[])
    with pytest.raises(ValueError, match="one entry per row"):
        bias.bias_report(data["label"], data["group"][:-1], label_values_or_threshold=["yes"])
    empty = our_report(data, facet="group", facet_values=["nobody"], stage=PRE, group="region")
    errors = {m["name"]: m.get("error") for m in empty[0]["metrics"]}
    assert "empty" in errors["CI"] and errors["CDDL"] is None


# --------------------------------------------------------------------------
# Flip test: Charter's own exact nearest-neighbour search (search="exact")
# --------------------------------------------------------------------------


def _brute_force_flip_test(features, facet_d, predicted):
    train, train_y = features[~facet_d], predicted[~facet_d]
    k = 5 if len(train) > 9 else 1
    votes = []
    for row in features[facet_d]:
        distance = ((row[None, :] - train) ** 2).sum(axis=1)
        nearest = np.lexsort((np.arange(len(train)), distance))[:k]  # ties: earliest row first
        votes.append(2 * train_y[nearest].sum() > k)
    as_if_a = np.array(votes)
    model = predicted[facet_d]
    return (np.sum(model & ~as_if_a) - np.sum(~model & as_if_a)) / facet_d.sum()


@pytest.mark.parametrize("seed", range(4))
def test_flip_test_is_exact_even_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = 600
    # Small integer features: many rows at identical distances.
    features = np.column_stack([rng.integers(0, 6, n), rng.integers(0, 4, n), rng.normal(size=n).round(0)])
    facet_d = rng.random(n) < 0.3
    predicted = rng.random(n) < 0.5
    assert posttraining_metrics.FT(features, facet_d, predicted, search="exact") == pytest.approx(
        _brute_force_flip_test(features.astype(float), facet_d, predicted), abs=1e-12
    )
    # Small blocks exercise the windowed search the same way.
    assert posttraining_metrics.FT(features, facet_d, predicted, search="exact", chunk_rows=3) == pytest.approx(
        _brute_force_flip_test(features.astype(float), facet_d, predicted), abs=1e-12
    )


# --------------------------------------------------------------------------
# Equality with smclarify
# --------------------------------------------------------------------------

ORACLE_CASES = [
    # The real Adult, German credit and COMPAS tables are compared in test_bias_real_data.py.
    # Edge the real sets lack: a float label with float predictions above a threshold
    # (their continuous columns are integers).
    ("adult", "sex", ["Male"], POST, dict(label="hours_per_week_f", positive=[40], predicted="hours_pred")),
    # Corner cases: all-positive group, empty group, NaN in facet / label / group variable,
    # constant positive prediction, missing facet values as a group of their own.
    ("edge_cases", "group", None, PRE, dict(group="region")),
    ("edge_cases", "group", None, POST, dict(group="region", features=True)),
    ("edge_cases", "group", ["nobody"], PRE, dict(group="region")),
    ("edge_cases", "group", ["nobody"], POST, dict(group="region", features=True)),
    ("edge_cases", "score", [50], PRE, dict(group="region")),
    ("edge_cases", "score", [50], POST, dict(group="region", features=True)),
    ("edge_cases", "group", None, POST, dict(predicted="always_yes", group="region", features=True)),
    ("edge_cases", "group_with_gaps", None, PRE, dict(group="region")),
    ("edge_cases", "group", None, PRE, dict(group="region", label="score", positive=[60])),
]


def _case_id(case):
    name, facet, values, stage, options = case
    extra = ",".join(f"{k}={v}" for k, v in options.items() if k not in ("group", "features"))
    return f"{name}-{facet}-{values}-{stage}" + (f"-{extra}" if extra else "")


@functools.cache
def _with_gaps() -> synthetic_credit.Dataset:
    data = dataset("edge_cases")
    gaps = data["group"].copy()
    gaps[5:40:7] = None
    columns = dict(data.columns, group_with_gaps=gaps)
    return synthetic_credit.Dataset(data.name, columns, data.label, data.positive, data.predicted, data.features)


@pytest.mark.parametrize("case", ORACLE_CASES, ids=[_case_id(c) for c in ORACLE_CASES])
def test_report_equals_smclarify(smclarify, case):
    name, facet, values, stage, options = case
    data = _with_gaps() if facet == "group_with_gaps" else dataset(name)
    options = dict(options)
    if options.pop("features", False):
        options["features"] = data.features
    methods = options.pop("methods", ["all"])
    theirs = oracle_report(data, facet=facet, facet_values=values, stage=stage, methods=methods, **options)
    ours = our_report(data, facet=facet, facet_values=values, stage=stage, methods=methods, **options)
    assert compare_reports(ours, theirs) == []
    # The comparison is not vacuous: most metrics have values (except for the empty group).
    computed = sum("error" not in m for g in ours for m in g["metrics"])
    if values != ["nobody"]:
        assert computed >= sum(len(g["metrics"]) for g in ours) * 3 // 4


@pytest.mark.parametrize(
    "case",
    [
        ("edge_cases", "group", None, POST, dict(predicted="always_no")),  # never predicted positive
        ("edge_cases", "score", None, PRE, dict()),  # continuous facet without threshold
        ("edge_cases", "group", None, PRE, dict(positive=[])),  # no positive label values
    ],
    ids=["constant-negative-prediction", "no-threshold", "no-label-values"],
)
def test_report_refusals_match_smclarify(smclarify, case):
    name, facet, values, stage, options = case
    data = dataset(name)
    with pytest.raises(Exception):  # noqa: B017 -- smclarify raises assorted exception types
        oracle_report(data, facet=facet, facet_values=values, stage=stage, **options)
    with pytest.raises(ValueError):
        our_report(data, facet=facet, facet_values=values, stage=stage, **options)


def _small_integer_labels():
    rng = np.random.default_rng(11)
    n = 20  # 0/1 labels in 20 rows are 10% distinct: Clarify reads them as continuous
    columns = {
        "facet": np.array(["u", "v"] * 10, dtype=object),
        "label": rng.integers(0, 2, n),
        "predicted": np.r_[rng.integers(0, 2, n - 1), 2],
        "x": rng.normal(size=n),
    }
    return synthetic_credit.Dataset("small", columns, "label", [0], "predicted", ["x"])


def test_small_integer_label_read_as_continuous(smclarify):
    data = _small_integer_labels()
    for stage in (PRE, POST):
        theirs = oracle_report(data, facet="facet", facet_values=None, stage=stage, features=data.features)
        ours = our_report(data, facet="facet", facet_values=None, stage=stage, features=data.features)
        assert compare_reports(ours, theirs) == []


def _confusion_pair(name, post):
    ours, theirs = getattr(bias, name), getattr(post, name)
    return (
        name,
        lambda c: ours(c["d"], c["y"], c["p"]),
        lambda s: theirs(s["feature"], s["d"], s["y"], s["p"]),
    )


def _direct_metric_pairs(smclarify_metrics):
    """(name, our function, smclarify function, how to build the arguments of each)."""
    pre, post = smclarify_metrics.pretraining, smclarify_metrics.posttraining
    return [
        ("CI", lambda c: bias.CI(c["d"]), lambda s: pre.CI(s["feature"], s["d"])),
        ("DPL", lambda c: bias.DPL(c["d"], c["y"]), lambda s: pre.DPL(s["feature"], s["d"], s["y"])),
        ("KL", lambda c: bias.KL(c["label"], c["d"]), lambda s: pre.KL(s["label"], s["d"])),
        ("JS", lambda c: bias.JS(c["label"], c["d"]), lambda s: pre.JS(s["label"], s["d"])),
        ("LP", lambda c: bias.LP(c["label"], c["d"]), lambda s: pre.LP(s["label"], s["d"])),
        ("TVD", lambda c: bias.TVD(c["label"], c["d"]), lambda s: pre.TVD(s["label"], s["d"])),
        ("KS", lambda c: bias.KS(c["label"], c["d"]), lambda s: pre.KS(s["label"], s["d"])),
        ("CDDL", lambda c: bias.CDDL(c["d"], c["y"], c["g"]), lambda s: pre.CDDL(s["feature"], s["d"], s["y"], s["g"])),
        ("DPPL", lambda c: bias.DPPL(c["d"], c["p"]), lambda s: post.DPPL(s["feature"], s["d"], s["p"])),
        ("DI", lambda c: bias.DI(c["d"], c["p"]), lambda s: post.DI(s["feature"], s["d"], s["p"])),
        *[_confusion_pair(name, post) for name in ("DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE")],
        (
            "CDDPL",
            lambda c: bias.CDDPL(c["d"], c["p"], c["g"]),
            lambda s: post.CDDPL(s["feature"], s["d"], s["p"], s["g"]),
        ),
        ("FT", lambda c: bias.FT(c["x"], c["d"], c["p"]), lambda s: post.FT(s["frame"], s["d"], s["p"])),
        ("GE", lambda c: bias.GE(c["y"], c["p"]), lambda s: post.GE(s["y"], s["p"])),
    ]


def test_every_metric_on_random_small_tables(smclarify):
    """Hundreds of tiny tables hit every empty-group and zero-denominator branch."""
    import pandas as pd
    import smclarify.bias.metrics as smclarify_metrics

    pairs = _direct_metric_pairs(smclarify_metrics)
    rng = np.random.default_rng(2024)
    checked = errors = 0
    for _ in range(70):
        n = int(rng.integers(1, 25))
        rate_d, rate_y, rate_p = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0], size=3)
        columns = {
            "d": rng.random(n) < rate_d,
            "y": rng.random(n) < rate_y,
            "p": rng.random(n) < rate_p,
            "label": rng.integers(0, 4, n),
            "g": np.where(rng.random(n) < 0.15, np.nan, rng.integers(0, 3, n).astype(float)),
            "x": rng.normal(size=(n, 2)),
        }
        frame = pd.DataFrame(columns["x"], columns=["x0", "x1"])
        given = {key: series(columns[key], key) for key in ("d", "y", "p", "label", "g")}
        given.update(feature=series(np.arange(n), "feature"), frame=frame)
        for name, ours, theirs in pairs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    expected = float(theirs(given))
                except Exception:  # noqa: BLE001 -- any smclarify failure is an "error" outcome
                    expected = None
            if expected is None:
                with pytest.raises(ValueError):
                    ours(columns)
                errors += 1
            else:
                got = ours(columns)
                assert same_value(got, expected), f"{name} on {columns}: ours {got}, smclarify {expected}"
                checked += 1
    assert checked > 600 and errors > 600  # both outcomes well exercised
