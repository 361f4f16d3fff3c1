"""A SageMaker model card, made readable: HTML for the console, PDF for export jobs.

The card is what ``DescribeModelCard`` answers: a header (name, version, status,
who created and changed it when) and ``Content``, a JSON string in SageMaker's
model card schema (``services/schemas/model_card.json``): model overview,
intended uses (with the risk rating), business details, training details,
evaluation details (metric groups of number/string/boolean metrics and
``bar_chart``/``linear_graph``/``matrix`` metrics), additional information and
model package details.

:func:`card_view` turns the card into a tree of display nodes (fields, tables,
charts), every field of the content included, unknown ones too, with readable
labels; ``templates/model_card.html`` draws the tree.  Charts are drawn by
:func:`charter.render.charts.metric_svg` and inlined in the HTML, so the page is
self-contained and the PDF (:mod:`charter.render.pdf`) embeds them as vectors with
searchable text.  :func:`render_html` and :func:`render_pdf` are the entry points:
the console shows the HTML, the model card export job stores the PDF, and the CLI
draws :func:`card_view`'s tree in a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import pages, pdf
from .charts import CHART_TYPES, metric_svg
from .formatting import format_number, format_time

__all__ = ["card_view", "render_html", "render_pdf", "parse_content", "format_number", "format_time"]

TEMPLATES = Path(__file__).with_name("templates")

# The sections of the model card schema, in the order SageMaker's console shows them.
SECTIONS: list[tuple[str, str]] = [
    ("model_overview", "Model overview"),
    ("intended_uses", "Intended uses"),
    ("business_details", "Business details"),
    ("training_details", "Training details"),
    ("evaluation_details", "Evaluation details"),
    ("additional_information", "Additional information"),
    ("model_package_details", "Model package details"),
]

LABELS: dict[str, str] = {
    # model_overview
    "model_id": "Model ID",
    "model_name": "Model name",
    "model_description": "Description",
    "model_version": "Model version",
    "problem_type": "Problem type",
    "algorithm_type": "Algorithm type",
    "model_creator": "Model creator",
    "model_owner": "Model owner",
    "model_artifact": "Model artifacts",
    "inference_environment": "Inference environment",
    "container_image": "Container images",
    # intended_uses
    "purpose_of_model": "Purpose of the model",
    "intended_uses": "Intended uses",
    "factors_affecting_model_efficiency": "Factors affecting model efficiency",
    "risk_rating": "Risk rating",
    "explanations_for_risk_rating": "Explanation of the risk rating",
    # business_details
    "business_problem": "Business problem",
    "business_stakeholders": "Business stakeholders",
    "line_of_business": "Line of business",
    # training_details
    "objective_function": "Objective function",
    "training_observations": "Training observations",
    "training_job_details": "Training job",
    "training_arn": "Training job ARN",
    "training_datasets": "Training datasets",
    "training_environment": "Training environment",
    "training_metrics": "Training metrics",
    "user_provided_training_metrics": "Training metrics (user provided)",
    "hyper_parameters": "Hyperparameters",
    "user_provided_hyper_parameters": "Hyperparameters (user provided)",
    "facet": "Facet",
    "condition": "Condition",
    "notes": "Notes",
    # evaluation_details
    "evaluation_observation": "Observations",
    "evaluation_job_arn": "Evaluation job ARN",
    "datasets": "Datasets",
    "metadata": "Metadata",
    "metric_groups": "Metric groups",
    # additional_information
    "ethical_considerations": "Ethical considerations",
    "caveats_and_recommendations": "Caveats and recommendations",
    "custom_details": "Custom details",
    # model_package_details
    "model_package_arn": "Model package ARN",
    "model_package_name": "Model package name",
    "model_package_group_name": "Model package group",
    "model_package_version": "Model package version",
    "model_package_description": "Description",
    "model_package_status": "Package status",
    "model_approval_status": "Approval status",
    "approval_description": "Approval description",
    "created_by": "Created by",
    "user_profile_name": "User profile",
    "domain": "Domain",
    "task": "Task",
    "source_algorithms": "Source algorithms",
    "algorithm_name": "Algorithm",
    "model_data_url": "Model data URL",
    "inference_specification": "Inference specification",
    "containers": "Containers",
    "image": "Image",
    "nearest_model_name": "Nearest model name",
    "name": "Name",
    "value": "Value",
}

_ACRONYMS = {"arn": "ARN", "id": "ID", "url": "URL", "uri": "URI", "s3": "S3", "kms": "KMS", "iam": "IAM", "ml": "ML"}

# Maps whose keys the card's author chose: shown as written, not relabelled.
_FREE_FORM_MAPS = {"metadata", "custom_details"}

# Badge colours: status of the card, risk rating, approval of a package.
TONES: dict[str, str] = {
    "Draft": "neutral",
    "PendingReview": "caution",
    "Approved": "good",
    "Archived": "muted",
    "High": "bad",
    "Medium": "caution",
    "Low": "good",
    "Unknown": "neutral",
    "Rejected": "bad",
    "PendingManualApproval": "caution",
}

STATUS_LABELS = {"PendingReview": "Pending review", "PendingManualApproval": "Pending manual approval"}

_LONG_TEXT = 90  # characters; longer strings (or any with a line break) are set as paragraphs


def label_of(key: str) -> str:
    """A readable label for a schema field name (``risk_rating`` -> ``Risk rating``)."""
    if key in LABELS:
        return LABELS[key]
    words = [w for w in re.split(r"[_\s]+", key) if w]
    if not words:
        return key
    out = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = out[0]
    out[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(out)


# --- display nodes ----------------------------------------------------------------


@dataclass
class Text:
    text: str
    mono: bool = False
    kind: str = "text"


@dataclass
class Paragraph:
    text: str
    kind: str = "paragraph"


@dataclass
class Badge:
    text: str
    tone: str = "neutral"
    kind: str = "badge"


@dataclass
class Items:
    items: list
    kind: str = "items"


@dataclass
class Table:
    columns: list[str]
    rows: list[list]  # cells are nodes
    numeric: list[bool] = field(default_factory=list)  # per column: right-align
    compact: bool = False  # as wide as its content needs, not the whole page
    kind: str = "table"


@dataclass
class Field:
    label: str
    node: Any
    wide: bool = False


@dataclass
class Fields:
    fields: list[Field]
    kind: str = "fields"


@dataclass
class Block:
    title: str
    children: list
    level: int = 3
    kind: str = "block"


@dataclass
class Chart:
    title: str
    svg: Markup
    chart_type: str
    notes: str | None = None
    kind: str = "chart"


@dataclass
class Section:
    key: str
    title: str
    children: list


@dataclass
class CardView:
    name: str
    version: Any
    status: Badge | None
    risk: Badge | None
    subtitle: str | None
    facts: list[Field]
    sections: list[Section]
    generated_at: str
    content_error: str | None = None
    raw_content: str | None = None


# --- values -----------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _looks_like_address(text: str) -> bool:
    return text.startswith(("s3://", "arn:", "https://", "http://", "file://")) or (
        "/" in text and " " not in text and "." in text and len(text) > 20
    )


def _scalar_node(value: Any):
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("Yes" if value else "No")
    if isinstance(value, (int, float)):
        return Text(format_number(value))
    text = str(value)
    if "\n" in text or len(text) > _LONG_TEXT and " " in text:
        return Paragraph(text)
    return Text(text, mono=_looks_like_address(text))


def _is_wide(node) -> bool:
    return isinstance(node, (Paragraph, Items, Table, Fields, Chart)) or (
        isinstance(node, Text) and len(node.text) > 40
    )


def _name_value_table(rows: list[dict]) -> Table:
    """Metrics and hyperparameters: Name | Value (| Notes)."""
    with_notes = any(row.get("notes") for row in rows)
    columns = ["Name", "Value"] + (["Notes"] if with_notes else [])
    body = []
    for row in rows:
        cells = [Text(str(row.get("name", ""))), _scalar_node(row.get("value")) if _is_scalar(row.get("value")) else Text(_json(row.get("value")))]
        if with_notes:
            cells.append(Text(str(row.get("notes") or "")))
        body.append(cells)
    numeric = [False, all(_numeric(r.get("value")) for r in rows)]
    return Table(columns, body, numeric + ([False] if with_notes else []), compact=not with_notes)


def _numeric(value: Any) -> bool:
    """A number, or a string holding one (hyperparameter values are strings in the schema)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _record_table(rows: list[dict]) -> Table:
    """A list of flat objects (containers, source algorithms): one row each."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    body = [[_scalar_node(row[k]) if k in row and row[k] is not None else Text("") for k in keys] for row in rows]
    return Table([label_of(k) for k in keys], body, [False] * len(keys))


def _free_map_table(mapping: dict) -> Table:
    rows = [[Text(str(k)), _scalar_node(v) if _is_scalar(v) else Text(_json(v))] for k, v in mapping.items()]
    return Table(["Key", "Value"], rows, [False, False], compact=True)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _value_node(key: str, value: Any):
    """The display node for one field of the content, or None when it holds nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if key == "risk_rating" and isinstance(value, str):
        return Badge(value, TONES.get(value, "neutral"))
    if key in ("model_approval_status", "model_package_status") and isinstance(value, str):
        return Badge(STATUS_LABELS.get(value, value), TONES.get(value, "neutral"))
    if _is_scalar(value):
        return _scalar_node(value)
    if isinstance(value, list):
        if all(_is_scalar(v) for v in value):
            nodes = [_scalar_node(v) for v in value if v is not None]
            return nodes[0] if len(nodes) == 1 else Items(nodes)
        if all(isinstance(v, dict) for v in value):
            if all(set(v) <= {"name", "value", "notes"} and "name" in v for v in value):
                return _name_value_table(value)
            if all(all(_is_scalar(x) for x in v.values()) for v in value):
                return _record_table(value)
            return Items([Fields(_fields_of(v)) for v in value])
        return Items([Text(_json(v)) for v in value])
    if isinstance(value, dict):
        if key in _FREE_FORM_MAPS:
            return _free_map_table(value)
        if key == "objective_function":
            return Fields(_objective_fields(value))
        fields = _fields_of(value)
        if len(fields) == 1 and len(value) == 1 and _is_scalar(next(iter(value.values()))):
            return fields[0].node  # {"user_profile_name": "priya"} reads best as just "priya"
        return Fields(fields) if fields else None
    return Text(str(value))


