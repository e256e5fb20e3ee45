"""Batched array helpers of the generator: ramps, correlated noise and per-image blur.

Every function works on float32 batches of shape (N, H, W) and is vectorised over
the batch; nothing loops over pixels or images in Python. Blurs and noise filters
are separable, so they run as batched matrix products.
"""

from __future__ import annotations

import numpy as np


def ramp(x: np.ndarray, edge0: float | np.ndarray, edge1: float | np.ndarray) -> np.ndarray:
    """Map ``x`` linearly to [0, 1] between ``edge0`` (0) and ``edge1`` (1), either order, clipped."""
    t = (x - edge0) * (1.0 / (edge1 - edge0))
    return np.clip(t, 0.0, 1.0, out=t)


def smoothstep(x: np.ndarray, edge0: float | np.ndarray, edge1: float | np.ndarray) -> np.ndarray:
    """Map ``x`` to [0, 1] with a cubic ramp from ``edge0`` to ``edge1`` (either order)."""
    t = ramp(x, edge0, edge1)
    return t * t * (3.0 - 2.0 * t)


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


def blur_matrices(sigma_px: np.ndarray, size: int) -> np.ndarray:
    """Build one 1-D Gaussian blur matrix per std, with half-sample mirrored borders.

    Args:
        sigma_px: (N,) std in pixels; 0 gives the identity.
        size: signal length.

    Returns:
        (N, size, size) float32 matrices whose rows sum to 1.
    """
    sigma = np.asarray(sigma_px, dtype=np.float64)
    radius = int(min(size - 1, np.ceil(4.0 * float(np.max(sigma, initial=0.0)))))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets[None, :] / np.maximum(sigma, 1e-3)[:, None]) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    # one_hot[k, i, j] = 1 where offset k of output pixel i reads pixel j (mirrored).
    source = np.arange(size)[None, :] + offsets[:, None]
    source = np.where(source < 0, -source - 1, source)
    source = np.where(source >= size, 2 * size - 1 - source, source)
    one_hot = np.zeros((len(offsets), size, size), dtype=np.float32)
    one_hot[np.arange(len(offsets))[:, None], np.arange(size)[None, :], source] = 1.0
    matrices = weights.astype(np.float32) @ one_hot.reshape(len(offsets), size * size)
    return matrices.reshape(len(sigma), size, size)


def gaussian_blur(images: np.ndarray, sigma_px: np.ndarray) -> np.ndarray:
    """Blur each image with its own isotropic Gaussian (mirrored borders).

    Args:
        images: (N, H, W) float32 batch.
        sigma_px: (N,) blur std in pixels, >= 0.

    Returns:
        (N, H, W) float32 blurred batch.
    """
    height, width = images.shape[1:]
    rows = blur_matrices(sigma_px, height)
    cols = rows if width == height else blur_matrices(sigma_px, width)
    blurred = np.matmul(rows, images)
    return np.matmul(blurred, cols.transpose(0, 2, 1))


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
    scale = 1.0 / np.sqrt((matrix * matrix).sum(axis=1))
    matrix = matrix * scale[:, None]
    return np.matmul(np.matmul(matrix, white), matrix.T)
