"""``report.html``: a monitoring run at a glance.

One section per feature: the baseline and current distributions side by side (numeric features
from the KLL buckets of both ``statistics.json`` files, string features from their categorical
counts, each as a share of its dataset), the drift distance, and the feature's violations,
highlighted.  Charts are drawn by :mod:`charter.render.charts` and inlined as SVG so the
page stands alone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from charter.render import charts, pages

__all__ = ["render", "histogram_svg"]

TEMPLATES = Path(__file__).with_name("templates")
_RC = {"font.size": 8}  # the house style, a little smaller: one chart per feature
_BASE, _CUR = "#6b7280", charts.ACCENT


def _series(feature: dict[str, Any] | None) -> tuple[list[str], list[float]] | None:
    if not feature:
        return None
    if "numerical_statistics" in feature:
        buckets = ((feature["numerical_statistics"].get("distribution") or {}).get("kll") or {}).get("buckets") or []
        return [f"{b['lower_bound']:.3g}" for b in buckets], [float(b["count"]) for b in buckets]
    buckets = ((feature.get("string_statistics", {}).get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    return [str(b["value"]) for b in buckets], [float(b["count"]) for b in buckets]


def histogram_svg(name: str, baseline: dict[str, Any] | None, current: dict[str, Any]) -> str:
    """Baseline vs current distribution of one feature as an inline ``<svg>``."""
    cur = _series(current) or ([], [])
    base = _series(baseline)
    numeric = "numerical_statistics" in current

    def draw(fig) -> None:
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

    return charts.svg(draw, size=(6.2, 2.4), label=name, rc=_RC)


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
    for feat in current.get("features", []):
        name = feat["name"]
        features.append({
            "name": name,
            "type": feat.get("inferred_type", "Unknown"),
            "current": _summary(feat),
            "baseline": _summary(base[name]) if name in base else None,
            "distance": distances.get(name),
            "violations": by_feature.get(name, []),
            "svg": histogram_svg(name, base.get(name), feat),
        })
    missing = [v for v in violations.get("violations", []) if v["feature_name"] not in {f["name"] for f in features}]
    return pages.environment(TEMPLATES).get_template("report.html").render(
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        items=current.get("dataset", {}).get("item_count", 0),
        baseline_items=(baseline or {}).get("dataset", {}).get("item_count"),
        total_violations=len(violations.get("violations", [])),
        features=features,
        missing=missing,
        config=constraints.get("monitoring_config") or {},
    )
