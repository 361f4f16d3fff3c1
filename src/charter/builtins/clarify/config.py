"""``analysis_config.json``: reading and checking a SageMaker Clarify analysis configuration.

The file is the one the SageMaker Python SDK's ``SageMakerClarifyProcessor`` writes and
the SageMaker Developer Guide describes ("Analysis configuration files"): the dataset
(``dataset_type``, ``headers``, ``label``, ``features``, ``excluded_columns``,
``joinsource_name_or_index``), the bias settings (``label_values_or_threshold``,
``facet``, ``group_variable``, ``probability_threshold``), ``methods``
(``pre_training_bias``, ``post_training_bias``, ``shap``, ``pdp``, ``report``) and the
``predictor`` that gives the model's predictions.

Everything is checked before any data is read, here and only here: the kernels get
typed configurations (:class:`~charter.analytics.explain.ShapConfig`,
:class:`~charter.analytics.explain.PdpConfig`) and trust them.  Every problem is a
:class:`ValidationError` whose message names the field at fault, e.g.
``analysis_config.json: methods.shap.agg_method must be one of mean_abs, median,
mean_sq (got 'max')``.  Keys Clarify defines but Charter does not implement (computer
vision, NLP, time series, a separate predicted-label dataset) are refused by name rather
than silently ignored; unknown keys are refused as likely typos.

``predictor.model_name`` names a SageMaker model, whose artifact the built-in fetches and
calls in process instead of deploying a shadow endpoint (see ``predictor.py``).  Charter
extension: ``predictor.model_path`` names a model file in the job instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.analytics.bias.report import ALIASES, POSTTRAINING_METRICS, PRETRAINING_METRICS
from charter.analytics.explain import AGG_METHODS, PdpConfig, ShapConfig

from .. import ClientError

CONFIG_NAME = "analysis_config.json"

# Dataset formats (analysis_config.json ``dataset_type``).
CSV = "text/csv"
JSONLINES = "application/jsonlines"
PARQUET = "application/x-parquet"
SUPPORTED_DATASET_TYPES = (CSV, JSONLINES, PARQUET)
_UNSUPPORTED_DATASET_TYPES = {
    "application/json": "JSON datasets (with JMESPath features) are not supported yet; use text/csv, "
    "application/jsonlines or application/x-parquet",
    "application/x-image": "computer vision explainability is not supported",
}

_TOP_LEVEL = (
    "version",
    "dataset_type",
    "dataset_uri",
    "headers",
    "label",
    "features",
    "label_values_or_threshold",
    "probability_threshold",
    "facet",
    "group_variable",
    "excluded_columns",
    "joinsource_name_or_index",
    "predicted_label",
    "methods",
    "predictor",
    "report",
)
_TOP_LEVEL_UNSUPPORTED = {
    "predicted_label_dataset_uri": "a separate predicted-label dataset is not supported; put the predicted "
    "labels in a column of the dataset and name it in predicted_label",
    "predicted_label_headers": "a separate predicted-label dataset is not supported; put the predicted "
    "labels in a column of the dataset and name it in predicted_label",
    "time_series_data_config": "time series explainability is not supported",
    "segment_config": "report segments are not supported",
}
_METHODS = ("pre_training_bias", "post_training_bias", "shap", "pdp", "report")
_METHODS_UNSUPPORTED = {"asymmetric_shapley_value": "time series explainability is not supported"}
_BIAS_KEYS = ("methods",)
_SHAP_KEYS = (
    "baseline",
    "num_clusters",
    "num_samples",
    "agg_method",
    "use_logit",
    "save_local_shap_values",
    "seed",
    "features_to_explain",
)
_SHAP_UNSUPPORTED = {
    "text_config": "NLP explainability is not supported: only tabular data is explained",
    "image_config": "computer vision explainability is not supported: only tabular data is explained",
}
_PDP_KEYS = ("features", "grid_resolution", "top_k_features")
_REPORT_KEYS = ("name", "title")
_PREDICTOR_KEYS = (
    "model_path",
    "model_name",
    "endpoint_name",
    "endpoint_name_prefix",
    "instance_type",
    "initial_instance_count",
    "accelerator_type",
    "serverless_config",
    "content_type",
    "accept_type",
    "content_template",
    "record_template",
    "custom_attributes",
    "label",
    "probability",
    "label_headers",
    "target_model",
)
_PREDICTOR_FORMATS = (CSV, JSONLINES, "application/json", PARQUET)

DEFAULT_PROBABILITY_THRESHOLD = 0.5
DEFAULT_REPORT_NAME = "report"
DEFAULT_REPORT_TITLE = "Analysis Report"


class ValidationError(ClientError):
    """A problem with the analysis configuration; ``field`` is the dotted path of the culprit."""

    def __init__(self, field_name: str | None, problem: str):
        self.field = field_name
        self.problem = problem
        where = f"{field_name} " if field_name else ""
        super().__init__(f"{CONFIG_NAME}: {where}{problem}")


# --------------------------------------------------------------------------- value checks


def _fail(field_name: str | None, problem: str) -> ValidationError:
    return ValidationError(field_name, problem)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _object(value: Any, field_name: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise _fail(field_name, f"must be a JSON object (got {_kind(value)})")
    return value


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _known_keys(value: Mapping, field_name: str | None, known: Sequence[str], unsupported: Mapping[str, str] = {}) -> None:
    prefix = f"{field_name}." if field_name else ""
    for key in value:
        if key in unsupported:
            raise _fail(f"{prefix}{key}", f"is not supported: {unsupported[key]}")
        if key not in known:
            where = f"a {field_name} setting" if field_name else "an analysis configuration setting"
            raise _fail(f"{prefix}{key}", f"is not {where}; expected one of: {', '.join(known)}")


def _string(value: Any, field_name: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _fail(field_name, f"must be a non-empty string (got {value!r})")
    return value


def _name_or_index(value: Any, field_name: str) -> str | int:
    """A column given by name (string) or by zero-based index (integer)."""
    if isinstance(value, str) and value.strip():
        return value
    if _is_int(value) and value >= 0:
        return value
    raise _fail(field_name, f"must be a column name or a zero-based column index (got {value!r})")


def _values_or_threshold(value: Any, field_name: str) -> list:
    """A list of values (categorical column) or a single threshold (continuous column)."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _fail(field_name, "must list at least one value (or give one threshold)")
    for i, item in enumerate(values):
        if not (isinstance(item, (str, bool)) or _is_number(item)):
            raise _fail(f"{field_name}[{i}]", f"must be a string, number or boolean (got {item!r})")
    return list(values)


