"""Seasonal differencing and its inverse on sample paths."""

from __future__ import annotations

import numpy as np
import pytest
from real_data import need

from charter.analytics.forecasting.transforms import seasonal_difference, undifference
from charter.datasets import m4


def test_the_true_future_differences_rebuild_the_true_future():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=24 * 10)) + 10 * np.sin(np.arange(24 * 10) * 2 * np.pi / 24)
    history, future = y[:-48], y[-48:]
    z = seasonal_difference(y, 24)[-48:]
    np.testing.assert_allclose(undifference(z, history, 24), future, rtol=0, atol=1e-12)


def test_paths_stay_joint_and_keep_their_shape():
    history = np.arange(30, dtype=float)
    paths = np.stack([np.full(10, 1.0), np.full(10, -1.0)])  # two paths, horizon 10, season 4
    out = undifference(paths, history, 4)
    assert out.shape == (2, 10)
    # Step h adds the path's own earlier steps: +1 per season passed on one path, -1 on the other.
    np.testing.assert_array_equal(out[0], [27, 28, 29, 30, 28, 29, 30, 31, 29, 30])
    np.testing.assert_array_equal(out[1], [25, 26, 27, 28, 24, 25, 26, 27, 23, 24])


def test_a_missing_value_stays_missing():
    z = seasonal_difference([1.0, np.nan, 3.0, 5.0], 1)
    assert np.isnan(z[0]) and np.isnan(z[1]) and z[2] == 2.0


@pytest.mark.parametrize(("values", "season", "message"), [
    ([1.0, 2.0], 2, "no seasonal difference"),
    ([1.0, 2.0, 3.0], 0, "at least 1"),
])
def test_bad_input_is_explained(values, season, message):
    with pytest.raises(ValueError, match=message):
        seasonal_difference(values, season)


def test_undifferencing_needs_a_season_of_history():
    with pytest.raises(ValueError, match="needs 24 observed values"):
        undifference(np.zeros(48), np.ones(10), 24)


def test_zero_differences_are_the_official_seasonal_naive_forecast():
    """Undifferencing zeros repeats the last day: the M4 organisers' own sNaive forecasts."""
    data = need(m4.hourly)
    official = data.benchmark_forecast("sNaive")
    for i in range(0, 414, 37):
        np.testing.assert_allclose(undifference(np.zeros(m4.HORIZON), data.train[i], m4.SEASON), official[i],
                                   rtol=1e-9, atol=1e-9)
