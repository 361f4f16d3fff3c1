"""Plots of model explanations (:mod:`charter.analytics.explain` results), as image bytes.

For notebooks and tools that want a picture of a SHAP or partial dependence result
without the Clarify report around it (the report draws its own charts in the house
style).  Drawn with matplotlib's defaults, through :func:`charter.render.charts.image`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import charts

if TYPE_CHECKING:  # pragma: no cover
    from charter.analytics.explain import PdpResult, ShapResult

__all__ = ["plot_global_shap", "plot_partial_dependence"]

_COLOUR = "#4c72b0"


def _check_format(fmt: str) -> str:
    if fmt not in ("svg", "png"):
        raise ValueError(f"fmt must be 'svg' or 'png', got {fmt!r}")
    return fmt


def plot_partial_dependence(
    results: Sequence[PdpResult], *, fmt: str = "svg", label: int = 0, columns: int = 3
) -> bytes:
    """Partial dependence plots, one panel per feature, as SVG or PNG bytes.

    Numeric features are drawn as lines over their grid, categorical ones as bars.
    """
    _check_format(fmt)
    if not results:
        raise ValueError("results is empty: nothing to plot")
    count = len(results)
    cols = max(1, min(columns, count))
    rows = math.ceil(count / cols)

    def draw(fig) -> None:
        for i, res in enumerate(results):
            ax = fig.add_subplot(rows, cols, i + 1)
            y = res.model_predictions[label]
            if res.data_type == "categorical":
                ticks = [str(v) for v in res.feature_values]
                ax.bar(range(len(ticks)), y, color=_COLOUR)
                ax.set_xticks(range(len(ticks)), ticks, rotation=45, ha="right")
            else:
                ax.plot([float(v) for v in res.feature_values], y, marker="o", color=_COLOUR)
            ax.set_title(res.feature_name)
            ax.set_xlabel(res.feature_name)
            ax.set_ylabel(f"mean prediction ({res.label_headers[label]})")
        fig.tight_layout()

    return charts.image(draw, size=(4.0 * cols, 3.0 * rows), fmt=fmt, house_style=False, tight=True)


def plot_global_shap(
    result: ShapResult, *, fmt: str = "svg", label: int | str = 0, top_k: int | None = None
) -> bytes:
    """Horizontal bar chart of the global SHAP values, largest on top, as SVG or PNG bytes."""
    _check_format(fmt)
    ordered = sorted(result.global_shap_values(label).items(), key=lambda kv: kv[1], reverse=True)
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        ordered = ordered[: int(top_k)]
    names = [name for name, _ in ordered][::-1]
    unit = "log-odds" if result.use_logit else "prediction"

    def draw(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        ax.barh(range(len(names)), [v for _, v in ordered][::-1], color=_COLOUR)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel(f"SHAP value ({result.agg_method}, {unit})")
        fig.tight_layout()

    return charts.image(draw, size=(6.0, 0.4 * len(ordered) + 1.2), fmt=fmt, house_style=False, tight=True)
