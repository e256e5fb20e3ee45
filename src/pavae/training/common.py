"""Shared pieces of the training loops: device, seeding, schedules, batching, progress."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
from typing import Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto``, ``cpu`` or ``cuda`` to a torch device; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was requested but torch finds no CUDA device; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch, and return a CPU torch generator seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cosine_lr(step: int, total_steps: int, lr: float, lr_min: float) -> float:
    """Return the learning rate of a cosine decay from ``lr`` to ``lr_min`` over ``total_steps``."""
    if total_steps <= 1:
        return lr
    progress = min(step / (total_steps - 1), 1.0)
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate to ``lr`` times the group's ``lr_scale`` (1 if absent)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def batches(count: int, batch_size: int, rng: np.random.Generator, shuffle: bool = True) -> Iterator[np.ndarray]:
    """Yield index arrays covering ``range(count)`` once, shuffled by ``rng``."""
    order = rng.permutation(count) if shuffle else np.arange(count)
    for start in range(0, count, batch_size):
        yield order[start:start + batch_size]


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """Turn (N, H, W) float images into a (N, 1, H, W) float32 tensor on ``device``."""
    return torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None].to(device)


@torch.no_grad()
def predict_in_batches(function, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Apply ``function`` to ``images`` in batches without gradients and concatenate the results."""
    outputs = [function(images[start:start + batch_size]) for start in range(0, len(images), batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0)


def progress(total: int, description: str):
    """Return a tqdm bar on stderr that hides itself when stderr is not a terminal."""
    disable = None if os.environ.get("PAVAE_PROGRESS", "auto") == "auto" else os.environ["PAVAE_PROGRESS"] == "0"
    return tqdm(total=total, desc=description, leave=False, disable=disable, dynamic_ncols=True)


@torch.no_grad()
def recompute_batch_norm(model: torch.nn.Module, images: torch.Tensor, seed: int, batch_size: int = 64,
                         max_images: int = 1024) -> None:
    """Replace the batch-norm running statistics by exact averages over training images.

    While the weights still change quickly, the exponential running averages
    lag behind them, and eval-mode outputs can drift far from train-mode ones
    (a few percent in the last layer's variance flipped a downstream
    classifier's predictions here). A pass in train mode over up to
    ``max_images`` images, with cumulative averaging, makes them exact for
    the current weights. Dropout is active during the pass, but it does not
    touch batch-norm statistics that come before it.
    """
    layers = [module for module in model.modules() if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers or len(images) < 2:
        return
    was_training = model.training
    saved_momentum = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches of this pass
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=generator)[:max_images].to(images.device)
    model.train()
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        if len(index) >= 2:
            model(images[index])
    for layer, momentum in zip(layers, saved_momentum):
        layer.momentum = momentum
    model.train(was_training)


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Put ``module`` in eval mode for the block and restore its previous mode."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
