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

from pavae.data.phantom.anatomy import Anatomy
from pavae.data.phantom.config import AFFECTED_LUNG, PhantomConfig, opacity_ranges
from pavae.data.phantom.fields import correlated_noise

_BLOB_PARAMETERS = ("active", "contrast", "sigma", "aspect", "angle", "sharpness")


def draw_opacities(rng: np.random.Generator, n: int, config: PhantomConfig) -> dict[str, np.ndarray]:
    """Draw the opacity parameters of N images, whatever their labels.

    Every image gets a full draw of fixed shape, so its parameters do not depend on
    the labels. The same seed with label 0 therefore gives the lesion-free twin of
    an abnormal image.

    Returns:
        name -> (N, K) array with K = ``config.max_opacities``, and
        ``"texture"`` -> (N, H, W) float32 unit-std texture field.
    """
    k = config.max_opacities
    ranges = opacity_ranges(config.difficulty)
    # Number of blobs: P(j) proportional to 2**-j for j = 1..K (4/7, 2/7, 1/7 for K = 3).
    weights = 0.5 ** np.arange(1, k + 1)
    thresholds = np.cumsum(weights / weights.sum())
    count = 1 + (rng.uniform(0.0, 1.0, n)[:, None] > thresholds[None, :-1]).sum(axis=1)
    p: dict[str, np.ndarray] = {"active": (np.arange(k)[None, :] < count[:, None]).astype(np.float32)}
    p["position"] = rng.uniform(0.0, 1.0, (n, k))  # float64, so it stays below 1
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
    params: dict[str, np.ndarray], labels: np.ndarray, anatomy: Anatomy, config: PhantomConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Place the opacities of the abnormal images and return their attenuation and masks.

    Args:
        params: output of :func:`draw_opacities` for N images.
        labels: (N,) class indices; 0 (healthy) gets no opacity.
        anatomy: the rendered anatomy of the same N images.
        config: generator settings.

    Returns:
        ``(added, masks)``: (N, H, W) float32 attenuation the opacities add, in
        e-folds, and (N, H, W) uint8 lesion masks in {0, 1}. Both are zero for
        healthy images.
    """
    n, _, height, width = anatomy.fields.shape
    added = np.zeros((n, height, width), dtype=np.float32)
    masks = np.zeros((n, height, width), dtype=np.uint8)
    rows = np.flatnonzero(labels > 0)
    if len(rows) == 0:
        return added, masks

    lung = np.array([AFFECTED_LUNG[int(label)] for label in labels[rows]])
    field = anatomy.fields[rows, lung]  # (M, H, W)
    air = anatomy.air_attenuation[rows, lung]
    centres_v, centres_u = _sample_centres(field * air, params["position"][rows], config.lower_zone_bias)

    grid_v = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0)[None, :, None]
    grid_u = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2.0 - 1.0)[None, None, :]
    fill = np.zeros((len(rows), height, width), dtype=np.float32)
    inside = np.zeros((len(rows), height, width), dtype=bool)
    mask_level = -2.0 * np.log(config.mask_fraction)  # envelope >= fraction  <=>  shaped <= this
    for j in range(config.max_opacities):
        blob = {name: params[name][rows, j][:, None, None] for name in _BLOB_PARAMETERS}
        active = blob["active"] > 0
        du = grid_u - centres_u[:, j][:, None, None]
        dv = grid_v - centres_v[:, j][:, None, None]
        cos, sin = np.cos(blob["angle"]), np.sin(blob["angle"])
        along = (cos * du + sin * dv) / blob["sigma"]
        across = (cos * dv - sin * du) / (blob["sigma"] * blob["aspect"])
        shaped = (along * along + across * across) ** blob["sharpness"]
        fill += active * blob["contrast"] * np.exp(-0.5 * shaped)
        inside |= active & (shaped <= mask_level)

    fill *= 1.0 + params["texture_strength"][rows][:, :, None] * params["texture"][rows]
    np.clip(fill, 0.0, 1.0, out=fill)
    added[rows] = fill * field * air
    masks[rows] = inside & field
    return added, masks


def _sample_centres(weight: np.ndarray, position: np.ndarray, lower_zone_bias: float) -> tuple[np.ndarray, np.ndarray]:
    """Pick opacity centres among the lung-field pixels, favouring deep lung and the lower zones.

    Centres sit on pixel centres, so each blob's own pixel has envelope 1 and every
    abnormal image gets a non-empty mask.

    Args:
        weight: (M, H, W) non-negative sampling weight, zero outside the affected lung
            field (the field times its air attenuation); none may be all zero.
        position: (M, K) uniform draws in [0, 1), one per blob.
        lower_zone_bias: weight ``exp(bias * v)`` on the row height ``v`` (units of half the side).

    Returns:
        ``(v, u)``: (M, K) float32 centre coordinates in units of half the image side.
    """
    m, height, width = weight.shape
    row_v = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0)
    weights = weight * np.exp(lower_zone_bias * row_v)[None, :, None]
    # float64 keeps every target below the total, so the pick never runs past the field.
    cumulative = np.cumsum(weights.reshape(m, -1), axis=1, dtype=np.float64)
    total = cumulative[:, -1:]
    if np.any(total <= 0):
        raise RuntimeError("an affected lung field is empty; the anatomy parameters produced no lung")
    targets = position * total  # (M, K)
    # The first pixel whose cumulative weight exceeds the target; it has non-zero weight.
    index = (cumulative[:, None, :] <= targets[:, :, None]).sum(axis=2)
    rows, cols = np.divmod(index, width)
    return _pixel_centre(rows, height), _pixel_centre(cols, width)


def _pixel_centre(index: np.ndarray, size: int) -> np.ndarray:
    return ((index.astype(np.float32) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
