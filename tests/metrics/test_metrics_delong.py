"""Tests of DeLong intervals and paired tests against a slow O(n_pos * n_neg) reference."""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from pavae.metrics import UndefinedMetricWarning, delong_ci, delong_test, roc_auc
from pavae.metrics.delong import structural_components


def reference_components(labels, scores):
    """Compute DeLong's structural components from the full matrix of pairwise comparisons."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=float)
    positives = scores[labels == 1]
    negatives = scores[labels == 0]
    # psi[i, j] = 1 if positive i outranks negative j, 1/2 on a tie, 0 otherwise.
    psi = np.zeros((positives.size, negatives.size))
    for i, positive in enumerate(positives):
        for j, negative in enumerate(negatives):
            if positive > negative:
                psi[i, j] = 1.0
            elif positive == negative:
                psi[i, j] = 0.5
    return psi.mean(axis=1), psi.mean(axis=0)


def reference_variance(labels, scores):
    v10, v01 = reference_components(labels, scores)
    return np.var(v10, ddof=1) / v10.size + np.var(v01, ddof=1) / v01.size


def reference_paired_test(labels, scores_a, scores_b):
    """Return (z, p) from the DeLong covariance matrix S = S10 / m + S01 / n."""
    v10_a, v01_a = reference_components(labels, scores_a)
    v10_b, v01_b = reference_components(labels, scores_b)
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    covariance = s10 / v10_a.size + s01 / v01_a.size
    difference = v10_a.mean() - v10_b.mean()
    z = difference / math.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    return z, 2 * norm.sf(abs(z))


def random_case(seed, size, decimals=None, separation=0.5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size)
    labels[:2] = [0, 1]
    labels[2:4] = [0, 1]
    scores = rng.normal(size=size) + separation * labels
    if decimals is not None:
        scores = np.round(scores, decimals)
    return labels, scores


@pytest.mark.parametrize("size", [6, 31, 120])
@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_structural_components_match_reference(size, decimals):
    labels, scores = random_case(size, size, decimals)
    v10, v01 = structural_components(labels, scores)
    expected_v10, expected_v01 = reference_components(labels, scores)
    np.testing.assert_allclose(v10, expected_v10, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v01, expected_v01, rtol=0, atol=1e-12)


@pytest.mark.parametrize("decimals", [None, 1])
def test_delong_ci_width_matches_reference_variance(decimals):
    labels, scores = random_case(21, 150, decimals, separation=0.4)
    low, high = delong_ci(labels, scores, alpha=0.05)
    # The interval is unclipped here, so its half-width is z_{0.975} * sqrt(variance).
    assert 0.0 < low
    assert high < 1.0
    implied_variance = ((high - low) / (2 * norm.ppf(0.975))) ** 2
    assert implied_variance == pytest.approx(reference_variance(labels, scores), rel=1e-9)
    assert (low + high) / 2 == pytest.approx(roc_auc(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_delong_ci_contains_auc(seed):
    labels, scores = random_case(seed, 12 + 10 * seed, decimals=1, separation=seed / 2)
    auc = roc_auc(labels, scores)
    low, high = delong_ci(labels, scores)
    assert 0.0 <= low <= auc <= high <= 1.0


def test_delong_ci_clips_at_one():
    labels = [0, 0, 0, 1, 0, 1, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.35, 0.4, 0.8, 0.9, 0.95]
    low, high = delong_ci(labels, scores)
    assert high == 1.0
    assert low < roc_auc(labels, scores)


def test_delong_ci_zero_variance_is_point():
    assert delong_ci([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == (1.0, 1.0)


def test_delong_ci_narrows_with_alpha():
    labels, scores = random_case(4, 80)
    low_95, high_95 = delong_ci(labels, scores, alpha=0.05)
    low_80, high_80 = delong_ci(labels, scores, alpha=0.20)
    assert high_80 - low_80 < high_95 - low_95


def test_delong_ci_single_class_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="0 positive and 3 negative"):
        low, high = delong_ci([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(low)
    assert math.isnan(high)


def test_delong_ci_single_positive_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="at least 2 of each"):
        low, high = delong_ci([0, 0, 1], [0.1, 0.2, 0.3])
    assert math.isnan(low)
    assert math.isnan(high)


def test_delong_ci_invalid_alpha_raises():
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        delong_ci([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], alpha=5)


@pytest.mark.parametrize("decimals", [None, 1])
def test_delong_test_matches_reference(decimals):
    labels, scores_a = random_case(9, 140, decimals, separation=0.8)
    rng = np.random.default_rng(10)
    # Correlated second classifier: the same signal plus extra noise.
    scores_b = scores_a + rng.normal(size=scores_a.size)
    if decimals is not None:
        scores_b = np.round(scores_b, decimals)
    result = delong_test(labels, scores_a, scores_b)
    expected_z, expected_p = reference_paired_test(labels, scores_a, scores_b)
    assert result["auc_a"] == roc_auc(labels, scores_a)
    assert result["auc_b"] == roc_auc(labels, scores_b)
    assert result["z"] == pytest.approx(expected_z, rel=1e-9)
    assert result["p_value"] == pytest.approx(expected_p, rel=1e-9)


def test_delong_test_sign_follows_auc_difference():
    labels, scores_a = random_case(12, 100, separation=1.5)
    scores_b = np.random.default_rng(13).normal(size=scores_a.size)
    result = delong_test(labels, scores_a, scores_b)
    assert result["auc_a"] > result["auc_b"]
    assert result["z"] > 0
    swapped = delong_test(labels, scores_b, scores_a)
    assert swapped["z"] == pytest.approx(-result["z"], rel=1e-12)
    assert swapped["p_value"] == pytest.approx(result["p_value"], rel=1e-12)


def test_delong_test_identical_scores():
    labels, scores = random_case(14, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = delong_test(labels, scores, scores.copy())
    assert result["z"] == 0.0
    assert result["p_value"] == 1.0
    assert result["auc_a"] == result["auc_b"]


def test_delong_test_keys_are_stable():
    labels, scores = random_case(15, 30)
    assert list(delong_test(labels, scores, -scores)) == ["auc_a", "auc_b", "z", "p_value"]


def test_delong_test_single_class_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="only one class"):
        result = delong_test([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    assert all(math.isnan(value) for value in result.values())


def test_delong_test_length_mismatch_raises():
    with pytest.raises(ValueError, match="score_a has 4 entries but score_b has 3"):
        delong_test([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y_true has 3 entries but score_a has 4"):
        delong_test([0, 1, 0], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
