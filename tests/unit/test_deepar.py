"""The DeepAR kernel: lags, time features, likelihoods, training, sampling and metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from charter.analytics.forecasting.deepar import DeepAR, DeepARConfig, Series
from charter.analytics.forecasting.frequency import lags_for, parse_frequency, time_features
from charter.analytics.forecasting.likelihoods import LIKELIHOODS, likelihood
from charter.analytics.forecasting.metrics import accuracy, seasonal_naive
from charter.analytics.forecasting.synthetic import electricity_like

torch.set_num_threads(1)


def ranges(*spans):
    out = []
    for span in spans:
        out += list(range(span[0], span[1] + 1)) if isinstance(span, tuple) else [span]
    return out


# specs/deepar.md section 5, "Lags" (GluonTS get_lags_for_frequency, cap 1200).
@pytest.mark.parametrize("freq, expected", [
    ("H", ranges((1, 7), (23, 25), (47, 49), (71, 73), (95, 97), (119, 121), (143, 145), (167, 169),
                 (335, 337), (503, 505), (671, 673), (719, 721))),
    ("D", ranges((1, 8), (13, 15), (20, 22), (27, 31), 56, 84, (363, 365), (727, 729), (1091, 1093))),
    ("W", ranges((1, 8), 12, (51, 53), (103, 105), (155, 157))),
    ("M", ranges((1, 7), (11, 13), (23, 25), (35, 37))),
    ("min", ranges((1, 7), (58, 62), (118, 122), (178, 182))),
])
def test_lags_are_the_documented_sets(freq, expected):
    assert lags_for(parse_frequency(freq)) == expected


def test_lags_for_a_multiple_count_in_steps_of_that_multiple():
    lags = lags_for(parse_frequency("12H"))
    assert 2 in lags and 14 in lags  # one and seven days back, in 12-hour steps
    assert max(lags) <= 1200


@pytest.mark.parametrize("text", ["", "h", "2X", "0H", "-1D", "H2", "12 hours"])
def test_bad_frequencies_say_what_is_allowed(text):
    with pytest.raises(ValueError, match="M, W, D, H, min|at least 1"):
        parse_frequency(text)


def test_time_features_span_minus_half_to_half():
    freq = parse_frequency("H")
    index = freq.index(pd.Timestamp("2016-01-01 00:00:00"), 24 * 366)
    features = time_features(freq, index)
    assert features.shape == (4, len(index))
    hour, dow, dom, doy = features
    assert hour[0] == -0.5 and hour[23] == 0.5
    assert dow[0] == pytest.approx(4 / 6 - 0.5)  # 2016-01-01 was a Friday (Monday = 0)
    assert dom.min() == -0.5 and dom.max() == 0.5
    assert doy[0] == -0.5 and doy[-1] == pytest.approx(0.5)  # 2016 is a leap year: day 366 is index 365
    assert len(time_features(parse_frequency("M"), parse_frequency("M").index(pd.Timestamp("2020-01-01"), 12))) == 1


# --- likelihoods against scipy ------------------------------------------------------------


def _raw(*columns):
    return torch.tensor(np.stack(columns, axis=-1), dtype=torch.float64)


def softplus(x):
    return np.log1p(np.exp(x))


def test_gaussian_and_student_t_log_likelihoods_match_scipy():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 50))
    scale = rng.uniform(0.5, 20, 50)
    y = rng.normal(size=50) * 10
    nll = likelihood("gaussian").nll(_raw(a, b), torch.tensor(scale), torch.tensor(y)).numpy()
    expected = -stats.norm.logpdf(y, loc=a * scale, scale=(softplus(b) + 1e-6) * scale)
    np.testing.assert_allclose(nll, expected, rtol=1e-9)
    nll = likelihood("student-T").nll(_raw(a, b, c), torch.tensor(scale), torch.tensor(y)).numpy()
    expected = -stats.t.logpdf(y, df=2 + softplus(c), loc=a * scale, scale=(softplus(b) + 1e-6) * scale)
    np.testing.assert_allclose(nll, expected, rtol=1e-9)


def test_negative_binomial_has_mean_nu_mu_and_shape_alpha_over_root_nu():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 40))
    scale = rng.uniform(1, 30, 40)
    y = rng.integers(0, 60, 40).astype(float)
    nll = likelihood("negative-binomial").nll(_raw(a, b), torch.tensor(scale), torch.tensor(y)).numpy()
    mu = (softplus(a) + 1e-6) * scale
    alpha = (softplus(b) + 1e-6) / np.sqrt(scale)
    # scipy: n = 1/α successes, p = 1/(1 + αμ); mean n(1-p)/p = μ.
    expected = -stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * mu))
    np.testing.assert_allclose(nll, expected, rtol=1e-7)
    dist = likelihood("negative-binomial").distribution(_raw(a, b), torch.tensor(scale))
    np.testing.assert_allclose(dist.mean.numpy(), mu, rtol=1e-7)


def test_beta_is_unscaled_and_deterministic_l1_is_the_absolute_error():
    a, b = np.array([0.3, -1.0]), np.array([1.2, 0.1])
    y = np.array([0.25, 0.9])
    nll = likelihood("beta").nll(_raw(a, b), torch.tensor([50.0, 50.0]), torch.tensor(y)).numpy()
    np.testing.assert_allclose(nll, -stats.beta.logpdf(y, softplus(a) + 1e-6, softplus(b) + 1e-6), rtol=1e-7)
    l1 = likelihood("deterministic-L1").nll(_raw(np.array([2.0])), torch.tensor([4.0]), torch.tensor([10.0]))
    assert l1.item() == pytest.approx(abs(10 / 4 - 2))


def test_an_unknown_likelihood_names_the_known_ones():
    with pytest.raises(ValueError, match="gaussian, student-T, negative-binomial, beta, deterministic-L1"):
        likelihood("poisson")


# --- training and forecasting -----------------------------------------------------------


def small_config(**overrides) -> DeepARConfig:
    base = dict(time_freq="H", prediction_length=12, context_length=12, epochs=2, num_cells=8, num_layers=1,
                mini_batch_size=32, learning_rate=1e-2, seed=3)
    base.update(overrides)
    return DeepARConfig(**base)


def hourly(n=6, length=300, seed=0):
    data = electricity_like(n, length, seed=seed)
    return [Series(start, values) for start, values in zip(data.starts, data.values)]


def test_same_seed_same_model_and_forecasts():
    series = hourly()
    losses = []
    a = DeepAR(small_config()).fit(series, on_epoch=lambda r: losses.append(r.loss))
    b = DeepAR(small_config()).fit(series)
    assert a.final_loss == b.final_loss == min(losses)
    np.testing.assert_array_equal(a.forecast(series, 20, seed=5), b.forecast(series, 20, seed=5))
    c = DeepAR(small_config(seed=4)).fit(series)
    assert c.final_loss != a.final_loss


def test_saved_model_forecasts_like_the_original():
    series = hourly()
    model = DeepAR(small_config()).fit(series)
    again = DeepAR.from_state(model.state())
    np.testing.assert_array_equal(model.forecast(series, 10, seed=1), again.forecast(series, 10, seed=1))
    with pytest.raises(ValueError, match="charter-deepar/1"):
        DeepAR.from_state({"format": "other"})


def test_forecast_shape_and_missing_values():
    series = hourly(4)
    series[0].target[50:80] = np.nan  # a gap in training data
    model = DeepAR(small_config()).fit(series)
    assert math.isfinite(model.final_loss)
    short = Series(pd.Timestamp("2014-03-01"), np.array([3.0, np.nan, 4.0]))  # shorter than the context
    empty = Series(pd.Timestamp("2014-03-01"), np.array([]))
    samples = model.forecast([*series, short, empty], 7)
    assert samples.shape == (6, 7, 12)
    assert np.isfinite(samples).all()


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_every_likelihood_trains_and_samples_in_its_support(name):
    series = hourly(4, 200)
    if name == "beta":
        series = [Series(s.start, s.target / (np.nanmax(s.target) * 1.01)) for s in series]
    if name == "negative-binomial":
        series = [Series(s.start, np.round(s.target)) for s in series]
    model = DeepAR(small_config(likelihood=name, epochs=1)).fit(series)
    assert math.isfinite(model.final_loss)
    samples = model.forecast(series, 5, seed=0)
    assert np.isfinite(samples).all()
    if name == "negative-binomial":
        assert (samples >= 0).all() and (samples == np.round(samples)).all()
    if name == "beta":
        assert ((samples > 0) & (samples < 1)).all()
    if name == "deterministic-L1":
        assert (samples == samples[:, :1]).all()  # a point forecast: every path is the same


def test_categories_and_dynamic_features_are_inputs():
    rng = np.random.default_rng(0)
    series = []
    for i in range(6):
        feat = rng.normal(size=(1, 212))
        series.append(Series(pd.Timestamp("2020-01-01"), 10 + 5 * feat[0, :200], cat=np.array([i % 3]),
                             dynamic_feat=feat))
    model = DeepAR(small_config(cardinality=[3], num_dynamic_feat=1, dropout_rate=0.0)).fit(series)
    base = model.forecast(series[:1], 4, seed=0)
    flipped = Series(series[0].start, series[0].target, cat=np.array([1]), dynamic_feat=-series[0].dynamic_feat)
    assert not np.array_equal(base, model.forecast([flipped], 4, seed=0))
    with pytest.raises(ValueError, match="cat\\[0\\] = 7 is outside 0..2"):
        model.forecast([Series(series[0].start, series[0].target, cat=np.array([7]), dynamic_feat=series[0].dynamic_feat)])
    with pytest.raises(ValueError, match="dynamic_feat must be 1 series covering 212 points"):
        model.forecast([Series(series[0].start, series[0].target, cat=np.array([0]),
                               dynamic_feat=series[0].dynamic_feat[:, :200])])


def test_early_stopping_keeps_the_best_epoch():
    series = hourly(3, 150)
    reports = []
    model = DeepAR(small_config(epochs=40, learning_rate=0.3, early_stopping_patience=2)).fit(
        series, on_epoch=reports.append)
    assert len(reports) < 40  # a rate this high stops improving quickly
    best = min(reports, key=lambda r: r.loss)
    assert model.best_epoch == best.epoch and model.final_loss == best.loss
    assert reports[-1].epoch - best.epoch == 2


def test_deepar_beats_seasonal_naive_on_electricity_like_series():
    # Issue 6 item 4, in small: the benchmark does it at size and against GluonTS.
    data = electricity_like(30, 24 * 7 * 6, seed=11)
    horizon = 24
    train = [Series(s, v[:-horizon]) for s, v in zip(data.starts, data.values)]
    config = DeepARConfig(time_freq="H", prediction_length=horizon, context_length=horizon, epochs=12,
                          num_cells=20, num_layers=2, mini_batch_size=64, learning_rate=3e-3, seed=0)
    model = DeepAR(config).fit(train, max_batches_per_epoch=25)
    actual = np.stack([v[-horizon:] for v in data.values])
    deepar = accuracy(actual, model.forecast(train, 100, seed=0))
    naive = accuracy(actual, seasonal_naive([t.target for t in train], 24, horizon))
    assert deepar["mean_wQuantileLoss"] < naive["mean_wQuantileLoss"]
    assert deepar["ND"] < naive["ND"]


# --- metrics --------------------------------------------------------------------------------


def test_accuracy_by_hand():
    actual = np.array([[1.0, 2.0, np.nan], [4.0, 0.0, 2.0]])
    samples = np.stack([actual + d for d in (-1.0, 0.0, 1.0)], axis=1)
    samples = np.nan_to_num(samples, nan=9.0)
    m = accuracy(actual, samples, quantiles=(0.1, 0.5, 0.9))
    assert m["RMSE"] == 0.0 and m["ND"] == 0.0
    # Median = actual, so quantile loss 0; the 0.1-quantile is actual - 0.8 (linear interpolation of -1, 0, 1).
    assert m["wQuantileLoss[0.5]"] == pytest.approx(0.0)
    # Five observed points, each losing 2 * 0.8 * 0.1; Σ|y| = 9.
    assert m["wQuantileLoss[0.1]"] == pytest.approx(5 * 2 * 0.8 * 0.1 / 9.0)
    assert m["wQuantileLoss[0.9]"] == pytest.approx(5 * 2 * 0.8 * 0.1 / 9.0)
    assert m["mean_absolute_QuantileLoss"] == pytest.approx(2 * (5 * 2 * 0.8 * 0.1) / 3)
    # A constant point forecast of 2: errors -1, 0, 2, -2, 0 over 5 observed points.
    flat = accuracy(actual, np.full((2, 1, 3), 2.0))
    assert flat["RMSE"] == pytest.approx(math.sqrt((1 + 0 + 4 + 4 + 0) / 5))
    assert flat["ND"] == pytest.approx(5 / 9)
    assert flat["NRMSE"] == pytest.approx(flat["RMSE"] / (9 / 5))


def test_seasonal_naive_repeats_the_last_season():
    history = [np.arange(10.0), np.array([5.0, np.nan]), np.array([1.0, 2.0, np.nan, 4.0])]
    forecast = seasonal_naive(history, 3, 5)
    np.testing.assert_array_equal(forecast[0, 0], [7, 8, 9, 7, 8])
    np.testing.assert_array_equal(forecast[1, 0], [5, 5, 5, 5, 5])  # shorter than a season: last value
    np.testing.assert_array_equal(forecast[2, 0], [2, 2, 4, 2, 2])  # the gap takes the value before it


def test_weekly_series_step_seven_days_from_their_own_start():
    freq = parse_frequency("W")
    index = freq.index(pd.Timestamp("2024-01-03"), 3)  # a Wednesday
    assert list(index.strftime("%Y-%m-%d")) == ["2024-01-03", "2024-01-10", "2024-01-17"]
    assert list(parse_frequency("2W").index(pd.Timestamp("2024-01-03"), 2).strftime("%d")) == ["03", "17"]


def test_a_series_with_nothing_observed_is_forecast_at_unit_scale():
    model = DeepAR(small_config()).fit(hourly(3, 150))
    lone = Series(pd.Timestamp("2014-03-01"), np.array([np.nan, np.nan]))
    scale = model._scale(torch.zeros(1, 12), torch.zeros(1, 12))
    assert scale.item() == 1.0
    assert np.abs(model.forecast([lone], 20, seed=0)).max() > 1e-3
