"""``hyperparameters.json`` for the DeepAR image: parsing, defaults and checks (specs/deepar.md, section 2).

Every value arrives as a string (the container contract, section 1).  :func:`parse` turns
the file's mapping into :class:`Hyperparameters`, refusing unknown names, missing required
ones and values of the wrong form or outside their range, each with a
:class:`~charter.builtins.ClientError` that names the hyperparameter and says what it
accepts.  ``cardinality`` and ``num_dynamic_feat`` may depend on the data (``auto``);
:func:`resolve_cardinality` and :func:`resolve_num_dynamic_feat` settle them once the
channels have been read.

The model's own defaults (``likelihood``, ``num_cells``, ``num_layers``, ...) live in one
place, the kernel's :class:`~charter.analytics.forecasting.deepar.DeepARConfig`, and are
read from it here; this module adds only what belongs to the image: the data-dependent
``auto``/``ignore`` values and the evaluation settings.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from charter.analytics.forecasting.deepar import DeepARConfig
from charter.analytics.forecasting.frequency import parse_frequency
from charter.analytics.forecasting.likelihoods import LIKELIHOODS
from charter.analytics.forecasting.metrics import DEFAULT_QUANTILES

from .. import ClientError
from ..config_files import hyperparameter_text

__all__ = [
    "AUTO",
    "IGNORE",
    "KNOWN",
    "REQUIRED",
    "Hyperparameters",
    "parse",
    "resolve_cardinality",
    "resolve_num_dynamic_feat",
]

AUTO, IGNORE = "auto", "ignore"
REQUIRED = ("time_freq", "prediction_length", "context_length", "epochs")
OPTIONAL = (
    "likelihood",
    "num_cells",
    "num_layers",
    "dropout_rate",
    "embedding_dimension",
    "cardinality",
    "num_dynamic_feat",
    "learning_rate",
    "mini_batch_size",
    "early_stopping_patience",
    "num_eval_samples",
    "test_quantiles",
)
KNOWN = REQUIRED + OPTIONAL
# Names the platform adds on its own: hyperparameter tuning passes the objective's name.
_PLATFORM = ("_tuning_objective_metric",)

_INTEGER = re.compile(r"^[+-]?\d+$")

# The kernel's defaults (specs/deepar.md section 2), for the hyperparameters the model takes as they are.
_MODEL = {f.name: f.default for f in fields(DeepARConfig) if f.default is not MISSING}


@dataclass(frozen=True)
class Hyperparameters:
    """DeepAR's hyperparameters, parsed; ``cardinality``/``num_dynamic_feat`` may still be ``auto``/``ignore``."""

    time_freq: str
    prediction_length: int
    context_length: int
    epochs: int
    likelihood: str = _MODEL["likelihood"]
    num_cells: int = _MODEL["num_cells"]
    num_layers: int = _MODEL["num_layers"]
    dropout_rate: float = _MODEL["dropout_rate"]
    embedding_dimension: int = _MODEL["embedding_dimension"]
    cardinality: str | tuple[int, ...] = AUTO  # "auto", "ignore" or categories per feature
    num_dynamic_feat: str | int = AUTO  # "auto", "ignore" or the count
    learning_rate: float = _MODEL["learning_rate"]
    mini_batch_size: int = _MODEL["mini_batch_size"]
    early_stopping_patience: int | None = _MODEL["early_stopping_patience"]
    num_eval_samples: int = 100
    test_quantiles: tuple[float, ...] = field(default=DEFAULT_QUANTILES)

    @property
    def uses_cat(self) -> bool:
        """Whether ``cat`` fields are read at all (not when cardinality is ``ignore``)."""
        return self.cardinality != IGNORE

    @property
    def uses_dynamic_feat(self) -> bool:
        return self.num_dynamic_feat != IGNORE


def _text(name: str, value: Any) -> str:
    """The value as the string SageMaker would have passed (lists are kept, as JSON)."""
    return hyperparameter_text(value, f"hyperparameter {name!r} must be a string", lists=True)


def _integer(name: str, text: str, minimum: int, maximum: int | None = None) -> int:
    if not _INTEGER.match(text):
        raise ClientError(f"hyperparameter {name!r} must be an integer {_bounds(minimum, maximum)} (got {text!r})")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        raise ClientError(f"hyperparameter {name!r} must be an integer {_bounds(minimum, maximum)} (got {value})")
    return value


def _bounds(minimum: int, maximum: int | None) -> str:
    return f"≥ {minimum}" if maximum is None else f"from {minimum} to {maximum}"


def _real(name: str, text: str, *, low: float, high: float, low_open: bool, high_open: bool) -> float:
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    try:
        value = float(text)
    except ValueError:
        raise ClientError(f"hyperparameter {name!r} must be a number in {interval} (got {text!r})") from None
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        raise ClientError(f"hyperparameter {name!r} must be a number in {interval} (got {text})")
    return value


def _likelihood(text: str) -> str:
    by_lower = {name.lower(): name for name in LIKELIHOODS}
    name = by_lower.get(text.lower())
    if name is None:
        raise ClientError(f"hyperparameter 'likelihood' must be one of {', '.join(LIKELIHOODS)} (got {text!r})")
    return name


def _time_freq(text: str) -> str:
    try:
        return parse_frequency(text).name
    except ValueError as error:
        raise ClientError(f"hyperparameter {error}") from None


def _cardinality(text: str) -> str | tuple[int, ...]:
    if text.lower() == AUTO:
        return AUTO
    if text == "" or text.lower() == IGNORE:
        return IGNORE
    expected = "'auto', 'ignore' (or \"\") or a JSON list of positive integers such as [3, 10]"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ClientError(f"hyperparameter 'cardinality' must be {expected} (got {text!r})") from None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        raise ClientError(f"hyperparameter 'cardinality' must be {expected} (got {text!r})")
    return tuple(value)


