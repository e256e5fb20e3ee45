"""Turn finished evaluation units into metrics.json: per-seed rows, summaries, paired tests, ablations."""

from __future__ import annotations

import logging
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pavae import __version__, metrics
from pavae.study.strategies import ABLATIONS, STRATEGIES
from pavae.utils.io import from_json_float, read_json

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "auc", "sens_at_95_spec", "sens_at_val_threshold", "spec_at_val_threshold", "ece", "brier",
    "auc_ovr_macro", "accuracy", "fid_like", "ssim", "kid", "precision", "recall",
)


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Return mean and standard deviation (ddof 1; 0 for a single seed) of each metric over seeds.

    Metrics that are missing or NaN for some seed are summarised over the
    seeds that have them; ``n`` says how many.
    """
    summary = {}
    for key in SUMMARY_KEYS:
        values = [from_json_float(row[key]) for row in rows if key in row]
        values = [value for value in values if math.isfinite(value)]
        if not values:
            continue
        array = np.asarray(values, dtype=np.float64)
        summary[key] = {
            "mean": float(array.mean()),
            "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
            "n": int(len(array)),
        }
    return summary


def paired_tests(run_dir: Path, strategies: list[str], seeds: list[int], reference: str = "real_only") -> dict[str, Any]:
    """Run the paired DeLong test of each strategy against ``reference`` on the same test images, per seed."""
    if reference not in strategies:
        return {}
    results: dict[str, Any] = {}
    for name in strategies:
        if name == reference:
            continue
        per_seed = []
        for seed in seeds:
            with np.load(run_dir / "evaluation" / name / f"seed_{seed}" / "curves.npz") as own, \
                    np.load(run_dir / "evaluation" / reference / f"seed_{seed}" / "curves.npz") as ref:
                y = (own["test_labels"] > 0).astype(int)
                test = metrics.delong_test(y, own["test_score"], ref["test_score"])
            per_seed.append({"seed": seed, **test})
        better = sum(1 for row in per_seed if row["p_value"] < 0.05 and row["auc_a"] > row["auc_b"])
        worse = sum(1 for row in per_seed if row["p_value"] < 0.05 and row["auc_a"] < row["auc_b"])
        results[name] = {
            "reference": reference,
            "per_seed": per_seed,
            "seeds_significantly_better": better,
            "seeds_significantly_worse": worse,
            "mean_auc_difference": float(np.mean([row["auc_a"] - row["auc_b"] for row in per_seed])),
        }
    return results


def ablation_deltas(strategies: dict[str, Any]) -> dict[str, Any]:
    """Return the mean AUC and FID-like changes of each ablation relative to PA-VAE."""
    if "pa_vae" not in strategies:
        return {}
    base = strategies["pa_vae"]["summary"]
    deltas = {}
    for name in ABLATIONS:
        if name not in strategies:
            continue
        own = strategies[name]["summary"]
        deltas[name] = {
            "delta_auc": own["auc"]["mean"] - base["auc"]["mean"],
            "delta_fid_like": own["fid_like"]["mean"] - base["fid_like"]["mean"]
            if "fid_like" in own and "fid_like" in base else None,
        }
    return deltas


def environment(device: torch.device) -> dict[str, Any]:
    """Describe versions, device and threads for metrics.json."""
    import matplotlib
    import scipy

    info = {
        "pavae": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib.__version__,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    if device.type == "cuda":
        info["cuda"] = torch.version.cuda
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def collect_strategies(run_dir: Path, strategies: list[str], seeds: list[int]) -> dict[str, Any]:
    """Read every evaluation unit and generator history into the ``strategies`` section."""
    section: dict[str, Any] = {}
    for name in strategies:
        rows = [read_json(run_dir / "evaluation" / name / f"seed_{seed}" / "metrics.json") for seed in seeds]
        entry: dict[str, Any] = {
            "label": STRATEGIES[name].label,
            "adds_images": STRATEGIES[name].adds_images,
            "per_seed": rows,
            "summary": summarise(rows),
        }
        if STRATEGIES[name].kind == "vae":
            entry["generator"] = {
                f"seed_{seed}": read_json(run_dir / "generators" / name / f"seed_{seed}" / "history.json")
                for seed in seeds
            }
        section[name] = entry
    return section
