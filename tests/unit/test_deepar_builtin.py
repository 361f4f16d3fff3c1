"""The forecasting-deepar built-in, run as SageMaker runs it: a training container and a serving container.

Training runs on a container root laid out like ``/opt/ml`` (specs/containers.md) through
``charter.builtins.run`` (what ``charter container run`` calls); its log must carry the
lines of specs/deepar.md section 3 and parse with the spec's regexes, and the numbers in
them must be the kernel's.  Every bad input must fail the job with ``ClientError: ...``
(exit status 2) naming what is wrong.  Serving starts the real HTTP server in a
subprocess and speaks to it over the wire (section 4 of the spec).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from charter import builtins
from charter.analytics.forecasting.deepar import DeepAR, Series
from charter.analytics.forecasting.frequency import parse_frequency
from charter.analytics.forecasting.metrics import accuracy
from charter.analytics.forecasting.synthetic import electricity_like
from charter.builtins import ClientError
from charter.builtins.forecasting_deepar import channels, hyperparameters
from charter.builtins.forecasting_deepar.inference import Forecaster, InferenceConfig, forecast_start

torch.set_num_threads(1)

IMAGE = "forecasting-deepar"
P = 24
HYPERPARAMETERS = {
    "time_freq": "H",
    "prediction_length": str(P),
    "context_length": "24",
    "epochs": "2",
    "num_cells": "8",
    "mini_batch_size": "32",
    "num_eval_samples": "20",
    "test_quantiles": "[0.1, 0.5, 0.9]",
}

# The regexes specs/deepar.md section 3 gives for MetricDefinitions.
TEST_RMSE = re.compile(r"#test_score \(algo-1, RMSE\): (\S+)")
TEST_MEAN_WQL = re.compile(r"#test_score \(algo-1, mean_wQuantileLoss\): (\S+)")
TEST_WQL_01 = re.compile(r"#test_score \(algo-1, wQuantileLoss\[0\.1\]\): (\S+)")
TRAIN_FINAL_LOSS = re.compile(r"#quality_metric: host=\S+, train final_loss <loss>=(\S+)")


@pytest.fixture(scope="module")
def electricity():
    return electricity_like(n_series=8, length=400)


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def container(root: Path, hyperparameters: dict, train: str | None, test: str | None = None,
              train_name: str = "train.json", inputdataconfig: dict | None = None) -> Path:
    """A training container root: config files and the channels' data."""
    config = root / "opt/ml/input/config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    if inputdataconfig is not None:
        (config / "inputdataconfig.json").write_text(json.dumps(inputdataconfig))
    for name, text in (("train", train), ("test", test)):
        if text is not None:
            channel = root / "opt/ml/input/data" / name
            channel.mkdir(parents=True)
            (channel / (train_name if name == "train" else "test.json")).write_text(text)
    return root


