"""Train/validation/test splits and the labelled training subset, stratified by class.

Without patient ids every image is assigned on its own: each class is
shuffled with the seed and cut by the proportions (largest remainder, at
least one image per split).

With patient ids (``groups``) whole patients are assigned, so no patient has
images in two splits. Each split has a target image count per class
(proportion x class size). Patients are visited from the largest to the
smallest (ties in random order drawn with the seed). Each one goes to the
split where its images are most needed: the split that maximises
``sum_k n_k * (target_k - filled_k) / target_k`` over classes ``k``, where
``n_k`` is the patient's image count of class ``k``. A patient is thus
stratified by all of their labels at once. A patient with only negative
images fills the negative quota. A patient with a positive image also fills
the positive quota, so for two classes this amounts to stratifying by the
most severe label. A split without images of a class has the largest
deficit for it, so the first patients of a class spread over the three
splits. A class that still misses a split raises :class:`SplitError`.
Proportions per class match the requested ones approximately, and more
closely the more patients there are.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from pavae.data.dataset import SPLITS

log = logging.getLogger(__name__)

DEFAULT_PROPORTIONS = (0.6667, 0.1667, 0.1666)
MIN_IMAGES_PER_CLASS = len(SPLITS)
STABLE_AUC_MIN_PER_CLASS = 50
PROPORTION_SUM_TOLERANCE = 1e-3


class SplitError(ValueError):
    """Raised when the images cannot be split as requested; the message names the class and count."""


def parse_proportions(text: str | Sequence[float]) -> tuple[float, float, float]:
    """Parse ``"0.6667,0.1667,0.1666"`` (or a sequence) into train/val/test fractions summing to 1.

    Args:
        text: three comma-separated numbers, or three numbers.

    Returns:
        The three fractions, divided by their sum.

    Raises:
        ValueError: not three positive numbers, or their sum differs from 1
            by more than ``PROPORTION_SUM_TOLERANCE``.
    """
    if isinstance(text, str):
        parts = [part.strip() for part in text.split(",") if part.strip()]
        try:
            values = [float(part) for part in parts]
        except ValueError as error:
            raise ValueError(f"--split-proportions must be three numbers such as 0.6667,0.1667,0.1666, got {text!r}") from error
    else:
        values = [float(value) for value in text]
    if len(values) != len(SPLITS):
        raise ValueError(f"--split-proportions needs three values (train, val, test), got {len(values)}: {values}")
    if any(not np.isfinite(value) or value <= 0 for value in values):
        raise ValueError(f"--split-proportions values must be positive, got {values}")
    total = sum(values)
    if abs(total - 1.0) > PROPORTION_SUM_TOLERANCE:
        raise ValueError(f"--split-proportions must sum to 1 (within {PROPORTION_SUM_TOLERANCE}), got {values} summing to {total:g}")
    return tuple(value / total for value in values)  # type: ignore[return-value]


def stratified_split(
    labels: np.ndarray,
    proportions: Sequence[float] = DEFAULT_PROPORTIONS,
    seed: int = 0,
    groups: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """Assign each image to ``"train"``, ``"val"`` or ``"test"``, stratified by class.

    Args:
        labels: (N,) class indices; class 0 is the negative class.
        proportions: train, val and test fractions (see :func:`parse_proportions`).
        seed: seed of the random assignment.
        groups: optional (N,) patient ids. When given, all images of a
            patient land in the same split.
        class_names: names used in error messages; defaults to the indices.

    Returns:
        (N,) array of split names.

    Raises:
        SplitError: a class has fewer than three images, or (with groups)
            fewer than three patients, so it cannot appear in every split.
    """
    labels = np.asarray(labels, dtype=np.int64)
    fractions = np.asarray(parse_proportions(proportions), dtype=np.float64)
    names = _names(labels, class_names)
    _check_class_sizes(labels, groups, names)
    rng = np.random.default_rng(seed)
    if groups is None:
        split_index = _split_images(labels, fractions, rng)
    else:
        split_index = _split_groups(labels, np.asarray(groups).astype(str), fractions, rng)
    split = np.asarray(SPLITS)[split_index]
    _check_every_split_has_every_class(labels, split, names)
    return split


def _names(labels: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    count = int(labels.max()) + 1 if len(labels) else 0
    if class_names is None:
        return [str(k) for k in range(count)]
    return [str(name) for name in class_names]


def _check_class_sizes(labels: np.ndarray, groups: np.ndarray | None, names: list[str]) -> None:
    advice = "lower the number of splits a class must fill by merging it with another class, or change --split-proportions"
    for k in np.unique(labels):
        members = labels == k
        images = int(members.sum())
        if images < MIN_IMAGES_PER_CLASS:
            raise SplitError(
                f"class {names[k]!r} has {images} image(s), fewer than the {MIN_IMAGES_PER_CLASS} needed to place one "
                f"in each of train, val and test; add images, or {advice}"
            )
        if groups is not None:
            patients = len(set(np.asarray(groups)[members].tolist()))
            if patients < MIN_IMAGES_PER_CLASS:
                raise SplitError(
                    f"class {names[k]!r} has images of {patients} patient(s), fewer than the {MIN_IMAGES_PER_CLASS} "
                    f"needed for patient-level train, val and test splits; add patients, or {advice}"
                )


def _class_targets(count: int, fractions: np.ndarray) -> np.ndarray:
    """Split ``count`` items by largest remainder, giving each split at least one."""
    exact = fractions * count
    targets = np.floor(exact).astype(np.int64)
    for index in np.argsort(-(exact - targets), kind="stable")[: count - int(targets.sum())]:
        targets[index] += 1
    for index in np.flatnonzero(targets == 0):
        donor = int(np.argmax(targets))
        targets[donor] -= 1
        targets[index] += 1
    return targets


def _split_images(labels: np.ndarray, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    split_index = np.zeros(len(labels), dtype=np.int64)
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        targets = _class_targets(len(members), fractions)
        split_index[members] = np.repeat(np.arange(len(SPLITS)), targets)
    return split_index


def _split_groups(labels: np.ndarray, groups: np.ndarray, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    num_classes = int(labels.max()) + 1
    patients, inverse = np.unique(groups, return_inverse=True)
    # counts[p, k]: images of class k that patient p has.
    counts = np.zeros((len(patients), num_classes))
    np.add.at(counts, (inverse, labels), 1)
    sizes = counts.sum(axis=1)
    targets = fractions[:, None] * counts.sum(axis=0)[None, :]
    safe_targets = np.where(targets > 0, targets, 1.0)
    filled = np.zeros_like(targets)

    tiebreak = rng.permutation(len(patients))
    # Largest patients first so that the small ones can even out the counts; the permutation breaks ties.
    order = np.lexsort((tiebreak, -sizes))
    assignment = np.zeros(len(patients), dtype=np.int64)
    for patient in order:
        deficit = (targets - filled) / safe_targets
        choice = int(np.argmax(deficit @ counts[patient]))
        assignment[patient] = choice
        filled[choice] += counts[patient]
    return assignment[inverse]


def _check_every_split_has_every_class(labels: np.ndarray, split: np.ndarray, names: list[str]) -> None:
    for k in np.unique(labels):
        for name in SPLITS:
            if not np.any((labels == k) & (split == name)):
                total = int(np.sum(labels == k))
                raise SplitError(
                    f"class {names[k]!r} ({total} images) has no image in the {name} split after the patient-level "
                    "assignment, because its images belong to patients counted under other classes; "
                    "merge the class with another one or change --split-proportions"
                )


def draw_labeled(labels: np.ndarray, split: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Draw the labelled training subset, stratified by class.

    Each class keeps ``round(fraction * n)`` of its ``n`` training images
    (at least one while it has any). The draw is the same as
    :meth:`pavae.data.dataset.RadiographDataset.with_labeled_fraction` with
    the same seed, so either reproduces the other.

    Args:
        labels: (N,) class indices.
        split: (N,) split names.
        fraction: labelled fraction of the training images, in (0, 1].
        seed: seed of the draw.

    Returns:
        (N,) bool, True only inside the training split.

    Raises:
        ValueError: ``fraction`` is outside (0, 1].
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"--labeled-fraction must lie in (0, 1], got {fraction}")
    labels = np.asarray(labels, dtype=np.int64)
    train = np.asarray(split) == "train"
    rng = np.random.default_rng(seed)
    labeled = np.zeros(len(labels), dtype=bool)
    for k in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(train & (labels == k))
        if len(members) == 0:
            continue
        count = max(1, int(round(fraction * len(members))))
        labeled[rng.choice(members, size=count, replace=False)] = True
    return labeled


def warn_small_splits(labels: np.ndarray, split: np.ndarray, class_names: Sequence[str]) -> list[str]:
    """Log a warning for each split and class with fewer than ``STABLE_AUC_MIN_PER_CLASS`` images.

    Args:
        labels: (N,) class indices.
        split: (N,) split names.
        class_names: name of each class index.

    Returns:
        The warning messages, also stored in the import metadata.
    """
    messages = []
    for name in SPLITS:
        for k, class_name in enumerate(class_names):
            count = int(np.sum((np.asarray(split) == name) & (labels == k)))
            if count < STABLE_AUC_MIN_PER_CLASS:
                message = (
                    f"the {name} split has {count} image(s) of class {class_name!r}, fewer than "
                    f"{STABLE_AUC_MIN_PER_CLASS}: too small for a stable AUC estimate"
                )
                log.warning(message)
                messages.append(message)
    return messages
