"""The DeepAR image's ``train`` command: read the channels, fit, log as SageMaker's DeepAR does, save.

Reads ``opt/ml/input/config/hyperparameters.json`` (``hyperparameters.py``), the
``train`` and optional ``test`` channels (``channels.py``), fits the kernel
(:mod:`charter.analytics.forecasting.deepar`) and writes the model to ``opt/ml/model``
(``model_files.py``).  Standard output carries the log lines of specs/deepar.md,
section 3, which ``MetricDefinitions`` and hyperparameter tuning parse::

    Epoch[0] Batch[0] avg_epoch_loss=5.570444
    #quality_metric: host=algo-1, epoch=0, train loss <loss>=5.722781
    best epoch loss so far
    ...
    Final loss: 5.41099500656 (occurred at epoch 1)
    #quality_metric: host=algo-1, train final_loss <loss>=5.41099500656
    Evaluating model accuracy on testset using 100 samples
    #test_score (algo-1, RMSE): 12.3456
    ...
    #quality_metric: host=algo-1, test RMSE <loss>=12.3456

Test evaluation (when the ``test`` channel is given) withholds the last
``prediction_length`` points of each test series, forecasts them from the rest with
``num_eval_samples`` sample paths and scores them with
:func:`charter.analytics.forecasting.metrics.accuracy`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ClientError
from ..config_files import read_json
from . import hyperparameters as hps
from .channels import Dataset, read_channel

__all__ = ["MIN_OBSERVATIONS", "TrainingResult", "run"]

MIN_OBSERVATIONS = 300
CHANNELS = ("train", "test")
_BATCH_LOG_EVERY = 5


@dataclass
class TrainingResult:
    """What a training run produced (returned to in-process callers such as ``charter forecast train``)."""

    final_loss: float
    best_epoch: int
    epochs_run: int
    seconds: float
    model_dir: Path
    train_series: int
    test_series: int = 0
    test_metrics: dict[str, float] | None = None
    notes: list[str] | None = None


def _say(line: str) -> None:
    print(line, flush=True)


def _channel_configs(config_dir: Path, data_dir: Path) -> dict[str, dict]:
    """The channels' entries in inputdataconfig.json (or the channel directories present, if there is none)."""
    document = read_json(config_dir / "inputdataconfig.json", "inputdataconfig.json", None)
    if document is None:
        present = sorted(p.name for p in data_dir.iterdir() if not p.name.startswith(".")) if data_dir.is_dir() else []
        document = {name: {} for name in present}
    if not isinstance(document, dict):
        raise ClientError("inputdataconfig.json must hold a JSON object of channel name -> configuration")
    for name, entry in document.items():
        if name not in CHANNELS:
            raise ClientError(f"unknown channel {name!r}: DeepAR reads a 'train' channel and an optional 'test' channel")
        mode = (entry or {}).get("TrainingInputMode", "File")
        if mode not in ("File", "FastFile"):
            raise ClientError(f"channel {name!r}: input mode {mode!r} is not supported; DeepAR reads File mode only")
    return {name: entry or {} for name, entry in document.items()}


def _check_training_data(train: Dataset, hp: hps.Hyperparameters) -> None:
    from charter.analytics.forecasting.likelihoods import likelihood

    distribution = likelihood(hp.likelihood)
    observed = 0
    for series, where in zip(train.series, train.where):
        finite = series.target[np.isfinite(series.target)]
        if len(series.target) >= hp.prediction_length:
            observed += len(finite)
        problem = distribution.check(finite)
        if problem:
            raise ClientError(f"{where}: {problem} (hyperparameter 'likelihood' is {hp.likelihood!r})")
    if observed < MIN_OBSERVATIONS:
        raise ClientError(
            f"the train channel has {observed} observed points in series of at least prediction_length "
            f"({hp.prediction_length}) points; DeepAR needs at least {MIN_OBSERVATIONS} to train"
        )


