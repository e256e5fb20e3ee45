"""Study configuration: one dataclass per stage, profiles, and ``key=value`` overrides.

Every hyperparameter of the study has a name ``<stage>.<field>``, for example
``train.lr`` or ``data.labeled_fraction``. A configuration is resolved in this
order: the defaults below, the profile (``smoke``, ``quick``, ``paper``), an
optional JSON file with the same nesting, then ``--set key=value`` overrides.
The resolved configuration is saved with every output.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from pavae.utils.io import read_json


@dataclasses.dataclass
class DataConfig:
    """Data source, procedural generator settings and preprocessing."""

    seed: int = 0  # seed of the procedural draw and of a redrawn labelled subset
    labeled_fraction: float | None = None  # None keeps the file's labelled subset; else redraw, stratified
    scale: float = 1.0  # procedural data only: image count relative to the 12,000-image Table-1 set
    difficulty: float | None = None  # procedural data only: None uses the calibrated default
    image_size: int = 64  # procedural data only: side length in pixels
    clip_low: float = 0.5  # lower clipping percentile
    clip_high: float = 99.5  # upper clipping percentile
    equalize: bool = True  # global histogram equalisation
    zscore: bool = True  # per-image z-score before the [0, 1] rescale
    clahe: bool = False  # CLAHE in place of global equalisation (robustness sweeps)


@dataclasses.dataclass
class ModelConfig:
    """Conditional VAE architecture."""

    latent_dim: int = 32  # size of z; the PA-VAE paper gives no value
    base_channels: int = 32  # channels of the first encoder block, doubled per block
    likelihood: str = "bernoulli"  # bernoulli | continuous_bernoulli | gaussian
    logvar_min: float = -12.0  # encoder log-variance clamp
    logvar_max: float = 8.0
    gaussian_sigma: float = 0.1  # fixed pixel sigma of the gaussian likelihood


@dataclasses.dataclass
class LossConfig:
    """Weights and modes of the PA-VAE objective."""

    beta: float = 4.0  # weight of KL(q(z|x,y) || p(z|y))
    lambda_path: float = 0.5  # feature-preservation weight (0 turns L_path off)
    lambda_mask: float = 0.1  # mask-overlap weight (0 turns L_mask off); the PA-VAE paper gives no value
    lambda_cls: float = 0.2  # class-consistency weight (0 turns L_cls off)
    class_prior: bool = True  # learned Gaussian p(z|y) per class; False uses N(0, I)
    aux_scale: str = "none"  # none: L_mask and L_cls per image; pixels: multiplied by H*W (see docs/study.md)
    prior_samples: int = 32  # prior samples per batch for the L_cls prior term
    unlabeled: str = "marginalize"  # marginalize | ignore: use of unlabelled training images


@dataclasses.dataclass
class TrainConfig:
    """Generator optimisation and the frozen networks trained on the labelled subset."""

    epochs: int = 10  # maximum generator epochs (early stopping on validation FID-like)
    patience: int = 3  # epochs without validation FID-like improvement before stopping
    batch_size: int = 64
    lr: float = 1e-3
    lr_min: float = 1e-5  # end of the cosine decay
    prior_lr_scale: float = 10.0  # learning rate of the learned prior p(z|y) relative to train.lr
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    max_steps_per_epoch: int | None = None  # cap for smoke runs; None uses every batch
    val_fid_samples: int = 1000  # synthetic and real validation images per validation FID-like
    frozen_epochs: int = 30  # epochs of the frozen classifier and lesion segmenter
    frozen_lr: float = 1e-3
    frozen_width: int = 16  # channels of the frozen classifier's first block


@dataclasses.dataclass
class DownstreamConfig:
    """The one downstream classifier and schedule used by every strategy."""

    epochs: int = 40  # epochs counted over the real labelled images; every strategy takes the same steps
    batch_size: int = 64
    lr: float = 1e-3
    lr_min: float = 1e-5
    weight_decay: float = 1e-4
    synthetic_ratio: float = 1.0  # synthetic:real images, at most 1
    class_prior: str = "balanced"  # balanced | labeled: class mix pi(y) of synthetic images
    width: int = 16  # channels of the first block
    aug_rotation: float = 7.0  # traditional augmentation: maximum rotation in degrees
    aug_shift: float = 0.06  # maximum shift as a fraction of the side
    aug_scale: float = 0.08  # maximum relative zoom
    aug_intensity: float = 0.10  # maximum gamma and contrast change
    aug_noise: float = 0.02  # standard deviation of added Gaussian noise
    aug_hflip: bool = False  # horizontal flip, swapping left and right opacity labels


@dataclasses.dataclass
class EvalConfig:
    """Evaluation settings."""

    specificity: float = 0.95  # operating point for sensitivity and the confusion matrix
    ece_bins: int = 15
    alpha: float = 0.05  # DeLong confidence level 1 - alpha
    fid_samples: int | None = None  # synthetic images for FID-like; None uses the test-set size
    ssim_images: int = 500  # test images reconstructed for SSIM
    extractor_epochs: int = 15  # epochs of the evaluation feature extractor
    extractor_scale: float = 0.5  # procedural data: independent draw size relative to Table 1
    kid_subsets: int = 20
    kid_subset_size: int = 500


@dataclasses.dataclass
class StudyConfig:
    """Everything one ``pavae reproduce`` run needs."""

    profile: str = "paper"
    seeds: int = 3  # number of seeds; seed s runs with value base_seed + s
    base_seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    strategies: tuple[str, ...] = ("real_only", "traditional", "standard_vae", "pa_vae")
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    downstream: DownstreamConfig = dataclasses.field(default_factory=DownstreamConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def seed_values(self) -> list[int]:
        return [self.base_seed + offset for offset in range(self.seeds)]


GROUPS = ("data", "model", "loss", "train", "downstream", "eval")

PROFILES: dict[str, dict[str, Any]] = {
    # CI-sized: a tenth of the procedural data, one short epoch everywhere.
    "smoke": {
        "seeds": 1,
        "data.scale": 0.1,
        "train.epochs": 1,
        "train.max_steps_per_epoch": 8,
        "train.val_fid_samples": 200,
        "train.frozen_epochs": 4,
        "downstream.epochs": 4,
        "eval.extractor_epochs": 3,
        "eval.extractor_scale": 0.05,
        "eval.fid_samples": 200,
        "eval.ssim_images": 100,
        "eval.kid_subsets": 5,
        "eval.kid_subset_size": 100,
    },
    # Full data and downstream schedule, short generator training, one seed.
    "quick": {
        "seeds": 1,
        "train.epochs": 2,
        "train.patience": 1,
        "train.frozen_epochs": 20,
        "eval.extractor_epochs": 8,
        "eval.extractor_scale": 0.25,
    },
    "paper": {},
}


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _coerce(text: Any, annotation: Any, key: str) -> Any:
    """Convert ``text`` (a string from the command line or a JSON value) to ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if text is None or (isinstance(text, str) and text.strip().lower() in ("none", "null", "")):
            return None
        return _coerce(text, options[0], key)
    if origin is tuple:
        items = text.split(",") if isinstance(text, str) else list(text)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if annotation is bool:
        if isinstance(text, bool):
            return text
        lowered = str(text).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key} expects true or false, got {text!r}")
    try:
        if annotation is int:
            if isinstance(text, float) and not text.is_integer():
                raise ValueError
            return int(text)
        if annotation is float:
            return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{key} expects a {annotation.__name__}, got {text!r}") from None
    return str(text)


