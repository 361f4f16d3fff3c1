"""The xgboost built-in, run as SageMaker runs its XGBoost algorithm: a training container on an ``/opt/ml`` tree.

Each test lays out a container root (specs/containers.md, section 1: hyperparameters.json,
inputdataconfig.json, resourceconfig.json and the channels' files) and runs it through
``charter.builtins.run`` (what ``charter container run`` calls) or ``python -m
charter.builtins xgboost train ROOT`` (what executors start).  The model must load with
``xgboost.Booster`` and predict; the log must carry XGBoost's evaluation line each round,
which the image's ``MetricDefinitions`` must read once tabs are shown as ``#011``; bad
input must fail the job with exit status 2 and ``ClientError: ...`` in
``opt/ml/output/failure``.  One test trains on the real UCI Adult data
(``../shared/data/adult``) and must reach the AUC XGBoost is known for there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from charter import builtins
from charter.builtins import ClientError
from charter.builtins.xgboost import METRIC_DEFINITIONS, hyperparameters

IMAGE = "xgboost"
REPO = Path(__file__).resolve().parents[2]
EVAL_LINE = re.compile(r"^\[(\d+)\]((?:\t[a-z]+-[a-z0-9_@.-]+:[-0-9.e+]+)+)$")


# -- helpers ----------------------------------------------------------------------------------


def make_root(tmp: Path, hps: dict, channels: dict[str, tuple[str | None, dict[str, bytes | str]]],
              resources: dict | None = None) -> Path:
    """A container root: ``channels`` maps a channel to (ContentType or None, {relative path: content})."""
    ml = tmp / "opt" / "ml"
    config = ml / "input" / "config"
    config.mkdir(parents=True)
    if "num_round" in hps and "nthread" not in hps:
        # One thread: CI has two cores, and OpenMP threads that wait on a busy core make small jobs slow.
        hps = {**hps, "nthread": "1"}
    (config / "hyperparameters.json").write_text(json.dumps(hps))
    data_config = {}
    for name, (content_type, files) in channels.items():
        entry = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
        if content_type:
            entry["ContentType"] = content_type
        data_config[name] = entry
        for relative, content in files.items():
            path = ml / "input" / "data" / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    resources = resources or {"current_host": "algo-1", "hosts": ["algo-1"]}
    (config / "resourceconfig.json").write_text(json.dumps({"network_interface_name": "eth0", **resources}))
    return tmp


def csv_text(labels: np.ndarray, features: np.ndarray, weights: np.ndarray | None = None) -> str:
    columns = [labels[:, None]] + ([weights[:, None]] if weights is not None else []) + [features]
    rows = np.hstack(columns)
    return "".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in rows)


def libsvm_text(labels: np.ndarray, features: np.ndarray, weights: np.ndarray | None = None) -> str:
    lines = []
    for i, (label, row) in enumerate(zip(labels, features)):
        head = f"{label:g}" + (f":{weights[i]:g}" if weights is not None else "")
        cells = " ".join(f"{j}:{v:.6g}" for j, v in enumerate(row) if v != 0)  # sparse: zeros left out
        lines.append(f"{head} {cells}\n")
    return "".join(lines)


def binary_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((rows, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + 0.3 * rng.standard_normal(rows) > 0.8).astype(np.float64)
    return y, x


def eval_lines(stdout: str) -> list[tuple[int, dict[str, float]]]:
    """The evaluation lines of a log: (round, {"train-auc": 0.9, ...})."""
    found = []
    for line in stdout.splitlines():
        match = EVAL_LINE.match(line)
        if match:
            scores = dict(cell.split(":") for cell in match.group(2).strip("\t").split("\t"))
            found.append((int(match.group(1)), {k: float(v) for k, v in scores.items()}))
    return found


def metrics_from_log(stdout: str) -> dict[str, list[float]]:
    """What SageMaker's metric extraction gets from the log: each line with tabs shown as ``#011``."""
    series: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        shipped = line.replace("\t", "#011")
        for definition in METRIC_DEFINITIONS:
            match = re.search(definition["Regex"], shipped)
            if match:
                series.setdefault(definition["Name"], []).append(float(match.group(1)))
    return series


def run_in_process(root: Path, capsys) -> tuple[int, str]:
    rc = builtins.run(IMAGE, "train", root)
    return rc, capsys.readouterr().out


def run_process(root: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "charter.builtins", IMAGE, "train", str(root)], env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)