def _check_test_data(test: Dataset, cardinality: list[int], num_dynamic_feat: int, hp: hps.Hyperparameters) -> None:
    """The test series must carry the features the model was trained with."""
    if cardinality and test.cat_count != len(cardinality):
        raise ClientError(f"{test.where[0]}: 'cat' has {test.cat_count} value(s), but the model is trained with "
                          f"{len(cardinality)} categorical feature(s) (cardinality {cardinality})")
    if cardinality:
        for series, where in zip(test.series, test.where):
            for i, (c, n) in enumerate(zip(series.cat, cardinality)):
                if c >= n:
                    raise ClientError(f"{where}: cat[{i}] = {c} was not seen in training (values 0..{n - 1})")
    if hp.uses_dynamic_feat and (test.feat_count or 0) != num_dynamic_feat:
        raise ClientError(f"{test.where[0]}: 'dynamic_feat' has {test.feat_count} series, but the model is trained "
                          f"with {num_dynamic_feat} dynamic feature(s)")


def _format(value: float) -> str:
    return f"{value:.12g}"


def _evaluate(model, test: Dataset, hp: hps.Hyperparameters, host: str, seed: int) -> tuple[dict[str, float], int, list[str]]:
    from charter.analytics.forecasting.deepar import Series
    from charter.analytics.forecasting.metrics import accuracy

    P = hp.prediction_length
    histories, actual, notes = [], [], []
    for series, where in zip(test.series, test.where):
        if len(series.target) < P:
            notes.append(f"{where}: skipped in evaluation, shorter than prediction_length ({P})")
            continue
        histories.append(Series(series.start, series.target[: len(series.target) - P],
                                series.cat if model.config.cardinality else None,
                                series.dynamic_feat if model.config.num_dynamic_feat else None))
        actual.append(series.target[len(series.target) - P:])
    for note in notes:
        _say(note)
    if not histories:
        raise ClientError(f"no test series has prediction_length ({P}) points to evaluate")
    _say(f"Evaluating model accuracy on testset using {hp.num_eval_samples} samples")
    samples = model.forecast(histories, num_samples=hp.num_eval_samples, seed=seed)
    metrics = accuracy(np.stack(actual), samples, quantiles=hp.test_quantiles)
    _say(f"#test_score ({host}, RMSE): {_format(metrics['RMSE'])}")
    _say(f"#test_score ({host}, mean_absolute_QuantileLoss): {_format(metrics['mean_absolute_QuantileLoss'])}")
    _say(f"#test_score ({host}, mean_wQuantileLoss): {_format(metrics['mean_wQuantileLoss'])}")
    for q in hp.test_quantiles:
        key = f"wQuantileLoss[{q:g}]"
        _say(f"#test_score ({host}, {key}): {_format(metrics[key])}")
    _say(f"#quality_metric: host={host}, test RMSE <loss>={_format(metrics['RMSE'])}")
    _say(f"#quality_metric: host={host}, test mean_wQuantileLoss <loss>={_format(metrics['mean_wQuantileLoss'])}")
    return metrics, len(histories), notes