def _boolean(value: Any, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(field_name, f"must be true or false (got {value!r})")
    return value


def _positive_int(value: Any, field_name: str) -> int:
    if not _is_int(value) or value < 1:
        raise _fail(field_name, f"must be a positive integer (got {value!r})")
    return value


def _feature_list(value: Any, field_name: str) -> tuple:
    if not isinstance(value, list) or not value:
        raise _fail(field_name, f"must be a non-empty list of feature names or indices (got {value!r})")
    seen = set()
    for i, item in enumerate(value):
        _name_or_index(item, f"{field_name}[{i}]")
        if item in seen:
            raise _fail(field_name, f"lists {item!r} twice")
        seen.add(item)
    return tuple(value)


# --------------------------------------------------------------------------- the configuration


@dataclass(frozen=True)
class Facet:
    """One sensitive attribute: its column and the sensitive value(s) or threshold (None: every value)."""

    name_or_index: str | int
    value_or_threshold: list | None = None


@dataclass(frozen=True)
class Predictor:
    """Where predictions come from.

    ``model_path``: a model file (Charter).  ``model_name``: a SageMaker model, whose
    artifact is fetched and loaded (``predictor.py``).  ``endpoint_name``: an endpoint
    (refused: Charter serves none yet).  ``probability``: which
    model output to explain (an index, or a class label).  ``label_headers``: names of
    the model's outputs.  The deployment settings (instance type and count, content
    types, templates) are accepted and have no effect on a local model.
    """

    model_path: str | None = None
    model_name: str | None = None
    endpoint_name: str | None = None
    label: str | int | None = None
    probability: str | int | None = None
    label_headers: tuple[str, ...] | None = None
    content_type: str | None = None
    accept_type: str | None = None


@dataclass(frozen=True)
class Report:
    name: str = DEFAULT_REPORT_NAME
    title: str = DEFAULT_REPORT_TITLE


@dataclass(frozen=True)
class AnalysisConfig:
    """A checked ``analysis_config.json``; ``None`` for a method means it was not asked for."""

    dataset_type: str
    version: str = "1.0"
    headers: tuple[str, ...] | None = None
    label: str | int | None = None
    features: str | None = None
    label_values_or_threshold: list | None = None
    probability_threshold: float = DEFAULT_PROBABILITY_THRESHOLD
    facets: tuple[Facet, ...] = ()
    group_variable: str | int | None = None
    excluded_columns: tuple[str | int, ...] = ()
    joinsource: str | int | None = None
    predicted_label: str | int | None = None
    pre_training_bias: tuple[str, ...] | None = None
    post_training_bias: tuple[str, ...] | None = None
    shap: ShapConfig | None = None
    shap_baseline_uri: str | None = None
    pdp: PdpConfig | None = None
    report: Report = Report()
    predictor: Predictor | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def needs_model(self) -> bool:
        """Whether a model must be called: explanations, or post-training bias without predicted labels."""
        if self.shap is not None or self.pdp is not None:
            return True
        return self.post_training_bias is not None and self.predicted_label is None

    @property
    def needs_bias_inputs(self) -> bool:
        return self.pre_training_bias is not None or self.post_training_bias is not None


def _bias_methods(value: Any, field_name: str, registry: Mapping) -> tuple[str, ...]:
    block = _object(value, field_name)
    _known_keys(block, field_name, _BIAS_KEYS)
    methods = block.get("methods", "all")
    where = f"{field_name}.methods"
    names = [methods] if isinstance(methods, str) else methods
    if not isinstance(names, list) or not names:
        raise _fail(where, f'must be "all" or a non-empty list of metric names (got {methods!r})')
    if names == ["all"]:
        return ("all",)
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise _fail(f"{where}[{i}]", f"must be a metric name (got {name!r})")
        if ALIASES.get(name, name) not in registry:
            raise _fail(where, f"has unknown metric {name!r}; choose from {', '.join(registry)} (or \"all\")")
    return tuple(names)


def _shap(value: Any) -> tuple[ShapConfig, str | None]:
    where = "methods.shap"
    block = _object(value, where)
    _known_keys(block, where, _SHAP_KEYS, _SHAP_UNSUPPORTED)
    values: dict[str, Any] = {}
    uri = None
    baseline = block.get("baseline")
    if baseline is not None:
        if isinstance(baseline, str):
            uri = _string(baseline, f"{where}.baseline")
        elif isinstance(baseline, list) and baseline:
            rows = baseline if isinstance(baseline[0], list) else [baseline]
            width = len(rows[0])
            for i, row in enumerate(rows):
                if not isinstance(row, list) or not row or len(row) != width:
                    raise _fail(f"{where}.baseline[{i}]", f"must be a row of {width} feature values like the first row")
            values["baseline"] = rows
        else:
            raise _fail(f"{where}.baseline", f"must be a list of rows (or one row) or a file path (got {baseline!r})")
    if block.get("num_clusters") is not None:
        values["num_clusters"] = _positive_int(block["num_clusters"], f"{where}.num_clusters")
        if baseline is not None:
            raise _fail(f"{where}.num_clusters", "cannot be given together with methods.shap.baseline; give one of them")
    if block.get("num_samples") is not None:
        values["num_samples"] = _positive_int(block["num_samples"], f"{where}.num_samples")
    if block.get("agg_method") is not None:
        agg = block["agg_method"]
        if agg not in AGG_METHODS:
            raise _fail(f"{where}.agg_method", f"must be one of {', '.join(AGG_METHODS)} (got {agg!r})")
        values["agg_method"] = agg
    for flag in ("use_logit", "save_local_shap_values"):
        if block.get(flag) is not None:
            values[flag] = _boolean(block[flag], f"{where}.{flag}")
    if block.get("seed") is not None:
        if not _is_int(block["seed"]):
            raise _fail(f"{where}.seed", f"must be an integer (got {block['seed']!r})")
        values["seed"] = block["seed"]
    if block.get("features_to_explain") is not None:
        values["features_to_explain"] = _feature_list(block["features_to_explain"], f"{where}.features_to_explain")
    return ShapConfig(**values), uri


def _pdp(value: Any, has_shap: bool) -> PdpConfig:
    where = "methods.pdp"
    block = _object(value, where)
    _known_keys(block, where, _PDP_KEYS)
    values: dict[str, Any] = {}
    if block.get("features") is not None:
        values["features"] = _feature_list(block["features"], f"{where}.features")
    elif not has_shap:
        raise _fail(f"{where}.features", "is required when methods.shap is not given (PDP otherwise plots SHAP's top features)")
    for key in ("grid_resolution", "top_k_features"):
        if block.get(key) is not None:
            values[key] = _positive_int(block[key], f"{where}.{key}")
    return PdpConfig(**values)


def _report(value: Any, field_name: str) -> Report:
    block = _object(value, field_name)
    _known_keys(block, field_name, _REPORT_KEYS)
    name = block.get("name", DEFAULT_REPORT_NAME)
    title = block.get("title", DEFAULT_REPORT_TITLE)
    name = _string(name, f"{field_name}.name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise _fail(f"{field_name}.name", f"must be a file name prefix without slashes (got {name!r})")
    return Report(name, _string(title, f"{field_name}.title"))


def _predictor(value: Any) -> Predictor:
    where = "predictor"
    block = _object(value, where)
    _known_keys(block, where, _PREDICTOR_KEYS)
    if block.get("endpoint_name") is not None:
        name = _string(block["endpoint_name"], f"{where}.endpoint_name")
        raise _fail(
            f"{where}.endpoint_name",
            f"names endpoint {name!r}, but endpoints are not available yet in Charter; give predictor.model_path "
            "(a scikit-learn model file or model.tar.gz) instead",
        )
    model_path = block.get("model_path")
    if model_path is not None:
        model_path = _string(model_path, f"{where}.model_path")
    model_name = block.get("model_name")
    if model_name is not None:
        model_name = _string(model_name, f"{where}.model_name")
    for key in ("content_type", "accept_type"):
        if block.get(key) is not None and block[key] not in _PREDICTOR_FORMATS:
            raise _fail(f"{where}.{key}", f"must be one of {', '.join(_PREDICTOR_FORMATS)} (got {block[key]!r})")
    label = block.get("label")
    if label is not None:
        label = _name_or_index(label, f"{where}.label")
    probability = block.get("probability")
    if probability is not None:
        probability = _name_or_index(probability, f"{where}.probability")
    headers = block.get("label_headers")
    if headers is not None:
        if not isinstance(headers, list) or not headers:
            raise _fail(f"{where}.label_headers", f"must be a non-empty list of names (got {headers!r})")
        for i, item in enumerate(headers):
            if not (isinstance(item, str) or _is_number(item)):
                raise _fail(f"{where}.label_headers[{i}]", f"must be a string or number (got {item!r})")
        headers = tuple(str(h) for h in headers)
        if len(set(headers)) != len(headers):
            raise _fail(f"{where}.label_headers", "must not repeat a name")
    return Predictor(
        model_path=model_path,
        model_name=model_name,
        label=label,
        probability=probability,
        label_headers=headers,
        content_type=block.get("content_type"),
        accept_type=block.get("accept_type"),
    )


def parse(document: Any) -> AnalysisConfig:
    """Check an analysis configuration (the parsed JSON) and return it as an :class:`AnalysisConfig`."""
    if not isinstance(document, Mapping):
        raise _fail(None, f"must hold a JSON object (got {_kind(document)})")
    _known_keys(document, None, _TOP_LEVEL, _TOP_LEVEL_UNSUPPORTED)

    version = document.get("version", "1.0")
    if version is not None and str(version) != "1.0":
        raise _fail("version", f'must be "1.0", the only analysis configuration version (got {version!r})')

    if "dataset_type" not in document:
        raise _fail("dataset_type", f"is required: one of {', '.join(SUPPORTED_DATASET_TYPES)}")
    dataset_type = document["dataset_type"]
    if dataset_type in _UNSUPPORTED_DATASET_TYPES:
        raise _fail("dataset_type", f"{dataset_type!r} is not supported: {_UNSUPPORTED_DATASET_TYPES[dataset_type]}")
    if dataset_type not in SUPPORTED_DATASET_TYPES:
        raise _fail("dataset_type", f"must be one of {', '.join(SUPPORTED_DATASET_TYPES)} (got {dataset_type!r})")

    headers = document.get("headers")
    if headers is not None:
        if not isinstance(headers, list) or not headers:
            raise _fail("headers", f"must be a non-empty list of column names (got {headers!r})")
        for i, name in enumerate(headers):
            if not isinstance(name, str) or not name:
                raise _fail(f"headers[{i}]", f"must be a non-empty string (got {name!r})")
        if len(set(headers)) != len(headers):
            duplicate = next(h for h in headers if headers.count(h) > 1)
            raise _fail("headers", f"names column {duplicate!r} more than once")
        headers = tuple(headers)

    label = document.get("label")
    if label is not None:
        label = _string(label, "label") if dataset_type == JSONLINES else _name_or_index(label, "label")
    features = document.get("features")
    if features is not None:
        if dataset_type != JSONLINES:
            raise _fail("features", "is a JSON Lines setting (the path of the feature list); remove it for "
                        f"dataset_type {dataset_type!r}")
        features = _string(features, "features")

    label_values = document.get("label_values_or_threshold")
    if label_values is not None:
        label_values = _values_or_threshold(label_values, "label_values_or_threshold")

    threshold = document.get("probability_threshold", DEFAULT_PROBABILITY_THRESHOLD)
    if not _is_number(threshold):
        raise _fail("probability_threshold", f"must be a number (got {threshold!r})")

    facets: list[Facet] = []
    raw_facets = document.get("facet")
    if raw_facets is not None:
        if not isinstance(raw_facets, list) or not raw_facets:
            raise _fail("facet", "must be a non-empty list of {\"name_or_index\": ..., \"value_or_threshold\": [...]} objects")
        for i, item in enumerate(raw_facets):
            where = f"facet[{i}]"
            item = _object(item, where)
            _known_keys(item, where, ("name_or_index", "value_or_threshold"))
            if "name_or_index" not in item:
                raise _fail(f"{where}.name_or_index", "is required: the facet's column name or index")
            name = _name_or_index(item["name_or_index"], f"{where}.name_or_index")
            values = item.get("value_or_threshold")
            if values is not None:
                values = _values_or_threshold(values, f"{where}.value_or_threshold")
            facets.append(Facet(name, values))

    group_variable = document.get("group_variable")
    if group_variable is not None:
        group_variable = _name_or_index(group_variable, "group_variable")
    excluded = document.get("excluded_columns", [])
    if excluded is None:
        excluded = []
    if not isinstance(excluded, list):
        raise _fail("excluded_columns", f"must be a list of column names or indices (got {excluded!r})")
    excluded = tuple(_name_or_index(c, f"excluded_columns[{i}]") for i, c in enumerate(excluded))
    joinsource = document.get("joinsource_name_or_index")
    if joinsource is not None:
        joinsource = _name_or_index(joinsource, "joinsource_name_or_index")
    predicted_label = document.get("predicted_label")
    if predicted_label is not None:
        predicted_label = _name_or_index(predicted_label, "predicted_label")

    if "methods" not in document:
        raise _fail("methods", "is required: give at least one of pre_training_bias, post_training_bias, shap, pdp")
    methods = _object(document["methods"], "methods")
    _known_keys(methods, "methods", _METHODS, _METHODS_UNSUPPORTED)
    pre = post = None
    if methods.get("pre_training_bias") is not None:
        pre = _bias_methods(methods["pre_training_bias"], "methods.pre_training_bias", PRETRAINING_METRICS)
    if methods.get("post_training_bias") is not None:
        post = _bias_methods(methods["post_training_bias"], "methods.post_training_bias", POSTTRAINING_METRICS)
    shap = baseline_uri = None
    if methods.get("shap") is not None:
        shap, baseline_uri = _shap(methods["shap"])
    pdp = None
    if methods.get("pdp") is not None:
        pdp = _pdp(methods["pdp"], shap is not None)
    if pre is None and post is None and shap is None and pdp is None:
        raise _fail("methods", "has no analysis to run; give at least one of pre_training_bias, post_training_bias, shap, pdp")
    # The report settings moved from the top level into methods; both spellings are read.
    if methods.get("report") is not None:
        report = _report(methods["report"], "methods.report")
    elif document.get("report") is not None:
        report = _report(document["report"], "report")
    else:
        report = Report()

    predictor = _predictor(document["predictor"]) if document.get("predictor") is not None else None

    # What the requested methods need.
    for stage, asked in (("methods.pre_training_bias", pre), ("methods.post_training_bias", post)):
        if asked is None:
            continue
        if label is None:
            raise _fail("label", f"is required for {stage}: the column holding the observed outcome")
        if label_values is None:
            raise _fail("label_values_or_threshold", f"is required for {stage}: the positive label value(s) or a threshold")
        if not facets:
            raise _fail("facet", f"is required for {stage}: the sensitive column(s) to measure bias for")
    if predictor is not None and predictor.label_headers is not None and predictor.probability is not None:
        if len(predictor.label_headers) != 1:
            raise _fail("predictor.label_headers", "must have one name when predictor.probability selects one output")

    return AnalysisConfig(
        dataset_type=dataset_type,
        version="1.0",
        headers=headers,
        label=label,
        features=features,
        label_values_or_threshold=label_values,
        probability_threshold=float(threshold),
        facets=tuple(facets),
        group_variable=group_variable,
        excluded_columns=excluded,
        joinsource=joinsource,
        predicted_label=predicted_label,
        pre_training_bias=pre,
        post_training_bias=post,
        shap=shap,
        shap_baseline_uri=baseline_uri,
        pdp=pdp,
        report=report,
        predictor=predictor,
        raw=document,
    )


def loads(text: str | bytes) -> AnalysisConfig:
    """Parse and check the text of an ``analysis_config.json``."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _fail(None, f"is not valid JSON: {error}") from None
    return parse(document)


def load(path: Path) -> AnalysisConfig:
    """Read and check ``path``; a missing file is a :class:`ValidationError` too."""
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        raise ValidationError(
            None,
            f"not found at {path} (a processing input named 'analysis_config' at /opt/ml/processing/input/config)",
        ) from None
    return loads(text)
