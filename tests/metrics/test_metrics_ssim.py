"""Tests of SSIM against hand values and scikit-image's structural_similarity."""

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from pavae.metrics import ssim, ssim_per_image


def skimage_ssim(a, b, data_range):
    return structural_similarity(
        a, b, data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )


def horizontal_ramp(height=64, width=64):
    return np.tile(np.linspace(0.0, 1.0, width), (height, 1))


def blob_image(size=64):
    """Return a bright disc with a soft edge on a dark background."""
    rows, cols = np.mgrid[:size, :size]
    radius = np.hypot(rows - size / 2, cols - size / 3)
    return 1.0 / (1.0 + np.exp((radius - size / 5) / 2.0))


def test_ssim_ramp_with_itself_is_one():
    ramp = horizontal_ramp()
    assert ssim(ramp, ramp, data_range=1.0) == 1.0


def test_ssim_batch_of_one_equals_single_image():
    rng = np.random.default_rng(0)
    a, b = horizontal_ramp(), rng.random((64, 64))
    assert ssim(a[None], b[None], data_range=1.0) == ssim(a, b, data_range=1.0)


def test_ssim_missing_data_range():
    ramp = horizontal_ramp()
    with pytest.raises(TypeError):
        ssim(ramp, ramp)
    with pytest.raises(TypeError, match="data_range is required"):
        ssim(ramp, ramp, None)


@pytest.mark.parametrize("data_range", [0, -1.0, float("nan")])
def test_ssim_invalid_data_range_raises(data_range):
    ramp = horizontal_ramp()
    with pytest.raises(ValueError, match="data_range must be a finite number > 0"):
        ssim(ramp, ramp, data_range)


@pytest.mark.parametrize("seed", range(3))
def test_ssim_matches_skimage_random(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random((64, 64)), rng.random((64, 64))
    assert ssim(a, b, 1.0) == pytest.approx(skimage_ssim(a, b, 1.0), abs=1e-6)


def test_ssim_matches_skimage_structured():
    rng = np.random.default_rng(3)
    clean = blob_image()
    noisy = np.clip(clean + 0.1 * rng.normal(size=clean.shape), 0.0, 1.0)
    blurred = 0.25 * (clean + np.roll(clean, 1, 0) + np.roll(clean, 1, 1) + np.roll(clean, (1, 1), (0, 1)))
    for other in (noisy, blurred, horizontal_ramp()):
        assert ssim(clean, other, 1.0) == pytest.approx(skimage_ssim(clean, other, 1.0), abs=1e-6)


def test_ssim_matches_skimage_non_square_uint8():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (40, 70), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b, 255) == pytest.approx(skimage_ssim(a, b, 255), abs=1e-6)


def test_ssim_smallest_image_matches_skimage():
    rng = np.random.default_rng(5)
    a, b = rng.random((11, 11)), rng.random((11, 11))
    assert ssim(a, b, 1.0) == pytest.approx(skimage_ssim(a, b, 1.0), abs=1e-6)


def test_ssim_constant_equal_images_is_one():
    constant = np.full((32, 32), 0.4)
    assert ssim(constant, constant, 1.0) == 1.0


def test_ssim_constant_vs_ramp_matches_skimage():
    constant = np.full((64, 64), 0.3)
    ramp = horizontal_ramp()
    assert ssim(constant, ramp, 1.0) == pytest.approx(skimage_ssim(constant, ramp, 1.0), abs=1e-6)


def test_ssim_per_image_matches_skimage():
    rng = np.random.default_rng(6)
    first = rng.random((3, 48, 48))
    second = np.clip(first + 0.2 * rng.normal(size=first.shape), 0, 1)
    values = ssim_per_image(first, second, data_range=1.0)
    assert values.shape == (3,)
    for index in range(3):
        assert values[index] == pytest.approx(skimage_ssim(first[index], second[index], 1.0), abs=1e-6)
    assert ssim(first, second, 1.0) == pytest.approx(values.mean(), abs=1e-15)


def test_ssim_accepts_torch_tensors():
    ramp = horizontal_ramp()
    assert ssim(torch.from_numpy(ramp), torch.from_numpy(ramp), 1.0) == 1.0


def test_ssim_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"got \(64, 64\) and \(64, 63\)"):
        ssim(np.zeros((64, 64)), np.zeros((64, 63)), 1.0)


def test_ssim_image_smaller_than_window_raises():
    with pytest.raises(ValueError, match=r"at least 11x11 pixels.*\(10, 64\)"):
        ssim(np.zeros((10, 64)), np.zeros((10, 64)), 1.0)


def test_ssim_rejects_four_dimensional_input():
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        ssim(np.zeros((2, 1, 32, 32)), np.zeros((2, 1, 32, 32)), 1.0)
