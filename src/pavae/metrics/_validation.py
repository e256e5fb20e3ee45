"""Input conversion and checks shared by the metric functions.

Every public metric converts its inputs with these helpers before it
computes anything, so a bad input fails early with a message that names the
argument, the offending values and what to pass instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """Warning issued when a metric is undefined for its input and NaN is returned.

    Typical causes are a class that is absent from ``y_true`` (AUC, sensitivity)
    or too few cases to estimate a variance (DeLong). Filter it with
    ``warnings.simplefilter("error", UndefinedMetricWarning)`` to turn these
    cases into errors.
    """


def warn_undefined(message: str) -> None:
    """Issue an :class:`UndefinedMetricWarning` pointing at the caller of the public metric."""
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def to_numpy(values: Any) -> np.ndarray:
    """Convert a list, numpy array or torch tensor to a numpy array without copying when possible."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _describe_values(values: np.ndarray, limit: int = 5) -> str:
    """Format up to ``limit`` distinct values for an error message."""
    distinct = np.unique(values)
    listing = ", ".join(repr(item.item()) for item in distinct[:limit])
    if distinct.size > limit:
        listing += f", ... ({distinct.size} distinct values)"
    return listing


def as_1d(values: Any, name: str) -> np.ndarray:
    """Convert ``values`` to a non-empty 1-D array, raising ValueError naming ``name`` otherwise."""
    array = to_numpy(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one entry per case, got shape {array.shape}; flatten it first")
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one case")
    return array


def as_binary_labels(values: Any, name: str = "y_true") -> np.ndarray:
    """Convert binary labels to an int64 array, raising ValueError that names any value outside {0, 1}.

    Booleans and floats that are exactly 0.0 or 1.0 are accepted, because label
    tensors often arrive as float.
    """
    array = as_1d(values, name)
    if array.dtype == bool:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must contain the numbers 0 and 1, got dtype {array.dtype}")
    bad = array[(array != 0) & (array != 1)]
    if bad.size:
        raise ValueError(
            f"{name} must contain only the labels 0 (negative) and 1 (positive), "
            f"got {bad.size} other values: {_describe_values(bad)}"
        )
    return array.astype(np.int64)


def as_class_labels(values: Any, name: str, num_classes: int | None = None) -> np.ndarray:
    """Convert integer class labels to int64, checking the range [0, num_classes) when it is given."""
    array = as_1d(values, name)
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must contain integer class indices, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.integer):
        not_integral = array[~np.isfinite(array) | (array != np.round(array))]
        if not_integral.size:
            raise ValueError(
                f"{name} must contain integer class indices, got {not_integral.size} "
                f"non-integer values: {_describe_values(not_integral)}"
            )
    labels = array.astype(np.int64)
    if num_classes is not None:
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(
                f"{name} must contain class indices in [0, {num_classes}), got {bad.size} values "
                f"outside that range: {_describe_values(bad)}; check num_classes"
            )
    elif labels.min() < 0:
        raise ValueError(f"{name} must contain class indices >= 0, got {_describe_values(labels[labels < 0])}")
    return labels


def as_finite_scores(values: Any, name: str = "y_score") -> np.ndarray:
    """Convert scores to a 1-D float64 array, raising ValueError when any score is NaN or infinite."""
    array = as_1d(values, name)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    scores = array.astype(np.float64)
    non_finite = int(np.count_nonzero(~np.isfinite(scores)))
    if non_finite:
        raise ValueError(f"{name} contains {non_finite} NaN or infinite values; pass finite scores")
    return scores


def as_probabilities(values: Any, name: str = "y_prob") -> np.ndarray:
    """Convert probabilities to a 1-D float64 array, raising ValueError when any value is NaN or outside [0, 1]."""
    array = as_1d(values, name)
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    probabilities = array.astype(np.float64)
    invalid = ~((probabilities >= 0.0) & (probabilities <= 1.0))
    count = int(np.count_nonzero(invalid))
    if count:
        not_nan = probabilities[~np.isnan(probabilities)]
        observed = f"observed range [{not_nan.min()}, {not_nan.max()}]" if not_nan.size else "all values are NaN"
        raise ValueError(
            f"{name} must contain probabilities in [0, 1], got {count} values that are NaN or outside "
            f"that range ({observed}); apply a sigmoid or softmax to logits first"
        )
    return probabilities


def check_same_length(first: np.ndarray, first_name: str, second: np.ndarray, second_name: str) -> None:
    """Raise ValueError unless two per-case arrays have the same number of entries."""
    if len(first) != len(second):
        raise ValueError(
            f"{first_name} has {len(first)} entries but {second_name} has {len(second)}; "
            "pass one entry per case in both"
        )
