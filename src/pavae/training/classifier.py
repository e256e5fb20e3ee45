"""Supervised training of a :class:`~pavae.models.networks.ClassifierCNN` with checkpoint selection.

One loop serves the frozen classifier, the evaluation feature extractor and
the downstream classifier. The schedule is counted in optimiser steps, so two
runs with the same schedule take the same number of steps whatever the size
of their training pool.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from pavae.metrics import roc_auc
from pavae.training.common import cosine_lr, predict_in_batches, progress, recompute_batch_norm, set_lr

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FitSchedule:
    """Optimisation schedule of :func:`fit_classifier`."""

    epochs: int  # number of epochs
    steps_per_epoch: int  # optimiser steps per epoch
    batch_size: int = 64
    lr: float = 1e-3
    lr_min: float = 1e-5  # end of the cosine decay
    weight_decay: float = 1e-4

    @classmethod
    def over(cls, pool_size: int, epochs: int, batch_size: int, **kwargs) -> "FitSchedule":
        """Return a schedule whose epoch is one pass over ``pool_size`` images."""
        return cls(epochs=epochs, steps_per_epoch=max(1, math.ceil(pool_size / batch_size)), batch_size=batch_size, **kwargs)


def primary_scores(probabilities: np.ndarray) -> np.ndarray:
    """Return the pathology score 1 - p(class 0) for (N, C) class probabilities."""
    return 1.0 - probabilities[:, 0]


@torch.no_grad()
def predict_proba(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Return softmax class probabilities (N, C) as float64, with the model in eval mode."""
    was_training = model.training
    model.eval()
    logits = predict_in_batches(model, images, batch_size)
    model.train(was_training)
    return torch.softmax(logits.double(), dim=1).cpu().numpy()


def _validation_score(model: torch.nn.Module, val_x: torch.Tensor, val_y: torch.Tensor, select: str) -> float:
    probabilities = predict_proba(model, val_x)
    labels = val_y.cpu().numpy()
    if select == "auc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc = roc_auc((labels > 0).astype(int), primary_scores(probabilities))
        return -math.inf if math.isnan(auc) else auc
    # Negative cross-entropy, so that larger is better for every criterion.
    log_probs = np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0))
    return float(log_probs.mean())


def fit_classifier(
    model: torch.nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    schedule: FitSchedule,
    seed: int,
    select: str = "auc",
    description: str = "classifier",
) -> dict:
    """Train ``model`` with Adam and cosine decay, keeping the weights of the best validation epoch.

    Args:
        model: network on the target device, returning logits (B, C).
        train_x, train_y: (N, 1, H, W) images in [0, 1] and (N,) labels.
        val_x, val_y: validation images and labels for checkpoint selection.
        schedule: epochs and steps per epoch (see :class:`FitSchedule`).
        seed: seeds the batch order.
        select: ``"auc"`` (pathology versus class 0, the study's primary
            task) or ``"nll"`` (validation cross-entropy).
        description: name shown in logs and the progress bar.

    Returns:
        History dict: ``train_loss`` and ``val_score`` per epoch, ``best_epoch``
        and ``best_val_score``. The model keeps the best epoch's weights.
    """
    if select not in ("auc", "nll"):
        raise ValueError(f"select must be 'auc' or 'nll', got {select!r}")
    if len(train_x) == 0:
        raise ValueError(f"{description}: the training pool is empty")
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    total_steps = schedule.epochs * schedule.steps_per_epoch
    history: dict = {"train_loss": [], "val_score": [], "select": select}
    best_score, best_state, best_epoch = -math.inf, None, -1
    order, cursor, step = rng.permutation(len(train_x)), 0, 0

    bar = progress(total_steps, description)
    for epoch in range(schedule.epochs):
        model.train()
        losses = []
        for _ in range(schedule.steps_per_epoch):
            # Draw the next batch from a shuffled pass over the pool; reshuffle when it runs out.
            if cursor + schedule.batch_size > len(order) and cursor > 0:
                order, cursor = rng.permutation(len(train_x)), 0
            index = torch.as_tensor(order[cursor:cursor + schedule.batch_size], device=train_x.device)
            cursor += schedule.batch_size
            if len(index) < 2:
                continue
            set_lr(optimizer, cosine_lr(step, total_steps, schedule.lr, schedule.lr_min))
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            bar.update(1)
        recompute_batch_norm(model, train_x, seed=seed + epoch)
        score = _validation_score(model, val_x, val_y, select)
        history["train_loss"].append(float(np.mean(losses)) if losses else math.nan)
        history["val_score"].append(score)
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        log.debug("%s epoch %d: train loss %.4f, val %s %.4f", description, epoch + 1, history["train_loss"][-1], select, score)
    bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history["best_epoch"] = best_epoch
    history["best_val_score"] = best_score
    # The score is negated cross-entropy for "nll", so that larger is better; log the loss itself.
    shown = -best_score if select == "nll" else best_score
    log.info("%s: best validation %s %.4f at epoch %d of %d", description, select, shown, best_epoch + 1, schedule.epochs)
    return history
