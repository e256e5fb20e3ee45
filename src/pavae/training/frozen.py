"""Train the frozen networks of PA-VAE on the labelled subset only.

Both networks live under the same label scarcity as the method: they see the
labelled training images (through :class:`~pavae.data.scarcity.ScarceTrainingSet`)
and use the fully labelled validation split only to select their checkpoint.

- classifier: a :class:`ClassifierCNN`; its feature map gives L_path, its
  logits give L_cls and the class posterior that marginalises the ELBO of
  unlabelled images.
- segmenter: a :class:`LesionUNet` for L_mask, trained only when the labelled
  images carry lesion masks.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math

import numpy as np
import torch
import torch.nn.functional as F

from pavae.data.scarcity import EvaluationSplit, ScarceTrainingSet
from pavae.losses.vae import soft_iou_loss
from pavae.models.networks import ClassifierCNN, ClassifierConfig, Frozen, LesionUNet, UNetConfig
from pavae.training.classifier import FitSchedule, fit_classifier
from pavae.training.common import cosine_lr, predict_in_batches, progress, recompute_batch_norm, set_lr, to_tensor

log = logging.getLogger(__name__)

VAL_SEGMENTER_IMAGES = 500


@dataclasses.dataclass
class FrozenNetworks:
    """The frozen classifier and the optional lesion segmenter, both in eval mode with gradients off."""

    classifier: Frozen
    segmenter: Frozen | None

    def to(self, device: torch.device) -> "FrozenNetworks":
        self.classifier.to(device)
        if self.segmenter is not None:
            self.segmenter.to(device)
        return self


def train_frozen_classifier(
    train_set: ScarceTrainingSet,
    val: EvaluationSplit,
    epochs: int,
    lr: float,
    device: torch.device,
    seed: int,
    batch_size: int = 64,
    width: int = 32,
) -> tuple[ClassifierCNN, dict]:
    """Train the classifier on the labelled training images; select by validation cross-entropy."""
    images, labels, _ = train_set.labeled_arrays()
    torch.manual_seed(seed)
    model = ClassifierCNN(ClassifierConfig(num_classes=train_set.num_classes, width=width)).to(device)
    schedule = FitSchedule.over(len(images), epochs, batch_size, lr=lr, lr_min=lr * 1e-2)
    history = fit_classifier(
        model,
        to_tensor(images, device),
        torch.as_tensor(labels, device=device),
        to_tensor(val.images, device),
        torch.as_tensor(val.labels, device=device),
        schedule,
        seed=seed,
        select="nll",
        description="frozen classifier",
    )
    return model, history


def train_segmenter(
    train_set: ScarceTrainingSet,
    val: EvaluationSplit,
    epochs: int,
    lr: float,
    device: torch.device,
    seed: int,
    batch_size: int = 32,
) -> tuple[LesionUNet, dict]:
    """Train the lesion U-Net on labelled images with binary cross-entropy plus soft-IoU loss.

    Healthy labelled images take part with their empty masks, so the network
    learns not to find lesions there. The checkpoint with the best validation
    soft IoU is kept.
    """
    images, _, masks = train_set.labeled_arrays()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LesionUNet(UNetConfig()).to(device)
    x = to_tensor(images, device)
    m = to_tensor(masks.astype(np.float32), device)
    # A fixed subset of the validation split keeps per-epoch selection cheap.
    rows = np.sort(rng.choice(len(val), size=min(VAL_SEGMENTER_IMAGES, len(val)), replace=False))
    val_x = to_tensor(val.images[rows], device)
    val_m = to_tensor(val.masks[rows].astype(np.float32), device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = max(1, math.ceil(len(x) / batch_size))
    total = epochs * steps_per_epoch
    history: dict = {"train_loss": [], "val_soft_iou": []}
    best_iou, best_state, step = -math.inf, None, 0

    bar = progress(total, "lesion segmenter")
    for epoch in range(epochs):
        model.train()
        losses = []
        order = rng.permutation(len(x))
        for start in range(0, len(order), batch_size):
            index = torch.as_tensor(order[start:start + batch_size], device=device)
            if len(index) < 2:
                continue
            set_lr(optimizer, cosine_lr(step, total, lr, lr * 1e-2))
            logits = model(x[index])
            loss = F.binary_cross_entropy_with_logits(logits, m[index]) + soft_iou_loss(torch.sigmoid(logits), m[index]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            bar.update(1)
        recompute_batch_norm(model, x, seed=seed + epoch, batch_size=batch_size)
        model.eval()
        probabilities = torch.sigmoid(predict_in_batches(model, val_x))
        val_iou = float(1.0 - soft_iou_loss(probabilities, val_m).mean())
        history["train_loss"].append(float(np.mean(losses)) if losses else math.nan)
        history["val_soft_iou"].append(val_iou)
        if val_iou > best_iou:
            best_iou, best_state = val_iou, copy.deepcopy(model.state_dict())
    bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history["best_val_soft_iou"] = best_iou
    log.info("lesion segmenter: best validation soft IoU %.4f", best_iou)
    return model, history


def freeze(classifier: ClassifierCNN, segmenter: LesionUNet | None) -> FrozenNetworks:
    """Wrap trained networks so that they stay in eval mode and unchanged."""
    return FrozenNetworks(Frozen(classifier), Frozen(segmenter) if segmenter is not None else None)
