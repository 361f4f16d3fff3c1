"""Model quality and feature attribution drift jobs of the ``model-monitor`` image.

Model quality (``analysis_type=MODEL_QUALITY``), configured the way the SageMaker Python SDK's
``ModelQualityMonitor`` configures SageMaker's model quality container (Developer Guide,
"Monitor model quality"; CreateModelQualityJobDefinition's ``ModelQualityAppSpecification``
and ``EndpointInput``):

``problem_type`` (required)
    ``BinaryClassification``, ``MulticlassClassification`` or ``Regression``.
``inference_attribute`` / ``probability_attribute``
    where the predicted label / the probability is: a column (name or index) of the baseline
    CSV; a JSON path or CSV column index in the captured endpoint output.  At least one is
    needed; with only a probability (binary problems), the label is ``probability >=
    probability_threshold_attribute`` (default 0.5).
``ground_truth_attribute``
    baselining only: the CSV column holding the actual label.
``ground_truth_source``
    monitoring only: the container path of the ground-truth JSON Lines records
    (``{"groundTruthData": {...}, "eventMetadata": {"eventId": ...}}``), merged with the
    captured predictions by inference id (page model-monitor-model-quality-merge).

Baselining (no ``baseline_constraints``) writes ``statistics.json`` and the suggested
``constraints.json``; monitoring writes ``statistics.json``, ``constraint_violations.json``
and, unless ``publish_cloudwatch_metrics`` is ``Disabled``, one CloudWatch datum per scalar
metric (``accuracy``, ``f1``, ``mae``...: page model-monitor-model-quality-metrics) to
``/opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl``.

Feature attribution drift (``analysis_type=FEATURE_ATTRIBUTION_DRIFT``): ``baseline_analysis``
and ``analysis_source`` name two Clarify ``analysis.json`` files (baseline and live); the NDCG
of the live ranking is checked against ``attribution_drift_threshold`` (default 0.9) and the
result written to ``constraint_violations.json`` (page clarify-feature-attribute-drift-violations).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from charter.analytics import attribution_drift, model_quality

from .. import ClientError
from .capture import parse_time
from .contract import Contract

__all__ = ["run_quality", "run_attribution_drift", "quality_metrics"]


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def _json_lines(paths: list[Path], variable: str) -> Iterator[dict[str, Any]]:
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ClientError(f"{variable}: {path.name} line {number} is not JSON ({error})") from None
            if isinstance(record, dict):
                yield record


def _write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


class QualitySettings:
    """The model quality job's configuration, checked from its environment contract."""

    def __init__(self, contract: Contract) -> None:
        self.root = contract.root
        env = contract.env
        self.problem_type = contract.required("problem_type", f"set it to one of {', '.join(model_quality.PROBLEM_TYPES)}")
        if self.problem_type not in model_quality.PROBLEM_TYPES:
            raise ClientError(
                f"environment variable problem_type must be one of {', '.join(model_quality.PROBLEM_TYPES)};"
                f" got {self.problem_type!r}"
            )
        self.inference_attribute = contract.get("inference_attribute")
        self.probability_attribute = contract.get("probability_attribute")
        if self.inference_attribute is None and self.probability_attribute is None:
            raise ClientError(
                "environment variables inference_attribute and probability_attribute are both unset;"
                " set at least one to locate the prediction"
            )
        if self.inference_attribute is None and self.problem_type != "BinaryClassification":
            raise ClientError(
                f"environment variable inference_attribute is required for problem_type {self.problem_type}"
                " (a probability alone only makes a binary label)"
            )
        threshold = contract.get("probability_threshold_attribute", "0.5")
        try:
            self.threshold = float(threshold)
        except ValueError:
            raise ClientError(f"environment variable probability_threshold_attribute must be a number; got {threshold!r}") from None
        if not math.isfinite(self.threshold):
            raise ClientError(f"environment variable probability_threshold_attribute must be finite; got {threshold!r}")
        self.source = contract.existing("dataset_source", "set it to the container path of the data")
        self.output = contract.output
        self.constraints = contract.optional_file("baseline_constraints")
        fmt_text = env.get("dataset_format") or ""
        try:
            fmt = json.loads(fmt_text) if fmt_text else {}
        except json.JSONDecodeError as error:
            raise ClientError(f"environment variable dataset_format is not valid JSON ({error})") from None
        self.header = bool(((fmt or {}).get("csv") or {}).get("header", True)) if isinstance(fmt, dict) else True
        self.start, self.end = contract.start, contract.end
        self.publish_metrics = contract.publish_metrics
        self.endpoint, self.schedule = contract.endpoint, contract.schedule
        self.dimensions = contract.dimensions
        self.metrics_file = contract.host("/opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl")
        self.ground_truth_attribute = contract.get("ground_truth_attribute")
        self.ground_truth: Path | None = None
        if self.monitoring:
            self.ground_truth = contract.existing(
                "ground_truth_source", "set it to the container path of the ground-truth records"
            )
        elif self.ground_truth_attribute is None:
            raise ClientError(
                "environment variable ground_truth_attribute is not set; a baselining job needs the"
                " dataset column that holds the actual label"
            )

    @property
    def monitoring(self) -> bool:
        return self.constraints is not None


