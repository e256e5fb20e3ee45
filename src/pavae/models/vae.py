"""Conditional VAE with an optional learned class-conditional Gaussian prior.

One class serves both generators of the study:

- PA-VAE: ``prior="class_conditional"``, a learned Gaussian p(z | y) per class;
- standard conditional VAE: ``prior="standard"``, p(z) = N(0, I).

The encoder q(z | x, y) is a diagonal Gaussian whose input is the image with
the class one-hot broadcast as extra channels; the decoder p(x | z, y) maps
``[z, one_hot(y)]`` to per-pixel logits. Images are (B, 1, H, W) in [0, 1]
with H = W a power of two between 16 and 256.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian")
PRIORS = ("class_conditional", "standard")


@dataclasses.dataclass
class VAEConfig:
    """Constructor arguments of :class:`ConditionalVAE`, saved beside every checkpoint."""

    num_classes: int  # number of classes C (class 0 negative)
    image_size: int = 64  # side of the square input, a power of two in [16, 256]
    latent_dim: int = 32  # size of z
    base_channels: int = 32  # channels of the first encoder block, doubled per block up to 8x
    prior: str = "class_conditional"  # class_conditional | standard (N(0, I))
    likelihood: str = "bernoulli"  # bernoulli | continuous_bernoulli | gaussian
    logvar_min: float = -12.0  # clamp of the encoder log-variance
    logvar_max: float = 8.0
    gaussian_sigma: float = 0.1  # pixel standard deviation of the gaussian likelihood


class VAEOutput(NamedTuple):
    """Output of :meth:`ConditionalVAE.forward`.

    Attributes:
        logits: (B, 1, H, W) decoder logits.
        mu: (B, D) posterior means.
        logvar: (B, D) clamped posterior log-variances.
        z: (B, D) reparameterised samples.
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor


def _num_blocks(image_size: int) -> int:
    blocks = int(round(math.log2(image_size))) - 2
    if image_size < 16 or image_size > 256 or 2 ** (blocks + 2) != image_size:
        raise ValueError(
            f"image_size must be a power of two between 16 and 256, got {image_size}; "
            "import or make the data set with --size 64"
        )
    return blocks


