"""The analyzer: Model Monitor's prebuilt data-quality container, driven by environment variables.

The variables are those of the Developer Guide page "Container Contract Inputs"
(model-monitor-byoc-contract-inputs), which the prebuilt ``sagemaker-model-monitor-analyzer``
reads too:

``dataset_format`` (required)
    JSON: ``{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}``
    for endpoint data capture, ``{"csv": {"header": true}}``, ``{"json": {"lines": true}}``
    (``line`` accepted too) or ``{"parquet": {}}`` for datasets.
``dataset_source`` (required)
    the container path of the data (a file or a directory, read recursively).
``output_path``
    where the reports go (default ``/opt/ml/processing/output``).
``baseline_constraints`` / ``baseline_statistics``
    container paths of the baseline files.  With neither the job is a baselining job
    (``statistics.json`` + suggested ``constraints.json``); with either, a monitoring job
    (``statistics.json``, ``constraint_violations.json``, metrics and ``report.html``).  With
    statistics but no constraints the constraints are suggested from the baseline statistics;
    with constraints but no statistics the drift check is skipped, as the guide says.
``start_time`` / ``end_time``
    the monitoring period; captured events outside it are ignored.
``publish_cloudwatch_metrics``
    ``Enabled`` (default) or ``Disabled``: whether metrics are written to
    ``/opt/ml/output/metrics/cloudwatch`` (page model-monitor-byoc-cloudwatch).
``sagemaker_endpoint_name`` / ``sagemaker_monitoring_schedule_name``
    the metric dimensions ``Endpoint`` and ``MonitoringSchedule``.
``analysis_type``
    data quality (unset or ``DATA_QUALITY``) is implemented here; ``MODEL_QUALITY`` and
    ``FEATURE_ATTRIBUTION_DRIFT`` are dispatched to ``quality.py``, ``MODEL_BIAS`` (bias
    drift) to ``bias_drift.py``.

Every variable naming a container path (``/opt/ml/...``) is resolved under the container root,
which plays ``/``.  The environment is read once, by :func:`run`, into a
:class:`~.contract.Contract` that every job of the image parses its variables from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from charter.analytics import constraints as kernel
from charter.analytics.statistics import Profiler, iter_batches

from .. import ClientError
from . import contract as contract_module
from .capture import CAPTURE_INDEXES, iter_capture_rows
from .contract import ANALYSIS_TYPES, Contract

__all__ = ["Settings", "read_settings", "run", "metrics"]

_ROWS_PER_BATCH = 20000
_FORMATS = ("sagemakerCaptureJson", "csv", "json", "parquet")
_UNSUPPORTED = ("record_preprocessor_script", "post_analytics_processor_script")


class Settings:
    """The data quality job's configuration, checked from its environment contract."""

    def __init__(self, contract: Contract) -> None:
        self.root = contract.root
        env = contract.env
        fmt_text = env.get("dataset_format")
        if not fmt_text:
            raise ClientError(
                "environment variable dataset_format is not set; set it to e.g. "
                '{"csv": {"header": true}} or {"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}'
            )
        try:
            fmt = json.loads(fmt_text)
        except json.JSONDecodeError as error:
            raise ClientError(f"environment variable dataset_format is not valid JSON ({error}): {fmt_text[:200]}") from None
        if not isinstance(fmt, dict) or len(fmt) != 1 or next(iter(fmt)) not in _FORMATS:
            raise ClientError(
                f"environment variable dataset_format must be an object with one key among "
                f"{', '.join(_FORMATS)}; got {fmt_text[:200]}"
            )
        self.format, options = next(iter(fmt.items()))
        options = options or {}
        if not isinstance(options, dict):
            raise ClientError(f"environment variable dataset_format: the {self.format} options must be an object")
        self.header = _flag(options.get("header", True), "dataset_format csv.header")
        self.lines = _flag(options.get("lines", options.get("line", True)), "dataset_format json.lines")
        if self.format == "json" and not self.lines:
            raise ClientError("environment variable dataset_format: only JSON Lines data ({\"json\": {\"lines\": true}}) is supported")
        indexes = options.get("captureIndexNames", list(CAPTURE_INDEXES))
        if self.format == "sagemakerCaptureJson":
            if not isinstance(indexes, list) or not indexes or any(i not in CAPTURE_INDEXES for i in indexes):
                raise ClientError(
                    "environment variable dataset_format: captureIndexNames must list endpointInput "
                    f"and/or endpointOutput; got {indexes!r}"
                )
        self.indexes = list(indexes)

        self.source = contract.existing("dataset_source", "set it to the container path of the data")
        self.output = contract.output
        self.baseline_constraints = contract.optional_file("baseline_constraints")
        self.baseline_statistics = contract.optional_file("baseline_statistics")
        self.start, self.end = contract.start, contract.end
        self.publish_metrics = contract.publish_metrics
        self.endpoint, self.schedule = contract.endpoint, contract.schedule
        self.dimensions = contract.dimensions
        self.host = contract.host
        if contract.analysis_type != "DATA_QUALITY":
            raise ClientError(
                f"environment variable analysis_type {contract.analysis_type!r} is not supported; "
                f"this image does {', '.join(ANALYSIS_TYPES[:-1])} and {ANALYSIS_TYPES[-1]}"
            )
        for name in _UNSUPPORTED:
            if env.get(name):
                raise ClientError(f"environment variable {name} is set, but this image does not run preprocessing scripts")

    @property
    def monitoring(self) -> bool:
        return self.baseline_constraints is not None or self.baseline_statistics is not None

    def files(self) -> list[Path]:
        if self.source.is_file():
            return [self.source]
        found = sorted(
            p for p in self.source.rglob("*")
            if p.is_file() and not p.name.startswith((".", "_")) and not p.name.endswith(".crc")
        )
        if not found:
            raise ClientError(f"environment variable dataset_source: no data files under {self.source.relative_to(self.root)}")
        return found


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ClientError(f"environment variable {what} must be true or false; got {value!r}")