def _column(header: list[str] | None, attribute: str, variable: str, width: int) -> int:
    if header is not None and attribute in header:
        return header.index(attribute)
    try:
        index = int(attribute)
    except ValueError:
        raise ClientError(f"environment variable {variable}: the dataset has no column {attribute!r}") from None
    if not 0 <= index < width:
        raise ClientError(f"environment variable {variable}: column index {index} is outside the dataset's {width} columns")
    return index


def _baseline_columns(settings: QualitySettings) -> tuple[list[Any], list[Any], list[float] | None]:
    """Actual labels, predicted labels and probabilities out of the baseline CSV."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    for path in _files(settings.source):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            if settings.header:
                first = next(reader, None)
                header = header or ([c.strip() for c in first] if first else None)
            rows.extend(r for r in reader if r)
    if not rows:
        raise ClientError("dataset_source holds no records")
    width = len(rows[0])
    truth = _column(header, settings.ground_truth_attribute or "", "ground_truth_attribute", width)
    pred = _column(header, settings.inference_attribute, "inference_attribute", width) if settings.inference_attribute else None
    prob = _column(header, settings.probability_attribute, "probability_attribute", width) if settings.probability_attribute else None
    y_true, y_pred, y_score = [], [], [] if prob is not None else None
    for number, row in enumerate(rows, 1):
        try:
            y_true.append(model_quality.parse_label(row[truth]))
            score = float(row[prob]) if prob is not None else None
            if y_score is not None:
                y_score.append(score)
            y_pred.append(model_quality.parse_label(row[pred]) if pred is not None else int(score >= settings.threshold))
        except (IndexError, ValueError) as error:
            raise ClientError(f"dataset_source: record {number} cannot be read ({error})") from None
    return y_true, y_pred, y_score


def _within(records: Iterator[dict[str, Any]], start: datetime | None, end: datetime | None) -> Iterator[dict[str, Any]]:
    """The captured events of ``records`` whose inference time is within ``[start, end)``."""
    for record in records:
        stamp = (record.get("eventMetadata") or {}).get("inferenceTime")
        if stamp and (start or end):
            when = parse_time(str(stamp), "inferenceTime")
            if (start and when < start) or (end and when >= end):
                continue
        yield record


def _captured(settings: QualitySettings) -> Iterator[dict[str, Any]]:
    """Captured events within ``[start_time, end_time)``."""
    return _within(_json_lines(_files(settings.source), "dataset_source"), settings.start, settings.end)


def quality_metrics(settings: QualitySettings, statistics: Mapping[str, Any], when: datetime) -> list[dict[str, Any]]:
    """One CloudWatch datum (PutMetricData's MetricDatum) per scalar metric of the report, named
    as statistics.json names it, with the data quality job's Endpoint/MonitoringSchedule dimensions."""
    dimensions = settings.dimensions
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    section = model_quality.PROBLEM_TYPES[settings.problem_type]
    out = []
    for name, entry in (statistics.get(f"{section}_metrics") or {}).items():
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out.append({"MetricName": name, "Timestamp": stamp, "Dimensions": dimensions,
                        "Value": float(value), "Unit": "None"})
    return out


def run_quality(contract: Contract) -> dict[str, Any]:
    """The model quality baselining or monitoring job; a summary of what was written."""
    settings = QualitySettings(contract)
    when = datetime.now(timezone.utc)
    settings.output.mkdir(parents=True, exist_ok=True)
    if not settings.monitoring:
        y_true, y_pred, y_score = _baseline_columns(settings)
        try:
            stats = model_quality.model_quality_statistics(settings.problem_type, y_true, y_pred, y_score, evaluation_time=when)
        except ValueError as error:
            raise ClientError(f"the baseline dataset cannot be evaluated: {error}") from None
        _write(settings.output / "statistics.json", stats)
        _write(settings.output / "constraints.json", model_quality.suggest_quality_constraints(stats, settings.problem_type))
        return {"mode": "baselining", "output": str(settings.output), "files": ["statistics.json", "constraints.json"]}

    try:
        constraints = json.loads(settings.constraints.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClientError(f"environment variable baseline_constraints: not readable JSON ({error})") from None
    try:
        merged = model_quality.merge_ground_truth(
            _captured(settings),
            _json_lines(_files(settings.ground_truth), "ground_truth_source"),
            inference_attribute=settings.inference_attribute,
            probability_attribute=settings.probability_attribute,
            probability_threshold=settings.threshold,
        )
    except ValueError as error:
        raise ClientError(f"captured predictions cannot be merged with ground truth: {error}") from None
    if len(merged.y_true) == 0:
        raise ClientError(
            "no captured prediction in the monitoring period has a ground-truth record under ground_truth_source"
            f" ({len(merged.unmatched_captures)} captured, {len(merged.unmatched_ground_truth)} ground-truth records unmatched)"
        )
    try:
        stats = model_quality.model_quality_statistics(
            settings.problem_type, merged.y_true, merged.y_pred, merged.y_score, evaluation_time=when
        )
        violations = model_quality.check_quality(constraints, stats)
    except ValueError as error:
        raise ClientError(f"model quality cannot be evaluated: {error}") from None
    _write(settings.output / "statistics.json", stats)
    _write(settings.output / "constraint_violations.json", violations)
    if settings.publish_metrics:
        path = settings.metrics_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(d) + "\n" for d in quality_metrics(settings, stats, when)), encoding="utf-8")
    return {
        "mode": "monitoring", "output": str(settings.output),
        "files": ["statistics.json", "constraint_violations.json"], "violations": len(violations["violations"]),
    }


def run_attribution_drift(contract: Contract) -> dict[str, Any]:
    """Feature attribution drift between two Clarify analyses -> ``constraint_violations.json``."""
    documents = []
    for variable in ("baseline_analysis", "analysis_source"):
        value = contract.required(variable, "set it to the container path of a Clarify analysis.json")
        path = contract.host(value)
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ClientError(f"environment variable {variable}: {value} is not readable JSON ({error})") from None
    text = contract.get("attribution_drift_threshold", str(attribution_drift.DEFAULT_NDCG_THRESHOLD))
    try:
        threshold = float(text)
    except ValueError:
        raise ClientError(f"environment variable attribution_drift_threshold must be a number; got {text!r}") from None
    try:
        violations = attribution_drift.check_attribution_drift(documents[0], documents[1], threshold)
    except ValueError as error:
        raise ClientError(f"feature attributions cannot be compared: {error}") from None
    output = contract.output
    _write(output / "constraint_violations.json", violations)
    return {"mode": "monitoring", "output": str(output), "files": ["constraint_violations.json"],
            "violations": len(violations["violations"])}
