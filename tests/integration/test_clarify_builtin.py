"""The built-in clarify image, run as a user runs it: as a container and from the terminal.

``charter container run clarify process --root DIR`` (what a processing job executes) and
``charter clarify run`` (what a person types) on an Adult-like dataset with a
scikit-learn model trained here.  The results are checked against Charter's own bias
and explanation kernels and for Clarify's analysis.json layout; the report must be a
real HTML page with charts and a real PDF.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import synthetic_credit  # noqa: E402  (the seeded Adult-like generator the kernels are tested on)

from charter.analytics.bias import POSTTRAINING_METRICS, PRETRAINING_METRICS, posttraining, pretraining  # noqa: E402

COLUMNS = ["age", "sex", "race", "education_num", "hours_per_week", "occupation", "capital_gain", "income"]
FEATURES = COLUMNS[:-1]
CATEGORICAL = ["sex", "race", "occupation"]

CONFIG = {
    "dataset_type": "text/csv",
    "label": "income",
    "label_values_or_threshold": [">50K"],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["Female"]}],
    "group_variable": "occupation",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": "all"},
        "shap": {"num_samples": 64, "num_clusters": 4, "seed": 11, "save_local_shap_values": True},
        "pdp": {"top_k_features": 3, "grid_resolution": 8},
        "report": {"name": "report", "title": "Adult income model: bias and explainability"},
    },
}


def charter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "charter.cli.main", *args],
        capture_output=True, text=True, timeout=180, cwd=cwd, env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """The dataset (CSV with a header row), and a model trained on it, saved with joblib."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    source = synthetic_credit.adult(n=500, seed=2024)
    frame = pd.DataFrame({c: source[c] for c in COLUMNS})
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            (StandardScaler(), [c for c in FEATURES if c not in CATEGORICAL]),
        ),
        LogisticRegression(max_iter=1000),
    ).fit(frame[FEATURES], frame["income"])
    files = tmp_path_factory.mktemp("adult")
    frame.to_csv(files / "adult.csv", index=False)
    joblib.dump(model, files / "income_model.joblib")
    return frame, model, files


def container_root(tmp_path: Path, adult, config: dict) -> Path:
    """A processing container root laid out as SageMaker lays out Clarify's inputs."""
    frame, model, files = adult
    inputs = tmp_path / "opt/ml/processing/input"
    (inputs / "config").mkdir(parents=True)
    (inputs / "config/analysis_config.json").write_text(json.dumps(config))
    (inputs / "data").mkdir()
    (inputs / "data/adult.csv").write_bytes((files / "adult.csv").read_bytes())
    (inputs / "model").mkdir()
    (inputs / "model/model.joblib").write_bytes((files / "income_model.joblib").read_bytes())
    return tmp_path


def positive_probability(model, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame[FEATURES])[:, list(model.classes_).index(">50K")]


