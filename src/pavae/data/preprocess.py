"""Per-image preprocessing: percentile clip, histogram equalisation, z-score, rescale.

Every function takes a single image (H, W) or a batch (N, H, W), computes in
float64 and returns float64. Statistics are taken per image. Constant or
near-constant images never produce NaN: where an image has no spread, the
step returns zeros.

The chain is invariant to any strictly increasing intensity change applied
before it (histogram equalisation keeps only the rank order), so acquisition
drift must change more than the grey-level mapping to reach the model input.
"""

from __future__ import annotations

import dataclasses

import numpy as np

EQUALIZE_BINS = 256


def _as_batch(images: np.ndarray) -> tuple[np.ndarray, bool]:
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 2:
        return array[None], True
    if array.ndim != 3:
        raise ValueError(f"expected an image (H, W) or a batch (N, H, W), got shape {array.shape}")
    return array, False


def _restore(batch: np.ndarray, single: bool) -> np.ndarray:
    return batch[0] if single else batch


def percentile_clip(images: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Clip each image to its [low, high] percentiles (linear interpolation, float64).

    The percentiles are computed on float64 values, so uint8 input cannot wrap
    around: ``[0, 10, 20, 255]`` at 0.5/99.5 gives bounds 0.15 and 251.475.
    """
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}")
    batch, single = _as_batch(images)
    flat = batch.reshape(len(batch), -1)
    bounds = np.percentile(flat, [low, high], axis=1)
    clipped = np.clip(flat, bounds[0][:, None], bounds[1][:, None])
    return _restore(clipped.reshape(batch.shape), single)


def equalize_histogram(images: np.ndarray, bins: int = EQUALIZE_BINS) -> np.ndarray:
    """Equalise each image's histogram: map every pixel to the CDF value of its bin.

    The histogram has ``bins`` equal-width bins between the image's minimum and
    maximum. Output lies in (0, 1]. A constant image maps to zeros.
    """
    batch, single = _as_batch(images)
    n = len(batch)
    flat = batch.reshape(n, -1)
    low = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - low
    constant = span[:, 0] <= 0
    safe_span = np.where(span > 0, span, 1.0)
    bin_index = np.clip(((flat - low) / safe_span * bins).astype(np.int64), 0, bins - 1)

    # One bincount for the whole batch: offset each image's bins by its row.
    offsets = (np.arange(n) * bins)[:, None]
    histogram = np.bincount((bin_index + offsets).ravel(), minlength=n * bins).reshape(n, bins)
    cdf = np.cumsum(histogram, axis=1) / flat.shape[1]
    equalised = np.take_along_axis(cdf, bin_index, axis=1)
    equalised[constant] = 0.0
    return _restore(equalised.reshape(batch.shape), single)


def zscore(images: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Subtract each image's mean and divide by its standard deviation (zeros where std <= eps)."""
    batch, single = _as_batch(images)
    mean = batch.mean(axis=(1, 2), keepdims=True)
    std = batch.std(axis=(1, 2), keepdims=True)
    centred = batch - mean
    scored = np.divide(centred, std, out=np.zeros_like(centred), where=std > eps)
    return _restore(scored, single)


def rescale_unit(images: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rescale each image linearly to [0, 1] (zeros where max - min <= eps)."""
    batch, single = _as_batch(images)
    low = batch.min(axis=(1, 2), keepdims=True)
    span = batch.max(axis=(1, 2), keepdims=True) - low
    shifted = batch - low
    scaled = np.divide(shifted, span, out=np.zeros_like(shifted), where=span > eps)
    return _restore(scaled, single)


@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the preprocessing chain.

    Attributes:
        clip_low: lower clipping percentile (0 turns clipping off together with clip_high=100).
        clip_high: upper clipping percentile.
        equalize: apply histogram equalisation.
        zscore: apply the per-image z-score.
        clahe: apply contrast-limited adaptive equalisation instead of global
            equalisation (robustness sweeps); needs scikit-image.
    """

    clip_low: float = 0.5
    clip_high: float = 99.5
    equalize: bool = True
    zscore: bool = True
    clahe: bool = False


def preprocess(images: np.ndarray, config: PreprocessConfig | None = None) -> np.ndarray:
    """Run the chain (clip, equalise, z-score, rescale to [0, 1]) and return float32.

    Args:
        images: (H, W) or (N, H, W) array of any numeric dtype.
        config: chain settings; the defaults follow the study protocol.

    Returns:
        float32 array of the input's shape with values in [0, 1].
    """
    config = config or PreprocessConfig()
    result = percentile_clip(images, config.clip_low, config.clip_high)
    if config.clahe:
        result = _clahe(result)
    elif config.equalize:
        result = equalize_histogram(result)
    if config.zscore:
        result = zscore(result)
    return rescale_unit(result).astype(np.float32)


def _clahe(images: np.ndarray) -> np.ndarray:
    try:
        from skimage.exposure import equalize_adapthist
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("CLAHE needs scikit-image: pip install scikit-image, or set data.clahe=false") from error
    batch, single = _as_batch(images)
    unit = rescale_unit(batch)
    out = np.stack([equalize_adapthist(image, clip_limit=0.01) for image in unit])
    return _restore(out, single)
