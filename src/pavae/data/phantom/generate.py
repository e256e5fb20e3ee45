"""Batch generation of procedural radiographs and the Table-1 data set."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import math
import os
import time

import numpy as np

import pavae
from pavae.data.dataset import RadiographDataset, to_uint8
from pavae.data.phantom.acquisition import acquire, draw_acquisition
from pavae.data.phantom.anatomy import draw_anatomy, render_anatomy
from pavae.data.phantom.config import CLASS_NAMES, DEFAULT_DIFFICULTY, ORIENTATION, PhantomConfig
from pavae.data.phantom.lesions import draw_opacities, render_opacities

log = logging.getLogger(__name__)

# Images generated together. Each chunk draws from its own streams, seeded by
# (seed, chunk index), so the output depends on the chunk size (keep it fixed) but
# not on the number of threads.
CHUNK_SIZE = 256
MAX_WORKERS = 8  # threads generating chunks at once (fewer where the machine has fewer cores)

# Images per class (healthy, left_opacity, right_opacity) and split at scale 1.
TABLE1_COUNTS = {
    "train": (4000, 2000, 2000),
    "val": (1000, 500, 500),
    "test": (1000, 500, 500),
}

# Each chunk spawns one independent generator per kind of draw, in this order.
_ANATOMY, _OPACITY, _ACQUISITION, _SHOT, _TEXTURE = range(5)
_STREAMS = 5
# Takes the place of the chunk index in the seed of the split shuffle and labelled
# draw; no data set has this many chunks.
_SPLIT_STREAM = 1_000_003


def generate_phantoms(
    labels: np.ndarray, seed: int, config: PhantomConfig, return_fields: bool = False
) -> tuple[np.ndarray, ...]:
    """Generate one radiograph and lesion mask per class index.

    Images with the same seed and position share anatomy and acquisition whatever
    their labels, so ``labels`` of zeros gives the lesion-free twins of an abnormal
    batch. A twin differs only by the opacities and by the exact Poisson draws of
    pixels with fewer than 50 expected counts, whose sequence a lesion can shift.

    Args:
        labels: (N,) integer class indices into ``CLASS_NAMES``.
        seed: non-negative integer; the same seed, labels and config give identical arrays.
        config: generator settings.
        return_fields: also return the lung-field masks.

    Returns:
        ``(images, masks)``, or ``(images, masks, fields)`` with ``return_fields``:
        images (N, H, W) uint8, dense structures bright; masks (N, H, W) uint8 in
        {0, 1}, empty for healthy images and non-empty for every other one; fields
        (N, 2, H, W) uint8 lung fields, index ``PATIENT_RIGHT_LUNG`` (image left)
        then ``PATIENT_LEFT_LUNG`` (image right).
    """
    labels = _check_labels(labels)
    _check_seed(seed)
    n, size = len(labels), config.image_size
    images = np.empty((n, size, size), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=np.uint8)
    fields = np.empty((n, 2, size, size), dtype=np.uint8) if return_fields else None

    def run_chunk(chunk: int) -> None:
        start, stop = chunk * CHUNK_SIZE, min((chunk + 1) * CHUNK_SIZE, n)
        children = np.random.SeedSequence([int(seed), chunk]).spawn(_STREAMS)
        streams = [np.random.default_rng(child) for child in children]
        chunk_images, chunk_masks, chunk_fields = _generate_chunk(labels[start:stop], streams, config)
        images[start:stop] = chunk_images
        masks[start:stop] = chunk_masks
        if fields is not None:
            fields[start:stop] = chunk_fields

    chunks = range(-(-n // CHUNK_SIZE))
    workers = min(len(chunks), _available_cores(), MAX_WORKERS)
    if workers <= 1:
        for chunk in chunks:
            run_chunk(chunk)
    else:
        # numpy releases the GIL inside its array operations, so threads overlap.
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(run_chunk, chunks):
                pass
    if fields is not None:
        return images, masks, fields
    return images, masks


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _generate_chunk(
    labels: np.ndarray, streams: list[np.random.Generator], config: PhantomConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, size = len(labels), config.image_size
    anatomy_params = draw_anatomy(streams[_ANATOMY], n)
    opacity_params = draw_opacities(streams[_OPACITY], n, config)
    acquisition_params = draw_acquisition(streams[_ACQUISITION], n, size)

    anatomy = render_anatomy(anatomy_params, size, streams[_TEXTURE])
    added, masks = render_opacities(opacity_params, labels, anatomy, config)
    attenuation = anatomy.attenuation + added
    grey = acquire(attenuation, acquisition_params, config.drift, streams[_SHOT])
    return to_uint8(grey), masks, anatomy.fields.astype(np.uint8)


def _check_labels(labels: np.ndarray) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= len(CLASS_NAMES)):
        bad = sorted(set(array[(array < 0) | (array >= len(CLASS_NAMES))].tolist()))[:5]
        raise ValueError(f"labels must lie in [0, {len(CLASS_NAMES) - 1}] ({', '.join(CLASS_NAMES)}), got {bad}")
    return array.astype(np.int64, copy=False)


def _check_seed(seed: int) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def table1_counts(scale: float = 1.0, labeled_fraction: float = 0.1) -> dict[str, tuple[int, ...]]:
    """Compute the images per class in each split, and the labelled training images.

    Each Table-1 count is multiplied by ``scale`` and rounded, with at least 1.
    Each class then gets ``round(labeled_fraction * train_count)`` labelled images,
    at least 1, which is the rule of :meth:`RadiographDataset.with_labeled_fraction`.

    Args:
        scale: image count relative to the 12,000-image set (> 0).
        labeled_fraction: fraction of training images per class whose label may be read, in (0, 1].

    Returns:
        ``{"train": (...), "val": (...), "test": (...), "train_labeled": (...)}``, one
        count per class in ``CLASS_NAMES`` order.
    """
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0 (1 = the 12,000-image set), got {scale!r}")
    if not (isinstance(labeled_fraction, (int, float)) and 0.0 < labeled_fraction <= 1.0):
        raise ValueError(f"labeled_fraction must lie in (0, 1], got {labeled_fraction!r}")
    counts: dict[str, tuple[int, ...]] = {
        split: tuple(max(1, int(round(scale * count))) for count in per_class) for split, per_class in TABLE1_COUNTS.items()
    }
    counts["train_labeled"] = tuple(max(1, int(round(labeled_fraction * count))) for count in counts["train"])
    return counts


def make_procedural_dataset(
    seed: int = 0,
    scale: float = 1.0,
    difficulty: float | None = None,
    image_size: int = 64,
    drift: float = 0.0,
    labeled_fraction: float = 0.1,
) -> RadiographDataset:
    """Generate the Table-1 procedural data set with stratified splits and labelled subset.

    At scale 1: train 4000/2000/2000 (healthy/left/right), of which 400/200/200 are
    labelled; val 1000/500/500; test 1000/500/500. Every image is a different
    synthetic patient. Images are shuffled within each split.

    Args:
        seed: non-negative integer seed of images, split order and labelled subset.
        scale: image count relative to the 12,000-image set (see :func:`table1_counts`).
        difficulty: opacity difficulty in [0, 1]; None uses ``DEFAULT_DIFFICULTY``.
        image_size: image side in pixels.
        drift: acquisition drift step (>= 0).
        labeled_fraction: fraction of training images per class whose label may be read.

    Returns:
        A validated :class:`RadiographDataset` whose metadata records the generator settings.
    """
    _check_seed(seed)
    config = PhantomConfig(
        image_size=image_size,
        difficulty=DEFAULT_DIFFICULTY if difficulty is None else difficulty,
        drift=drift,
    )
    counts = table1_counts(scale, labeled_fraction)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_STREAM]))

    labels_parts, split_parts = [], []
    for split in ("train", "val", "test"):
        split_labels = np.repeat(np.arange(len(CLASS_NAMES)), counts[split])
        labels_parts.append(rng.permutation(split_labels))
        split_parts.append(np.full(len(split_labels), split))
    labels = np.concatenate(labels_parts)
    split = np.concatenate(split_parts)

    labeled = np.zeros(len(labels), dtype=bool)
    for k, count in enumerate(counts["train_labeled"]):
        members = np.flatnonzero((split == "train") & (labels == k))
        labeled[rng.choice(members, size=count, replace=False)] = True

    started = time.perf_counter()
    images, masks = generate_phantoms(labels, seed, config)
    log.info(
        "generated %d procedural radiographs of %dx%d (difficulty %.3g, drift %.3g) in %.1f s",
        len(labels), image_size, image_size, config.difficulty, config.drift, time.perf_counter() - started,
    )
    metadata = {
        "source": "procedural",
        "seed": int(seed),
        "scale": float(scale),
        "generator": {**dataclasses.asdict(config), "pavae_version": pavae.__version__},
        "orientation": ORIENTATION,
        "labeled_fraction": float(labeled_fraction),
    }
    return RadiographDataset(
        images=images,
        labels=labels,
        class_names=CLASS_NAMES,
        masks=masks,
        split=split,
        labeled=labeled,
        metadata=metadata,
    )
