"""Label scarcity enforced in code: the only way training code sees the data set.

:class:`ScarceTrainingSet` copies the training split out of a
:class:`~pavae.data.dataset.RadiographDataset` and keeps the label and mask of
a training image only when its ``labeled`` flag is set. Unlabelled labels are
never copied, so no training code path can read them, by accident or
otherwise; asking for one raises :class:`LabelAccessError`.

:class:`EvaluationSplit` holds a fully labelled validation or test split.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pavae.data.dataset import RadiographDataset
from pavae.data.preprocess import PreprocessConfig, preprocess


class LabelAccessError(PermissionError):
    """Raised when code requests the label or mask of an unlabelled training image."""


class ScarceTrainingSet:
    """Training images with labels and masks readable only where ``labeled`` is True.

    Attributes:
        images: (N, H, W) float32 preprocessed training images in [0, 1].
        raw_images: (N, H, W) uint8 training images before preprocessing.
        labeled: (N,) bool flags.
        class_names: class names, index 0 negative.
        has_masks: whether any labelled image carries a non-empty lesion mask.
    """

    def __init__(self, dataset: RadiographDataset, preprocessing: PreprocessConfig | None = None) -> None:
        rows = dataset.indices("train")
        self.raw_images = dataset.images[rows]
        self.images = preprocess(self.raw_images, preprocessing)
        self.labeled = dataset.labeled[rows].copy()
        self.class_names = dataset.class_names

        # Copy labels and masks of labelled images only; the rest never enter this object.
        self._labels = np.full(len(rows), -1, dtype=np.int64)
        self._labels[self.labeled] = dataset.labels[rows][self.labeled]
        self._masks = np.zeros_like(dataset.masks[rows])
        self._masks[self.labeled] = dataset.masks[rows][self.labeled]
        self.has_masks = bool(self._masks.any())

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def labeled_indices(self) -> np.ndarray:
        return np.flatnonzero(self.labeled)

    @property
    def unlabeled_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.labeled)

    def _check(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        hidden = indices[~self.labeled[indices]]
        if hidden.size:
            raise LabelAccessError(
                f"{hidden.size} of the requested training images are unlabelled (first indices "
                f"{hidden[:5].tolist()}); their labels and masks are not available to training code"
            )
        return indices

    def labels(self, indices: np.ndarray) -> np.ndarray:
        """Return the labels of labelled training images; raise LabelAccessError for any other."""
        return self._labels[self._check(indices)]

    def masks(self, indices: np.ndarray) -> np.ndarray:
        """Return the (n, H, W) uint8 masks of labelled training images; raise for any other."""
        return self._masks[self._check(indices)]

    def labeled_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (images, labels, masks) of the labelled subset."""
        index = self.labeled_indices
        return self.images[index], self.labels(index), self.masks(index)

    def labeled_class_counts(self) -> np.ndarray:
        """Return the number of labelled images per class."""
        return np.bincount(self._labels[self.labeled], minlength=self.num_classes)


@dataclasses.dataclass
class EvaluationSplit:
    """A fully labelled validation or test split, preprocessed.

    Attributes:
        name: ``"val"`` or ``"test"``.
        images: (N, H, W) float32 in [0, 1].
        raw_images: (N, H, W) uint8.
        labels: (N,) int64.
        masks: (N, H, W) uint8.
    """

    name: str
    images: np.ndarray
    raw_images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

    @classmethod
    def from_dataset(
        cls, dataset: RadiographDataset, split: str, preprocessing: PreprocessConfig | None = None
    ) -> "EvaluationSplit":
        if split == "train":
            raise ValueError("training images go through ScarceTrainingSet, which hides unlabelled labels")
        rows = dataset.indices(split)
        raw = dataset.images[rows]
        return cls(split, preprocess(raw, preprocessing), raw, dataset.labels[rows], dataset.masks[rows])

    def __len__(self) -> int:
        return len(self.labels)
