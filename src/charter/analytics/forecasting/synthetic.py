"""Seeded synthetic series shaped like the public forecasting datasets, for demos, tests and benchmarks.

They stand in for ``../shared/data``'s electricity and M4 hourly where those are absent.
They are not those datasets and their numbers are not comparable with published ones;
they have the structure that makes the datasets hard in the same way:

- ``electricity_like``: hourly household loads (UCI ElectricityLoadDiagrams: 370 series,
  kW, 2012-2014): a per-household level spread over three orders of magnitude
  (log-normal), a daily profile with a morning and an evening peak whose shape varies
  per household, a weekly cycle (weekends differ), a slow annual swing, multiplicative
  noise, occasional outages (zeros) and a few households that start late.
- ``m4_hourly_like``: M4 hourly (414 series, 700-960 points): heterogeneous levels and
  trends, a daily cycle of varying strength, some series with weekly cycles, additive
  noise that grows with the level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SyntheticSet", "electricity_like", "m4_hourly_like"]


class SyntheticSet:
    """Series (start, values) that share one frequency."""

    def __init__(self, name: str, freq: str, starts: list[pd.Timestamp], values: list[np.ndarray]):
        self.name, self.freq, self.starts, self.values = name, freq, starts, values

    def __len__(self) -> int:
        return len(self.values)

    def records(self, cut: int = 0) -> list[dict]:
        """SageMaker DeepAR JSON Lines records, each series without its last ``cut`` points."""
        out = []
        for start, values in zip(self.starts, self.values):
            kept = values[: len(values) - cut] if cut else values
            out.append({"start": str(start),
                        "target": [None if not np.isfinite(v) else round(float(v), 4) for v in kept]})
        return out


def electricity_like(n_series: int = 370, length: int = 24 * 7 * 12, seed: int = 0) -> SyntheticSet:
    """Hourly loads, ``length`` points per series (shorter for late starters), from 2014-01-01."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2014-01-01 00:00:00")
    hours = np.arange(length)
    hour_of_day = hours % 24
    day_of_week = (hours // 24 + start.day_of_week) % 7
    starts, values = [], []
    for _ in range(n_series):
        level = float(np.exp(rng.normal(4.0, 1.3)))
        morning, evening = rng.uniform(6, 9), rng.uniform(17, 21)
        peaks = (rng.uniform(0.2, 0.8) * np.exp(-0.5 * ((hour_of_day - morning) / 1.5) ** 2)
                 + rng.uniform(0.4, 1.2) * np.exp(-0.5 * ((hour_of_day - evening) / 2.0) ** 2))
        weekend = np.where(day_of_week >= 5, rng.uniform(0.7, 1.3), 1.0)
        annual = 1 + rng.uniform(0.0, 0.25) * np.cos(2 * np.pi * hours / (24 * 365.25))
        noise = np.exp(rng.normal(0, rng.uniform(0.05, 0.25), length))
        y = level * (0.4 + peaks) * weekend * annual * noise
        outages = rng.random(length) < 0.001
        y[outages] = 0.0
        late = int(rng.integers(0, length // 3)) if rng.random() < 0.1 else 0
        starts.append(start + pd.Timedelta(hours=late))
        values.append(y[late:].astype(np.float64))
    return SyntheticSet("electricity-like", "H", starts, values)


def m4_hourly_like(n_series: int = 414, seed: int = 0) -> SyntheticSet:
    """Hourly series of 700 to 960 points, from assorted starts in 2015-2016."""
    rng = np.random.default_rng(seed)
    starts, values = [], []
    for _ in range(n_series):
        length = int(rng.choice([700, 748, 960]))
        t = np.arange(length)
        level = float(np.exp(rng.normal(7.0, 1.5)))
        trend = rng.normal(0, 0.3) * level / length * t
        daily = rng.uniform(0.05, 0.5) * level * np.sin(2 * np.pi * (t + rng.uniform(0, 24)) / 24)
        weekly = (rng.uniform(0.0, 0.2) * level * np.sin(2 * np.pi * t / 168)) if rng.random() < 0.4 else 0.0
        noise = rng.normal(0, rng.uniform(0.01, 0.1) * level, length)
        y = np.maximum(level + trend + daily + weekly + noise, 0.0)
        starts.append(pd.Timestamp("2015-01-01") + pd.Timedelta(hours=int(rng.integers(0, 24 * 365))))
        values.append(y)
    return SyntheticSet("m4-hourly-like", "H", starts, values)

