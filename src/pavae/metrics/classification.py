"""ROC analysis, operating points and label-level metrics for binary and multi-class classifiers.

The downstream classifier of the study is judged by its ROC AUC and by its
sensitivity at a fixed specificity, the operating point a screening reader
cares about. All functions here use one decision rule: a case is called
positive when ``score >= threshold``. ``roc_curve`` lists every operating
point that rule can reach, starting at ``threshold = +inf`` where nothing is
called positive. The operating-point functions choose among exactly those
points. A threshold picked on validation data therefore gives the same
sensitivity and specificity when :func:`sensitivity_specificity_at_threshold`
applies it to the same data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from pavae.metrics._validation import (
    as_binary_labels,
    as_class_labels,
    as_finite_scores,
    check_same_length,
    to_numpy,
    warn_undefined,
)

__all__ = [
    "accuracy",
    "confusion_matrix",
    "roc_auc",
    "roc_auc_ovr_macro",
    "roc_curve",
    "sensitivity_at_specificity",
    "sensitivity_specificity_at_threshold",
    "threshold_at_specificity",
]


def binary_inputs(y_true: Any, y_score: Any, score_name: str = "y_score") -> tuple[np.ndarray, np.ndarray]:
    """Validate binary labels and finite scores of equal length and return them as int64 and float64."""
    labels = as_binary_labels(y_true, "y_true")
    scores = as_finite_scores(y_score, score_name)
    check_same_length(labels, "y_true", scores, score_name)
    return labels, scores


def auc_from_midranks(labels: np.ndarray, scores: np.ndarray) -> float:
    """Compute the Mann-Whitney AUC with ties counted 1/2, or NaN when a class is absent (no warning).

    The rank sum of the positives is a sum of half-integers below N**2 / 2, so
    it is exact in float64 while N**2 < 2**53 (about 9e7 cases), and the
    single division at the end is then correctly rounded.
    """
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores, method="average")
    positive_rank_sum = float(ranks[labels == 1].sum())
    return (positive_rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _roc_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return true-positive counts, false-positive counts and thresholds for every reachable operating point.

    Thresholds are the distinct scores in decreasing order, preceded by
    ``+inf``. The counts at threshold ``t`` are those of the rule
    ``score >= t``.
    """
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_labels = labels[order]

    # The last position of each run of equal scores closes one operating point.
    run_ends = np.append(np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1)
    true_positives = np.cumsum(sorted_labels)[run_ends]
    false_positives = run_ends + 1 - true_positives

    true_positives = np.concatenate([[0], true_positives]).astype(np.int64)
    false_positives = np.concatenate([[0], false_positives]).astype(np.int64)
    thresholds = np.concatenate([[np.inf], sorted_scores[run_ends]])
    return true_positives, false_positives, thresholds


