"""Clarify bias metrics on the real Adult, German credit and COMPAS tables, equal to smclarify.

Every pre-training and post-training metric Charter reports for these tables is compared
with AWS's open-source Clarify library (smclarify 0.5) within 1e-9 (``bias_oracle``), on
the full tables: Adult's 48,842 rows (train and test files together), German credit's
1,000 and COMPAS's 6,172 (ProPublica's filter).  Post-training predictions come from
models fitted here on a training split and then applied to the whole table reported:

* Adult: label ``income``, positive ``>50K``; a HistGradientBoostingClassifier on all 14
  features, fitted on the train file.
* German credit: label ``class``, favourable 1 (good risk); a logistic regression on the
  one-hot coded attributes, fitted on a 70% split.  ``age`` (53 distinct values in 1,000
  rows) is continuous for Clarify, so ``[25]`` is a threshold: the group is age > 25.
* COMPAS: label ``two_year_recid`` with the favourable outcome **0** (not charged again
  within two years), so ``label_values_or_threshold=[0]`` and a predicted 0 is the
  favourable prediction.  Two predictors: ProPublica's binarisation of the COMPAS score
  (``score_text`` Medium or High means predicted 1) and a logistic regression fitted on a
  70% split.

The flip test (FT) runs on each table's numeric feature columns, minus the facet.

Two places where the libraries do not meet on the raw columns, both checked here:

* Missing values in a text group variable (Adult's ``occupation``): smclarify's CDD sorts
  the group values and fails with ``'<' not supported between 'str' and 'float'``.  For a
  numeric group variable with NaN it counts the missing rows in no group; Charter does
  the same for text.  The cases hand smclarify the group as numeric codes with NaN for
  the missing values, and one case gives both libraries the raw file's ``?`` spelling.
* FT when several group-a rows tie at the 5th-nearest distance: which of them vote is not
  part of the definition.  Charter's default search is scikit-learn's, as Clarify's, so
  the values are equal; ``test_flip_test_ties_on_compas`` shows how much the choice
  matters on COMPAS and that Charter's own exact search stays within that range.

Needs ../shared/data (skipped with the reason otherwise) and the test-only dependencies
smclarify and scikit-learn.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from bias_oracle import compare_reports, oracle_report, same_value, series
from real_data import need
from synthetic_credit import Dataset  # the named-columns table the oracle reads (no synthetic data)

from charter.analytics import bias
from charter.datasets import fairness

PRE = "pre_training"
POST = "post_training"

ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
GERMAN_NUMERIC = ["duration", "credit_amount", "installment_rate", "residence_since", "age",
                  "existing_credits", "num_dependents"]  # fmt: skip
COMPAS_NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"]
COMPAS_MODEL_FEATURES = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count",
                         "c_charge_degree", "sex"]  # fmt: skip

# The suffix of a group variable's numeric codes (NaN where the value is missing), for smclarify.
CODES = ":codes"


@pytest.fixture(scope="module", autouse=True)
def oracles():
    pytest.importorskip("smclarify", reason="smclarify (test-only dependency) is not installed")
    pytest.importorskip("sklearn", reason="scikit-learn (test-only dependency) is not installed")


def _table(frame: pd.DataFrame, label, positive, predicted, features) -> Dataset:
    """The frame as named numpy columns: text as object arrays (NaN where missing), numbers as they are."""
    columns = {}
    for name in frame.columns:
        column = frame[name]
        columns[name] = column.to_numpy() if column.dtype.kind in "biuf" else column.to_numpy(dtype=object)
        if column.dtype.kind not in "biuf" and column.isna().any():
            codes = pd.factorize(column)[0].astype(np.float64)
            columns[name + CODES] = np.where(codes < 0, np.nan, codes)
    return Dataset("real", columns, label, list(positive), predicted, list(features))


def _split(n: int, train_share: float = 0.7, seed: int = 0) -> np.ndarray:
    """A reproducible training mask of ``train_share`` of ``n`` rows."""
    return np.random.default_rng(seed).permutation(n) < round(train_share * n)


@functools.cache
def adult() -> Dataset:
    from sklearn.ensemble import HistGradientBoostingClassifier

    table = need(fairness.adult, "all")
    train = need(fairness.adult, "train")
    features = [c for c in table.columns if c != "income"]
    text = [c for c in features if table[c].dtype.kind not in "biuf"]

    def encode(frame):
        coded = frame[features].copy()
        for name in text:  # the same categories in both splits
            coded[name] = pd.Categorical(coded[name], categories=sorted(table[name].dropna().unique()))
        return coded

    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(encode(train), train["income"])
    table["income_pred"] = model.predict(encode(table)).astype(object)
    table["occupation_raw"] = table["occupation"].fillna("?")  # as the file spells a missing value
    return _table(table, "income", [">50K"], "income_pred", ADULT_NUMERIC)


@functools.cache
def german() -> Dataset:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = need(fairness.german)
    attributes = [c for c in table.columns if c not in ("class", "sex")]
    coded = pd.get_dummies(table[attributes], dtype=float)
    train = _split(len(table))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(coded[train], table["class"][train])
    table["class_pred"] = model.predict(coded)
    # A continuous label with a float prediction: the credit amount, predicted from the rest.
    others = pd.get_dummies(table[[c for c in attributes if c != "credit_amount"]], dtype=float)
    amount = LinearRegression().fit(others[train], table["credit_amount"][train])
    table["credit_amount_pred"] = amount.predict(others)
    return _table(table, "class", [1], "class_pred", GERMAN_NUMERIC)


@functools.cache
def compas() -> Dataset:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = need(fairness.compas)
    table["propublica_pred"] = (table["score_text"] != "Low").astype(np.int64)  # Medium/High: predicted 1
    coded = pd.get_dummies(table[COMPAS_MODEL_FEATURES], dtype=float)
    train = _split(len(table))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(coded[train], table["two_year_recid"][train])
    table["model_pred"] = model.predict(coded)
    return _table(table, "two_year_recid", [0], "propublica_pred", COMPAS_NUMERIC)


DATASETS = {"adult": adult, "german": german, "compas": compas}


def _features(data: Dataset, facet: str) -> list[str]:
    return [f for f in data.features if f != facet]


def our_report(data, *, facet, facet_values, stage, label=None, positive=None, predicted=None, group=None,
               features=None, methods=("all",)):
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
        methods=list(methods),
    )


CASES = [
    # Adult: binary facet, multi-category facet (one report per value, and a list of values),
    # integer age read as categorical (73 values in 48,842 rows), a group variable with missing values.
    ("adult", "sex", ["Female"], PRE, dict(group="occupation")),
    ("adult", "sex", ["Female"], POST, dict(group="occupation", features=True)),
    ("adult", "sex", ["Female"], POST, dict(group="occupation_raw")),  # "?" as a group of its own
    ("adult", "race", None, PRE, dict(group="marital-status")),
    ("adult", "race", None, POST, dict(group="marital-status", features=True)),
    ("adult", "race", ["Black", "Amer-Indian-Eskimo"], PRE, dict(group="occupation")),
    ("adult", "race", ["Black", "Amer-Indian-Eskimo"], POST, dict(group="occupation", features=True)),
    ("adult", "age", [40], PRE, dict(group="relationship")),
    ("adult", "age", [40], POST, dict(group="relationship", features=True)),
    # German credit: continuous age with threshold 25, four personal-status values, derived sex,
    # rare foreign workers (37 rows), label values given as text, a continuous label.
    ("german", "age", [25], PRE, dict(group="purpose")),
    ("german", "age", [25], POST, dict(group="purpose", features=True)),
    ("german", "personal_status_sex", None, PRE, dict(group="purpose")),
    ("german", "personal_status_sex", None, POST, dict(group="purpose", features=True)),
    ("german", "personal_status_sex", ["A91", "A93", "A94"], POST, dict(group="purpose", features=True)),
    ("german", "sex", ["female"], PRE, dict(group="purpose")),
    ("german", "sex", ["female"], POST, dict(group="purpose", features=True)),
    ("german", "foreign_worker", ["A202"], POST, dict(group="purpose", features=True)),
    ("german", "sex", ["female"], POST, dict(positive=["1"], group="job")),  # "1" converted to 1
    (
        "german",
        "sex",
        ["female"],
        POST,
        dict(label="credit_amount", positive=[5000], predicted="credit_amount_pred", group="purpose"),
    ),
    # COMPAS: six races incl. 31 Asian and 11 Native American defendants, sex, two predictors.
    ("compas", "race", None, PRE, dict(group="age_cat")),
    ("compas", "race", None, POST, dict(group="age_cat", features=True)),
    ("compas", "race", None, POST, dict(predicted="model_pred", group="age_cat", features=True)),
    ("compas", "race", ["African-American"], POST, dict(group="age_cat", features=True)),
    ("compas", "race", ["African-American", "Hispanic"], POST, dict(predicted="model_pred", group="age_cat")),
    ("compas", "sex", ["Female"], PRE, dict(group="age_cat")),
    ("compas", "sex", ["Female"], POST, dict(group="age_cat", features=True)),
    ("compas", "sex", ["Female"], POST, dict(predicted="model_pred", group="c_charge_degree", features=True)),
    ("compas", "juv_fel_count", ["0"], PRE, dict(group="age_cat")),  # "0" converted to 0
    ("compas", "sex", ["Female"], PRE, dict(methods=["DPL", "CI", "KS"])),
    # Multi-valued label and prediction: COMPAS deciles 1-4 as the favourable outcome,
    # the violence decile as the prediction.
    (
        "compas",
        "race",
        ["African-American"],
        POST,
        dict(label="decile_score", positive=[1, 2, 3, 4], predicted="v_decile_score", group="age_cat"),
    ),
]


def _case_id(case):
    name, facet, values, stage, options = case
    extra = ",".join(f"{k}={v}" for k, v in options.items() if k != "features")
    return f"{name}-{facet}-{values}-{stage}" + (f"-{extra}" if extra else "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_report_equals_smclarify_on_real_data(case):
    name, facet, values, stage, options = case
    data = DATASETS[name]()
    options = dict(options)
    if options.pop("features", False):
        options["features"] = _features(data, facet)
    methods = options.pop("methods", ["all"])
    ours = our_report(data, facet=facet, facet_values=values, stage=stage, methods=methods, **options)
    group = options.pop("group", None)
    oracle_group = group + CODES if group and group + CODES in data.columns else group
    theirs = oracle_report(data, facet=facet, facet_values=values, stage=stage, methods=methods,
                           group=oracle_group, **options)
    assert compare_reports(ours, theirs) == []
    # Not vacuous: every metric asked for has a value (FT and CDD only when given their inputs).
    expected_errors = {"FT"} if stage == POST and "features" not in options else set()
    if group is None:
        expected_errors |= {"CDDL", "CDDPL"}
    for report in ours:
        failed = {m["name"] for m in report["metrics"] if "error" in m}
        assert failed <= expected_errors, (report["value_or_threshold"], failed)
    assert len(ours) == (len(set(data[facet].tolist())) if values is None else 1)


def test_missing_group_values_count_in_no_group():
    """Adult's occupation is missing for 2,809 rows; they are in no CDD subgroup, so
    CDDL equals CDDL on the rows whose occupation is known, and differs from treating
    "?" as a group of its own."""
    data = adult()
    known = ~pd.isna(data["occupation"])
    assert known.sum() == 48842 - 2809
    facet_d = data["sex"] == "Female"
    positive = data["income"] == ">50K"
    all_rows = bias.CDDL(facet_d, positive, data["occupation"])
    assert all_rows == pytest.approx(bias.CDDL(facet_d[known], positive[known], data["occupation"][known]), abs=1e-12)
    assert abs(all_rows - bias.CDDL(facet_d, positive, data["occupation_raw"])) > 1e-4


def test_flip_test_ties_on_compas():
    """Integer features tie often: for many African-American defendants the group-a rows at
    the 5th-nearest distance disagree in their predicted label, so FT depends on which of
    them vote.  Clarify's search (the default) and Charter's exact search (ties to the
    earliest row) both land inside the range those choices allow; the exact search equals
    a brute-force count that breaks ties the same way."""
    data = compas()
    X = np.column_stack([data[f] for f in COMPAS_NUMERIC]).astype(float)
    facet_d = data["race"] == "African-American"
    predicted = data["propublica_pred"] == 1
    train, train_y, query, query_y = X[~facet_d], predicted[~facet_d], X[facet_d], predicted[facet_d]

    distance = ((query[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    kth = np.partition(distance, 4, axis=1)[:, 4, None]
    closer, tied = distance < kth, distance == kth
    room = 5 - closer.sum(axis=1)
    sure_positive = (closer & train_y).sum(axis=1)
    tied_positive, tied_negative = (tied & train_y).sum(axis=1), (tied & ~train_y).sum(axis=1)
    fewest = sure_positive + np.maximum(0, room - tied_negative)
    most = sure_positive + np.minimum(room, tied_positive)
    can_be_positive, can_be_negative = 2 * most > 5, 2 * fewest <= 5
    ambiguous = can_be_positive & can_be_negative
    assert ambiguous.sum() > len(query) // 4  # ties that change the vote are common here

    n_d = len(query)
    low = (np.sum(query_y & ~can_be_positive) - np.sum(~query_y & can_be_positive)) / n_d
    high = (np.sum(query_y & can_be_negative) - np.sum(~query_y & ~can_be_negative)) / n_d
    assert high - low > 0.1

    earliest = np.empty(n_d, dtype=bool)
    for i in range(n_d):
        order = np.lexsort((np.arange(len(train)), distance[i]))[:5]
        earliest[i] = 2 * train_y[order].sum() > 5
    brute_force = (np.sum(query_y & ~earliest) - np.sum(~query_y & earliest)) / n_d

    clarify = bias.FT(X, facet_d, predicted)
    exact = bias.FT(X, facet_d, predicted, search="exact")
    assert exact == pytest.approx(brute_force, abs=1e-12)
    assert low <= clarify <= high and low <= exact <= high
    assert clarify != exact  # the two tie rules do give different answers on this table
    assert bias.FT(X, facet_d, predicted, search="clarify") == clarify
    with pytest.raises(ValueError, match="search must be one of"):
        bias.FT(X, facet_d, predicted, search="kd-tree")


def test_german_pretraining_by_hand():
    """A few values straight from the counts, so the oracle is not the only witness."""
    data = german()
    female = data["sex"] == "female"
    good = data["class"] == 1
    assert female.sum() == 310
    values = bias.pretraining(data["class"], data["sex"], label_values_or_threshold=[1],
                              facet_values_or_threshold=["female"])
    assert values["CI"] == pytest.approx((690 - 310) / 1000)
    assert values["DPL"] == pytest.approx(good[~female].mean() - good[female].mean())
    older = bias.pretraining(data["class"], data["age"], label_values_or_threshold=[1],
                             facet_values_or_threshold=[25])
    assert older["CI"] == pytest.approx(1 - 2 * np.mean(data["age"] > 25))


def test_distribution_metrics_on_multi_valued_labels():
    """KL, JS, LP, TVD and KS compare whole label distributions, here COMPAS's ten deciles."""
    import smclarify.bias.metrics.pretraining as pre

    data = compas()
    for race in ("African-American", "Caucasian", "Asian", "Native American"):
        facet_d = data["race"] == race
        for name in ("KL", "JS", "LP", "TVD", "KS"):
            expected = getattr(pre, name)(series(data["decile_score"], "s"), series(facet_d, "d"))
            assert same_value(getattr(bias, name)(data["decile_score"], facet_d), expected), (race, name)
