import numpy as np
import pytest

from pavae.data.augment import AugmentConfig, augment, flip_label_map

CLASSES = ("healthy", "left_opacity", "right_opacity")


def test_flip_swaps_left_and_right():
    assert flip_label_map(CLASSES).tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match="no partner"):
        flip_label_map(("healthy", "left_opacity"))


def test_augment_range_shape_and_determinism():
    rng = np.random.default_rng(0)
    images = rng.random((6, 32, 32)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    first, out_labels, _ = augment(images, labels, AugmentConfig(), CLASSES, seed=1)
    second, _, _ = augment(images, labels, AugmentConfig(), CLASSES, seed=1)
    assert first.shape == images.shape
    assert first.min() >= 0 and first.max() <= 1
    assert np.array_equal(first, second)
    assert np.array_equal(out_labels, labels)  # no flip by default
    assert not np.allclose(first, images)


def test_flip_moves_opacity_and_swaps_label():
    image = np.zeros((1, 32, 32), np.float32)
    image[0, 10:14, 24:28] = 1.0  # bright spot on the image's right half
    mask = (image > 0).astype(np.uint8)
    config = AugmentConfig(rotation=0, shift=0, scale=0, intensity=0, noise=0, hflip=True)
    for seed in range(20):
        out, labels, masks = augment(image, np.array([1]), config, CLASSES, seed=seed, masks=mask)
        if labels[0] == 2:
            assert out[0, :, :16].sum() > out[0, :, 16:].sum()
            assert masks[0, :, :16].sum() == mask.sum()
            break
    else:
        pytest.fail("no flip drawn in 20 seeds")


def test_masks_follow_geometry():
    image = np.zeros((1, 32, 32), np.float32)
    image[0, 8:16, 8:16] = 1.0
    mask = (image > 0.5).astype(np.uint8)
    out, _, out_mask = augment(image, np.array([1]), AugmentConfig(intensity=0, noise=0), CLASSES, seed=3, masks=mask)
    inside = out[0][out_mask[0] == 1].mean()
    outside = out[0][out_mask[0] == 0].mean()
    assert inside > 0.8 and outside < 0.2
