"""The Clarify report: ``report.html`` and ``report.pdf`` from an analysis result.

SageMaker Clarify writes a report next to ``analysis.json`` (a notebook and a PDF named
by ``methods.report.name``, titled by ``methods.report.title``) with the bias metrics of
each facet, the SHAP feature importance and the partial dependence plots.  Charter's
report has the same content as one self-contained HTML page (CSS embedded, charts as
inline SVG) and its PDF -- drawn with the same parts, and the same chart style and
stylesheet, as the model card export (:mod:`charter.render`):

* bias metrics: per facet group, a bar chart of the metric values and a table with each
  metric's description and value (metrics Clarify could not compute, or infinite ones,
  are in the table only, with the reason);
* SHAP: a bar chart of the global SHAP values, largest first, per model output, with the
  baseline (expected) value;
* partial dependence: one small plot per feature -- the mean prediction over the grid
  (a line for a numeric feature, bars for a categorical one) above the share of the data
  at each grid value.

Charts are drawn by :mod:`charter.render.charts` (one lock, one house style, text kept
as text so the PDF is searchable).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from charter.render import charts, pages, pdf
from charter.render.charts import ACCENT, GRID, SOFT, metric_svg
from charter.render.formatting import format_number

if TYPE_CHECKING:
    from .analysis import AnalysisResult, BiasSection

TEMPLATES = Path(__file__).with_name("templates")

_PANEL_IN = (3.35, 2.6)  # one partial dependence plot, two to a row on A4
_MAX_SHAP_BARS = 40  # SHAP charts show at most this many features (the table has all)


# --- view ------------------------------------------------------------------------------


@dataclass
class Chart:
    title: str
    svg: Markup


@dataclass
class MetricRow:
    name: str
    description: str
    value: str
    note: str | None = None


@dataclass
class BiasGroup:
    facet: str
    value_or_threshold: str
    chart: Chart | None
    rows: list[MetricRow]


@dataclass
class BiasView:
    title: str
    label: str
    label_value: str
    groups: list[BiasGroup]
    intro: str


@dataclass
class ShapView:
    label: str
    expected_value: str
    chart: Chart | None
    rows: list[tuple[str, str]]


@dataclass
class PdpView:
    feature: str
    data_type: str
    charts: list[Chart]


@dataclass
class ReportView:
    title: str
    generated_at: str
    facts: list[tuple[str, str]]
    pre_training: BiasView | None = None
    post_training: BiasView | None = None
    shap: list[ShapView] = field(default_factory=list)
    shap_note: str = ""
    pdp: list[PdpView] = field(default_factory=list)
    pdp_note: str = ""


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # "Infinity" / "-Infinity"
        return {"Infinity": "∞", "-Infinity": "−∞"}.get(value, value)
    return format_number(float(value))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_BIAS_INTRO = {
    "pre_training": (
        "Pre-training metrics measure imbalance in the data itself: how the sensitive group d compares with the "
        "rest (group a) in size and in observed outcomes. Values near 0 mean little imbalance."
    ),
    "post_training": (
        "Post-training metrics compare the model's predictions for the sensitive group d with those for the rest "
        "(group a). Values near 0 (near 1 for DI) mean the model treats the groups alike."
    ),
}


def _bias_view(section: BiasSection) -> BiasView:
    stage_title = "Pre-training bias" if section.stage == "pre_training" else "Post-training bias"
    groups = []
    for facet, entries in section.facets.items():
        for entry in entries:
            rows, names, values = [], [], []
            for metric in entry["metrics"]:
                value = metric.get("value")
                note = metric.get("error")
                if note is None and isinstance(value, str):
                    note = "infinite: a denominator of the metric is zero"
                rows.append(MetricRow(metric["name"], metric.get("description", ""), _value_text(value), note))
                if _finite(value):
                    names.append(metric["name"])
                    values.append(float(value))
            chart = None
            if values:
                title = f"{stage_title}: {facet} = {entry['value_or_threshold']}"
                svg = metric_svg(
                    {"type": "bar_chart", "name": title, "value": values, "x_axis_name": names, "y_axis_name": "Value"}
                )
                chart = Chart(title, Markup(svg))
            groups.append(BiasGroup(facet, str(entry["value_or_threshold"]), chart, rows))
    return BiasView(stage_title, section.label, section.label_value_or_threshold, groups, _BIAS_INTRO[section.stage])


def _shap_views(result: AnalysisResult) -> list[ShapView]:
    shap = result.shap
    assert shap is not None
    views = []
    unit = "log-odds" if shap.use_logit else "model output"
    for k, label in enumerate(shap.label_headers):
        ordered = sorted(shap.global_shap_values(k).items(), key=lambda kv: kv[1], reverse=True)
        shown = ordered[:_MAX_SHAP_BARS]
        chart = None
        if shown:
            title = f"Global SHAP values ({shap.agg_method}, {unit}), output {label}"
            svg = metric_svg(
                {
                    "type": "bar_chart",
                    "name": title,
                    "value": [v for _, v in shown],
                    "x_axis_name": [n for n, _ in shown],
                    "y_axis_name": f"SHAP value ({shap.agg_method})",
                }
            )
            chart = Chart(title, Markup(svg))
        views.append(
            ShapView(label, format_number(float(shap.expected[k])), chart, [(n, format_number(v)) for n, v in ordered])
        )
    return views


def _short(value: Any, limit: int = 18) -> str:
    text = format_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bar_widths(xs: list[float]) -> list[float]:
    """Bars at irregular grid values (quantiles): 70% of the gap to the nearest neighbour,
    at most 70% of the typical (median) gap so that outlying grid values get no wide bars."""
    if len(xs) < 2:
        return [1.0] * len(xs)
    gaps_all = [b - a for a, b in zip(xs, xs[1:]) if b != a]
    cap = 0.7 * float(sorted(gaps_all)[len(gaps_all) // 2]) if gaps_all else 1.0
    widths = []
    for i, x in enumerate(xs):
        gaps = [abs(x - xs[j]) for j in (i - 1, i + 1) if 0 <= j < len(xs) and xs[j] != x]
        widths.append(min(0.7 * min(gaps), cap) if gaps else cap)
    return widths


def pdp_panel(entry: dict, label_index: int) -> Chart:
    """One feature's partial dependence (top) and data distribution (bottom) as an SVG chart."""
    feature = entry["feature_name"]
    label = entry["label_headers"][label_index]
    means = entry["model_predictions"][label_index]
    shares = entry["data_distribution"]
    title = f"{feature}" + (f" ({label})" if len(entry["label_headers"]) > 1 else "")

    def draw(fig) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        if entry["data_type"] == "categorical":
            positions = list(range(len(means)))
            top.bar(positions, means, color=ACCENT, width=0.6)
            bottom.bar(positions, shares, color=SOFT, width=0.6)
            rotate = len(positions) > 4 or max(len(_short(v)) for v in entry["feature_values"]) > 6
            bottom.set_xticks(positions, [_short(v) for v in entry["feature_values"]],
                              rotation=35 if rotate else 0, ha="right" if rotate else "center")
        else:
            xs = [float(v) for v in entry["feature_values"]]
            top.plot(xs, means, color=ACCENT, linewidth=1.8, marker="o" if len(xs) <= 25 else None, markersize=3)
            bottom.bar(xs, shares, color=SOFT, width=_bar_widths(xs))
        top.set_ylabel("mean prediction")
        bottom.set_ylabel("share", fontsize=7.5)
        bottom.set_xlabel(feature)
        bottom.tick_params(axis="y", labelsize=7)
        for ax in (top, bottom):
            ax.grid(axis="y", color=GRID, linewidth=0.8)
            ax.set_axisbelow(True)

    return Chart(title, Markup(charts.svg(draw, size=_PANEL_IN, label=f"Partial dependence on {title}")))


