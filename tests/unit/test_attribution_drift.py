"""Feature attribution drift (NDCG) and bias drift checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from charter.analytics.attribution_drift import (
    bias_allowed_range,
    bias_metric_values,
    check_attribution_drift,
    compare_bias,
    global_attributions,
    ndcg,
)
from charter.analytics.bias import bias_report, posttraining

BASELINE = {"sat_score": 0.70, "gpa": 0.50, "class_rank": 0.05}


# --------------------------------------------------------------------------- NDCG


def test_identical_ranking_scores_one():
    assert ndcg(BASELINE, BASELINE) == 1.0
    # only the order matters, not the live magnitudes
    assert ndcg(BASELINE, {"sat_score": 9.0, "gpa": 3.0, "class_rank": 0.0}) == pytest.approx(1.0)


def test_documented_college_admission_example():
    live = {"sat_score": 0.10, "gpa": 0.20, "class_rank": 0.70}
    # by hand: live order class_rank, gpa, sat_score scored with baseline gains
    dcg = 0.05 / math.log2(2) + 0.50 / math.log2(3) + 0.70 / math.log2(4)
    idcg = 0.70 / math.log2(2) + 0.50 / math.log2(3) + 0.05 / math.log2(4)
    assert ndcg(BASELINE, live) == pytest.approx(dcg / idcg, rel=1e-15)
    assert round(ndcg(BASELINE, live), 2) == 0.69  # the guide's figure


def test_matches_sklearn_including_ties():
    rng = np.random.default_rng(4)
    for _ in range(20):
        m = int(rng.integers(2, 12))
        base = rng.random(m)
        live = rng.integers(0, 4, m).astype(float)  # plenty of ties
        names = [f"f{i}" for i in range(m)]
        got = ndcg(dict(zip(names, base)), dict(zip(names, live)))
        assert got == pytest.approx(ndcg_score([base], [live]), rel=1e-12)


def test_swapping_the_top_features_drifts():
    base = {"a": 0.9, "b": 0.1, "c": 0.05, "d": 0.02}
    swapped = {"a": 0.1, "b": 0.9, "c": 0.05, "d": 0.02}
    score = ndcg(base, swapped)
    assert score < 0.90
    result = check_attribution_drift(base, swapped)
    assert result == {
        "version": "1.0",
        "violations": [{
            "label": "label0",
            "metric_name": "shap",
            "constraint_check_type": "feature_attribution_drift_check",
            "description": f"Feature attribution drift {score} exceeds threshold 0.9",
        }],
    }
    # swapping two features of equal weight does not
    near = {"a": 0.9, "b": 0.1, "c": 0.02, "d": 0.05}
    assert check_attribution_drift(base, near)["violations"] == []
    # a stricter threshold flags it
    assert len(check_attribution_drift(base, near, threshold=0.999)["violations"]) == 1


def test_missing_and_extra_features():
    # a feature the live analysis lacks goes last; a live-only feature carries no weight
    assert ndcg(BASELINE, {"gpa": 1.0, "class_rank": 0.5, "new": 3.0}) == pytest.approx(
        ndcg(BASELINE, {"gpa": 1.0, "class_rank": 0.5, "sat_score": -1.0})
    )
    assert ndcg({"a": 0.0, "b": 0.0}, {"a": 1.0, "b": 2.0}) == 1.0
    with pytest.raises(ValueError, match="empty"):
        ndcg({}, {"a": 1.0})


def test_reads_clarify_analysis_per_label():
    def analysis(label0, label1):
        return {"version": "1.0", "explanations": {"kernel_shap": {
            "label0": {"global_shap_values": label0, "expected_value": 0.3},
            "label1": {"global_shap_values": label1, "expected_value": 0.7},
        }}}

    baseline = analysis(BASELINE, {"x": 0.9, "y": 0.1})
    current = analysis(BASELINE, {"x": 0.01, "y": 0.9})
    assert global_attributions(baseline)["label1"] == {"x": 0.9, "y": 0.1}
    violations = check_attribution_drift(baseline, current)["violations"]
    assert [v["label"] for v in violations] == ["label1"]
    # a plain {label: {feature: value}} works too
    assert check_attribution_drift({"yes": BASELINE}, {"yes": BASELINE})["violations"] == []


# --------------------------------------------------------------------------- bias drift


def test_allowed_range_is_distance_from_balance():
    assert bias_allowed_range("DPPL", 0.2) == (-0.2, 0.2)
    assert bias_allowed_range("DPPL", -0.2) == (-0.2, 0.2)
    assert bias_allowed_range("DI", 0.8) == pytest.approx((0.8, 1.2))


def test_documented_dppl_example():
    baseline = {"DPPL": 0.2}
    assert compare_bias(baseline, {"DPPL": 0.1})["violations"] == []
    result = compare_bias(baseline, {"DPPL": -0.3})
    assert result == {"version": "1.0", "violations": [{
        "facet": "",
        "facet_value": "",
        "metric_name": "DPPL",
        "constraint_check_type": "bias_drift_check",
        "description": "Value -0.3 does not meet the constraint requirement",
    }]}


def _analysis(report: list[dict]) -> dict:
    return {"version": "1.0", "post_training_bias_metrics": {
        "label": "approved", "label_value_or_threshold": "1", "facets": {"gender": report}}}


def test_flags_a_metric_that_moved_out_of_range_with_bias_reports():
    rng = np.random.default_rng(0)
    n = 4000
    gender = np.where(rng.random(n) < 0.5, "female", "male")
    label = (rng.random(n) < 0.5).astype(int)
    fair_pred = (rng.random(n) < 0.5).astype(int)
    # live: the model approves women far less often
    biased_pred = np.where(gender == "female", rng.random(n) < 0.2, rng.random(n) < 0.6).astype(int)
    kwargs = dict(label_values_or_threshold=[1], facet_values_or_threshold=["female"],
                  stage="post_training", methods=["DPPL", "DI", "AD"])
    baseline = bias_report(label, gender, predicted_label=fair_pred, **kwargs)
    live = bias_report(label, gender, predicted_label=biased_pred, **kwargs)
    result = compare_bias(_analysis(baseline), _analysis(live))
    flagged = {v["metric_name"] for v in result["violations"]}
    assert {"DPPL", "DI"} <= flagged
    dppl = next(v for v in result["violations"] if v["metric_name"] == "DPPL")
    assert dppl["facet"] == "gender" and dppl["facet_value"] == "female"
    live_dppl = next(m["value"] for m in live[0]["metrics"] if m["name"] == "DPPL")
    assert dppl["description"] == f"Value {live_dppl} does not meet the constraint requirement"
    # the baseline against itself is clean
    assert compare_bias(_analysis(baseline), _analysis(baseline))["violations"] == []

    # the compact form of posttraining() works the same way
    compact_base = posttraining(label, fair_pred, gender, label_values_or_threshold=[1],
                                facet_values_or_threshold=["female"], methods=["DPPL"])
    compact_live = posttraining(label, biased_pred, gender, label_values_or_threshold=[1],
                                facet_values_or_threshold=["female"], methods=["DPPL"])
    assert [v["metric_name"] for v in compare_bias(compact_base, compact_live)["violations"]] == ["DPPL"]


def test_explicit_constraint_ranges_and_unusable_values():
    baseline = {"CI": 0.05, "DI": 0.9}
    current = {"CI": 0.3, "DI": "Infinity", "KL": None}
    flagged = [v["metric_name"] for v in compare_bias(baseline, current)["violations"]]
    assert flagged == ["CI", "DI"]
    # explicit ranges replace the baseline-derived ones (and apply without a baseline value)
    ranges = {"CI": [-0.5, 0.5], "DI": {"lower": 0.8}, "KL": [0, 1]}
    assert [v["metric_name"] for v in compare_bias({}, current, ranges)["violations"]] == []
    assert bias_metric_values(current) == {("", "", "CI"): 0.3, ("", "", "DI"): math.inf}
    with pytest.raises(ValueError, match="range"):
        compare_bias(baseline, current, {"CI": [1, 0]})
