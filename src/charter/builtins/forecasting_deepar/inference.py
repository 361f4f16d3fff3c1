"""Forecasts from a trained DeepAR model, in the request and response formats of specs/deepar.md, section 4.

A JSON request (``application/json``) holds ``instances`` (series in the training format)
and an optional ``configuration``::

    {"instances": [{"start": "2009-11-01 00:00:00", "target": [4.0, 10.0, "NaN", 100.0]}],
     "configuration": {"num_samples": 50, "output_types": ["mean", "quantiles", "samples"],
                       "quantiles": ["0.5", "0.9"]}}

and gets ``{"predictions": [{"mean": [...], "quantiles": {"0.5": [...], ...}, "samples": [[...], ...]}]}``,
one prediction per instance in order, each array ``prediction_length`` long, for the points
starting at ``start + len(target)·freq``.  A JSON Lines request (batch transform) has one
series per line, takes its configuration from the environment variable
``DEEPAR_INFERENCE_CONFIG`` and gets one prediction per line.

Forecasts are deterministic: each series is sampled with a seed made from the model's seed
and the series itself, so the same series gets the same forecast whether it comes alone, in
a batch, over HTTP or from ``charter forecast predict``.  A problem with the request is a
:class:`RequestError` (HTTP 400) whose message names the instance and field at fault.
"""

from __future__ import annotations

import json
import math
import os
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charter.analytics.forecasting.frequency import Frequency, parse_frequency

from .. import ClientError
from .channels import parse_record
from .model_files import Summary, load_model

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_QUANTILES",
    "JSON",
    "JSONLINES",
    "OUTPUT_TYPES",
    "Forecaster",
    "InferenceConfig",
    "RequestError",
    "UnsupportedMediaType",
    "forecast_start",
    "parse_configuration",
    "time_index",
]

CONFIG_ENV = "DEEPAR_INFERENCE_CONFIG"
OUTPUT_TYPES = ("mean", "quantiles", "samples")
DEFAULT_QUANTILES = tuple(f"0.{i}" for i in range(1, 10))
JSON = "application/json"
JSONLINES = "application/jsonlines"
_JSONLINES_TYPES = {"application/jsonlines", "application/json-lines", "application/x-jsonlines", "application/jsonl"}
_CONFIG_KEYS = ("num_samples", "output_types", "quantiles")
MAX_SAMPLES = 10_000


class RequestError(ClientError):
    """The request cannot be answered as sent (HTTP 400); the message says what to change."""

    status = 400


class UnsupportedMediaType(RequestError):
    status = 415


@dataclass(frozen=True)
class InferenceConfig:
    """How many sample paths to draw and which statistics of them to return."""

    num_samples: int = 100
    output_types: tuple[str, ...] = ("mean", "quantiles")
    quantiles: tuple[str, ...] = DEFAULT_QUANTILES