def test_container_process_writes_clarify_analysis_and_report(tmp_path, adult):
    frame, model, _ = adult
    root = container_root(tmp_path, adult, {**CONFIG, "predictor": {"model_name": "adult-income"}})

    result = charter("container", "run", "clarify", "process", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert "[clarify] SHAP values done" in result.stdout

    output = root / "opt/ml/processing/output"
    analysis = json.loads((output / "analysis.json").read_text())
    assert set(analysis) == {"version", "pre_training_bias_metrics", "post_training_bias_metrics", "explanations"}
    assert analysis["version"] == "1.0"

    # Bias: Clarify's layout, values equal to the kernels' own on the raw columns.
    label, facet = frame["income"].to_numpy(dtype=object), frame["sex"].to_numpy(dtype=object)
    pre = analysis["pre_training_bias_metrics"]
    assert pre["label"] == "income" and pre["label_value_or_threshold"] == ">50K"
    assert list(pre["facets"]) == ["sex"]
    (group,) = pre["facets"]["sex"]
    assert group["value_or_threshold"] == "Female"
    assert [m["name"] for m in group["metrics"]] == sorted(PRETRAINING_METRICS)
    values = {m["name"]: m["value"] for m in group["metrics"]}
    expected = pretraining(label, facet, label_values_or_threshold=[">50K"], facet_values_or_threshold=["Female"],
                           group_variable=frame["occupation"].to_numpy(dtype=object))
    for name in ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"):
        assert values[name] == pytest.approx(expected[name], abs=1e-12), name
    assert values["CI"] == pytest.approx(1 - 2 * np.mean(facet == "Female"))

    post = analysis["post_training_bias_metrics"]
    assert post["label"] == "income" and list(post["facets"]) == ["sex"]
    metrics = {m["name"]: m for m in post["facets"]["sex"][0]["metrics"]}
    assert set(metrics) == set(POSTTRAINING_METRICS)
    predicted = np.where(positive_probability(model, frame) > 0.5, ">50K", "<=50K").astype(object)
    expected_post = posttraining(label, predicted, facet, label_values_or_threshold=[">50K"],
                                 facet_values_or_threshold=["Female"], methods=["DPPL", "DI", "AD", "RD"])
    for name, value in expected_post.items():
        assert metrics[name]["value"] == pytest.approx(value, abs=1e-12), name

    # Explanations: every feature, and local values that add up to each prediction.
    shap = analysis["explanations"]["kernel_shap"]
    assert list(shap) == ["label0"]
    assert set(shap["label0"]) == {"global_shap_values", "expected_value"}
    assert list(shap["label0"]["global_shap_values"]) == FEATURES
    assert all(v >= 0 for v in shap["label0"]["global_shap_values"].values())  # mean_abs
    local = pd.read_csv(output / "explanations_shap/out.csv")
    assert list(local.columns) == FEATURES and len(local) == len(frame)
    reconstructed = local.sum(axis=1).to_numpy() + shap["label0"]["expected_value"]
    np.testing.assert_allclose(reconstructed, positive_probability(model, frame), atol=1e-6)
    assert len(pd.read_csv(output / "explanations_shap/baseline.csv", header=None)) == 4

    pdp = analysis["explanations"]["pdp"]
    top = sorted(shap["label0"]["global_shap_values"].items(), key=lambda kv: -kv[1])[:3]
    assert [p["feature_name"] for p in pdp] == [name for name, _ in top]
    for entry in pdp:
        assert set(entry) == {"feature_name", "data_type", "feature_values", "data_distribution", "model_predictions", "label_headers"}
        assert entry["label_headers"] == ["label0"]
        assert len(entry["model_predictions"][0]) == len(entry["feature_values"]) == len(entry["data_distribution"])
        assert sum(entry["data_distribution"]) == pytest.approx(1.0)
        if entry["feature_name"] in CATEGORICAL:
            assert entry["data_type"] == "categorical"
            assert set(entry["feature_values"]) == set(frame[entry["feature_name"]])
        else:
            assert entry["data_type"] == "numerical"
            assert all(isinstance(v, (int, float)) for v in entry["feature_values"])

    # The report: charts in the page, a PDF whose text names the facet.
    html = (output / "report.html").read_text()
    assert html.count("<svg") >= 1 + 1 + 1 + len(pdp)  # pre, post, SHAP, one per PDP feature
    assert "Adult income model: bias and explainability" in html and "Facet sex" in html
    pdf = (output / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert "Facet sex" in text and "Female" in text and "Class Imbalance (CI)" in text
    assert not (root / "opt/ml/output/message").exists()


def test_terminal_run_stages_relative_paths_and_copies_the_results(tmp_path, adult):
    frame, _, files = adult
    config = {**CONFIG, "methods": {k: v for k, v in CONFIG["methods"].items() if k != "pdp"},
              "predictor": {"model_path": "income_model.joblib"}}  # relative to the config file
    config_path = files / "analysis_config.json"
    config_path.write_text(json.dumps(config))
    out = tmp_path / "results"

    result = charter("clarify", "run", "--config", str(config_path), "--data", str(files / "adult.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    for stage in ("Load data", "Get predictions", "Pre-training bias", "Post-training bias", "SHAP values", "Report"):
        assert stage in result.stderr
    assert "skipped" in result.stderr  # partial dependence was not asked for
    assert str(out / "analysis.json") in result.stdout and str(out / "report.pdf") in result.stdout

    analysis = json.loads((out / "analysis.json").read_text())
    assert "pdp" not in analysis["explanations"]
    ci = {m["name"]: m["value"] for m in analysis["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}["CI"]
    assert ci == pytest.approx(1 - 2 * np.mean(frame["sex"] == "Female"))
    assert (out / "report.html").stat().st_size > 0 and (out / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_a_bad_config_fails_the_container_naming_the_field(tmp_path, adult):
    config = json.loads(json.dumps(CONFIG))
    config["methods"]["shap"]["agg_method"] = "max"
    root = container_root(tmp_path, adult, config)

    result = charter("container", "run", "clarify", "process", "--root", str(root))
    expected = "analysis_config.json: methods.shap.agg_method must be one of mean_abs, median, mean_sq (got 'max')"
    assert result.returncode != 0
    assert expected in result.stderr
    # The processing job's ExitMessage comes from /opt/ml/output/message.
    assert (root / "opt/ml/output/message").read_text() == f"ClientError: {expected}"
    assert not (root / "opt/ml/processing/output/analysis.json").exists()


def test_a_bad_config_fails_the_terminal_run_naming_the_field(tmp_path, adult):
    _, _, files = adult
    config_path = tmp_path / "analysis_config.json"
    config_path.write_text(json.dumps({**CONFIG, "predictor": {"endpoint_name": "income-endpoint"}}))
    result = charter("clarify", "run", "--config", str(config_path), "--data", str(files / "adult.csv"),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "predictor.endpoint_name" in result.stderr and "endpoints are not available yet" in result.stderr
    assert "--model" in result.stderr
    assert not (tmp_path / "out").exists()

    config_path.write_text(json.dumps({**CONFIG, "facet": [{"name_or_index": "gender", "value_or_threshold": ["F"]}]}))
    result = charter("clarify", "run", "--config", str(config_path), "--data", str(files / "adult.csv"),
                     "--model", str(files / "income_model.joblib"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "facet[0].name_or_index names column 'gender', which the dataset does not have" in result.stderr


def test_unknown_images_and_commands_are_refused(tmp_path):
    result = charter("container", "run", "no-such-image", "process", "--root", str(tmp_path))
    assert result.returncode == 2 and "the built-in images are: clarify" in result.stderr
    result = charter("container", "run", "clarify", "train", "--root", str(tmp_path))
    assert result.returncode == 2 and "it supports: process" in result.stderr
