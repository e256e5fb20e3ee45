"""Lung opacities and their exact lesion masks.

An abnormal image carries one to ``max_opacities`` soft-edged, textured blobs in
the affected lung. A blob replaces part of the local lung air with fluid-density
tissue, so its added attenuation is ``fill * air_attenuation`` of that lung: it
is zero outside the lung and never denser than fully consolidated lung. The
blob's mask is the set of pixels where its envelope reaches ``mask_fraction`` of
its peak, inside the affected lung field.
"""

from __future__ import annotations

import numpy as np

from pavae.data.phantom.config import AFFECTED_LUNG, PhantomConfig, opacity_ranges
from pavae.data.phantom.fields import correlated_noise


def draw_opacities(rng: np.random.Generator, n: int, config: PhantomConfig) -> dict[str, np.ndarray]:
    """Draw the opacity parameters of N images, whatever their labels.

    Every image gets a full draw of fixed shape, so an image's anatomy, acquisition
    and opacity parameters do not depend on the labels of the other images, and the
    same seed with label 0 gives the lesion-free twin of an abnormal image.

    Returns:
        name -> (N, K) float32 array with K = ``config.max_opacities``, and
        ``"texture"`` -> (N, H, W) float32 unit-std texture field.
    """
    k = config.max_opacities
    ranges = opacity_ranges(config.difficulty)
    # Number of blobs: P(j) proportional to 2**-j for j = 1..K (4/7, 2/7, 1/7 for K = 3).
    weights = 0.5 ** np.arange(1, k + 1)
    thresholds = np.cumsum(weights / weights.sum())
    count = 1 + (rng.uniform(0.0, 1.0, n)[:, None] > thresholds[None, :-1]).sum(axis=1)
    p: dict[str, np.ndarray] = {"active": (np.arange(k)[None, :] < count[:, None]).astype(np.float32)}
    p["position"] = rng.uniform(0.0, 1.0, (n, k)).astype(np.float32)
    low, high = ranges["contrast"]
    p["contrast"] = rng.uniform(low, high, (n, k)).astype(np.float32)
    low, high = ranges["sigma"]
    p["sigma"] = np.exp(rng.uniform(np.log(low), np.log(high), (n, k))).astype(np.float32)
    p["aspect"] = rng.uniform(0.55, 1.0, (n, k)).astype(np.float32)
    p["angle"] = rng.uniform(0.0, np.pi, (n, k)).astype(np.float32)
    # Exponent of the super-Gaussian envelope: 1 is Gaussian, larger is flatter with a sharper edge.
    p["sharpness"] = rng.uniform(1.0, 1.8, (n, k)).astype(np.float32)
    p["texture_strength"] = rng.uniform(0.25, 0.5, (n, 1)).astype(np.float32)
    p["texture"] = correlated_noise(rng, n, config.image_size, sigma_px=1.0 * config.image_size / 64.0)
    return p


def render_opacities(
    params: dict[str, np.ndarray], labels: np.ndarray, fields: np.ndarray, config: PhantomConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Place the opacities of the abnormal images and return their fill and masks.

    Args:
        params: output of :func:`draw_opacities` for N images.
        labels: (N,) class indices; 0 (healthy) gets no opacity.
        fields: (N, 2, H, W) bool lung fields.
        config: generator settings.

    Returns:
        ``(fill, masks)``: (N, H, W) float32 fraction of the affected lung's air
        replaced, in [0, 1], and (N, H, W) uint8 lesion masks in {0, 1}. Both are
        zero for healthy images.
    """
    n, _, height, width = fields.shape
    fill = np.zeros((n, height, width), dtype=np.float32)
    masks = np.zeros((n, height, width), dtype=np.uint8)
    rows = np.flatnonzero(labels > 0)
    if len(rows) == 0:
        return fill, masks

    lung = np.array([AFFECTED_LUNG[int(label)] for label in labels[rows]])
    field = fields[rows, lung]  # (M, H, W)
    centres_v, centres_u = _sample_centres(field, params["position"][rows], config.lower_zone_bias)

    grid = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0)[None, :, None]
    grid_u = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2.0 - 1.0)[None, None, :]
    blob_fill = np.zeros((len(rows), height, width), dtype=np.float32)
    blob_mask = np.zeros((len(rows), height, width), dtype=bool)
    mask_level = -2.0 * np.log(config.mask_fraction)  # envelope >= fraction  <=>  r2**sharpness <= this
    for j in range(config.max_opacities):
        active = params["active"][rows, j][:, None, None] > 0
        sigma = params["sigma"][rows, j][:, None, None]
        minor = sigma * params["aspect"][rows, j][:, None, None]
        angle = params["angle"][rows, j][:, None, None]
        du = grid_u - centres_u[:, j][:, None, None]
        dv = grid - centres_v[:, j][:, None, None]
        along = (np.cos(angle) * du + np.sin(angle) * dv) / sigma
        across = (np.cos(angle) * dv - np.sin(angle) * du) / minor
        shaped = (along * along + across * across) ** params["sharpness"][rows, j][:, None, None]
        envelope = np.exp(-0.5 * shaped)
        blob_fill += active * params["contrast"][rows, j][:, None, None] * envelope
        blob_mask |= active & (shaped <= mask_level)

    texture = 1.0 + params["texture_strength"][rows][:, :, None] * params["texture"][rows]
    fill[rows] = np.clip(blob_fill * texture, 0.0, 1.0) * field
    masks[rows] = (blob_mask & field).astype(np.uint8)
    return fill, masks


def _sample_centres(field: np.ndarray, position: np.ndarray, lower_zone_bias: float) -> tuple[np.ndarray, np.ndarray]:
    """Pick opacity centres among the lung-field pixels, favouring the lower zones.

    Centres sit on pixel centres, so each blob's own pixel has envelope 1 and every
    abnormal image gets a non-empty mask.

    Args:
        field: (M, H, W) bool affected lung field of each image; none may be empty.
        position: (M, K) uniform draws in [0, 1), one per blob.
        lower_zone_bias: weight ``exp(bias * v)`` on the row height ``v`` (units of half the side).

    Returns:
        ``(v, u)``: (M, K) float32 centre coordinates in units of half the image side.
    """
    m, height, width = field.shape
    row_v = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0)
    weights = field * np.exp(lower_zone_bias * row_v)[None, :, None]
    cumulative = np.cumsum(weights.reshape(m, -1), axis=1)
    total = cumulative[:, -1:]
    if np.any(total <= 0):
        raise RuntimeError("an affected lung field is empty; the anatomy parameters produced no lung")
    targets = position * total  # (M, K)
    index = (cumulative[:, None, :] <= targets[:, :, None]).sum(axis=2)
    index = np.minimum(index, height * width - 1)
    rows, cols = np.divmod(index, width)
    return _pixel_centre(rows, height), _pixel_centre(cols, width)


def _pixel_centre(index: np.ndarray, size: int) -> np.ndarray:
    return ((index.astype(np.float32) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