def _objective_fields(objective: dict) -> list[Field]:
    """``{"function": {"function": "Maximize", "facet": ..., "condition": ...}, "notes": ...}``, flattened."""
    flat: dict = {}
    function = objective.get("function")
    if isinstance(function, dict):
        if function.get("function"):
            flat["optimization"] = function["function"]
        flat.update({k: v for k, v in function.items() if k != "function"})
    elif function:
        flat["optimization"] = function
    flat.update({k: v for k, v in objective.items() if k != "function"})
    return _fields_of(flat)


def _fields_of(mapping: dict) -> list[Field]:
    fields = []
    for key, value in mapping.items():
        node = _value_node(key, value)
        if node is not None:
            fields.append(Field(label_of(key), node, wide=_is_wide(node)))
    return fields


# --- sections ---------------------------------------------------------------------


def _section_children(key: str, value: Any, charts: bool = True) -> list:
    if key == "evaluation_details" and isinstance(value, list):
        return [_evaluation_block(evaluation, i, charts) for i, evaluation in enumerate(value, 1)]
    if isinstance(value, dict):
        fields = _fields_of(value)
        return [Fields(fields)] if fields else []
    node = _value_node(key, value)
    return [node] if node is not None else []


def _evaluation_block(evaluation: Any, number: int, charts: bool = True) -> Block:
    if not isinstance(evaluation, dict):
        return Block(f"Evaluation {number}", [Text(_json(evaluation))])
    title = str(evaluation.get("name") or f"Evaluation {number}")
    rest = {k: v for k, v in evaluation.items() if k not in ("name", "metric_groups")}
    children: list = []
    fields = _fields_of(rest)
    if fields:
        children.append(Fields(fields))
    for group_number, group in enumerate(evaluation.get("metric_groups") or [], 1):
        children.append(_metric_group_block(group, group_number, charts))
    return Block(title, children, level=3)


