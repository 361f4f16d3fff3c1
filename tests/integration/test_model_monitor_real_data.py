"""The model-monitor built-in on real data: UCI Adult and ProPublica COMPAS (../shared/data).

A data quality baseline is taken on a random half of each table and the other half is
monitored, as a processing job runs the image (``charter container run model-monitor
process``). A random split must raise no violation; each drift injected into the monitored
half must raise exactly the check that names it, on the column it was injected into.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from real_data import need

from charter.datasets import fairness

BASELINE_ENV = {
    "dataset_format": json.dumps({"csv": {"header": True}}),
    "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
    "output_path": "/opt/ml/processing/output",
}
MONITOR_ENV = {
    "dataset_format": json.dumps({"csv": {"header": True}}),
    "dataset_source": "/opt/ml/processing/input/dataset",
    "output_path": "/opt/ml/processing/resultdata",
    "baseline_statistics": "/opt/ml/processing/baseline/statistics.json",
    "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
    "publish_cloudwatch_metrics": "Disabled",
}


def container(root: Path, env: dict[str, str]) -> None:
    keep = {k: v for k, v in os.environ.items() if k not in BASELINE_ENV and k not in MONITOR_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "container", "run", "model-monitor", "process", "--root", str(root)],
        capture_output=True, text=True, timeout=300, env={**keep, **env},
    )
    assert result.returncode == 0, result.stderr


def halves(frame, seed=0):
    order = np.random.default_rng(seed).permutation(len(frame))
    middle = len(frame) // 2
    return frame.iloc[order[:middle]].reset_index(drop=True), frame.iloc[order[middle:]].reset_index(drop=True)


def baseline(root: Path, frame) -> Path:
    data = root / "opt/ml/processing/input/baseline_dataset_input/train.csv"
    data.parent.mkdir(parents=True)
    frame.to_csv(data, index=False)
    container(root, BASELINE_ENV)
    return root / "opt/ml/processing/output"


def violations(root: Path, baseline_out: Path, frame) -> set[tuple[str, str]]:
    data = root / "opt/ml/processing/input/dataset/part-0.csv"
    data.parent.mkdir(parents=True)
    frame.to_csv(data, index=False)
    target = root / "opt/ml/processing/baseline"
    target.mkdir(parents=True)
    for name in ("statistics.json", "constraints.json"):
        (target / name).write_text((baseline_out / name).read_text())
    container(root, MONITOR_ENV)
    found = json.loads((root / "opt/ml/processing/resultdata/constraint_violations.json").read_text())
    return {(v["feature_name"], v["constraint_check_type"]) for v in found["violations"]}


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    frame = need(fairness.adult, "all")
    reference, live = halves(frame)
    return baseline(tmp_path_factory.mktemp("adult-baseline"), reference), live


def test_adult_baseline_reads_the_table(adult):
    out, _ = adult
    stats = {f["name"]: f for f in json.loads((out / "statistics.json").read_text())["features"]}
    assert list(stats) == fairness.ADULT_COLUMNS
    assert stats["age"]["inferred_type"] == "Integral" and stats["sex"]["inferred_type"] == "String"
    # '?' is missing: about 5.7% of occupations, none of the ages.
    assert stats["occupation"]["string_statistics"]["common"]["num_missing"] > 1_000
    assert stats["age"]["numerical_statistics"]["common"]["num_missing"] == 0
    assert 38 < stats["age"]["numerical_statistics"]["mean"] < 39.5


def test_adult_random_split_raises_nothing(adult, tmp_path):
    out, live = adult
    assert violations(tmp_path, out, live) == set()


def _shift(column, by):
    def inject(frame):
        frame[column] = frame[column] + by
        return frame

    return inject


def _new_category(frame):
    # 5% of rows: enough to leave the baseline's domain, too few to move the distribution
    # past the 0.1 drift threshold (at 20% baseline_drift_check rightly fires as well).
    rows = np.random.default_rng(1).random(len(frame)) < 0.05
    frame.loc[rows, "workclass"] = "Gig-economy"
    return frame


def _rising_missing(frame):
    rows = np.random.default_rng(2).random(len(frame)) < 0.4
    frame.loc[rows, "occupation"] = np.nan
    return frame


def _type_change(frame):
    frame["capital-loss"] = "loss-" + frame["capital-loss"].astype(str)
    return frame


DRIFTS = [
    ("age-shifted", _shift("age", 12), {("age", "baseline_drift_check")}),
    ("hours-shifted", _shift("hours-per-week", 10), {("hours-per-week", "baseline_drift_check")}),
    ("new-category", _new_category, {("workclass", "categorical_values_check")}),
    ("missing-rises", _rising_missing, {("occupation", "completeness_check")}),
    ("column-dropped", lambda frame: frame.drop(columns=["relationship"]), {("relationship", "missing_column_check")}),
    ("type-changed", _type_change, {("capital-loss", "data_type_check")}),
]


@pytest.mark.parametrize("inject, expected", [d[1:] for d in DRIFTS], ids=[d[0] for d in DRIFTS])
def test_each_injected_drift_raises_its_own_check_only(adult, tmp_path, inject, expected):
    out, live = adult
    assert violations(tmp_path, out, inject(live.copy())) == expected


def test_compas_random_split_raises_nothing(tmp_path):
    frame = need(fairness.compas)
    # The columns a COMPAS model is fed; ids, case numbers and dates are unique per row.
    columns = ["sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
               "priors_count", "c_charge_degree", "decile_score", "score_text", "two_year_recid"]
    reference, live = halves(frame[columns], seed=3)
    out = baseline(tmp_path / "baseline", reference)
    assert violations(tmp_path / "monitor", out, live) == set()


# --------------------------------------------------------------------------
# Model quality: a model trained here on Adult's training split, monitored on its test split
# --------------------------------------------------------------------------

QUALITY = {"analysis_type": "MODEL_QUALITY", "problem_type": "BinaryClassification",
           "inference_attribute": "prediction", "probability_attribute": "probability"}


def _model_predictions(train, test, features):
    from sklearn.ensemble import HistGradientBoostingClassifier

    def encode(frame):
        frame = frame[features].copy()
        for column in frame.columns:
            if frame[column].dtype.kind not in "iuf":
                frame[column] = frame[column].astype("category")
        return frame

    categories = {c: sorted(train[c].dropna().unique()) for c in features if train[c].dtype.kind not in "iuf"}
    x_train, x_test = encode(train), encode(test)
    for column, values in categories.items():
        x_train[column] = x_train[column].cat.set_categories(values)
        x_test[column] = x_test[column].cat.set_categories(values)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(x_train, (train["income"] == ">50K").astype(int))
    return model.predict_proba(x_test)[:, 1]


def _capture(root: Path, probability: np.ndarray, label: np.ndarray) -> None:
    capture = root / "opt/ml/processing/input/endpoint/ep/AllTraffic/2026/01/05/10/capture.jsonl"
    truth = root / "opt/ml/processing/groundtruth/2026/01/05/10/labels.jsonl"
    capture.parent.mkdir(parents=True)
    truth.parent.mkdir(parents=True)
    capture.write_text("".join(json.dumps({
        "captureData": {"endpointOutput": {
            "observedContentType": "application/json", "mode": "OUTPUT", "encoding": "JSON",
            "data": json.dumps({"prediction": int(p > 0.5), "probability": float(p)})}},
        "eventMetadata": {"eventId": f"e-{i}", "inferenceId": f"id-{i}",
                          "inferenceTime": f"2026-01-05T10:{i % 60:02d}:00Z"},
        "eventVersion": "0",
    }) + "\n" for i, p in enumerate(probability)))
    truth.write_text("".join(json.dumps({
        "groundTruthData": {"data": str(int(t)), "encoding": "CSV"},
        "eventMetadata": {"eventId": f"id-{i}"}, "eventVersion": "0",
    }) + "\n" for i, t in enumerate(label)))


@pytest.fixture(scope="module")
def quality(tmp_path_factory):
    """Baseline on the first half of Adult's test split, the window on the second half."""
    train, test = need(fairness.adult, "train"), need(fairness.adult, "test")
    features = [c for c in fairness.ADULT_COLUMNS if c not in ("income", "fnlwgt")]
    probability = _model_predictions(train, test, features)
    weak = _model_predictions(train, test, ["age", "hours-per-week"])  # a much poorer model
    label = (test["income"] == ">50K").to_numpy().astype(int)
    middle = len(test) // 2
    root = tmp_path_factory.mktemp("quality-baseline")
    data = root / "opt/ml/processing/input/baseline_dataset_input/validation.csv"
    data.parent.mkdir(parents=True)
    data.write_text("label,probability,prediction\n" + "".join(
        f"{t},{p:.6f},{int(p > 0.5)}\n" for t, p in zip(label[:middle], probability[:middle])))
    container(root, {**QUALITY, "dataset_format": json.dumps({"csv": {"header": True}}),
                     "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                     "output_path": "/opt/ml/processing/output", "ground_truth_attribute": "label"})
    window = slice(middle, None)
    return root / "opt/ml/processing/output", label[window], probability[window], weak[window]


def _quality_window(root: Path, baseline_out: Path, probability, label):
    _capture(root, probability, label)
    target = root / "opt/ml/processing/baseline/constraints.json"
    target.parent.mkdir(parents=True)
    target.write_text((baseline_out / "constraints.json").read_text())
    container(root, {
        **QUALITY,
        "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointOutput"]}}),
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "ground_truth_source": "/opt/ml/processing/groundtruth",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
        "output_path": "/opt/ml/processing/resultdata",
        "start_time": "2026-01-05T10:00:00Z", "end_time": "2026-01-05T11:00:00Z",
        "publish_cloudwatch_metrics": "Disabled",
    })
    out = root / "opt/ml/processing/resultdata"
    stats = json.loads((out / "statistics.json").read_text())["binary_classification_metrics"]
    found = json.loads((out / "constraint_violations.json").read_text())["violations"]
    return stats, {v["metric_name"] for v in found}


