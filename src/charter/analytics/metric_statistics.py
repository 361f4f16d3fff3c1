"""CloudWatch's statistics over the data points of one period.

A data point is a statistic set (sample count, sum, minimum, maximum) and,
when it was sent as ``Value`` or ``Values``/``Counts``, its distribution
(value, count pairs).  A period's statistics combine its points
(CloudWatch User Guide, "CloudWatch statistics definitions"):

* ``SampleCount`` = Σ counts, ``Sum`` = Σ sums, ``Minimum`` = min of minima,
  ``Maximum`` = max of maxima, ``Average`` = Sum / SampleCount;
* ``pNN`` (percentile NN, 0 ≤ NN ≤ 100, up to two decimals) by nearest rank
  over the combined distribution: the smallest value ``v`` whose cumulative
  count reaches ``ceil(NN/100 · SampleCount)`` (at least rank 1).  A period
  holding a point sent as a statistic set has no distribution, and AWS gives
  no percentile for it, so neither does this.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,2})?|100(?:\.0{1,2})?)")


@dataclass(frozen=True)
class Point:
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    #: ((value, count), ...) when known; None for a statistic set.
    distribution: Sequence[tuple[float, float]] | None = None


@dataclass(frozen=True)
class Summary:
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    distribution: tuple[tuple[float, float], ...] | None


def percentile_of(name: str) -> float | None:
    """The percentile an extended statistic names (``p99`` → 99.0); None if it is not one."""
    match = _PERCENTILE.fullmatch(name)
    return float(match.group(1)) if match else None


def is_statistic(name: str) -> bool:
    return name in BASIC or percentile_of(name) is not None


def combine(points: Iterable[Point]) -> Summary | None:
    """The statistic set of ``points`` together; None when there are none."""
    count = total = 0.0
    low, high = math.inf, -math.inf
    values: list[tuple[float, float]] | None = []
    seen = False
    for point in points:
        seen = True
        count += point.sample_count
        total += point.sum
        low = min(low, point.minimum)
        high = max(high, point.maximum)
        if values is not None:
            if point.distribution is None:
                values = None
            else:
                values.extend(point.distribution)
    if not seen:
        return None
    return Summary(count, total, low, high, tuple(sorted(values)) if values is not None else None)


def percentile(distribution: Sequence[tuple[float, float]], p: float) -> float | None:
    """Nearest-rank percentile ``p`` of sorted (value, count) pairs."""
    total = sum(count for _, count in distribution)
    if total <= 0:
        return None
    rank = max(1.0, math.ceil(p / 100.0 * total - 1e-9))
    running = 0.0
    for value, count in distribution:
        running += count
        if running >= rank:
            return value
    return distribution[-1][0]


def statistic(summary: Summary, name: str) -> float | None:
    """The statistic ``name`` of ``summary`` (None where it cannot be computed)."""
    if name == "SampleCount":
        return summary.sample_count
    if name == "Sum":
        return summary.sum
    if name == "Minimum":
        return summary.minimum
    if name == "Maximum":
        return summary.maximum
    if name == "Average":
        return summary.sum / summary.sample_count if summary.sample_count else None
    p = percentile_of(name)
    if p is None:
        raise ValueError(f"not a statistic: {name!r}")
    if summary.distribution is None:
        return None
    return percentile(summary.distribution, p)


def bucket(timestamp: float, origin: float, period: int) -> float:
    """The start of the period (``origin + k·period``) that holds ``timestamp``."""
    return origin + math.floor((timestamp - origin) / period) * period
