"""The built-in model-monitor image, run as a processing job runs it: ``charter container run
model-monitor process --root DIR`` with Model Monitor's environment variables.

A deterministic synthetic dataset (20k rows, 8 mixed features, prediction first) is baselined;
then endpoint data capture from the same distribution must raise no violation, and capture
with a shifted numeric mean and an unseen category must raise baseline_drift_check and
categorical_values_check, emit CloudWatch metric data and draw a report.

The data are synthetic on purpose: the capture carries what the real sets cannot, base64 and CSV
encodings in turn, a prediction in endpointOutput joined to the features in endpointInput, and
garbage just outside the monitoring hour that must be ignored.  The data quality checks on the
real Adult and COMPAS tables (CSV datasets and captured CSV requests) are in
tests/unit/test_monitor_real_data.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from charter import builtins

COLUMNS = ["prediction", "age", "income", "score", "tenure", "region", "plan", "channel"]
REGIONS, PLANS, CHANNELS = ["north", "south", "east", "west"], ["basic", "pro", "enterprise"], ["web", "app", "store"]

# Until the builtins package registers the image itself, import it first (which registers it).
if "model-monitor" in {image.name for image in builtins.images()}:
    _CHARTER = [sys.executable, "-m", "charter.cli.main"]
else:
    _CHARTER = [sys.executable, "-c", "import charter.builtins.model_monitor; from charter.cli.main import app; app()"]


def rows(n: int, seed: int, score_shift: float = 0.0, new_region: float = 0.0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = rng.lognormal(10.5, 0.4, n)
    score = rng.normal(600 + score_shift, 50, n)
    tenure = rng.poisson(6, n)
    region = rng.choice(REGIONS, n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    if new_region:
        region[rng.random(n) < new_region] = "mars"
    plan = rng.choice(PLANS, n, p=[0.6, 0.3, 0.1])
    channel = rng.choice(CHANNELS, n)
    prediction = (score + rng.normal(0, 30, n) > 620).astype(int)
    return [
        [str(prediction[i]), str(age[i]), f"{income[i]:.2f}", f"{score[i]:.3f}", str(tenure[i]),
         region[i], plan[i], channel[i]]
        for i in range(n)
    ]


def write_capture(path: Path, records: list[list[str]], per_event: int = 10) -> None:
    """Data capture JSON Lines: the prediction in endpointOutput, the features in endpointInput;
    every other event base64-encoded.  Two events outside the monitoring hour carry garbage."""
    lines = []
    for n, start in enumerate(range(0, len(records), per_event)):
        chunk = records[start:start + per_event]
        features = "\n".join(",".join(r[1:]) for r in chunk)
        outputs = "\n".join(r[0] for r in chunk)
        if n % 2:
            inp = {"observedContentType": "text/csv", "mode": "INPUT",
                   "data": base64.b64encode(features.encode()).decode(), "encoding": "BASE64"}
        else:
            inp = {"observedContentType": "text/csv", "mode": "INPUT", "data": features, "encoding": "CSV"}
        out = {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": outputs, "encoding": "CSV"}
        lines.append({
            "captureData": {"endpointInput": inp, "endpointOutput": out},
            "eventMetadata": {"eventId": f"e-{n}", "inferenceTime": f"2026-01-05T10:{n % 60:02d}:00Z",
                              "inferenceId": str(n)},
            "eventVersion": "0",
        })
    for n, stamp in enumerate(["2026-01-05T09:59:59Z", "2026-01-05T11:00:00Z"]):
        garbage = "\n".join(",".join(["-999999", "0", "-1e9", "0", "pluto", "x", "y"]) for _ in range(500))
        lines.append({
            "captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": garbage,
                                              "encoding": "CSV"},
                            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                               "data": "\n".join(["7"] * 500), "encoding": "CSV"}},
            "eventMetadata": {"eventId": f"late-{n}", "inferenceTime": stamp, "inferenceId": f"late-{n}"},
            "eventVersion": "0",
        })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


_VARIABLES = {
    "dataset_format", "dataset_source", "output_path", "baseline_constraints", "baseline_statistics",
    "start_time", "end_time", "publish_cloudwatch_metrics", "sagemaker_endpoint_name",
    "sagemaker_monitoring_schedule_name", "analysis_type", "record_preprocessor_script",
    "post_analytics_processor_script",
}


def container(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k not in _VARIABLES}
    return subprocess.run(
        [*_CHARTER, "container", "run", "model-monitor", "process", "--root", str(root)],
        capture_output=True, text=True, timeout=120, env={**keep, **env, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """Baselining job on the training CSV (header row): the root and its output folder."""
    root = tmp_path_factory.mktemp("baseline")
    data = root / "opt/ml/processing/input/baseline_dataset_input/train.csv"
    data.parent.mkdir(parents=True)
    data.write_text(",".join(COLUMNS) + "\n" + "".join(",".join(r) + "\n" for r in rows(20000, seed=1)))
    result = container(root, {
        "dataset_format": json.dumps({"csv": {"header": True}}),
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "output_path": "/opt/ml/processing/output",
    })
    assert result.returncode == 0, result.stderr
    return root / "opt/ml/processing/output"


def monitor(tmp_path: Path, baseline: Path, records: list[list[str]]) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path / "monitor"
    write_capture(root / "opt/ml/processing/input/endpoint/ep/AllTraffic/2026/01/05/10/capture.jsonl", records)
    base = root / "opt/ml/processing/baseline"
    base.mkdir(parents=True)
    for name in ("statistics.json", "constraints.json"):
        (base / name).write_text((baseline / name).read_text())
    result = container(root, {
        "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointOutput", "endpointInput"]}}),
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "output_path": "/opt/ml/processing/resultdata",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
        "baseline_statistics": "/opt/ml/processing/baseline/statistics.json",
        "start_time": "2026-01-05T10:00:00Z",
        "end_time": "2026-01-05T11:00:00Z",
        "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": "ep",
        "sagemaker_monitoring_schedule_name": "hourly",
    })
    return result, root


def test_baseline_writes_statistics_and_constraints(baseline):
    stats = json.loads((baseline / "statistics.json").read_text())
    constraints = json.loads((baseline / "constraints.json").read_text())
    assert stats["dataset"]["item_count"] == 20000
    types = {f["name"]: f["inferred_type"] for f in stats["features"]}
    assert [f["name"] for f in stats["features"]] == COLUMNS
    assert types == {"prediction": "Integral", "age": "Integral", "income": "Fractional", "score": "Fractional",
                     "tenure": "Integral", "region": "String", "plan": "String", "channel": "String"}
    score = next(f for f in stats["features"] if f["name"] == "score")["numerical_statistics"]
    assert abs(score["mean"] - 600) < 2 and abs(score["std_dev"] - 50) < 2
    assert len(score["distribution"]["kll"]["buckets"]) == 10
    by_name = {f["name"]: f for f in constraints["features"]}
    assert by_name["region"]["string_constraints"]["domains"] == sorted(REGIONS)
    assert by_name["age"]["num_constraints"]["is_non_negative"] is True
    assert all(f["completeness"] == 1.0 for f in constraints["features"])
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    assert not (baseline / "constraint_violations.json").exists()


def test_capture_from_same_distribution_has_no_violations(baseline, tmp_path):
    result, root = monitor(tmp_path, baseline, rows(5000, seed=2))
    assert result.returncode == 0, result.stderr
    out = root / "opt/ml/processing/resultdata"
    assert json.loads((out / "constraint_violations.json").read_text()) == {"violations": []}
    stats = json.loads((out / "statistics.json").read_text())
    # The out-of-period events were skipped; captured CSV columns took the baseline's names.
    assert stats["dataset"]["item_count"] == 5000
    assert [f["name"] for f in stats["features"]] == COLUMNS
    metrics = [json.loads(line) for line in
               (root / "opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").read_text().splitlines()]
    drift = {m["MetricName"]: m["Value"] for m in metrics if m["MetricName"].startswith("feature_baseline_drift_")}
    assert set(drift) == {f"feature_baseline_drift_{c}" for c in COLUMNS}
    assert all(v < 0.1 for v in drift.values())


def test_shifted_capture_raises_drift_and_domain_violations(baseline, tmp_path):
    result, root = monitor(tmp_path, baseline, rows(5000, seed=3, score_shift=60, new_region=0.2))
    assert result.returncode == 0, result.stderr
    out = root / "opt/ml/processing/resultdata"
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    found = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    assert ("score", "baseline_drift_check") in found
    assert ("region", "categorical_values_check") in found
    assert not {name for name, _ in found} - {"score", "region", "prediction"}
    region = next(v for v in violations if v["constraint_check_type"] == "categorical_values_check")
    assert "mars" in region["description"]

    metrics = [json.loads(line) for line in
               (root / "opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").read_text().splitlines()]
    names = {m["MetricName"] for m in metrics}
    assert {"feature_baseline_drift_score", "feature_non_null_region", "feature_data_score"} <= names
    drift = next(m for m in metrics if m["MetricName"] == "feature_baseline_drift_score")
    assert drift["Value"] > 0.1
    assert drift["Dimensions"] == [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "hourly"}]
    data = next(m for m in metrics if m["MetricName"] == "feature_data_score")["StatisticValues"]
    assert data["SampleCount"] == 5000 and 650 < data["Sum"] / data["SampleCount"] < 670

    html = (out / "report.html").read_text()
    assert html.count("<svg") == len(COLUMNS)
    for column in COLUMNS:
        assert column in html
    assert "baseline_drift_check" in html and "categorical_values_check" in html and "violated" in html


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"dataset_format": json.dumps({"csv": {"header": True}})}, "dataset_source"),
        ({"dataset_format": "{csv: header", "dataset_source": "/opt/ml/processing/input"}, "dataset_format"),
        ({"dataset_format": json.dumps({"avro": {}}), "dataset_source": "/opt/ml/processing/input"}, "dataset_format"),
        ({"dataset_format": json.dumps({"csv": {}}), "dataset_source": "/opt/ml/processing/nowhere"}, "dataset_source"),
    ],
)
def test_bad_environment_fails_naming_the_variable(tmp_path, env, variable):
    (tmp_path / "opt/ml/processing/input").mkdir(parents=True)
    result = container(tmp_path, env)
    assert result.returncode == 2
    message = (tmp_path / "opt/ml/output/message").read_text()
    assert message.startswith("ClientError: ")
    assert variable in message
    assert variable in result.stderr


def test_headerless_csv_dataset_is_named_after_the_baseline(baseline, tmp_path):
    """A batch-transform style dataset (CSV, no header): columns take the baseline's names by
    position; with publish_cloudwatch_metrics Disabled no metric data is written."""
    data = tmp_path / "opt/ml/processing/input/batch/part-0.csv"
    data.parent.mkdir(parents=True)
    data.write_text("".join(",".join(r) + "\n" for r in rows(3000, seed=4)))
    base = tmp_path / "opt/ml/processing/baseline"
    base.mkdir(parents=True)
    (base / "statistics.json").write_text((baseline / "statistics.json").read_text())
    result = container(tmp_path, {
        "dataset_format": json.dumps({"csv": {"header": False}}),
        "dataset_source": "/opt/ml/processing/input/batch",
        "output_path": "/opt/ml/processing/output",
        "baseline_statistics": "/opt/ml/processing/baseline/statistics.json",
        "publish_cloudwatch_metrics": "Disabled",
    })
    assert result.returncode == 0, result.stderr
    out = tmp_path / "opt/ml/processing/output"
    assert json.loads((out / "constraint_violations.json").read_text()) == {"violations": []}
    assert [f["name"] for f in json.loads((out / "statistics.json").read_text())["features"]] == COLUMNS
    assert not (tmp_path / "opt/ml/output/metrics").exists()
