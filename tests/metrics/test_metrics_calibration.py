"""Tests of the positive-class ECE, the reliability curve and the Brier score."""

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from pavae.metrics import brier_score, expected_calibration_error, reliability_curve


def top_label_ece(labels, probabilities, n_bins):
    """Compute the top-label ECE (Guo et al., 2017), the definition our function does not use."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=float)
    confidence = np.maximum(probabilities, 1 - probabilities)
    correct = (probabilities >= 0.5).astype(int) == labels
    total = 0.0
    for i in range(n_bins):
        upper_ok = confidence <= (i + 1) / n_bins if i == n_bins - 1 else confidence < (i + 1) / n_bins
        in_bin = (confidence >= i / n_bins) & upper_ok
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return total


def reference_ece(labels, probabilities, n_bins):
    """Compute the positive-class ECE bin by bin from its definition."""
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    total = 0.0
    for i in range(n_bins):
        lower, upper = i / n_bins, (i + 1) / n_bins
        in_bin = (probabilities >= lower) & ((probabilities < upper) | ((i == n_bins - 1) & (probabilities <= 1.0)))
        if in_bin.any():
            total += in_bin.mean() * abs(labels[in_bin].mean() - probabilities[in_bin].mean())
    return total


def test_ece_hand_value():
    assert expected_calibration_error([1, 1], [0.3, 0.7], n_bins=10) == pytest.approx(0.5, abs=1e-15)


def test_ece_is_not_top_label_ece():
    assert top_label_ece([1, 1], [0.3, 0.7], n_bins=10) == pytest.approx(0.2, abs=1e-15)
    assert expected_calibration_error([1, 1], [0.3, 0.7], n_bins=10) != pytest.approx(0.2)


def test_ece_calibrated_bin_is_zero():
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=10) == 0.0


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_matches_definition(n_bins):
    rng = np.random.default_rng(n_bins)
    probabilities = rng.random(500) ** 2
    probabilities[:3] = [0.0, 1.0, 0.5]
    labels = (rng.random(500) < probabilities**0.8).astype(int)
    expected = reference_ece(labels, probabilities, n_bins)
    assert expected_calibration_error(labels, probabilities, n_bins) == pytest.approx(expected, abs=1e-12)


def test_zero_and_one_in_end_bins():
    curve = reliability_curve([0, 1], [0.0, 1.0], n_bins=10)
    assert curve["count"][0] == 1
    assert curve["count"][-1] == 1
    assert curve["count"].sum() == 2
    assert expected_calibration_error([0, 1], [0.0, 1.0], n_bins=10) == 0.0


def test_bin_edge_value_goes_to_upper_bin():
    # 0.7 is the lower edge of bin 7 of 10; np.linspace would put it in bin 6.
    curve = reliability_curve([1], [0.7], n_bins=10)
    assert curve["count"][7] == 1


def test_reliability_curve_contents():
    curve = reliability_curve([0, 1, 1, 0], [0.05, 0.15, 0.12, 0.95], n_bins=10)
    assert set(curve) == {"bin_lower", "bin_upper", "mean_predicted", "fraction_positive", "count"}
    assert curve["count"].dtype == np.int64
    assert curve["count"].tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert curve["mean_predicted"][1] == pytest.approx(0.135)
    assert curve["fraction_positive"][1] == 1.0
    assert np.isnan(curve["mean_predicted"][2])
    assert np.isnan(curve["fraction_positive"][2])
    np.testing.assert_allclose(curve["bin_lower"], np.arange(10) / 10)
    np.testing.assert_allclose(curve["bin_upper"], np.arange(1, 11) / 10)


def test_probabilities_out_of_range_raise():
    with pytest.raises(ValueError, match=r"got 2 values that are NaN or outside that range \(observed range \[-0.1, 1.5\]\)"):
        expected_calibration_error([0, 1, 1], [-0.1, 0.5, 1.5])


def test_nan_probability_raises():
    with pytest.raises(ValueError, match="got 1 values that are NaN"):
        brier_score([0, 1], [0.2, float("nan")])


def test_invalid_n_bins_raises():
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        expected_calibration_error([0, 1], [0.2, 0.8], n_bins=0)


def test_calibration_length_mismatch_raises():
    with pytest.raises(ValueError, match="y_true has 2 entries but y_prob has 3"):
        reliability_curve([0, 1], [0.2, 0.8, 0.5])


def test_brier_matches_sklearn():
    rng = np.random.default_rng(0)
    probabilities = rng.random(300)
    probabilities[:2] = [0.0, 1.0]
    labels = rng.integers(0, 2, 300)
    assert brier_score(labels, probabilities) == pytest.approx(brier_score_loss(labels, probabilities), abs=1e-15)


def test_brier_hand_value():
    assert brier_score([0, 1], [0.0, 0.5]) == 0.125
