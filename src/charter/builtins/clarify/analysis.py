"""The Clarify processing job: from the container's inputs to ``analysis.json`` and the report.

Inputs (SageMaker Clarify's processing inputs, container contract section 3)::

    /opt/ml/processing/input/config/analysis_config.json   the analysis configuration
    /opt/ml/processing/input/data/...                      the dataset (file or prefix)
    /opt/ml/processing/input/model/...                     optional: the model (see predictor.py)

Outputs, in ``/opt/ml/processing/output``:

``analysis.json``
    Clarify's result document (SageMaker Developer Guide, "Analysis results"; the
    examples in the SageMaker Python SDK's tests and the SDK's model card parser that
    reads it)::

        {
          "version": "1.0",
          "pre_training_bias_metrics": {
            "label": "<label column>",
            "facets": {"<facet column>": [
              {"value_or_threshold": "<sensitive value(s) or (threshold, max]>",
               "metrics": [{"name": "CI", "description": "Class Imbalance (CI)", "value": 0.33},
                           {"name": "CDDL", ..., "value": null, "error": "<why>"}, ...]}]},
            "label_value_or_threshold": "<positive label value(s)>"
          },
          "post_training_bias_metrics": { same layout },
          "explanations": {
            "kernel_shap": {"<label header>": {"global_shap_values": {"<feature>": 0.1, ...},
                                               "expected_value": 0.42}},
            "pdp": [{"feature_name": "age", "data_type": "numerical",
                     "feature_values": [...], "data_distribution": [...],
                     "model_predictions": [[...one list per label...]],
                     "label_headers": ["label0"]}]
          }
        }

    Only the sections whose methods were asked for are present.  Metrics are sorted by
    name, infinite values are written ``"Infinity"``, a metric that cannot be computed
    has ``"value": null`` and an ``"error"``.  A PDP entry's ``data_distribution`` is the
    share of the dataset's rows at each grid value (for a numeric feature, the rows
    nearest to that grid value).
``explanations_shap/out.csv``
    Per-row SHAP values when ``methods.shap.save_local_shap_values`` is true (the
    default), one column per feature (``<feature>_<label header>`` for a model with
    several outputs), preceded by the join source column when one is configured.
``explanations_shap/baseline.csv``
    The SHAP baseline Clarify computed (k-means centres of the dataset) when the
    configuration gives none, one row per centre.
``report.html`` / ``report.pdf``
    The report (named by ``methods.report.name``): bias bar charts, SHAP importance,
    partial dependence plots (see ``report.py``).

The numeric work is done by :mod:`charter.analytics.bias` and
:mod:`charter.analytics.explain`; this module reads, calls and writes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from charter.analytics.bias import bias_report
from charter.analytics.bias.groups import column_kind, interval_text
from charter.analytics.explain import PdpResult, ShapResult, kernel_shap, partial_dependence

from .. import ClientError
from . import config as config_module
from . import data as data_module
from .config import AnalysisConfig, ValidationError
from .data import Dataset, is_numeric
from .predictor import FeatureCodec, LocalModel, Predictions, open_model

CONFIG_PATH = Path("opt/ml/processing/input/config") / config_module.CONFIG_NAME
OUTPUT_DIR = Path("opt/ml/processing/output")
INPUT_DIR = Path("opt/ml/processing/input")

STAGES: tuple[tuple[str, str], ...] = (
    ("load", "Load data"),
    ("predict", "Get predictions"),
    ("pre_training_bias", "Pre-training bias"),
    ("post_training_bias", "Post-training bias"),
    ("shap", "SHAP values"),
    ("pdp", "Partial dependence"),
    ("report", "Report"),
)
STAGE_TITLES = dict(STAGES)

# progress(stage, event, detail): event is "start", "done", "skip" or "fail".
Progress = Callable[[str, str, str], None]


class AnalysisError(ClientError):
    """The data cannot be analysed as configured (e.g. no row has the positive label)."""


@dataclass
class BiasSection:
    """One stage's bias results, ready for analysis.json and the report."""

    stage: str  # "pre_training" or "post_training"
    label: str
    label_value_or_threshold: str
    facets: dict[str, list[dict]]

    def to_analysis(self) -> dict[str, Any]:
        return {"label": self.label, "facets": self.facets, "label_value_or_threshold": self.label_value_or_threshold}


