"""Structural similarity (SSIM) between images, as in Wang et al. (2004).

SSIM compares local means, variances and covariance of two images in a
Gaussian window. The settings are the ones Wang et al. (2004, IEEE
Transactions on Image Processing 13:600-612) use: an 11x11 Gaussian window
with sigma 1.5, K1 = 0.01, K2 = 0.03 and population (not sample)
covariances. The map is evaluated only where the whole window fits inside
the image (the "valid" region), which is what
``skimage.metrics.structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False)`` averages after cropping its
border, so the two agree to rounding for float64 images.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pavae.metrics._validation import to_numpy

__all__ = ["ssim", "ssim_per_image"]

WINDOW_SIZE = 11
GAUSSIAN_SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def _gaussian_window() -> np.ndarray:
    """Return the normalised 1-D Gaussian taps; the 2-D window is their outer product."""
    radius = WINDOW_SIZE // 2
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * offsets**2 / GAUSSIAN_SIGMA**2)
    return taps / taps.sum()


def _filter_valid(images: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Apply the separable Gaussian window over the last two axes, keeping only full-window positions."""
    rows_filtered = sliding_window_view(images, taps.size, axis=-1) @ taps
    return sliding_window_view(rows_filtered, taps.size, axis=-2) @ taps


def _check_data_range(data_range: Any) -> float:
    if data_range is None:
        raise TypeError("data_range is required: pass the value range of the images, e.g. 1.0 for [0, 1] or 255")
    value = float(data_range)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"data_range must be a finite number > 0, got {data_range!r}; pass max - min of the possible "
            "pixel values, e.g. 1.0 for [0, 1]"
        )
    return value


def _as_image_batch(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate two images or image batches and return them as float64 arrays of shape (N, H, W)."""
    first = to_numpy(a)
    second = to_numpy(b)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    if first.ndim not in (2, 3):
        raise ValueError(
            f"images must have shape (H, W) or (N, H, W) for a batch of N grey-level images, got {first.shape}; "
            "drop a channel axis of size 1 first"
        )
    height, width = first.shape[-2:]
    if height < WINDOW_SIZE or width < WINDOW_SIZE:
        raise ValueError(
            f"images must be at least {WINDOW_SIZE}x{WINDOW_SIZE} pixels for the {WINDOW_SIZE}x{WINDOW_SIZE} "
            f"Gaussian window, got shape {first.shape}"
        )
    if first.ndim == 3 and first.shape[0] == 0:
        raise ValueError("the image batch is empty; pass at least one image")
    first = first.astype(np.float64).reshape((-1, height, width))
    second = second.astype(np.float64).reshape((-1, height, width))
    non_finite = int(np.count_nonzero(~np.isfinite(first)) + np.count_nonzero(~np.isfinite(second)))
    if non_finite:
        raise ValueError(f"the images contain {non_finite} NaN or infinite pixels")
    return first, second


def ssim_per_image(a: Any, b: Any, data_range: float) -> np.ndarray:
    """Compute the mean SSIM of each image pair in a batch.

    Args:
        a: Image of shape ``(H, W)`` or batch of shape ``(N, H, W)``, with ``H, W >= 11``.
        b: Same shape as ``a``.
        data_range: Range of possible pixel values (max - min), e.g. 1.0 for
            images in [0, 1]. Required, because guessing it from the data
            changes the constants C1 and C2 and therefore the score.

    Returns:
        float64 array of shape ``(N,)`` (``N = 1`` for a single 2-D image)
        with values in [-1, 1], where 1 means identical images.

    Raises:
        TypeError: If ``data_range`` is missing or None.
        ValueError: If ``data_range <= 0``, the shapes differ (the message
            names both), an image is smaller than 11x11, or a pixel is not finite.

    Example:
        >>> ramp = np.tile(np.linspace(0.0, 1.0, 64), (64, 1))
        >>> ssim_per_image(np.stack([ramp, ramp]), np.stack([ramp, ramp]), data_range=1.0).tolist()
        [1.0, 1.0]
    """
    value_range = _check_data_range(data_range)
    first, second = _as_image_batch(a, b)
    taps = _gaussian_window()
    c1 = (K1 * value_range) ** 2
    c2 = (K2 * value_range) ** 2

    mean_a = _filter_valid(first, taps)
    mean_b = _filter_valid(second, taps)
    variance_a = _filter_valid(first * first, taps) - mean_a * mean_a
    variance_b = _filter_valid(second * second, taps) - mean_b * mean_b
    covariance = _filter_valid(first * second, taps) - mean_a * mean_b

    numerator = (2 * mean_a * mean_b + c1) * (2 * covariance + c2)
    denominator = (mean_a * mean_a + mean_b * mean_b + c1) * (variance_a + variance_b + c2)
    return (numerator / denominator).mean(axis=(-2, -1))


def ssim(a: Any, b: Any, data_range: float) -> float:
    """Compute the mean SSIM of two images, or the mean over image pairs of a batch.

    A 3-D input is always a batch of ``N`` images, so ``(1, H, W)`` gives the
    same value as the ``(H, W)`` image and is never read as a 1-pixel-high
    volume. See :func:`ssim_per_image` for the arguments and errors.

    Args:
        a: Image of shape ``(H, W)`` or batch of shape ``(N, H, W)``, with ``H, W >= 11``.
        b: Same shape as ``a``.
        data_range: Range of possible pixel values (max - min). Required.

    Returns:
        The mean SSIM as a float in [-1, 1].

    Raises:
        TypeError: If ``data_range`` is missing or None.
        ValueError: As :func:`ssim_per_image`.

    Example:
        >>> ramp = np.tile(np.linspace(0.0, 1.0, 64), (64, 1))
        >>> ssim(ramp, ramp, data_range=1.0)
        1.0
    """
    return float(ssim_per_image(a, b, data_range).mean())
