"""Tests of pavae.data.splits: stratification, patient-level splits, labelled subset, small classes."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pavae.data.dataset import SPLITS, RadiographDataset
from pavae.data.splits import (
    SplitError,
    draw_labeled,
    parse_proportions,
    stratified_split,
    warn_small_splits,
)

PROPORTIONS = (0.6667, 0.1667, 0.1666)


def patient_cohort(seed: int, patients: int = 300):
    """Return labels and patient ids: 1 to 6 images per patient, some patients with both classes."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for patient in range(patients):
        count = int(rng.integers(1, 7))
        sick = rng.random() < 0.4
        for _ in range(count):
            labels.append(int(sick and rng.random() < 0.8))
            groups.append(f"p{patient:04d}")
    return np.asarray(labels), np.asarray(groups)


def test_image_split_keeps_proportions():
    labels = np.repeat([0, 1, 2], [600, 300, 90])

    split = stratified_split(labels, PROPORTIONS, seed=3)

    for k in range(3):
        members = labels == k
        for name, fraction in zip(SPLITS, PROPORTIONS):
            assert np.sum(members & (split == name)) == pytest.approx(fraction * members.sum(), abs=1)


def test_image_split_depends_on_seed_only():
    labels = np.repeat([0, 1], [50, 50])

    first = stratified_split(labels, PROPORTIONS, seed=1)
    again = stratified_split(labels, PROPORTIONS, seed=1)
    other = stratified_split(labels, PROPORTIONS, seed=2)

    np.testing.assert_array_equal(first, again)
    assert np.any(first != other)


@pytest.mark.parametrize("seed", range(8))
def test_patient_never_in_two_splits(seed):
    labels, groups = patient_cohort(seed)

    split = stratified_split(labels, PROPORTIONS, seed=seed, groups=groups)

    for patient in np.unique(groups):
        assert len(set(split[groups == patient])) == 1, patient


@pytest.mark.parametrize("seed", range(8))
def test_patient_split_keeps_proportions(seed):
    labels, groups = patient_cohort(seed)

    split = stratified_split(labels, PROPORTIONS, seed=seed, groups=groups)

    for k in (0, 1):
        members = labels == k
        for name, fraction in zip(SPLITS, PROPORTIONS):
            share = np.sum(members & (split == name)) / members.sum()
            assert share == pytest.approx(fraction, abs=0.03), (k, name)


def test_patient_split_puts_every_class_everywhere():
    labels = np.asarray([0] * 30 + [1] * 3)
    groups = np.asarray([f"h{i // 3}" for i in range(30)] + ["a", "b", "c"])

    split = stratified_split(labels, PROPORTIONS, seed=0, groups=groups)

    assert sorted(split[labels == 1].tolist()) == ["test", "train", "val"]


def test_class_with_two_images_raises():
    labels = np.asarray([0] * 20 + [1] * 2)

    with pytest.raises(SplitError, match=r"class 'nodule' has 2 image\(s\).*--split-proportions"):
        stratified_split(labels, PROPORTIONS, seed=0, class_names=["healthy", "nodule"])


def test_class_with_two_patients_raises():
    labels = np.asarray([0] * 20 + [1] * 6)
    groups = np.asarray([f"h{i}" for i in range(20)] + ["a"] * 3 + ["b"] * 3)

    with pytest.raises(SplitError, match=r"class 'abnormal' has images of 2 patient\(s\).*merging"):
        stratified_split(labels, PROPORTIONS, seed=0, groups=groups, class_names=["healthy", "abnormal"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5,0.5", "three values"),
        ("0.7,0.2,0.2", "sum to 1"),
        ("0.8,0.2,0", "positive"),
        ("a,b,c", "three numbers"),
    ],
)
def test_parse_proportions_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_proportions(text)


def test_parse_proportions_normalises():
    assert sum(parse_proportions("0.6667,0.1667,0.1666")) == pytest.approx(1.0)
    assert parse_proportions([0.6, 0.2, 0.2]) == pytest.approx((0.6, 0.2, 0.2))


def test_draw_labeled_matches_dataset_redraw():
    labels = np.repeat([0, 1], [120, 80])
    split = stratified_split(labels, PROPORTIONS, seed=5)
    dataset = RadiographDataset(
        images=np.zeros((200, 2, 2), dtype=np.uint8),
        labels=labels,
        class_names=("healthy", "abnormal"),
        masks=np.zeros((200, 2, 2), dtype=np.uint8),
        split=split,
        labeled=np.zeros(200, dtype=bool),
    )

    labeled = draw_labeled(labels, split, 0.1, seed=9)

    np.testing.assert_array_equal(labeled, dataset.with_labeled_fraction(0.1, seed=9).labeled)
    assert not np.any(labeled & (split != "train"))
    for k in (0, 1):
        train = np.sum((split == "train") & (labels == k))
        assert np.sum(labeled & (labels == k)) == max(1, round(0.1 * train))


def test_draw_labeled_rejects_fraction():
    with pytest.raises(ValueError, match="--labeled-fraction"):
        draw_labeled(np.zeros(3, dtype=int), np.asarray(["train"] * 3), 0.0)


def test_small_split_warns(caplog):
    labels = np.repeat([0, 1], [240, 30])
    split = stratified_split(labels, PROPORTIONS, seed=0)

    with caplog.at_level(logging.WARNING, logger="pavae.data.splits"):
        messages = warn_small_splits(labels, split, ["healthy", "abnormal"])

    assert len(messages) == 5  # abnormal in all three splits, healthy in val and test
    assert "too small for a stable AUC estimate" in caplog.text
    assert "class 'abnormal'" in messages[0]