@dataclass
class AnalysisResult:
    """Everything a run produced: the analysis document and what the report draws from."""

    config: AnalysisConfig
    dataset: Dataset
    analysis: dict[str, Any]
    model: LocalModel | None = None
    predictions: Predictions | None = None
    pre_training: BiasSection | None = None
    post_training: BiasSection | None = None
    shap: ShapResult | None = None
    baseline_computed: bool = False
    pdp: list[dict] | None = None
    pdp_results: list[PdpResult] | None = None
    outputs: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- progress


def log_progress(stage: str, event: str, detail: str) -> None:
    """The default progress display: one log line per finished stage (the container's log)."""
    if event == "start":
        return
    title = STAGE_TITLES.get(stage, stage)
    word = {"done": "done", "skip": "skipped", "fail": "failed"}.get(event, event)
    suffix = f": {detail}" if detail else ""
    print(f"[clarify] {title} {word}{suffix}", flush=True)


@dataclass
class _Stage:
    detail: str = ""


class _Tracker:
    def __init__(self, progress: Progress | None, timings: dict[str, float]):
        self.progress = progress or log_progress
        self.timings = timings

    @contextmanager
    def stage(self, name: str) -> Iterator[_Stage]:
        info = _Stage()
        self.progress(name, "start", "")
        started = time.perf_counter()
        try:
            yield info
        except BaseException as error:
            self.progress(name, "fail", str(error))
            raise
        self.timings[name] = time.perf_counter() - started
        self.progress(name, "done", info.detail)

    def skip(self, name: str, why: str) -> None:
        self.progress(name, "skip", why)


# --------------------------------------------------------------------------- bias


def _label_text(label: np.ndarray, values: list) -> str:
    """How analysis.json names the positive label: its value(s), or the interval above a threshold."""
    if column_kind(label, values) == "continuous" and len(values) == 1:
        try:
            numbers = np.asarray(label, dtype=np.float64)
            limit = values[0] if isinstance(values[0], (int, float)) else float(values[0])
            text = interval_text(numbers, limit)
            if text:
                return text
        except (TypeError, ValueError):
            pass
    return ",".join(str(v) for v in values)


def _flip_test_features(dataset: Dataset, facet: str) -> np.ndarray | None:
    """The numeric features other than the facet, for the flip test (FT); None if there are none."""
    names = [c for c in dataset.features if c != facet and is_numeric(dataset.frame[c])]
    if not names:
        return None
    return dataset.frame[names].to_numpy(dtype=np.float64, na_value=np.nan)


def bias_section(stage: str, config: AnalysisConfig, dataset: Dataset, predicted: np.ndarray | None) -> BiasSection:
    """Bias metrics of one stage for every configured facet (Clarify's per-facet-value entries)."""
    assert dataset.label is not None and config.label_values_or_threshold is not None
    methods = config.pre_training_bias if stage == "pre_training" else config.post_training_bias
    label = dataset.column(dataset.label)
    group = dataset.column(dataset.group_variable) if dataset.group_variable else None
    facets: dict[str, list[dict]] = {}
    for index, (facet, name) in enumerate(zip(config.facets, dataset.facets)):
        try:
            report = bias_report(
                label,
                dataset.column(name),
                label_values_or_threshold=config.label_values_or_threshold,
                facet_values_or_threshold=facet.value_or_threshold,
                stage=stage,
                predicted_label=predicted,
                group_variable=group,
                features=_flip_test_features(dataset, name) if stage == "post_training" else None,
                methods=list(methods or ("all",)),
            )
        except ValueError as error:
            title = STAGE_TITLES[f"{stage}_bias"].lower()
            raise AnalysisError(f"{title} for facet {name!r} (facet[{index}]): {error}") from None
        facets.setdefault(name, []).extend(report)
    return BiasSection(stage, dataset.label, _label_text(label, config.label_values_or_threshold), facets)


# --------------------------------------------------------------------------- explanations