def _metric_group_block(group: Any, number: int, charts: bool = True) -> Block:
    if not isinstance(group, dict):
        return Block(f"Metric group {number}", [Text(_json(group))], level=4)
    metrics = [m for m in group.get("metric_data") or [] if isinstance(m, dict)]
    simple = [m for m in metrics if m.get("type") not in CHART_TYPES]
    chart_metrics = [m for m in metrics if m.get("type") in CHART_TYPES]
    children: list = []
    if simple:
        children.append(_name_value_table(simple))
    for metric in chart_metrics:
        children.append(chart_node(metric) if charts else chart_summary(metric))
    extra = {k: v for k, v in group.items() if k not in ("name", "metric_data")}
    if extra:
        children.append(Fields(_fields_of(extra)))
    return Block(str(group.get("name") or f"Metric group {number}"), children, level=4)


def parse_content(card_document: dict) -> tuple[dict, str | None]:
    """The card's ``Content`` as a dict, and an error message when it is not a JSON object."""
    raw = card_document.get("Content")
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    try:
        content = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return {}, f"The card's content is not valid JSON ({exc})."
    if not isinstance(content, dict):
        return {}, "The card's content is not a JSON object."
    return content, None


def _who(user: Any) -> str | None:
    if not isinstance(user, dict):
        return None
    return user.get("UserProfileName") or (user.get("IamIdentity") or {}).get("Arn") or user.get("DomainId")


