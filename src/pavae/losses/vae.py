"""Terms of the PA-VAE objective, each returned per sample.

Reductions (each function returns a (B,) tensor; the trainer averages over
the batch):

- reconstruction NLL: summed over pixels, in nats per image;
- KL(q(z | x, y) || p(z | y)): summed over latent dimensions, in nats;
- L_path: squared L2 distance between frozen-extractor feature maps of the
  input and of the reconstruction, summed over feature elements;
- L_mask: 1 - soft IoU between the lesion mask and the frozen segmenter's
  lesion probability on the reconstruction, in [0, 1] per image;
- L_cls: cross-entropy of the frozen classifier, in nats per image.

With these sums the total
``NLL + beta * KL + lambda_path * L_path + s * (lambda_mask * L_mask + lambda_cls * L_cls)``
keeps beta's usual meaning. ``s`` is 1 with ``loss.aux_scale = "none"``
(default), so L_mask and L_cls are small beside the pixel-summed NLL.
``"pixels"`` sets ``s`` to H * W. The pixel scale makes the prior-sample
cross-entropy dominate: the decoder then turns prior samples into textures
that the frozen classifier scores confidently, not radiographs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOGVAR_CLAMP = (-30.0, 20.0)


def gaussian_kl(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior_mu: torch.Tensor | None = None,
    prior_logvar: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return KL(N(mu, exp(logvar)) || N(prior_mu, exp(prior_logvar))) summed over the last axis.

    Both log-variances are clamped to [-30, 20] first, so extreme encoder
    outputs (logvar = 100) give a large but finite value instead of inf.
    The prior defaults to N(0, I).

    Args:
        mu, logvar: (B, D) posterior parameters.
        prior_mu, prior_logvar: (B, D) prior parameters, or None for N(0, I).

    Returns:
        (B,) KL in nats.

    Example:
        >>> gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]]))
        tensor([1.3069])
    """
    logvar = logvar.clamp(*LOGVAR_CLAMP)
    if prior_mu is None:
        prior_mu = torch.zeros_like(mu)
    if prior_logvar is None:
        prior_logvar = torch.zeros_like(logvar)
    prior_logvar = prior_logvar.clamp(*LOGVAR_CLAMP)
    variance_ratio = torch.exp(logvar - prior_logvar)
    mean_term = (mu - prior_mu) ** 2 * torch.exp(-prior_logvar)
    return 0.5 * (variance_ratio + mean_term - 1.0 - (logvar - prior_logvar)).sum(dim=-1)


def _check_unit_range(x: torch.Tensor) -> None:
    low, high = float(x.min()), float(x.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(
            f"the likelihood needs target images in [0, 1], got values in [{low:.3g}, {high:.3g}]; "
            "pass the preprocessed image after the final rescale, not a z-scored one"
        )


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Return the Bernoulli negative log-likelihood of images x in [0, 1], summed per image.

    Args:
        logits: (B, 1, H, W) decoder logits.
        x: (B, 1, H, W) targets in [0, 1] (the rescaled image, never a z-scored one).

    Returns:
        (B,) NLL in nats.

    Raises:
        ValueError: x has values outside [0, 1].
    """
    _check_unit_range(x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def continuous_bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Return the continuous Bernoulli NLL (Loaiza-Ganem and Cunningham, 2019), summed per image."""
    nll = bernoulli_nll(logits, x)
    lam = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    # log C(lam) = log(2 atanh(1 - 2 lam) / (1 - 2 lam)), which tends to log 2 at lam = 1/2.
    near_half = (lam - 0.5).abs() < 1e-3
    safe = torch.where(near_half, torch.full_like(lam, 0.4), lam)
    log_norm = torch.log(2 * torch.atanh(1 - 2 * safe) / (1 - 2 * safe))
    taylor = math.log(2.0) + (4.0 / 3.0) * (lam - 0.5) ** 2
    log_norm = torch.where(near_half, taylor, log_norm)
    return nll - log_norm.flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Return the Gaussian NLL with fixed pixel sigma, summed per image."""
    _check_unit_range(x)
    per_pixel = 0.5 * ((x - mean) / sigma) ** 2 + math.log(sigma) + 0.5 * math.log(2 * math.pi)
    return per_pixel.flatten(1).sum(dim=1)


def feature_path_loss(features_input: torch.Tensor, features_reconstruction: torch.Tensor) -> torch.Tensor:
    """Return the squared L2 distance between two feature maps, summed per sample: (B,)."""
    return (features_input - features_reconstruction).pow(2).flatten(1).sum(dim=1)


def soft_iou_loss(probabilities: torch.Tensor, masks: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Return 1 - soft IoU per image between lesion probabilities and binary masks.

    Soft IoU = (sum p m + smooth) / (sum p + sum m - sum p m + smooth). The
    smoothing term makes an empty mask with an empty prediction a perfect
    match (loss 0), so healthy images penalise predicted lesions.

    Args:
        probabilities: (B, 1, H, W) in [0, 1].
        masks: (B, 1, H, W) binary.

    Returns:
        (B,) values in [0, 1].
    """
    p = probabilities.flatten(1)
    m = masks.flatten(1).to(p.dtype)
    intersection = (p * m).sum(dim=1)
    union = p.sum(dim=1) + m.sum(dim=1) - intersection
    return 1.0 - (intersection + smooth) / (union + smooth)


def class_consistency_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return the cross-entropy of classifier logits (B, C) against labels (B,), per sample."""
    return F.cross_entropy(logits, labels.long(), reduction="none")