def test_model_quality_on_real_predictions_matches_scikit_learn(quality, tmp_path):
    from sklearn import metrics as sk

    baseline_out, label, probability, _ = quality
    stats, violated = _quality_window(tmp_path, baseline_out, probability, label)
    predicted = (probability > 0.5).astype(int)
    assert stats["accuracy"]["value"] == pytest.approx(sk.accuracy_score(label, predicted), abs=1e-9)
    assert stats["precision"]["value"] == pytest.approx(sk.precision_score(label, predicted), abs=1e-9)
    assert stats["recall"]["value"] == pytest.approx(sk.recall_score(label, predicted), abs=1e-9)
    assert stats["f1"]["value"] == pytest.approx(sk.f1_score(label, predicted), abs=1e-9)
    assert stats["auc"]["value"] == pytest.approx(sk.roc_auc_score(label, probability), abs=1e-6)
    assert stats["accuracy"]["value"] > 0.86  # gradient boosting on Adult: ~87% (adult.names: C4.5 84.5%)
    # The suggested constraints are the baseline's own values (as SageMaker suggests them), so the
    # same model on the other half violates exactly the metrics that came out lower there.
    base = json.loads((baseline_out / "statistics.json").read_text())["binary_classification_metrics"]
    lower = {m for m in ("accuracy", "precision", "recall", "f1", "auc") if stats[m]["value"] < base[m]["value"]}
    assert lower & {"accuracy", "precision", "recall", "f1", "auc"} == violated & {"accuracy", "precision", "recall", "f1", "auc"}
    assert all(abs(stats[m]["value"] - base[m]["value"]) < 0.02 for m in ("accuracy", "auc"))


def test_model_quality_flags_a_poorer_model(quality, tmp_path):
    baseline_out, label, _, weak = quality
    stats, violated = _quality_window(tmp_path, baseline_out, weak, label)
    assert stats["accuracy"]["value"] < 0.82
    assert {"accuracy", "f1", "auc"} <= violated
