"""``hyperparameters.json`` for the XGBoost algorithm: the names, forms, ranges and cross-checks SageMaker applies.

Every value arrives as a string (specs/containers.md, section 1).  :func:`parse` checks
them the way SageMaker's XGBoost 1.7 container does (aws/sagemaker-xgboost-container,
``algorithm_mode/hyperparameter_validation.py``): ``num_round`` is required, only known
names are accepted (``learning_rate``, ``min_split_loss``, ``reg_lambda`` and ``reg_alpha``
as aliases), each value must have its type and lie in its range, and some combinations
are refused (``multi:*`` objectives need ``num_class``; ``auc`` needs a binary or ranking
objective; ...).  Each refusal is a :class:`~charter.builtins.ClientError` naming the
hyperparameter and what it accepts.

Where Charter departs from the container, it is to say more or to fit the XGBoost it runs
(3.x, where the container ran 1.7):

- hyperparameters that XGBoost 2 and later no longer read (``predictor``, ``sketch_eps``,
  ``single_precision_histogram``, ...) are accepted and left out, with a note in the log;
  ``tree_method=gpu_hist`` trains with ``hist`` (this is XGBoost's CPU build) and the
  removed ``reg:linear`` objective is its successor ``reg:squarederror``;
- ``monotone_constraints`` and ``interaction_constraints`` need no explicit ``tree_method``
  (XGBoost's default is now ``hist``, which supports both), and interaction constraints
  may name feature 0;
- ``max_bin`` must be at least 2 (XGBoost's own bound), ``objective`` does not accept
  ``aft_loss_distribution`` (a hyperparameter of its own), and ``_tuning_objective_metric``
  may also be a ``train:`` metric;
- Autopilot's cross-validation hyperparameters (``_kfold``, ``_num_cv_round``) and Dask GPU
  training are refused rather than run.

:func:`parse` returns :class:`Hyperparameters`: ``num_round`` and the container's own
settings apart, and ``params``, the dictionary ``xgboost.train`` receives.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import ClientError
from ..config_files import hyperparameter_text
from .metric_definitions import DATA_SETS, MAXIMIZE, METRICS, MINIMIZE

__all__ = ["CUSTOM_METRICS", "KNOWN", "OBJECTIVES", "Hyperparameters", "parse"]

# Metrics the container computes itself rather than XGBoost (custom_metrics.py); every other
# metric name goes to XGBoost's eval_metric.  rmse and mae are XGBoost's own here.
CUSTOM_METRICS = (
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "precision", "precision_macro",
    "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip
OBJECTIVES = (
    "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
    "reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror", "reg:tweedie", "survival:aft",
    "survival:cox",
)  # fmt: skip
DEFAULT_OBJECTIVE = "reg:squarederror"  # XGBoost's, when none is given
_MULTICLASS = ("multi:softmax", "multi:softprob")

_ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
# Accepted (the container and AWS's hyperparameter page list them) but read by no XGBoost since 2.0.
_NO_LONGER_READ = (
    "predictor", "sketch_eps", "dsplit", "lambda_bias", "deterministic_histogram", "single_precision_histogram",
    "prob_buffer_row",
)  # fmt: skip
# The container's settings: they shape the run, not the booster.
_OWN = ("num_round", "csv_weights", "early_stopping_rounds", "save_model_on_termination", "eval_metric",
        "_tuning_objective_metric", "use_dask_gpu_training")
_INTEGER = re.compile(r"^[+-]?\d+$")

_TREE_UPDATERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
                  "grow_quantile_histmaker")
_TREE_GROWERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "grow_quantile_histmaker")
_LINEAR_UPDATERS = ("shotgun", "coord_descent")
_THRESHOLD_METRICS = ("error", "ndcg", "map")  # the metrics that take "@t"


@dataclass(frozen=True)
class Hyperparameters:
    """The job's hyperparameters, checked: the run's settings, and ``params`` for ``xgboost.train``."""

    num_round: int
    params: dict[str, Any]  # booster parameters, eval_metric (XGBoost's metrics) included
    custom_metrics: tuple[str, ...] = ()  # metrics the image computes (custom_metrics.py)
    early_stopping_rounds: int | None = None
    early_stopping_metric: str | None = None  # None: the last metric XGBoost reports
    csv_weights: bool = False
    save_model_on_termination: bool = False
    notes: tuple[str, ...] = field(default=())  # adjustments to this XGBoost, for the log

    @property
    def objective(self) -> str:
        return self.params.get("objective", DEFAULT_OBJECTIVE)

    @property
    def num_class(self) -> int | None:
        return self.params.get("num_class")


# -- value forms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Interval:
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return not (below or above)

    def __str__(self) -> str:
        low = "(-inf" if self.low is None else f"{'(' if self.low_open else '['}{self.low:g}"
        high = "+inf)" if self.high is None else f"{self.high:g}{')' if self.high_open else ']'}"
        return f"{low}, {high}"


def _integer(interval: _Interval) -> Callable[[str, str], int]:
    def parse_integer(name: str, text: str) -> int:
        if not _INTEGER.match(text) or int(text) not in interval:
            raise ClientError(f"Hyperparameter {name} must be an integer in {interval} (got {text!r})")
        return int(text)

    return parse_integer


def _number(interval: _Interval) -> Callable[[str, str], float]:
    def parse_number(name: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value not in interval:
            raise ClientError(f"Hyperparameter {name} must be a number in {interval} (got {text!r})")
        return value

    return parse_number


def _choice(*values: str) -> Callable[[str, str], str]:
    def parse_choice(name: str, text: str) -> str:
        if text not in values:
            close = difflib.get_close_matches(text, values, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ClientError(f"Hyperparameter {name} must be one of {', '.join(values)} (got {text!r}){hint}")
        return text

    return parse_choice


def _eval_metric(name: str, text: str) -> tuple[str, ...]:
    metrics = tuple(m.strip() for m in text.split(","))
    for metric in metrics:
        if "@" in metric:
            base, _, threshold = metric.partition("@")
            if base not in _THRESHOLD_METRICS:
                raise ClientError(f"Hyperparameter eval_metric: {metric!r} is not supported; only "
                                  f"{', '.join(_THRESHOLD_METRICS)} take a threshold ('error@0.7', 'ndcg@5')")
            try:
                float(threshold)
            except ValueError:
                raise ClientError(f"Hyperparameter eval_metric: the threshold in {metric!r} must be a number") from None
        elif metric not in METRICS:
            close = difflib.get_close_matches(metric, METRICS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ClientError(f"Hyperparameter eval_metric: {metric!r} is not a metric the XGBoost algorithm "
                              f"computes{hint}; it computes {', '.join(METRICS)}")
    return metrics


def _updater(name: str, text: str) -> tuple[str, ...]:
    updaters = tuple(u.strip() for u in text.split(","))
    known = _TREE_UPDATERS + _LINEAR_UPDATERS
    unknown = [u for u in updaters if u not in known]
    if unknown:
        raise ClientError(f"Hyperparameter updater: {', '.join(map(repr, unknown))} not known; the updaters are "
                          f"{', '.join(known)}")
    return updaters


def _literal(name: str, text: str, expected: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ClientError(f"Hyperparameter {name} must be {expected} (got {text!r})") from None


def _monotone_constraints(name: str, text: str) -> tuple[int, ...]:
    expected = "a tuple of -1, 0 and 1, one per feature, such as (1,0,-1)"
    value = _literal(name, text, expected)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(type(v) is int and v in (-1, 0, 1) for v in value):
        raise ClientError(f"Hyperparameter {name} must be {expected} (got {text!r})")
    return tuple(value)


def _interaction_constraints(name: str, text: str) -> tuple[tuple[int, ...], ...]:
    expected = "a list of lists of feature indices (from 0), such as [[0,1],[2,3,4]]"
    value = _literal(name, text, expected)
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(group, (list, tuple)) and all(type(i) is int and i >= 0 for i in group) for group in value
    ):
        raise ClientError(f"Hyperparameter {name} must be {expected} (got {text!r})")
    return tuple(tuple(group) for group in value)


_TUNING_METRICS = tuple(f"{d}:{m}" for d in DATA_SETS for m in METRICS)


def _tuning_metric(name: str, text: str) -> str:
    if text not in _TUNING_METRICS:
        raise ClientError(f"Hyperparameter {name} must be one of the algorithm's metrics, such as validation:auc "
                          f"or validation:rmse (got {text!r})")
    return text


def _not_supported(what: str) -> Callable[[str, str], Any]:
    def refuse(name: str, text: str) -> Any:
        raise ClientError(f"Hyperparameter {name} ({what}) is not supported by Charter's XGBoost algorithm")

    return refuse


def _dask(name: str, text: str) -> str:
    if _choice("true", "false")(name, text) == "true":
        raise ClientError("Hyperparameter use_dask_gpu_training=true needs GPU instances; Charter's XGBoost image is "
                          "XGBoost's CPU build, so leave it out or set it to false")
    return text


_NONNEGATIVE = _Interval(low=0)
_UNIT = _Interval(low=0, high=1)
_FRACTION = _Interval(low=0, high=1, low_open=True)  # (0, 1]
_AT_LEAST_1 = _Interval(low=1)
_BOOL = _choice("true", "false")

_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "num_round": _integer(_AT_LEAST_1),
    "csv_weights": _integer(_Interval(low=0, high=1)),
    "early_stopping_rounds": _integer(_AT_LEAST_1),
    "booster": _choice("gbtree", "gblinear", "dart"),
    "verbosity": _integer(_Interval(low=0, high=3)),
    "nthread": _integer(_AT_LEAST_1),
    "eta": _number(_UNIT),
    "gamma": _number(_NONNEGATIVE),
    "max_depth": _integer(_NONNEGATIVE),
    "min_child_weight": _number(_NONNEGATIVE),
    "max_delta_step": _number(_NONNEGATIVE),
    "subsample": _number(_FRACTION),
    "colsample_bytree": _number(_FRACTION),
    "colsample_bylevel": _number(_FRACTION),
    "colsample_bynode": _number(_FRACTION),
    "lambda": _number(_NONNEGATIVE),
    "alpha": _number(_NONNEGATIVE),
    "tree_method": _choice("auto", "exact", "approx", "hist", "gpu_hist"),
    "sketch_eps": _number(_Interval(low=0, high=1, low_open=True, high_open=True)),
    "scale_pos_weight": _number(_Interval(low=0, low_open=True)),
    "updater": _updater,
    "dsplit": _choice("row", "col"),
    "refresh_leaf": _integer(_Interval(low=0, high=1)),
    "process_type": _choice("default", "update"),
    "grow_policy": _choice("depthwise", "lossguide"),
    "max_leaves": _integer(_NONNEGATIVE),
    "max_bin": _integer(_Interval(low=2)),
    "predictor": _choice("auto", "cpu_predictor", "gpu_predictor"),
    "monotone_constraints": _monotone_constraints,
    "interaction_constraints": _interaction_constraints,
    "sample_type": _choice("uniform", "weighted"),
    "normalize_type": _choice("tree", "forest"),
    "rate_drop": _number(_UNIT),
    "one_drop": _integer(_Interval(low=0, high=1)),
    "skip_drop": _number(_UNIT),
    "lambda_bias": _number(_UNIT),
    "tweedie_variance_power": _number(_Interval(low=1, high=2, low_open=True, high_open=True)),
    "objective": _choice(*OBJECTIVES),
    "num_class": _integer(_Interval(low=2)),
    "base_score": _number(_NONNEGATIVE),
    "_kfold": _not_supported("Autopilot's cross-validation"),
    "_num_cv_round": _not_supported("Autopilot's cross-validation"),
    "_tuning_objective_metric": _tuning_metric,
    "eval_metric": _eval_metric,
    "seed": _integer(_Interval(low=-(2**31), high=2**31 - 1, low_open=True, high_open=True)),
    "num_parallel_tree": _integer(_AT_LEAST_1),
    "save_model_on_termination": _BOOL,
    "aft_loss_distribution": _choice("normal", "logistic", "extreme"),
    "aft_loss_distribution_scale": _number(_NONNEGATIVE),
    "deterministic_histogram": _BOOL,
    "single_precision_histogram": _BOOL,
    "sampling_method": _choice("uniform", "gradient_based"),
    "prob_buffer_row": _integer(_Interval(low=1, low_open=True)),
    "use_dask_gpu_training": _dask,
}
KNOWN = tuple(sorted(_PARSERS))
_NUM_ROUND_HELP = "the number of boosting rounds to run, an integer of at least 1"


def _text(name: str, value: Any) -> str:
    """The value as SageMaker passes it, a string."""
    return hyperparameter_text(value, f"Hyperparameter {name} must be a string")


def _canonical_names(raw: Mapping[str, Any]) -> dict[str, str]:
    """Names with aliases resolved, platform keys dropped; unknown names refused."""
    texts: dict[str, str] = {}
    for given, value in raw.items():
        name = _ALIASES.get(given, given)
        if name not in _PARSERS:
            if str(given).startswith("sagemaker_"):
                continue  # the SDK's and the platform's own settings, not the algorithm's
            close = difflib.get_close_matches(str(given), KNOWN + tuple(_ALIASES), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            # The list leaves out what nobody sets by hand: the platform's names and those XGBoost no longer reads.
            listed = [n for n in KNOWN if not n.startswith("_") and n not in _NO_LONGER_READ]
            raise ClientError(f"Hyperparameter {given} is not a hyperparameter of the XGBoost algorithm.{hint} "
                              f"Its hyperparameters are: {', '.join(listed)}")
        if name in texts:
            alias = next(a for a, n in _ALIASES.items() if n == name)
            raise ClientError(f"Hyperparameters {name} and {alias} are the same setting; give only one of them")
        texts[name] = _text(given, value)
    return texts


def _check_combinations(values: dict[str, Any]) -> None:
    """The container's cross-checks between hyperparameters (with the departures in the module docstring)."""
    objective = values.get("objective", DEFAULT_OBJECTIVE)
    num_class = values.get("num_class")
    if objective in _MULTICLASS and num_class is None:
        raise ClientError(f"Hyperparameter num_class is required when objective is {objective}: set it to the "
                          "number of classes (labels are 0 .. num_class-1)")
    if num_class is not None and objective not in _MULTICLASS:
        raise ClientError(f"Hyperparameter num_class is only for multi-class objectives (multi:softmax, "
                          f"multi:softprob); objective is {objective}, so leave num_class out")
    metrics = values.get("eval_metric", ())
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        raise ClientError(f"Hyperparameter eval_metric: 'auc' is for binary classification and ranking objectives "
                          f"(binary:*, rank:*), not {objective}")
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise ClientError(f"Hyperparameter eval_metric: 'aft-nloglik' needs objective survival:aft, not {objective}")

    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in (None, "auto", "exact", "hist", "gpu_hist"):
        raise ClientError(f"Hyperparameter monotone_constraints needs tree_method exact or hist, not {tree_method}")
    if "interaction_constraints" in values and tree_method not in (None, "auto", "exact", "hist", "approx", "gpu_hist"):
        raise ClientError(
            f"Hyperparameter interaction_constraints needs tree_method exact, hist or approx, not {tree_method}"
        )

    updaters = values.get("updater")
    if updaters:
        if values.get("booster") == "gblinear":
            if len(updaters) != 1 or updaters[0] not in _LINEAR_UPDATERS:
                raise ClientError(f"Hyperparameter updater: the gblinear booster takes exactly one of "
                                  f"{', '.join(_LINEAR_UPDATERS)} (got {','.join(updaters)})")
        elif values.get("process_type") == "update":
            if not all(u in ("refresh", "prune") for u in updaters):
                raise ClientError("Hyperparameter updater: with process_type=update only refresh and prune apply "
                                  f"(got {','.join(updaters)})")
        else:
            linear = [u for u in updaters if u not in _TREE_UPDATERS]
            if linear:
                raise ClientError(f"Hyperparameter updater: {', '.join(linear)} is for the gblinear booster; tree "
                                  f"boosters take {', '.join(_TREE_UPDATERS)}")
            growers = [u for u in updaters if u in _TREE_GROWERS]
            if len(growers) > 1:
                raise ClientError(f"Hyperparameter updater: choose one tree grower, not {', '.join(growers)} "
                                  f"(the growers are {', '.join(_TREE_GROWERS)})")