def model_of(root: Path) -> xgb.Booster:
    path = root / "opt" / "ml" / "model" / "xgboost-model"
    assert path.is_file(), f"no model at {path}"
    return xgb.Booster(model_file=bytearray(path.read_bytes()))


def failure(root: Path) -> str:
    return (root / "opt" / "ml" / "output" / "failure").read_text()


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties averaged), an oracle independent of XGBoost."""
    ranks = pd.Series(scores).rank().to_numpy()
    positive = labels == 1
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# -- metric definitions and registration --------------------------------------------------------


def test_metric_definitions_cover_both_data_sets_in_sagemakers_form():
    names = [d["Name"] for d in METRIC_DEFINITIONS]
    assert len(names) == len(set(names))
    for metric in ("rmse", "mae", "logloss", "error", "auc", "aucpr", "merror", "mlogloss", "ndcg", "map", "mse",
                   "r2", "f1", "accuracy"):
        assert f"train:{metric}" in names and f"validation:{metric}" in names
    by_name = {d["Name"]: d["Regex"] for d in METRIC_DEFINITIONS}
    assert by_name["validation:auc"] == r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    shipped = "[7]#011train-logloss:0.31000#011train-mlogloss:9.00000#011validation-logloss:0.35500#011validation-error:1e-05"
    assert re.search(by_name["train:logloss"], shipped).group(1) == "0.31000"
    assert re.search(by_name["validation:logloss"], shipped).group(1) == "0.35500"
    assert re.search(by_name["validation:error"], shipped).group(1) == "1e-05"
    assert re.search(by_name["validation:mlogloss"], shipped) is None
    assert re.search(by_name["train:auc"], "[1]#011train-aucpr:0.5") is None  # auc is not aucpr
    assert re.search(by_name["train:auc"], "[1]\ttrain-auc:0.5") is None  # the regexes read the shipped form


def test_image_is_registered_for_sagemakers_xgboost_uri_and_imports_light():
    image = builtins.resolve("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert image.name == IMAGE and image.commands() == ["train"]
    assert image.metric_definitions() == METRIC_DEFINITIONS
    probe = "import sys, charter.builtins.xgboost; print(sorted(m for m in ('xgboost', 'numpy', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")}).stdout
    assert out.strip() == "[]"


# -- formats ----------------------------------------------------------------------------------


def test_csv_with_validation_logs_each_round_and_saves_a_model_that_predicts(tmp_path, capsys):
    y, x = binary_data(1600)
    root = make_root(tmp_path, {"num_round": "12", "objective": "binary:logistic", "eval_metric": "auc,logloss",
                                "max_depth": "3", "eta": "0.3"}, {
        "train": ("text/csv", {"part-0.csv": csv_text(y[:600], x[:600]), "more/part-1.csv": csv_text(y[600:1200], x[600:1200])}),
        "validation": ("text/csv", {"validation.csv": csv_text(y[1200:], x[1200:])}),
    })
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    assert "Train matrix has 1200 rows and 6 columns" in out  # both files, the one in a subfolder too

    lines = eval_lines(out)
    assert [r for r, _ in lines] == list(range(12))
    assert all(list(scores) == ["train-auc", "train-logloss", "validation-auc", "validation-logloss"]
               for _, scores in lines)
    series = metrics_from_log(out)
    assert series["validation:auc"] == [s["validation-auc"] for _, s in lines]
    assert series["train:logloss"] == [s["train-logloss"] for _, s in lines]
    assert set(series) == {"train:auc", "train:logloss", "validation:auc", "validation:logloss"}

    booster = model_of(root)
    assert booster.num_boosted_rounds() == 12
    predictions = booster.predict(xgb.DMatrix(x[1200:]))
    assert predictions.shape == (400,) and np.all((predictions >= 0) & (predictions <= 1))
    assert auc(y[1200:], predictions) == pytest.approx(series["validation:auc"][-1], abs=1e-4)


def test_csv_weights_take_the_second_column(tmp_path, capsys):
    y, x = binary_data(400)
    weights = np.where(y == 1, 5.0, 1.0)
    root = make_root(tmp_path, {"num_round": "3", "csv_weights": "1", "objective": "binary:logistic"},
                     {"train": ("text/csv", {"w.csv": csv_text(y, x, weights)})})
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    booster = model_of(root)
    assert booster.num_features() == 6  # the weight is not a feature
    # Up-weighting the positives pulls every prediction towards 1.
    unweighted = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, label=y), 3)
    assert booster.predict(xgb.DMatrix(x)).mean() > unweighted.predict(xgb.DMatrix(x)).mean() + 0.05


def test_libsvm_is_the_default_content_type(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.random((900, 5)) * (rng.random((900, 5)) > 0.3)  # sparse-ish
    y = 3 * x[:, 0] - 2 * x[:, 3] + 0.05 * rng.standard_normal(900)
    weights = np.ones(900)
    weights[:10] = 2.0
    root = make_root(tmp_path, {"num_round": "20", "eval_metric": "rmse,mae", "max_depth": "4"}, {
        "train": (None, {"a/train-0.libsvm": libsvm_text(y[:350], x[:350], weights[:350]),
                         "b/train-1.libsvm": "# a comment line\n" + libsvm_text(y[350:700], x[350:700])}),
        "validation": (None, {"v.libsvm": libsvm_text(y[700:], x[700:])}),
    })
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    series = metrics_from_log(out)
    assert len(series["validation:rmse"]) == 20 and len(series["train:mae"]) == 20
    assert series["validation:rmse"][-1] < 0.5 * series["validation:rmse"][0]
    booster = model_of(root)
    predictions = booster.predict(xgb.DMatrix(x[700:], missing=0.0))  # libsvm leaves zeros out: missing
    assert np.sqrt(np.mean((predictions - y[700:]) ** 2)) == pytest.approx(series["validation:rmse"][-1], rel=1e-3)


def test_parquet_multiclass(tmp_path, capsys):
    rng = np.random.default_rng(5)
    x = rng.random((900, 4))
    label = np.digitize(x[:, 0] + 0.05 * rng.standard_normal(900), [0.33, 0.66]).astype(float)
    frame = pd.DataFrame({"label": label, **{f"f{i}": x[:, i] for i in range(4)}})
    parquet = {}
    for name, part in (("train/part-0.parquet", frame[:350]), ("train/part-1.parquet", frame[350:700]),
                       ("validation/part-0.parquet", frame[700:])):
        path = tmp_path / "parquet" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        part.to_parquet(path, index=False)
        parquet[name] = path.read_bytes()
    root = make_root(tmp_path / "job", {"num_round": "10", "objective": "multi:softprob", "num_class": "3",
                                        "eval_metric": "mlogloss,merror,accuracy"}, {
        "train": ("application/x-parquet", {k.split("/", 1)[1]: v for k, v in parquet.items() if k.startswith("train")}),
        "validation": ("application/x-parquet", {"part-0.parquet": parquet["validation/part-0.parquet"]}),
    })
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    series = metrics_from_log(out)
    assert {"validation:mlogloss", "validation:merror", "validation:accuracy", "train:accuracy"} <= set(series)
    probabilities = model_of(root).predict(xgb.DMatrix(x[700:]))
    assert probabilities.shape == (200, 3)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == label[700:]))
    assert accuracy == pytest.approx(series["validation:accuracy"][-1], abs=1e-5)
    assert accuracy == pytest.approx(1 - series["validation:merror"][-1], abs=1e-5)
    assert accuracy > 0.8


def test_adult_binary_logistic_reaches_the_published_auc(tmp_path, capsys):
    """UCI Adult, train split to train and test split to validate: XGBoost's AUC there is about 0.92."""
    from real_data import need

    from charter.datasets import fairness

    train, test = need(fairness.adult, "train"), need(fairness.adult, "test")

    def encode(frame: pd.DataFrame) -> str:
        # The algorithm reads numbers only, label first: categories become their codes (consistent
        # across splits), missing values stay empty, as a SageMaker user prepares the CSV.
        label = (frame["income"] == ">50K").astype(int)
        features = frame.drop(columns=["income"]).copy()
        for column in features.columns:
            if not pd.api.types.is_numeric_dtype(features[column]):
                categories = sorted(set(train[column].dropna()) | set(test[column].dropna()))
                features[column] = pd.Categorical(features[column], categories=categories).codes.astype(float)
                features.loc[features[column] < 0, column] = np.nan
        return pd.concat([label, features], axis=1).to_csv(header=False, index=False)

    root = make_root(tmp_path, {
        "num_round": "200", "objective": "binary:logistic", "eval_metric": "auc", "eta": "0.3", "max_depth": "6",
        "early_stopping_rounds": "5",
    }, {"train": ("text/csv", {"adult.csv": encode(train)}), "validation": ("text/csv", {"adult-test.csv": encode(test)})})
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    series = metrics_from_log(out)
    best = max(series["validation:auc"])
    assert best > 0.9, best
    assert "Best iteration" in out
    booster = model_of(root)
    labels = (test["income"] == ">50K").to_numpy().astype(int)
    features = pd.read_csv(root / "opt/ml/input/data/validation/adult-test.csv", header=None).to_numpy()[:, 1:]
    # The saved model is the best round's (early stopping keeps it), so it scores the best AUC.
    assert auc(labels, booster.predict(xgb.DMatrix(features, missing=np.nan))) == pytest.approx(best, abs=1e-4)


