"""Single steps for one's own pipeline: train one generator, sample from a checkpoint."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch

from pavae.config import StudyConfig
from pavae.study.checkpoints import load_model
from pavae.study.stages import build_context, data_unit, frozen_unit, generator_unit
from pavae.study.strategies import get_strategy
from pavae.study.units import UnitStore
from pavae.training.common import resolve_device
from pavae.utils.io import atomic_path, atomic_savez, atomic_write_json, read_json

log = logging.getLogger(__name__)

TRAIN_RECORD = "train.json"


def train_single_generator(config: StudyConfig, strategy_name: str, data_path: Path, out_dir: Path, seed: int) -> Path:
    """Train the frozen networks and one generator on ``data_path``; return the generator's folder.

    The folder layout is that of a study run (``data``, ``frozen``,
    ``generators/<strategy>/seed_<seed>``), so a later ``pavae reproduce``
    with the same settings and ``--out`` reuses these units.
    """
    strategy = get_strategy(strategy_name)
    if strategy.kind != "vae":
        raise ValueError(f"'pavae train' trains generators; {strategy_name} has none")
    out_dir = Path(out_dir)
    device = resolve_device(config.device)
    store = UnitStore(out_dir)
    store.remove_partial_folder()
    atomic_write_json(out_dir / "config.json", config.to_dict())
    # Training one generator reads the validation split but never the test split.
    ctx = build_context(store, config, data_unit(store, config, Path(data_path)), device, used_splits=("val",))
    folder = generator_unit(ctx, strategy, seed, frozen_unit(ctx))
    atomic_write_json(out_dir / TRAIN_RECORD, {"strategy": strategy_name, "seed": seed,
                                               "generator": str(folder.relative_to(out_dir))})
    return folder


def find_generator(checkpoint: Path) -> Path:
    """Return the folder holding ``generator.pt`` for a checkpoint folder, a 'pavae train' folder or a run."""
    checkpoint = Path(checkpoint)
    if (checkpoint / "generator.json").exists():
        return checkpoint
    if (checkpoint / TRAIN_RECORD).exists():
        return checkpoint / read_json(checkpoint / TRAIN_RECORD)["generator"]
    found = sorted(path.parent for path in checkpoint.glob("generators/*/seed_*/generator.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise FileNotFoundError(f"no generator checkpoint under {checkpoint}; train one with 'pavae train'")
    choices = ", ".join(str(path) for path in found[:6])
    raise ValueError(f"{checkpoint} contains {len(found)} generators; pass one of them to --checkpoint: {choices}")


def write_samples(checkpoint: Path, class_name: str, count: int, out: Path, seed: int = 0,
                  temperature: float = 1.0, device: str = "auto") -> Path:
    """Sample ``count`` images of ``class_name`` and write an ``.npz`` (images uint8, labels) or PNG files."""
    if count < 1:
        raise ValueError(f"-n must be at least 1, got {count}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"--temperature must be a positive finite number, got {temperature} (1 samples the prior as trained)")
    if Path(out).suffix not in ("", ".npz"):
        raise ValueError(f"--out {out}: give an .npz file, or a folder name without a suffix for PNG files")
    folder = find_generator(checkpoint)
    model, description = load_model(folder, "generator", resolve_device(device))
    class_names = description.get("class_names") or [str(k) for k in range(model.config.num_classes)]
    if class_name not in class_names:
        raise ValueError(f"unknown class {class_name!r}; this generator knows {class_names}")
    label = class_names.index(class_name)
    generator = torch.Generator(device=model.prior_mu.device).manual_seed(seed)
    labels = torch.full((count,), label, dtype=torch.long)
    images = model.sample(labels, generator=generator, temperature=temperature)[:, 0].cpu().numpy()
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)

    out = Path(out)
    if out.suffix == ".npz":
        atomic_savez(out, images=pixels, labels=np.full(count, label), class_names=np.asarray(class_names))
        return out
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(pixels):
        with atomic_path(out / f"{class_name}_{index:05d}.png") as tmp:
            Image.fromarray(image, mode="L").save(tmp, format="PNG")
    return out
