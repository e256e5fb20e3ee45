"""Classification, calibration, image-similarity and fidelity metrics of the study.

All functions take numpy arrays, lists or torch tensors and return Python
floats, numpy arrays or flat dicts of floats. A metric that is undefined for
its input (for example an AUC with one class absent) returns NaN and issues
an :class:`UndefinedMetricWarning`. No metric substitutes a made-up value.

Example:
    >>> from pavae.metrics import roc_auc
    >>> roc_auc([0, 1, 1], [0.5, 0.9, 0.5])
    0.75
"""

from pavae.metrics._validation import UndefinedMetricWarning
from pavae.metrics.calibration import brier_score, expected_calibration_error, reliability_curve
from pavae.metrics.classification import (
    accuracy,
    confusion_matrix,
    roc_auc,
    roc_auc_ovr_macro,
    roc_curve,
    sensitivity_at_specificity,
    sensitivity_specificity_at_threshold,
    threshold_at_specificity,
)
from pavae.metrics.delong import delong_ci, delong_test
from pavae.metrics.fidelity import (
    feature_statistics,
    fid_from_features,
    frechet_distance,
    kernel_inception_distance,
    precision_recall_knn,
)
from pavae.metrics.ssim import ssim, ssim_per_image

__all__ = [
    "UndefinedMetricWarning",
    "accuracy",
    "brier_score",
    "confusion_matrix",
    "delong_ci",
    "delong_test",
    "expected_calibration_error",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "kernel_inception_distance",
    "precision_recall_knn",
    "reliability_curve",
    "roc_auc",
    "roc_auc_ovr_macro",
    "roc_curve",
    "sensitivity_at_specificity",
    "sensitivity_specificity_at_threshold",
    "ssim",
    "ssim_per_image",
    "threshold_at_specificity",
]
