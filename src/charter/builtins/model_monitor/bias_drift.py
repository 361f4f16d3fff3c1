"""Bias drift job of the ``model-monitor`` image (``analysis_type=MODEL_BIAS``).

SageMaker monitors bias drift with Clarify: each monitoring window, the captured requests
(features and predicted label) are joined with the ground truth by inference id, the
post-training bias metrics of the analysis configuration are computed on them, and each is
compared with the baseline's (Developer Guide, "Bias drift for models in production" and
"Bias drift violations"): a metric violates when it is farther from its balanced value than
the baseline's was, unless the configuration names an explicit range.

Environment (Charter's names, in the style of the model quality job; AWS does not publish
the bias container's variables):

``analysis_config``
    container path of the Clarify ``analysis_config.json`` (default
    ``/opt/ml/processing/input/config/analysis_config.json``): ``headers`` (the feature names
    of a captured request, in order; a label name among them is ignored), ``label``,
    ``label_values_or_threshold``, ``facet``, ``group_variable``, ``methods.post_training_bias``,
    ``probability_threshold``.
``dataset_source`` / ``ground_truth_source``
    container paths of the data capture and of the ground-truth records.
``features_attribute``
    for JSON requests, the JSON path of the feature list (CSV requests are one row of features).
``inference_attribute`` / ``probability_attribute`` / ``probability_threshold_attribute``
    where the prediction is in the captured response (as for model quality; the threshold
    defaults to the configuration's ``probability_threshold``, else 0.5).
``baseline_constraints``
    the baseline's Clarify ``analysis.json``. Without it the job only writes ``analysis.json``
    (baselining from live traffic); a baseline from training data is a ``clarify`` job.
``bias_metric_ranges``
    optional JSON ``{"DPPL": [-0.1, 0.1], ...}``: explicit allowed ranges that replace the
    baseline comparison for those metrics.

Writes ``analysis.json`` (its ``post_training_bias_metrics`` in Clarify's form),
``constraint_violations.json`` and one CloudWatch datum per metric and facet value.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from charter.analytics import attribution_drift, model_quality

from .. import ClientError
from ..clarify import config as clarify_config
from ..clarify.analysis import bias_section
from ..clarify.data import Dataset
from .contract import Contract
from .quality import _files, _json_lines, _within, _write

__all__ = ["run_bias_drift"]

DEFAULT_CONFIG = "/opt/ml/processing/input/config/analysis_config.json"


def _request_row(record: Mapping[str, Any], features_attribute: str | None) -> list[Any]:
    """The feature values of one captured request."""
    text, is_json = model_quality._decode((record.get("captureData") or {}).get("endpointInput") or {})
    if is_json:
        value = model_quality._pick(text, True, features_attribute)
        if isinstance(value, Mapping):
            value = list(value.values())
        return list(value) if isinstance(value, (list, tuple)) else [value]
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if len(rows) != 1:
        raise ValueError(f"a captured CSV request must hold one row of features; it holds {len(rows)}")
    return [model_quality.parse_label(cell) for cell in rows[0]]


def _ranges(contract: Contract) -> dict[str, Any]:
    text = contract.get("bias_metric_ranges")
    if not text:
        return {}
    try:
        ranges = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClientError(f"environment variable bias_metric_ranges is not valid JSON ({error})") from None
    if not isinstance(ranges, dict):
        raise ClientError('environment variable bias_metric_ranges must be an object such as {"DPPL": [-0.1, 0.1]}')
    return ranges


def _metrics(section: dict[str, Any], contract: Contract, when: datetime) -> list[dict[str, Any]]:
    """One CloudWatch datum per (metric, facet, facet value), the facet in the dimensions."""
    base = contract.dimensions
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for (facet, value, metric), number in attribution_drift.bias_metric_values(section).items():
        if math.isfinite(number):
            dimensions = [*base, {"Name": "Facet", "Value": facet}, {"Name": "FacetValue", "Value": value}]
            out.append({"MetricName": metric, "Timestamp": stamp, "Dimensions": dimensions, "Value": number,
                        "Unit": "None"})
    return out


def run_bias_drift(contract: Contract) -> dict[str, Any]:
    """Post-training bias of the window's captured, labelled traffic, against the baseline's."""
    config_name = contract.get("analysis_config", DEFAULT_CONFIG)
    config_path = contract.host(config_name)
    if not config_path.is_file():
        raise ClientError(f"environment variable analysis_config: {config_name} "
                          "is not a file in the container; it must name the Clarify analysis_config.json")
    config = clarify_config.load(config_path)
    if config.label is None or config.label_values_or_threshold is None or not config.facets:
        raise ClientError("analysis_config must name the label, label_values_or_threshold and facet to monitor bias")
    if not config.headers:
        raise ClientError("analysis_config must list headers: the names of a captured request's features, in order")
    # Both named before either is checked for existence, as a person fixes them together.
    contract.required("dataset_source", "set it to the container path of the data capture")
    contract.required("ground_truth_source", "set it to the container path of the ground-truth records")
    source = contract.existing("dataset_source", "set it to the container path of the data capture")
    truth = contract.existing("ground_truth_source", "set it to the container path of the ground-truth records")
    ranges = _ranges(contract)  # checked before any work, baselining or not
    start, end = contract.start, contract.end
    threshold_text = contract.get("probability_threshold_attribute", str(config.probability_threshold or 0.5))
    try:
        threshold = float(threshold_text)
    except ValueError:
        raise ClientError(f"environment variable probability_threshold_attribute must be a number; got {threshold_text!r}") from None

    captured = list(_within(_json_lines(_files(source), "dataset_source"), start, end))
    try:
        merged = model_quality.merge_ground_truth(
            captured, _json_lines(_files(truth), "ground_truth_source"),
            inference_attribute=contract.get("inference_attribute"),
            probability_attribute=contract.get("probability_attribute"),
            probability_threshold=threshold,
        )
    except ValueError as error:
        raise ClientError(f"captured predictions cannot be merged with ground truth: {error}") from None
    if len(merged.y_true) == 0:
        raise ClientError("no captured prediction in the monitoring period has a ground-truth record under ground_truth_source")
    by_id = {}
    for record in captured:
        meta = record.get("eventMetadata") or {}
        key = meta.get("inferenceId") or meta.get("eventId")
        if key is not None:
            by_id[str(key)] = record
    label_name = str(config.label) if isinstance(config.label, str) else "label"
    names = [h for h in config.headers if h != label_name]
    rows = []
    for key in merged.inference_ids:
        try:
            row = _request_row(by_id[key], contract.get("features_attribute"))
        except ValueError as error:
            raise ClientError(f"captured request {key}: {error}") from None
        if len(row) != len(names):
            raise ClientError(f"captured request {key} has {len(row)} features; analysis_config headers name "
                              f"{len(names)} ({', '.join(names)})")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=names)
    frame[label_name] = merged.y_true
    facets = []
    for i, facet in enumerate(config.facets):
        name = facet.name_or_index if isinstance(facet.name_or_index, str) else names[facet.name_or_index]
        if name not in names:
            raise ClientError(f"analysis_config facet[{i}] {name!r} is not among the headers ({', '.join(names)})")
        facets.append(name)
    group = config.group_variable if isinstance(config.group_variable, str) else None
    dataset = Dataset(frame=frame, features=names, label=label_name, facets=facets, group_variable=group)
    section = bias_section("post_training", config, dataset, np.asarray(merged.y_pred)).to_analysis()
    analysis = {"version": "1.0", "post_training_bias_metrics": section}
    output = contract.output
    _write(output / "analysis.json", analysis)
    written = ["analysis.json"]
    when = datetime.now(timezone.utc)
    summary: dict[str, Any] = {"output": str(output), "files": written, "records": len(merged.y_true)}
    constraints = contract.get("baseline_constraints")
    if not constraints:
        return {**summary, "mode": "baselining"}
    baseline_path = contract.host(constraints)
    try:
        baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClientError(f"environment variable baseline_constraints: {constraints} is not readable JSON ({error})") from None
    try:
        violations = attribution_drift.compare_bias(baseline, analysis, ranges)
    except ValueError as error:
        raise ClientError(f"environment variable bias_metric_ranges: {error}") from None
    _write(output / "constraint_violations.json", violations)
    written.append("constraint_violations.json")
    if contract.publish_metrics:
        path = contract.host("/opt/ml/output/metrics/cloudwatch/cloudwatch_metrics.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(d) + "\n" for d in _metrics(analysis, contract, when)), encoding="utf-8")
    return {**summary, "mode": "monitoring", "violations": len(violations["violations"])}
