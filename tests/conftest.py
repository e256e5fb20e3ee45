"""Shared fixtures: small procedural data sets and the path of the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pavae.data.dataset import RadiographDataset

# The real-data folder beside the repository; PAVAE_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("PAVAE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_dataset() -> RadiographDataset:
    """About 360 procedural images: 240 train (24 labelled), 60 validation, 60 test."""
    from pavae.data.phantom import make_procedural_dataset

    return make_procedural_dataset(seed=3, scale=0.03)


@pytest.fixture(scope="session")
def tiny_dataset_file(tmp_path_factory, tiny_dataset) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    tiny_dataset.save(path)
    return path


def scrambled_unlabelled(dataset: RadiographDataset, seed: int = 99) -> RadiographDataset:
    """Return a copy whose unlabelled training images carry shuffled labels and masks."""
    rng = np.random.default_rng(seed)
    hidden = np.flatnonzero((dataset.split == "train") & ~dataset.labeled)
    labels = dataset.labels.copy()
    masks = dataset.masks.copy()
    labels[hidden] = rng.integers(0, dataset.num_classes, size=len(hidden))
    masks[hidden] = masks[rng.permutation(hidden)]
    return RadiographDataset(dataset.images, labels, dataset.class_names, masks, dataset.split, dataset.labeled,
                             dict(dataset.metadata))
