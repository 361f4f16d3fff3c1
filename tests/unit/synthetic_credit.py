"""Seeded synthetic stand-ins for the three classic fairness data sets.

The real Adult, German credit and COMPAS files are not available to the test
suite, so these generators produce data of the same shape: the same columns
and value spellings, similar group proportions and label rates, and
correlations strong enough that every bias metric is far from trivial
(labels and predictions depend on the sensitive attributes, the group
variables used for conditional demographic disparity are themselves
associated with the facets).  Each data set also carries predictions from a
simple logistic scoring rule, for the post-training metrics.

Everything is numpy only and deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """A table of named columns plus how Clarify is told to read it."""

    name: str
    columns: dict[str, np.ndarray]
    label: str
    positive: list
    predicted: str
    features: list[str] = field(default_factory=list)  # numeric columns for the flip test

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def feature_matrix(self) -> np.ndarray:
        return np.column_stack([self.columns[c].astype(np.float64) for c in self.features])

    def head(self, rows: int, name: str | None = None) -> Dataset:
        """The first ``rows`` rows as a data set of its own."""
        return Dataset(
            name or f"{self.name}[:{rows}]",
            {k: v[:rows] for k, v in self.columns.items()},
            self.label,
            list(self.positive),
            self.predicted,
            list(self.features),
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _choice(rng: np.random.Generator, values: list[str], weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def _threshold_at_rate(score: np.ndarray, rate: float) -> float:
    return float(np.quantile(score, 1.0 - rate))


def adult(n: int = 30_000, seed: int = 1994) -> Dataset:
    """Adult census income: does a person earn more than 50K a year?

    Facets: ``sex`` (binary), ``race`` (five categories), ``age`` (integer,
    with a float copy ``age_years`` for threshold tests).  Label ``income``
    (">50K" / "<=50K", ~24% positive) with ``income_pred`` from a scoring
    rule.  ``hours_per_week_f`` / ``hours_pred`` give a continuous label and
    prediction.  Group variable for CDD: ``occupation`` (and
    ``marital_status``).
    """
    rng = np.random.default_rng(seed)
    sex = _choice(rng, ["Male", "Female"], [0.67, 0.33], n)
    male = sex == "Male"
    race = _choice(
        rng,
        ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"],
        [0.854, 0.096, 0.031, 0.010, 0.009],
        n,
    )
    white = race == "White"
    age = np.clip(np.round(17 + rng.gamma(3.2, 6.5, n)), 17, 90).astype(np.int64)
    education_num = np.clip(np.round(rng.normal(10.1, 2.6, n)), 1, 16).astype(np.int64)
    hours = np.clip(np.round(rng.normal(38 + 5 * male, 11, n)), 1, 99).astype(np.int64)
    married_p = _sigmoid(-2.2 + 0.07 * np.minimum(age, 55) + 0.6 * male)
    marital = np.where(
        rng.random(n) < married_p,
        "Married-civ-spouse",
        _choice(rng, ["Never-married", "Divorced", "Separated", "Widowed"], [0.62, 0.26, 0.06, 0.06], n),
    ).astype(object)
    occupations = [
        "Prof-specialty",
        "Craft-repair",
        "Exec-managerial",
        "Adm-clerical",
        "Sales",
        "Other-service",
        "Machine-op-inspct",
        "Transport-moving",
        "Handlers-cleaners",
        "Tech-support",
    ]
    male_weights = [0.12, 0.19, 0.14, 0.07, 0.12, 0.07, 0.07, 0.07, 0.06, 0.03]
    female_weights = [0.15, 0.02, 0.09, 0.25, 0.11, 0.17, 0.06, 0.01, 0.02, 0.04]
    occupation = np.where(
        male, _choice(rng, occupations, male_weights, n), _choice(rng, occupations, female_weights, n)
    ).astype(object)
    capital_gain = np.where(rng.random(n) < 0.08, np.round(rng.lognormal(8.5, 1.0, n)), 0.0).astype(np.int64)
    fnlwgt = rng.lognormal(12.0, 0.45, n)  # continuous: no exact ties for the flip test
    high_pay = np.isin(occupation, ["Prof-specialty", "Exec-managerial", "Tech-support"])
    z = (
        -9.9
        + 0.045 * np.minimum(age, 60)
        + 0.33 * education_num
        + 0.032 * hours
        + 1.6 * (marital == "Married-civ-spouse")
        + 0.45 * male
        + 0.25 * white
        + 0.8 * high_pay
        + 1.4 * (capital_gain > 5000)
    )
    income = np.where(rng.random(n) < _sigmoid(z), ">50K", "<=50K").astype(object)
    # The "model": similar coefficients, leans harder on sex, ignores race.
    score = z - 0.25 * white + 0.35 * male + rng.normal(0, 0.9, n)
    income_pred = np.where(score > _threshold_at_rate(score, 0.21), ">50K", "<=50K").astype(object)
    hours_f = hours.astype(np.float64) + rng.uniform(-0.5, 0.5, n)
    hours_pred = 36.0 + 4.5 * male + 0.4 * (education_num - 10) + rng.normal(0, 7.0, n)
    return Dataset(
        "adult",
        {
            "age": age,
            "age_years": age.astype(np.float64),
            "sex": sex,
            "race": race,
            "education_num": education_num,
            "hours_per_week": hours,
            "hours_per_week_f": hours_f,
            "hours_pred": hours_pred,
            "marital_status": marital,
            "occupation": occupation,
            "capital_gain": capital_gain,
            "fnlwgt": fnlwgt,
            "income": income,
            "income_pred": income_pred,
        },
        label="income",
        positive=[">50K"],
        predicted="income_pred",
        features=["education_num", "hours_per_week", "fnlwgt"],
    )


def german_credit(n: int = 1_000, seed: int = 1973) -> Dataset:
    """German credit (Statlog): is the applicant a good credit risk?

    Facets: ``personal_status_sex`` (A91-A94, multi-category), ``sex``
    (binary, derived), ``foreign_worker`` ("A201" yes / "A202" no, 4% no),
    ``age`` (integer with enough distinct values to count as continuous).
    Label ``credit_risk``: 1 good (~70%), 2 bad, with ``credit_risk_pred``.
    Group variable: ``purpose``.
    """
    rng = np.random.default_rng(seed)
    status = _choice(rng, ["A93", "A92", "A94", "A91"], [0.548, 0.310, 0.092, 0.050], n)
    sex = np.where(status == "A92", "female", "male").astype(object)
    foreign = _choice(rng, ["A201", "A202"], [0.963, 0.037], n)
    age = np.clip(np.round(19 + rng.gamma(2.2, 7.5, n)), 19, 75).astype(np.int64)
    duration = np.clip(np.round(rng.gamma(3.0, 7.0, n)), 4, 72).astype(np.int64)
    amount = np.clip(np.round(rng.lognormal(7.8, 0.75, n) + 2.0 * duration * 30), 250, 18_424).astype(np.int64)
    purpose = _choice(
        rng,
        ["A43", "A40", "A42", "A41", "A49", "A46", "A45", "A44", "A410", "A48"],
        [0.28, 0.234, 0.181, 0.103, 0.097, 0.05, 0.022, 0.012, 0.012, 0.009],
        n,
    )
    # Women and young applicants get more car (A40) and furniture (A42) loans.
    young = age < 30
    purpose = np.where((sex == "female") & (rng.random(n) < 0.25), "A42", purpose).astype(object)
    purpose = np.where(young & (rng.random(n) < 0.15), "A40", purpose).astype(object)
    savings = rng.gamma(2.0, 400.0, n)  # continuous feature for the flip test
    z = (
        1.6
        - 0.035 * duration
        - 0.00006 * amount
        + 0.02 * np.minimum(age, 50)
        - 0.45 * (sex == "female")
        - 0.9 * (foreign == "A201")
        + 0.0004 * savings
        - 0.3 * (purpose == "A40")
        + 0.2
    )
    good = rng.random(n) < _sigmoid(z)
    credit_risk = np.where(good, 1, 2).astype(np.int64)
    score = z + 0.2 * (sex == "male") + rng.normal(0, 0.8, n)
    credit_risk_pred = np.where(score > _threshold_at_rate(score, 0.75), 1, 2).astype(np.int64)
    return Dataset(
        "german_credit",
        {
            "personal_status_sex": status,
            "sex": sex,
            "foreign_worker": foreign,
            "age": age,
            "duration": duration,
            "credit_amount": amount,
            "savings": savings,
            "purpose": purpose,
            "credit_risk": credit_risk,
            "credit_risk_pred": credit_risk_pred,
        },
        label="credit_risk",
        positive=[1],
        predicted="credit_risk_pred",
        features=["duration", "credit_amount", "savings"],
    )


def compas(n: int = 7_214, seed: int = 2016) -> Dataset:
    """COMPAS recidivism: is the defendant re-arrested within two years?

    Facets: ``race`` (six categories), ``sex`` (binary), ``age`` and
    ``priors_count`` (integers; float copies ``age_f`` / ``priors_f`` for
    threshold tests).  Label ``two_year_recid`` (0/1, ~45% positive; the
    favourable outcome is 0) with ``recid_pred`` derived from the COMPAS
    ``decile_score`` (1-10, itself usable as a multi-category label).
    Group variable: ``age_cat``.
    """
    rng = np.random.default_rng(seed)
    race = _choice(
        rng,
        ["African-American", "Caucasian", "Hispanic", "Other", "Asian", "Native American"],
        [0.512, 0.340, 0.088, 0.052, 0.0044, 0.0025],
        n,
    )
    black = race == "African-American"
    sex = _choice(rng, ["Male", "Female"], [0.81, 0.19], n)
    male = sex == "Male"
    age = np.clip(np.round(18 + rng.gamma(2.0, 8.5, n) - 2 * black), 18, 96).astype(np.int64)
    age_cat = np.where(age < 25, "Less than 25", np.where(age <= 45, "25 - 45", "Greater than 45")).astype(object)
    priors = rng.negative_binomial(1 + black + male, 0.35, n).clip(0, 38).astype(np.int64)
    juv = rng.poisson(0.1 + 0.15 * black, n).astype(np.int64)
    charge = _choice(rng, ["F", "M"], [0.64, 0.36], n)
    days_in_jail = rng.exponential(20.0, n)  # continuous feature for the flip test
    z = -0.9 + 0.14 * np.minimum(priors, 15) - 0.045 * (age - 30) + 0.35 * male + 0.25 * juv + 0.2 * (charge == "F")
    recid = (rng.random(n) < _sigmoid(z)).astype(np.int64)
    risk = z + 0.55 * black + rng.normal(0, 0.7, n)
    edges = np.quantile(risk, np.linspace(0, 1, 11)[1:-1])
    decile = (np.searchsorted(edges, risk, side="right") + 1).astype(np.int64)
    recid_pred = (decile >= 5).astype(np.int64)
    return Dataset(
        "compas",
        {
            "race": race,
            "sex": sex,
            "age": age,
            "age_f": age.astype(np.float64),
            "age_cat": age_cat,
            "priors_count": priors,
            "priors_f": priors.astype(np.float64),
            "juv_fel_count": juv,
            "c_charge_degree": charge,
            "days_in_jail": days_in_jail,
            "decile_score": decile,
            "decile_pred": np.clip(decile + rng.integers(-1, 2, n), 1, 10).astype(np.int64),
            "two_year_recid": recid,
            "recid_pred": recid_pred,
        },
        label="two_year_recid",
        positive=[0],
        predicted="recid_pred",
        features=["age", "priors_count", "days_in_jail"],
    )


def edge_cases(seed: int = 7) -> Dataset:
    """A small table built to reach Clarify's corner cases.

    * ``group`` has a value, "solo", whose rows are all labelled positive and
      all predicted positive; facet value "nobody" matches no row.
    * ``score`` is a float facet with NaNs (continuous, missing = not sensitive).
    * ``label`` uses "yes"/"no" with a few None (missing = negative).
    * ``always_yes`` is a constant positive prediction, ``always_no`` a
      constant negative one.
    * ``region`` (the CDD group variable) has NaN entries.
    """
    rng = np.random.default_rng(seed)
    n = 400
    group = _choice(rng, ["alpha", "beta", "gamma"], [0.5, 0.3, 0.2], n)
    group[:12] = "solo"
    label = np.where(rng.random(n) < 0.45 + 0.2 * (group == "alpha"), "yes", "no").astype(object)
    label[:12] = "yes"
    label[rng.choice(np.arange(12, n), 8, replace=False)] = None
    predicted = np.where(rng.random(n) < 0.4 + 0.25 * (group == "alpha"), "yes", "no").astype(object)
    predicted[:12] = "yes"
    score = rng.normal(50, 15, n)
    score[rng.choice(n, 20, replace=False)] = np.nan
    region = rng.choice([1.0, 2.0, 3.0, 4.0], n)
    region[rng.choice(n, 25, replace=False)] = np.nan
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, n)
    return Dataset(
        "edge_cases",
        {
            "group": group,
            "score": score,
            "label": label,
            "predicted": predicted,
            "always_yes": np.full(n, "yes", dtype=object),
            "always_no": np.full(n, "no", dtype=object),
            "region": region,
            "x1": x1,
            "x2": x2,
        },
        label="label",
        positive=["yes"],
        predicted="predicted",
        features=["x1", "x2"],
    )


# --- an all-numeric Adult-like table for explanation tests and benchmarks ---------------

ADULT_NUMERIC_FEATURES = [
    "age", "workclass", "education_num", "marital_status", "occupation", "relationship",
    "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
]


def adult_numeric(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An Adult-like census table (numeric codes) and an income>50K label; deterministic."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.gamma(6.0, 6.5, n) + 17, 17, 90).round()
    workclass = rng.choice(7, n, p=[0.70, 0.08, 0.07, 0.06, 0.04, 0.03, 0.02])
    education_num = np.clip(rng.normal(10, 2.6, n), 1, 16).round()
    marital = rng.choice(7, n, p=[0.46, 0.33, 0.14, 0.03, 0.03, 0.007, 0.003])
    occupation = rng.integers(0, 14, n)
    relationship = np.where(marital == 0, rng.choice([0, 5], n, p=[0.9, 0.1]), rng.choice([1, 2, 3, 4], n))
    race = rng.choice(5, n, p=[0.85, 0.10, 0.03, 0.01, 0.01])
    sex = (rng.random(n) < np.where(relationship == 5, 0.05, 0.67)).astype(float)
    capital_gain = np.where(rng.random(n) < 0.08, np.round(np.exp(rng.normal(8.5, 1.1, n))), 0.0)
    capital_loss = np.where(rng.random(n) < 0.05, np.round(rng.normal(1900, 300, n)), 0.0)
    hours = np.clip(rng.normal(40, 12, n), 1, 99).round()
    country = np.where(rng.random(n) < 0.9, 0, rng.integers(1, 41, n))
    X = np.column_stack([
        age, workclass, education_num, marital, occupation, relationship, race, sex,
        capital_gain, capital_loss, hours, country,
    ]).astype(float)
    z = (
        -7.0 + 0.045 * age - 0.0035 * (age - 45) ** 2 + 0.33 * education_num
        + 1.2 * (marital == 0) + 0.35 * sex + 0.03 * hours + 0.0003 * capital_gain
        + 0.0007 * capital_loss + 0.25 * np.isin(occupation, [3, 9]) - 0.2 * (race == 1)
        + rng.normal(0, 0.8, n)
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    return X, y
