"""Tests of ROC analysis, operating points and label metrics against hand values and scikit-learn."""

import json
import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from pavae.metrics import (
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    roc_auc,
    roc_auc_ovr_macro,
    roc_curve,
    sensitivity_at_specificity,
    sensitivity_specificity_at_threshold,
    threshold_at_specificity,
)
from pavae.utils.io import dumps_json, from_json_float

# 20 negatives at 0.00, 0.01, ..., 0.19 and 5 positives, one of them exactly at 0.185.
SCREENING_NEGATIVES = [i / 100 for i in range(20)]
SCREENING_POSITIVES = [0.30, 0.25, 0.185, 0.17, 0.05]
SCREENING_LABELS = [0] * 20 + [1] * 5
SCREENING_SCORES = SCREENING_NEGATIVES + SCREENING_POSITIVES


def random_binary_case(rng, size, decimals=None):
    """Return labels with both classes and scores, optionally rounded to create heavy ties."""
    labels = rng.integers(0, 2, size)
    labels[0], labels[1] = 0, 1
    scores = rng.normal(size=size) * 0.3 + 0.5 + 0.2 * labels
    if decimals is not None:
        scores = np.round(scores, decimals)
    return labels, scores


def brute_force_operating_point(labels, scores, target):
    """Try every threshold of the rule score >= t and keep the best sensitivity, then the highest threshold."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=float)
    best = None
    for threshold in sorted(set(scores.tolist()) | {math.inf}, reverse=True):
        called = scores >= threshold
        true_positives = int(np.sum(called & (labels == 1)))
        true_negatives = int(np.sum(~called & (labels == 0)))
        if true_negatives / np.sum(labels == 0) >= target and (best is None or true_positives > best[0]):
            best = (true_positives, threshold)
    return best[0] / np.sum(labels == 1), best[1]


# --- AUC -------------------------------------------------------------------------------------


def test_roc_auc_counts_ties_as_half():
    assert roc_auc([0, 1, 1], [0.5, 0.9, 0.5]) == 0.75


def test_roc_auc_constant_scores_is_half():
    assert roc_auc([0, 1, 0, 1, 1], [0.3] * 5) == 0.5


def test_roc_auc_perfect_and_reversed():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0


@pytest.mark.parametrize("size", [2, 7, 50, 301])
@pytest.mark.parametrize("decimals", [None, 1])
def test_roc_auc_matches_sklearn(size, decimals):
    rng = np.random.default_rng(size)
    labels, scores = random_binary_case(rng, size, decimals)
    assert roc_auc(labels, scores) == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-12)


def test_roc_auc_single_class_nan():
    with pytest.warns(UndefinedMetricWarning, match="only one class"):
        value = roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    assert math.isnan(value)


def test_roc_auc_accepts_torch_tensors():
    labels = torch.tensor([False, True, True])
    scores = torch.tensor([0.5, 0.9, 0.5], dtype=torch.float32)
    assert roc_auc(labels, scores) == 0.75


def test_roc_auc_length_mismatch_raises():
    with pytest.raises(ValueError, match="y_true has 3 entries but y_score has 2"):
        roc_auc([0, 1, 1], [0.5, 0.9])


def test_roc_auc_invalid_labels_named():
    with pytest.raises(ValueError, match=r"2 other values: -1, 2"):
        roc_auc([0, 2, -1, 1], [0.1, 0.2, 0.3, 0.4])


def test_roc_auc_nan_score_raises():
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        roc_auc([0, 1], [0.1, float("nan")])


# --- ROC curve -------------------------------------------------------------------------------


def test_roc_curve_starts_at_infinite_threshold():
    fpr, tpr, thresholds = roc_curve([0, 1, 1], [0.5, 0.9, 0.5])
    assert thresholds[0] == math.inf
    assert fpr[0] == 0.0
    assert tpr[0] == 0.0
    assert thresholds.tolist() == [math.inf, 0.9, 0.5]
    assert tpr.tolist() == [0.0, 0.5, 1.0]
    assert fpr.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("size", [5, 40, 200])
@pytest.mark.parametrize("decimals", [None, 1])
def test_roc_curve_matches_sklearn(size, decimals):
    rng = np.random.default_rng(100 + size)
    labels, scores = random_binary_case(rng, size, decimals)
    fpr, tpr, thresholds = roc_curve(labels, scores)
    expected_fpr, expected_tpr, expected_thresholds = skm.roc_curve(labels, scores, drop_intermediate=False)
    # scikit-learn >= 1.3 also starts at threshold inf; older versions used max(score) + 1.
    assert expected_thresholds[0] == math.inf
    np.testing.assert_array_equal(thresholds, expected_thresholds)
    np.testing.assert_allclose(fpr, expected_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr, expected_tpr, rtol=0, atol=1e-12)


def test_roc_curve_single_class_rate_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="no negative case"):
        fpr, tpr, _ = roc_curve([1, 1], [0.1, 0.2])
    assert np.all(np.isnan(fpr))
    assert tpr.tolist() == [0.0, 0.5, 1.0]


# --- Operating points ------------------------------------------------------------------------


def test_sens_at_spec_hand_case():
    assert sensitivity_at_specificity(SCREENING_LABELS, SCREENING_SCORES, 0.95) == (0.6, 0.185)


def test_strict_rule_gives_lower_sensitivity():
    # With "score > t" the positive at exactly 0.185 is lost, so the same threshold gives 2/5.
    # Ours uses "score >= t", which is the rule behind every point of roc_curve.
    positives = np.array(SCREENING_POSITIVES)
    assert np.mean(positives > 0.185) == 0.4
    assert sensitivity_specificity_at_threshold(SCREENING_LABELS, SCREENING_SCORES, 0.185) == (0.6, 0.95)


def test_threshold_at_specificity_hand_case():
    assert threshold_at_specificity(SCREENING_LABELS, SCREENING_SCORES, 0.95) == 0.185


def test_sens_at_spec_infinite_threshold():
    # The only negative outranks the only positive, so no finite threshold keeps specificity 1.
    sensitivity, threshold = sensitivity_at_specificity([0, 1], [0.9, 0.1], specificity=0.95)
    assert sensitivity == 0.0
    assert threshold == math.inf
    assert threshold != 1.0


def test_infinite_threshold_survives_json():
    text = dumps_json({"t": float("inf")})
    assert "Infinity" not in text
    loaded = json.loads(text)
    assert loaded == {"t": "inf"}
    assert from_json_float(loaded["t"]) == math.inf


def test_sensitivity_tie_goes_to_highest_threshold():
    # Thresholds 0.9, 0.5 and 0.1 all reach sensitivity 1 at specificity target 0.
    assert sensitivity_at_specificity([1, 0, 0], [0.9, 0.5, 0.1], specificity=0.0) == (1.0, 0.9)


@pytest.mark.parametrize("target", [0.0, 0.5, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("decimals", [None, 1])
def test_sens_at_spec_brute_force(target, decimals):
    rng = np.random.default_rng(7)
    labels, scores = random_binary_case(rng, 60, decimals)
    assert sensitivity_at_specificity(labels, scores, target) == brute_force_operating_point(labels, scores, target)


def test_threshold_reproduces_operating_point():
    rng = np.random.default_rng(3)
    labels, scores = random_binary_case(rng, 80, 2)
    sensitivity, threshold = sensitivity_at_specificity(labels, scores, 0.9)
    achieved_sensitivity, achieved_specificity = sensitivity_specificity_at_threshold(labels, scores, threshold)
    assert achieved_sensitivity == sensitivity
    assert achieved_specificity >= 0.9


def test_rates_at_infinite_threshold():
    assert sensitivity_specificity_at_threshold([0, 1, 1], [0.2, 0.5, 1.0], math.inf) == (0.0, 1.0)


def test_operating_point_single_class_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="no negative case"):
        sensitivity, threshold = sensitivity_at_specificity([1, 1], [0.2, 0.4])
    assert math.isnan(sensitivity)
    assert math.isnan(threshold)


def test_specificity_out_of_range_raises():
    with pytest.raises(ValueError, match=r"specificity must be in \[0, 1\]"):
        sensitivity_at_specificity([0, 1], [0.1, 0.2], specificity=95)


def test_nan_threshold_raises():
    with pytest.raises(ValueError, match="threshold is NaN"):
        sensitivity_specificity_at_threshold([0, 1], [0.1, 0.2], float("nan"))


# --- Multi-class AUC, accuracy, confusion ----------------------------------------------------


def random_multiclass_case(rng, size, num_classes):
    labels = rng.integers(0, num_classes, size)
    labels[:num_classes] = np.arange(num_classes)
    logits = rng.normal(size=(size, num_classes)) + 1.5 * np.eye(num_classes)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs


@pytest.mark.parametrize("num_classes", [3, 5])
def test_ovr_macro_matches_sklearn(num_classes):
    rng = np.random.default_rng(num_classes)
    labels, probs = random_multiclass_case(rng, 120, num_classes)
    expected = skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro")
    assert roc_auc_ovr_macro(labels, probs) == pytest.approx(expected, abs=1e-12)


def test_ovr_macro_two_classes_binary():
    rng = np.random.default_rng(11)
    labels, probs = random_multiclass_case(rng, 90, 2)
    value = roc_auc_ovr_macro(labels, probs)
    assert value == roc_auc(labels, probs[:, 1])
    assert value == pytest.approx(skm.roc_auc_score(labels, probs[:, 1]), abs=1e-12)


def test_ovr_macro_skips_absent_class():
    rng = np.random.default_rng(5)
    labels, probs = random_multiclass_case(rng, 60, 3)
    labels[labels == 2] = 0
    with pytest.warns(UndefinedMetricWarning, match=r"classes \[2\]"):
        value = roc_auc_ovr_macro(labels, probs)
    expected = np.mean([roc_auc((labels == k).astype(int), probs[:, k]) for k in (0, 1)])
    assert value == pytest.approx(expected, abs=1e-15)


def test_ovr_macro_single_class_nan():
    probs = np.full((4, 3), 1 / 3)
    with pytest.warns(UndefinedMetricWarning) as record:
        value = roc_auc_ovr_macro([1, 1, 1, 1], probs)
    messages = [str(warning.message) for warning in record]
    assert math.isnan(value)
    assert any("classes [0, 1, 2]" in message for message in messages)
    assert any("fewer than two classes" in message for message in messages)


def test_ovr_macro_label_out_of_range():
    with pytest.raises(ValueError, match=r"in \[0, 3\).*3"):
        roc_auc_ovr_macro([0, 1, 3], np.full((3, 3), 1 / 3))


def test_ovr_macro_length_mismatch():
    with pytest.raises(ValueError, match="y_true has 2 entries but probs has 3"):
        roc_auc_ovr_macro([0, 1], np.full((3, 3), 1 / 3))


def test_accuracy_hand_value():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75


def test_accuracy_length_mismatch_raises():
    with pytest.raises(ValueError, match="y_true has 2 entries but y_pred has 3"):
        accuracy([0, 1], [0, 1, 1])


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 200)
    predictions = rng.integers(0, 4, 200)
    matrix = confusion_matrix(labels, predictions, num_classes=5)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, skm.confusion_matrix(labels, predictions, labels=range(5)))


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2).tolist() == [[1, 0], [1, 1]]


def test_confusion_label_out_of_range():
    with pytest.raises(ValueError, match=r"y_pred must contain class indices in \[0, 2\)"):
        confusion_matrix([0, 1], [0, 2], num_classes=2)
