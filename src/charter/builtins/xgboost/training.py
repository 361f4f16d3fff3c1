"""The XGBoost algorithm's ``train`` command: check the job, read the channels, boost, log each round, save.

What SageMaker's XGBoost container does in algorithm mode (aws/sagemaker-xgboost-container,
``algorithm_mode/train.py``), on the container contract of specs/containers.md, section 1:

- hyperparameters from ``input/config/hyperparameters.json`` (``hyperparameters.py``),
  channels from ``inputdataconfig.json`` and ``input/data`` (``channels.py``), hosts from
  ``resourceconfig.json`` (one host when it is absent);
- ``xgboost.train`` for ``num_round`` rounds, evaluating on ``train`` and, when given,
  ``validation``; each round prints XGBoost's evaluation line to standard output, flushed::

      [0]\ttrain-auc:0.90215\tvalidation-auc:0.89987

  which :data:`~.metric_definitions.METRIC_DEFINITIONS` read (the tabs as ``#011``);
- with ``early_stopping_rounds`` and a validation channel, training stops once the
  watched metric (the tuning objective's, else the last of ``eval_metric``, else
  XGBoost's last) has not improved for that many rounds, and the best round's model is
  kept;
- checkpoints per round, and resuming from them (``checkpoints.py``); with
  ``save_model_on_termination=true`` the model of every round is also written to the
  model folder, so a stopped job still has one;
- several hosts train one model together (``distributed.py``);
- the model, in XGBoost's UBJSON format as XGBoost 3's ``save_model`` writes a file with
  no extension, is ``model/xgboost-model`` (only the first host writes it).

Data and parameters that XGBoost refuses become :class:`~charter.builtins.ClientError`
(a job the user can fix); anything else is the algorithm's own failure.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from .. import ClientError
from ..config_files import read_json
from . import checkpoints, distributed
from . import hyperparameters as hps
from .channels import ChannelData, content_format, read_channel, read_data_config
from .custom_metrics import make_custom_metric
from .metric_definitions import is_maximized

__all__ = ["MODEL_NAME", "TrainingResult", "run"]

MODEL_NAME = "xgboost-model"

# Phrases of XGBoost errors that mean the job's data or parameters are wrong (the container's
# list, xgb_constants.CUSTOMER_ERRORS, and the wording XGBoost 3 uses for bad parameters).
_USER_ERRORS = (
    "label must be in", "Target is multiclass", "feature_names mismatch", "preds.size() == info.labels",
    "dataset only contains pos or neg samples", "base_score must be in", "label must be nonnegative",
    "reg_lambda should be greater", "Invalid Input", "Invalid Parameter", "Invalid parameter", "Unknown",
    "should be greater", "should be less", "must be", "Invalid shape", "labels", "Check failed: ",
)  # fmt: skip
_LOG_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d\] (?:\S+:\d+: )?")


@dataclass
class TrainingResult:
    """What a training run did (returned to in-process callers)."""

    host: str
    hosts: list[str]  # the hosts that trained together
    model_path: Path | None  # None on a host that does not save the model
    rounds: int = 0  # boosting rounds in the model
    resumed_from: int = 0  # rounds a checkpoint had done before this run
    best_iteration: int | None = None  # with early stopping
    evaluation: dict[str, dict[str, float]] = field(default_factory=dict)  # last value per data set and metric
    seconds: float = 0.0


def _say(line: str) -> None:
    print(line, flush=True)


def _hosts(resources: Any) -> tuple[list[str], str]:
    """(sorted hosts, this host) from resourceconfig.json; one host, algo-1, when it says nothing."""
    if not isinstance(resources, dict):
        raise ClientError("resourceconfig.json must hold a JSON object")
    hosts = resources.get("hosts") or [resources.get("current_host") or "algo-1"]
    current = resources.get("current_host") or hosts[0]
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ClientError("resourceconfig.json: 'hosts' must be a list of host names")
    hosts = sorted(set(hosts))
    if current not in hosts:
        raise ClientError(f"resourceconfig.json: current_host {current!r} is not one of the hosts {hosts}")
    return hosts, current


# -- checks before training -------------------------------------------------------------------


def _check_labels(data: ChannelData, hp: hps.Hyperparameters) -> None:
    """Labels the objective cannot take, refused with the channel and an example (XGBoost's own message is terse)."""
    labels, objective = data.labels, hp.objective
    bad, needs = None, None
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge", "reg:logistic"):
        bad, needs = (labels < 0) | (labels > 1), "labels in [0, 1] (binary: 0 or 1)"
    elif objective in ("multi:softmax", "multi:softprob"):
        bad = (labels < 0) | (labels >= hp.num_class) | (labels != np.rint(labels))
        needs = f"integer labels from 0 to num_class - 1 = {hp.num_class - 1}"
    elif objective in ("count:poisson", "reg:tweedie"):
        bad, needs = labels < 0, "labels ≥ 0"
    elif objective == "reg:gamma":
        bad, needs = labels <= 0, "labels > 0"
    elif objective == "reg:squaredlogerror":
        bad, needs = labels <= -1, "labels > -1"
    if bad is not None and bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ClientError(f"objective {objective} needs {needs}, but the {data.name} channel has {int(bad.sum())} "
                          f"row(s) outside that, the first with label {labels[row]:g} (row {row + 1})")


def _check_columns(train: ChannelData | None, validation: ChannelData | None) -> None:
    if train is None or validation is None or hasattr(train.features, "tocsr"):
        return  # libsvm rows name their features; absent ones are missing values
    if validation.columns != train.columns:
        raise ClientError(f"the validation channel has {validation.columns} feature column(s) and the train channel "
                          f"{train.columns}; both need the same features in the same order")


# -- XGBoost ----------------------------------------------------------------------------------


def _xgboost_message(error: Exception) -> str:
    lines = []
    for line in str(error).strip().splitlines():
        if line.startswith("Stack trace:"):
            break
        lines.append(_LOG_PREFIX.sub("", line.strip()))
    return " ".join(line for line in lines if line)[:600]


def _as_client_error(error: Exception) -> Exception:
    """A ClientError for XGBoost errors about the job's data or parameters; the error itself otherwise."""
    text = _xgboost_message(error)
    if any(phrase in text for phrase in _USER_ERRORS):
        return ClientError(f"XGBoost refused the training job: {text}")
    return error


def _dmatrix(data: ChannelData, columns: int | None):
    features = data.features
    if columns is not None and hasattr(features, "tocsr") and features.shape[1] < columns:
        features = features.copy()
        features.resize((features.shape[0], columns))  # libsvm: the features this file never names
    return xgb.DMatrix(features, label=data.labels, weight=data.weights, qid=data.qid, missing=np.nan)


def _save_model(booster, model_dir: Path) -> Path:
    """Write the model as model/xgboost-model, through a temporary file so no reader sees half of one."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / MODEL_NAME
    temporary = model_dir / f".{MODEL_NAME}.partial"
    temporary.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    os.replace(temporary, target)
    return target


def _score(value: Any) -> float:
    return float(value[0] if isinstance(value, tuple) else value)


class _EvaluationLog(xgb.callback.TrainingCallback):
    """Prints XGBoost's evaluation line each round, numbered from the model's first round (so a resumed
    job goes on counting), on the host that reports (rank 0), flushed at once for the log shipper."""

    def __init__(self, printing: bool):
        super().__init__()
        self.printing = printing

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        if self.printing and evals_log:
            line = f"[{model.num_boosted_rounds() - 1}]"
            for data_set, metrics in evals_log.items():
                for metric, values in metrics.items():
                    line += f"\t{data_set}-{metric}:{_score(values[-1]):.5f}"
            print(line, flush=True)
        return False


class _Checkpoints(xgb.callback.TrainingCallback):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        checkpoints.save_checkpoint(self.folder, model, model.num_boosted_rounds() - 1)
        return False


class _IntermediateModel(xgb.callback.TrainingCallback):
    """``save_model_on_termination``: the model of every round in the model folder."""

    def __init__(self, model_dir: Path):
        super().__init__()
        self.model_dir = model_dir

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        _save_model(model, self.model_dir)
        return False


def _exit_on_sigterm(model_dir: Path):
    """With ``save_model_on_termination``, a stop (SIGTERM) ends the job at once, keeping the last round's model.
    Returns the previous handler, to restore (None where handlers cannot be set: not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        print(f"Stopped: the model of the last finished round is {model_dir / MODEL_NAME}", flush=True)
        os._exit(0)

    return signal.signal(signal.SIGTERM, stop)


def _resume(folder: Path | None, is_distributed: bool) -> tuple[bytearray | None, int]:
    """The checkpoint to resume from, as (model, rounds done); in a group, the first host's, sent to all."""
    found = None
    if not is_distributed:
        found = checkpoints.latest_checkpoint(folder)
    else:
        from xgboost import collective

        # Every host must start from the same model, whatever its own checkpoint folder holds.
        # (The sender cannot send None: "none" travels as an empty tuple.)
        mine = (checkpoints.latest_checkpoint(folder) or ()) if collective.get_rank() == 0 else None
        found = collective.broadcast(mine, 0) or None
    if found is None:
        return None, 0
    data, done = found
    return bytearray(data), done


def _fit(hp: hps.Hyperparameters, train: ChannelData, validation: ChannelData | None, model_dir: Path,
         checkpoint_folder: Path | None, *, is_master: bool, is_distributed: bool) -> dict[str, Any]:
    columns = max(train.columns, validation.columns) if validation is not None else None
    try:
        dtrain = _dmatrix(train, columns)
        dvalidation = _dmatrix(validation, columns) if validation is not None else None
    except xgb.core.XGBoostError as error:
        raise _as_client_error(error) from None
    evals = [(dtrain, "train")] + ([(dvalidation, "validation")] if dvalidation is not None else [])
    _say(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns"
         + (f"; validation matrix has {dvalidation.num_row()} rows" if dvalidation is not None else ""))

    start_model, done = _resume(checkpoint_folder, is_distributed)
    if start_model is not None:
        _say(f"Resuming from checkpoint xgboost-checkpoint.{done - 1} in {checkpoint_folder}: {done} of "
             f"{hp.num_round} rounds done")

    callbacks: list = [_EvaluationLog(printing=is_master)]
    if checkpoint_folder is not None and is_master:
        callbacks.append(_Checkpoints(checkpoint_folder))
    if hp.save_model_on_termination and is_master:
        callbacks.append(_IntermediateModel(model_dir))
    if hp.early_stopping_rounds:
        if dvalidation is None:
            _say(f"early_stopping_rounds is {hp.early_stopping_rounds} but there is no validation channel to watch; "
                 f"training all {hp.num_round} rounds")
        else:
            metric = hp.early_stopping_metric
            _say(f"Will train until validation-{metric or 'metric'} hasn't improved in {hp.early_stopping_rounds} "
                 "rounds.")
            callbacks.append(xgb.callback.EarlyStopping(
                rounds=hp.early_stopping_rounds, metric_name=metric, data_name="validation",
                maximize=is_maximized(metric) if metric else None,
                save_best=hp.params.get("booster") != "gblinear",  # linear models cannot be cut to a round
            ))

    history: dict = {}
    previous_handler = _exit_on_sigterm(model_dir) if hp.save_model_on_termination else None
    try:
        booster = xgb.train(
            dict(hp.params), dtrain, num_boost_round=max(hp.num_round - done, 0), evals=evals,
            custom_metric=make_custom_metric(hp.custom_metrics, hp.objective), callbacks=callbacks,
            xgb_model=start_model, verbose_eval=False, evals_result=history,
        )
    except xgb.core.XGBoostError as error:
        raise _as_client_error(error) from None
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)

    best = booster.attr("best_iteration")
    if best is not None and dvalidation is not None and hp.early_stopping_rounds:
        _say(f"Best iteration: [{best}] (validation score {booster.attr('best_score')})")
    return {
        "booster": booster,
        "resumed_from": done,
        "best_iteration": int(best) if best is not None else None,
        "evaluation": {d: {m: _score(v[-1]) for m, v in metrics.items() if v} for d, metrics in history.items()},
    }


# -- the command ------------------------------------------------------------------------------


def run(root: Path) -> TrainingResult:
    """Train the XGBoost algorithm in the container at ``root``."""
    began = time.perf_counter()
    root = Path(root)
    ml = root / "opt" / "ml"
    config_dir, data_dir, model_dir = ml / "input" / "config", ml / "input" / "data", ml / "model"

    hp = hps.parse(read_json(config_dir / "hyperparameters.json", "hyperparameters.json", {}))
    data_config = read_data_config(config_dir, data_dir)
    hosts, current = _hosts(read_json(config_dir / "resourceconfig.json", "resourceconfig.json", {}) or {})
    for note in hp.notes:
        _say(note)

    train_format = content_format(data_config["train"].get("ContentType"), "train")
    validation_config = data_config.get("validation")
    validation_format = train_format
    if validation_config is not None and validation_config.get("ContentType"):
        validation_format = content_format(validation_config["ContentType"], "validation")
    train = read_channel(data_dir, "train", train_format, csv_weights=hp.csv_weights)
    validation = None
    if validation_config is not None:
        validation = read_channel(data_dir, "validation", validation_format, csv_weights=hp.csv_weights)
    for data in (train, validation):
        if data is not None:
            _check_labels(data, hp)
    _check_columns(train, validation)
    checkpoint_folder = checkpoints.checkpoint_dir(root)
    missing_validation = validation_config is not None and validation is None

    result = TrainingResult(host=current, hosts=[current], model_path=None)
    if len(hosts) == 1:
        if train is None:
            raise ClientError(f"the train channel has no data: no files under {data_dir / 'train'}")
        if missing_validation:
            raise ClientError(f"the validation channel has no data: no files under {data_dir / 'validation'}")
        _say("Single node training.")
        fitted = _fit(hp, train, validation, model_dir, checkpoint_folder, is_master=True, is_distributed=False)
        is_master = True
    else:
        if train is None or missing_validation:
            _say(f"Host {current} has no {'training' if train is None else 'validation'} data; it will take no part "
                 "in training. Divide the data so that every host has some (S3DataDistributionType ShardedByS3Key "
                 "with at least as many files as hosts, or FullyReplicated).")
        port = distributed.tracker_port()
        members = distributed.hosts_with_data(hosts, current, train is not None and not missing_validation, port)
        if not members:
            raise ClientError("no host of the job has training data: the train channel is empty on every host")
        if current not in members:
            result.hosts = members
            result.seconds = time.perf_counter() - began
            return result
        result.hosts = members
        if len(members) == 1:
            _say("Only one host has data: single node training.")
            fitted = _fit(hp, train, validation, model_dir, checkpoint_folder, is_master=True, is_distributed=False)
            is_master = True
        else:
            with distributed.communicator(members, current, port + 1) as rank:
                is_master = rank == 0
                _say(f"Host {current} is rank {rank} of {len(members)}")
                fitted = _fit(hp, train, validation, model_dir, checkpoint_folder, is_master=is_master,
                              is_distributed=True)

    booster = fitted["booster"]
    result.rounds = booster.num_boosted_rounds()
    result.resumed_from = fitted["resumed_from"]
    result.best_iteration = fitted["best_iteration"]
    result.evaluation = fitted["evaluation"]
    if is_master:
        result.model_path = _save_model(booster, model_dir)
        _say(f"Model saved to {result.model_path} ({result.rounds} rounds)")
    result.seconds = time.perf_counter() - began
    return result
