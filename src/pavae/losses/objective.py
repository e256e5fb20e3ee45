"""The PA-VAE objective over a batch of labelled and unlabelled images.

Labelled images enter with their label. Unlabelled images enter once per
class y, each copy weighted by the frozen classifier's posterior q(y | x), so
their ELBO is marginalised over the class:
``L_u(x) = sum_y q(y | x) * [NLL(x | y) + beta * KL(x, y) + lambda_path * L_path + s * lambda_cls * L_cls]``.
The posterior is fixed (frozen network), so its entropy is a constant and is
left out. The standard VAE uses the same objective with the standard prior
and every lambda at 0.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch

from pavae.config import LossConfig
from pavae.losses.vae import (
    bernoulli_nll,
    class_consistency_loss,
    continuous_bernoulli_nll,
    feature_path_loss,
    gaussian_kl,
    gaussian_nll,
    soft_iou_loss,
)
from pavae.models.vae import ConditionalVAE
from pavae.training.frozen import FrozenNetworks


class LossTerms(NamedTuple):
    """Loss of one batch: ``total`` for backward, the rest detached floats for logging.

    Every term is the weighted mean per real image of the batch, before its
    lambda is applied.
    """

    total: torch.Tensor
    nll: float
    kl: float
    path: float
    mask: float
    cls_reconstruction: float
    cls_prior: float


@dataclasses.dataclass
class GeneratorBatch:
    """One batch for :class:`PAVAEObjective`.

    Attributes:
        images: (B, 1, H, W) preprocessed images in [0, 1].
        labels: (B,) class indices, -1 for unlabelled images.
        masks: (B, 1, H, W) lesion masks (zeros for unlabelled images), or None.
        posterior: (B, C) frozen-classifier class probabilities.
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None
    posterior: torch.Tensor


class PAVAEObjective:
    """Compute Eq. (1) of PA-VAE for a :class:`GeneratorBatch`.

    Args:
        model: the conditional VAE being trained.
        frozen: frozen classifier (and segmenter, needed when lambda_mask > 0 and masks exist).
        config: weights and modes (``LossConfig``).
        likelihood_sigma: pixel sigma of the gaussian likelihood.
    """

    def __init__(self, model: ConditionalVAE, frozen: FrozenNetworks | None, config: LossConfig) -> None:
        self.model = model
        self.frozen = frozen
        self.config = config
        size = model.config.image_size
        self.aux_scale = float(size * size) if config.aux_scale == "pixels" else 1.0
        needs_classifier = config.lambda_path > 0 or config.lambda_cls > 0
        if needs_classifier and frozen is None:
            raise ValueError("lambda_path or lambda_cls is positive but no frozen classifier was given")

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        likelihood = self.model.config.likelihood
        if likelihood == "bernoulli":
            return bernoulli_nll(logits, x)
        if likelihood == "continuous_bernoulli":
            return continuous_bernoulli_nll(logits, x)
        return gaussian_nll(torch.sigmoid(logits), x, self.model.config.gaussian_sigma)

    def __call__(self, batch: GeneratorBatch, generator: torch.Generator | None = None) -> LossTerms:
        config, model = self.config, self.model
        num_classes = model.config.num_classes
        labelled = batch.labels >= 0
        x_l, y_l = batch.images[labelled], batch.labels[labelled]
        x_u, q_u = batch.images[~labelled], batch.posterior[~labelled]
        n_images = len(batch.images)

        # Expand: labelled images once with weight 1, unlabelled images once per class with weight q(y|x).
        xs, ys, ws = [x_l], [y_l], [torch.ones(len(x_l), device=x_l.device)]
        if len(x_u):
            for k in range(num_classes):
                xs.append(x_u)
                ys.append(torch.full((len(x_u),), k, dtype=torch.long, device=x_u.device))
                ws.append(q_u[:, k])
        x, y, w = torch.cat(xs), torch.cat(ys), torch.cat(ws)

        out = model(x, y, generator)
        prior_mu, prior_logvar = model.prior(y)
        nll = self.nll(out.logits, x)
        kl = gaussian_kl(out.mu, out.logvar, prior_mu, prior_logvar)
        per_sample = nll + config.beta * kl
        zero = torch.zeros((), device=x.device)
        path = cls_rec = mask = cls_prior = zero

        reconstruction = model.mean_image(out.logits) if (config.lambda_path or config.lambda_cls or config.lambda_mask) else None
        if config.lambda_path > 0:
            with torch.no_grad():
                target_features = self.frozen.classifier.features(x)
            path_per = feature_path_loss(target_features, self.frozen.classifier.features(reconstruction))
            per_sample = per_sample + config.lambda_path * path_per
            path = (w * path_per.detach()).sum() / n_images
        if config.lambda_cls > 0:
            cls_per = class_consistency_loss(self.frozen.classifier(reconstruction), y)
            per_sample = per_sample + self.aux_scale * config.lambda_cls * cls_per
            cls_rec = (w * cls_per.detach()).sum() / n_images

        total = (w * per_sample).sum() / n_images

        # L_mask on labelled images, where the data set has masks and a segmenter exists.
        if config.lambda_mask > 0 and batch.masks is not None and self.frozen is not None and self.frozen.segmenter is not None and len(x_l):
            seg = torch.sigmoid(self.frozen.segmenter(reconstruction[: len(x_l)]))
            mask_per = soft_iou_loss(seg, batch.masks[labelled])
            total = total + self.aux_scale * config.lambda_mask * mask_per.sum() / n_images
            mask = mask_per.detach().mean()

        # L_cls on prior samples: decode z ~ p(z|y) for class-balanced y and ask the classifier.
        if config.lambda_cls > 0 and config.prior_samples > 0:
            y_prior = torch.arange(config.prior_samples, device=x.device) % num_classes
            # The KL term alone fits the prior. This cross-entropy would otherwise pull p(z|y)
            # toward latents whose decodings the classifier likes, away from the posterior.
            with torch.no_grad():
                z_prior = model.sample_latents(y_prior, generator)
            samples = model.mean_image(model.decode(z_prior, y_prior))
            cls_prior_mean = class_consistency_loss(self.frozen.classifier(samples), y_prior).mean()
            total = total + self.aux_scale * config.lambda_cls * cls_prior_mean
            cls_prior = cls_prior_mean.detach()

        def mean_of(values: torch.Tensor) -> float:
            return (w * values).sum().item() / n_images

        return LossTerms(
            total=total,
            nll=mean_of(nll.detach()),
            kl=mean_of(kl.detach()),
            path=path.item(),
            mask=mask.item(),
            cls_reconstruction=cls_rec.item(),
            cls_prior=cls_prior.item(),
        )
