"""DeLong confidence intervals and paired tests for ROC AUCs.

DeLong, DeLong and Clarke-Pearson (1988, Biometrics 44:837-845) estimate the
variance of the Mann-Whitney AUC from its structural components, also called
placement values. The component of a positive case is the fraction of
negatives it outranks, and that of a negative case is the fraction of
positives that outrank it, with ties counted 1/2. They are computed here with
midranks as in Sun and Xu (2014, IEEE Signal Processing Letters
21:1389-1393). That needs one sort per score vector, O(N log N), and is exact
with ties.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from pavae.metrics._validation import as_finite_scores, check_same_length, warn_undefined
from pavae.metrics.classification import auc_from_midranks, binary_inputs

__all__ = ["delong_ci", "delong_test"]


def structural_components(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute DeLong's structural components of the AUC with midranks.

    Args:
        labels: int64 labels 0/1, shape ``(N,)``, both classes present.
        scores: float64 scores, shape ``(N,)``.

    Returns:
        ``(v10, v01)``: for each of the ``m`` positives, the fraction of
        negatives it outranks (shape ``(m,)``), and for each of the ``n``
        negatives, the fraction of positives that outrank it (shape ``(n,)``).
        Ties count 1/2. Both arrays have mean equal to the AUC.
    """
    positive_scores = scores[labels == 1]
    negative_scores = scores[labels == 0]
    m = positive_scores.size
    n = negative_scores.size
    combined_ranks = rankdata(np.concatenate([positive_scores, negative_scores]), method="average")

    # A positive's midrank among all cases minus its midrank among positives equals
    # (#negatives below it) + (#negatives tied with it) / 2.
    v10 = (combined_ranks[:m] - rankdata(positive_scores, method="average")) / n
    v01 = 1.0 - (combined_ranks[m:] - rankdata(negative_scores, method="average")) / m
    return v10, v01


def _check_alpha(alpha: float) -> float:
    level = float(alpha)
    if not 0.0 < level < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}; pass 0.05 for a 95% interval")
    return level


def delong_ci(y_true: Any, y_score: Any, alpha: float = 0.05) -> tuple[float, float]:
    """Compute a normal-approximation confidence interval for the ROC AUC with DeLong's variance.

    The variance is ``var(v10) / m + var(v01) / n`` with the sample variances
    (ddof=1) of the structural components of the ``m`` positives and ``n``
    negatives. The interval is ``auc +/- z_{1 - alpha/2} * sqrt(variance)``,
    clipped to [0, 1], so it always contains the AUC of :func:`roc_auc`.
    A variance of 0, as with perfectly separated classes, gives ``(auc, auc)``.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_score: Finite scores, shape ``(N,)``.
        alpha: Two-sided error level in (0, 1). 0.05 gives a 95% interval.

    Returns:
        ``(low, high)`` as floats. ``(nan, nan)`` with an
        :class:`UndefinedMetricWarning` when a class is absent, or when a
        class has a single case, because the sample variance of its
        components is then undefined.

    Raises:
        ValueError: If ``alpha`` is outside (0, 1), labels are not 0/1, scores
            are not finite, or lengths differ.

    Example:
        >>> low, high = delong_ci([0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.4, 0.8, 0.9])
        >>> round(low, 3), round(high, 3)
        (0.581, 1.0)
    """
    level = _check_alpha(alpha)
    labels, scores = binary_inputs(y_true, y_score)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if min(n_pos, n_neg) < 2:
        warn_undefined(
            f"y_true contains {n_pos} positive and {n_neg} negative cases; the DeLong interval needs at "
            "least 2 of each, so it is (nan, nan)"
        )
        return float("nan"), float("nan")

    auc = auc_from_midranks(labels, scores)
    v10, v01 = structural_components(labels, scores)
    variance = np.var(v10, ddof=1) / n_pos + np.var(v01, ddof=1) / n_neg
    if variance == 0.0:
        return auc, auc
    half_width = float(ndtri(1.0 - level / 2.0) * np.sqrt(variance))
    return max(0.0, auc - half_width), min(1.0, auc + half_width)


def delong_test(y_true: Any, score_a: Any, score_b: Any) -> dict[str, float]:
    """Test whether two correlated ROC AUCs on the same cases differ, with DeLong's paired z-test.

    Both scores are evaluated on the same cases, so their AUC estimates are
    correlated. The variance of ``auc_a - auc_b`` is estimated from the
    per-case differences of the structural components,
    ``var(v10_a - v10_b) / m + var(v01_a - v01_b) / n``, which equals
    ``var_a + var_b - 2 cov_ab`` of DeLong et al. The statistic is
    ``z = (auc_a - auc_b) / sqrt(variance)`` and the p-value is two-sided
    under a standard normal.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        score_a: Finite scores of the first classifier, shape ``(N,)``.
        score_b: Finite scores of the second classifier, shape ``(N,)``.

    Returns:
        A dict with float values under the keys ``"auc_a"``, ``"auc_b"``,
        ``"z"`` (positive when ``auc_a > auc_b``) and ``"p_value"``. When the
        variance of the difference is 0 and the AUCs are equal, as for
        identical scores, ``z = 0`` and ``p_value = 1``. NaN values come with
        an :class:`UndefinedMetricWarning`: all four when a class is absent,
        ``z`` and ``p_value`` when a class has a single case or when the
        variance is 0 although the AUCs differ.

    Raises:
        ValueError: If labels are not 0/1, scores are not finite, or any two
            of the three arrays differ in length.

    Example:
        >>> result = delong_test([0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.4, 0.8, 0.9], [0.2, 0.1, 0.3, 0.4, 0.5, 0.6])
        >>> sorted(result)
        ['auc_a', 'auc_b', 'p_value', 'z']
    """
    labels, scores_a = binary_inputs(y_true, score_a, "score_a")
    scores_b = as_finite_scores(score_b, "score_b")
    check_same_length(scores_a, "score_a", scores_b, "score_b")
    nan = float("nan")

    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        warn_undefined("y_true contains only one class, so both AUCs and the DeLong test are undefined (NaN)")
        return {"auc_a": nan, "auc_b": nan, "z": nan, "p_value": nan}

    auc_a = auc_from_midranks(labels, scores_a)
    auc_b = auc_from_midranks(labels, scores_b)
    result = {"auc_a": auc_a, "auc_b": auc_b, "z": nan, "p_value": nan}
    if min(n_pos, n_neg) < 2:
        warn_undefined(
            f"y_true contains {n_pos} positive and {n_neg} negative cases; the DeLong test needs at least "
            "2 of each, so z and p_value are NaN"
        )
        return result

    v10_a, v01_a = structural_components(labels, scores_a)
    v10_b, v01_b = structural_components(labels, scores_b)
    # The variance of the differences avoids cancellation in var_a + var_b - 2 cov_ab and is
    # exactly 0 for identical scores.
    variance = np.var(v10_a - v10_b, ddof=1) / n_pos + np.var(v01_a - v01_b, ddof=1) / n_neg
    difference = auc_a - auc_b
    if variance == 0.0:
        if difference == 0.0:
            result.update(z=0.0, p_value=1.0)
        else:
            warn_undefined(
                f"the DeLong variance of the AUC difference is 0 although the AUCs differ "
                f"({auc_a} vs {auc_b}), so z and p_value are undefined (NaN)"
            )
        return result

    z = float(difference / np.sqrt(variance))
    result.update(z=z, p_value=float(min(1.0, 2.0 * ndtr(-abs(z)))))
    return result
