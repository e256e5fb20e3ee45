"""Batched array helpers of the generator: ramps, correlated noise and per-image blur.

Every function works on float32 batches of shape (N, H, W) and is vectorised over
the batch; nothing loops over pixels or images in Python.
"""

from __future__ import annotations

import numpy as np


def ramp(x: np.ndarray, edge0: float | np.ndarray, edge1: float | np.ndarray) -> np.ndarray:
    """Map ``x`` linearly to [0, 1] between ``edge0`` (0) and ``edge1`` (1), either order, clipped."""
    t = (x - edge0) * (1.0 / (edge1 - edge0))
    return np.clip(t, 0.0, 1.0, out=t)


def gaussian_matrix(sigma_px: float, size: int, source_size: int | None = None) -> np.ndarray:
    """Build a 1-D Gaussian filter matrix with half-sample mirrored borders.

    With ``source_size`` smaller than ``size`` the matrix also upsamples: source
    sample ``j`` sits at output coordinate ``(j + 0.5) * size / source_size``.

    Args:
        sigma_px: std in output pixels (> 0).
        size: output length.
        source_size: input length (default ``size``).

    Returns:
        (size, source_size) float32 matrix whose rows sum to 1.
    """
    source_size = size if source_size is None else source_size
    step = size / source_size
    position = (np.arange(size) + 0.5)[:, None]
    # Mirror the source positions once on each side: enough while 4 sigma < size.
    source = (np.arange(-source_size, 2 * source_size) + 0.5) * step
    weights = np.exp(-0.5 * ((position - source[None, :]) / max(sigma_px, 1e-3)) ** 2)
    folded = weights[:, source_size : 2 * source_size].copy()
    folded += weights[:, source_size - 1 :: -1]  # mirrored copy left of the start
    folded += weights[:, : 2 * source_size - 1 : -1]  # mirrored copy right of the end
    folded /= folded.sum(axis=1, keepdims=True)
    return folded.astype(np.float32)


def gaussian_blur(images: np.ndarray, sigma_px: np.ndarray) -> np.ndarray:
    """Blur each image with its own isotropic Gaussian (half-sample mirrored borders).

    The blur is separable: along each axis it sums the padded batch shifted by each
    kernel offset, weighted per image. Batched per-image matrix products would be
    shorter, but OpenBLAS threads slow products this small down several times.

    Args:
        images: (N, H, W) float32 batch.
        sigma_px: (N,) blur std in pixels, >= 0; 0 leaves an image unchanged.

    Returns:
        (N, H, W) float32 blurred batch.
    """
    sigma = np.asarray(sigma_px, dtype=np.float64)
    height, width = images.shape[1:]
    # Truncating at 3 std drops 1% of the kernel's peak weight at its ends.
    radius = int(min(height - 1, width - 1, np.ceil(3.0 * float(np.max(sigma, initial=0.0)))))
    if radius == 0:
        return images.astype(np.float32, copy=True)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets[None, :] / np.maximum(sigma, 1e-3)[:, None]) ** 2)
    weights = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)[:, :, None, None]

    padded = np.pad(images, ((0, 0), (radius, radius), (0, 0)), mode="symmetric")
    rows = weights[:, 0] * padded[:, 0:height]
    for k in range(1, len(offsets)):
        rows += weights[:, k] * padded[:, k : k + height]
    padded = np.pad(rows, ((0, 0), (0, 0), (radius, radius)), mode="symmetric")
    blurred = weights[:, 0] * padded[:, :, 0:width]
    for k in range(1, len(offsets)):
        blurred += weights[:, k] * padded[:, :, k : k + width]
    return blurred


def correlated_noise(rng: np.random.Generator, count: int, size: int, sigma_px: float, factor: int = 2) -> np.ndarray:
    """Draw Gaussian noise with a Gaussian correlation of std ``sigma_px`` pixels.

    White noise is drawn on a grid ``factor`` times coarser and filtered up to
    ``size`` with a Gaussian, which needs ``factor**2`` times fewer random numbers
    than filtering full-resolution noise. The factor is lowered where needed so
    that ``sigma_px >= factor / 2`` and the coarse grid leaves no pattern.

    Args:
        rng: source of the white noise.
        count: number of fields N.
        size: field side in pixels.
        sigma_px: correlation std in pixels.
        factor: largest coarsening factor of the white-noise grid.

    Returns:
        (N, size, size) float32 fields with mean 0 and std 1 at every pixel.
    """
    factor = max(1, min(factor, int(2.0 * sigma_px)))
    coarse = -(-size // factor)
    white = rng.standard_normal((count, coarse, coarse), dtype=np.float32)
    matrix = gaussian_matrix(sigma_px, size, coarse)
    # Each output pixel's variance is the squared norm of its matrix row (per axis).
    matrix *= 1.0 / np.sqrt((matrix * matrix).sum(axis=1, keepdims=True))
    index, weights = _band_of(matrix)
    # Filter along the last axis while the batch is still coarse, then along rows,
    # whose gathers copy whole contiguous rows.
    wide = weights[None, None, :, 0] * white[:, :, index[:, 0]]  # (N, coarse, size)
    for tap in range(1, index.shape[1]):
        wide += weights[None, None, :, tap] * white[:, :, index[:, tap]]
    return _filter_rows(wide, index, weights)


def _band_of(matrix: np.ndarray, tolerance: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Return the band of a filter matrix as (out, T) source indices and weights.

    Entries below ``tolerance`` times their row's largest entry are dropped; the
    band is padded with zero weights to the widest row.
    """
    significant = matrix > tolerance * matrix.max(axis=1, keepdims=True)
    first = significant.argmax(axis=1)
    last = matrix.shape[1] - 1 - significant[:, ::-1].argmax(axis=1)
    taps = np.arange(int((last - first).max()) + 1)
    unclipped = first[:, None] + taps[None, :]
    index = np.minimum(unclipped, matrix.shape[1] - 1)
    weights = np.where(unclipped <= last[:, None], np.take_along_axis(matrix, index, axis=1), 0.0)
    return index, weights.astype(np.float32)


def _filter_rows(batch: np.ndarray, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Apply a banded filter matrix along axis 1 of an (N, in, W) batch, giving (N, out, W).

    A sum of row gathers avoids BLAS, whose threads slow small products down
    several times on a busy machine.
    """
    result = weights[None, :, 0, None] * batch[:, index[:, 0], :]
    for tap in range(1, index.shape[1]):
        result += weights[None, :, tap, None] * batch[:, index[:, tap], :]
    return result
