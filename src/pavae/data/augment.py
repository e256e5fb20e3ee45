"""Classic augmentation of labelled radiographs: the "traditional" strategy.

Each augmented copy applies a small random affine transform (rotation, shift,
zoom), a gamma and contrast change, and Gaussian noise to a preprocessed
image in [0, 1]. A horizontal flip moves an opacity to the other lung, so it
is off by default; when enabled, it swaps ``left_X`` and ``right_X`` labels
and is refused for class sets without such pairs. Masks, where given, go
through the same geometric transform as their image.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes (each drawn uniformly in [-value, value])."""

    rotation: float = 7.0  # degrees
    shift: float = 0.06  # fraction of the image side
    scale: float = 0.08  # relative zoom
    intensity: float = 0.10  # log-gamma and relative contrast change
    noise: float = 0.02  # standard deviation of added Gaussian noise
    hflip: bool = False  # mirror half of the copies and swap left/right labels


def flip_label_map(class_names: tuple[str, ...]) -> np.ndarray:
    """Return, per class index, the class index after a horizontal flip.

    ``left_X`` and ``right_X`` swap; every other class maps to itself.

    Raises:
        ValueError: a ``left_``/``right_`` class has no partner.
    """
    mapping = np.arange(len(class_names))
    index = {name: k for k, name in enumerate(class_names)}
    for k, name in enumerate(class_names):
        for side, other in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(side):
                partner = other + name[len(side):]
                if partner not in index:
                    raise ValueError(
                        f"class {name!r} has no partner {partner!r}, so a horizontal flip cannot keep labels "
                        "correct; set downstream.aug_hflip=false"
                    )
                mapping[k] = index[partner]
    return mapping


def augment(
    images: np.ndarray,
    labels: np.ndarray,
    config: AugmentConfig,
    class_names: tuple[str, ...],
    seed: int,
    masks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return augmented copies of ``images`` with their (possibly swapped) labels and masks.

    Args:
        images: (N, H, W) float images in [0, 1].
        labels: (N,) class indices.
        config: augmentation ranges.
        class_names: class names, used for the label swap of a flip.
        seed: seeds every random draw.
        masks: optional (N, H, W) binary masks, transformed with their images.

    Returns:
        (images (N, H, W) float32 in [0, 1], labels (N,), masks (N, H, W) uint8 or None).
    """
    generator = torch.Generator().manual_seed(seed)
    n = len(images)
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * limit

    angle = uniform(math.radians(config.rotation))
    zoom = 1.0 + uniform(config.scale)
    shift_x, shift_y = uniform(2 * config.shift), uniform(2 * config.shift)
    flip = (torch.rand(n, generator=generator) < 0.5) if config.hflip else torch.zeros(n, dtype=torch.bool)
    mirror = torch.where(flip, -1.0, 1.0)

    # Affine sampling grid in normalised coordinates: rotate and zoom about the centre, then shift.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos * mirror, -sin, shift_x], dim=1),
        torch.stack([sin * mirror, cos, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Border padding repeats the edge instead of inserting black corners.
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    gamma = torch.exp(uniform(config.intensity))[:, None, None, None]
    contrast = (1.0 + uniform(config.intensity))[:, None, None, None]
    mean = warped.mean(dim=(2, 3), keepdim=True)
    changed = (warped.clamp(0, 1) ** gamma - mean) * contrast + mean
    noisy = changed + config.noise * torch.randn(changed.shape, generator=generator)
    out_images = noisy.clamp(0.0, 1.0)[:, 0].numpy().astype(np.float32)

    out_labels = np.asarray(labels).copy()
    if config.hflip:
        mapping = flip_label_map(class_names)
        flipped = flip.numpy()
        out_labels[flipped] = mapping[out_labels[flipped]]

    out_masks = None
    if masks is not None:
        m = torch.as_tensor(np.asarray(masks, dtype=np.float32))[:, None]
        warped_masks = F.grid_sample(m, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        out_masks = warped_masks[:, 0].numpy().astype(np.uint8)
    return out_images, out_labels, out_masks
