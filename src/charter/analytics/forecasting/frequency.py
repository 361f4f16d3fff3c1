"""Series frequencies: parsing DeepAR's ``time_freq``, the lags it implies, and time features.

Spec: specs/deepar.md, section 5 ("Lags", "Time features"). The lag sets follow
GluonTS's ``get_lags_for_frequency`` (cap 1200): lags 1-7 always, then lags
around multiples of each longer season the frequency sits in. Time features
are calendar positions scaled to [-0.5, 0.5] as ``index / (n - 1) - 0.5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Frequency", "feature_names", "lags_for", "parse_frequency", "time_features"]

# DeepAR's units and the pandas offset alias each one stands for.
_UNITS = {"min": "min", "H": "h", "D": "D", "W": "W", "M": "MS"}
_PATTERN = re.compile(r"^\s*(\d*)\s*(min|H|D|W|M)\s*$")
LAG_CAP = 1200


@dataclass(frozen=True)
class Frequency:
    """A DeepAR frequency: ``multiple`` units of ``unit`` (``min``, ``H``, ``D``, ``W`` or ``M``)."""

    multiple: int
    unit: str

    @property
    def name(self) -> str:
        return f"{self.multiple if self.multiple != 1 else ''}{self.unit}"

    @property
    def offset(self) -> pd.DateOffset:
        """The pandas offset one step of the series moves by."""
        if self.unit == "W":  # pandas' "W" is anchored on Sundays; a DeepAR week starts where the series does
            return pd.tseries.frequencies.to_offset(f"{7 * self.multiple}D")
        return pd.tseries.frequencies.to_offset(f"{self.multiple}{_UNITS[self.unit]}")

    def index(self, start: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
        """The timestamps of ``periods`` points from ``start``."""
        return pd.date_range(start=start, periods=periods, freq=self.offset)

    def normalize(self, start: pd.Timestamp) -> pd.Timestamp:
        """``start`` on this frequency's grid (a monthly series dated mid-month starts on the 1st)."""
        if self.unit == "M":
            return start.normalize().replace(day=1)
        if self.unit == "W":
            return start.normalize()
        return start.floor(pd.tseries.frequencies.to_offset(f"1{_UNITS[self.unit]}"))


def parse_frequency(text: str) -> Frequency:
    """``"H"``, ``"12H"``, ``"5min"``, ``"D"``, ``"W"``, ``"M"`` -> Frequency; ValueError names what is wrong."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"time_freq {text!r} is not a valid frequency: use an optional positive integer "
                         "followed by one of M, W, D, H, min (e.g. 'H', '12H', '5min', 'D')")
    multiple = int(match.group(1) or 1)
    if multiple < 1:
        raise ValueError(f"time_freq {text!r}: the multiple must be at least 1")
    return Frequency(multiple, match.group(2))


def _around(middle: float, delta: int) -> list[int]:
    middle = int(middle)
    return list(range(middle - delta, middle + delta + 1))


def _minute(multiple: float) -> list[list[int]]:
    return [_around(k * 60 // multiple, 2) for k in range(1, 4)]


def _hour(multiple: float) -> list[list[int]]:
    return [_around(k * 24 // multiple, 1) for k in range(1, 8)]


def _day(multiple: float) -> list[list[int]]:
    weekly = [_around(k * 7 // multiple, 1) for k in range(1, 5)]
    return weekly + [_around(30 // multiple, 1)]


def _week(multiple: float) -> list[list[int]]:
    yearly = [_around(k * 52 // multiple, 1) for k in range(1, 4)]
    return yearly + [[int(4 // multiple), int(8 // multiple), int(12 // multiple)]]


def _month(multiple: float) -> list[list[int]]:
    return [_around(k * 12 // multiple, 1) for k in range(1, 4)]


def lags_for(freq: Frequency, cap: int = LAG_CAP) -> list[int]:
    """The lag set for ``freq``: 1-7 plus the seasonal lags (GluonTS ``get_lags_for_frequency``).

    For ``n`` units of the base unit the seasonal lags are, with ``k`` counting cycles,
    minutes: ``60k/n ± 2`` (k=1..3); hours: ``24k/n ± 1`` (k=1..7); days: ``7k/n ± 1``
    (k=1..4) and ``30/n ± 1``; weeks: ``52k/n ± 1`` (k=1..3) and ``4/n, 8/n, 12/n``;
    months: ``12k/n ± 1`` (k=1..3). A frequency also takes the lags of every longer
    unit (hourly data gets the daily and weekly sets, counted in hours). Only lags in
    (7, cap] are kept from those.
    """
    n = freq.multiple
    groups: list[list[int]]
    if freq.unit == "M":
        groups = _month(n)
    elif freq.unit == "W":
        groups = _week(n)
    elif freq.unit == "D":
        groups = _day(n) + _week(n / 7.0)
    elif freq.unit == "H":
        groups = _hour(n) + _day(n / 24.0) + _week(n / (24.0 * 7))
    else:  # min
        groups = _minute(n) + _hour(n / 60.0) + _day(n / (60.0 * 24)) + _week(n / (60.0 * 24 * 7))
    seasonal = {lag for group in groups for lag in group if 7 < lag <= cap}
    return sorted(set(range(1, 8)) | seasonal)


# Each time feature: (name, function of the index giving a zero-based position, n).
_FEATURES = {
    "minute_of_hour": (lambda ix: ix.minute, 60),
    "hour_of_day": (lambda ix: ix.hour, 24),
    "day_of_week": (lambda ix: ix.day_of_week, 7),
    "day_of_month": (lambda ix: ix.day - 1, 31),
    "day_of_year": (lambda ix: ix.day_of_year - 1, 366),
    "week_of_year": (lambda ix: ix.isocalendar().week.to_numpy() - 1, 53),
    "month_of_year": (lambda ix: ix.month - 1, 12),
}
_BY_UNIT = {
    "min": ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "H": ("hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "D": ("day_of_week", "day_of_month", "day_of_year"),
    "W": ("day_of_month", "week_of_year"),
    "M": ("month_of_year",),
}


def feature_names(freq: Frequency) -> tuple[str, ...]:
    return _BY_UNIT[freq.unit]


def time_features(freq: Frequency, index: pd.DatetimeIndex) -> np.ndarray:
    """Calendar features of ``index``, shape (features, len(index)), each ``position / (n - 1) - 0.5``."""
    rows = []
    for name in _BY_UNIT[freq.unit]:
        position, n = _FEATURES[name]
        rows.append(np.asarray(position(index), dtype=np.float32) / (n - 1) - 0.5)
    return np.stack(rows).astype(np.float32)
