"""The model-monitor image's bias drift job (analysis_type=MODEL_BIAS), run as a monitoring job runs
it: captured requests and predictions joined with ground truth, post-training bias metrics computed
with the Clarify kernels and compared with the baseline's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from charter.analytics.bias import bias_report

_CHARTER = [sys.executable, "-m", "charter.cli.main"]
CONFIG = {
    "dataset_type": "text/csv",
    "headers": ["age", "sex", "income", "label"],
    "label": "label",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": [1]}],
    "methods": {"post_training_bias": {"methods": ["DPPL", "DI", "DAR"]}},
}


def traffic(n: int, seed: int, penalty: float):
    """Requests (age, sex, income), true labels and predictions; group sex=1 loses ``penalty`` of its positives."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    sex = rng.integers(0, 2, n)
    income = rng.normal(50, 15, n).round(1)
    label = (rng.random(n) < 0.4).astype(int)
    predicted = np.where(rng.random(n) < 0.9, label, 1 - label)
    denied = (sex == 1) & (predicted == 1) & (rng.random(n) < penalty)
    predicted = np.where(denied, 0, predicted)
    return np.stack([age, sex, income], axis=1), label, predicted


def window(root: Path, seed: int, penalty: float, n: int = 1500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    features, label, predicted = traffic(n, seed, penalty)
    capture = root / "opt/ml/processing/input/endpoint/ep/AllTraffic/2026/03/01/09/capture.jsonl"
    truth = root / "opt/ml/processing/groundtruth/2026/03/01/09/labels.jsonl"
    config = root / "opt/ml/processing/input/config/analysis_config.json"
    for path in (capture, truth, config):
        path.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(CONFIG))
    capture.write_text("".join(json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV",
                              "data": f"{int(row[0])},{int(row[1])},{row[2]}"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "encoding": "JSON",
                               "data": json.dumps({"prediction": int(q)})},
        },
        "eventMetadata": {"eventId": f"e-{i}", "inferenceId": f"id-{i}", "inferenceTime": "2026-03-01T09:30:00Z"},
        "eventVersion": "0",
    }) + "\n" for i, (row, q) in enumerate(zip(features, predicted))))
    truth.write_text("".join(json.dumps({
        "groundTruthData": {"data": str(int(t)), "encoding": "CSV"},
        "eventMetadata": {"eventId": f"id-{i}"}, "eventVersion": "0",
    }) + "\n" for i, t in enumerate(label)))
    return features, label, predicted


ENV = {"analysis_type": "MODEL_BIAS",
       "dataset_source": "/opt/ml/processing/input/endpoint",
       "ground_truth_source": "/opt/ml/processing/groundtruth",
       "inference_attribute": "prediction",
       "output_path": "/opt/ml/processing/output"}


def container(root: Path, **env: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k not in ENV and not k.startswith(("baseline_", "bias_"))}
    return subprocess.run([*_CHARTER, "container", "run", "model-monitor", "process", "--root", str(root)],
                          capture_output=True, text=True, timeout=120, env={**keep, **ENV, **env, "COLUMNS": "200"})


def dppl(analysis: dict) -> float:
    groups = analysis["post_training_bias_metrics"]["facets"]["sex"]
    return next(m["value"] for m in groups[0]["metrics"] if m["name"] == "DPPL")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bias-baseline")
    features, label, predicted = window(root, seed=1, penalty=0.25)
    result = container(root)
    assert result.returncode == 0, result.stderr
    analysis = json.loads((root / "opt/ml/processing/output/analysis.json").read_text())
    # The same numbers as the Clarify kernels on the joined data.
    expected = bias_report(label, features[:, 1].astype(int), label_values_or_threshold=[1], facet_values_or_threshold=[1],
                           stage="post_training", predicted_label=predicted, methods=["DPPL"])
    assert dppl(analysis) == pytest.approx(expected[0]["metrics"][0]["value"], abs=1e-12)
    assert not (root / "opt/ml/processing/output/constraint_violations.json").exists()  # baselining
    return root / "opt/ml/processing/output/analysis.json"


def staged(root: Path, baseline: Path) -> str:
    target = root / "opt/ml/processing/baseline/analysis.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(baseline.read_text())
    return "/opt/ml/processing/baseline/analysis.json"


def violations(root: Path) -> list[dict]:
    return json.loads((root / "opt/ml/processing/output/constraint_violations.json").read_text())["violations"]


def test_a_fairer_window_does_not_violate_dppl(tmp_path, baseline):
    window(tmp_path, seed=2, penalty=0.05)
    result = container(tmp_path, baseline_constraints=staged(tmp_path, baseline))
    assert result.returncode == 0, result.stderr
    assert abs(dppl(json.loads((tmp_path / "opt/ml/processing/output/analysis.json").read_text()))) < abs(
        dppl(json.loads(baseline.read_text())))
    assert not [v for v in violations(tmp_path) if v["metric_name"] == "DPPL"]


def test_a_more_biased_window_violates_and_publishes_metrics(tmp_path, baseline):
    window(tmp_path, seed=3, penalty=0.7)
    result = container(tmp_path, baseline_constraints=staged(tmp_path, baseline),
                       sagemaker_endpoint_name="credit-ep")
    assert result.returncode == 0, result.stderr
    found = [v for v in violations(tmp_path) if v["metric_name"] == "DPPL"]
    assert found and found[0]["facet"] == "sex" and found[0]["constraint_check_type"] == "bias_drift_check"
    metrics = [json.loads(line) for line in
               (tmp_path / "opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").read_text().splitlines()]
    names = {m["MetricName"] for m in metrics}
    assert {"DPPL", "DI"} <= names
    assert {"Name": "Endpoint", "Value": "credit-ep"} in metrics[0]["Dimensions"]


def test_explicit_ranges_replace_the_baseline_comparison(tmp_path, baseline):
    window(tmp_path, seed=3, penalty=0.7)
    result = container(tmp_path, baseline_constraints=staged(tmp_path, baseline),
                       bias_metric_ranges=json.dumps({"DPPL": [-1, 1]}))
    assert result.returncode == 0, result.stderr
    assert not [v for v in violations(tmp_path) if v["metric_name"] == "DPPL"]


def test_bad_inputs_are_client_errors(tmp_path, baseline):
    window(tmp_path, seed=4, penalty=0.1)
    result = container(tmp_path, analysis_config="/opt/ml/nowhere.json")
    assert result.returncode == 2 and "analysis_config" in result.stderr
    config = tmp_path / "opt/ml/processing/input/config/analysis_config.json"
    config.write_text(json.dumps({**CONFIG, "headers": ["age", "sex", "label"]}))
    result = container(tmp_path)
    assert result.returncode == 2 and "has 3 features; analysis_config headers name 2" in result.stderr
    config.write_text(json.dumps(CONFIG))
    result = container(tmp_path, bias_metric_ranges="{DPPL")
    assert result.returncode == 2 and "bias_metric_ranges" in result.stderr
    (tmp_path / "opt/ml/processing/groundtruth/2026/03/01/09/labels.jsonl").write_text("")
    result = container(tmp_path)
    assert result.returncode == 2 and "no captured prediction" in result.stderr
