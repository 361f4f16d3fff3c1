"""Model quality kernel: merging ground truth, metrics against scikit-learn, constraints, violations."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from charter.analytics.model_quality import (
    binary_classification_metrics,
    check_quality,
    merge_ground_truth,
    model_quality_statistics,
    multiclass_classification_metrics,
    regression_metrics,
    suggest_quality_constraints,
)


def values(report: dict) -> dict:
    return {k: v["value"] for k, v in report.items() if isinstance(v, dict) and "value" in v}


# --------------------------------------------------------------------------- documented examples


def test_binary_reproduces_the_documented_example():
    # The guide's example: 4 rows, one positive, predicted 1 three times.
    report = binary_classification_metrics([0, 0, 0, 1], [0, 1, 1, 1])
    assert report["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    expected = {
        "recall": 1.0,
        "precision": 0.3333333333333333,
        "accuracy": 0.5,
        "recall_best_constant_classifier": 1.0,
        "precision_best_constant_classifier": 0.25,
        "accuracy_best_constant_classifier": 0.25,
        "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337,
        "false_positive_rate": 0.6666666666666666,
        "false_negative_rate": 0.0,
        "f0_5": 0.3846153846153846,
        "f1": 0.5,
        "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.29411764705882354,
        "f1_best_constant_classifier": 0.4,
        "f2_best_constant_classifier": 0.625,
    }
    got = values(report)
    for name, value in expected.items():
        assert got[name] == value, name
    # fewer than 200 rows: no standard deviation
    assert all(report[name]["standard_deviation"] == "NaN" for name in expected)
    assert set(report["receiver_operating_characteristic_curve"]) == {"false_positive_rates", "true_positive_rates"}
    assert set(report["precision_recall_curve"]) == {"precisions", "recalls"}
    json.dumps(report, allow_nan=False)  # strictly valid JSON


def test_multiclass_reproduces_the_documented_example():
    y_true = [0] * 1690 + [1] * 406
    y_pred = [0] * 1180 + [1] * 510 + [0] * 268 + [1] * 138
    report = multiclass_classification_metrics(y_true, y_pred)
    assert report["confusion_matrix"] == {"0": {"0": 1180, "1": 510}, "1": {"0": 268, "1": 138}}
    expected = {
        "accuracy": 0.6288167938931297,
        "weighted_recall": 0.6288167938931297,
        "weighted_precision": 0.6983172269629505,
        "weighted_f0_5": 0.6803947317178771,
        "weighted_f1": 0.6571162346664904,
        "weighted_f2": 0.6384024354394601,
        "accuracy_best_constant_classifier": 0.19370229007633588,
        "weighted_recall_best_constant_classifier": 0.19370229007633588,
        "weighted_precision_best_constant_classifier": 0.03752057718081697,
        "weighted_f0_5_best_constant_classifier": 0.04473443104152011,
        "weighted_f1_best_constant_classifier": 0.06286421244683643,
        "weighted_f2_best_constant_classifier": 0.10570313141262414,
    }
    got = values(report)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-14), name
    # 2096 rows: standard deviations are numbers of the documented order of magnitude
    for name in expected:
        std = report[name]["standard_deviation"]
        assert isinstance(std, float) and 0 < std < 0.02, name
    # accuracy and weighted recall are the same metric, on the same subsamples
    assert report["accuracy"]["standard_deviation"] == pytest.approx(report["weighted_recall"]["standard_deviation"])


# --------------------------------------------------------------------------- against scikit-learn


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, 1000)
    score = np.clip(0.35 * y_true + rng.normal(0.35, 0.2, 1000), 0, 1).round(3)  # ties on purpose
    y_pred = (score >= 0.5).astype(int)
    return y_true, y_pred, score


def test_binary_matches_sklearn(binary_data):
    y_true, y_pred, score = binary_data
    report = binary_classification_metrics(y_true, y_pred, score)
    got = values(report)
    assert got["recall"] == pytest.approx(skm.recall_score(y_true, y_pred), abs=1e-15)
    assert got["precision"] == pytest.approx(skm.precision_score(y_true, y_pred), abs=1e-15)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)
    for beta, name in ((0.5, "f0_5"), (1, "f1"), (2, "f2")):
        assert got[name] == pytest.approx(skm.fbeta_score(y_true, y_pred, beta=beta), abs=1e-14)
        constant = np.ones_like(y_true)
        assert got[f"{name}_best_constant_classifier"] == pytest.approx(
            skm.fbeta_score(y_true, constant, beta=beta), abs=1e-14
        )
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y_true, score), abs=1e-14)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred).ravel()
    assert report["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert got["false_positive_rate"] == pytest.approx(fp / (fp + tn), abs=1e-15)
    assert got["true_negative_rate"] == pytest.approx(tn / (fp + tn), abs=1e-15)
    assert got["false_negative_rate"] == pytest.approx(fn / (fn + tp), abs=1e-15)
    assert got["accuracy_best_constant_classifier"] == pytest.approx(y_true.mean(), abs=1e-15)
    # ROC curve: one point per distinct score after (0, 0), as sklearn draws it unthinned
    fpr, tpr, _ = skm.roc_curve(y_true, score, drop_intermediate=False)
    roc = report["receiver_operating_characteristic_curve"]
    np.testing.assert_allclose(roc["false_positive_rates"], fpr, atol=1e-15)
    np.testing.assert_allclose(roc["true_positive_rates"], tpr, atol=1e-15)
    pr = report["precision_recall_curve"]
    precision, recall, _ = skm.precision_recall_curve(y_true, score, drop_intermediate=False)
    # sklearn lists it from the lowest threshold up and ends at (recall 0, precision 1)
    np.testing.assert_allclose(pr["recalls"][1:], recall[::-1][1:], atol=1e-15)
    np.testing.assert_allclose(pr["precisions"][1:], precision[::-1][1:], atol=1e-15)
    assert pr["recalls"][0] == 0.0 and pr["precisions"][0] == pr["precisions"][1]


def test_binary_standard_deviation_is_seeded_subsampling(binary_data):
    y_true, y_pred, score = binary_data
    a = binary_classification_metrics(y_true, y_pred, score, seed=3)
    b = binary_classification_metrics(y_true, y_pred, score, seed=3)
    c = binary_classification_metrics(y_true, y_pred, score, seed=4)
    assert a == b
    assert a["f1"]["standard_deviation"] != c["f1"]["standard_deviation"]
    # the same computation by hand: 5 subsamples of 80 % without replacement, sample std
    rng = np.random.default_rng(3)
    idx = np.argsort(rng.random((5, 1000)), axis=1)[:, :800]
    by_hand = [skm.f1_score(y_true[i], y_pred[i]) for i in idx]
    assert a["f1"]["standard_deviation"] == pytest.approx(np.std(by_hand, ddof=1), rel=1e-12)
    auc_by_hand = [skm.roc_auc_score(y_true[i], score[i]) for i in idx]
    assert a["auc"]["standard_deviation"] == pytest.approx(np.std(auc_by_hand, ddof=1), rel=1e-10)


def test_binary_with_string_labels_and_curve_thinning():
    rng = np.random.default_rng(1)
    y_true = np.where(rng.random(3000) < 0.3, "fraud", "ok")
    score = rng.random(3000)
    y_pred = np.where(score > 0.5, "fraud", "ok")
    report = binary_classification_metrics(y_true, y_pred, score, positive_label="fraud", max_curve_points=50)
    assert set(report["confusion_matrix"]) == {"ok", "fraud"}
    assert report["recall"]["value"] == pytest.approx(skm.recall_score(y_true, y_pred, pos_label="fraud"))
    roc = report["receiver_operating_characteristic_curve"]
    assert len(roc["false_positive_rates"]) == 50
    assert roc["false_positive_rates"][0] == 0.0 and roc["false_positive_rates"][-1] == 1.0


def test_binary_without_probabilities_scores_the_labels():
    y_true = [0, 1, 1, 0, 1]
    y_pred = [0, 1, 0, 0, 1]
    report = binary_classification_metrics(y_true, y_pred)
    assert report["auc"]["value"] == pytest.approx(skm.roc_auc_score(y_true, y_pred))


def test_multiclass_matches_sklearn():
    rng = np.random.default_rng(11)
    classes = np.array(["cat", "dog", "owl", "eel"])
    y_true = classes[rng.choice(4, 800, p=[0.4, 0.3, 0.2, 0.1])]
    y_pred = np.where(rng.random(800) < 0.7, y_true, classes[rng.integers(0, 4, 800)])
    report = multiclass_classification_metrics(y_true, y_pred)
    got = values(report)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)
    assert got["weighted_recall"] == pytest.approx(skm.recall_score(y_true, y_pred, average="weighted"), abs=1e-14)
    assert got["weighted_precision"] == pytest.approx(
        skm.precision_score(y_true, y_pred, average="weighted"), abs=1e-14
    )
    for beta, name in ((0.5, "f0_5"), (1, "f1"), (2, "f2")):
        assert got[f"weighted_{name}"] == pytest.approx(
            skm.fbeta_score(y_true, y_pred, beta=beta, average="weighted"), abs=1e-14
        )
    # best constant classifier: always the rarest actual class ("eel")
    constant = np.full(800, "eel")
    assert got["accuracy_best_constant_classifier"] == pytest.approx(skm.accuracy_score(y_true, constant))
    assert got["weighted_f1_best_constant_classifier"] == pytest.approx(
        skm.f1_score(y_true, constant, average="weighted", zero_division=0)
    )
    assert got["weighted_precision_best_constant_classifier"] == pytest.approx(
        skm.precision_score(y_true, constant, average="weighted", zero_division=0)
    )
    labels = sorted(set(classes))
    matrix = skm.confusion_matrix(y_true, y_pred, labels=labels)
    assert report["confusion_matrix"] == {
        a: {p: int(matrix[i, j]) for j, p in enumerate(labels)} for i, a in enumerate(labels)
    }


def test_regression_matches_sklearn():
    rng = np.random.default_rng(5)
    y_true = rng.normal(10, 3, 500)
    y_pred = y_true + rng.normal(0, 1, 500)
    report = regression_metrics(y_true, y_pred)
    assert report["mae"]["value"] == pytest.approx(skm.mean_absolute_error(y_true, y_pred), rel=1e-14)
    assert report["mse"]["value"] == pytest.approx(skm.mean_squared_error(y_true, y_pred), rel=1e-14)
    assert report["rmse"]["value"] == pytest.approx(np.sqrt(skm.mean_squared_error(y_true, y_pred)), rel=1e-14)
    assert report["r2"]["value"] == pytest.approx(skm.r2_score(y_true, y_pred), rel=1e-14)
    assert all(isinstance(report[k]["standard_deviation"], float) for k in ("mae", "mse", "rmse", "r2"))
    small = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.5, 2.0])
    assert small["r2"]["value"] == pytest.approx(skm.r2_score([1, 2, 3], [1, 2.5, 2]))
    assert small["mae"]["standard_deviation"] == "NaN"
    # a constant truth: sklearn's convention
    assert regression_metrics([2.0, 2.0], [2.0, 2.0])["r2"]["value"] == 1.0
    assert regression_metrics([2.0, 2.0], [2.0, 3.0])["r2"]["value"] == 0.0


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="differ in length"):
        binary_classification_metrics([0, 1], [0])
    with pytest.raises(ValueError, match="no rows"):
        multiclass_classification_metrics([], [])
    with pytest.raises(ValueError, match="numeric"):
        regression_metrics(["a"], [1.0])
    with pytest.raises(ValueError, match="problem type"):
        model_quality_statistics("Ranking", [1], [1])


def test_statistics_file_wraps_the_metrics():
    when = dt.datetime(2024, 5, 1, 12, 30, 5, 250000, tzinfo=dt.timezone.utc)
    stats = model_quality_statistics("Regression", [1.0, 2.0], [1.0, 2.0], evaluation_time=when)
    assert stats["version"] == 0.0
    assert stats["dataset"] == {"item_count": 2, "evaluation_time": "2024-05-01T12:30:05.250Z"}
    assert stats["regression_metrics"]["mae"]["value"] == 0.0


# --------------------------------------------------------------------------- merging


def capture(event_id, output, *, inference_id=None, content_type="application/json", encoding="JSON"):
    meta = {"eventId": event_id, "inferenceTime": "2024-05-01T12:00:00Z"}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT", "data": output,
                               "encoding": encoding},
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }


def truth(event_id, label):
    return {"groundTruthData": {"data": label, "encoding": "CSV"}, "eventMetadata": {"eventId": event_id},
            "eventVersion": "0"}


def test_merge_matches_inference_id_first_then_event_id():
    b64 = base64.b64encode(json.dumps({"prediction": 0, "probability": 0.2}).encode()).decode()
    captured = [
        capture("e1", json.dumps({"prediction": 1, "probability": 0.9}), inference_id="inf-1"),
        capture("e2", b64, encoding="BASE64"),  # no inferenceId: joined on eventId
        capture("e3", json.dumps({"prediction": 1, "probability": 0.7}), inference_id="inf-3"),
        capture("e4", json.dumps({"prediction": 1, "probability": 0.6})),  # no label yet
    ]
    labels = [truth("inf-1", "1"), truth("e2", "0"), truth("e3", "1"), truth("inf-3", "0"), truth("zzz", "1")]
    merged = merge_ground_truth(captured, labels, inference_attribute="prediction", probability_attribute="$.probability")
    assert merged.inference_ids == ["inf-1", "e2", "inf-3"]
    assert merged.y_true.tolist() == [1, 0, 0]
    assert merged.y_pred.tolist() == [1, 0, 1]
    assert merged.y_score.tolist() == [0.9, 0.2, 0.7]
    assert merged.unmatched_captures == ["e4"]
    assert sorted(merged.unmatched_ground_truth) == ["e3", "zzz"]


def test_merge_csv_output_and_probability_threshold():
    captured = [capture(f"e{i}", f"{p}", content_type="text/csv", encoding="CSV")
                for i, p in enumerate([0.1, 0.55, 0.8])]
    labels = [truth(f"e{i}", y) for i, y in enumerate(["0", "1.0", "0"])]
    merged = merge_ground_truth(captured, labels, probability_attribute=0, probability_threshold=0.6)
    assert merged.y_pred.tolist() == [0, 0, 1]
    assert merged.y_true.tolist() == [0, 1, 0]
    # predicted label in the second CSV column
    captured = [capture("a", "0.93,cat", content_type="text/csv", encoding="CSV")]
    merged = merge_ground_truth(captured, [truth("a", "cat")], inference_attribute="1")
    assert merged.y_pred.tolist() == ["cat"] and merged.y_true.tolist() == ["cat"]


def test_merge_reports_unusable_payloads():
    captured = [capture("a", json.dumps({"scores": [0.1, 0.9]}))]
    with pytest.raises(ValueError, match="several values"):
        merge_ground_truth(captured, [truth("a", "1")])
    with pytest.raises(ValueError, match="no key 'label'"):
        merge_ground_truth(captured, [truth("a", "1")], inference_attribute="label")
    merged = merge_ground_truth(captured, [truth("a", "1")], probability_attribute="scores[1]")
    assert merged.y_pred.tolist() == [1]


# --------------------------------------------------------------------------- constraints and violations


def test_suggested_constraints_pass_on_the_baseline_and_flag_degradation(binary_data):
    y_true, y_pred, score = binary_data
    baseline = model_quality_statistics("BinaryClassification", y_true, y_pred, score)
    constraints = suggest_quality_constraints(baseline, "BinaryClassification")
    assert constraints["version"] == 0.0
    rules = constraints["binary_classification_constraints"]
    assert rules["f1"] == {"threshold": baseline["binary_classification_metrics"]["f1"]["value"],
                           "comparison_operator": "LessThanThreshold"}
    assert rules["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert "confusion_matrix" not in rules and "f1_best_constant_classifier" not in rules
    assert check_quality(constraints, baseline) == {"violations": []}

    # flip a third of the predictions: quality drops, error rates rise
    rng = np.random.default_rng(0)
    flip = rng.random(len(y_pred)) < 0.33
    degraded = model_quality_statistics("BinaryClassification", y_true, np.where(flip, 1 - y_pred, y_pred),
                                        np.where(flip, 1 - score, score))
    violations = check_quality(constraints, degraded)["violations"]
    by_metric = {v["metric_name"]: v for v in violations}
    assert {"f1", "accuracy", "auc", "false_positive_rate"} <= set(by_metric)
    f1 = degraded["binary_classification_metrics"]["f1"]["value"]
    assert by_metric["f1"] == {
        "constraint_check_type": "LessThanThreshold",
        "metric_name": "f1",
        "description": f"Metric f1 with {f1} was LessThanThreshold {rules['f1']['threshold']}",
    }
    assert by_metric["false_positive_rate"]["constraint_check_type"] == "GreaterThanThreshold"


def test_regression_and_multiclass_constraints():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 300)
    baseline = model_quality_statistics("Regression", y, y + rng.normal(0, 0.1, 300))
    constraints = suggest_quality_constraints(baseline, "Regression")
    assert {k: v["comparison_operator"] for k, v in constraints["regression_constraints"].items()} == {
        "mae": "GreaterThanThreshold", "mse": "GreaterThanThreshold", "rmse": "GreaterThanThreshold",
        "r2": "LessThanThreshold",
    }
    worse = model_quality_statistics("Regression", y, y + rng.normal(0, 1.0, 300))
    assert {v["metric_name"] for v in check_quality(constraints, worse)["violations"]} == {"mae", "mse", "rmse", "r2"}

    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, 300)]
    base = model_quality_statistics("MulticlassClassification", labels, labels)
    rules = suggest_quality_constraints(base["multiclass_classification_metrics"], "MulticlassClassification")
    assert set(rules["multiclass_classification_constraints"]) == {
        "accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"}
    shuffled = model_quality_statistics("MulticlassClassification", labels, rng.permutation(labels))
    assert len(check_quality(rules, shuffled)["violations"]) == 6


def test_comparison_operators():
    stats = {"regression_metrics": {"mae": {"value": 0.5, "standard_deviation": "NaN"},
                                    "r2": {"value": "NaN", "standard_deviation": "NaN"}}}

    def flagged(operator, threshold):
        constraints = {"version": 0.0, "regression_constraints": {
            "mae": {"threshold": threshold, "comparison_operator": operator}}}
        return [v["metric_name"] for v in check_quality(constraints, stats)["violations"]]

    assert flagged("GreaterThanThreshold", 0.5) == []
    assert flagged("GreaterThanThreshold", 0.4) == ["mae"]
    assert flagged("GreaterThanOrEqualToThreshold", 0.5) == ["mae"]
    assert flagged("LessThanThreshold", 0.5) == []
    assert flagged("LessThanThreshold", 0.6) == ["mae"]
    assert flagged("LessThanOrEqualToThreshold", 0.5) == ["mae"]
    with pytest.raises(ValueError, match="comparison_operator must be one of"):
        flagged("NotEqualToThreshold", 0.5)
    # a metric that is not a number is not judged
    constraints = {"regression_constraints": {"r2": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}}}
    assert check_quality(constraints, stats) == {"violations": []}
    with pytest.raises(ValueError, match="exactly one"):
        check_quality({"version": 0.0}, stats)