def _metrics(values: dict[str, Any]) -> tuple[list[str], str | None]:
    """The metrics to evaluate (eval_metric with the tuning objective's) and the one early stopping watches."""
    metrics = list(values.get("eval_metric", ()))
    tuning = values.get("_tuning_objective_metric")
    tuning_metric = tuning.split(":", 1)[1] if tuning else None
    if tuning_metric and tuning_metric not in metrics:
        # Sorted, as the container does, so every host of a distributed job evaluates in one order.
        metrics = sorted(set(metrics) | {tuning_metric})
    watched = tuning_metric or (values["eval_metric"][-1] if values.get("eval_metric") else None)
    return metrics, watched


def parse(raw: Mapping[str, Any]) -> Hyperparameters:
    """``hyperparameters.json``'s mapping -> :class:`Hyperparameters`; a ClientError names any bad value."""
    if not isinstance(raw, Mapping):
        raise ClientError("hyperparameters.json must hold a JSON object of hyperparameter name -> value")
    texts = _canonical_names(raw)
    if "num_round" not in texts:
        raise ClientError(f"Hyperparameter num_round is required: {_NUM_ROUND_HELP}")
    values = {name: _PARSERS[name](name, text) for name, text in texts.items()}
    _check_combinations(values)

    notes: list[str] = []
    params: dict[str, Any] = {}
    for name, value in values.items():
        if name in _OWN:
            continue
        if name in _NO_LONGER_READ:
            notes.append(f"Hyperparameter {name} is not read by XGBoost 2 and later; it is ignored")
            continue
        if name == "tree_method" and value == "gpu_hist":
            notes.append("tree_method gpu_hist: this is XGBoost's CPU build, training with tree_method hist")
            value = "hist"
        elif name == "objective" and value == "reg:linear":
            notes.append("objective reg:linear is reg:squarederror in XGBoost 2 and later")
            value = "reg:squarederror"
        elif name == "updater":
            value = ",".join(value)
        elif name == "monotone_constraints":
            value = "(" + ",".join(str(v) for v in value) + ")"
        elif name == "interaction_constraints":
            value = json.dumps([list(group) for group in value])
        params[name] = value

    metrics, watched = _metrics(values)
    builtin = [m for m in metrics if m not in CUSTOM_METRICS]
    if builtin:
        params["eval_metric"] = builtin
    return Hyperparameters(
        num_round=values["num_round"],
        params=params,
        custom_metrics=tuple(m for m in metrics if m in CUSTOM_METRICS),
        early_stopping_rounds=values.get("early_stopping_rounds"),
        early_stopping_metric=watched,
        csv_weights=values.get("csv_weights", 0) == 1,
        save_model_on_termination=values.get("save_model_on_termination") == "true",
        notes=tuple(notes),
    )


assert set(CUSTOM_METRICS) <= set(MAXIMIZE) | set(MINIMIZE)
