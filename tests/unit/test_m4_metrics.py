"""The M4 measures reproduce the organisers' published hourly scores from their own forecasts."""

from __future__ import annotations

import numpy as np
import pytest
from real_data import need

from charter.analytics.forecasting import metrics
from charter.datasets import m4


@pytest.mark.parametrize("method", ["Naive", "Naive2", "sNaive", "SES"])
def test_official_benchmark_forecasts_score_as_published(method):
    data = need(m4.hourly)
    published = m4.published_scores().loc[method]
    scores = metrics.m4_scores(
        data.train, data.test, data.benchmark_forecast(method), m4.SEASON, naive2=data.benchmark_forecast("Naive2")
    )
    assert round(scores["sMAPE"], 3) == published["hourly_sMAPE"]
    assert round(scores["MASE"], 3) == published["hourly_MASE"]
    assert scores["OWA"] == pytest.approx(published["hourly_OWA"], abs=1e-3)
    # The organisers' sheet forms OWA from the scores as published, to 3 decimals: sNaive's
    # unrounded OWA is 0.62750, which it lists as 0.627.
    naive2 = m4.published_scores().loc["Naive2"]
    as_listed = metrics.owa(
        round(scores["sMAPE"], 3), round(scores["MASE"], 3), naive2["hourly_sMAPE"], naive2["hourly_MASE"]
    )
    assert round(as_listed, 3) == published["hourly_OWA"]


def test_seasonal_naive_kernel_is_the_official_snaive():
    data = need(m4.hourly)
    ours = metrics.seasonal_naive(data.train, m4.SEASON, m4.HORIZON)[:, 0]
    np.testing.assert_allclose(ours, data.benchmark_forecast("sNaive"), rtol=1e-9)


def test_measures_by_hand():
    actual = np.array([[10.0, 20.0]])
    forecast = np.array([[12.0, 15.0]])
    assert metrics.m4_smape(actual, forecast)[0] == pytest.approx(100 * (2 / 22 + 5 / 35))
    history = [np.array([1.0, 2.0, 4.0, 3.0])]  # season 2: |4-1| and |3-2| -> scale 2
    assert metrics.m4_mase(history, actual, forecast, 2)[0] == pytest.approx(3.5 / 2)
    assert metrics.owa(10.0, 1.0, 20.0, 2.0) == pytest.approx(0.5)
    assert "OWA" not in metrics.m4_scores(history, actual, forecast, 2)
