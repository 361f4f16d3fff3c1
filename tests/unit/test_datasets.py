"""The loaders of ../shared/data read each set as its README documents it."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from real_data import need

from charter.datasets import DataUnavailable, data_file, fairness, m4, shared_data_root


def test_missing_file_names_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTER_SHARED_DATA", str(tmp_path))
    assert shared_data_root() == tmp_path.resolve()
    with pytest.raises(DataUnavailable, match=r"adult\.data is absent"):
        fairness.adult()
    monkeypatch.setenv("CHARTER_SHARED_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataUnavailable, match="set CHARTER_SHARED_DATA"):
        data_file("adult", "adult.data")


def test_checksums_match_the_readme():
    need(fairness.german)  # skips where shared/data is absent
    root = shared_data_root()
    for line in (root / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((root / name.lstrip("*")).read_bytes()).hexdigest() == digest, name


def test_adult_as_documented():
    train, test = need(fairness.adult, "train"), need(fairness.adult, "test")
    assert (len(train), len(test)) == (32_561, 16_281)
    assert train["income"].value_counts().to_dict() == {"<=50K": 24_720, ">50K": 7_841}
    assert test["income"].value_counts().to_dict() == {"<=50K": 12_435, ">50K": 3_846}  # full stop gone
    assert train["sex"].value_counts().to_dict() == {"Male": 21_790, "Female": 10_771}
    assert not train["race"].str.startswith(" ").any()
    assert len(need(fairness.adult, "all", drop_missing=True)) == 30_162 + 15_060
    with pytest.raises(ValueError, match="split"):
        fairness.adult("validation")


def test_german_as_documented():
    frame = need(fairness.german)
    assert frame.shape == (1_000, 22)
    assert frame["class"].value_counts().to_dict() == {1: 700, 2: 300}
    assert frame["sex"].value_counts().to_dict() == {"male": 690, "female": 310}
    assert int((frame["age"] < 25).sum()) == 149


def test_compas_with_propublicas_filter():
    frame = need(fairness.compas)
    assert len(frame) == 6_172 and len(need(fairness.compas, propublica_filter=False)) == 7_214
    assert not {"name", "first", "last", "dob", "decile_score.1"} & set(frame.columns)
    black = frame[frame["race"] == "African-American"]
    assert len(black) == 3_175 and round(black["two_year_recid"].mean(), 3) == 0.523
    # The README's oracle values: high risk (score_text not Low) among those who did not / did reoffend.
    for race, fpr, fnr in (("African-American", 0.423, 0.285), ("Caucasian", 0.220, 0.496)):
        group = frame[frame["race"] == race]
        high = group["score_text"] != "Low"
        assert round(high[group["two_year_recid"] == 0].mean(), 3) == fpr
        assert round((~high)[group["two_year_recid"] == 1].mean(), 3) == fnr


def test_m4_hourly_as_documented():
    data = need(m4.hourly)
    assert len(data) == 414 and data.test.shape == (414, m4.HORIZON)
    assert sorted({len(x) for x in data.train}) == [700, 960]
    assert sum(len(x) == 700 for x in data.train) == 169
    assert all(np.isfinite(x).all() for x in data.train)
    assert str(data.starts[0]) == "2015-07-01 12:00:00"
    few = data.subset([2, 0])
    assert few.ids == ["H3", "H1"] and np.array_equal(few.test[1], data.test[0])
    assert few.benchmark_forecast("sNaive").shape == (2, m4.HORIZON)
    with pytest.raises(ValueError, match="Theta"):
        few.benchmark_forecast("Theta")
