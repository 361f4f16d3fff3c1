"""Tests of charter.analytics.explain: Kernel SHAP as Clarify configures it, and partial dependence.

Oracles: the ``shap`` library's KernelExplainer (same baseline, same number of coalitions,
``l1_reg=False``), Shapley values computed by brute force from their definition, the closed
form of a linear model, and scikit-learn's brute-force ``partial_dependence``.

Tolerances
----------
* Every coalition enumerated (few varying features, or num_samples >= 2^M - 2): equal to
  shap and to brute force within 1e-8 (observed ~1e-15).
* Coalitions sampled (12 varying features, 1,000 of 4,094 coalitions): the two use
  different random streams, so they are compared as estimators of the same values:
  correlation > 0.999, max |difference| <= 5% of the largest |f(x) - E[f]|, and Charter's
  RMS error against the exact values at most 1.5x shap's.  (Observed over seeds: max
  |difference| 1.1-2.1%, correlation >= 0.9997, RMS error ratio 0.89-1.07.)
* Efficiency (expected + sum(phi) == link(f(x))) within 1e-9 in every case.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from synthetic_credit import ADULT_NUMERIC_FEATURES as FEATURES
from synthetic_credit import adult_numeric as make_adult

from charter.analytics.explain import (
    PdpConfig,
    ShapConfig,
    aggregate,
    compute_baseline,
    explain,
    kernel_shap,
    partial_dependence,
)
from charter.render.explanations import plot_global_shap, plot_partial_dependence


@pytest.fixture(scope="module", autouse=True)
def one_openmp_thread():
    """Run the tree models single-threaded: the shap oracle calls them once per row, and
    OpenMP's per-call start-up dominates those small calls on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no scikit-learn: the tests that need it are skipped anyway
        yield
        return
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def adult():
    ensemble = pytest.importorskip("sklearn.ensemble")
    X, y = make_adult(4000)
    model = ensemble.HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y)
    return X, model


@pytest.fixture(scope="module")
def adult8():
    """A model on 8 of the features: 254 coalitions, so every one is enumerated."""
    X, y = make_adult(4000, seed=1)
    X8 = X[:, :8]
    model = pytest.importorskip("sklearn.ensemble").HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X8, y)
    return X8, model


def proba(model):
    return lambda A: model.predict_proba(A)[:, 1]


def off_data_row(X: np.ndarray) -> np.ndarray:
    """A baseline row that differs from every row in every column, so all M features vary."""
    return (X.mean(axis=0) + 0.123)[None, :]