def known_keys() -> list[str]:
    """Return every settable key, ``seeds`` and ``data.seed`` style."""
    keys = [name for name in _field_types(StudyConfig) if name not in GROUPS]
    for group in GROUPS:
        group_cls = _field_types(StudyConfig)[group]
        keys.extend(f"{group}.{name}" for name in _field_types(group_cls))
    return keys


def apply_override(config: StudyConfig, key: str, value: Any) -> None:
    """Set ``key`` (``group.field`` or a top-level field) to ``value``, coerced to the field's type.

    Raises:
        KeyError: unknown key; the message lists the keys of that group.
        ValueError: the value cannot be converted.
    """
    parts = key.strip().split(".")
    top_types = _field_types(StudyConfig)
    if len(parts) == 1 and parts[0] in top_types and parts[0] not in GROUPS:
        setattr(config, parts[0], _coerce(value, top_types[parts[0]], key))
        return
    if len(parts) != 2 or parts[0] not in GROUPS:
        raise KeyError(f"unknown configuration key {key!r}; keys look like 'train.lr' with a group in {GROUPS}")
    group = getattr(config, parts[0])
    group_types = _field_types(type(group))
    if parts[1] not in group_types:
        raise KeyError(f"unknown configuration key {key!r}; the {parts[0]} group has {sorted(group_types)}")
    setattr(group, parts[1], _coerce(value, group_types[parts[1]], key))


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``key=value`` from ``--set``, naming the input when it has no ``=``."""
    if "=" not in text:
        raise ValueError(f"--set expects key=value, got {text!r} (for example --set train.lr=5e-4)")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def resolve_config(
    profile: str = "paper",
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    **top_level: Any,
) -> StudyConfig:
    """Build a configuration from defaults, a profile, an optional JSON file and overrides.

    Args:
        profile: ``smoke``, ``quick`` or ``paper``.
        config_file: JSON file with the nesting of :meth:`StudyConfig.to_dict`.
        overrides: ``key=value`` strings, applied last.
        **top_level: top-level fields (``seeds``, ``device``) from dedicated
            command-line options; ``None`` values are skipped.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    config = StudyConfig(profile=profile)
    for key, value in PROFILES[profile].items():
        apply_override(config, key, value)
    if config_file is not None:
        if not Path(config_file).is_file():
            raise FileNotFoundError(f"configuration file {config_file} not found; pass an existing JSON file to --config")
        content = read_json(config_file, fix="correct its syntax")
        if not isinstance(content, dict):
            raise ValueError(f"{config_file} must contain a JSON object with groups {GROUPS}")
        for key, value in _flatten(content).items():
            if key == "profile":
                continue
            apply_override(config, key, value)
    for key, value in top_level.items():
        if value is not None:
            apply_override(config, key, value)
    for assignment in overrides or []:
        apply_override(config, *parse_assignment(assignment))
    validate_config(config)
    return config