def run(root: Path, progress: Callable[[Any], None] | None = None, seed: int = 0) -> TrainingResult:
    """Train DeepAR in the container at ``root``; ``progress(EpochReport)`` after every epoch."""
    began = time.perf_counter()
    ml = Path(root) / "opt" / "ml"
    config_dir, data_dir = ml / "input" / "config", ml / "input" / "data"

    raw = read_json(config_dir / "hyperparameters.json", "hyperparameters.json", {})
    hp = hps.parse(raw)
    channels = _channel_configs(config_dir, data_dir)
    if "train" not in channels:
        raise ClientError("there is no 'train' channel: DeepAR needs training data in a channel named 'train'")
    resources = read_json(config_dir / "resourceconfig.json", "resourceconfig.json", {}) or {}
    host = str(resources.get("current_host") or "algo-1")

    from charter.analytics.forecasting.frequency import parse_frequency

    freq = parse_frequency(hp.time_freq)
    train = read_channel(data_dir, "train", freq, content_type=channels["train"].get("ContentType"),
                         use_cat=hp.uses_cat, use_feat=hp.uses_dynamic_feat)
    cardinality = hps.resolve_cardinality(hp, train.cat_count or 0, train.cat_max(), "the train channel")
    num_dynamic_feat = hps.resolve_num_dynamic_feat(hp, train.feat_count or 0, "the train channel")
    test = None
    if "test" in channels and (data_dir / "test").exists():
        test = read_channel(data_dir, "test", freq, content_type=channels["test"].get("ContentType"),
                            use_cat=bool(cardinality), use_feat=bool(num_dynamic_feat))
        _check_test_data(test, cardinality, num_dynamic_feat, hp)
    _check_training_data(train, hp)

    import torch

    from charter.analytics.forecasting.deepar import DeepAR, DeepARConfig

    config = DeepARConfig(
        time_freq=hp.time_freq, prediction_length=hp.prediction_length, context_length=hp.context_length,
        epochs=hp.epochs, likelihood=hp.likelihood, num_cells=hp.num_cells, num_layers=hp.num_layers,
        dropout_rate=hp.dropout_rate, embedding_dimension=hp.embedding_dimension, cardinality=cardinality,
        num_dynamic_feat=num_dynamic_feat, learning_rate=hp.learning_rate, mini_batch_size=hp.mini_batch_size,
        early_stopping_patience=hp.early_stopping_patience, seed=seed,
    )
    series = [s if cardinality else _without_cat(s) for s in train.series]
    if not num_dynamic_feat:
        series = [_without_feat(s) for s in series]
    _say(f"Training DeepAR on {len(series)} series ({hp.time_freq}, prediction_length {hp.prediction_length}, "
         f"context_length {hp.context_length}, likelihood {hp.likelihood}, {len(cardinality)} categorical and "
         f"{num_dynamic_feat} dynamic feature(s))")
    model = DeepAR(config)
    epochs_run = 0

    last_batch: list = [None]  # (epoch, batch, loss) of the latest batch, logged at the epoch's end if not yet

    def on_batch(epoch: int, batch: int, loss: float) -> None:
        last_batch[0] = (epoch, batch, loss)
        if batch % _BATCH_LOG_EVERY == 0:
            _say(f"Epoch[{epoch}] Batch[{batch}] avg_epoch_loss={loss:f}")

    def on_epoch(report) -> None:
        nonlocal epochs_run
        epochs_run = report.epoch + 1
        if last_batch[0] is not None and last_batch[0][1] % _BATCH_LOG_EVERY:
            _say(f"Epoch[{report.epoch}] Batch[{last_batch[0][1]}] avg_epoch_loss={report.loss:f}")
        _say(f"#quality_metric: host={host}, epoch={report.epoch}, train loss <loss>={report.loss:f}")
        _say("best epoch loss so far" if report.improved else "loss did not improve")
        _say(f"#progress_metric: host={host}, completed {100 * epochs_run // hp.epochs} % of epochs")
        if progress is not None:
            progress(report)

    try:
        model.fit(series, on_epoch=on_epoch, on_batch=on_batch)
    except ValueError as error:  # the kernel refuses data it cannot use (e.g. every series too short)
        raise ClientError(str(error)) from None
    if not np.isfinite(model.final_loss):
        raise ClientError(f"training diverged: the loss is {model.final_loss}; try a smaller learning_rate "
                          f"(now {hp.learning_rate:g}) or another likelihood")
    if epochs_run < hp.epochs:
        _say(f"Stopping early: the loss has not improved for {hp.early_stopping_patience} epoch(s)")
    _say(f"Final loss: {_format(model.final_loss)} (occurred at epoch {model.best_epoch})")
    _say(f"#quality_metric: host={host}, train final_loss <loss>={_format(model.final_loss)}")

    result = TrainingResult(final_loss=float(model.final_loss), best_epoch=int(model.best_epoch), epochs_run=epochs_run,
                            seconds=0.0, model_dir=ml / "model", train_series=len(series), notes=[])
    if test is not None:
        metrics, evaluated, notes = _evaluate(model, test, hp, host, seed)
        result.test_metrics, result.test_series, result.notes = metrics, evaluated, notes

    from .model_files import save_model

    save_model(model, ml / "model", hyperparameters={k: v for k, v in raw.items() if k in hps.KNOWN},
               extra={"epochs_run": epochs_run, "train_series": len(series),
                      "test_metrics": _finite(result.test_metrics), "torch": torch.__version__})
    result.seconds = time.perf_counter() - began
    _say(f"Model saved to {ml / 'model'} ({result.seconds:.1f} s)")
    sys.stdout.flush()
    return result


def _finite(metrics: dict[str, float] | None) -> dict[str, float | None] | None:
    """Metrics for a JSON file: NaN (e.g. MAPE of an all-zero test set) becomes null."""
    if metrics is None:
        return None
    return {k: (v if np.isfinite(v) else None) for k, v in metrics.items()}


def _without_cat(series):
    from dataclasses import replace

    return replace(series, cat=None) if series.cat is not None else series


def _without_feat(series):
    from dataclasses import replace

    return replace(series, dynamic_feat=None) if series.dynamic_feat is not None else series