def run_container(root: Path, command: str = "train") -> tuple[int, str]:
    """Run the built-in in-process as ``charter container run`` does; (exit status, stdout)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = builtins.run(IMAGE, command, root)
    return status, stdout.getvalue()


def failure(root: Path) -> str:
    return (root / "opt/ml/output/failure").read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, electricity):
    """A job trained on the series without their last 24 points, tested on the full series."""
    root = container(tmp_path_factory.mktemp("trained"), HYPERPARAMETERS,
                     jsonl(electricity.records(cut=P)), jsonl(electricity.records()))
    status, log = run_container(root)
    assert status == 0, log
    return root, log


# --- training ---------------------------------------------------------------------


def test_training_log_has_sagemakers_lines_and_they_parse(trained, electricity):
    root, log = trained
    lines = log.splitlines()

    epochs = [re.fullmatch(r"Epoch\[(\d+)\] Batch\[(\d+)\] avg_epoch_loss=(\S+)", line) for line in lines]
    epochs = [m for m in epochs if m]
    assert {int(m[1]) for m in epochs} == {0, 1}
    assert all(math.isfinite(float(m[3])) for m in epochs)
    verdicts = [line for line in lines if line in ("best epoch loss so far", "loss did not improve")]
    assert len(verdicts) == 2 and verdicts[0] == "best epoch loss so far"

    epoch_losses = [float(m[1]) for m in map(re.compile(r"#quality_metric: host=algo-1, epoch=\d+, train loss <loss>=(\S+)").search, lines) if m]
    final = re.search(r"^Final loss: (\S+) \(occurred at epoch (\d+)\)$", log, re.M)
    assert final is not None
    assert float(final[1]) == pytest.approx(min(epoch_losses), abs=1e-6)
    assert int(final[2]) == int(np.argmin(epoch_losses))
    assert float(TRAIN_FINAL_LOSS.search(log)[1]) == float(final[1])

    assert "Evaluating model accuracy on testset using 20 samples" in lines
    rmse, mean_wql, wql_01 = (float(r.search(log)[1]) for r in (TEST_RMSE, TEST_MEAN_WQL, TEST_WQL_01))
    for q in ("0.5", "0.9"):
        assert re.search(rf"#test_score \(algo-1, wQuantileLoss\[{re.escape(q)}\]\): \S+", log)
    assert "wQuantileLoss[0.2]" not in log  # only the test_quantiles asked for
    assert re.search(r"#test_score \(algo-1, mean_absolute_QuantileLoss\): \S+", log)
    assert float(re.search(r"#quality_metric: host=algo-1, test RMSE <loss>=(\S+)", log)[1]) == rmse

    # The logged test scores are the kernel's metrics of the saved model's forecasts.
    model = DeepAR.from_state(torch.load(root / "opt/ml/model/model.pt", weights_only=True))
    full = [np.asarray(r["target"], dtype=float) for r in electricity.records()]  # as written to the channel
    histories = [Series(start, values[:-P]) for start, values in zip(electricity.starts, full)]
    samples = model.forecast(histories, num_samples=20, seed=0)
    expected = accuracy(np.stack([values[-P:] for values in full]), samples, quantiles=(0.1, 0.5, 0.9))
    assert rmse == pytest.approx(expected["RMSE"], rel=1e-9)
    assert mean_wql == pytest.approx(expected["mean_wQuantileLoss"], rel=1e-9)
    assert wql_01 == pytest.approx(expected["wQuantileLoss[0.1]"], rel=1e-9)

    summary = json.loads((root / "opt/ml/model/model.json").read_text())
    assert summary["time_freq"] == "H" and summary["prediction_length"] == P
    assert summary["cardinality"] == [] and summary["num_dynamic_feat"] == 0
    assert summary["test_metrics"]["RMSE"] == pytest.approx(rmse, rel=1e-9)


def test_host_name_comes_from_resourceconfig(tmp_path, electricity):
    root = container(tmp_path, {**HYPERPARAMETERS, "epochs": "1"}, jsonl(electricity.records(cut=P)))
    (root / "opt/ml/input/config/resourceconfig.json").write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    status, log = run_container(root)
    assert status == 0
    assert re.search(r"^#quality_metric: host=algo-2, train final_loss <loss>=\S+$", log, re.M)
    assert "#test_score" not in log  # no test channel, no evaluation


def test_same_seed_same_data_same_forecasts(tmp_path, trained, electricity):
    again = container(tmp_path / "again", HYPERPARAMETERS, jsonl(electricity.records(cut=P)))
    assert run_container(again)[0] == 0
    history = [Series(pd.Timestamp(s), v[:-P]) for s, v in zip(electricity.starts, electricity.values)][:3]
    config = InferenceConfig(num_samples=10, output_types=("mean", "samples"))
    first = Forecaster.load(trained[0] / "opt/ml/model").predict(history, config)
    second = Forecaster.load(again / "opt/ml/model").predict(history, config)
    assert first == second
    # A series gets the same paths alone as in a batch, and the same paths every time.
    alone = Forecaster.load(again / "opt/ml/model").predict(history[1:2], config)
    assert alone[0] == second[1]

    other = tmp_path / "other"
    container(other, HYPERPARAMETERS, jsonl(electricity.records(cut=P)))
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        from charter.builtins.forecasting_deepar import train

        train(other, seed=7)
    assert Forecaster.load(other / "opt/ml/model").predict(history, config) != first


def test_categories_and_dynamic_features_are_learned_and_required_at_inference(tmp_path, electricity):
    records = electricity.records(cut=P)
    for i, record in enumerate(records):
        record["cat"] = [i % 3, i % 2]
        n = len(record["target"])
        record["dynamic_feat"] = [[float(t % 24 == 18) for t in range(n)]]
    root = container(tmp_path, HYPERPARAMETERS, jsonl(records))
    status, log = run_container(root)
    assert status == 0, log
    forecaster = Forecaster.load(root / "opt/ml/model")
    assert forecaster.summary.cardinality == [3, 2]  # auto: max + 1 per feature
    assert forecaster.summary.num_dynamic_feat == 1

    instance = {"start": records[0]["start"], "target": records[0]["target"][-48:], "cat": [1, 0],
                "dynamic_feat": [[0.0] * (48 + P)]}
    document = forecaster.answer_json(json.dumps({"instances": [instance]}))
    assert len(document["predictions"][0]["mean"]) == P
    with pytest.raises(ClientError, match=r"instances\[0\]: the model was trained with 2 categorical"):
        forecaster.answer_json(json.dumps({"instances": [{**instance, "cat": [1]}]}))
    with pytest.raises(ClientError, match=r"instances\[0\]: cat\[0\] = 3 was not seen in training"):
        forecaster.answer_json(json.dumps({"instances": [{**instance, "cat": [3, 0]}]}))
    with pytest.raises(ClientError, match=r"instances\[0\]: dynamic_feat\[0\] has 48 values, too few to cover the 48 target points and the 24 forecast points \(needs 72\)"):
        forecaster.answer_json(json.dumps({"instances": [{**instance, "dynamic_feat": [[0.0] * 48]}]}))
    with pytest.raises(ClientError, match=r"instances\[0\]: the model was trained with 1 dynamic feature"):
        forecaster.answer_json(json.dumps({"instances": [{k: v for k, v in instance.items() if k != "dynamic_feat"}]}))


def test_cardinality_ignore_drops_cat(tmp_path, electricity):
    records = electricity.records(cut=P)
    for i, record in enumerate(records):
        record["cat"] = [i] if i % 2 else [i, i]  # inconsistent, but ignored
    root = container(tmp_path, {**HYPERPARAMETERS, "epochs": "1", "cardinality": "ignore", "num_dynamic_feat": ""},
                     jsonl(records))
    status, _ = run_container(root)
    assert status == 0, failure(root)
    assert json.loads((root / "opt/ml/model/model.json").read_text())["cardinality"] == []


# --- bad input: the job fails with a ClientError that names the problem ------------


def good_records(electricity, cut=P):
    return electricity.records(cut=cut)


def with_line(records, index, change):
    records = [dict(r) for r in records]
    records[index] = change(records[index])
    return records


BAD_HYPERPARAMETERS = [
    ({**HYPERPARAMETERS, "epoch": "2"}, r"unknown hyperparameter 'epoch' \(did you mean 'epochs'\?\).*time_freq"),
    ({k: v for k, v in HYPERPARAMETERS.items() if k != "context_length"}, r"missing required hyperparameter 'context_length'"),
    ({**HYPERPARAMETERS, "prediction_length": "0"}, r"'prediction_length' must be an integer ≥ 1 \(got 0\)"),
    ({**HYPERPARAMETERS, "epochs": "two"}, r"'epochs' must be an integer ≥ 1 \(got 'two'\)"),
    ({**HYPERPARAMETERS, "dropout_rate": "1.5"}, r"'dropout_rate' must be a number in \[0, 1\) \(got 1.5\)"),
    ({**HYPERPARAMETERS, "learning_rate": "0"}, r"'learning_rate' must be a number in \(0, 1\]"),
    ({**HYPERPARAMETERS, "likelihood": "poisson"}, r"'likelihood' must be one of gaussian, student-T, negative-binomial, beta, deterministic-L1 \(got 'poisson'\)"),
    ({**HYPERPARAMETERS, "time_freq": "3Q"}, r"time_freq '3Q' is not a valid frequency"),
    ({**HYPERPARAMETERS, "cardinality": "[0]"}, r"'cardinality' must be 'auto', 'ignore'"),
    ({**HYPERPARAMETERS, "num_dynamic_feat": "-1"}, r"'num_dynamic_feat' must be 'auto', 'ignore'"),
    ({**HYPERPARAMETERS, "test_quantiles": "[0.5, 1.0]"}, r"'test_quantiles' must be a JSON list of numbers strictly between 0 and 1"),
    ({**HYPERPARAMETERS, "early_stopping_patience": "0"}, r"'early_stopping_patience' must be an integer ≥ 1"),
]


@pytest.mark.parametrize("hps,message", BAD_HYPERPARAMETERS, ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_hyperparameters_fail_the_job(tmp_path, electricity, hps, message):
    root = container(tmp_path, hps, jsonl(good_records(electricity)))
    status, _ = run_container(root)
    assert status == 2
    reason = failure(root)
    assert reason.startswith("ClientError: ")
    assert re.search(message, reason), reason


def _bad_json_line(records):
    text = jsonl(records).splitlines()
    text[1] = text[1][:40]
    return "\n".join(text) + "\n"


BAD_DATA = {
    "bad JSON line": (lambda r: _bad_json_line(r), {}, r"train/train.json line 2: is not valid JSON"),
    "bad start": (lambda r: jsonl(with_line(r, 2, lambda x: {**x, "start": "2014/01/01"})), {},
                  r"train/train.json line 3: 'start' \"2014/01/01\" is not a timestamp; use 'YYYY-MM-DD HH:MM:SS'"),
    "start with a time zone": (lambda r: jsonl(with_line(r, 0, lambda x: {**x, "start": "2014-01-01 00:00:00+01:00"})), {},
                               r"train/train.json line 1: 'start' .* is not a timestamp"),
    "non-numeric target": (lambda r: jsonl(with_line(r, 0, lambda x: {**x, "target": [1.0, "high", 2.0] * 50})), {},
                           r"train/train.json line 1: target\[1\] = \"high\" is not a number"),
    "cat count mismatch": (lambda r: jsonl([{**x, "cat": [0] if i != 3 else [0, 1]} for i, x in enumerate(r)]), {},
                           r"train/train.json line 4: 'cat' has 2 value\(s\), but train/train.json line 1 has 1"),
    "negative cat": (lambda r: jsonl(with_line(r, 1, lambda x: {**x, "cat": [-1]})), {},
                     r"train/train.json line 2: cat\[0\] = -1 is not a non-negative integer"),
    "dynamic_feat too short": (lambda r: jsonl([{**x, "dynamic_feat": [[0.5] * (len(x["target"]) - (i == 5))]}
                                                for i, x in enumerate(r)]), {},
                               r"train/train.json line 6: dynamic_feat\[0\] has 375 values, too few to cover the 376 target points"),
    "dynamic_feat with a gap": (lambda r: jsonl(with_line(r, 0, lambda x: {**x, "dynamic_feat": [[None] * len(x["target"])]})), {},
                                r"line 1: dynamic_feat\[0\]\[0\] = null is not a number \(missing values are not allowed here\)"),
    "too little data": (lambda r: jsonl([{**r[0], "target": r[0]["target"][:200]}, {**r[1], "target": r[1]["target"][:20]}]), {},
                        r"the train channel has 200 observed points .* DeepAR needs at least 300"),
    "explicit cardinality too small": (lambda r: jsonl([{**x, "cat": [i]} for i, x in enumerate(r)]), {"cardinality": "[4]"},
                                       r"'cardinality'\[0\] is 4, but the train channel has cat\[0\] = 7"),
    "cardinality without cat": (lambda r: jsonl(r), {"cardinality": "[4]"},
                                r"'cardinality' is \[4\], but the series in the train channel have no 'cat' field"),
    "num_dynamic_feat mismatch": (lambda r: jsonl(r), {"num_dynamic_feat": "2"},
                                  r"'num_dynamic_feat' is 2, but the series in the train channel have 0 dynamic_feat"),
    "negative counts": (lambda r: jsonl(with_line(r, 4, lambda x: {**x, "target": [-1.0] + x["target"][1:]})),
                        {"likelihood": "negative-binomial"},
                        r"train/train.json line 5: the negative-binomial likelihood needs non-negative targets"),
    "beta outside [0, 1]": (lambda r: jsonl(r), {"likelihood": "beta"},
                            r"train/train.json line 1: the beta likelihood needs targets in \[0, 1\]"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_training_data_fails_the_job_naming_file_and_line(tmp_path, electricity, case):
    make, extra, message = BAD_DATA[case]
    root = container(tmp_path, {**HYPERPARAMETERS, **extra}, make(good_records(electricity)))
    status, _ = run_container(root)
    assert status == 2
    reason = failure(root)
    assert reason.startswith("ClientError: "), reason
    assert re.search(message, reason), reason


def test_missing_train_channel_and_unknown_channel(tmp_path, electricity):
    root = container(tmp_path / "a", HYPERPARAMETERS, None, jsonl(good_records(electricity, 0)))
    assert run_container(root)[0] == 2
    assert "there is no 'train' channel" in failure(root)

    root = container(tmp_path / "b", HYPERPARAMETERS, jsonl(good_records(electricity)),
                     inputdataconfig={"train": {"TrainingInputMode": "File"}, "validation": {"TrainingInputMode": "File"}})
    assert run_container(root)[0] == 2
    assert "unknown channel 'validation'" in failure(root)

    root = container(tmp_path / "c", HYPERPARAMETERS, jsonl(good_records(electricity)),
                     inputdataconfig={"train": {"TrainingInputMode": "Pipe"}})
    assert run_container(root)[0] == 2
    assert "input mode 'Pipe' is not supported" in failure(root)


def test_test_series_must_carry_the_trained_features(tmp_path, electricity):
    train = [{**x, "cat": [i % 2]} for i, x in enumerate(good_records(electricity))]
    test = [{**x, "cat": [i % 3]} for i, x in enumerate(good_records(electricity, 0))]
    root = container(tmp_path, {**HYPERPARAMETERS, "epochs": "1"}, jsonl(train), jsonl(test))
    assert run_container(root)[0] == 2
    assert re.search(r"test/test.json line 3: cat\[0\] = 2 was not seen in training", failure(root))


# --- channels: files, trees, formats ----------------------------------------------


def test_channel_tree_reads_every_format_and_skips_hidden_files_and_markers(tmp_path, electricity):
    records = good_records(electricity)
    channel = tmp_path / "train"
    (channel / "part-a").mkdir(parents=True)
    (channel / "part-a" / "one.json").write_text(jsonl(records[:2]))
    with gzip.open(channel / "part-a" / "two.json.gz", "wt") as f:
        f.write(jsonl(records[2:4]))
    frame = pd.DataFrame({"start": [pd.Timestamp(r["start"]) for r in records[4:6]],
                          "target": [[np.nan if v is None else v for v in r["target"]] for r in records[4:6]]})
    frame.to_parquet(channel / "three.parquet")
    frame.to_parquet(channel / "no-extension")  # format from the channel's ContentType
    (channel / ".hidden.json").write_text("not json at all")
    (channel / "_SUCCESS").write_text("")
    (channel / ".cache").mkdir()
    (channel / ".cache" / "x.json").write_text("garbage")

    dataset = channels.read_channel(tmp_path, "train", parse_frequency("H"), content_type="application/x-parquet")
    assert len(dataset) == 8
    assert dataset.where[0] == "train/no-extension row 1"
    assert "train/part-a/two.json.gz line 2" in dataset.where
    expected = np.asarray([np.nan if v is None else v for v in records[4]["target"]])
    np.testing.assert_array_equal(dataset.series[0].target, expected)

    with pytest.raises(ClientError, match=r"ContentType 'text/csv' is not one DeepAR reads"):
        channels.read_channel(tmp_path, "train", parse_frequency("H"), content_type="text/csv")


def test_records_accept_missing_values_and_put_start_on_the_grid():
    monthly = parse_frequency("M")
    series = channels.parse_record({"start": "2020-01-15", "target": [1, "NaN", None, 4.5]}, "line 1", monthly)
    assert series.start == pd.Timestamp("2020-01-01")
    np.testing.assert_array_equal(np.isnan(series.target), [False, True, True, False])
    assert forecast_start(series.start, len(series.target), monthly) == pd.Timestamp("2020-05-01")
    hourly = parse_frequency("H")
    start = channels.parse_record({"start": "2014-01-01 05:00:00", "target": [1.0] * 10}, "line 1", hourly).start
    assert forecast_start(start, 10, hourly) == pd.Timestamp("2014-01-01 15:00:00")
    weekly = parse_frequency("W")  # a Wednesday series stays on Wednesdays
    assert forecast_start(pd.Timestamp("2020-01-01"), 3, weekly) == pd.Timestamp("2020-01-22")
    with pytest.raises(ClientError, match=r"line 1: the series has no 'target' field"):
        channels.parse_record({"start": "2014-01-01"}, "line 1", hourly)


def test_hyperparameter_defaults_follow_the_spec():
    hp = hyperparameters.parse({"time_freq": "5min", "prediction_length": "12", "context_length": "36", "epochs": "10",
                                "_tuning_objective_metric": "test:RMSE"})
    assert (hp.time_freq, hp.prediction_length, hp.context_length, hp.epochs) == ("5min", 12, 36, 10)
    assert (hp.likelihood, hp.num_cells, hp.num_layers, hp.dropout_rate, hp.embedding_dimension) == ("student-T", 40, 2, 0.1, 10)
    assert (hp.cardinality, hp.num_dynamic_feat, hp.learning_rate, hp.mini_batch_size) == ("auto", "auto", 1e-3, 128)
    assert hp.early_stopping_patience is None and hp.num_eval_samples == 100
    assert hp.test_quantiles == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    explicit = hyperparameters.parse({**HYPERPARAMETERS, "cardinality": "[3, 10]", "num_dynamic_feat": "2",
                                      "likelihood": "gaussian", "early_stopping_patience": "5"})
    assert explicit.cardinality == (3, 10) and explicit.num_dynamic_feat == 2 and explicit.early_stopping_patience == 5


def test_the_image_takes_the_models_defaults_from_the_kernel():
    import dataclasses

    from charter.analytics.forecasting.deepar import DeepARConfig

    kernel = {f.name: f.default for f in dataclasses.fields(DeepARConfig) if f.default is not dataclasses.MISSING}
    image = {f.name: f.default for f in dataclasses.fields(hyperparameters.Hyperparameters)}
    shared = set(kernel) & set(image) - {"cardinality", "num_dynamic_feat"}  # 'auto' until the data is read
    assert shared >= {"likelihood", "num_cells", "num_layers", "dropout_rate", "embedding_dimension",
                      "learning_rate", "mini_batch_size", "early_stopping_patience"}
    assert {name: image[name] for name in shared} == {name: kernel[name] for name in shared}


# --- serving ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, str, str]:
    """(status, content type, body text) of one HTTP request."""
    headers = {"Content-Type": content_type} if body is not None else {}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


JSONLINES_CONFIG = {"num_samples": 5, "output_types": ["mean", "samples"]}


@pytest.fixture(scope="module")
def endpoint(trained):
    """``charter container run forecasting-deepar serve`` on the trained model, on a free port."""
    root, _ = trained
    port = free_port()
    env = {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "DEEPAR_INFERENCE_CONFIG": json.dumps(JSONLINES_CONFIG),
           "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "charter.cli.main", "container", "run", IMAGE, "serve",
                                "--root", str(root)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if request(url + "/ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def instances(electricity, count=2):
    return [{"start": r["start"], "target": r["target"][-100:-P]} for r in electricity.records()[:count]]


def test_ping_is_healthy_with_an_empty_body(endpoint):
    assert request(endpoint + "/ping")[::2] == (200, "")


def test_invocations_json_returns_each_output_type_with_the_right_shapes(endpoint, electricity):
    series = instances(electricity)
    body = {"instances": series, "configuration": {"num_samples": 7, "output_types": ["mean", "quantiles", "samples"],
                                                  "quantiles": ["0.5", "0.9"]}}
    status, content_type, text = request(endpoint + "/invocations", json.dumps(body).encode())
    assert status == 200, text
    assert content_type.startswith("application/json")
    predictions = json.loads(text)["predictions"]
    assert len(predictions) == 2
    for prediction in predictions:
        assert set(prediction) == {"mean", "quantiles", "samples"}
        assert len(prediction["mean"]) == P
        assert list(prediction["quantiles"]) == ["0.5", "0.9"]
        assert all(len(v) == P for v in prediction["quantiles"].values())
        assert np.shape(prediction["samples"]) == (7, P)
        samples = np.asarray(prediction["samples"])
        np.testing.assert_allclose(prediction["mean"], samples.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(prediction["quantiles"]["0.9"], np.quantile(samples, 0.9, axis=0), rtol=1e-6)
        assert all(hi >= lo for lo, hi in zip(prediction["quantiles"]["0.5"], prediction["quantiles"]["0.9"]))

    # No configuration: mean and the nine deciles, 100 samples' worth; the same request gets the same answer.
    plain = json.dumps({"instances": series[:1]}).encode()
    status, _, text = request(endpoint + "/invocations", plain)
    prediction = json.loads(text)["predictions"][0]
    assert status == 200 and set(prediction) == {"mean", "quantiles"}
    assert list(prediction["quantiles"]) == [f"0.{i}" for i in range(1, 10)]
    assert request(endpoint + "/invocations", plain)[2] == text


def test_invocations_json_lines_use_the_environment_configuration(endpoint, electricity):
    series = instances(electricity, 3)
    status, content_type, text = request(endpoint + "/invocations", jsonl(series).encode(), "application/jsonlines")
    assert status == 200, text
    assert content_type.startswith("application/jsonlines")
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert set(line) == {"mean", "samples"} and np.shape(line["samples"]) == (5, P)
    # The same series sent as JSON with the same configuration gets the same forecast.
    single = {"instances": [series[2]], "configuration": JSONLINES_CONFIG}
    assert json.loads(request(endpoint + "/invocations", json.dumps(single).encode())[2])["predictions"][0] == lines[2]


@pytest.mark.parametrize("body,content_type,status,message", [
    ({"instances": [{"start": "2014-01-01 00:00:00", "target": [1.0, "x"]}]}, "application/json", 400,
     r'instances\[0\]: target\[1\] = "x" is not a number'),
    ({"instances": [{"target": [1.0]}]}, "application/json", 400, r"instances\[0\]: the series has no 'start' field"),
    ({"series": []}, "application/json", 400, r'must be a JSON object \{"instances"'),
    ({"instances": [], "configuration": {"output_types": ["median"]}}, "application/json", 400,
     r"configuration.output_types: 'median' is not one of mean, quantiles, samples"),
    ({"instances": [], "configuration": {"quantiles": ["1.5"]}}, "application/json", 400,
     r'configuration.quantiles: "1.5" is not a quantile strictly between 0 and 1'),
    ({"instances": [], "configuration": {"num_samples": 0}}, "application/json", 400, r"configuration.num_samples must be"),
    ("not json", "application/json", 400, r"the request body is not valid JSON"),
    ('{"start": "2014-01-01", "target": [1]}\n{"start": "x", "target": [1]}', "application/jsonlines", 400,
     r"line 2: 'start' \"x\" is not a timestamp"),
    ("1,2,3", "text/csv", 415, r"Content-Type 'text/csv' is not supported"),
])
def test_bad_requests_get_a_4xx_that_says_why(endpoint, body, content_type, status, message):
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    got, _, text = request(endpoint + "/invocations", data, content_type)
    assert got == status
    assert re.search(message, text), text


def test_serve_refuses_a_root_without_a_model(tmp_path):
    (tmp_path / "opt/ml/model").mkdir(parents=True)
    status, _ = run_container(tmp_path, "serve")
    assert status == 2
