"""Forecast accuracy as SageMaker's DeepAR reports it on a test channel, and the paper's ND/NRMSE.

Spec: specs/deepar.md, sections 3 and 6. ``actual`` is (series, τ) with NaN for a
missing value (skipped everywhere); ``samples`` is (series, paths, τ). The point
forecast ŷ is the mean of the paths, the ρ-quantile q^(ρ) their empirical quantile.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_QUANTILES", "accuracy", "seasonal_naive"]

DEFAULT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def accuracy(actual: np.ndarray, samples: np.ndarray, quantiles=DEFAULT_QUANTILES) -> dict[str, float]:
    """Test metrics over all series and forecast points.

    - ``RMSE = sqrt(Σ (ŷ − y)² / N)`` over the N observed points;
    - ``wQuantileLoss[ρ] = 2 Σ |(q^(ρ) − y)(1{y ≤ q^(ρ)} − ρ)| / Σ |y|``;
    - ``mean_wQuantileLoss`` its mean over ``quantiles``; ``mean_absolute_QuantileLoss`` the
      mean of the unnormalised sums ``2 Σ |(q − y)(1{y ≤ q} − ρ)|``;
    - ``ND = Σ |ŷ − y| / Σ |y|`` and ``NRMSE = RMSE / mean |y|`` (the paper's point metrics);
    - ``MAPE`` and ``sMAPE`` of the point forecast, where y ≠ 0.
    """
    actual = np.asarray(actual, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    observed = np.isfinite(actual)
    y = np.where(observed, actual, 0.0)
    mean = samples.mean(axis=1)
    n = max(int(observed.sum()), 1)
    abs_y = float(np.abs(y[observed]).sum())
    error = np.where(observed, mean - y, 0.0)
    rmse = float(np.sqrt((error**2).sum() / n))
    result = {"RMSE": rmse, "ND": float(np.abs(error).sum() / abs_y) if abs_y else float("nan"),
              "NRMSE": rmse / (abs_y / n) if abs_y else float("nan")}
    qs = np.quantile(samples, np.asarray(quantiles), axis=1)  # (quantiles, series, τ)
    absolute, weighted = [], []
    for rho, q in zip(quantiles, qs):
        loss = 2.0 * np.abs((q - y) * ((y <= q).astype(np.float64) - rho))
        total = float(loss[observed].sum())
        absolute.append(total)
        value = total / abs_y if abs_y else float("nan")
        weighted.append(value)
        result[f"wQuantileLoss[{rho:g}]"] = value
    result["mean_wQuantileLoss"] = float(np.mean(weighted))
    result["mean_absolute_QuantileLoss"] = float(np.mean(absolute))
    nonzero = observed & (y != 0)
    if nonzero.any():
        result["MAPE"] = float(np.mean(np.abs(error[nonzero] / y[nonzero])))
        denominator = np.abs(y) + np.abs(mean)
        result["sMAPE"] = float(np.mean(2 * np.abs(error[nonzero]) / denominator[nonzero]))
    return result


def seasonal_naive(history: list[np.ndarray], season: int, horizon: int) -> np.ndarray:
    """The seasonal naive forecast: each future point repeats the value one season before it.

    ``ŷ_{T+h} = y_{T+h−m·k}`` with ``k = ⌈h/m⌉`` (the last observed season repeated); a series
    shorter than one season repeats its last value. Missing values in the repeated season are
    filled with the last observed value before them. Returns (series, 1, horizon), a single
    "sample path" so :func:`accuracy` can score it.
    """
    out = np.zeros((len(history), 1, horizon))
    for i, values in enumerate(history):
        values = np.asarray(values, dtype=np.float64)
        filled = _ffill(values)
        if len(filled) >= season:
            last = filled[-season:]
            out[i, 0] = np.resize(last, horizon) if horizon > season else last[:horizon]
        else:
            out[i, 0] = filled[-1] if len(filled) else 0.0
    return out


def _ffill(values: np.ndarray) -> np.ndarray:
    mask = np.isfinite(values)
    if not mask.any():
        return np.zeros_like(values)
    index = np.where(mask, np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    first = np.argmax(mask)
    filled[:first] = values[first]
    return filled