def read_settings(root: Path, env: Mapping[str, str] | None = None) -> Settings:
    """The data quality job's settings, from ``env`` (default: this process's environment)."""
    return Settings(contract_module.read(root, env))


def _load_json(path: Path, variable: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClientError(f"environment variable {variable}: {path.name} is not readable JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise ClientError(f"environment variable {variable}: {path.name} has no 'features' list")
    return document


# ------------------------------------------------------------------------------------------------
# Profiling
# ------------------------------------------------------------------------------------------------


def _capture_batches(settings: Settings, names_hint: list[str]):
    """Arrow batches of the captured records; positional columns are named after the baseline's
    features when the counts agree (the baseline dataset has the same columns in the same order),
    otherwise ``_c0``, ``_c1``, ..."""
    rows: list[tuple[list[str], list[str | None]]] = []

    def flush():
        columns: dict[str, list[str | None]] = {}
        for i, (names, values) in enumerate(rows):
            if not names:
                names = names_hint if len(names_hint) == len(values) else [f"_c{j}" for j in range(len(values))]
            for name, value in zip(names, values):
                column = columns.get(name)
                if column is None:
                    column = columns[name] = [None] * i
                column.append(value)
            for column in columns.values():
                if len(column) < i + 1:
                    column.append(None)
        batch = pa.table({n: pa.array(v, type=pa.string()) for n, v in columns.items()})
        rows.clear()
        return batch

    for row in iter_capture_rows(settings.files(), settings.indexes, settings.start, settings.end):
        rows.append(row)
        if len(rows) >= _ROWS_PER_BATCH:
            yield flush()
    if rows:
        yield flush()


def profile(settings: Settings, names_hint: list[str]) -> dict[str, Any]:
    """``statistics.json`` of the dataset the settings point at."""
    profiler = Profiler()
    if settings.format == "sagemakerCaptureJson":
        batches = _capture_batches(settings, names_hint)
    else:
        fmt = {"csv": "csv", "json": "jsonlines", "parquet": "parquet"}[settings.format]
        headers: Any = None
        if fmt == "csv" and not settings.header:
            headers = False
        batches = iter_batches([str(p) for p in settings.files()], fmt, headers)
    try:
        for batch in batches:
            if fmt_is_positional(settings) and names_hint and batch.num_columns == len(names_hint):
                batch = batch.rename_columns(names_hint)
            profiler.update(batch)
    except (ValueError, pa.ArrowInvalid) as error:
        raise ClientError(f"the data under dataset_source cannot be read as {settings.format}: {error}") from None
    if profiler.item_count == 0:
        raise ClientError("dataset_source holds no records" + (" in the monitoring period" if settings.start or settings.end else ""))
    return profiler.to_statistics_json()


def fmt_is_positional(settings: Settings) -> bool:
    return settings.format == "csv" and not settings.header


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------


def drift_distances(baseline: dict[str, Any] | None, constraints: dict[str, Any], current: dict[str, Any]) -> dict[str, float]:
    """Per feature, the distance the baseline drift check compares with its threshold."""
    if not baseline:
        return {}
    config = kernel.deep_merge(kernel.DEFAULT_MONITORING_CONFIG, constraints.get("monitoring_config") or {})
    dist_cfg = config.get("distribution_constraints") or {}
    base = {f["name"]: f for f in baseline.get("features", [])}
    out: dict[str, float] = {}
    for feat in current.get("features", []):
        other = base.get(feat["name"])
        if other is None:
            continue
        if "numerical_statistics" in feat and "numerical_statistics" in other:
            a, b = kernel.sketch_of(other), kernel.sketch_of(feat)
            if a is not None and b is not None and a.n and b.n:
                out[feat["name"]] = float(kernel.numeric_distance(a, b, dist_cfg.get("comparison_method", "Robust")))
        elif "string_statistics" in feat and "string_statistics" in other:
            a_counts, b_counts = kernel.category_counts(other), kernel.category_counts(feat)
            if a_counts and b_counts:
                method = dist_cfg.get("categorical_drift_method", "LInfinity")
                out[feat["name"]] = float(kernel.categorical_distance(a_counts, b_counts, method))
    return out


def metrics(settings: Settings, current: dict[str, Any], distances: dict[str, float], when: datetime) -> list[dict[str, Any]]:
    """CloudWatch metric data in the layout of page model-monitor-byoc-cloudwatch (PutMetricData's
    MetricDatum): per feature ``feature_data_<name>`` (numeric: SampleCount/Sum/Minimum/Maximum),
    ``feature_non_null_<name>`` (completeness) and ``feature_baseline_drift_<name>``
    (the drift distance), the names page model-monitor-interpreting-cloudwatch documents."""
    dimensions = settings.dimensions
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def datum(name: str, **value: Any) -> dict[str, Any]:
        return {"MetricName": name, "Timestamp": stamp, "Dimensions": dimensions, **value, "Unit": "None"}

    out = []
    for feat in current.get("features", []):
        name = feat["name"]
        stats = feat.get("numerical_statistics") or feat.get("string_statistics") or {}
        common = stats.get("common") or {}
        present, missing = float(common.get("num_present", 0)), float(common.get("num_missing", 0))
        if "numerical_statistics" in feat and present:
            out.append(datum(f"feature_data_{name}", StatisticValues={
                "SampleCount": present, "Sum": float(stats["sum"]),
                "Minimum": float(stats["min"]), "Maximum": float(stats["max"]),
            }))
        out.append(datum(f"feature_non_null_{name}", Value=present / (present + missing) if present + missing else 1.0))
        if name in distances and math.isfinite(distances[name]):
            out.append(datum(f"feature_baseline_drift_{name}", Value=distances[name]))
    return out


# ------------------------------------------------------------------------------------------------
# The job
# ------------------------------------------------------------------------------------------------


def _write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run(root: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the baselining or monitoring job configured in ``env`` (default: this process's
    environment, read here and nowhere else); a summary of what was written."""
    from .report import render

    contract = contract_module.read(root, env)
    if contract.analysis_type == "MODEL_QUALITY":
        from .quality import run_quality

        return run_quality(contract)
    if contract.analysis_type == "FEATURE_ATTRIBUTION_DRIFT":
        from .quality import run_attribution_drift

        return run_attribution_drift(contract)
    if contract.analysis_type == "MODEL_BIAS":
        from .bias_drift import run_bias_drift

        return run_bias_drift(contract)
    settings = Settings(contract)
    when = datetime.now(timezone.utc)
    baseline_stats = _load_json(settings.baseline_statistics, "baseline_statistics") if settings.baseline_statistics else None
    constraints = _load_json(settings.baseline_constraints, "baseline_constraints") if settings.baseline_constraints else None
    names_hint = [f["name"] for f in (constraints or baseline_stats or {}).get("features", [])]

    current = profile(settings, names_hint)
    settings.output.mkdir(parents=True, exist_ok=True)
    _write(settings.output / "statistics.json", current)
    written = ["statistics.json"]
    if not settings.monitoring:
        _write(settings.output / "constraints.json", kernel.suggest_constraints(current))
        return {"mode": "baselining", "output": str(settings.output), "files": written + ["constraints.json"]}

    if constraints is None:
        constraints = kernel.suggest_constraints(baseline_stats)
    config = kernel.deep_merge(kernel.DEFAULT_MONITORING_CONFIG, constraints.get("monitoring_config") or {})
    violations = kernel.check(baseline_stats, constraints, current)
    _write(settings.output / "constraint_violations.json", violations)
    written.append("constraint_violations.json")
    distances = drift_distances(baseline_stats, constraints, current)
    if settings.publish_metrics and str(config.get("emit_metrics", "Enabled")) == "Enabled":
        data = metrics(settings, current, distances, when)
        path = contract.host("/opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(d) + "\n" for d in data), encoding="utf-8")
    (settings.output / "report.html").write_text(
        render(baseline_stats, constraints, current, violations, distances, when), encoding="utf-8"
    )
    written.append("report.html")
    return {
        "mode": "monitoring", "output": str(settings.output), "files": written,
        "violations": len(violations["violations"]),
    }