def _baseline_rows(root: Path, config: AnalysisConfig, dataset: Dataset, codec: FeatureCodec) -> np.ndarray | None:
    """The configured SHAP baseline as encoded rows; None when Clarify should compute one."""
    field_name = "methods.shap.baseline"
    if config.shap_baseline_uri is not None:
        given = config.shap_baseline_uri
        if given.startswith("s3://"):
            raise ValidationError(
                field_name,
                f"is {given!r}: the built-in reads only local files; stage the baseline as a processing input and "
                "give its /opt/ml/processing/input/... path",
            )
        if given.startswith("/opt/ml/"):
            path = Path(root) / given.lstrip("/")
        elif Path(given).is_absolute():
            path = Path(given)
        else:
            path = Path(root) / INPUT_DIR / given
        if not path.is_file():
            raise ValidationError(field_name, f"names {given!r}, and there is no file at {path}")
        rows = data_module.read_baseline_file(path, config.dataset_type, dataset.features)
        if not rows:
            raise ValidationError(field_name, f"file {path.name} holds no rows")
        return codec.encode_rows(rows, field_name)
    if config.shap is not None and config.shap.baseline is not None:
        return codec.encode_rows([list(r) for r in config.shap.baseline], field_name)
    return None


def explain_shap(
    root: Path, config: AnalysisConfig, dataset: Dataset, codec: FeatureCodec, X: np.ndarray, model: LocalModel,
    headers: list[str],
) -> tuple[ShapResult, bool]:
    """Kernel SHAP values of every row; also whether the baseline was computed (k-means)."""
    assert config.shap is not None
    cfg = config.shap
    baseline = _baseline_rows(root, config, dataset, codec)
    cfg = dataclasses.replace(cfg, baseline=None if baseline is None else baseline.tolist())
    try:
        result = kernel_shap(model.scores, X, cfg, feature_names=dataset.features, label_headers=headers)
    except ValueError as error:
        raise AnalysisError(f"SHAP: {error}") from None
    return result, baseline is None


def _nearest_shares(column: np.ndarray, grid: np.ndarray) -> list[float]:
    """Share of all rows whose value is nearest each grid value (ties to the lower one)."""
    n = len(column)
    values = column[~np.isnan(column)]
    if len(grid) == 1:
        return [len(values) / n]
    edges = (grid[1:] + grid[:-1]) / 2.0
    bins = np.searchsorted(edges, values, side="right")
    counts = np.bincount(bins, minlength=len(grid))
    return [float(c) / n for c in counts]


def pdp_entries(results: list[PdpResult], codec: FeatureCodec, X: np.ndarray) -> list[dict]:
    """The ``explanations.pdp`` entries: the kernel's, categories decoded, with the data distribution."""
    entries = []
    for result in results:
        j = codec.names.index(result.feature_name)
        grid = np.asarray(result.feature_values, dtype=np.float64)
        column = X[:, j]
        if result.data_type == "categorical":
            n = len(column)
            distribution = [float(np.count_nonzero(column == g)) / n for g in grid]
        else:
            distribution = _nearest_shares(column, grid)
        entries.append(
            {
                "feature_name": result.feature_name,
                "data_type": result.data_type,
                "feature_values": [codec.decode_value(j, v) for v in result.feature_values],
                "data_distribution": distribution,
                "model_predictions": result.model_predictions.tolist(),
                "label_headers": list(result.label_headers),
            }
        )
    return entries


# --------------------------------------------------------------------------- writing


