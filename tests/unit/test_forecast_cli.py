"""``charter forecast``: train a DeepAR model from local files, forecast, score and chart, as a person would.

The commands run through the real ``charter`` Typer app (``forecast`` mounted on it);
training runs the forecasting-deepar built-in in a temporary container root, so the model
it leaves in ``--model-dir`` is the one a training job would produce.
"""

from __future__ import annotations

import json
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from charter.analytics.forecasting.synthetic import electricity_like
from charter.cli.main import app

torch.set_num_threads(1)

P = 24
HYPERPARAMETERS = {"time_freq": "H", "prediction_length": P, "context_length": 24, "epochs": 1, "num_cells": 8,
                   "mini_batch_size": 32, "num_eval_samples": 20, "test_quantiles": [0.1, 0.5, 0.9]}


def charter(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """train.json (series without their last 24 points), test.json (full series), hyperparameters.json."""
    here = tmp_path_factory.mktemp("forecast")
    data = electricity_like(n_series=8, length=400)
    (here / "train.json").write_text("".join(json.dumps(r) + "\n" for r in data.records(cut=P)))
    (here / "test.json").write_text("".join(json.dumps(r) + "\n" for r in data.records()))
    (here / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))
    return here


@pytest.fixture(scope="module")
def trained(files):
    model = files / "model"
    status, output = charter("forecast", "train", "--train", files / "train.json", "--test", files / "test.json",
                             "--hyperparameters", files / "hyperparameters.json", "-p", "epochs=2",
                             "--model-dir", model, "--log", files / "training.log")
    assert status == 0, output
    return model, output


def test_train_saves_the_model_and_shows_progress_and_test_metrics(trained, files):
    model, output = trained
    assert sorted(p.name for p in model.iterdir()) == ["model.json", "model.pt"]
    summary = json.loads((model / "model.json").read_text())
    assert summary["hyperparameters"]["epochs"] == "2"  # -p wins over the file, passed as a string
    assert summary["epochs_run"] == 2
    assert re.search(r"Training DeepAR .* 2/2 epochs\s+loss \S+\s+best \S+ \(epoch \d\)", output)
    assert "Test metrics (8 series, last 24 points, 20 sample paths)" in output
    rmse = float(re.search(r"│ RMSE\s+│\s+(\S+) │", output)[1])
    assert rmse == pytest.approx(summary["test_metrics"]["RMSE"], rel=1e-5)
    for name in ("mean_wQuantileLoss", "wQuantileLoss[0.1]", "wQuantileLoss[0.9]"):
        assert name in output
    log = (files / "training.log").read_text()
    assert re.search(r"^#quality_metric: host=algo-1, train final_loss <loss>=\S+$", log, re.M)
    assert re.search(r"^#test_score \(algo-1, RMSE\): (\S+)$", log, re.M)


@pytest.mark.parametrize("args,message", [
    (["-p", "likelihood=poisson"], r"hyperparameter 'likelihood' must be one of"),
    (["-p", "epochs"], r"-p 'epochs': give a hyperparameter as name=value"),
    (["-p", "num_layer=3"], r"unknown hyperparameter 'num_layer' \(did you mean 'num_layers'\?\)"),
    (["-p", "prediction_length=-3"], r"'prediction_length' must be an integer ≥ 1 \(got -3\)"),
])
def test_train_refuses_bad_hyperparameters(files, tmp_path, args, message):
    status, output = charter("forecast", "train", "--train", files / "train.json", "--hyperparameters",
                             files / "hyperparameters.json", *args, "--model-dir", tmp_path / "model")
    assert status == 2
    assert re.search(message, output), output
    assert not (tmp_path / "model").exists()


def test_train_reports_bad_data_by_file_and_line(files, tmp_path):
    lines = (files / "train.json").read_text().splitlines()
    lines[3] = lines[3].replace('"start": "2014-01-01 00:00:00"', '"start": "01/01/2014"')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "part.json").write_text("\n".join(lines) + "\n")
    status, output = charter("forecast", "train", "--train", tmp_path / "data", "--hyperparameters",
                             files / "hyperparameters.json", "--model-dir", tmp_path / "model")
    assert status == 2
    assert "train/part.json line 4: 'start' \"01/01/2014\" is not a timestamp" in output


