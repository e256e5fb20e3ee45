"""Calibration of predicted probabilities: expected calibration error, Brier score and reliability curve.

A classifier trained with 10% of its labels, or on synthetic images, can
rank cases well (high AUC) and still output probabilities that are too
confident or too timid. Calibration metrics measure whether a predicted
probability of 0.8 means that about 80% of such cases are positive, which
matters when a probability is read as a risk rather than only as a rank.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pavae.metrics._validation import as_binary_labels, as_probabilities, check_same_length

__all__ = ["brier_score", "expected_calibration_error", "reliability_curve"]


def _binary_probability_inputs(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = as_binary_labels(y_true, "y_true")
    probabilities = as_probabilities(y_prob, "y_prob")
    check_same_length(labels, "y_true", probabilities, "y_prob")
    return labels, probabilities


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}; pass e.g. 15")
    return int(n_bins)


def _bin_statistics(labels: np.ndarray, probabilities: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    """Assign probabilities to equal-width bins and return per-bin edges, sums and counts.

    Bin ``i`` covers ``[i/n_bins, (i+1)/n_bins)`` and the last bin also
    contains 1.0. The edges are computed as ``i / n_bins`` (correctly
    rounded), not with ``np.linspace``, whose ``0.7000000000000001`` for 10
    bins would put a probability of exactly 0.7 in the bin below.
    """
    edges = np.arange(n_bins + 1, dtype=np.float64) / n_bins
    bin_index = np.searchsorted(edges, probabilities, side="right") - 1
    bin_index = np.minimum(bin_index, n_bins - 1)
    return {
        "bin_lower": edges[:-1],
        "bin_upper": edges[1:],
        "count": np.bincount(bin_index, minlength=n_bins).astype(np.int64),
        "probability_sum": np.bincount(bin_index, weights=probabilities, minlength=n_bins),
        "positive_sum": np.bincount(bin_index, weights=labels.astype(np.float64), minlength=n_bins),
    }


def expected_calibration_error(y_true: Any, y_prob: Any, n_bins: int = 15) -> float:
    """Compute the positive-class expected calibration error (ECE) with equal-width bins.

    Definition used here (positive-class or "reliability" ECE): ``y_prob`` is
    the predicted probability of the positive class. The range [0, 1] is cut
    into ``n_bins`` equal-width bins, bin ``i`` covering
    ``[i/n_bins, (i+1)/n_bins)`` and the last bin closed at 1, so both 0 and 1
    fall into a bin. With ``n_b`` cases in bin ``b`` out of ``N``,

        ECE = sum_b (n_b / N) * |mean(y_true in b) - mean(y_prob in b)|.

    Empty bins contribute 0. This is the quantity a binary reliability
    diagram shows. It differs from the top-label ECE of Guo et al. (2017),
    which bins the confidence ``max(p, 1 - p)`` of the predicted label and
    compares it with accuracy: for ``y_prob = [0.3, 0.7]`` and
    ``y_true = [1, 1]`` with 10 bins this function returns 0.5 while the
    top-label ECE is 0.2. Compare numbers across papers only under the same
    definition and bin count.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_prob: Predicted probabilities of the positive class, shape ``(N,)``, in [0, 1].
        n_bins: Number of equal-width bins.

    Returns:
        The ECE in [0, 1].

    Raises:
        ValueError: If a probability is NaN or outside [0, 1] (the message gives
            the count and the observed range), labels are not 0/1, lengths
            differ, or ``n_bins`` is not a positive integer.

    Example:
        >>> expected_calibration_error([1, 1], [0.3, 0.7], n_bins=10)
        0.5
    """
    n_bins = _check_n_bins(n_bins)
    labels, probabilities = _binary_probability_inputs(y_true, y_prob)
    stats = _bin_statistics(labels, probabilities, n_bins)
    # n_b / N * |mean(y) - mean(p)| equals |sum(y) - sum(p)| / N, and empty bins give 0.
    gaps = np.abs(stats["positive_sum"] - stats["probability_sum"])
    return float(gaps.sum() / labels.size)


def reliability_curve(y_true: Any, y_prob: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Compute per-bin statistics for a reliability diagram, with the bins of :func:`expected_calibration_error`.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_prob: Predicted probabilities of the positive class, shape ``(N,)``, in [0, 1].
        n_bins: Number of equal-width bins.

    Returns:
        A dict of arrays, each of shape ``(n_bins,)``: ``"bin_lower"`` and
        ``"bin_upper"`` (bin edges), ``"mean_predicted"`` (mean ``y_prob`` in
        the bin), ``"fraction_positive"`` (mean ``y_true`` in the bin) and
        ``"count"`` (int64 number of cases). The two means are NaN for empty bins.

    Raises:
        ValueError: As :func:`expected_calibration_error`.

    Example:
        >>> curve = reliability_curve([0, 1, 1], [0.0, 0.7, 1.0], n_bins=10)
        >>> curve["count"].tolist()
        [1, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    """
    n_bins = _check_n_bins(n_bins)
    labels, probabilities = _binary_probability_inputs(y_true, y_prob)
    stats = _bin_statistics(labels, probabilities, n_bins)
    count = stats["count"]
    occupied = count > 0
    mean_predicted = np.full(n_bins, np.nan)
    fraction_positive = np.full(n_bins, np.nan)
    mean_predicted[occupied] = stats["probability_sum"][occupied] / count[occupied]
    fraction_positive[occupied] = stats["positive_sum"][occupied] / count[occupied]
    return {
        "bin_lower": stats["bin_lower"],
        "bin_upper": stats["bin_upper"],
        "mean_predicted": mean_predicted,
        "fraction_positive": fraction_positive,
        "count": count,
    }


def brier_score(y_true: Any, y_prob: Any) -> float:
    """Compute the Brier score, the mean squared difference between ``y_prob`` and the 0/1 label.

    Args:
        y_true: Binary labels, shape ``(N,)``, values 0 and 1.
        y_prob: Predicted probabilities of the positive class, shape ``(N,)``, in [0, 1].

    Returns:
        The Brier score in [0, 1]. Lower is better, and a constant 0.5 scores 0.25.

    Raises:
        ValueError: If a probability is NaN or outside [0, 1], labels are not 0/1, or lengths differ.

    Example:
        >>> brier_score([0, 1], [0.0, 0.5])
        0.125
    """
    labels, probabilities = _binary_probability_inputs(y_true, y_prob)
    return float(np.mean((probabilities - labels) ** 2))
