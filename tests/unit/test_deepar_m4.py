"""Charter's DeepAR on real M4 hourly series (../shared/data/m4-hourly), scored as M4 scores.

CI-sized runs on subsets of the 414 hourly series, the official 48-step test values, under
a minute of training on one thread each. benchmarks/deepar.py does the full comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from real_data import need

from charter.analytics.forecasting import metrics
from charter.analytics.forecasting.deepar import DeepAR, DeepARConfig, Series
from charter.analytics.forecasting.transforms import seasonal_difference, undifference
from charter.datasets import m4

torch.set_num_threads(1)


def test_deepar_beats_naive2_on_m4_hourly_series():
    """Every tenth series, trained on the raw values.

    Raw-series training is sensitive to the platform's float kernels: on an AMD EPYC (AVX2) host
    seeds 0, 1 and 2 score sMAPE 13.35, 12.98 and 12.08 against Naive2's 15.69 and seasonal
    naive's 11.94, but MASE 3.55, 3.75 and 2.80 against Naive2's 2.63 (a few series with a small
    in-sample scale dominate it), so OWA lands on either side of 1.0 by seed.  What holds on every
    platform tried is the sMAPE; the next test, on seasonal differences, is where DeepAR beats
    both benchmarks on every measure.
    """
    data = need(m4.hourly).subset(range(0, 414, 10))
    train = [Series(start, values) for start, values in zip(data.starts, data.train)]
    config = DeepARConfig(time_freq="H", prediction_length=m4.HORIZON, context_length=7 * 24, epochs=80,
                          num_cells=40, num_layers=2, mini_batch_size=64, learning_rate=3e-3, seed=0)
    model = DeepAR(config).fit(train, max_batches_per_epoch=40)
    point = np.median(model.forecast(train, 100, seed=0), axis=1)
    naive2 = data.benchmark_forecast("Naive2")
    ours = metrics.m4_scores(data.train, data.test, point, m4.SEASON, naive2=naive2)
    reference = metrics.m4_scores(data.train, data.test, naive2, m4.SEASON, naive2=naive2)
    snaive = metrics.m4_scores(data.train, data.test, data.benchmark_forecast("sNaive"), m4.SEASON, naive2=naive2)
    # At least 10% better than M4's reference benchmark on sMAPE, and within 15% of seasonal
    # naive's (strong on hourly data: published OWA 0.627).
    assert ours["sMAPE"] < 0.9 * reference["sMAPE"], (ours, reference)
    assert ours["sMAPE"] < 1.15 * snaive["sMAPE"], (ours, snaive)
    assert np.isfinite(ours["MASE"]) and ours["MASE"] < 2 * reference["MASE"], (ours, reference)


def test_deepar_on_seasonal_differences_beats_seasonal_naive_on_m4_hourly_series():
    """Every fifth series; DeepAR learns y_t - y_(t-24) and its sample paths are undifferenced.

    On this subset seeds 0, 1 and 2 score OWA 0.577, 0.575 and 0.573 against seasonal naive's
    0.645, and each beats it on sMAPE and MASE too; the assertions leave room for other platforms.
    """
    data = need(m4.hourly).subset(range(0, 414, 5))
    train = [Series(start + m4.SEASON * pd.tseries.frequencies.to_offset("1h"),
                    seasonal_difference(values, m4.SEASON)) for start, values in zip(data.starts, data.train)]
    config = DeepARConfig(time_freq="H", prediction_length=m4.HORIZON, context_length=7 * 24, epochs=80,
                          num_cells=40, num_layers=2, mini_batch_size=64, learning_rate=3e-3, seed=0)
    model = DeepAR(config).fit(train, max_batches_per_epoch=40)
    differences = model.forecast(train, 100, seed=0)
    paths = np.stack([undifference(z, history, m4.SEASON) for z, history in zip(differences, data.train)])
    point = np.median(paths, axis=1)
    naive2 = data.benchmark_forecast("Naive2")
    ours = metrics.m4_scores(data.train, data.test, point, m4.SEASON, naive2=naive2)
    snaive = metrics.m4_scores(data.train, data.test, data.benchmark_forecast("sNaive"), m4.SEASON, naive2=naive2)
    assert ours["OWA"] < 0.95 * snaive["OWA"], (ours, snaive)
    assert ours["sMAPE"] < snaive["sMAPE"] and ours["MASE"] < snaive["MASE"], (ours, snaive)