def build_view(result: AnalysisResult, *, generated_at: dt.datetime | None = None) -> ReportView:
    """Everything the template shows, from an analysis result."""
    config, dataset = result.config, result.dataset
    when = (generated_at or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    facts = [
        ("Dataset", f"{len(dataset):,} rows, {len(dataset.features)} features ({config.dataset_type})"),
    ]
    if dataset.label is not None:
        positive = ", ".join(str(v) for v in (config.label_values_or_threshold or []))
        facts.append(("Label", f"{dataset.label}" + (f" (positive: {positive})" if positive else "")))
    if dataset.facets:
        described = []
        for facet, name in zip(config.facets, dataset.facets):
            values = ", ".join(str(v) for v in facet.value_or_threshold) if facet.value_or_threshold else "every value"
            described.append(f"{name} ({values})")
        facts.append(("Facets", "; ".join(described)))
    if dataset.group_variable:
        facts.append(("Group variable", dataset.group_variable))
    if result.model is not None:
        facts.append(("Model", result.model.description))
    elif dataset.predicted_label:
        facts.append(("Predicted labels", f"column {dataset.predicted_label}"))
    if result.predictions is not None:
        facts.append(("Model outputs", ", ".join(result.predictions.label_headers)))
    view = ReportView(config.report.title, when, facts)
    if result.pre_training is not None:
        view.pre_training = _bias_view(result.pre_training)
    if result.post_training is not None:
        view.post_training = _bias_view(result.post_training)
    if result.shap is not None:
        view.shap = _shap_views(result)
        baseline = (
            f"a baseline of {len(result.shap.baseline)} k-means centre(s) of the dataset"
            if result.baseline_computed
            else f"the configured baseline of {len(result.shap.baseline)} row(s)"
        )
        view.shap_note = (
            f"Kernel SHAP values of {len(dataset):,} rows against {baseline}, aggregated with "
            f"{result.shap.agg_method}. Larger values mean the feature moves the model's output more."
        )
    if result.pdp:
        for entry in result.pdp:
            charts = [pdp_panel(entry, k) for k in range(len(entry["label_headers"]))]
            view.pdp.append(PdpView(entry["feature_name"], entry["data_type"], charts))
        view.pdp_note = (
            "Each plot shows the model's mean prediction when every row's value of the feature is set to each grid "
            "value (top), and the share of the dataset's rows at that value (bottom)."
        )
    return view


# --- rendering --------------------------------------------------------------------------


def render_html(result: AnalysisResult, *, generated_at: dt.datetime | None = None) -> str:
    """The report as one self-contained HTML page."""
    view = build_view(result, generated_at=generated_at)
    return pages.environment(TEMPLATES).get_template("report.html").render(report=view, stylesheet=pages.stylesheet())


def render_pdf(html: str) -> bytes:
    """The report page as a PDF (A4)."""
    return pdf.html_to_pdf(html, TEMPLATES)


def write(result: AnalysisResult, output: Path) -> list[Path]:
    """Write ``<name>.html`` and ``<name>.pdf`` into ``output``; the paths written."""
    output.mkdir(parents=True, exist_ok=True)
    name = result.config.report.name
    html = render_html(result)
    html_path = output / f"{name}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = output / f"{name}.pdf"
    pdf_path.write_bytes(render_pdf(html))
    return [html_path, pdf_path]
