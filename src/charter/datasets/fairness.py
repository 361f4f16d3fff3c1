"""UCI Adult, Statlog German credit and ProPublica COMPAS, read as their READMEs say.

Each loader returns a pandas DataFrame with the folder README's column names and the
values cleaned the way every study cleans them, and nothing more:

- Adult (``shared/data/adult``): no header and a space after each comma, so values are
  stripped; ``?`` is missing (NaN); the test file's first line is junk and its labels end
  in a full stop, which is dropped so both splits spell ``<=50K`` / ``>50K``.
- German credit (``shared/data/german``): space-separated codes, 20 attributes and
  ``class`` (1 good, 2 bad); ``sex`` is derived from ``personal_status_sex`` (A92 and A95
  are women), as fairness studies derive it.
- COMPAS (``shared/data/compas``): the two-year file without the defendants' names and
  dates of birth, without the repeated ``decile_score``/``priors_count`` columns, and by
  default with ProPublica's filter (6,172 rows).
"""

from __future__ import annotations

import pandas as pd

from charter.datasets import data_file

__all__ = ["ADULT_COLUMNS", "GERMAN_COLUMNS", "adult", "compas", "german"]

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
    "income",
]  # fmt: skip

GERMAN_COLUMNS = [
    "checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "employment_since", "installment_rate", "personal_status_sex", "other_debtors", "residence_since",
    "property", "age", "other_installment_plans", "housing", "existing_credits", "job",
    "num_dependents", "telephone", "foreign_worker", "class",
]  # fmt: skip

# Personally identifying columns of the COMPAS file (its README: drop them on load).
COMPAS_PERSONAL = ["name", "first", "last", "dob"]


def _adult_file(name: str, skip: int) -> pd.DataFrame:
    frame = pd.read_csv(
        data_file("adult", name),
        header=None,
        names=ADULT_COLUMNS,
        skiprows=skip,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
    )
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def adult(split: str = "train", *, drop_missing: bool = False) -> pd.DataFrame:
    """Adult's ``train`` (32,561 rows), ``test`` (16,281) or ``all`` (48,842, train first).

    With ``drop_missing`` the rows with a missing value go (30,162 / 15,060 / 45,222 left).
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    parts = []
    if split in ("train", "all"):
        parts.append(_adult_file("adult.data", 0))
    if split in ("test", "all"):
        parts.append(_adult_file("adult.test", 1))
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if drop_missing:
        frame = frame.dropna().reset_index(drop=True)
    return frame


def german() -> pd.DataFrame:
    """German credit's 1,000 applicants, coded as in ``german.doc``, plus a derived ``sex``."""
    frame = pd.read_csv(data_file("german", "german.data"), sep=" ", header=None, names=GERMAN_COLUMNS)
    frame["sex"] = frame["personal_status_sex"].isin(["A92", "A95"]).map({True: "female", False: "male"})
    return frame


def compas(*, propublica_filter: bool = True) -> pd.DataFrame:
    """COMPAS two-year recidivism: 7,214 defendants, or the 6,172 ProPublica analysed.

    ProPublica's filter keeps ``-30 <= days_b_screening_arrest <= 30``, ``is_recid != -1``,
    ``c_charge_degree != "O"`` and ``score_text != "N/A"`` (an empty day count fails it).
    """
    frame = pd.read_csv(data_file("compas", "compas-scores-two-years.csv"))
    repeated = [c for c in frame.columns if c.endswith(".1")]  # identical second copies
    frame = frame.drop(columns=COMPAS_PERSONAL + repeated)
    if propublica_filter:
        days = frame["days_b_screening_arrest"]
        keep = (
            days.between(-30, 30)
            & (frame["is_recid"] != -1)
            & (frame["c_charge_degree"] != "O")
            & (frame["score_text"] != "N/A")
        )
        frame = frame[keep].reset_index(drop=True)
    return frame
