"""Tests of the procedural radiograph generator (pavae.data.phantom)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import pavae
from pavae.data.dataset import RadiographDataset
from pavae.data.phantom import (
    AFFECTED_LUNG,
    CLASS_NAMES,
    DEFAULT_DIFFICULTY,
    DIFFICULTY_RANGE,
    ORIENTATION,
    PATIENT_LEFT_LUNG,
    PATIENT_RIGHT_LUNG,
    PhantomConfig,
    generate_phantoms,
    make_procedural_dataset,
    opacity_ranges,
    table1_counts,
)
from pavae.data.preprocess import preprocess

SIZE = 64


@pytest.fixture(scope="module")
def small_set() -> RadiographDataset:
    # Difficulty 0: obvious opacities, so 150 images per abnormal class outweigh the
    # differences between patients.
    return make_procedural_dataset(seed=7, scale=0.05, difficulty=0.0)


def _lung_zone_means(image: np.ndarray) -> tuple[float, float]:
    """Return the mean of the central lung zone on the image's left and right (away from the body edges)."""
    rows = slice(int(0.2 * SIZE), int(0.75 * SIZE))
    return float(image[rows, int(0.1 * SIZE) : int(0.44 * SIZE)].mean()), float(image[rows, int(0.56 * SIZE) : int(0.9 * SIZE)].mean())


@pytest.fixture(scope="module")
def batch_with_fields() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    labels = np.tile(np.arange(3), 40)
    images, masks, fields = generate_phantoms(labels, 11, PhantomConfig(difficulty=0.0), return_fields=True)
    return labels, images, masks, fields


