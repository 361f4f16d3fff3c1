"""Charts: matplotlib figures to inline SVG or image bytes, under one lock and one style.

Every chart Charter draws (model card metrics, Clarify's bias, SHAP and partial
dependence charts, Model Monitor's distributions, explanation plots, forecast fan
charts) goes through :func:`svg` or :func:`image`:

* matplotlib's rcParams are process-global, so figures are drawn and saved one at a
  time under :data:`LOCK` (``rc_context`` changes the globals for its duration);
  figures use the object API (``Figure``), never pyplot's state;
* the house style (:data:`STYLE`) keeps text as ``<text>`` (crisp, and searchable in
  a PDF), turns off mathtext (a ``$`` in a label is a dollar sign) and fixes the SVG
  hash salt so the same chart gives the same SVG;
* an SVG for inlining loses its XML prolog and gets element ids unique in the
  process (matplotlib numbers ids per figure: ``figure_1``, ``patch_3``...; two
  charts on one page would collide), a CSS class and an ``aria-label``.

:func:`metric_svg` draws the chart metrics of SageMaker's model card schema
(``bar_chart``, ``linear_graph``, ``matrix``).
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import math
import re
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .formatting import format_number

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ACCENT", "INK", "GRID", "SOFT", "LOCK", "STYLE", "svg", "image", "metric_svg", "series_svg", "without_inline_styles", "CHART_TYPES"]

ACCENT = "#2563eb"
INK = "#1f2937"
GRID = "#e5e7eb"
SOFT = "#cbd5e1"

#: Held while any figure is drawn or saved: matplotlib's rcParams are process-global.
LOCK = threading.Lock()

#: The house style, applied (with a chart's own overrides) while a chart is drawn and saved.
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # keep text as <text>: crisp, and searchable in the PDF
    "svg.hashsalt": "charter",  # stable element ids: the same chart renders the same SVG
    "text.parse_math": False,  # a '$' in a label is a dollar sign, not mathtext
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": INK,
    "axes.titlesize": 9.5,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

_ids = itertools.count(1)
_SVG_ID = re.compile(r'(\sid=)"([^"]+)"')
_SVG_REF = re.compile(r'(url\(|xlink:href="|href=")#')


@contextlib.contextmanager
def _drawing(size: tuple[float, float], rc: dict[str, Any] | None, layout: str | None, house_style: bool) -> Iterator[Figure]:
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    params = {**STYLE, **(rc or {})} if house_style else dict(rc or {})
    with LOCK, rc_context(params):
        yield Figure(figsize=size, layout=layout)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def svg(
    draw: Callable[[Figure], None],
    *,
    size: tuple[float, float],
    label: str,
    rc: dict[str, Any] | None = None,
    layout: str | None = "constrained",
) -> str:
    """The figure ``draw`` fills, as an ``<svg>`` element (no XML prolog) to inline in HTML.

    ``size`` is in inches; ``label`` names the chart for screen readers; ``rc``
    overrides the house style for this chart.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    with _drawing(size, rc, layout, True) as fig:
        draw(fig)
        buffer = io.StringIO()
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    prefix = f"c{next(_ids)}-"
    text = _SVG_ID.sub(lambda m: f'{m[1]}"{prefix}{m[2]}"', text)
    text = _SVG_REF.sub(lambda m: f"{m[1]}#{prefix}", text)
    return text.replace("<svg ", f'<svg class="chart-svg" role="img" aria-label="{_escape(label)}" ', 1)


