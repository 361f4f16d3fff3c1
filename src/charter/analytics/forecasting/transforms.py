"""Seasonal differencing of a series, and its inverse on forecast sample paths.

A model trained on the seasonal differences ``z_t = y_t - y_{t-m}`` (Box and Jenkins'
seasonal difference, as in a seasonal ARIMA's ``(1 - B^m)``) forecasts how this season
departs from the last one; the forecast on the original scale is rebuilt step by step,
``y_{T+h} = y_{T+h-m} + z_{T+h}``, where ``y_{T+h-m}`` is an observed value for ``h <= m``
and an earlier step of the same sample path after that. Integrating each path, not a
summary, keeps the sample paths joint, so their quantiles stay those of the forecast.

For series whose season repeats almost exactly (M4's hourly temperature-like series),
this lets a global model such as DeepAR start from seasonal naive's forecast instead of
having to rebuild the cycle from its lags.
"""

from __future__ import annotations

import numpy as np

__all__ = ["seasonal_difference", "undifference"]


def seasonal_difference(values: np.ndarray, season: int) -> np.ndarray:
    """``z_t = y_t - y_{t-m}`` for t = m..n-1 (n - m values); a missing value on either side is missing."""
    if season < 1:
        raise ValueError(f"season must be at least 1, got {season}")
    y = np.asarray(values, dtype=np.float64)
    if y.shape[-1] <= season:
        raise ValueError(f"a series of {y.shape[-1]} points has no seasonal difference at season {season}")
    return y[..., season:] - y[..., :-season]


def undifference(paths: np.ndarray, history: np.ndarray, season: int) -> np.ndarray:
    """Sample paths of seasonal differences, shape (..., horizon), back on the scale of ``history``.

    ``history`` holds the observed values up to the forecast start (at least ``season`` of
    them); its last ``season`` values seed the recursion.
    """
    z = np.asarray(paths, dtype=np.float64)
    last = np.asarray(history, dtype=np.float64)[-season:]
    if last.shape[-1] < season:
        raise ValueError(f"undifferencing at season {season} needs {season} observed values, got {last.shape[-1]}")
    horizon = z.shape[-1]
    out = np.empty_like(z)
    for h in range(horizon):
        base = last[h] if h < season else out[..., h - season]
        out[..., h] = base + z[..., h]
    return out
