"""Forecast accuracy as SageMaker's DeepAR reports it on a test channel, and the paper's ND/NRMSE.

Spec: specs/deepar.md, sections 3 and 6. ``actual`` is (series, τ) with NaN for a
missing value (skipped everywhere); ``samples`` is (series, paths, τ). The point
forecast ŷ is the mean of the paths, the ρ-quantile q^(ρ) their empirical quantile.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_QUANTILES", "accuracy", "m4_mase", "m4_scores", "m4_smape", "owa", "seasonal_naive"]

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


# --------------------------------------------------------------------------
# The M4 competition's point-forecast measures
# --------------------------------------------------------------------------
# Makridakis, Spiliotis & Assimakopoulos (2020), "The M4 Competition: 100,000 time series and
# 61 forecasting methods", IJF 36(1), section 2.3; shared/data/m4-hourly/README.md gives the
# definitions and the organisers' scores these reproduce.


def m4_smape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """sMAPE of each series: ``(200/h) Σ_t |y_t − ŷ_t| / (|y_t| + |ŷ_t|)`` over its h points.

    ``actual`` and ``forecast`` are (series, h); returns (series,) in percent.
    """
    actual = np.asarray(actual, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    return 200.0 * np.mean(np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast)), axis=1)


def m4_mase(history: list[np.ndarray], actual: np.ndarray, forecast: np.ndarray, season: int) -> np.ndarray:
    """MASE of each series: its mean absolute error over the in-sample seasonal naive error.

    ``MASE = mean_t |y_t − ŷ_t| / ((1/(n−m)) Σ_{t=m+1..n} |x_t − x_{t−m}|)`` with ``x`` the n
    training values of the series and ``m`` = ``season`` (24 for M4's hourly series).
    """
    actual = np.asarray(actual, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    scale = np.array([np.mean(np.abs(x[season:] - x[:-season])) for x in map(np.asarray, history)])
    return np.mean(np.abs(actual - forecast), axis=1) / scale


def owa(smape: float, mase: float, smape_naive2: float, mase_naive2: float) -> float:
    """Overall weighted average: ``½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)`` of the set means."""
    return 0.5 * (smape / smape_naive2 + mase / mase_naive2)


def m4_scores(history, actual, forecast, season: int, naive2=None) -> dict[str, float]:
    """The organisers' table row: mean sMAPE and MASE over the series, and OWA against ``naive2``.

    ``naive2`` is the Naive2 forecast of the same series, (series, h); without it OWA is left out.
    """
    result = {
        "sMAPE": float(m4_smape(actual, forecast).mean()),
        "MASE": float(m4_mase(history, actual, forecast, season).mean()),
    }
    if naive2 is not None:
        reference = m4_scores(history, actual, naive2, season)
        result["OWA"] = owa(result["sMAPE"], result["MASE"], reference["sMAPE"], reference["MASE"])
    return result