# -- training behaviour -----------------------------------------------------------------------


def test_early_stopping_keeps_the_best_round(tmp_path, capsys):
    rng = np.random.default_rng(11)
    x = rng.random((600, 5))
    y = rng.integers(0, 2, 600).astype(float)  # noise: the validation loss soon gets worse
    root = make_root(tmp_path, {"num_round": "200", "objective": "binary:logistic", "eta": "0.5",
                                "eval_metric": "error,logloss", "early_stopping_rounds": "3"}, {
        "train": ("text/csv", {"t.csv": csv_text(y[:400], x[:400])}),
        "validation": ("text/csv", {"v.csv": csv_text(y[400:], x[400:])}),
    })
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    lines = eval_lines(out)
    logloss = [s["validation-logloss"] for _, s in lines]  # the last eval_metric is the one watched
    best = int(np.argmin(logloss))
    assert len(lines) == best + 4 < 200
    assert model_of(root).num_boosted_rounds() == best + 1


def test_checkpoints_every_round_and_resume_from_the_latest(tmp_path, capsys):
    y, x = binary_data(500)
    channels = {"train": ("text/csv", {"t.csv": csv_text(y, x)})}
    root = make_root(tmp_path, {"num_round": "8", "objective": "binary:logistic"}, channels)
    folder = root / "opt" / "ml" / "checkpoints"
    folder.mkdir()
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    assert sorted(p.name for p in folder.iterdir()) == [f"xgboost-checkpoint.{i}" for i in range(3, 8)]  # 5 newest
    assert xgb.Booster(model_file=bytearray((folder / "xgboost-checkpoint.7").read_bytes())).num_boosted_rounds() == 8

    # A restarted job (more rounds asked for now) goes on from round 8 instead of starting again.
    (root / "opt/ml/input/config/hyperparameters.json").write_text(json.dumps({"num_round": "12",
                                                                               "objective": "binary:logistic"}))
    shutil.rmtree(root / "opt" / "ml" / "model")
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    assert "Resuming from checkpoint xgboost-checkpoint.7" in out
    assert [r for r, _ in eval_lines(out)] == [8, 9, 10, 11]
    resumed = model_of(root)
    assert resumed.num_boosted_rounds() == 12
    # The same model as a job that ran all 12 rounds without stopping.
    straight_root = make_root(tmp_path / "straight", {"num_round": "12", "objective": "binary:logistic"}, channels)
    assert builtins.run(IMAGE, "train", straight_root) == 0
    np.testing.assert_allclose(resumed.predict(xgb.DMatrix(x)), model_of(straight_root).predict(xgb.DMatrix(x)),
                               rtol=1e-6)


