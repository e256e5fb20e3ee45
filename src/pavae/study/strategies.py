"""Data strategies compared in the study, and the PA-VAE ablations.

A strategy decides which extra images the downstream classifier sees beside
the labelled real images:

- ``none``: nothing (real-only);
- ``augment``: augmented copies of the labelled images (traditional);
- ``vae``: class-conditional samples of a conditional VAE trained with the
  strategy's loss settings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pavae.config import LossConfig


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One data strategy.

    Attributes:
        name: identifier used in metrics.json and file names.
        label: name shown in tables and figures.
        kind: ``none``, ``augment`` or ``vae``.
        loss_overrides: changes to the configured ``LossConfig`` (vae only).
        beta_factor: multiplies the configured beta (ablation "beta - 20%").
        prior: ``class_conditional`` or ``standard`` (vae only).
    """

    name: str
    label: str
    kind: str
    loss_overrides: tuple[tuple[str, Any], ...] = ()
    beta_factor: float = 1.0
    prior: str = "class_conditional"

    @property
    def adds_images(self) -> bool:
        return self.kind != "none"

    def loss_config(self, base: LossConfig) -> LossConfig:
        """Return the loss settings of this strategy derived from the configured ones."""
        changes = dict(self.loss_overrides)
        changes["beta"] = base.beta * self.beta_factor
        changes["class_prior"] = self.prior == "class_conditional" and base.class_prior
        return dataclasses.replace(base, **changes)


_NO_AUX = (("lambda_path", 0.0), ("lambda_mask", 0.0), ("lambda_cls", 0.0))

STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy("real_only", "Real-only", "none"),
        Strategy("traditional", "Traditional", "augment"),
        Strategy("standard_vae", "Standard VAE", "vae", loss_overrides=_NO_AUX, prior="standard"),
        Strategy("pa_vae", "PA-VAE", "vae"),
        # Ablations of PA-VAE, each removing one component.
        Strategy("pa_vae_no_path", "PA-VAE w/o L_path", "vae", loss_overrides=(("lambda_path", 0.0),)),
        Strategy("pa_vae_no_class_prior", "PA-VAE w/o class prior", "vae", prior="standard"),
        Strategy("pa_vae_beta_minus_20", "PA-VAE beta -20%", "vae", beta_factor=0.8),
        Strategy("pa_vae_no_mask", "PA-VAE w/o L_mask", "vae", loss_overrides=(("lambda_mask", 0.0),)),
    )
}

MAIN_STRATEGIES = ("real_only", "traditional", "standard_vae", "pa_vae")
ABLATIONS = ("pa_vae_no_path", "pa_vae_no_class_prior", "pa_vae_beta_minus_20", "pa_vae_no_mask")


def get_strategy(name: str) -> Strategy:
    """Return the strategy called ``name``; the error lists the known names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(STRATEGIES)}") from None
