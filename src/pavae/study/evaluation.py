"""Evaluation units: classification metrics of the downstream model and fidelity of the added images.

Primary task: pathology (any class other than 0) against healthy, with score
1 - p(healthy). Secondary: the C-class macro one-vs-rest AUC, accuracy, and
the confusion matrix at the test threshold that reaches the target
specificity (healthy when the score is below it, else the most probable
pathology class).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pavae import metrics
from pavae.config import EvalConfig
from pavae.study.checkpoints import load_model
from pavae.study.stages import StudyContext, augment_config, augmented_copies, unit_fingerprint
from pavae.study.strategies import Strategy
from pavae.study.units import fingerprint
from pavae.training.common import predict_in_batches, to_tensor
from pavae.training.generator import balanced_labels, generate
from pavae.utils.io import atomic_savez, atomic_write_json

log = logging.getLogger(__name__)


def classification_metrics(
    test_labels: np.ndarray,
    test_probs: np.ndarray,
    val_labels: np.ndarray,
    val_probs: np.ndarray,
    config: EvalConfig,
) -> dict[str, Any]:
    """Compute the per-seed classification metrics of one downstream model.

    Args:
        test_labels, val_labels: (N,) class indices; class 0 is healthy.
        test_probs, val_probs: (N, C) class probabilities.
        config: specificity target, ECE bins and DeLong alpha.

    Returns:
        Flat dict of floats (and the confusion matrix as nested lists).
    """
    y = (test_labels > 0).astype(int)
    score = 1.0 - test_probs[:, 0]
    val_y = (val_labels > 0).astype(int)
    val_score = 1.0 - val_probs[:, 0]

    auc = metrics.roc_auc(y, score)
    low, high = metrics.delong_ci(y, score, alpha=config.alpha)
    sensitivity, threshold = metrics.sensitivity_at_specificity(y, score, specificity=config.specificity)
    val_threshold = metrics.threshold_at_specificity(val_y, val_score, specificity=config.specificity)
    val_sensitivity, val_specificity = metrics.sensitivity_specificity_at_threshold(y, score, val_threshold)

    # Decision at the test operating point: healthy below the threshold, else the likeliest pathology.
    predicted = np.where(score >= threshold, 1 + np.argmax(test_probs[:, 1:], axis=1), 0)
    confusion = metrics.confusion_matrix(test_labels, predicted, num_classes=test_probs.shape[1])

    return {
        "auc": auc,
        "auc_ci95": [low, high],
        "sens_at_95_spec": sensitivity,
        "threshold_at_95_spec": threshold,
        "val_threshold": val_threshold,
        "sens_at_val_threshold": val_sensitivity,
        "spec_at_val_threshold": val_specificity,
        "ece": metrics.expected_calibration_error(y, score, n_bins=config.ece_bins),
        "brier": metrics.brier_score(y, score),
        "auc_ovr_macro": metrics.roc_auc_ovr_macro(test_labels, test_probs),
        "accuracy": metrics.accuracy(test_labels, np.argmax(test_probs, axis=1)),
        "confusion_at_95_spec": confusion.tolist(),
    }


@torch.no_grad()
def _embed(extractor: torch.nn.Module, images: np.ndarray, device: torch.device) -> np.ndarray:
    return predict_in_batches(extractor.embed, to_tensor(images, device)).double().cpu().numpy()


def fidelity_metrics(
    ctx: StudyContext,
    strategy: Strategy,
    seed: int,
    generator_folder: Path,
    extractor: torch.nn.Module,
) -> dict[str, Any]:
    """Compute FID-like, KID, precision/recall, per-class FID-like and SSIM of a strategy's images.

    FID-like compares evaluation-extractor features of the real test images
    with those of as many class-balanced synthetic images. SSIM measures
    reconstruction: a VAE encodes and decodes test images; the traditional
    strategy compares an augmented copy of a test image with its source.
    """
    ev = ctx.config.eval
    test = ctx.test
    count = ev.fid_samples or len(test)
    labels = balanced_labels(count, np.ones(ctx.num_classes))
    model = None
    if strategy.kind == "vae":
        model, _ = load_model(generator_folder, "generator", ctx.device)
        synthetic = generate(model, labels, seed=seed + 202)
    else:
        synthetic, labels = augmented_copies(ctx, labels, seed + 202)

    real_features = _embed(extractor, test.images, ctx.device)
    fake_features = _embed(extractor, synthetic, ctx.device)
    result: dict[str, Any] = {
        "fid_like": metrics.fid_from_features(real_features, fake_features),
        "fid_samples": int(count),
    }
    subset = min(ev.kid_subset_size, len(real_features), len(fake_features))
    kid = metrics.kernel_inception_distance(real_features, fake_features, subsets=ev.kid_subsets,
                                            subset_size=subset, seed=seed)
    result["kid"] = kid["kid_mean"]
    result["kid_std"] = kid["kid_std"]
    # k-NN radii need k + 1 points per set; tiny data sets get a smaller k, and none below 2 points.
    neighbours = min(3, len(real_features) - 1, len(fake_features) - 1)
    if neighbours >= 1:
        result.update(metrics.precision_recall_knn(real_features, fake_features, k=neighbours))
    else:
        result.update(precision=float("nan"), recall=float("nan"))
    result["knn_k"] = int(max(neighbours, 0))

    per_class = {}
    for k, name in enumerate(ctx.dataset.class_names):
        real_k, fake_k = real_features[test.labels == k], fake_features[labels == k]
        n = min(len(real_k), len(fake_k))
        per_class[name] = metrics.fid_from_features(real_k[:n], fake_k[:n]) if n >= 2 else float("nan")
    result["fid_like_per_class"] = per_class

    # SSIM on a fixed subset of test images.
    rng = np.random.default_rng(ctx.config.base_seed)
    index = np.sort(rng.choice(len(test), size=min(ev.ssim_images, len(test)), replace=False))
    sources = test.images[index]
    if model is not None:
        x = to_tensor(sources, ctx.device)
        y = torch.as_tensor(test.labels[index], device=ctx.device)
        reconstructed = torch.cat([model.reconstruct(x[i:i + 256], y[i:i + 256]) for i in range(0, len(x), 256)])
        compared = reconstructed[:, 0].cpu().numpy()
    else:
        from pavae.data.augment import augment

        compared, _, _ = augment(sources, test.labels[index], augment_config(ctx.config), ctx.dataset.class_names,
                                 seed + 303)
    result["ssim"] = metrics.ssim(compared.astype(np.float64), sources.astype(np.float64), data_range=1.0)
    return result


def evaluation_unit(
    ctx: StudyContext,
    strategy: Strategy,
    seed: int,
    downstream_folder: Path,
    generator_folder: Path | None,
    extractor_folder: Path,
) -> Path:
    """Evaluate one (strategy, seed): classification metrics, and fidelity where images were added."""
    unit_fp = fingerprint("evaluation", strategy.name, seed, unit_fingerprint(downstream_folder),
                          unit_fingerprint(generator_folder), unit_fingerprint(extractor_folder),
                          dataclasses.asdict(ctx.config.eval))
    key = f"evaluation/{strategy.name}/seed_{seed}"

    def work(folder: Path) -> dict[str, Any]:
        with np.load(downstream_folder / "predictions.npz") as predictions:
            val_probs, test_probs = predictions["val_probs"], predictions["test_probs"]
        row: dict[str, Any] = {"seed": seed}
        row.update(classification_metrics(ctx.test.labels, test_probs, ctx.val.labels, val_probs, ctx.config.eval))
        if generator_folder is not None:
            extractor, _ = load_model(extractor_folder, "extractor", ctx.device)
            row.update(fidelity_metrics(ctx, strategy, seed, generator_folder, extractor))
        score = 1.0 - test_probs[:, 0]
        y = (ctx.test.labels > 0).astype(int)
        fpr, tpr, _ = metrics.roc_curve(y, score)
        reliability = metrics.reliability_curve(y, score, n_bins=ctx.config.eval.ece_bins)
        atomic_savez(folder / "curves.npz", fpr=fpr, tpr=tpr, test_score=score, test_labels=ctx.test.labels,
                     **{f"reliability_{name}": np.asarray(value) for name, value in reliability.items()})
        atomic_write_json(folder / "metrics.json", row)
        return {"auc": row["auc"]}

    return ctx.store.run(key, unit_fp, "evaluation", work)