def roc_curve(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the ROC curve at every distinct score, with the rule "positive if score >= threshold".

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 (negative) and 1 (positive).
        y_score: Finite scores, shape ``(N,)``. Larger means more likely positive.

    Returns:
        ``(fpr, tpr, thresholds)``, each of shape ``(K + 1,)`` for ``K`` distinct
        scores. ``thresholds`` is decreasing and starts at ``np.inf``, where
        ``fpr = tpr = 0``. Unlike scikit-learn's default, no intermediate points
        are dropped, so every operating point is listed. When a class is absent
        its rate is undefined: that array is all NaN and an
        :class:`UndefinedMetricWarning` is issued.

    Raises:
        ValueError: If labels are not 0/1, scores are not finite, or lengths differ.

    Example:
        >>> fpr, tpr, thresholds = roc_curve([0, 1, 1], [0.5, 0.9, 0.5])
        >>> thresholds.tolist(), tpr.tolist()
        ([inf, 0.9, 0.5], [0.0, 0.5, 1.0])
    """
    labels, scores = binary_inputs(y_true, y_score)
    true_positives, false_positives, thresholds = _roc_counts(labels, scores)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos

    if n_neg == 0:
        warn_undefined("y_true contains no negative case, so the false-positive rate is undefined (NaN)")
        fpr = np.full(thresholds.shape, np.nan)
    else:
        fpr = false_positives / n_neg
    if n_pos == 0:
        warn_undefined("y_true contains no positive case, so the true-positive rate is undefined (NaN)")
        tpr = np.full(thresholds.shape, np.nan)
    else:
        tpr = true_positives / n_pos
    return fpr, tpr, thresholds


def roc_auc(y_true: Any, y_score: Any) -> float:
    """Compute the area under the ROC curve as the Mann-Whitney statistic, counting ties as 1/2.

    The AUC is the probability that a random positive case scores higher than
    a random negative case, with a tie counted as half a win. This equals the
    trapezoidal area under the full :func:`roc_curve`.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_score: Finite scores, shape ``(N,)``.

    Returns:
        The AUC in [0, 1]. NaN with an :class:`UndefinedMetricWarning` when
        ``y_true`` contains only one class.

    Raises:
        ValueError: If labels are not 0/1, scores are not finite, or lengths differ.

    Example:
        >>> roc_auc([0, 1, 1], [0.5, 0.9, 0.5])
        0.75
    """
    labels, scores = binary_inputs(y_true, y_score)
    auc = auc_from_midranks(labels, scores)
    if np.isnan(auc):
        warn_undefined("y_true contains only one class, so the ROC AUC is undefined (NaN); pass both classes")
    return auc


def _check_specificity(specificity: float) -> float:
    target = float(specificity)
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"specificity must be in [0, 1], got {specificity!r}; pass e.g. 0.95")
    return target


def _operating_point_at_specificity(y_true: Any, y_score: Any, specificity: float) -> tuple[float, float]:
    """Return ``(sensitivity, threshold)`` chosen as documented in :func:`sensitivity_at_specificity`."""
    target = _check_specificity(specificity)
    labels, scores = binary_inputs(y_true, y_score)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        absent = "positive" if n_pos == 0 else "negative"
        warn_undefined(
            f"y_true contains no {absent} case, so the operating point at specificity {target} "
            "is undefined (NaN); pass both classes"
        )
        return float("nan"), float("nan")

    true_positives, false_positives, thresholds = _roc_counts(labels, scores)
    # (n_neg - fp) / n_neg is the correctly rounded specificity, so a target such as 0.95 with
    # 20 negatives and 1 false positive compares as equal rather than failing by one ulp.
    achieved_specificity = (n_neg - false_positives) / n_neg
    qualifies = achieved_specificity >= target
    # Specificity never increases as the threshold falls, so the qualifying points are a prefix
    # that always contains threshold = +inf (specificity 1).
    n_qualifying = int(np.count_nonzero(qualifies))
    best_count = true_positives[:n_qualifying].max()
    # The first index with the best count is the highest threshold reaching that sensitivity.
    best_index = int(np.argmax(true_positives[:n_qualifying] == best_count))
    return float(true_positives[best_index] / n_pos), float(thresholds[best_index])


def sensitivity_at_specificity(y_true: Any, y_score: Any, specificity: float = 0.95) -> tuple[float, float]:
    """Find the highest sensitivity whose operating point keeps specificity at or above a target.

    The candidates are every operating point of :func:`roc_curve` (rule
    ``score >= threshold``, thresholds at the distinct scores and ``+inf``).
    Among those with specificity >= ``specificity``, the one with the highest
    sensitivity wins, and a tie in sensitivity goes to the highest threshold.
    No threshold is interpolated between scores, so the returned pair is
    reproduced exactly by :func:`sensitivity_specificity_at_threshold`.

    A rule with strict inequality (``score > t``) reports a lower sensitivity
    at the same ``t`` whenever a positive case scores exactly ``t``, which is
    why the rule is fixed here and in :func:`roc_curve`.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_score: Finite scores, shape ``(N,)``.
        specificity: Minimum specificity in [0, 1].

    Returns:
        ``(sensitivity, threshold)`` as floats. When only ``threshold = +inf``
        meets the target, the result is ``(0.0, inf)``: the threshold stays
        ``float("inf")`` and is never clipped to 1. ``(nan, nan)`` with an
        :class:`UndefinedMetricWarning` when a class is absent.

    Raises:
        ValueError: If ``specificity`` is outside [0, 1], labels are not 0/1,
            scores are not finite, or lengths differ.

    Example:
        >>> negatives = [i / 100 for i in range(20)]
        >>> positives = [0.30, 0.25, 0.185, 0.17, 0.05]
        >>> sensitivity_at_specificity([0] * 20 + [1] * 5, negatives + positives, 0.95)
        (0.6, 0.185)
    """
    return _operating_point_at_specificity(y_true, y_score, specificity)


def threshold_at_specificity(y_true: Any, y_score: Any, specificity: float = 0.95) -> float:
    """Choose the decision threshold that :func:`sensitivity_at_specificity` selects, typically on validation data.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_score: Finite scores, shape ``(N,)``.
        specificity: Minimum specificity in [0, 1].

    Returns:
        The threshold as a float, possibly ``inf`` (nothing called positive).
        NaN with an :class:`UndefinedMetricWarning` when a class is absent.

    Raises:
        ValueError: As :func:`sensitivity_at_specificity`.

    Example:
        >>> threshold_at_specificity([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], specificity=0.5)
        0.35
    """
    return _operating_point_at_specificity(y_true, y_score, specificity)[1]


def sensitivity_specificity_at_threshold(y_true: Any, y_score: Any, threshold: float) -> tuple[float, float]:
    """Compute sensitivity and specificity of the rule "positive if score >= threshold".

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_score: Finite scores, shape ``(N,)``.
        threshold: Decision threshold. ``inf`` calls every case negative
            (sensitivity 0, specificity 1) and ``-inf`` calls every case positive.

    Returns:
        ``(sensitivity, specificity)`` as floats. A rate whose class is absent
        from ``y_true`` is NaN, with an :class:`UndefinedMetricWarning`.

    Raises:
        ValueError: If ``threshold`` is NaN, labels are not 0/1, scores are not
            finite, or lengths differ.

    Example:
        >>> sensitivity_specificity_at_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.35)
        (1.0, 0.5)
    """
    cutoff = float(threshold)
    if np.isnan(cutoff):
        raise ValueError("threshold is NaN; pass a number, or inf to call every case negative")
    labels, scores = binary_inputs(y_true, y_score)
    called_positive = scores >= cutoff
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos

    if n_pos == 0:
        warn_undefined("y_true contains no positive case, so sensitivity is undefined (NaN)")
        sensitivity = float("nan")
    else:
        sensitivity = int(np.count_nonzero(called_positive & (labels == 1))) / n_pos
    if n_neg == 0:
        warn_undefined("y_true contains no negative case, so specificity is undefined (NaN)")
        specificity = float("nan")
    else:
        specificity = int(np.count_nonzero(~called_positive & (labels == 0))) / n_neg
    return sensitivity, specificity


def roc_auc_ovr_macro(y_true: Any, probs: Any) -> float:
    """Compute the macro average of one-vs-rest ROC AUCs over classes.

    For each class ``k`` the AUC of ``probs[:, k]`` for "class k against the
    rest" is computed as in :func:`roc_auc`, and the unweighted mean over
    classes is returned. Only the ranking of each column matters, so rows need
    not sum to 1. A class that is absent from ``y_true`` (or is the only class
    present) has no defined AUC, so it is skipped with an
    :class:`UndefinedMetricWarning`, and the mean runs over the remaining
    classes. With two classes, rows that sum to 1 give the same AUC for both
    columns, so the result is the binary AUC of ``probs[:, 1]``, which is
    also what scikit-learn returns for two columns.

    Args:
        y_true: Class indices, shape ``(N,)``, integers in ``[0, C)``.
        probs: Finite class scores, shape ``(N, C)`` with ``C >= 2``.

    Returns:
        The macro AUC. NaN with an :class:`UndefinedMetricWarning` when fewer
        than two classes have a defined AUC (i.e. ``y_true`` contains one class).

    Raises:
        ValueError: If ``probs`` is not 2-D with at least 2 columns, contains
            NaN or infinite values, lengths differ, or a label is outside ``[0, C)``.

    Example:
        >>> roc_auc_ovr_macro([0, 1, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
        1.0
    """
    scores = to_numpy(probs)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"probs must have shape (N, C) with C >= 2 classes, got shape {scores.shape}")
    scores = scores.astype(np.float64)
    non_finite = int(np.count_nonzero(~np.isfinite(scores)))
    if non_finite:
        raise ValueError(f"probs contains {non_finite} NaN or infinite values; pass finite scores")
    num_classes = scores.shape[1]
    labels = as_class_labels(y_true, "y_true", num_classes)
    check_same_length(labels, "y_true", scores, "probs")

    if num_classes == 2:
        return roc_auc(labels, scores[:, 1])

    aucs = []
    skipped = []
    for k in range(num_classes):
        auc = auc_from_midranks((labels == k).astype(np.int64), scores[:, k])
        if np.isnan(auc):
            skipped.append(k)
        else:
            aucs.append(auc)
    if skipped:
        warn_undefined(
            f"classes {skipped} are absent from y_true or are its only class, so their one-vs-rest AUC is "
            f"undefined and they are left out of the macro average over {num_classes} classes"
        )
    if len(aucs) < 2:
        warn_undefined("fewer than two classes have a defined one-vs-rest AUC, so the macro AUC is NaN")
        return float("nan")
    return float(np.mean(aucs))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Compute the fraction of cases whose predicted class equals the true class.

    Args:
        y_true: Class indices, shape ``(N,)``, non-negative integers.
        y_pred: Predicted class indices, shape ``(N,)``.

    Returns:
        Accuracy in [0, 1].

    Raises:
        ValueError: If inputs are empty, not integer class indices, or lengths differ.

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
        0.75
    """
    labels = as_class_labels(y_true, "y_true")
    predictions = as_class_labels(y_pred, "y_pred")
    check_same_length(labels, "y_true", predictions, "y_pred")
    return float(np.count_nonzero(labels == predictions) / labels.size)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count cases per (true class, predicted class) pair.

    Args:
        y_true: Class indices, shape ``(N,)``, integers in ``[0, num_classes)``.
        y_pred: Predicted class indices, shape ``(N,)``, same range.
        num_classes: Number of classes ``C``. Classes with no case still get a row and a column.

    Returns:
        int64 array of shape ``(C, C)``: rows are true classes, columns are
        predicted classes.

    Raises:
        ValueError: If ``num_classes < 1``, a label is outside the range, or lengths differ.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2).tolist()
        [[1, 0], [1, 1]]
    """
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    num_classes = int(num_classes)
    labels = as_class_labels(y_true, "y_true", num_classes)
    predictions = as_class_labels(y_pred, "y_pred", num_classes)
    check_same_length(labels, "y_true", predictions, "y_pred")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)