def test_tuning_objective_metric_is_evaluated_and_watched(tmp_path, capsys):
    y, x = binary_data(600)
    root = make_root(tmp_path, {"num_round": "5", "objective": "binary:logistic", "eval_metric": "logloss",
                                "_tuning_objective_metric": "validation:f1"}, {
        "train": ("text/csv", {"t.csv": csv_text(y[:400], x[:400])}),
        "validation": ("text/csv", {"v.csv": csv_text(y[400:], x[400:])}),
    })
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    f1 = metrics_from_log(out)["validation:f1"]
    predicted = model_of(root).predict(xgb.DMatrix(x[400:])) > 0.5
    truth = y[400:] == 1
    scores = []
    for positive in (True, False):  # f1 is macro-averaged over both classes, as the container computes it
        tp = np.sum((predicted == positive) & (truth == positive))
        precision, recall = tp / np.sum(predicted == positive), tp / np.sum(truth == positive)
        scores.append(2 * precision * recall / (precision + recall))
    assert f1[-1] == pytest.approx(float(np.mean(scores)), abs=1e-5)


def test_libsvm_query_ids_train_a_ranker(tmp_path, capsys):
    rng = np.random.default_rng(13)
    lines = []
    for query in range(40):
        for _ in range(8):
            x = rng.random(3)
            relevance = int(x[0] * 3 + 0.2 * rng.standard_normal() > 1.5)
            lines.append(f"{relevance} qid:{query} " + " ".join(f"{j}:{v:.4f}" for j, v in enumerate(x)) + "\n")
    root = make_root(tmp_path, {"num_round": "5", "objective": "rank:pairwise", "eval_metric": "ndcg,map"},
                     {"train": ("text/libsvm", {"rank.libsvm": "".join(lines)})})
    rc, out = run_in_process(root, capsys)
    assert rc == 0, out
    series = metrics_from_log(out)
    assert len(series["train:ndcg"]) == 5 and len(series["train:map"]) == 5
    assert series["train:ndcg"][-1] > 0.8