def parse_configuration(obj: Any, where: str = "configuration", base: InferenceConfig | None = None) -> InferenceConfig:
    """A request's ``configuration`` object (missing keys from ``base``, else the defaults)."""
    base = base or InferenceConfig()
    if obj is None:
        return base
    if not isinstance(obj, Mapping):
        raise RequestError(f"{where} must be a JSON object with num_samples, output_types and quantiles")
    unknown = [k for k in obj if k not in _CONFIG_KEYS]
    if unknown:
        raise RequestError(f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(_CONFIG_KEYS)}")
    num_samples = obj.get("num_samples", base.num_samples)
    if isinstance(num_samples, str) and num_samples.strip().isdigit():
        num_samples = int(num_samples)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or not 1 <= num_samples <= MAX_SAMPLES:
        raise RequestError(f"{where}.num_samples must be an integer from 1 to {MAX_SAMPLES} (got {json.dumps(num_samples)})")
    output_types = obj.get("output_types", list(base.output_types))
    if isinstance(output_types, str):
        output_types = [output_types]
    if not isinstance(output_types, list) or not output_types or not all(isinstance(t, str) for t in output_types):
        raise RequestError(f"{where}.output_types must be a non-empty list drawn from {', '.join(OUTPUT_TYPES)}")
    for kind in output_types:
        if kind not in OUTPUT_TYPES:
            raise RequestError(f"{where}.output_types: {kind!r} is not one of {', '.join(OUTPUT_TYPES)}")
    quantiles = obj.get("quantiles", list(base.quantiles))
    if not isinstance(quantiles, list) or ("quantiles" in output_types and not quantiles):
        raise RequestError(f"{where}.quantiles must be a list of quantiles as strings, such as [\"0.1\", \"0.5\", \"0.9\"]")
    names = []
    for q in quantiles:
        text = q.strip() if isinstance(q, str) else (str(q) if isinstance(q, (int, float)) and not isinstance(q, bool) else None)
        try:
            value = float(text) if text is not None else math.nan
        except ValueError:
            value = math.nan
        if not 0 < value < 1:
            raise RequestError(f"{where}.quantiles: {json.dumps(q)} is not a quantile strictly between 0 and 1")
        names.append(text)
    return InferenceConfig(num_samples, tuple(dict.fromkeys(output_types)), tuple(dict.fromkeys(names)))


def config_from_environment(environ: Mapping[str, str] | None = None) -> InferenceConfig:
    """The batch-transform configuration from ``DEEPAR_INFERENCE_CONFIG`` (JSON; the defaults if unset)."""
    text = (environ if environ is not None else os.environ).get(CONFIG_ENV, "").strip()
    if not text:
        return InferenceConfig()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClientError(f"{CONFIG_ENV} is not valid JSON: {error}") from None
    try:
        return parse_configuration(document, CONFIG_ENV)
    except RequestError as error:
        raise ClientError(str(error)) from None


def forecast_start(start: pd.Timestamp, length: int, freq: Frequency) -> pd.Timestamp:
    """The time of the first forecast point of a series of ``length`` points: ``start + length·freq``."""
    return start + freq.offset * length


def time_index(start: pd.Timestamp, periods: int, freq: Frequency) -> pd.DatetimeIndex:
    """The times of ``periods`` points from ``start``, one step of ``freq`` apart."""
    return freq.index(start, periods)


def _series_seed(base: int, series) -> int:
    """A seed from the model's seed and the series' content (same series, same sample paths)."""
    digest = zlib.crc32(str(series.start).encode())
    digest = zlib.crc32(np.ascontiguousarray(series.target, dtype=np.float64).tobytes(), digest)
    if series.cat is not None:
        digest = zlib.crc32(np.asarray(series.cat, dtype=np.int64).tobytes(), digest)
    if series.dynamic_feat is not None:
        digest = zlib.crc32(np.ascontiguousarray(series.dynamic_feat, dtype=np.float64).tobytes(), digest)
    return (base * 1_000_003 + digest) % (2**63 - 1)


def _floats(values: np.ndarray) -> list:
    return np.asarray(values, dtype=np.float64).tolist()


