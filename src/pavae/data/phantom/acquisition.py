"""X-ray acquisition of the procedural radiographs: dose, shot noise, blur, exposure and drift.

The chain, per image: texture noise and the anode heel gradient modulate the
transmitted intensity ``dose * exp(-A)``. The detector counts photons with
shot noise, and its point-spread function blurs the counts. The exposure
curve (window and gamma) maps the log of the counts to grey levels, dense
structures bright.

The preprocessing chain (percentile clip, histogram equalisation, z-score)
keeps only the rank order of the grey levels, so a monotone change such as the
exposure curve barely shifts the model input (brightness and contrast not at
all). Acquisition drift therefore also lowers the dose,
widens the blur and strengthens the texture noise and the heel gradient,
which change the image's spatial structure and survive preprocessing.
"""

from __future__ import annotations

import numpy as np

from pavae.data.phantom.fields import correlated_noise, gaussian_blur

# Effect of one drift step (the ``drift`` setting multiplies or adds these).
DRIFT_DOSE_FACTOR = 0.6  # dose x 0.6 per step: shot-noise std x 1.29
DRIFT_BLUR_PX = 0.35  # blur std + 0.35 pixel (at 64 x 64) per step
DRIFT_TEXTURE_GAIN = 0.6  # texture-noise amplitude x (1 + 0.6 * drift)
DRIFT_HEEL = 0.08  # heel gradient + 0.08 (relative intensity change from centre to top) per step
DRIFT_GAMMA_FACTOR = 1.12  # monotone exposure changes, for realism only
DRIFT_BRIGHTNESS = 0.03

# Below this many expected counts a pixel gets an exact Poisson draw. Above it the
# normal approximation N(lambda, lambda) is used (skewness 1/sqrt(lambda) < 0.15),
# which numpy 2.4 draws about five times faster than Poisson counts.
EXACT_POISSON_BELOW = 50.0


def draw_acquisition(rng: np.random.Generator, n: int, size: int) -> dict[str, np.ndarray]:
    """Draw the acquisition parameters and the texture-noise field of N images.

    Returns:
        name -> (N,) float32 array, and ``"texture"`` -> (N, size, size) float32
        unit-std correlated noise.
    """
    p: dict[str, np.ndarray] = {}
    p["dose"] = np.exp(rng.uniform(np.log(2000.0), np.log(12000.0), n)).astype(np.float32)  # counts per pixel in air
    p["blur_px"] = rng.uniform(0.3, 0.8, n).astype(np.float32)  # detector PSF std at 64 x 64
    p["texture_amplitude"] = rng.uniform(0.01, 0.03, n).astype(np.float32)  # e-folds
    p["heel"] = rng.uniform(-0.04, 0.04, n).astype(np.float32)
    p["window_low"] = rng.uniform(-0.10, 0.05, n).astype(np.float32)  # e-folds shown as black
    p["window_high"] = rng.uniform(3.0, 3.6, n).astype(np.float32)  # e-folds shown as white
    p["gamma"] = rng.uniform(0.75, 1.05, n).astype(np.float32)
    p["brightness"] = rng.uniform(0.0, 0.06, n).astype(np.float32)
    p["contrast"] = rng.uniform(0.88, 1.0, n).astype(np.float32)
    p["texture"] = correlated_noise(rng, n, size, sigma_px=2.0 * size / 64.0, factor=4)
    return p


def acquire(
    attenuation: np.ndarray, params: dict[str, np.ndarray], drift: float, shot_rng: np.random.Generator
) -> np.ndarray:
    """Expose, detect and display a batch of attenuation maps.

    Args:
        attenuation: (N, H, W) float32 line integrals in e-folds.
        params: output of :func:`draw_acquisition` for the same N images.
        drift: acquisition drift step (>= 0).
        shot_rng: source of the shot noise; it is drawn last, so the number of its
            draws never shifts another parameter.

    Returns:
        (N, H, W) float32 grey levels in [0, 1], dense structures bright.
    """
    n, height, width = attenuation.shape
    v = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0)[None, :, None]

    heel = _col(params["heel"] + DRIFT_HEEL * drift)
    texture = _col(params["texture_amplitude"] * (1.0 + DRIFT_TEXTURE_GAIN * drift)) * params["texture"]
    gain = np.clip(1.0 - heel * v, 0.1, None) * np.exp(texture)
    dose = _col(params["dose"] * DRIFT_DOSE_FACTOR**drift)
    expected = dose * gain * np.exp(-attenuation)

    counts = _shot_noise(expected, shot_rng)
    blur = (params["blur_px"] + DRIFT_BLUR_PX * drift) * (width / 64.0)
    counts = gaussian_blur(counts, blur)
    measured = -np.log(np.maximum(counts, 0.5) / dose)  # no flat-field correction: heel and texture stay

    low, high = _col(params["window_low"]), _col(params["window_high"])
    unit = np.clip((measured - low) / (high - low), 0.0, 1.0)
    gamma = _col(params["gamma"] * DRIFT_GAMMA_FACTOR**drift)
    contrast = _col(params["contrast"])
    brightness = _col(params["brightness"] + DRIFT_BRIGHTNESS * drift)
    return np.clip(brightness + contrast * unit**gamma, 0.0, 1.0).astype(np.float32)


def _col(values: np.ndarray) -> np.ndarray:
    return values[:, None, None]


def _shot_noise(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw photon counts: exact Poisson at low counts, the normal approximation above."""
    counts = expected + np.sqrt(expected) * rng.standard_normal(expected.shape, dtype=np.float32)
    low = expected < EXACT_POISSON_BELOW
    counts[low] = rng.poisson(expected[low]).astype(np.float32)
    return counts