def test_predict_writes_forecasts_scores_them_and_draws_a_fan_chart(trained, files, tmp_path):
    model, _ = trained
    out, chart = tmp_path / "forecasts.jsonl", tmp_path / "fan.png"
    status, output = charter("forecast", "predict", "--model-dir", model, "--data", files / "train.json",
                             "--num-samples", 30, "--quantiles", "0.1,0.5,0.9", "--out", out, "--plot", chart,
                             "--actuals", files / "test.json")
    assert status == 0, output
    predictions = [json.loads(line) for line in out.read_text().splitlines()]
    history = [json.loads(line) for line in (files / "train.json").read_text().splitlines()]
    assert len(predictions) == len(history) == 8
    for prediction, series in zip(predictions, history):
        last = pd.Timestamp(series["start"]) + pd.Timedelta(hours=len(series["target"]) - 1)
        assert pd.Timestamp(prediction["start"]) == last + pd.Timedelta(hours=1)
        assert set(prediction) == {"start", "mean", "quantiles"}
        assert len(prediction["mean"]) == P
        assert list(prediction["quantiles"]) == ["0.1", "0.5", "0.9"]
        low, high = np.asarray(prediction["quantiles"]["0.1"]), np.asarray(prediction["quantiles"]["0.9"])
        assert (low <= high).all()
    assert "Accuracy against test.json" in output and "wQuantileLoss[0.5]" in output

    image = matplotlib.image.imread(chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = image.shape[:2]
    assert width >= 800 and height >= 600  # a 2 x 3 grid for six of the eight series
    assert image[..., :3].std() > 0.05  # something is drawn on it

    # The same command gives the same forecasts.
    again = tmp_path / "again.jsonl"
    charter("forecast", "predict", "--model-dir", model, "--data", files / "train.json", "--num-samples", 30,
            "--out", again)
    assert again.read_text() == out.read_text()


def test_predict_can_write_sample_paths(trained, files, tmp_path):
    model, _ = trained
    one = tmp_path / "one.json"
    one.write_text((files / "train.json").read_text().splitlines()[0] + "\n")
    status, output = charter("forecast", "predict", "--model-dir", model, "--data", one, "--num-samples", 12,
                             "--samples", "--quantiles", "0.25,0.75", "--out", tmp_path / "p.jsonl")
    assert status == 0, output
    (prediction,) = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert np.shape(prediction["samples"]) == (12, P)
    assert list(prediction["quantiles"]) == ["0.25", "0.75"]


@pytest.mark.parametrize("change,message", [
    (["--quantiles", "0.5,1.5"], r"--quantiles: '1.5' is not a quantile strictly between 0 and 1"),
    (["--data", "BAD"], r"bad.json line 2: target\[0\] = \"n/a\" is not a number"),
    (["--actuals", "SHORT"], r"--actuals has 1 series but --data has 8"),
])
def test_predict_refuses_bad_input(trained, files, tmp_path, change, message):
    model, _ = trained
    bad = tmp_path / "bad.json"
    bad.write_text('{"start": "2014-01-01", "target": [1, 2]}\n{"start": "2014-01-01", "target": ["n/a"]}\n')
    short = tmp_path / "short.json"
    short.write_text('{"start": "2014-01-01", "target": [1, 2]}\n')
    args = {"--data": files / "train.json", "--quantiles": "0.1,0.5,0.9"}
    option, value = change
    args[option] = {"BAD": bad, "SHORT": short}.get(value, value)
    flat = [str(x) for pair in args.items() for x in pair]
    status, output = charter("forecast", "predict", "--model-dir", model, *flat, "--out", tmp_path / "p.jsonl")
    assert status == 2
    assert re.search(message, output), output


def test_predict_refuses_a_directory_without_a_model(files, tmp_path):
    status, output = charter("forecast", "predict", "--model-dir", tmp_path, "--data", files / "train.json",
                             "--out", tmp_path / "p.jsonl")
    assert status == 2
    assert "does not hold a DeepAR model" in output
