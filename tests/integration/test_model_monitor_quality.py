"""The model-monitor image's model quality job (analysis_type=MODEL_QUALITY), run as a processing
job runs it: a binary classification baseline from a labelled CSV, then monitoring windows whose
captured predictions are merged with ground truth by inference id -- good predictions raise no
violation, degraded ones violate the baseline's metrics; plus the feature attribution drift check.

The predictions here are synthetic on purpose: they carry what a real table cannot give, captures
whose ground truth has not arrived, a label with no capture, a perfect window (accuracy exactly 1)
and the CloudWatch metrics of a window.  The same job on a real model's Adult predictions, checked
against scikit-learn, is in tests/unit/test_monitor_real_data.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_CHARTER = [sys.executable, "-c", "import charter.builtins.model_monitor; from charter.cli.main import app; app()"]
_PREFIXES = ("dataset_", "baseline_", "problem_type", "inference_attribute", "probability_", "ground_truth_",
             "analysis_", "output_path", "start_time", "end_time", "publish_cloudwatch_metrics", "sagemaker_")


def container(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    return subprocess.run(
        [*_CHARTER, "container", "run", "model-monitor", "process", "--root", str(root)],
        capture_output=True, text=True, timeout=60, env={**keep, **env, "COLUMNS": "200"},
    )


def labelled(n: int, seed: int, flip: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, probabilities and predicted labels; ``flip`` of the predictions are wrong."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    wrong = rng.random(n) < flip
    predicted = np.where(wrong, 1 - label, label)
    probability = np.where(predicted == 1, rng.uniform(0.55, 1.0, n), rng.uniform(0.0, 0.45, n))
    return label, probability, predicted


COMMON = {"analysis_type": "MODEL_QUALITY", "problem_type": "BinaryClassification",
          "inference_attribute": "prediction", "probability_attribute": "probability"}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("mq-baseline")
    data = root / "opt/ml/processing/input/baseline_dataset_input/validation.csv"
    data.parent.mkdir(parents=True)
    label, probability, predicted = labelled(2000, seed=1, flip=0.1)
    data.write_text("label,probability,prediction\n" + "".join(
        f"{t},{p:.4f},{q}\n" for t, p, q in zip(label, probability, predicted)))
    result = container(root, {
        **COMMON,
        "dataset_format": json.dumps({"csv": {"header": True}}),
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "output_path": "/opt/ml/processing/output",
        "ground_truth_attribute": "label",
    })
    assert result.returncode == 0, result.stderr
    return root / "opt/ml/processing/output"


def monitor(root: Path, baseline: Path, flip: float, **extra: str) -> subprocess.CompletedProcess:
    label, probability, predicted = labelled(600, seed=7, flip=flip)
    capture = root / "opt/ml/processing/input/endpoint/ep/AllTraffic/2026/01/05/10/capture.jsonl"
    truth = root / "opt/ml/processing/groundtruth/2026/01/05/10/labels.jsonl"
    capture.parent.mkdir(parents=True)
    truth.parent.mkdir(parents=True)
    capture.write_text("".join(json.dumps({
        "captureData": {"endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                           "data": json.dumps({"prediction": int(q), "probability": float(p)}),
                                           "encoding": "JSON"}},
        "eventMetadata": {"eventId": f"e-{i}", "inferenceId": f"id-{i}",
                          "inferenceTime": f"2026-01-05T10:{i % 60:02d}:00Z"},
        "eventVersion": "0",
    }) + "\n" for i, (p, q) in enumerate(zip(probability, predicted))))
    # Ground truth for all but the last 50 captures, plus one label with no capture.
    truth.write_text("".join(json.dumps({
        "groundTruthData": {"data": str(t), "encoding": "CSV"},
        "eventMetadata": {"eventId": f"id-{i}"}, "eventVersion": "0",
    }) + "\n" for i, t in list(enumerate(label))[:-50] + [(9999, 1)]))
    base = root / "opt/ml/processing/baseline/constraints.json"
    base.parent.mkdir(parents=True)
    base.write_text((baseline / "constraints.json").read_text())
    env = {
        **COMMON,
        "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointOutput"]}}),
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "ground_truth_source": "/opt/ml/processing/groundtruth",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
        "output_path": "/opt/ml/processing/resultdata",
        "start_time": "2026-01-05T10:00:00Z", "end_time": "2026-01-05T11:00:00Z",
        "sagemaker_endpoint_name": "ep", "sagemaker_monitoring_schedule_name": "hourly",
        **extra,
    }
    return container(root, env)


def test_binary_baseline_writes_statistics_and_constraints(baseline):
    stats = json.loads((baseline / "statistics.json").read_text())
    constraints = json.loads((baseline / "constraints.json").read_text())
    assert stats["dataset"]["item_count"] == 2000
    metrics = stats["binary_classification_metrics"]
    assert 0.87 < metrics["accuracy"]["value"] < 0.93
    assert isinstance(metrics["accuracy"]["standard_deviation"], float)
    assert metrics["auc"]["value"] > 0.85
    rules = constraints["binary_classification_constraints"]
    assert rules["accuracy"] == {"threshold": metrics["accuracy"]["value"], "comparison_operator": "LessThanThreshold"}
    assert rules["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"


def test_good_predictions_raise_no_violation(baseline, tmp_path):
    result = monitor(tmp_path, baseline, flip=0.0)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "opt/ml/processing/resultdata"
    assert json.loads((out / "constraint_violations.json").read_text()) == {"violations": []}
    stats = json.loads((out / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == 550  # 50 captures had no ground truth yet
    assert stats["binary_classification_metrics"]["accuracy"]["value"] == 1.0
    data = [json.loads(line) for line in
            (tmp_path / "opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").read_text().splitlines()]
    by_name = {d["MetricName"]: d for d in data}
    assert {"accuracy", "f1", "precision", "recall", "auc"} <= set(by_name)
    assert by_name["accuracy"]["Value"] == 1.0
    assert by_name["f1"]["Dimensions"] == [{"Name": "Endpoint", "Value": "ep"},
                                           {"Name": "MonitoringSchedule", "Value": "hourly"}]


def test_degraded_predictions_violate_the_baseline(baseline, tmp_path):
    result = monitor(tmp_path, baseline, flip=0.4, publish_cloudwatch_metrics="Disabled")
    assert result.returncode == 0, result.stderr
    violations = json.loads((tmp_path / "opt/ml/processing/resultdata/constraint_violations.json").read_text())["violations"]
    names = {v["metric_name"] for v in violations}
    assert {"accuracy", "f1"} <= names
    accuracy = next(v for v in violations if v["metric_name"] == "accuracy")
    assert accuracy["constraint_check_type"] == "LessThanThreshold"
    assert "Metric accuracy with" in accuracy["description"]
    assert not (tmp_path / "opt/ml/output/metrics").exists()


def test_missing_ground_truth_source_names_the_variable(baseline, tmp_path):
    result = monitor(tmp_path, baseline, flip=0.0, ground_truth_source="")
    assert result.returncode == 2
    message = (tmp_path / "opt/ml/output/message").read_text()
    assert message.startswith("ClientError: ") and "ground_truth_source" in message
    assert "ground_truth_source" in result.stderr


@pytest.mark.parametrize(("env", "variable"), [
    ({"problem_type": "Ranking"}, "problem_type"),
    ({"problem_type": ""}, "problem_type"),
    ({"ground_truth_attribute": ""}, "ground_truth_attribute"),
    ({"ground_truth_attribute": "truth"}, "ground_truth_attribute"),
    ({"probability_threshold_attribute": "high"}, "probability_threshold_attribute"),
])
def test_bad_baselining_environment_names_the_variable(tmp_path, env, variable):
    data = tmp_path / "opt/ml/processing/input/data.csv"
    data.parent.mkdir(parents=True)
    data.write_text("label,probability,prediction\n1,0.9,1\n0,0.2,0\n")
    result = container(tmp_path, {**COMMON, "dataset_format": json.dumps({"csv": {"header": True}}),
                                  "dataset_source": "/opt/ml/processing/input", "ground_truth_attribute": "label",
                                  **env})
    assert result.returncode == 2, result.stderr
    assert variable in (tmp_path / "opt/ml/output/message").read_text()


def test_feature_attribution_drift(tmp_path):
    def analysis(values: dict[str, float]) -> str:
        return json.dumps({"explanations": {"kernel_shap": {"label0": {"global_shap_values": values}}}})

    folder = tmp_path / "opt/ml/processing/input"
    folder.mkdir(parents=True)
    (folder / "baseline.json").write_text(analysis({"gpa": 0.70, "sat": 0.50, "essay": 0.05}))
    (folder / "same.json").write_text(analysis({"gpa": 0.60, "sat": 0.40, "essay": 0.01}))
    (folder / "reversed.json").write_text(analysis({"gpa": 0.05, "sat": 0.50, "essay": 0.70}))
    env = {"analysis_type": "FEATURE_ATTRIBUTION_DRIFT", "baseline_analysis": "/opt/ml/processing/input/baseline.json",
           "output_path": "/opt/ml/processing/output"}
    out = tmp_path / "opt/ml/processing/output/constraint_violations.json"

    assert container(tmp_path, {**env, "analysis_source": "/opt/ml/processing/input/same.json"}).returncode == 0
    assert json.loads(out.read_text())["violations"] == []
    result = container(tmp_path, {**env, "analysis_source": "/opt/ml/processing/input/reversed.json"})
    assert result.returncode == 0, result.stderr
    (violation,) = json.loads(out.read_text())["violations"]
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["label"] == "label0"

    result = container(tmp_path, env)
    assert result.returncode == 2 and "analysis_source" in (tmp_path / "opt/ml/output/message").read_text()