def _num_dynamic_feat(text: str) -> str | int:
    if text.lower() == AUTO:
        return AUTO
    if text == "" or text.lower() == IGNORE:
        return IGNORE
    if not _INTEGER.match(text) or int(text) < 0:
        raise ClientError(f"hyperparameter 'num_dynamic_feat' must be 'auto', 'ignore' (or \"\") or an integer ≥ 0 (got {text!r})")
    return int(text)


def _quantiles(text: str) -> tuple[float, ...]:
    expected = "a JSON list of numbers strictly between 0 and 1, such as [0.1, 0.5, 0.9]"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ClientError(f"hyperparameter 'test_quantiles' must be {expected} (got {text!r})") from None
    if not isinstance(value, list) or not value:
        raise ClientError(f"hyperparameter 'test_quantiles' must be {expected} (got {text!r})")
    quantiles = []
    for q in value:
        if isinstance(q, str):
            try:
                q = float(q)
            except ValueError:
                raise ClientError(f"hyperparameter 'test_quantiles' must be {expected} (got {text!r})") from None
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ClientError(f"hyperparameter 'test_quantiles' must be {expected} (got {text!r})")
        quantiles.append(float(q))
    return tuple(quantiles)


def parse(raw: Mapping[str, Any]) -> Hyperparameters:
    """``hyperparameters.json``'s mapping -> :class:`Hyperparameters`; ClientError names any bad one."""
    if not isinstance(raw, Mapping):
        raise ClientError("hyperparameters.json must hold a JSON object of name -> value")
    for name in raw:
        if name not in KNOWN and name not in _PLATFORM:
            close = difflib.get_close_matches(str(name), KNOWN, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ClientError(f"unknown hyperparameter {name!r}{hint}; DeepAR's hyperparameters are: {', '.join(KNOWN)}")
    missing = [name for name in REQUIRED if name not in raw]
    if missing:
        raise ClientError(
            f"missing required hyperparameter{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; "
            f"DeepAR requires {', '.join(REQUIRED)}"
        )
    text = {name: _text(name, value) for name, value in raw.items() if name in KNOWN}
    values: dict[str, Any] = {
        "time_freq": _time_freq(text["time_freq"]),
        "prediction_length": _integer("prediction_length", text["prediction_length"], 1),
        "context_length": _integer("context_length", text["context_length"], 1),
        "epochs": _integer("epochs", text["epochs"], 1),
    }
    parsers = {
        "likelihood": _likelihood,
        "num_cells": lambda t: _integer("num_cells", t, 1),
        "num_layers": lambda t: _integer("num_layers", t, 1),
        "dropout_rate": lambda t: _real("dropout_rate", t, low=0.0, high=1.0, low_open=False, high_open=True),
        "embedding_dimension": lambda t: _integer("embedding_dimension", t, 1),
        "cardinality": _cardinality,
        "num_dynamic_feat": _num_dynamic_feat,
        "learning_rate": lambda t: _real("learning_rate", t, low=0.0, high=1.0, low_open=True, high_open=False),
        "mini_batch_size": lambda t: _integer("mini_batch_size", t, 1),
        "early_stopping_patience": lambda t: _integer("early_stopping_patience", t, 1),
        "num_eval_samples": lambda t: _integer("num_eval_samples", t, 1),
        "test_quantiles": _quantiles,
    }
    for name, parser in parsers.items():
        if name in text:
            values[name] = parser(text[name])
    return Hyperparameters(**values)


def resolve_cardinality(hp: Hyperparameters, cat_count: int, cat_max: list[int], where: str) -> list[int]:
    """Categories per ``cat`` feature for the model, from the hyperparameter and the training data.

    ``cat_count`` is the number of ``cat`` values every training series has (0 if none),
    ``cat_max`` the largest value seen per feature, ``where`` names the training channel.
    ``auto`` takes ``max + 1`` per feature; ``ignore`` uses none; an explicit list must
    match the data.
    """
    if hp.cardinality == IGNORE:
        return []
    if hp.cardinality == AUTO:
        return [m + 1 for m in cat_max] if cat_count else []
    given = list(hp.cardinality)
    if cat_count == 0:
        raise ClientError(
            f"hyperparameter 'cardinality' is {json.dumps(given)}, but the series in {where} have no 'cat' field; "
            "add 'cat' to every series or set cardinality to 'ignore'"
        )
    if cat_count != len(given):
        raise ClientError(
            f"hyperparameter 'cardinality' lists {len(given)} categorical feature(s), but the series in {where} "
            f"have {cat_count} 'cat' value(s) each"
        )
    for i, (limit, seen) in enumerate(zip(given, cat_max)):
        if seen >= limit:
            raise ClientError(
                f"hyperparameter 'cardinality'[{i}] is {limit}, but {where} has cat[{i}] = {seen} "
                f"(values must be 0..{limit - 1}; 'auto' would use {seen + 1})"
            )
    return given


def resolve_num_dynamic_feat(hp: Hyperparameters, feat_count: int, where: str) -> int:
    """Dynamic features the model uses: ``auto`` takes the data's count, ``ignore`` none, an integer must match."""
    if hp.num_dynamic_feat == IGNORE:
        return 0
    if hp.num_dynamic_feat == AUTO:
        return feat_count
    if hp.num_dynamic_feat != feat_count:
        raise ClientError(
            f"hyperparameter 'num_dynamic_feat' is {hp.num_dynamic_feat}, but the series in {where} have "
            f"{feat_count} dynamic_feat series each; set it to {feat_count}, 'auto' or 'ignore'"
        )
    return feat_count