def image(
    draw: Callable[[Figure], None],
    *,
    size: tuple[float, float],
    fmt: str,
    rc: dict[str, Any] | None = None,
    house_style: bool = True,
    dpi: float | None = None,
    tight: bool = False,
) -> bytes:
    """The figure ``draw`` fills, as the bytes of a standalone image file (``svg``, ``png``,
    ``pdf``, or any other format matplotlib writes).

    ``tight`` crops the page to the drawing; ``house_style=False`` draws with
    matplotlib's current defaults (plots meant for notebooks).  The files carry no
    creation date, so the same drawing gives the same bytes.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"fmt must be one of {', '.join(sorted(supported))}, got {fmt!r}")
    metadata = _NO_DATES.get(fmt)
    with _drawing(size, rc, None, house_style) as fig:
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi or "figure", **({"metadata": metadata} if metadata else {}),
                    **({"bbox_inches": "tight"} if tight else {}))
    return buffer.getvalue()


_NO_DATES = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None}}


def image_format(path: Path) -> str:
    """The image format a file name asks for, by its extension (``png`` when it has none)."""
    return path.suffix.lower().lstrip(".") or "png"


# --- the model card schema's chart metrics ---------------------------------------------

CHART_TYPES = frozenset({"bar_chart", "linear_graph", "matrix"})

_WIDTH_IN = 6.2


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ValueError("expected a non-empty list of numbers")
    return [float(v) for v in values]


def _labels(names: Any, count: int, wrap: int | None = None) -> list[str]:
    """Axis labels for ``count`` positions: the given names, numbered where missing, wrapped to ``wrap`` columns."""
    given = [str(n) for n in names] if isinstance(names, list) else []
    labels = [given[i] if i < len(given) else str(i + 1) for i in range(count)]
    if wrap:
        labels = [textwrap.fill(label, wrap, break_long_words=False) for label in labels]
    return labels


def _draw_bar_chart(fig, metric: dict) -> None:
    values = _numbers(metric.get("value"))
    labels = _labels(metric.get("x_axis_name"), len(values))
    y_name = metric.get("y_axis_name") if isinstance(metric.get("y_axis_name"), str) else None
    ax = fig.add_subplot()
    positions = list(range(len(values)))
    horizontal = _horizontal(labels)
    if horizontal:
        bars = ax.barh(positions, values, color=ACCENT, height=0.65)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        if y_name:
            ax.set_xlabel(y_name)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
    else:
        bars = ax.bar(positions, values, color=ACCENT, width=0.65)
        ax.set_xticks(positions, labels)
        if y_name:
            ax.set_ylabel(y_name)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.bar_label(bars, labels=[format_number(v) for v in values], padding=2, fontsize=7.5, color=INK)
    ax.margins(x=0.12 if horizontal else 0.05, y=0.05 if horizontal else 0.12)


def _horizontal(labels: list[str]) -> bool:
    """Bars lie down when there are many of them or their names are long."""
    return len(labels) > 8 or any(len(label) > 12 for label in labels)


def _bar_chart_size(metric: dict) -> tuple[float, float]:
    values = metric.get("value") if isinstance(metric.get("value"), list) else []
    labels = _labels(metric.get("x_axis_name"), len(values))
    return (_WIDTH_IN, max(1.8, 0.28 * len(values) + 0.9)) if _horizontal(labels) else (_WIDTH_IN, 2.8)


def _draw_linear_graph(fig, metric: dict) -> None:
    points = metric.get("value")
    if not isinstance(points, list) or not points:
        raise ValueError("expected a non-empty list of [x, y] points")
    xs, ys = [], []
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            raise ValueError("every point must be [x, y]")
        xs.append(float(point[0]))
        ys.append(float(point[1]))
    ax = fig.add_subplot()
    ax.plot(xs, ys, color=ACCENT, linewidth=1.8, marker="o" if len(xs) <= 25 else None, markersize=3.5)
    if isinstance(metric.get("x_axis_name"), str):
        ax.set_xlabel(metric["x_axis_name"])
    if isinstance(metric.get("y_axis_name"), str):
        ax.set_ylabel(metric["y_axis_name"])
    ax.grid(color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _matrix_values(metric: dict) -> list[list[float]]:
    rows = metric.get("value")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise ValueError("expected a list of rows of numbers")
    width = max(len(r) for r in rows)
    return [[float(c) for c in r] + [math.nan] * (width - len(r)) for r in rows]


def _matrix_size(metric: dict) -> tuple[float, float]:
    try:
        data = _matrix_values(metric)
    except (TypeError, ValueError):
        return (_WIDTH_IN, 3.0)
    rows, cols = len(data), len(data[0])
    cell = _cell_inches(rows, cols)
    width = min(_WIDTH_IN, 2.6 + cell * cols)
    height = min(6.0, 1.1 + cell * rows)
    return (width, height)


def _cell_inches(rows: int, cols: int) -> float:
    """The side of one cell: roomy for a 2 x 2 confusion matrix, tight for 20 x 20."""
    size = max(rows, cols)
    return 0.95 if size <= 2 else 0.75 if size <= 4 else 0.55 if size <= 6 else 0.42 if size <= 12 else 0.26


def _draw_matrix(fig, metric: dict) -> None:
    data = _matrix_values(metric)
    rows, cols = len(data), len(data[0])
    ax = fig.add_subplot()
    picture = ax.imshow(data, cmap="Blues", aspect="auto")
    # Column labels wrap to the width of a cell (about 5 points a character at this size).
    wrap = max(4, int(_cell_inches(rows, cols) * 72 / 5.2))
    ax.set_xticks(range(cols), _labels(metric.get("x_axis_name"), cols, wrap=wrap))
    ax.set_yticks(range(rows), _labels(metric.get("y_axis_name"), rows, wrap=22))
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)
    finite = [v for row in data for v in row if not math.isnan(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    middle = (low + high) / 2
    if rows * cols <= 144:
        for r, row in enumerate(data):
            for c, value in enumerate(row):
                if not math.isnan(value):
                    ax.text(c, r, format_number(value), ha="center", va="center", fontsize=8,
                            color="white" if value > middle else INK)
    fig.colorbar(picture, ax=ax, fraction=0.046, pad=0.04)


_DRAW = {
    "bar_chart": (_draw_bar_chart, _bar_chart_size),
    "linear_graph": (_draw_linear_graph, lambda m: (_WIDTH_IN, 2.8)),
    "matrix": (_draw_matrix, _matrix_size),
}


def metric_svg(metric: dict) -> str:
    """A model card chart metric (``bar_chart``, ``linear_graph``, ``matrix``) as inline SVG.

    ``metric`` is one ``metric_data`` entry of the model card schema: ``value``,
    ``x_axis_name``, ``y_axis_name``, ``name``.  Raises ``ValueError`` (or
    ``TypeError``/``KeyError``) for a value that cannot be drawn.
    """
    draw, size = _DRAW[metric["type"]]
    return svg(lambda fig: draw(fig, metric), size=size(metric), label=str(metric.get("name", "chart")))


# --- named series over a shared axis (metrics across versions, a job's metrics over time) ----------

#: Colours of the series of one chart, in order (the accent first; distinguishable in grey too).
SERIES_COLOURS = ("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#4b5563", "#db2777")


_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL)


def without_inline_styles(svg: str) -> str:
    """``svg`` with its CSS (``style="fill: #fff"`` and a ``<style>`` rule) as SVG presentation attributes.

    The console's Content-Security-Policy (``style-src 'self'``) blocks inline styles, so matplotlib's SVG
    would draw black shapes without its lines; presentation attributes (``fill="#fff"``) are not CSS
    and are allowed.  Matplotlib's one rule, ``*{stroke-linejoin: round; stroke-linecap: butt}``, goes on
    the root, where every element inherits it.
    """

    def attributes(match: re.Match) -> str:
        out = []
        for declaration in match[1].split(";"):
            name, _, value = declaration.partition(":")
            if name.strip() and value.strip():
                out.append(f' {name.strip()}="{html.escape(value.strip(), quote=True)}"')
        return "".join(out)

    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTRIBUTE.sub(attributes, svg)
    return svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)


def series_svg(
    series: dict[str, list[tuple[Any, float]]],
    *,
    label: str,
    x_label: str | None = None,
    y_label: str | None = None,
    time_axis: bool = False,
    size: tuple[float, float] = (6.4, 2.8),
) -> str:
    """Lines of ``series`` (name -> ``[(x, y), ...]``) on one chart, as inline SVG with a legend.

    ``x`` is numeric, or a label (a version "3") drawn as a category in the
    order first seen; with ``time_axis`` it is epoch seconds, drawn as minutes
    and seconds from the first point.  Series with no points are left out; a
    point's ``y`` of None is a gap.  Raises ValueError when there is nothing to draw.
    """
    drawn = {name: points for name, points in series.items() if points}
    if not drawn:
        raise ValueError("there are no points to draw")
    categories: list[str] = []
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for pts in drawn.values() for x, _ in pts)
    if not numeric:
        for points in drawn.values():
            for x, _ in points:
                if str(x) not in categories:
                    categories.append(str(x))
    start = min(float(x) for pts in drawn.values() for x, _ in pts) if (numeric and time_axis) else 0.0

    def draw(fig) -> None:
        ax = fig.add_subplot()
        for index, (name, points) in enumerate(drawn.items()):
            xs = [categories.index(str(x)) if categories else (float(x) - start) for x, _ in points]
            ys = [float("nan") if y is None else float(y) for _, y in points]
            ax.plot(xs, ys, label=name, color=SERIES_COLOURS[index % len(SERIES_COLOURS)], linewidth=1.7,
                    marker="o" if len(xs) <= 30 else None, markersize=3.5)
        if categories:
            ax.set_xticks(range(len(categories)), [textwrap.shorten(c, 14, placeholder="…") for c in categories])
        if x_label or time_axis:
            ax.set_xlabel(x_label or "seconds since the first point")
        if y_label:
            ax.set_ylabel(y_label)
        ax.grid(color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        if len(drawn) > 1 or next(iter(drawn)) != (y_label or ""):
            ax.legend(loc="best", fontsize=7.5, frameon=False)

    # Drawn for the console, whose Content-Security-Policy allows no inline CSS.
    return without_inline_styles(svg(draw, size=size, label=label))
