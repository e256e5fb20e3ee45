"""Checkpoints as a weights file plus a JSON file of constructor arguments.

Weights are saved with ``torch.save`` of a plain state dict and loaded with
``weights_only=True``; the architecture is rebuilt from the JSON, so no
pickled class is ever loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from pavae.models.networks import ClassifierCNN, ClassifierConfig, LesionUNet, UNetConfig
from pavae.models.vae import ConditionalVAE, VAEConfig
from pavae.utils.io import atomic_path, atomic_write_json, read_json

ARCHITECTURES = {
    "ConditionalVAE": (ConditionalVAE, VAEConfig),
    "ClassifierCNN": (ClassifierCNN, ClassifierConfig),
    "LesionUNet": (LesionUNet, UNetConfig),
}


def save_model(model: torch.nn.Module, folder: Path, name: str, extra: dict[str, Any] | None = None) -> None:
    """Write ``folder/name.pt`` (state dict) and ``folder/name.json`` (architecture and ``extra``)."""
    module = getattr(model, "module", model)  # unwrap Frozen
    architecture = type(module).__name__
    if architecture not in ARCHITECTURES:
        raise ValueError(f"cannot save a {architecture}; known architectures are {sorted(ARCHITECTURES)}")
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{name}.pt") as tmp:
        torch.save({key: value.detach().cpu() for key, value in module.state_dict().items()}, tmp)
    atomic_write_json(folder / f"{name}.json", {
        "architecture": architecture,
        "config": dataclasses.asdict(module.config),
        **(extra or {}),
    })


def load_model(folder: Path, name: str, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_model`; return (model in eval mode, its JSON description)."""
    description_path = Path(folder) / f"{name}.json"
    weights_path = Path(folder) / f"{name}.pt"
    for path in (description_path, weights_path):
        if not path.exists():
            raise FileNotFoundError(f"checkpoint file {path} not found; train the model first ('pavae train')")
    description = read_json(description_path)
    model_class, config_class = ARCHITECTURES[description["architecture"]]
    model = model_class(config_class(**description["config"]))
    model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    return model.to(device).eval(), description
