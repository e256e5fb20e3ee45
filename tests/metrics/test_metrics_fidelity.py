"""Tests of the Frechet distance, KID and k-NN precision/recall against closed forms and direct sums."""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg

from pavae.metrics import (
    feature_statistics,
    fid_from_features,
    frechet_distance,
    kernel_inception_distance,
    precision_recall_knn,
)


def random_psd(rng, dimension, rank=None):
    factor = rng.normal(size=(dimension, rank or dimension))
    return factor @ factor.T / dimension


def sqrtm_frechet(mu1, sigma1, mu2, sigma2):
    """Compute the Frechet distance with scipy.linalg.sqrtm, as most FID code does."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.real(np.trace(root)))


def direct_unbiased_mmd2(x, y, degree=3, gamma=None, coef0=1.0):
    """Compute the unbiased polynomial-kernel MMD^2 pair by pair."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    m = len(x)

    def kernel(a, b):
        return (gamma * float(np.dot(a, b)) + coef0) ** degree

    within_x = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return within_x + within_y - 2 * cross


# --- Frechet distance ------------------------------------------------------------------------


def test_frechet_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=16)
    sigma = random_psd(rng, 16)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_frechet_one_dimensional_closed_form():
    m1, s1, m2, s2 = 0.3, 2.0, -1.2, 0.5
    expected = (m1 - m2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2)
    assert frechet_distance([m1], [[s1]], [m2], [[s2]]) == pytest.approx(expected, rel=1e-12)


def test_frechet_diagonal_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    var1, var2 = rng.random(8) + 0.1, rng.random(8) + 0.1
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_frechet_matches_sqrtm_formula(seed):
    rng = np.random.default_rng(seed)
    dimension = 5 + 7 * seed
    mu1, mu2 = rng.normal(size=dimension), rng.normal(size=dimension)
    sigma1, sigma2 = random_psd(rng, dimension), random_psd(rng, dimension)
    expected = sqrtm_frechet(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)


def test_frechet_singular_covariances_finite():
    rng = np.random.default_rng(2)
    # 5 samples in 20 dimensions give rank-4 covariances.
    mu1, sigma1 = feature_statistics(rng.normal(size=(5, 20)))
    mu2, sigma2 = feature_statistics(rng.normal(size=(5, 20)) + 0.5)
    distance = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert math.isfinite(distance)
    assert distance >= 0.0
    assert distance == pytest.approx(sqrtm_frechet(mu1, sigma1, mu2, sigma2), rel=1e-6)
    self_distance = frechet_distance(mu1, sigma1, mu1, sigma1)
    assert 0.0 <= self_distance < 1e-8


def test_frechet_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"got shapes \(3,\) and \(4,\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"sigma2 must have shape \(3, 3\).*got shape \(4, 4\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))


def test_frechet_rejects_non_psd():
    with pytest.raises(ValueError, match="sigma1 is not positive semi-definite"):
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def test_frechet_rejects_asymmetric():
    with pytest.raises(ValueError, match="sigma2 is not symmetric"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))


def test_feature_statistics_matches_numpy():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(40, 6)).astype(np.float32)
    mu, sigma = feature_statistics(features)
    assert mu.dtype == np.float64
    assert sigma.dtype == np.float64
    np.testing.assert_allclose(mu, features.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-12)


def test_feature_statistics_one_dimension_is_matrix():
    _, sigma = feature_statistics([[1.0], [3.0]])
    assert sigma.shape == (1, 1)
    assert sigma[0, 0] == 2.0


def test_feature_statistics_needs_two_rows():
    with pytest.raises(ValueError, match="features has 1 rows"):
        feature_statistics(np.zeros((1, 4)))


def test_fid_from_features_matches_statistics():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(50, 4)), rng.normal(size=(60, 4)) + 1.0
    expected = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    assert fid_from_features(real, fake) == expected


