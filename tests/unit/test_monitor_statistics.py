"""Tests of charter.analytics.statistics and charter.analytics.constraints (Model Monitor).

Oracles: numpy/pandas on the same synthetic table for counts, sums, means, population
standard deviations, minima and maxima (equal within 1e-9 relative); exact empirical ranks
for the KLL sketch's quantiles (normalised rank error <= 1%, the sketch's k=2048 bound is
about 0.2%); a profile merged from two halves against the profile of the whole.

The table is synthetic on purpose: it holds the edges the real sets lack (see the comment
above the KLL tests).  The same statistics on UCI Adult, and every constraint check, are in
test_monitor_real_data.py.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from charter.analytics.statistics import KLLSketch, Profiler, profile_files

N_ROWS = 200_000
RANK_TOLERANCE = 0.01


def make_table(n: int = N_ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    with_missing = rng.normal(10.0, 3.0, n)
    with_missing[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "age": rng.integers(18, 91, n),
            "income": rng.lognormal(10.0, 0.8, n),
            "score": rng.normal(0.0, 1.0, n),
            "visits": rng.poisson(3.0, n),
            "ratio": rng.random(n),
            "temperature": rng.normal(-5.0, 12.0, n),
            "balance": with_missing,
            "segment": rng.choice(["retail", "smb", "corporate", "public", "other"], n, p=[0.4, 0.25, 0.15, 0.12, 0.08]),
            "state": rng.choice([f"S{i:02d}" for i in range(20)], n),
            "active": rng.random(n) < 0.7,
            "customer_id": np.char.add("c", rng.permutation(n).astype(str)).astype(object),
            "zip": np.char.zfill(rng.integers(0, 99_999, n).astype(str), 5).astype(object),
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


def profile(df: pd.DataFrame, chunk: int = 50_000, **kw) -> Profiler:
    p = Profiler(**kw)
    for start in range(0, len(df), chunk):
        p.update(df.iloc[start : start + chunk])
    return p


def rank_error(x: np.ndarray, sketch: KLLSketch, qs: np.ndarray | None = None) -> float:
    """Largest gap between a requested quantile and the exact rank range of the answer."""
    qs = np.linspace(0.01, 0.99, 99) if qs is None else qs
    xs = np.sort(x)
    est = sketch.quantile(qs)
    lo = np.searchsorted(xs, est, side="left") / xs.size
    hi = np.searchsorted(xs, est, side="right") / xs.size
    return float(np.maximum(0, np.maximum(lo - qs, qs - hi)).max())


def by_name(stats: dict) -> dict:
    return {f["name"]: f for f in stats["features"]}


@pytest.fixture(scope="module")
def stats(table) -> dict:
    return profile(table).to_statistics_json()


NUMERIC = ["age", "income", "score", "visits", "ratio", "temperature", "balance"]


def test_types_and_counts(table, stats):
    feats = by_name(stats)
    assert stats["dataset"]["item_count"] == N_ROWS
    assert [f["name"] for f in stats["features"]] == list(table.columns)
    expected = {
        "age": "Integral", "visits": "Integral", "zip": "Integral",
        "income": "Fractional", "score": "Fractional", "ratio": "Fractional",
        "temperature": "Fractional", "balance": "Fractional",
        "segment": "String", "state": "String", "active": "String", "customer_id": "String",
    }
    assert {n: f["inferred_type"] for n, f in feats.items()} == expected
    for name in table.columns:
        f = feats[name]
        common = (f.get("numerical_statistics") or f["string_statistics"])["common"]
        present = int(table[name].notna().sum())
        assert common == {"num_present": present, "num_missing": N_ROWS - present}
    assert feats["balance"]["numerical_statistics"]["common"]["num_missing"] > 0


@pytest.mark.parametrize("name", NUMERIC + ["zip"])
def test_numeric_statistics_match_numpy(table, stats, name):
    x = pd.to_numeric(table[name]).dropna().to_numpy(dtype=float)
    ns = by_name(stats)[name]["numerical_statistics"]
    assert ns["sum"] == pytest.approx(x.sum(), rel=1e-9, abs=1e-9)
    assert ns["mean"] == pytest.approx(x.mean(), rel=1e-9, abs=1e-12)
    assert ns["std_dev"] == pytest.approx(x.std(ddof=0), rel=1e-9)
    assert ns["min"] == x.min() and ns["max"] == x.max()
    kll = ns["distribution"]["kll"]
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    buckets = kll["buckets"]
    assert len(buckets) == 10
    assert buckets[0]["lower_bound"] == x.min() and buckets[-1]["upper_bound"] == x.max()
    assert sum(b["count"] for b in buckets) == pytest.approx(x.size, abs=10)
    # Bucket counts against the exact histogram, within the sketch's rank error.
    edges = [b["lower_bound"] for b in buckets] + [x.max()]
    exact, _ = np.histogram(x, bins=edges)
    for b, e in zip(buckets, exact):
        assert abs(b["count"] - e) <= 2 * RANK_TOLERANCE * x.size
    # Quantiles from the serialised sketch, against exact ranks.
    sketch = KLLSketch.from_json(kll["sketch"])
    assert sketch.n == x.size
    assert rank_error(x, sketch) <= RANK_TOLERANCE


def test_string_statistics(table, stats):
    feats = by_name(stats)
    for name in ["segment", "state"]:
        ss = feats[name]["string_statistics"]
        counts = table[name].value_counts()
        assert ss["distinct_count"] == len(counts)
        assert {b["value"]: b["count"] for b in ss["distribution"]["categorical"]["buckets"]} == counts.to_dict()
    active = feats["active"]["string_statistics"]
    assert {b["value"] for b in active["distribution"]["categorical"]["buckets"]} == {"true", "false"}
    # High cardinality: capped buckets, HyperLogLog distinct count (~1% error at p=14).
    ids = feats["customer_id"]["string_statistics"]
    assert len(ids["distribution"]["categorical"]["buckets"]) <= 1000
    assert ids["distinct_count"] == pytest.approx(N_ROWS, rel=0.04)
    json.dumps(stats)  # plain JSON


def test_merge_of_halves_equals_whole(table, stats):
    half = N_ROWS // 2
    a = profile(table.iloc[:half])
    b = profile(table.iloc[half:])
    merged = by_name(a.merge(b).to_statistics_json())
    whole = by_name(stats)
    for name in table.columns:
        m, w = merged[name], whole[name]
        assert m["inferred_type"] == w["inferred_type"]
        if "numerical_statistics" in w:
            mn, wn = m["numerical_statistics"], w["numerical_statistics"]
            assert mn["common"] == wn["common"]
            for key in ("sum", "mean", "std_dev", "min", "max"):
                assert mn[key] == pytest.approx(wn[key], rel=1e-9, abs=1e-12)
            x = np.sort(table[name].dropna().to_numpy(dtype=float))
            sk = KLLSketch.from_json(mn["distribution"]["kll"]["sketch"])
            assert rank_error(x, sk) <= RANK_TOLERANCE
        else:
            ms, ws = m["string_statistics"], w["string_statistics"]
            assert ms["common"] == ws["common"]
            if name != "customer_id":
                assert ms == ws
            else:
                assert ms["distinct_count"] == pytest.approx(ws["distinct_count"], rel=0.04)


def test_files_csv_parquet_jsonlines_agree(tmp_path, table):
    small = table.iloc[:30_000].copy()
    small["balance"] = small["balance"].round(6)
    csv = tmp_path / "data.csv"
    small.to_csv(csv, index=False)
    parquet = tmp_path / "data.parquet"
    small.to_parquet(parquet, index=False)
    jsonl = tmp_path / "data.jsonl"
    small.to_json(jsonl, orient="records", lines=True)
    headless = tmp_path / "headless.csv"
    small.to_csv(headless, index=False, header=False)

    results = {
        "csv": by_name(profile_files([str(csv)], "csv", batch_size=7_000).to_statistics_json()),
        "parquet": by_name(profile_files([str(parquet)], "parquet", batch_size=7_000).to_statistics_json()),
        "jsonl": by_name(profile_files([str(jsonl)], "jsonlines", batch_size=7_000).to_statistics_json()),
    }
    named = by_name(profile_files(str(headless), "csv", headers=list(small.columns)).to_statistics_json())
    assert list(named) == list(small.columns)
    auto = by_name(profile_files(str(headless), "csv", headers=False).to_statistics_json())
    assert list(auto) == [f"_c{i}" for i in range(small.shape[1])]

    for fmt, feats in results.items():
        for name in NUMERIC:
            x = small[name].dropna().to_numpy(dtype=float)
            ns = feats[name]["numerical_statistics"]
            assert ns["common"]["num_present"] == x.size, (fmt, name)
            assert ns["mean"] == pytest.approx(x.mean(), rel=1e-9), (fmt, name)
            assert ns["std_dev"] == pytest.approx(x.std(), rel=1e-9), (fmt, name)
        assert feats["segment"]["inferred_type"] == "String"
        assert feats["age"]["inferred_type"] == "Integral"
        seg = {b["value"]: b["count"] for b in feats["segment"]["string_statistics"]["distribution"]["categorical"]["buckets"]}
        assert seg == small["segment"].value_counts().to_dict()
    # Text formats see zip codes as digits: Integral, like Model Monitor on CSV.
    assert results["csv"]["zip"]["inferred_type"] == "Integral"


def test_streaming_memory_is_bounded():
    rows, chunk = 1_000_000, 20_000
    rng = np.random.default_rng(3)
    data_bytes = 0
    tracemalloc.start()
    try:
        p = Profiler()
        for _ in range(rows // chunk):
            df = pd.DataFrame(
                {
                    "x": rng.normal(size=chunk),
                    "y": rng.integers(0, 1000, chunk),
                    "z": rng.lognormal(size=chunk),
                    "cat": rng.choice(["a", "b", "c", "d"], chunk),
                }
            )
            data_bytes += int(df.memory_usage(deep=True).sum())
            p.update(df)
            del df
        stats = p.to_statistics_json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats["dataset"]["item_count"] == rows
    assert peak < data_bytes / 8, (peak, data_bytes)  # observed ~1/13
    # The serialised sketch stays O(k), whatever the row count.
    data = by_name(stats)["x"]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
    assert sum(len(level) for level in data) < 2048 / (1 - 0.64) + 64


# Constraints and violations are tested on the real Adult and COMPAS tables
# (tests/unit/test_monitor_real_data.py): random splits, each injected drift, thresholds and
# overrides.  The synthetic table stays for the profile's own edges, which neither real set has:
# 200,000 distinct ids in one text column (HyperLogLog far past max_categories), booleans,
# zero-padded zip codes, NaN in a float column, a Cauchy-tailed KLL input and a million-row
# streaming memory bound.
# --------------------------------------------------------------------------------------


def test_kll_merge_within_rank_error():
    rng = np.random.default_rng(5)
    x = rng.standard_cauchy(300_000)
    parts = np.array_split(x, 7)
    sketches = []
    for i, part in enumerate(parts):
        s = KLLSketch(seed=i)
        for chunk in np.array_split(part, 5):
            s.update(chunk)
        sketches.append(s)
    merged = sketches[0]
    for s in sketches[1:]:
        merged.merge(s)
    assert merged.n == x.size
    assert rank_error(x, merged, np.linspace(0.001, 0.999, 500)) <= RANK_TOLERANCE
    assert math.isclose(merged.cdf(np.array([0.0]))[0], 0.5, abs_tol=RANK_TOLERANCE)


def test_type_inference_rules(tmp_path):
    # Deequ's rules over the text of each value: any string makes the column String,
    # any fractional value makes a numeric column Fractional, nothing present is Unknown.
    csv = tmp_path / "types.csv"
    csv.write_text(
        "ints,fracs,mixed,words,empty,flags\n"
        "1,1.5,1,a,,true\n"
        "-2,2,2.5e3,b,,false\n"
        "+3,.25,x,,,TRUE\n"
        "007,-4.,4,c,,false\n"
    )
    feats = by_name(profile_files(str(csv), "csv").to_statistics_json())
    assert {n: f["inferred_type"] for n, f in feats.items()} == {
        "ints": "Integral", "fracs": "Fractional", "mixed": "String",
        "words": "String", "empty": "Unknown", "flags": "String",
    }
    assert feats["ints"]["numerical_statistics"]["sum"] == 9.0
    assert feats["fracs"]["numerical_statistics"]["min"] == -4.0
    assert feats["words"]["string_statistics"]["common"] == {"num_present": 3, "num_missing": 1}
    assert feats["empty"]["string_statistics"]["common"] == {"num_present": 0, "num_missing": 4}
    assert feats["mixed"]["inferred_type_counts"] == {"Integral": 2, "Fractional": 1, "Boolean": 0, "String": 1}

    # A column whose batches change type: typed numbers then text.
    p = Profiler()
    p.update(pd.DataFrame({"v": [1, 2, 3, 3]}))
    p.update(pa.record_batch({"v": pa.array(["a", "3", None])}))
    (v,) = p.to_statistics_json()["features"]
    assert v["inferred_type"] == "String"
    ss = v["string_statistics"]
    assert ss["common"] == {"num_present": 6, "num_missing": 1}
    assert ss["distinct_count"] == 4
    assert {b["value"]: b["count"] for b in ss["distribution"]["categorical"]["buckets"]} == {"3": 3, "1": 1, "2": 1, "a": 1}

    # A schema fixes the order and reports absent features as entirely missing.
    p = Profiler(["b", "a", "ghost"])
    p.update(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [1, 2]}))
    stats = p.to_statistics_json()
    assert [f["name"] for f in stats["features"]] == ["b", "a", "ghost", "c"]
    assert by_name(stats)["ghost"]["inferred_type"] == "Unknown"
