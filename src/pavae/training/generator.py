"""Train a conditional VAE (PA-VAE or the standard VAE) with early stopping on validation FID-like.

Data access is the same for every generator: the labelled training images
with their labels and masks, and, with ``loss.unlabeled = "marginalize"``,
the unlabelled training images with the ELBO marginalised over the frozen
classifier's class posterior. With ``"ignore"`` only labelled images are used.

The validation FID-like of each epoch compares frozen-classifier embeddings
of real validation images with those of class-balanced samples. It uses the
label-scarce frozen classifier, never the evaluation extractor, so model
selection sees nothing that the evaluation measures with.
"""

from __future__ import annotations

import copy
import logging
import math
import time

import numpy as np
import torch

from pavae.config import LossConfig, TrainConfig
from pavae.data.scarcity import EvaluationSplit, ScarceTrainingSet
from pavae.losses.objective import GeneratorBatch, PAVAEObjective
from pavae.metrics import feature_statistics, frechet_distance
from pavae.models.vae import ConditionalVAE
from pavae.training.common import cosine_lr, predict_in_batches, progress, set_lr, to_tensor
from pavae.training.frozen import FrozenNetworks

log = logging.getLogger(__name__)

TERMS = ("total", "nll", "kl", "path", "mask", "cls_reconstruction", "cls_prior")


def balanced_labels(count: int, class_prior: np.ndarray) -> np.ndarray:
    """Return ``count`` labels whose class counts follow ``class_prior`` as closely as integers allow.

    Counts are floor(count * p) plus one for the classes with the largest
    remainders, and the labels are returned sorted by class.
    """
    prior = np.asarray(class_prior, dtype=np.float64)
    prior = prior / prior.sum()
    exact = count * prior
    counts = np.floor(exact).astype(int)
    remainder = count - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return np.repeat(np.arange(len(prior)), counts)


@torch.no_grad()
def generate(model: ConditionalVAE, labels: np.ndarray, seed: int, batch_size: int = 256) -> np.ndarray:
    """Sample one image per label with a seeded generator; return (N, H, W) float32 in [0, 1]."""
    device = model.prior_mu.device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    chunks = [
        model.sample(torch.as_tensor(labels[start:start + batch_size], device=device), generator=generator)
        for start in range(0, len(labels), batch_size)
    ]
    model.train(was_training)
    return torch.cat(chunks)[:, 0].cpu().numpy().astype(np.float32)


class ValidationFID:
    """FID-like between validation images and as many class-balanced samples, in frozen-classifier features.

    The samples follow the same class rule as the evaluation FID-like
    (balanced classes), so early stopping tracks the quantity that is reported.
    """

    def __init__(self, frozen: FrozenNetworks, val: EvaluationSplit, count: int, device: torch.device, seed: int) -> None:
        rng = np.random.default_rng(seed)
        count = min(count, len(val))
        index = np.sort(rng.choice(len(val), size=count, replace=False))
        self.frozen = frozen
        self.device = device
        num_classes = int(frozen.classifier.config.num_classes)
        self.labels = balanced_labels(count, np.ones(num_classes))
        real = predict_in_batches(frozen.classifier.embed, to_tensor(val.images[index], device))
        self.real_stats = feature_statistics(real.double().cpu().numpy())
        self.seed = seed

    def __call__(self, model: ConditionalVAE) -> float:
        samples = generate(model, self.labels, self.seed)
        features = predict_in_batches(self.frozen.classifier.embed, to_tensor(samples, self.device))
        fake_stats = feature_statistics(features.double().cpu().numpy())
        return float(frechet_distance(*self.real_stats, *fake_stats))


def parameter_groups(model: ConditionalVAE, prior_lr_scale: float) -> list[dict]:
    """Split the model's parameters into the network and the learned prior p(z|y).

    The prior's Gaussians move only through their own gradients, at most about
    one learning rate per Adam step, while the encoder moves its whole
    aggregate posterior through shared weights. At the paper's learning rate
    the prior then lags behind the posterior, and prior samples fall where the
    decoder was never trained on reconstructions. The prior group therefore
    gets ``prior_lr_scale`` times the learning rate (:func:`set_lr` applies it
    on top of the cosine schedule).
    """
    prior = [p for name, p in model.named_parameters() if name.startswith("prior_")]
    network = [p for name, p in model.named_parameters() if not name.startswith("prior_")]
    groups = [{"params": network, "lr_scale": 1.0}]
    if prior:
        groups.append({"params": prior, "lr_scale": prior_lr_scale})
    return groups