def _twins(difficulty: float, n: int = 40, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return abnormal images, their masks, and the lesion-free twins (same seed, label 0)."""
    labels = np.where(np.arange(n) % 2 == 0, 1, 2)
    config = PhantomConfig(difficulty=difficulty)
    images, masks = generate_phantoms(labels, seed, config)
    twins, twin_masks = generate_phantoms(np.zeros(n, dtype=np.int64), seed, config)
    assert not twin_masks.any()
    return images, masks.astype(bool), twins


# ------------------------------------------------------------------ orientation


def test_left_opacity_brightens_image_right(small_set):
    healthy = small_set.images[small_set.labels == 0].astype(np.float64).mean(axis=0)
    left = small_set.images[small_set.labels == 1].astype(np.float64).mean(axis=0)
    image_left, image_right = _lung_zone_means(left - healthy)
    assert image_right > image_left + 0.5


def test_right_opacity_brightens_image_left(small_set):
    healthy = small_set.images[small_set.labels == 0].astype(np.float64).mean(axis=0)
    right = small_set.images[small_set.labels == 2].astype(np.float64).mean(axis=0)
    image_left, image_right = _lung_zone_means(right - healthy)
    assert image_left > image_right + 0.5


@pytest.mark.parametrize("label", [1, 2])
def test_opacity_side_against_twins(label):
    labels = np.full(40, label)
    config = PhantomConfig(difficulty=0.0)
    images, _ = generate_phantoms(labels, 21, config)
    twins, _ = generate_phantoms(np.zeros(40, dtype=np.int64), 21, config)
    difference = images.astype(np.float64).mean(axis=0) - twins.astype(np.float64).mean(axis=0)
    image_left, image_right = difference[:, : SIZE // 2].sum(), difference[:, SIZE // 2 :].sum()
    affected, other = (image_right, image_left) if label == 1 else (image_left, image_right)
    assert affected > 100.0
    assert abs(other) < 0.1 * affected


def test_heart_lies_right_of_midline(small_set):
    healthy = small_set.images[small_set.labels == 0].astype(np.float64).mean(axis=0)
    heart_rows = healthy[int(0.55 * SIZE) : int(0.68 * SIZE)]
    image_left = heart_rows[:, int(0.15 * SIZE) : SIZE // 2].mean()
    image_right = heart_rows[:, SIZE // 2 : int(0.85 * SIZE)].mean()
    assert image_right > image_left + 5.0


def test_orientation_metadata(small_set):
    assert small_set.metadata["orientation"] == ORIENTATION
    assert "image right half" in ORIENTATION
    assert CLASS_NAMES == ("healthy", "left_opacity", "right_opacity")
    assert AFFECTED_LUNG == {1: PATIENT_LEFT_LUNG, 2: PATIENT_RIGHT_LUNG}


# ------------------------------------------------------------------ masks and fields


def test_masks_inside_affected_lung(batch_with_fields):
    labels, _, masks, fields = batch_with_fields
    for i, label in enumerate(labels):
        if label == 0:
            continue
        affected = fields[i, AFFECTED_LUNG[int(label)]].astype(bool)
        assert not np.any(masks[i].astype(bool) & ~affected), f"image {i}: mask outside the affected lung field"


def test_masks_on_the_correct_image_side(batch_with_fields):
    labels, _, masks, _ = batch_with_fields
    columns = np.arange(SIZE)[None, :]
    left_lesions = masks[labels == 1].astype(bool)
    right_lesions = masks[labels == 2].astype(bool)
    assert np.all(np.broadcast_to(columns, left_lesions.shape[1:])[left_lesions.any(axis=0)] >= SIZE // 2)
    assert np.all(np.broadcast_to(columns, right_lesions.shape[1:])[right_lesions.any(axis=0)] < SIZE // 2)


def test_lung_fields_split_at_midline(batch_with_fields):
    _, _, _, fields = batch_with_fields
    assert fields.dtype == np.uint8
    assert not fields[:, PATIENT_RIGHT_LUNG, :, SIZE // 2 :].any()
    assert not fields[:, PATIENT_LEFT_LUNG, :, : SIZE // 2].any()
    assert np.all(fields.sum(axis=(2, 3)) > 0.06 * SIZE * SIZE)


def test_healthy_masks_empty_abnormal_masks_not(batch_with_fields):
    labels, _, masks, _ = batch_with_fields
    areas = masks.sum(axis=(1, 2))
    assert masks.dtype == np.uint8
    assert set(np.unique(masks).tolist()) <= {0, 1}
    assert np.all(areas[labels == 0] == 0)
    assert np.all(areas[labels > 0] > 0)


def test_every_abnormal_mask_non_empty_at_max_difficulty():
    labels = np.tile(np.array([1, 2]), 60)
    _, masks = generate_phantoms(labels, 5, PhantomConfig(difficulty=DIFFICULTY_RANGE[1]))
    assert np.all(masks.sum(axis=(1, 2)) > 0)


def test_opacity_count_between_one_and_max():
    labels = np.ones(150, dtype=np.int64)
    _, masks = generate_phantoms(labels, 2, PhantomConfig(difficulty=0.0, max_opacities=1))
    _, masks_many = generate_phantoms(labels, 2, PhantomConfig(difficulty=0.0, max_opacities=3))
    assert masks_many.sum() > masks.sum()


# ------------------------------------------------------------------ determinism


def test_same_seed_identical_arrays():
    labels = np.tile(np.arange(3), 10)
    config = PhantomConfig()
    first = generate_phantoms(labels, 123, config)
    second = generate_phantoms(labels, 123, config)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_different_seeds_differ():
    labels = np.tile(np.arange(3), 10)
    config = PhantomConfig()
    first, _ = generate_phantoms(labels, 1, config)
    second, _ = generate_phantoms(labels, 2, config)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 5.0


def test_dataset_deterministic_by_seed():
    first = make_procedural_dataset(seed=4, scale=0.02)
    second = make_procedural_dataset(seed=4, scale=0.02)
    other = make_procedural_dataset(seed=5, scale=0.02)
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() != other.fingerprint()
    assert not np.array_equal(first.labels, other.labels)


def test_twin_differs_only_near_lesion():
    images, masks, twins = _twins(difficulty=0.0)
    difference = np.abs(images.astype(int) - twins.astype(int))
    assert difference[~masks].mean() < 1.0
    assert difference[masks].mean() > 10.0


# ------------------------------------------------------------------ acquisition drift


def test_drift_changes_preprocessed_input_monotonically():
    labels = np.tile(np.arange(3), 20)
    inputs = [preprocess(generate_phantoms(labels, 9, PhantomConfig(drift=step))[0]) for step in (0, 1, 2, 3)]
    distances = [float(np.abs(x - inputs[0]).mean()) for x in inputs]
    assert distances[0] == 0.0
    assert distances[1] > 0.01
    assert distances[1] < distances[2] < distances[3]


def test_monotone_intensity_change_vanishes_after_preprocessing():
    labels = np.tile(np.arange(3), 20)
    images, _ = generate_phantoms(labels, 9, PhantomConfig())
    drifted, _ = generate_phantoms(labels, 9, PhantomConfig(drift=1.0))
    reference = preprocess(images)
    drift_distance = np.abs(preprocess(drifted) - reference).mean()

    pixels = images.astype(np.float64)
    affine = 0.6 * pixels + 40.0  # brightness and contrast
    gamma = 255.0 * (pixels / 255.0) ** 0.6
    np.testing.assert_allclose(preprocess(affine), reference, atol=1e-6)
    assert np.abs(preprocess(gamma) - reference).mean() < 0.1 * drift_distance


def test_drift_recorded_in_metadata():
    dataset = make_procedural_dataset(seed=1, scale=0.01, drift=2.0)
    assert dataset.metadata["generator"]["drift"] == 2.0


# ------------------------------------------------------------------ lesions and preprocessing


def test_obvious_lesions_visible_after_preprocessing():
    images, masks, twins = _twins(difficulty=0.0)
    lesion_input, twin_input = preprocess(images), preprocess(twins)
    gains = np.array([lesion_input[i][masks[i]].mean() - twin_input[i][masks[i]].mean() for i in range(len(images))])
    assert gains.min() > 0.03
    assert gains.mean() > 0.1


def test_lesion_pixels_not_clipped_away():
    images, masks, _ = _twins(difficulty=0.0)
    model_input = preprocess(images)
    clipped = np.mean([np.mean(model_input[i][masks[i]] >= 0.999) for i in range(len(images))])
    assert clipped < 0.05


def test_difficulty_lowers_contrast_and_size():
    contrasts, areas = [], []
    for difficulty in (0.0, 0.25, 0.5, 0.75, 1.0):
        images, masks, twins = _twins(difficulty)
        gain = [images[i][masks[i]].mean() - twins[i][masks[i]].astype(float).mean() for i in range(len(images))]
        contrasts.append(float(np.mean(gain)))
        areas.append(float(masks.sum(axis=(1, 2)).mean()))
    assert all(a > b for a, b in zip(contrasts, contrasts[1:])), contrasts
    assert all(a > b for a, b in zip(areas, areas[1:])), areas
    assert contrasts[0] > 20.0  # obvious at 0: grey levels over the twin
    assert contrasts[-1] < 2.0  # nearly invisible at the top of the range


def test_opacity_ranges_shrink_with_difficulty():
    easy, hard = opacity_ranges(0.0), opacity_ranges(1.0)
    assert hard["contrast"][1] < 0.05 * easy["contrast"][1]
    assert hard["sigma"][1] < easy["sigma"][1]
    assert DIFFICULTY_RANGE[0] <= DEFAULT_DIFFICULTY <= DIFFICULTY_RANGE[1]


# ------------------------------------------------------------------ counts and metadata


def test_table1_counts_at_full_scale():
    counts = table1_counts(1.0, 0.1)
    assert counts["train"] == (4000, 2000, 2000)
    assert counts["val"] == (1000, 500, 500)
    assert counts["test"] == (1000, 500, 500)
    assert counts["train_labeled"] == (400, 200, 200)
    assert sum(sum(counts[split]) for split in ("train", "val", "test")) == 12000


def test_table1_counts_keep_one_per_class():
    counts = table1_counts(0.0001, 0.1)
    for key in ("train", "val", "test", "train_labeled"):
        assert counts[key] == (1, 1, 1)


def test_dataset_counts_match_table1_arithmetic():
    dataset = make_procedural_dataset(seed=2, scale=0.02)
    expected = table1_counts(0.02, 0.1)
    counts = dataset.counts()
    for split in ("train", "val", "test"):
        assert tuple(counts[split][name] for name in CLASS_NAMES) == expected[split]
    assert tuple(counts["train_labeled"][name] for name in CLASS_NAMES) == expected["train_labeled"]
    assert expected["train_labeled"] == (8, 4, 4)
    assert not dataset.labeled[dataset.split != "train"].any()


def test_metadata_is_json_and_complete(tmp_path):
    dataset = make_procedural_dataset(seed=3, scale=0.01, difficulty=0.2)
    metadata = json.loads(json.dumps(dataset.metadata))
    assert metadata["source"] == "procedural"
    assert metadata["seed"] == 3
    assert metadata["labeled_fraction"] == 0.1
    assert metadata["generator"]["pavae_version"] == pavae.__version__
    for field in dataclasses.fields(PhantomConfig):
        assert field.name in metadata["generator"]
    assert metadata["generator"]["difficulty"] == 0.2
    loaded = RadiographDataset.load(dataset.save(tmp_path / "set.npz"))
    assert loaded.fingerprint() == dataset.fingerprint()


def test_default_difficulty_used_when_none():
    dataset = make_procedural_dataset(seed=3, scale=0.01)
    assert dataset.metadata["generator"]["difficulty"] == DEFAULT_DIFFICULTY


# ------------------------------------------------------------------ settings and inputs


@pytest.mark.parametrize("size", [32, 96])
def test_other_image_sizes(size):
    labels = np.array([0, 1, 2])
    images, masks, fields = generate_phantoms(labels, 0, PhantomConfig(image_size=size), return_fields=True)
    assert images.shape == masks.shape == (3, size, size)
    assert fields.shape == (3, 2, size, size)
    assert masks[0].sum() == 0
    assert masks[1].sum() > 0
    assert masks[2].sum() > 0


def test_empty_labels_give_empty_arrays():
    images, masks = generate_phantoms(np.zeros(0, dtype=np.int64), 0, PhantomConfig())
    assert images.shape == (0, SIZE, SIZE)
    assert masks.shape == (0, SIZE, SIZE)


@pytest.mark.parametrize(
    "settings",
    [
        {"image_size": 8},
        {"image_size": 64.0},
        {"difficulty": -0.1},
        {"difficulty": 1.5},
        {"difficulty": float("nan")},
        {"drift": -1.0},
        {"mask_fraction": 1.0},
        {"max_opacities": 0},
    ],
)
def test_invalid_config_rejected(settings):
    with pytest.raises(ValueError):
        PhantomConfig(**settings)


@pytest.mark.parametrize("labels", [np.array([0, 3]), np.array([-1]), np.array([[0, 1]]), np.array([0.0, 1.0])])
def test_invalid_labels_rejected(labels):
    with pytest.raises(ValueError):
        generate_phantoms(labels, 0, PhantomConfig())


def test_invalid_seed_rejected():
    with pytest.raises(ValueError):
        generate_phantoms(np.array([0]), -1, PhantomConfig())


@pytest.mark.parametrize("arguments", [{"scale": 0.0}, {"scale": float("inf")}, {"labeled_fraction": 0.0}])
def test_invalid_dataset_arguments_rejected(arguments):
    with pytest.raises(ValueError):
        make_procedural_dataset(**arguments)


def test_thread_count_does_not_change_output(monkeypatch):
    from pavae.data.phantom import generate

    labels = np.tile(np.arange(3), 200)  # three chunks
    monkeypatch.setattr(generate, "MAX_WORKERS", 1)
    serial = generate_phantoms(labels, 8, PhantomConfig())
    monkeypatch.setattr(generate, "MAX_WORKERS", 4)
    monkeypatch.setattr(generate, "_available_cores", lambda: 4)
    threaded = generate_phantoms(labels, 8, PhantomConfig())
    np.testing.assert_array_equal(serial[0], threaded[0])
    np.testing.assert_array_equal(serial[1], threaded[1])


def test_negative_seed_rejected_by_dataset_maker():
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -3"):
        make_procedural_dataset(seed=-3, scale=0.01)
