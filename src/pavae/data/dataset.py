"""The data-set file: one ``.npz`` format for procedural and imported radiographs.

Arrays stored in the file (N images of H x W pixels):

==============  ===========  ==================================================
key             shape/dtype  meaning
==============  ===========  ==================================================
``images``      (N, H, W) u1  grayscale, displayed the usual way (dense = bright)
``labels``      (N,) int64    class index; class 0 is the negative ("healthy")
``class_names`` (C,) str      name of each class index
``masks``       (N, H, W) u1  binary lesion masks, all zero where none exists
``split``       (N,) str      ``"train"``, ``"val"`` or ``"test"``
``labeled``     (N,) bool     True where a training label may be read
``metadata``    () str        JSON: source, generator parameters or import
                              options, seed, orientation
``patient_ids`` (N,) str      optional: patient identifier per image
``image_ids``   (N,) str      optional: source file name per image
==============  ===========  ==================================================

``labeled`` is only ever True inside the training split; validation and test
images are fully labelled by design (threshold selection and reporting).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pavae.utils.io import atomic_savez

SPLITS = ("train", "val", "test")
REQUIRED_KEYS = ("images", "labels", "class_names", "masks", "split", "labeled", "metadata")
FORMAT_VERSION = 1
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 1024  # image sides that 'pavae data make' and 'pavae data import' accept
GENERATOR_SIZES = (16, 32, 64, 128, 256)  # sides the VAE generators support


def generator_size_warning(side: int) -> str | None:
    """Return a warning when the VAE generators cannot train on images of this side, else None."""
    if side in GENERATOR_SIZES:
        return None
    return (f"images of {side} x {side} pixels suit only the real_only and traditional strategies: the "
            f"generators need a side of {', '.join(map(str, GENERATOR_SIZES))} (64 is the study's default)")


class DatasetFormatError(ValueError):
    """Raised when a data-set file or array does not follow the format."""


@dataclasses.dataclass
class RadiographDataset:
    """Radiographs with labels, lesion masks, splits and the labelled flag.

    Attributes:
        images: (N, H, W) uint8 images, dense structures bright.
        labels: (N,) int64 class indices into ``class_names``.
        class_names: class names; index 0 is the negative class.
        masks: (N, H, W) uint8 binary lesion masks (all zero where none).
        split: (N,) strings in ``SPLITS``.
        labeled: (N,) bool, True only for training images whose label may be read.
        metadata: free-form description (source, parameters, seed).
        patient_ids: optional (N,) patient identifiers.
        image_ids: optional (N,) source identifiers (file names).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    masks: np.ndarray
    split: np.ndarray
    labeled: np.ndarray
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    patient_ids: np.ndarray | None = None
    image_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images)
        self.labels = np.asarray(self.labels).astype(np.int64, copy=False)
        self.class_names = tuple(str(name) for name in self.class_names)
        self.masks = np.asarray(self.masks)
        self.split = np.asarray(self.split).astype(str)
        self.labeled = np.asarray(self.labeled).astype(bool, copy=False)
        if self.patient_ids is not None:
            self.patient_ids = np.asarray(self.patient_ids).astype(str)
        if self.image_ids is not None:
            self.image_ids = np.asarray(self.image_ids).astype(str)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check shapes, dtypes and value ranges; raise :class:`DatasetFormatError` naming the problem."""
        images, n = self.images, len(self.images)
        if images.ndim != 3:
            raise DatasetFormatError(f"images must have shape (N, H, W), got {images.shape}")
        if images.dtype != np.uint8:
            raise DatasetFormatError(f"images must be uint8, got {images.dtype}; convert with pavae.data.dataset.to_uint8")
        if n == 0:
            raise DatasetFormatError("the data set contains no images")
        for name in ("labels", "split", "labeled"):
            array = getattr(self, name)
            if array.shape != (n,):
                raise DatasetFormatError(f"{name} must have shape ({n},), got {array.shape}")
        if self.masks.shape != images.shape:
            raise DatasetFormatError(f"masks must have the images' shape {images.shape}, got {self.masks.shape}")
        if self.masks.dtype != np.uint8:
            raise DatasetFormatError(f"masks must be uint8, got {self.masks.dtype}")
        if self.masks.size and int(self.masks.max()) > 1:
            raise DatasetFormatError("masks must be binary (0 or 1)")
        if len(self.class_names) < 2:
            raise DatasetFormatError(f"at least two classes are needed, got {list(self.class_names)}")
        if len(set(self.class_names)) != len(self.class_names):
            raise DatasetFormatError(f"class names must be unique, got {list(self.class_names)}")
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise DatasetFormatError(
                f"labels must lie in [0, {len(self.class_names) - 1}], got values {sorted(set(self.labels.tolist()))[:10]}"
            )
        unknown = sorted(set(self.split.tolist()) - set(SPLITS))
        if unknown:
            raise DatasetFormatError(f"split values must be one of {SPLITS}, got {unknown[:5]}")
        if np.any(self.labeled & (self.split != "train")):
            raise DatasetFormatError("labeled may only be True for images in the train split")
        for name in ("patient_ids", "image_ids"):
            array = getattr(self, name)
            if array is not None and array.shape != (n,):
                raise DatasetFormatError(f"{name} must have shape ({n},), got {array.shape}")

    # ------------------------------------------------------------- properties
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def has_masks(self) -> bool:
        """Whether any lesion mask is non-empty."""
        return bool(self.masks.any())

    def indices(self, split: str) -> np.ndarray:
        """Return the indices of the images in ``split``."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return np.flatnonzero(self.split == split)

    def counts(self) -> dict[str, Any]:
        """Count images per split and class, and the labelled training images per class."""
        result: dict[str, Any] = {}
        for split in SPLITS:
            rows = self.split == split
            result[split] = {name: int(np.sum(rows & (self.labels == k))) for k, name in enumerate(self.class_names)}
            result[split]["total"] = int(rows.sum())
        labelled = self.labeled
        result["train_labeled"] = {name: int(np.sum(labelled & (self.labels == k))) for k, name in enumerate(self.class_names)}
        result["train_labeled"]["total"] = int(labelled.sum())
        return result

    @property
    def labeled_fraction(self) -> float:
        n_train = int(np.sum(self.split == "train"))
        return float(self.labeled.sum() / n_train) if n_train else 0.0

    def fingerprint(self) -> str:
        """Return a SHA-256 over every array and the class names (metadata excluded)."""
        digest = hashlib.sha256()
        for array in (self.images, self.labels, self.masks, self.split.astype("U8"), self.labeled):
            contiguous = np.ascontiguousarray(array)
            digest.update(str(contiguous.dtype).encode())
            digest.update(str(contiguous.shape).encode())
            digest.update(contiguous.tobytes())
        digest.update("\x00".join(self.class_names).encode())
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        """Describe the data set for metrics.json: source, fingerprint, counts, labelled fraction."""
        return {
            "source": self.metadata.get("source", "unknown"),
            "fingerprint": self.fingerprint(),
            "class_names": list(self.class_names),
            "image_size": list(self.image_size),
            "num_images": int(len(self.images)),
            "counts": self.counts(),
            "labeled_fraction": self.labeled_fraction,
            "has_masks": self.has_masks,
        }

    # ------------------------------------------------------------- changes
    def with_labeled_fraction(self, fraction: float, seed: int) -> "RadiographDataset":
        """Return a copy whose labelled training subset is redrawn, stratified by class.

        Each class keeps ``round(fraction * n_class)`` labelled training
        images (at least one while the class has any), drawn with ``seed``.
        This builds the data set; it is not a training code path.
        """
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"data.labeled_fraction must lie in (0, 1], got {fraction}")
        rng = np.random.default_rng(seed)
        labeled = np.zeros(len(self.labels), dtype=bool)
        train = self.split == "train"
        for k in range(self.num_classes):
            members = np.flatnonzero(train & (self.labels == k))
            if len(members) == 0:
                continue
            count = max(1, int(round(fraction * len(members))))
            labeled[rng.choice(members, size=count, replace=False)] = True
        metadata = dict(self.metadata)
        metadata["labeled_fraction"] = fraction
        metadata["labeled_seed"] = seed
        return dataclasses.replace(self, labeled=labeled, metadata=metadata)

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | os.PathLike) -> Path:
        """Write the data set to ``path`` (``.npz``) atomically and return the path."""
        target = Path(path)
        metadata = dict(self.metadata)
        metadata.setdefault("format_version", FORMAT_VERSION)
        arrays: dict[str, Any] = {
            "images": self.images,
            "labels": self.labels,
            "class_names": np.asarray(self.class_names),
            "masks": self.masks,
            "split": self.split,
            "labeled": self.labeled,
            "metadata": np.asarray(json.dumps(metadata, sort_keys=True)),
        }
        if self.patient_ids is not None:
            arrays["patient_ids"] = self.patient_ids
        if self.image_ids is not None:
            arrays["image_ids"] = self.image_ids
        atomic_savez(target, **arrays)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RadiographDataset":
        """Read and validate a data-set file.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            DatasetFormatError: the file is not an ``.npz`` of this format.
        """
        source = Path(path)
        if not source.exists():
            raise FileNotFoundError(
                f"data-set file {source} not found; create one with 'pavae data make --out {source}' "
                "or 'pavae data import'"
            )
        try:
            with np.load(source, allow_pickle=False) as archive:
                missing = [key for key in REQUIRED_KEYS if key not in archive.files]
                if missing:
                    raise DatasetFormatError(
                        f"{source} lacks the arrays {missing}; it was not written by 'pavae data make' or 'pavae data import'"
                    )
                arrays = {key: archive[key] for key in archive.files}
        except (zipfile.BadZipFile, ValueError, OSError) as error:
            if isinstance(error, DatasetFormatError):
                raise
            # numpy reports a file that is neither .npz nor .npy as "pickled data", which would mislead here.
            detail = "" if "pickle" in str(error) else f" ({error})"
            raise DatasetFormatError(
                f"{source} is not a readable .npz data-set file{detail}; write one with 'pavae data make' "
                "or 'pavae data import'"
            ) from error
        try:
            metadata = json.loads(str(arrays["metadata"]))
        except json.JSONDecodeError as error:
            raise DatasetFormatError(f"{source}: the metadata array is not valid JSON ({error})") from error
        try:
            return cls(
                images=arrays["images"],
                labels=arrays["labels"],
                class_names=tuple(arrays["class_names"].tolist()),
                masks=arrays["masks"],
                split=arrays["split"],
                labeled=arrays["labeled"],
                metadata=metadata,
                patient_ids=arrays.get("patient_ids"),
                image_ids=arrays.get("image_ids"),
            )
        except DatasetFormatError as error:
            raise DatasetFormatError(f"{source}: {error}") from error


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Scale float images in [0, 1] to uint8 with rounding and clipping."""
    return np.clip(np.rint(np.asarray(images, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