def test_save_model_on_termination_keeps_a_model_when_the_job_is_stopped(tmp_path):
    y, x = binary_data(300)
    root = make_root(tmp_path, {"num_round": "100000", "objective": "binary:logistic", "max_depth": "2",
                                "save_model_on_termination": "true"},
                     {"train": ("text/csv", {"t.csv": csv_text(y, x)})})
    process = subprocess.Popen([sys.executable, "-m", "charter.builtins", IMAGE, "train", str(root)],
                               env={**os.environ, "PYTHONPATH": str(REPO / "src")}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:
            if line.startswith("[20]"):
                break
        process.terminate()  # what StopTrainingJob sends
        out = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert "Stopped: the model of the last finished round" in out
    assert model_of(root).num_boosted_rounds() >= 20  # every round up to the one logged before the stop


def test_script_mode_hands_over_to_the_script_runner(tmp_path, monkeypatch):
    calls = []
    runner = types.ModuleType("charter.builtins.script_mode")
    runner.train = lambda root, framework: calls.append((Path(root), framework)) or "ran"
    monkeypatch.setitem(sys.modules, "charter.builtins.script_mode", runner)
    monkeypatch.setattr(builtins, "script_mode", runner, raising=False)
    root = make_root(tmp_path, {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"s3://b/code.tar.gz"',
                                "max_depth": "3"}, {"train": ("text/csv", {"t.csv": "1,2\n"})})
    assert builtins.run(IMAGE, "train", root) == 0
    assert calls == [(root, "xgboost")]


# -- refusals ---------------------------------------------------------------------------------

GOOD_CSV = "1,0.5,2\n0,0.1,3\n1,0.7,1\n0,0.2,2\n"


@pytest.mark.parametrize("hps, says", [
    ({}, "Hyperparameter num_round is required"),
    ({"num_round": "ten"}, "num_round must be an integer"),
    ({"num_round": "0"}, "num_round must be an integer in [1, +inf)"),
    ({"num_round": "5", "eta": "1.5"}, "eta must be a number in [0, 1]"),
    ({"num_round": "5", "subsample": "0"}, "subsample must be a number in (0, 1]"),
    ({"num_round": "5", "max_detph": "3"}, "Did you mean max_depth?"),
    ({"num_round": "5", "objective": "binary:logistik"}, "did you mean 'binary:logistic'?"),
    ({"num_round": "5", "objective": "multi:softprob"}, "num_class is required"),
    ({"num_round": "5", "num_class": "3"}, "num_class is only for multi-class objectives"),
    ({"num_round": "5", "eval_metric": "auc"}, "'auc' is for binary classification and ranking"),
    ({"num_round": "5", "eval_metric": "rmse,bogus"}, "'bogus' is not a metric"),
    ({"num_round": "5", "eval_metric": "rmse@3"}, "take a threshold"),
    ({"num_round": "5", "booster": "gblinear", "updater": "grow_colmaker"}, "gblinear booster takes exactly one of"),
    ({"num_round": "5", "monotone_constraints": "(1,5)"}, "monotone_constraints must be a tuple"),
    ({"num_round": "5", "csv_weights": "2"}, "csv_weights must be an integer in [0, 1]"),
    ({"num_round": "5", "eta": "0.1", "learning_rate": "0.2"}, "give only one of them"),
    ({"num_round": "5", "_kfold": "5"}, "not supported"),
    ({"num_round": "5", "objective": "binary:logistic", "scale_pos_weight": "0"}, "scale_pos_weight must be a number"),
])
def test_bad_hyperparameters_fail_as_client_errors(tmp_path, capsys, hps, says):
    root = make_root(tmp_path, hps, {"train": ("text/csv", {"t.csv": GOOD_CSV})})
    assert builtins.run(IMAGE, "train", root) == 2
    reason = failure(root)
    assert reason.startswith("ClientError: Hyperparameter") and says in reason, reason
    assert not (root / "opt" / "ml" / "model" / "xgboost-model").exists()


@pytest.mark.parametrize("content_type, files, extra, says", [
    ("application/x-recordio-protobuf", {"t.rec": b"\x0a\x0b"}, {}, "RecordIO-protobuf) is not supported"),
    ("application/json", {"t.json": "{}"}, {}, "is not one the XGBoost algorithm reads"),
    ("text/csv;label_size=2", {"t.csv": GOOD_CSV}, {}, "label_size must be 1"),
    ("text/csv", {"t.csv": "label,a,b\n" + GOOD_CSV}, {}, "Is the first line a header?"),
    ("text/csv", {"t.csv": "1,red,2\n"}, {}, "line 1, column 2: 'red' is not a number"),
    ("text/csv", {"a.csv": GOOD_CSV, "b.csv": "1,2\n"}, {}, "every file of channel 'train' needs the same columns"),
    ("text/csv", {"t.csv": "3,0.5,2\n0,0.1,3\n"}, {"objective": "binary:logistic"}, "needs labels in [0, 1]"),
    ("text/csv", {"t.csv": "0,1\n4,2\n"}, {"objective": "multi:softmax", "num_class": "3"}, "integer labels from 0 to"),
    ("text/libsvm", {"t.libsvm": "1 0:1 two:3\n"}, {}, "line 1: 'two:3' is not a feature"),
    ("text/csv", {}, {}, "the train channel has no data"),
])
def test_bad_data_fails_as_client_error(tmp_path, capsys, content_type, files, extra, says):
    root = make_root(tmp_path, {"num_round": "3", **extra}, {"train": (content_type, files)})
    assert builtins.run(IMAGE, "train", root) == 2
    reason = failure(root)
    assert reason.startswith("ClientError: ") and says in reason, reason


def test_pipe_mode_and_unknown_channels_are_refused(tmp_path, capsys):
    root = make_root(tmp_path, {"num_round": "3"}, {"train": ("text/csv", {"t.csv": GOOD_CSV}), "test": ("text/csv", {})})
    assert builtins.run(IMAGE, "train", root) == 2
    assert "channel 'test' is not one the XGBoost algorithm reads" in failure(root)
    config = root / "opt/ml/input/config/inputdataconfig.json"
    config.write_text(json.dumps({"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}))
    assert builtins.run(IMAGE, "train", root) == 2
    assert "input mode 'Pipe' is not supported" in failure(root)


def test_a_failed_process_exits_2_with_the_reason_in_the_failure_file(tmp_path):
    root = make_root(tmp_path, {"num_round": "3", "max_depth": "-1"}, {"train": ("text/csv", {"t.csv": GOOD_CSV})})
    done = run_process(root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert failure(root) == "ClientError: Hyperparameter max_depth must be an integer in [0, +inf) (got '-1')"
    assert "ClientError: Hyperparameter max_depth" in done.stderr


def test_hyperparameter_parse_translates_for_the_xgboost_it_runs():
    hp = hyperparameters.parse({"num_round": "10", "learning_rate": "0.2", "tree_method": "gpu_hist",
                                "predictor": "cpu_predictor", "objective": "reg:linear", "eval_metric": "rmse,r2",
                                "monotone_constraints": "(1,0,-1)", "interaction_constraints": "[[0, 1], [2]]",
                                "early_stopping_rounds": "4", "sagemaker_container_log_level": "20"})
    assert hp.num_round == 10 and hp.early_stopping_rounds == 4 and hp.early_stopping_metric == "r2"
    assert hp.params == {"eta": 0.2, "tree_method": "hist", "objective": "reg:squarederror",
                         "monotone_constraints": "(1,0,-1)", "interaction_constraints": "[[0, 1], [2]]",
                         "eval_metric": ["rmse"]}
    assert hp.custom_metrics == ("r2",)
    assert any("predictor" in note for note in hp.notes) and any("gpu_hist" in note for note in hp.notes)
    with pytest.raises(ClientError, match="use_dask_gpu_training=true needs GPU instances"):
        hyperparameters.parse({"num_round": "1", "use_dask_gpu_training": "true"})


# -- several hosts ----------------------------------------------------------------------------


def _free_port_pair() -> int:
    """A port p with p and p + 1 both free (the two tracker groups)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port >= 65534:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports")


def _can_fake_hosts(hosts_file: Path) -> bool:
    """Whether this machine lets a process see its own /etc/hosts (root, mount namespaces)."""
    if shutil.which("unshare") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {hosts_file} /etc/hosts && getent hosts algo-2"],
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0 and "127.0.0.2" in probe.stdout


def _start_hosts(tmp_path: Path, hps: dict, shards: dict[int, str], validation: str) -> list[tuple[Path, subprocess.Popen]]:
    """One process per host, each with its own container root; hosts named algo-N where /etc/hosts can be faked
    for the process (as the platform resolves them), else by loopback addresses, which resolve everywhere."""
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(Path("/etc/hosts").read_text() + "127.0.0.1 algo-1\n127.0.0.2 algo-2\n")
    fake = _can_fake_hosts(hosts_file)
    names = ["algo-1", "algo-2"] if fake else ["127.0.0.1", "127.0.0.2"]
    port = _free_port_pair()
    started = []
    for index, name in enumerate(names):
        channels = {"train": ("text/csv", {"part.csv": shards[index]} if shards.get(index) else {}),
                    "validation": ("text/csv", {"v.csv": validation})}
        root = make_root(tmp_path / name, hps, channels, {"current_host": name, "hosts": names})
        command = [sys.executable, "-m", "charter.builtins", IMAGE, "train", str(root)]
        if fake:
            command = ["unshare", "-m", "sh", "-c", f'mount --bind {hosts_file} /etc/hosts && exec "$@"', "sh", *command]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "XGBOOST_TRACKER_PORT": str(port)}
        started.append((root, subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                               text=True)))
    return started


def _finish(started) -> list[str]:
    outputs = []
    try:
        for _, process in started:
            outputs.append(process.communicate(timeout=120)[0])
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()
    for (_, process), out in zip(started, outputs):
        assert process.returncode == 0, out
    return outputs


def test_two_hosts_train_one_model(tmp_path):
    y, x = binary_data(1500, seed=7)
    hps = {"num_round": "10", "objective": "binary:logistic", "eval_metric": "auc", "max_depth": "3"}
    started = _start_hosts(tmp_path, hps, {0: csv_text(y[:500], x[:500]), 1: csv_text(y[500:1000], x[500:1000])},
                           csv_text(y[1000:], x[1000:]))
    first, second = _finish(started)
    assert "is rank 0 of 2" in first and "is rank 1 of 2" in second
    assert len(eval_lines(first)) == 10 and eval_lines(second) == []  # rank 0 reports for the group
    (root_1, _), (root_2, _) = started
    assert not (root_2 / "opt/ml/model/xgboost-model").exists()  # one model, saved once
    booster = model_of(root_1)
    assert booster.num_boosted_rounds() == 10
    validation_auc = metrics_from_log(first)["validation:auc"][-1]
    assert auc(y[1000:], booster.predict(xgb.DMatrix(x[1000:]))) == pytest.approx(validation_auc, abs=1e-4)
    # The group's train metric is over both shards: the same as one host evaluating all 1000 rows.
    train_auc = metrics_from_log(first)["train:auc"][-1]
    assert auc(y[:1000], booster.predict(xgb.DMatrix(x[:1000]))) == pytest.approx(train_auc, abs=2e-3)


def test_a_host_without_data_sits_out(tmp_path):
    y, x = binary_data(800, seed=8)
    hps = {"num_round": "4", "objective": "binary:logistic"}
    started = _start_hosts(tmp_path, hps, {1: csv_text(y[:600], x[:600])}, csv_text(y[600:], x[600:]))
    first, second = _finish(started)
    assert "has no training data; it will take no part" in first
    assert "single node training" in second
    (root_1, _), (root_2, _) = started
    assert not (root_1 / "opt/ml/model/xgboost-model").exists()
    assert model_of(root_2).num_boosted_rounds() == 4