def test_fid_dimension_mismatch_raises():
    with pytest.raises(ValueError, match=r"real has shape \(5, 3\) and fake has shape \(5, 4\)"):
        fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))


# --- KID -------------------------------------------------------------------------------------


def test_kid_matches_direct_sum():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 0.3
    # One subset of all rows is a permutation of each set, and MMD^2 does not depend on order.
    result = kernel_inception_distance(real, fake, subsets=1, subset_size=30)
    assert result["kid_mean"] == pytest.approx(direct_unbiased_mmd2(real, fake), rel=1e-10)
    assert result["kid_std"] == 0.0


def test_kid_subset_draw_order():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(40, 3)), rng.normal(size=(25, 3))
    draw = np.random.default_rng(123)
    real_rows = draw.choice(40, 10, replace=False)
    fake_rows = draw.choice(25, 10, replace=False)
    expected = direct_unbiased_mmd2(real[real_rows], fake[fake_rows], degree=2, gamma=0.5, coef0=0.0)
    result = kernel_inception_distance(real, fake, subsets=1, subset_size=10, degree=2, coef0=0.0, gamma=0.5, seed=123)
    assert result["kid_mean"] == pytest.approx(expected, rel=1e-10)


def test_kid_clamps_subset_size_with_warning():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(20, 3)), rng.normal(size=(35, 3))
    with pytest.warns(UserWarning, match="subset_size=1000 is larger than the smaller set"):
        clamped = kernel_inception_distance(real, fake, subsets=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = kernel_inception_distance(real, fake, subsets=5, subset_size=20)
    assert clamped == explicit


def test_kid_is_seeded():
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(60, 5)), rng.normal(size=(60, 5))
    first = kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=1)
    second = kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=1)
    third = kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=2)
    assert first == second
    assert first != third
    assert list(first) == ["kid_mean", "kid_std"]


def test_kid_detects_shift():
    rng = np.random.default_rng(9)
    real = rng.normal(size=(200, 8))
    same = kernel_inception_distance(real, rng.normal(size=(200, 8)), subsets=20, subset_size=100)
    shifted = kernel_inception_distance(real, rng.normal(size=(200, 8)) + 1.0, subsets=20, subset_size=100)
    assert shifted["kid_mean"] > 10 * abs(same["kid_mean"])


def test_kid_invalid_subsets_raises():
    with pytest.raises(ValueError, match="subsets must be a positive integer"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), subsets=0)


# --- k-NN precision and recall ---------------------------------------------------------------


def test_precision_recall_identical_sets():
    rng = np.random.default_rng(10)
    points = rng.normal(size=(25, 4))
    assert precision_recall_knn(points, points.copy(), k=3) == {"precision": 1.0, "recall": 1.0}


def test_precision_recall_disjoint_sets():
    rng = np.random.default_rng(11)
    real = rng.normal(size=(20, 4))
    fake = rng.normal(size=(20, 4)) + 1000.0
    assert precision_recall_knn(real, fake, k=3) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_hand_case():
    # Real points 0..4 have k=1 radius 1, so fakes 0.5 and 2.5 are inside and 100 is not.
    # Fake radii (k=1) are 2, 2 and 97.5: the outlier's ball reaches back to 2.5 and covers 3 and 4,
    # and the ball around 0.5 covers 0, 1 and 2, so every real point is covered.
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    fake = np.array([[0.5], [2.5], [100.0]])
    result = precision_recall_knn(real, fake, k=1)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == 1.0


def test_precision_recall_radius_boundary_is_inclusive():
    # Real radii with k=1 are exactly 1; a fake at distance exactly 1 counts as inside.
    real = np.array([[0.0], [1.0]])
    fake = np.array([[2.0], [3.0]])
    assert precision_recall_knn(real, fake, k=1)["precision"] == 0.5


def test_precision_recall_invalid_k_raises():
    with pytest.raises(ValueError, match=r"1 <= k < 3"):
        precision_recall_knn(np.zeros((3, 2)), np.ones((5, 2)), k=3)
