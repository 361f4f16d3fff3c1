"""``report.html``: a monitoring run at a glance.

One section per feature: the baseline and current distributions side by side (numeric features
from the KLL buckets of both ``statistics.json`` files, string features from their categorical
counts, each as a share of its dataset), the drift distance, and the feature's violations,
highlighted.  Charts are matplotlib figures inlined as SVG so the page stands alone.
"""

from __future__ import annotations

import io
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["render", "histogram_svg"]

TEMPLATES = Path(__file__).with_name("templates")
_LOCK = threading.Lock()  # matplotlib's state is not thread-safe
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "charter-model-monitor",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 8,
}
_BASE, _CUR = "#6b7280", "#2563eb"
_SVG_ID = re.compile(r'(id=)"([^"]+)"')
_SVG_REF = re.compile(r"(url\()#")
_XLINK = re.compile(r'(xlink:href=")#')


def _series(feature: dict[str, Any] | None) -> tuple[list[str], list[float]] | None:
    if not feature:
        return None
    if "numerical_statistics" in feature:
        buckets = ((feature["numerical_statistics"].get("distribution") or {}).get("kll") or {}).get("buckets") or []
        return [f"{b['lower_bound']:.3g}" for b in buckets], [float(b["count"]) for b in buckets]
    buckets = ((feature.get("string_statistics", {}).get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    return [str(b["value"]) for b in buckets], [float(b["count"]) for b in buckets]


def histogram_svg(name: str, baseline: dict[str, Any] | None, current: dict[str, Any], number: int) -> str:
    """Baseline vs current distribution of one feature as an inline ``<svg>``."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    cur = _series(current) or ([], [])
    base = _series(baseline)
    numeric = "numerical_statistics" in current
    with _LOCK, rc_context(_RC):
        fig = Figure(figsize=(6.2, 2.4), layout="constrained")
        ax = fig.add_subplot()
        ax.set_title(name)
        ax.set_ylabel("share of items")
        if numeric:
            for (labels, counts), colour, label, bounds in (
                (cur, _CUR, "current", _bounds(current)),
                *(((base, _BASE, "baseline", _bounds(baseline)),) if base else ()),
            ):
                total = sum(counts) or 1.0
                if bounds:
                    lo, hi = bounds
                    width = (hi - lo) / max(len(counts), 1) or 1.0
                    edges = [lo + i * width for i in range(len(counts))]
                    ax.bar(edges, [c / total for c in counts], width=width, align="edge",
                           alpha=0.45, color=colour, label=label, edgecolor=colour)
            ax.set_xlabel("value")
        else:
            categories = list(dict.fromkeys((base[0] if base else []) + cur[0]))[:25]
            position = {c: i for i, c in enumerate(categories)}
            for (labels, counts), colour, label, shift in (
                *(((base, _BASE, "baseline", -0.2),) if base else ()),
                (cur, _CUR, "current", 0.2 if base else 0.0),
            ):
                total = sum(counts) or 1.0
                xs = [position[l] + shift for l in labels if l in position]
                ys = [c / total for l, c in zip(labels, counts) if l in position]
                ax.bar(xs, ys, width=0.4, color=colour, label=label)
            ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
        ax.legend(frameon=False)
        buffer = io.StringIO()
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    prefix = f"f{number}-"
    svg = _SVG_ID.sub(lambda m: f'{m[1]}"{prefix}{m[2]}"', svg)
    svg = _SVG_REF.sub(lambda m: f"{m[1]}#{prefix}", svg)
    svg = _XLINK.sub(lambda m: f"{m[1]}#{prefix}", svg)
    title = name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{title}" ', 1)


def _bounds(feature: dict[str, Any] | None) -> tuple[float, float] | None:
    stats = (feature or {}).get("numerical_statistics")
    if not stats or "min" not in stats:
        return None
    return float(stats["min"]), float(stats["max"])


def _summary(feature: dict[str, Any]) -> str:
    stats = feature.get("numerical_statistics")
    if stats:
        return f"mean {stats['mean']:.4g}, std {stats['std_dev']:.4g}, min {stats['min']:.4g}, max {stats['max']:.4g}"
    stats = feature.get("string_statistics") or {}
    return f"{stats.get('distinct_count', 0):.0f} distinct values"


def render(
    baseline: dict[str, Any] | None,
    constraints: dict[str, Any],
    current: dict[str, Any],
    violations: dict[str, Any],
    distances: dict[str, float],
    generated_at: datetime,
) -> str:
    base = {f["name"]: f for f in (baseline or {}).get("features", [])}
    by_feature: dict[str, list[dict[str, str]]] = {}
    for v in violations.get("violations", []):
        by_feature.setdefault(v["feature_name"], []).append(v)
    features = []
    for number, feat in enumerate(current.get("features", [])):
        name = feat["name"]
        features.append({
            "name": name,
            "type": feat.get("inferred_type", "Unknown"),
            "current": _summary(feat),
            "baseline": _summary(base[name]) if name in base else None,
            "distance": distances.get(name),
            "violations": by_feature.get(name, []),
            "svg": histogram_svg(name, base.get(name), feat, number),
        })
    missing = [v for v in violations.get("violations", []) if v["feature_name"] not in {f["name"] for f in features}]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html").render(
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        items=current.get("dataset", {}).get("item_count", 0),
        baseline_items=(baseline or {}).get("dataset", {}).get("item_count"),
        total_violations=len(violations.get("violations", [])),
        features=features,
        missing=missing,
        config=constraints.get("monitoring_config") or {},
    )