class ConditionalVAE(nn.Module):
    """Conditional VAE: ``encode``, ``sampling``, ``decode``, ``reconstruct`` and ``sample``."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        if config.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {config.prior!r}")
        if config.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {config.likelihood!r}")
        if config.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {config.num_classes}")
        if config.logvar_min >= config.logvar_max:
            raise ValueError(f"logvar_min ({config.logvar_min}) must be below logvar_max ({config.logvar_max})")
        self.config = config
        blocks = _num_blocks(config.image_size)
        channels = [min(config.base_channels * 2**i, config.base_channels * 8) for i in range(blocks)]

        # Encoder: stride-2 convolutions from H down to 4 x 4.
        layers: list[nn.Module] = []
        in_channels = 1 + config.num_classes
        for out_channels in channels:
            layers += [nn.Conv2d(in_channels, out_channels, 4, 2, 1), nn.GroupNorm(8, out_channels), nn.SiLU()]
            in_channels = out_channels
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        flat = channels[-1] * 16
        self.to_stats = nn.Linear(flat, 2 * config.latent_dim)

        # Decoder: mirror image, with the class one-hot concatenated to z.
        self.from_latent = nn.Sequential(nn.Linear(config.latent_dim + config.num_classes, flat), nn.SiLU())
        self._top_channels = channels[-1]
        up: list[nn.Module] = []
        reversed_channels = channels[::-1]
        for index, in_ch in enumerate(reversed_channels[:-1]):
            out_ch = reversed_channels[index + 1]
            up += [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1), nn.GroupNorm(8, out_ch), nn.SiLU()]
        # The last up-sampling writes the logits directly: a wide layer at full resolution would
        # cost more than the rest of the decoder together.
        up += [nn.ConvTranspose2d(reversed_channels[-1], 1, 4, 2, 1)]
        self.decoder = nn.Sequential(*up)

        # Prior parameters: one Gaussian per class, learned only for the class-conditional prior.
        shape = (config.num_classes, config.latent_dim)
        if config.prior == "class_conditional":
            self.prior_mu = nn.Parameter(torch.zeros(shape))
            self.prior_logvar = nn.Parameter(torch.zeros(shape))
        else:
            self.register_buffer("prior_mu", torch.zeros(shape))
            self.register_buffer("prior_logvar", torch.zeros(shape))

    # ------------------------------------------------------------- helpers
    def _check_labels(self, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.long()
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.config.num_classes):
            raise ValueError(f"labels must lie in [0, {self.config.num_classes - 1}], got {labels.unique().tolist()}")
        return labels

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(self._check_labels(labels), self.config.num_classes).float()

    def _check_images(self, x: torch.Tensor) -> None:
        size = self.config.image_size
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != size or x.shape[3] != size:
            raise ValueError(f"expected images of shape (B, 1, {size}, {size}), got {tuple(x.shape)}")

    # -------------------------------------------------------------- encode
    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the posterior (mu, logvar), each (B, D), of images (B, 1, H, W) given labels (B,)."""
        self._check_images(x)
        maps = self.one_hot(labels)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        stats = self.to_stats(self.encoder(torch.cat([x, maps], dim=1)))
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar.clamp(self.config.logvar_min, self.config.logvar_max)

    @staticmethod
    def sampling(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw z = mu + sigma * eps with the reparameterisation trick."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    # -------------------------------------------------------------- decode
    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return decoder logits (B, 1, H, W) for latents (B, D) and labels (B,)."""
        hidden = self.from_latent(torch.cat([z, self.one_hot(labels)], dim=1))
        hidden = hidden.view(len(z), self._top_channels, 4, 4)
        return self.decoder(hidden)

    def mean_image(self, logits: torch.Tensor) -> torch.Tensor:
        """Return the likelihood's mean image in [0, 1] for decoder logits."""
        if self.config.likelihood == "continuous_bernoulli":
            return continuous_bernoulli_mean(logits)
        return torch.sigmoid(logits)

    def forward(self, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.encode(x, labels)
        z = self.sampling(mu, logvar, generator)
        return VAEOutput(self.decode(z, labels), mu, logvar, z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Encode to the posterior mean and decode; return (B, 1, H, W) images in [0, 1]."""
        mu, _ = self.encode(x, labels)
        return self.mean_image(self.decode(mu, labels))

    # --------------------------------------------------------------- prior
    def prior(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the prior (mu, logvar) of p(z | y) for labels (B,); N(0, I) for the standard prior."""
        labels = self._check_labels(labels)
        return self.prior_mu[labels], self.prior_logvar[labels].clamp(self.config.logvar_min, self.config.logvar_max)

    def sample_latents(self, labels: torch.Tensor, generator: torch.Generator | None = None,
                       temperature: float = 1.0) -> torch.Tensor:
        """Draw z ~ p(z | y) for labels (B,), differentiable in the prior parameters."""
        mu, logvar = self.prior(labels.to(self.prior_mu.device))
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + temperature * torch.exp(0.5 * logvar) * eps

    @torch.no_grad()
    def sample(self, labels: torch.Tensor | list[int], generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """Generate one image per label: z ~ p(z | y), then the decoder mean.

        Args:
            labels: (B,) class indices.
            generator: torch random generator on the model's device, for reproducible samples.
            temperature: scale of the prior standard deviation.

        Returns:
            (B, 1, H, W) images in [0, 1].
        """
        device = self.prior_mu.device
        labels = torch.as_tensor(labels, dtype=torch.long, device=device)
        z = self.sample_latents(labels, generator, temperature)
        return self.mean_image(self.decode(z, labels))


def continuous_bernoulli_mean(logits: torch.Tensor) -> torch.Tensor:
    """Return the mean of a continuous Bernoulli with parameter sigmoid(logits).

    The mean is lam / (2 lam - 1) + 1 / (2 atanh(1 - 2 lam)), which tends to
    1/2 at lam = 1/2; a Taylor expansion is used near that point.
    """
    lam = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    near_half = (lam - 0.5).abs() < 1e-3
    safe = torch.where(near_half, torch.full_like(lam, 0.4), lam)
    mean = safe / (2 * safe - 1) + 1 / (2 * torch.atanh(1 - 2 * safe))
    taylor = 0.5 + (lam - 0.5) / 3.0
    return torch.where(near_half, taylor, mean)
