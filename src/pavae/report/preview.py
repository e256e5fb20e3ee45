"""Preview grid of a data set: one row per class, lesion masks outlined."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pavae.data.dataset import SPLITS, RadiographDataset
from pavae.data.preprocess import preprocess
from pavae.utils.io import atomic_path

log = logging.getLogger(__name__)

MASK_COLOURS = ("#ff3b30", "#ffcc00", "#34c759", "#0a84ff", "#ff2d55", "#af52de")
CELL_INCHES = 1.15
DPI = 110


def draw_preview(
    dataset: RadiographDataset,
    out_path: str | os.PathLike,
    per_class: int = 8,
    split: str = "train",
    seed: int = 0,
    outline_masks: bool = True,
    preprocessed: bool = False,
) -> Path:
    """Draw a grid of images, one row per class, and write it as a PNG atomically.

    Images are picked at random (with ``seed``) among the split's images of each
    class. A class with fewer images shows all of them, and one with none shows
    an empty row. Lesion masks are outlined in one colour per class.

    Args:
        dataset: the data set to draw from.
        out_path: PNG file to write; its folder is created when missing.
        per_class: images per row (columns), >= 1.
        split: ``"train"``, ``"val"`` or ``"test"``.
        seed: seed of the random pick.
        outline_masks: draw mask outlines where masks are non-empty.
        preprocessed: show the model input (``pavae.data.preprocess.preprocess``)
            instead of the stored uint8 image.

    Returns:
        The written path.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    target = Path(out_path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"the preview is a PNG file, so --out must end in .png, got {target}")

    rng = np.random.default_rng(seed)
    in_split = dataset.split == split
    picks = []
    for k in range(dataset.num_classes):
        members = np.flatnonzero(in_split & (dataset.labels == k))
        if len(members) > per_class:
            members = rng.choice(members, size=per_class, replace=False)
        picks.append(np.sort(members))

    figure = _draw_grid(dataset, picks, per_class, split, outline_masks, preprocessed)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    log.info("wrote preview %s: %d classes x up to %d %s images", target, dataset.num_classes, per_class, split)
    return target


def _draw_grid(
    dataset: RadiographDataset,
    picks: list[np.ndarray],
    per_class: int,
    split: str,
    outline_masks: bool,
    preprocessed: bool,
) -> Figure:
    rows = len(picks)
    figure = Figure(figsize=(CELL_INCHES * per_class + 1.3, CELL_INCHES * rows + 0.9))
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, per_class, squeeze=False)
    # Fixed margins in inches: row labels on the left, title above, orientation below.
    width, height = figure.get_figwidth(), figure.get_figheight()
    figure.subplots_adjust(
        left=1.2 / width, right=0.99, top=1 - 0.45 / height, bottom=0.45 / height, wspace=0.04, hspace=0.08
    )
    view = "model input (preprocessed)" if preprocessed else "stored images"
    figure.suptitle(f"{dataset.metadata.get('source', 'data set')}: {split} split, {view}", fontsize=9)
    orientation = dataset.metadata.get("orientation")
    if orientation:
        figure.text(0.5, 0.01, orientation, ha="center", va="bottom", fontsize=6.5)

    for row, (name, chosen) in enumerate(zip(dataset.class_names, picks)):
        images = dataset.images[chosen]
        if preprocessed and len(chosen):
            images = preprocess(images)
        limits = (0.0, 1.0) if preprocessed else (0, 255)
        colour = MASK_COLOURS[row % len(MASK_COLOURS)]
        for col in range(per_class):
            axis = axes[row, col]
            axis.set_xticks([])
            axis.set_yticks([])
            if col == 0:
                axis.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if col >= len(chosen):
                for spine in axis.spines.values():
                    spine.set_visible(False)
                continue
            axis.imshow(images[col], cmap="gray", vmin=limits[0], vmax=limits[1], interpolation="nearest")
            mask = dataset.masks[chosen[col]]
            if outline_masks and mask.any():
                axis.contour(mask, levels=[0.5], colors=colour, linewidths=0.7)
    return figure
