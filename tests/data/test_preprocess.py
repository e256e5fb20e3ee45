import numpy as np
import pytest

from pavae.data.preprocess import (
    PreprocessConfig,
    equalize_histogram,
    percentile_clip,
    preprocess,
    rescale_unit,
    zscore,
)


def test_percentile_clip_uint8_bounds_in_float():
    image = np.array([[0, 10], [20, 255]], dtype=np.uint8)
    clipped = percentile_clip(image, 0.5, 99.5)
    assert clipped.dtype == np.float64
    assert clipped.min() == pytest.approx(0.15)
    assert clipped.max() == pytest.approx(251.475)


def test_percentile_clip_does_not_wrap_around():
    image = np.array([[0, 10], [20, 255]], dtype=np.uint8)
    clipped = percentile_clip(image, 0.5, 99.5)
    # Integer arithmetic would wrap 255 and produce values far from 251.475.
    assert clipped[1, 1] == pytest.approx(251.475)
    assert np.all(np.diff(np.sort(clipped.ravel())) >= 0)


def test_percentile_clip_rejects_bad_percentiles():
    with pytest.raises(ValueError, match="low < high"):
        percentile_clip(np.zeros((4, 4)), 60, 40)


def test_equalize_constant_image_is_constant_without_nan():
    result = equalize_histogram(np.full((8, 8), 7.0))
    assert np.all(np.isfinite(result))
    assert np.ptp(result) == 0


def test_zscore_constant_image_has_no_nan():
    result = zscore(np.full((8, 8), 3.0))
    assert np.all(np.isfinite(result))
    assert np.all(result == 0)


def test_rescale_constant_image_has_no_nan():
    assert np.all(rescale_unit(np.full((4, 4), 2.0)) == 0)


def test_chain_constant_and_near_constant_images():
    batch = np.stack([np.full((16, 16), 128, np.uint8), np.full((16, 16), 128, np.uint8)])
    batch[1, 0, 0] = 129
    result = preprocess(batch)
    assert result.dtype == np.float32
    assert np.all(np.isfinite(result))
    assert result.min() >= 0 and result.max() <= 1


def test_chain_range_and_batch_equals_single():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(3, 32, 32)).astype(np.uint8)
    result = preprocess(batch)
    assert result.min() == pytest.approx(0.0)
    assert result.max() == pytest.approx(1.0)
    np.testing.assert_allclose(result[1], preprocess(batch[1]))


def test_chain_invariant_to_monotone_intensity_change():
    rng = np.random.default_rng(1)
    image = rng.normal(100, 20, size=(64, 64))
    changed = 3.0 * image + 40.0
    np.testing.assert_allclose(preprocess(image), preprocess(changed), atol=1e-6)


def test_equalize_flattens_histogram():
    rng = np.random.default_rng(2)
    image = rng.exponential(size=(64, 64))
    equalised = equalize_histogram(image)
    counts, _ = np.histogram(equalised, bins=4, range=(0, 1))
    assert counts.min() > 0.15 * image.size


def test_config_without_equalisation_keeps_linear_shape():
    ramp = np.tile(np.linspace(0, 1, 32), (32, 1))
    result = preprocess(ramp, PreprocessConfig(clip_low=0.0, clip_high=100.0, equalize=False))
    np.testing.assert_allclose(result, ramp, atol=1e-6)