def brute_force_shapley(f, x: np.ndarray, background: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shapley values from the definition: sum over subsets S of |S|!(M-|S|-1)!/M! (v(S+j) - v(S))."""
    M = len(x)

    def value(S: tuple) -> float:
        rows = background.copy()
        rows[:, list(S)] = x[list(S)]
        return float(weights @ f(rows))

    cache = {S: value(S) for k in range(M + 1) for S in itertools.combinations(range(M), k)}
    phi = np.zeros(M)
    for j in range(M):
        for k in range(M):
            for S in itertools.combinations([i for i in range(M) if i != j], k):
                w = math.factorial(k) * math.factorial(M - k - 1) / math.factorial(M)
                phi[j] += w * (cache[tuple(sorted(S + (j,)))] - cache[S])
    return phi


# --------------------------------------------------------------------------- against shap


def test_equals_shap_when_every_coalition_is_enumerated(adult8):
    shap = pytest.importorskip("shap")
    X, model = adult8
    f = proba(model)
    background, rows = X[:4], X[100:120]
    for use_logit in (False, True):
        ours = kernel_shap(f, rows, ShapConfig(baseline=background.tolist(), use_logit=use_logit, seed=3))
        explainer = shap.KernelExplainer(f, background, link="logit" if use_logit else "identity")
        theirs = explainer.shap_values(rows, l1_reg=False, silent=True)
        assert set(ours.num_samples.values()) <= {254, 126, 62, 30}  # 2^M - 2: all enumerated
        assert np.max(np.abs(ours.local_values - theirs)) < 1e-8
        assert ours.expected_value == pytest.approx(explainer.expected_value, abs=1e-12)


def test_weighted_kmeans_baseline_equals_shap_with_the_same_weights(adult8):
    shap = pytest.importorskip("shap")
    from shap.utils._legacy import DenseData

    X, model = adult8
    f = proba(model)
    rows = X[200:230]
    ours = kernel_shap(f, rows, ShapConfig(num_clusters=4, seed=0), baseline_source=X)
    assert ours.baseline.shape == (4, 8) and ours.baseline_weights.sum() == pytest.approx(1.0)
    data = DenseData(ours.baseline.copy(), [str(i) for i in range(8)], None, ours.baseline_weights.copy())
    explainer = shap.KernelExplainer(f, data)
    theirs = explainer.shap_values(rows, l1_reg=False, silent=True)
    assert np.max(np.abs(ours.local_values - theirs)) < 1e-8
    assert ours.expected_value == pytest.approx(explainer.expected_value, abs=1e-12)


def test_sampled_values_agree_with_shap_statistically(adult):
    shap = pytest.importorskip("shap")
    X, model = adult
    f = proba(model)
    background, rows = off_data_row(X), X[300:340]
    # every row has all 12 features varying: 1,000 of the 4,094 coalitions, 844 of them drawn
    ours = kernel_shap(f, rows, ShapConfig(baseline=background.tolist(), num_samples=1000, seed=0))
    assert ours.num_samples == {12: 1000}
    np.random.seed(0)
    theirs = shap.KernelExplainer(f, background).shap_values(rows, nsamples=1000, l1_reg=False, silent=True)
    exact = kernel_shap(f, rows, ShapConfig(baseline=background.tolist(), num_samples=4094)).local_values

    scale = np.max(np.abs(ours.predictions - ours.expected))
    assert np.corrcoef(ours.local_values.ravel(), theirs.ravel())[0, 1] > 0.999
    assert np.max(np.abs(ours.local_values - theirs)) <= 0.05 * scale
    ours_error = np.sqrt(np.mean((ours.local_values - exact) ** 2))
    shap_error = np.sqrt(np.mean((theirs - exact) ** 2))
    assert ours_error <= 1.5 * shap_error + 1e-12
    # the global ranking is the same
    assert list(np.argsort(-ours.global_values)[:4]) == list(np.argsort(-np.abs(theirs).mean(0))[:4])


# --------------------------------------------------------------------------- properties


def test_matches_brute_force_shapley_with_weighted_baseline_and_text_column():
    rng = np.random.default_rng(4)
    colour = np.array(["red", "green", "blue"], dtype=object)
    X = np.empty((12, 5), dtype=object)
    X[:, :4] = rng.normal(size=(12, 4))
    X[:, 4] = colour[rng.integers(0, 3, 12)]
    bonus = {"red": 1.0, "green": -0.5, "blue": 0.25}

    def f(A):
        A = np.asarray(A, dtype=object)
        num = A[:, :4].astype(float)
        text = np.array([bonus[c] for c in A[:, 4]])
        return np.tanh(num[:, 0] * num[:, 1]) + num[:, 2] ** 2 * text + 0.3 * num[:, 3]

    background = X[:3].copy()
    result = kernel_shap(f, X[3:], ShapConfig(baseline=background.tolist()))
    weights = np.full(3, 1 / 3)
    for i, x in enumerate(X[3:]):
        expected = brute_force_shapley(f, x.copy(), background.copy(), weights)
        assert np.max(np.abs(result.local_values[i] - expected)) < 1e-10


def test_efficiency_holds_for_every_row(adult):
    X, model = adult
    f = proba(model)
    rows = X[:80]
    for use_logit in (False, True):
        r = kernel_shap(f, rows, ShapConfig(baseline=off_data_row(X).tolist(), num_samples=200,
                                            use_logit=use_logit, seed=1))
        assert np.max(np.abs(r.expected_value + r.local_values.sum(axis=1) - r.predictions[:, 0])) < 1e-9
        p = f(rows)
        target = np.log(p / (1 - p)) if use_logit else p
        assert np.allclose(r.predictions[:, 0], target, atol=1e-12)


def test_a_feature_the_model_ignores_gets_zero(adult):
    X, model = adult
    base = proba(model)

    def f(A):  # ignores occupation (column 4): it is replaced by a constant
        B = np.array(A, dtype=float, copy=True)
        B[:, 4] = 0.0
        return base(B)

    background = off_data_row(X)
    exactly = kernel_shap(f, X[:30], ShapConfig(baseline=background.tolist(), num_samples=4094))
    assert np.max(np.abs(exactly.local_values[:, 4])) < 1e-12
    sampled = kernel_shap(f, X[:30], ShapConfig(baseline=background.tolist(), num_samples=400, seed=2))
    scale = np.max(np.abs(sampled.predictions - sampled.expected))
    assert np.max(np.abs(sampled.local_values[:, 4])) < 0.02 * scale
    assert sampled.global_values[4] < 0.1 * np.max(sampled.global_values)


def test_linear_model_is_exact_with_sampling_even_with_many_features():
    rng = np.random.default_rng(7)
    for P in (20, 70):  # 70 features: more than one 64-bit word per coalition
        w = rng.normal(size=P)
        X = rng.normal(size=(25, P))
        background = rng.normal(size=(3, P))
        r = kernel_shap(lambda A: A @ w, X, ShapConfig(baseline=background.tolist(), num_samples=400, seed=0))
        expected = w * (X - background.mean(axis=0))
        assert np.max(np.abs(r.local_values - expected)) < 1e-8


def test_rows_equal_to_the_baseline_and_single_varying_feature():
    w = np.array([1.0, -2.0, 0.5])
    f = lambda A: np.sin(A @ w)  # noqa: E731
    b = np.array([[0.1, 0.2, 0.3]])
    rows = np.array([[0.1, 0.2, 0.3], [0.1, 0.9, 0.3]])
    r = kernel_shap(f, rows, ShapConfig(baseline=b.tolist()))
    assert np.all(r.local_values[0] == 0)
    assert r.local_values[1, [0, 2]].tolist() == [0.0, 0.0]
    assert r.local_values[1, 1] == pytest.approx(f(rows[1:])[0] - f(b)[0])


def test_use_logit_gives_log_odds_and_rejects_non_probabilities(adult):
    X, model = adult
    f = proba(model)
    r = kernel_shap(f, X[:20], ShapConfig(baseline=X[:5].tolist(), use_logit=True))
    mean_p = f(X[:5]).mean()
    assert r.expected_value == pytest.approx(math.log(mean_p / (1 - mean_p)), abs=1e-12)
    with pytest.raises(ValueError, match="shap.use_logit"):
        kernel_shap(lambda A: A[:, 0], X[:5], ShapConfig(baseline=X[:2].tolist(), use_logit=True))


def test_aggregation_methods(adult):
    X, model = adult
    rows = X[:40]
    local = None
    for method in ("mean_abs", "median", "mean_sq"):
        r = kernel_shap(proba(model), rows, ShapConfig(baseline=X[:2].tolist(), agg_method=method, seed=5),
                        feature_names=FEATURES)
        if local is None:
            local = r.local_values
        assert np.array_equal(r.local_values, local)  # aggregation does not change local values
        expected = {
            "mean_abs": np.abs(local).mean(0),
            "median": np.median(local, 0),
            "mean_sq": (local ** 2).mean(0),
        }[method]
        assert np.allclose(r.global_values, expected, atol=1e-15)
        assert list(r.global_shap_values()) == FEATURES[:12]
    with pytest.raises(ValueError, match="agg_method"):
        aggregate(local, "max")


def test_seed_makes_results_reproducible_and_batch_size_does_not_matter(adult):
    X, model = adult
    f = proba(model)
    config = ShapConfig(baseline=off_data_row(X).tolist(), num_samples=150)
    a = kernel_shap(f, X[:50], replace(config, seed=11))
    b = kernel_shap(f, X[:50], replace(config, seed=11), batch_size=777)
    c = kernel_shap(f, X[:50], replace(config, seed=12))
    assert np.array_equal(a.local_values, b.local_values)
    assert not np.array_equal(a.local_values, c.local_values)
    assert b.model_calls > a.model_calls
    negative = kernel_shap(f, X[:5], replace(config, seed=-3))  # any integer is a valid seed
    assert np.array_equal(negative.local_values, kernel_shap(f, X[:5], replace(config, seed=-3)).local_values)


def test_model_is_called_in_large_batches(adult):
    X, model = adult
    sizes = []

    def f(A):
        sizes.append(len(A))
        return model.predict_proba(A)[:, 1]

    r = kernel_shap(f, X[:300], ShapConfig(baseline=off_data_row(X).tolist(), num_samples=500, seed=0),
                    batch_size=200_000)
    assert max(sizes) <= 200_000
    assert sum(sizes) == r.model_rows == 1 + 300 + 300 * 500
    assert len(sizes) <= 4  # baseline, rows, and the 150,000 synthetic rows in one call


def test_kmeans_baseline_finds_clusters_with_their_weights():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 20.0]])
    sizes = [600, 300, 100]
    X = np.concatenate([c + rng.normal(scale=0.5, size=(n, 2)) for c, n in zip(centres, sizes)])
    found, weights = compute_baseline(X, 3, seed=1)
    order = np.argsort(-weights)
    assert np.allclose(weights[order], [0.6, 0.3, 0.1])
    assert np.allclose(found[order], centres, atol=0.2)
    for j in range(2):  # every centre coordinate is a value seen in that column
        assert set(found[:, j]) <= set(X[:, j])
    again, _ = compute_baseline(X, 3, seed=1)
    assert np.array_equal(found, again)


def test_features_to_explain_holds_the_other_features_together(adult):
    X, model = adult
    r = kernel_shap(proba(model), X[:30], ShapConfig(
        baseline=off_data_row(X).tolist(),
        features_to_explain=("age", "education_num", 10),
        seed=0,
    ), feature_names=FEATURES)
    assert r.feature_names == ["age", "education_num", "hours_per_week"]
    assert r.local_values.shape == (30, 3)
    total = r.expected_value + r.local_values.sum(1) + r.other_values[:, 0]
    assert np.max(np.abs(total - r.predictions[:, 0])) < 1e-9


def test_multi_output_model_explains_every_output(adult8):
    X, model = adult8
    rows, background = X[:25], X[25:28]
    both = kernel_shap(model.predict_proba, rows, ShapConfig(baseline=background.tolist()),
                       label_headers=["<=50K", ">50K"])
    positive = kernel_shap(proba(model), rows, ShapConfig(baseline=background.tolist()))
    assert both.local_values.shape == (25, 8, 2)
    assert np.allclose(both.local_values[:, :, 1], positive.local_values, atol=1e-12)
    assert np.allclose(both.local_values.sum(axis=2), 0.0, atol=1e-12)  # probabilities sum to 1
    analysis = both.to_analysis()
    assert set(analysis) == {"<=50K", ">50K"}
    assert analysis[">50K"]["expected_value"] == pytest.approx(positive.expected_value)


def test_dataframe_input_names_the_features(adult8):
    pd = pytest.importorskip("pandas")
    X, model = adult8
    frame = pd.DataFrame(X[:10], columns=FEATURES[:8])
    r = kernel_shap(lambda A: model.predict_proba(np.asarray(A, dtype=float))[:, 1], frame,
                    ShapConfig(baseline=X[10:12].tolist(), save_local_shap_values=False))
    entry = r.to_analysis()["label0"]
    assert list(entry["global_shap_values"]) == FEATURES[:8]
    assert "local_shap_values" not in entry


# --------------------------------------------------------------------------- what depends on the data
#
# The configuration itself (types, ranges, unknown keys) is checked once, by the Clarify
# built-in (tests/unit/test_clarify_config.py); the kernel checks what only the data can
# tell, and names the field.


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (ShapConfig(baseline=[[1, 2, 3]]), "shap.baseline"),
        (ShapConfig(baseline=[[0] * 12, [0] * 11]), "shap.baseline"),
        (ShapConfig(features_to_explain=("height",)), "shap.features_to_explain"),
        (ShapConfig(features_to_explain=(12,)), "shap.features_to_explain"),
        (ShapConfig(features_to_explain=("age", "age")), "shap.features_to_explain"),
    ],
)
def test_shap_settings_that_do_not_fit_the_data_name_the_field(adult, config, field):
    X, model = adult
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        kernel_shap(proba(model), X[:3], config, feature_names=FEATURES)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (PdpConfig(features=("height",)), "pdp.features"),
        (PdpConfig(features=(12,)), "pdp.features"),
        (PdpConfig(), "pdp.features"),  # no features and no SHAP values to rank them
    ],
)
def test_pdp_settings_that_do_not_fit_the_data_name_the_field(adult, config, field):
    X, model = adult
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        partial_dependence(proba(model), X[:20], config, feature_names=FEATURES)


def test_config_objects_default_as_clarify_does():
    shap = ShapConfig()
    assert (shap.baseline, shap.num_clusters, shap.num_samples, shap.agg_method) == (None, None, None, "mean_abs")
    assert (shap.use_logit, shap.save_local_shap_values, shap.seed) == (False, True, None)
    pdp = PdpConfig(features=("age",), grid_resolution=5)
    assert (pdp.features, pdp.grid_resolution, pdp.top_k_features) == (("age",), 5, 10)


# --------------------------------------------------------------------------- partial dependence


def test_partial_dependence_matches_scikit_learn_brute_force(adult):
    inspection = pytest.importorskip("sklearn.inspection")
    X, model = adult
    rows = X[:200]
    results = partial_dependence(
        proba(model), rows, PdpConfig(features=("age", "hours_per_week", "marital_status"), grid_resolution=12),
        feature_names=FEATURES, categorical_features=["marital_status"], batch_size=1000,
    )
    assert [r.feature_name for r in results] == ["age", "hours_per_week", "marital_status"]
    assert results[0].data_type == "numerical" and len(results[0].feature_values) <= 12
    assert results[2].data_type == "categorical"
    assert results[2].feature_values == sorted(set(rows[:, 3]))
    for res in results:
        j = FEATURES.index(res.feature_name)
        grid = np.asarray(res.feature_values, dtype=float)
        assert set(grid) <= set(rows[:, j])  # grid points are observed values
        sk = inspection.partial_dependence(model, rows, [j], custom_values={j: grid}, method="brute",
                                           kind="average", response_method="predict_proba")
        assert np.max(np.abs(sk["average"][0] - res.model_predictions[0])) < 1e-12


def test_explain_runs_shap_and_pdp_of_top_features_like_clarify(adult):
    X, model = adult
    result = explain(
        proba(model), X[:60],
        shap=ShapConfig(baseline=[X[:200].mean(0).round().tolist()], num_samples=100, seed=0),
        pdp=PdpConfig(grid_resolution=5, top_k_features=2),
        feature_names=FEATURES,
    )
    analysis = result.to_analysis()["explanations"]
    label = analysis["kernel_shap"]["label0"]
    assert set(label["global_shap_values"]) == set(FEATURES)
    assert "expected_value" in label and len(label["local_shap_values"]) == 60
    top = result.shap.top_features(2)
    assert [p["feature_name"] for p in analysis["pdp"]] == top
    first = analysis["pdp"][0]
    assert set(first) == {"feature_name", "data_type", "feature_values", "model_predictions", "label_headers"}
    assert len(first["model_predictions"][0]) == len(first["feature_values"]) <= 5
    with pytest.raises(ValueError, match="nothing to explain"):
        explain(proba(model), X[:5], feature_names=FEATURES)


def test_plots_are_svg_or_png_bytes(adult):
    X, model = adult
    shap_result = kernel_shap(proba(model), X[:20], ShapConfig(baseline=X[:1].tolist(), num_samples=50, seed=0),
                              feature_names=FEATURES)
    pdp = partial_dependence(proba(model), X[:50], PdpConfig(features=("age", "sex"), grid_resolution=4),
                             feature_names=FEATURES, categorical_features=["sex"])
    svg = plot_partial_dependence(pdp)
    assert b"<svg" in svg and b"age" in svg
    assert plot_partial_dependence(pdp, fmt="png").startswith(b"\x89PNG")
    assert b"<svg" in plot_global_shap(shap_result, top_k=5)
    with pytest.raises(ValueError, match="fmt"):
        plot_global_shap(shap_result, fmt="gif")


def test_without_baseline_rows_a_kmeans_baseline_is_computed_from_the_data(adult):
    X, model = adult
    r = kernel_shap(proba(model), X[:40], ShapConfig(num_samples=100, seed=0))
    assert 1 <= len(r.baseline) <= 10  # Clarify's computed baseline; 10 centres by default
    assert r.baseline_weights.sum() == pytest.approx(1.0)
    assert r.expected_value == pytest.approx(float(r.baseline_weights @ proba(model)(r.baseline)))
    text = np.array([["a", 1.0], ["b", 2.0]], dtype=object)
    with pytest.raises(ValueError, match="shap.num_clusters"):
        kernel_shap(lambda A: np.zeros(len(A)), text, ShapConfig(num_clusters=2))


def test_few_samples_for_many_features_stay_bounded():
    """40 coalitions for 19 features leave the normal equations near-singular;
    the values must still be finite, sensible and efficient (not 1e12)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 19))
    w = rng.normal(size=19)

    def predict(Z):
        return 1.0 / (1.0 + np.exp(-(Z @ w)))

    result = kernel_shap(
        predict,
        X,
        ShapConfig(num_samples=40, baseline=[[0.0] * 19], seed=1),
        feature_names=[f"f{i}" for i in range(19)],
        label_headers=["p"],
    )
    assert np.isfinite(result.local).all()
    assert np.abs(result.local).max() < 1.0  # a probability model cannot move any further
    np.testing.assert_allclose(
        result.expected + result.local.sum(axis=1), result.predictions, atol=1e-9
    )