def validate_config(config: StudyConfig) -> None:
    """Reject settings the study cannot run with, naming the key and the allowed values."""
    checks = [
        (config.seeds >= 1, "seeds must be at least 1"),
        (config.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, got {config.device!r}"),
        (0.0 < config.downstream.synthetic_ratio <= 1.0 or config.downstream.synthetic_ratio == 0.0,
         f"downstream.synthetic_ratio must lie in [0, 1], got {config.downstream.synthetic_ratio}"),
        (config.downstream.class_prior in ("balanced", "labeled"),
         f"downstream.class_prior must be balanced or labeled, got {config.downstream.class_prior!r}"),
        (config.loss.unlabeled in ("marginalize", "ignore"),
         f"loss.unlabeled must be marginalize or ignore, got {config.loss.unlabeled!r}"),
        (config.loss.aux_scale in ("pixels", "none"), f"loss.aux_scale must be pixels or none, got {config.loss.aux_scale!r}"),
        (config.model.likelihood in ("bernoulli", "continuous_bernoulli", "gaussian"),
         f"model.likelihood must be bernoulli, continuous_bernoulli or gaussian, got {config.model.likelihood!r}"),
        (config.loss.beta >= 0, f"loss.beta must be non-negative, got {config.loss.beta}"),
        (config.train.batch_size >= 2, f"train.batch_size must be at least 2, got {config.train.batch_size}"),
        (config.downstream.batch_size >= 2, f"downstream.batch_size must be at least 2, got {config.downstream.batch_size}"),
        (config.data.scale > 0, f"data.scale must be positive, got {config.data.scale}"),
        (0.5 <= config.eval.specificity < 1.0, f"eval.specificity must lie in [0.5, 1), got {config.eval.specificity}"),
    ]
    for key in ("train.epochs", "train.patience", "train.frozen_epochs", "train.frozen_width", "downstream.epochs",
                "downstream.width", "eval.extractor_epochs", "eval.ece_bins", "eval.ssim_images", "eval.kid_subsets",
                "eval.kid_subset_size", "eval.fid_samples", "train.val_fid_samples", "train.max_steps_per_epoch",
                "model.latent_dim", "model.base_channels"):
        group, name = key.split(".")
        value = getattr(getattr(config, group), name)
        checks.append((value is None or value >= 1, f"{key} must be at least 1, got {value}"))
    for key in ("train.lr", "train.lr_min", "train.prior_lr_scale", "train.frozen_lr", "downstream.lr", "downstream.lr_min",
                "eval.extractor_scale", "model.gaussian_sigma"):
        group, name = key.split(".")
        value = getattr(getattr(config, group), name)
        checks.append((value > 0, f"{key} must be positive, got {value}"))
    for key in ("loss.lambda_path", "loss.lambda_mask", "loss.lambda_cls", "loss.prior_samples",
                "downstream.weight_decay", "downstream.aug_rotation", "downstream.aug_shift", "downstream.aug_scale",
                "downstream.aug_intensity", "downstream.aug_noise"):
        group, name = key.split(".")
        value = getattr(getattr(config, group), name)
        checks.append((value >= 0, f"{key} must not be negative, got {value}"))
    checks.append((0.0 < config.eval.alpha < 1.0, f"eval.alpha must lie in (0, 1), got {config.eval.alpha}"))
    checks.append((0.0 <= config.train.adam_beta1 < 1.0 and 0.0 <= config.train.adam_beta2 < 1.0,
                   "train.adam_beta1 and train.adam_beta2 must lie in [0, 1)"))
    if config.data.labeled_fraction is not None:
        checks.append((0.0 < config.data.labeled_fraction <= 1.0,
                       f"data.labeled_fraction must lie in (0, 1], got {config.data.labeled_fraction}"))
    for passed, message in checks:
        if not passed:
            raise ValueError(message)
    from pavae.study.strategies import STRATEGIES  # late import: strategies import this module

    if not config.strategies:
        raise ValueError(f"strategies is empty: name at least one of {sorted(STRATEGIES)}, for example --strategies real_only")
    unknown = [name for name in config.strategies if name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")


def config_from_dict(content: dict[str, Any]) -> StudyConfig:
    """Rebuild a configuration saved by :meth:`StudyConfig.to_dict`."""
    config = StudyConfig(profile=content.get("profile", "paper"))
    for key, value in _flatten({k: v for k, v in content.items() if k != "profile"}).items():
        apply_override(config, key, value)
    return config


def config_hash(section: Any) -> str:
    """Return a short stable hash of a configuration section (dataclass or plain data)."""
    import hashlib

    if dataclasses.is_dataclass(section):
        section = dataclasses.asdict(section)
    text = json.dumps(section, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