def _batch_tensors(train_set: ScarceTrainingSet, frozen: FrozenNetworks | None, device: torch.device):
    """Move the training set to ``device`` and compute the frozen posterior of every image."""
    images = to_tensor(train_set.images, device)
    labels = np.full(len(train_set), -1, dtype=np.int64)
    labels[train_set.labeled_indices] = train_set.labels(train_set.labeled_indices)
    masks_np = np.zeros(train_set.images.shape, dtype=np.float32)
    masks_np[train_set.labeled_indices] = train_set.masks(train_set.labeled_indices)
    if frozen is not None:
        logits = predict_in_batches(frozen.classifier, images)
        posterior = torch.softmax(logits, dim=1)
    else:
        posterior = torch.full((len(images), train_set.num_classes), 1.0 / train_set.num_classes, device=device)
    return images, torch.as_tensor(labels, device=device), to_tensor(masks_np, device), posterior


def train_generator(
    model: ConditionalVAE,
    train_set: ScarceTrainingSet,
    val: EvaluationSplit,
    frozen: FrozenNetworks | None,
    loss_config: LossConfig,
    train_config: TrainConfig,
    device: torch.device,
    seed: int,
    description: str = "generator",
) -> dict:
    """Train ``model`` and keep the epoch with the lowest validation FID-like.

    Args:
        model: conditional VAE on ``device``.
        train_set: training images under label scarcity.
        val: validation split (FID-like for early stopping).
        frozen: frozen networks; the classifier also supplies the posterior of
            unlabelled images. Required unless every lambda is 0 and
            ``loss_config.unlabeled`` is ``"ignore"``.
        loss_config, train_config: objective and schedule.
        device: where to train.
        seed: seeds batch order, reparameterisation noise and validation samples.

    Returns:
        History dict with per-epoch means of every loss term (``TERMS``),
        ``val_fid``, ``epoch_seconds``, ``best_epoch`` and ``stopped_early``.
    """
    if frozen is None and loss_config.unlabeled == "marginalize":
        raise ValueError("marginalising unlabelled images needs the frozen classifier's posterior")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    noise = torch.Generator(device=device).manual_seed(seed + 1)
    objective = PAVAEObjective(model, frozen, loss_config)
    images, labels, masks, posterior = _batch_tensors(train_set, frozen, device)
    use_masks = masks if (train_set.has_masks and frozen is not None and frozen.segmenter is not None) else None
    pool = np.arange(len(images)) if loss_config.unlabeled == "marginalize" else train_set.labeled_indices
    if len(pool) == 0:
        raise ValueError(f"{description}: no training images to learn from")

    steps_per_epoch = math.ceil(len(pool) / train_config.batch_size)
    if train_config.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, train_config.max_steps_per_epoch)
    total_steps = train_config.epochs * steps_per_epoch
    optimizer = torch.optim.Adam(
        parameter_groups(model, train_config.prior_lr_scale), lr=train_config.lr,
        betas=(train_config.adam_beta1, train_config.adam_beta2),
    )
    validation = ValidationFID(frozen, val, train_config.val_fid_samples, device, seed) if frozen is not None else None

    history: dict = {term: [] for term in TERMS}
    history.update(val_fid=[], epoch_seconds=[], stopped_early=False)
    best_fid, best_state, best_epoch, stale, step = math.inf, None, -1, 0, 0
    bar = progress(total_steps, description)
    for epoch in range(train_config.epochs):
        started = time.perf_counter()
        model.train()
        sums = dict.fromkeys(TERMS, 0.0)
        order = rng.permutation(pool)
        for batch_number in range(steps_per_epoch):
            index_np = order[batch_number * train_config.batch_size:(batch_number + 1) * train_config.batch_size]
            if len(index_np) == 0:
                break
            index = torch.as_tensor(index_np, device=device)
            batch = GeneratorBatch(
                images[index], labels[index], use_masks[index] if use_masks is not None else None, posterior[index]
            )
            set_lr(optimizer, cosine_lr(step, total_steps, train_config.lr, train_config.lr_min))
            terms = objective(batch, noise)
            if not torch.isfinite(terms.total):
                raise FloatingPointError(
                    f"{description}: the loss became {float(terms.total)} at epoch {epoch + 1}, step {batch_number + 1}; "
                    "lower train.lr or the loss weights"
                )
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            step += 1
            bar.update(1)
            sums["total"] += terms.total.item()
            for term in TERMS[1:]:
                sums[term] += getattr(terms, term)
        for term in TERMS:
            history[term].append(sums[term] / steps_per_epoch)

        # Early stopping on the validation FID-like of this epoch's weights.
        fid = validation(model) if validation is not None else -float(history["total"][-1])
        history["val_fid"].append(fid)
        history["epoch_seconds"].append(time.perf_counter() - started)
        log.info("%s epoch %d/%d: loss %.1f (nll %.1f, kl %.2f), validation FID-like %.3f",
                 description, epoch + 1, train_config.epochs, history["total"][-1], history["nll"][-1],
                 history["kl"][-1], fid)
        if fid < best_fid:
            best_fid, best_state, best_epoch, stale = fid, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= train_config.patience:
                history["stopped_early"] = True
                log.info("%s: stopping early after %d epochs without improvement", description, stale)
                break
    bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history["best_epoch"] = best_epoch
    history["best_val_fid"] = best_fid
    return history