def _json_safe(value: Any) -> Any:
    """NaN has no JSON spelling; Clarify's documents carry null for a missing number."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def write_json(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json_safe(document), indent=4, allow_nan=False) + "\n", encoding="utf-8")
    return path


def write_local_shap(path: Path, result: ShapResult, dataset: Dataset) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    single = len(result.label_headers) == 1
    columns = (
        list(result.feature_names)
        if single
        else [f"{f}_{h}" for h in result.label_headers for f in result.feature_names]
    )
    join = dataset.column(dataset.joinsource) if dataset.joinsource else None
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(([dataset.joinsource] if join is not None else []) + columns)
        local = result.local  # (n, F, K)
        for i in range(local.shape[0]):
            values = local[i].T.reshape(-1).tolist()  # label-major, features within
            writer.writerow(([join[i]] if join is not None else []) + [repr(float(v)) for v in values])
    return path


def write_baseline(path: Path, result: ShapResult, codec: FeatureCodec) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in result.baseline:
            writer.writerow([codec.decode_value(j, v) for j, v in enumerate(np.asarray(row, dtype=np.float64))])
    return path


# --------------------------------------------------------------------------- the job


def run(root: Path, progress: Progress | None = None) -> AnalysisResult:
    """Run the analysis of the container at ``root``; writes the outputs and returns the result."""
    root = Path(root)
    timings: dict[str, float] = {}
    tracker = _Tracker(progress, timings)
    output = root / OUTPUT_DIR

    with tracker.stage("load") as stage:
        config = config_module.load(root / CONFIG_PATH)
        dataset = data_module.load(root, config)
        features = dataset.feature_frame()
        codec = FeatureCodec(features)
        X = codec.encode(features)
        files = len(dataset.files)
        stage.detail = (
            f"{len(dataset):,} rows, {len(dataset.features)} features from {files} file{'s' if files != 1 else ''}"
        )

    model = predictions = None
    if config.needs_model:
        with tracker.stage("predict") as stage:
            model = open_model(root, config, codec)
            predictions = model.predict(X)
            stage.detail = f"{model.description}: {predictions.scores.shape[1]} output(s) for {len(dataset):,} rows"
    else:
        tracker.skip("predict", "no model needed")

    analysis: dict[str, Any] = {"version": config.version}
    result = AnalysisResult(config, dataset, analysis, model=model, predictions=predictions, timings=timings)

    if config.pre_training_bias is not None:
        with tracker.stage("pre_training_bias") as stage:
            result.pre_training = bias_section("pre_training", config, dataset, None)
            analysis["pre_training_bias_metrics"] = result.pre_training.to_analysis()
            stage.detail = _bias_detail(result.pre_training)
    else:
        tracker.skip("pre_training_bias", "not requested")

    if config.post_training_bias is not None:
        with tracker.stage("post_training_bias") as stage:
            if dataset.predicted_label is not None:
                predicted = dataset.column(dataset.predicted_label)
            else:
                assert predictions is not None
                predicted = predictions.predicted_label
            result.post_training = bias_section("post_training", config, dataset, predicted)
            analysis["post_training_bias_metrics"] = result.post_training.to_analysis()
            stage.detail = _bias_detail(result.post_training)
    else:
        tracker.skip("post_training_bias", "not requested")

    explanations: dict[str, Any] = {}
    if config.shap is not None:
        assert model is not None and predictions is not None
        with tracker.stage("shap") as stage:
            result.shap, result.baseline_computed = explain_shap(
                root, config, dataset, codec, X, model, predictions.label_headers
            )
            explanations["kernel_shap"] = {
                header: {"global_shap_values": result.shap.global_shap_values(k), "expected_value": float(result.shap.expected[k])}
                for k, header in enumerate(result.shap.label_headers)
            }
            if result.shap.save_local_shap_values:
                result.outputs.append(write_local_shap(output / "explanations_shap" / "out.csv", result.shap, dataset))
            if result.baseline_computed:
                result.outputs.append(write_baseline(output / "explanations_shap" / "baseline.csv", result.shap, codec))
            top = result.shap.top_features(1)
            stage.detail = f"{len(result.shap.feature_names)} features, {result.shap.model_calls} model calls; top feature {top[0]}"
    else:
        tracker.skip("shap", "not requested")

    if config.pdp is not None:
        assert model is not None and predictions is not None
        with tracker.stage("pdp") as stage:
            try:
                result.pdp_results = partial_dependence(
                    model.scores, X, config.pdp, feature_names=dataset.features,
                    categorical_features=codec.categorical, shap_result=result.shap,
                    label_headers=predictions.label_headers,
                )
            except ValueError as error:
                raise AnalysisError(f"PDP: {error}") from None
            result.pdp = pdp_entries(result.pdp_results, codec, X)
            explanations["pdp"] = result.pdp
            stage.detail = ", ".join(p["feature_name"] for p in result.pdp)
    else:
        tracker.skip("pdp", "not requested")

    if explanations:
        analysis["explanations"] = explanations
    result.outputs.insert(0, write_json(output / "analysis.json", analysis))

    with tracker.stage("report") as stage:
        from . import report as report_module  # WeasyPrint and matplotlib load only when needed

        written = report_module.write(result, output)
        result.outputs.extend(written)
        stage.detail = ", ".join(p.name for p in written)
    return result


def _bias_detail(section: BiasSection) -> str:
    groups = sum(len(entries) for entries in section.facets.values())
    metrics = {m["name"] for entries in section.facets.values() for e in entries for m in e["metrics"]}
    return f"{len(metrics)} metrics for {groups} group{'s' if groups != 1 else ''} of {', '.join(section.facets)}"