def card_view(
    card_document: dict, content: dict | None = None, *, generated_at: float | None = None, charts: bool = True
) -> CardView:
    """Everything the template shows, from a DescribeModelCard document (and its parsed content).

    ``charts=False`` describes chart metrics in words instead of drawing them
    (for a terminal).
    """
    error = None
    if content is None:
        content, error = parse_content(card_document)
    overview = content.get("model_overview") if isinstance(content.get("model_overview"), dict) else {}
    uses = content.get("intended_uses") if isinstance(content.get("intended_uses"), dict) else {}

    status_value = card_document.get("ModelCardStatus")
    status = Badge(STATUS_LABELS.get(status_value, status_value), TONES.get(status_value, "neutral")) if status_value else None
    risk_value = uses.get("risk_rating")
    risk = Badge(str(risk_value), TONES.get(risk_value, "neutral")) if risk_value else None

    facts: list[Field] = []

    def fact(label: str, value: Any, mono: bool = False) -> None:
        if value not in (None, ""):
            facts.append(Field(label, Text(str(value), mono=mono)))

    model = overview.get("model_name")
    if model and overview.get("model_version") is not None:
        model = f"{model} (version {format_number(overview['model_version'])})"
    fact("Model", model)
    fact("Model owner", overview.get("model_owner"))
    fact("Model creator", overview.get("model_creator"))
    fact("Problem type", overview.get("problem_type"))
    created = format_time(card_document.get("CreationTime"))
    if created and _who(card_document.get("CreatedBy")):
        created = f"{created} by {_who(card_document.get('CreatedBy'))}"
    fact("Created", created)
    modified = format_time(card_document.get("LastModifiedTime"))
    if modified and _who(card_document.get("LastModifiedBy")):
        modified = f"{modified} by {_who(card_document.get('LastModifiedBy'))}"
    fact("Last modified", modified)
    fact("ARN", card_document.get("ModelCardArn"), mono=True)

    sections: list[Section] = []
    known = {key for key, _ in SECTIONS}
    for key, title in SECTIONS + [(k, label_of(k)) for k in content if k not in known]:
        if key in content:
            children = _section_children(key, content[key], charts)
            if children:
                sections.append(Section(key, title, children))

    return CardView(
        name=str(card_document.get("ModelCardName") or overview.get("model_name") or "Model card"),
        version=card_document.get("ModelCardVersion"),
        status=status,
        risk=risk,
        subtitle=overview.get("model_description") if isinstance(overview.get("model_description"), str) else None,
        facts=facts,
        sections=sections,
        generated_at=format_time(generated_at if generated_at is not None else dt.datetime.now(dt.timezone.utc)),
        content_error=error,
        raw_content=card_document.get("Content") if error else None,
    )


# --- charts -----------------------------------------------------------------------


def chart_summary(metric: dict) -> Block:
    """A chart metric in words: its kind and size, for places that cannot draw."""
    value = metric.get("value")
    kind = metric.get("type")
    size = ""
    if isinstance(value, list):
        if kind == "matrix" and value and isinstance(value[0], list):
            size = f"{len(value)} x {len(value[0])} matrix"
        elif kind == "linear_graph":
            size = f"line graph of {len(value)} points"
        else:
            size = f"bar chart of {len(value)} bars"
    children: list = [Text(size or str(kind))]
    if isinstance(metric.get("notes"), str):
        children.append(Paragraph(metric["notes"]))
    return Block(str(metric.get("name") or kind), children, level=5)


def chart_node(metric: dict):
    """A chart for a bar_chart/linear_graph/matrix metric; its values as text if it cannot be drawn."""
    name = str(metric.get("name") or label_of(metric.get("type", "chart")))
    notes = metric.get("notes") if isinstance(metric.get("notes"), str) else None
    try:
        svg = metric_svg(metric)
    except (TypeError, ValueError, KeyError) as exc:
        detail = f"Could not draw this {metric.get('type')} metric ({exc}); its value: {_json(metric.get('value'))}"
        return Block(name, [Paragraph(detail)] + ([Paragraph(notes)] if notes else []), level=5)
    return Chart(name, Markup(svg), metric["type"], notes)


# --- rendering ----------------------------------------------------------------------


def render_html(card_document: dict, content: dict | None = None, *, generated_at: float | None = None) -> str:
    """The whole card as one self-contained HTML page (CSS embedded, charts as inline SVG).

    ``card_document`` is a DescribeModelCard output; ``content`` its parsed
    ``Content`` (parsed here when omitted).
    """
    view = card_view(card_document, content, generated_at=generated_at)
    return pages.environment(TEMPLATES).get_template("model_card.html").render(card=view, stylesheet=pages.stylesheet())


def render_pdf(card_document: dict, content: dict | None = None, *, generated_at: float | None = None) -> bytes:
    """The card as a PDF document (A4), rendered from :func:`render_html`."""
    return pdf.html_to_pdf(render_html(card_document, content, generated_at=generated_at), TEMPLATES)