class Forecaster:
    """A loaded model that turns request instances into predictions (thread-safe: one forecast at a time)."""

    def __init__(self, model, summary: Summary):
        self.model, self.summary = model, summary
        self.freq = parse_frequency(summary.time_freq)
        self.prediction_length = summary.prediction_length
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path) -> "Forecaster":
        model, summary = load_model(model_dir)
        return cls(model, summary)

    # --- instances ------------------------------------------------------------------

    def parse_instance(self, obj: Any, where: str):
        """One instance (training format) -> a Series the model can forecast, checked against what it was trained with."""
        cardinality, k = self.summary.cardinality, self.summary.num_dynamic_feat
        try:
            series = parse_record(obj, where, self.freq, use_cat=bool(cardinality), use_feat=bool(k),
                                  feat_horizon=self.prediction_length)
        except RequestError:
            raise
        except ClientError as error:
            raise RequestError(str(error)) from None
        if cardinality:
            cats = 0 if series.cat is None else len(series.cat)
            if cats != len(cardinality):
                raise RequestError(f"{where}: the model was trained with {len(cardinality)} categorical feature(s), "
                                   f"so 'cat' needs {len(cardinality)} value(s) (got {cats})")
            for i, (c, n) in enumerate(zip(series.cat, cardinality)):
                if c >= n:
                    raise RequestError(f"{where}: cat[{i}] = {c} was not seen in training (values 0..{n - 1})")
        if k:
            feats = 0 if series.dynamic_feat is None else series.dynamic_feat.shape[0]
            if feats != k:
                raise RequestError(f"{where}: the model was trained with {k} dynamic feature(s), so 'dynamic_feat' "
                                   f"needs {k} series of len(target) + {self.prediction_length} values (got {feats})")
        return series

    # --- forecasts ------------------------------------------------------------------

    def sample_paths(self, series_list: Sequence, num_samples: int) -> list[np.ndarray]:
        """(num_samples, prediction_length) sample paths per series, each seeded by its content."""
        out = []
        with self._lock:  # torch's random generator is process-wide
            for series in series_list:
                paths = self.model.forecast([series], num_samples=num_samples,
                                            seed=_series_seed(self.summary.seed, series))
                out.append(paths[0])
        return out

    def prediction(self, paths: np.ndarray, config: InferenceConfig) -> dict[str, Any]:
        """One prediction object from the sample paths of one series."""
        result: dict[str, Any] = {}
        for kind in config.output_types:
            if kind == "mean":
                result["mean"] = _floats(paths.mean(axis=0))
            elif kind == "quantiles":
                levels = np.quantile(paths, [float(q) for q in config.quantiles], axis=0)
                result["quantiles"] = {name: _floats(row) for name, row in zip(config.quantiles, levels)}
            elif kind == "samples":
                result["samples"] = _floats(paths)
        return result

    def predict(self, series_list: Sequence, config: InferenceConfig) -> list[dict[str, Any]]:
        return [self.prediction(p, config) for p in self.sample_paths(series_list, config.num_samples)]

    # --- wire formats ---------------------------------------------------------------

    def answer_json(self, body: bytes | str) -> dict[str, Any]:
        """The response document for an ``application/json`` request body."""
        document = _json(body, "the request body")
        if not isinstance(document, dict) or "instances" not in document:
            raise RequestError('the request body must be a JSON object {"instances": [...], "configuration": {...}}')
        unknown = [k for k in document if k not in ("instances", "configuration")]
        if unknown:
            raise RequestError(f"the request body has an unknown key {unknown[0]!r}; it takes instances and configuration")
        instances = document["instances"]
        if not isinstance(instances, list):
            raise RequestError("'instances' must be a list of series")
        config = parse_configuration(document.get("configuration"))
        series = [self.parse_instance(obj, f"instances[{i}]") for i, obj in enumerate(instances)]
        return {"predictions": self.predict(series, config)}

    def answer_jsonlines(self, body: bytes | str, config: InferenceConfig) -> str:
        """The JSON Lines response for a JSON Lines request body (one series per line)."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        series = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                series.append(self.parse_instance(_json(line, f"line {n}"), f"line {n}"))
        return "".join(json.dumps(p) + "\n" for p in self.predict(series, config))

    def answer(self, body: bytes, content_type: str | None, jsonlines_config: InferenceConfig) -> tuple[str, str]:
        """(response body, content type) for a request body of ``content_type``."""
        kind = (content_type or JSON).split(";")[0].strip().lower()
        if kind == JSON:
            return json.dumps(self.answer_json(body)), JSON
        if kind in _JSONLINES_TYPES:
            return self.answer_jsonlines(body, jsonlines_config), JSONLINES
        raise UnsupportedMediaType(f"Content-Type {content_type!r} is not supported; send {JSON} "
                                   f"(instances and configuration) or {JSONLINES} (one series per line)")


def _json(body: bytes | str, what: str) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise RequestError(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise RequestError(f"{what} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
