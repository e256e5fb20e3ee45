"""Figures of one study run, drawn from metrics.json and the files of its units.

Every figure is a PNG in ``<run>/figures/`` (and a PDF beside it when
``pdf=True``), written atomically.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401 - used as matplotlib.ticker
import numpy as np  # noqa: E402

from pavae.utils.io import atomic_path, from_json_float  # noqa: E402

log = logging.getLogger(__name__)


def save_figure(figure: plt.Figure, path: Path, pdf: bool = False) -> Path:
    """Save ``figure`` as PNG (and PDF) atomically and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=130, bbox_inches="tight")
    if pdf:
        with atomic_path(path.with_suffix(".pdf")) as tmp:
            figure.savefig(tmp, bbox_inches="tight")
    plt.close(figure)
    return path


def _first_seed(content: dict[str, Any]) -> int:
    return int(content["config"]["base_seed"])


def _label(content: dict[str, Any], name: str) -> str:
    return content["strategies"][name].get("label", name)


def roc_figure(run_dir: Path, content: dict[str, Any]) -> plt.Figure:
    """ROC curve of each strategy at the first seed, with mean AUC over seeds in the legend."""
    seed = _first_seed(content)
    figure, axis = plt.subplots(figsize=(5.2, 5))
    for name, entry in content["strategies"].items():
        with np.load(run_dir / "evaluation" / name / f"seed_{seed}" / "curves.npz") as curves:
            fpr, tpr = curves["fpr"], curves["tpr"]
        auc = entry["summary"]["auc"]
        spread = f" ± {auc['std']:.3f}" if auc.get("n", 1) > 1 else ""
        axis.plot(fpr, tpr, lw=1.6, label=f"{_label(content, name)} (AUC {auc['mean']:.3f}{spread})")
    axis.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    spec = content["config"]["eval"]["specificity"]
    axis.axvline(1 - spec, color="grey", lw=0.8, ls=":", label=f"{spec:.0%} specificity")
    negative = content["dataset"]["class_names"][0]
    axis.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC, any pathology vs {negative} (test, seed {seed})",
             xlim=(0, 1), ylim=(0, 1.01))
    axis.legend(loc="lower right", fontsize=8)
    return figure


def metric_bars_figure(content: dict[str, Any]) -> plt.Figure:
    """Bars of AUC, sensitivity at 95% specificity and ECE (mean ± std over seeds), paper values as markers."""
    names = list(content["strategies"])
    panels = [("auc", "AUC"), ("sens_at_95_spec", "Sensitivity at 95% specificity"), ("ece", "ECE (15 bins)")]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    paper = content.get("paper", {}).get("main", {})
    for axis, (key, title) in zip(axes, panels):
        means = [content["strategies"][n]["summary"].get(key, {}).get("mean", np.nan) for n in names]
        stds = [content["strategies"][n]["summary"].get(key, {}).get("std", 0.0) for n in names]
        positions = np.arange(len(names))
        axis.bar(positions, means, yerr=stds, capsize=4, color="#4C72B0", label="this run")
        paper_values = [paper.get(n, {}).get(key) for n in names]
        shown = [(p, v) for p, v in zip(positions, paper_values) if v is not None]
        if shown:
            axis.scatter(*zip(*shown), marker="D", color="#DD8452", zorder=3, label="paper")
        axis.set_xticks(positions, [_label(content, n) for n in names], rotation=30, ha="right", fontsize=8)
        axis.set_title(title, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, 1.06))
    figure.tight_layout()
    return figure


def training_figure(content: dict[str, Any]) -> plt.Figure | None:
    """Training loss and validation FID-like by epoch for every generator and seed."""
    generators = {name: entry["generator"] for name, entry in content["strategies"].items() if "generator" in entry}
    if not generators:
        return None
    figure, (loss_axis, fid_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, histories in generators.items():
        for seed_key, history in histories.items():
            epochs = np.arange(1, len(history["total"]) + 1)
            label = f"{_label(content, name)} {seed_key.replace('_', ' ')}"
            loss_axis.plot(epochs, history["total"], marker="o", ms=3, label=label)
            fid_axis.plot(epochs, [from_json_float(v) for v in history["val_fid"]], marker="o", ms=3, label=label)
    loss_axis.set(xlabel="epoch", ylabel="training loss (per image)", title="Training loss")
    fid_axis.set(xlabel="epoch", ylabel="FID-like (frozen-classifier features)", title="Validation FID-like")
    for axis in (loss_axis, fid_axis):
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def confusion_figure(content: dict[str, Any]) -> plt.Figure:
    """Confusion matrix of each strategy at the 95%-specificity test threshold (first seed)."""
    names = list(content["strategies"])
    classes = content["dataset"]["class_names"]
    figure, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        matrix = np.asarray(content["strategies"][name]["per_seed"][0]["confusion_at_95_spec"])
        axis.imshow(matrix, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            axis.text(j, i, str(value), ha="center", va="center", fontsize=8,
                      color="white" if value > matrix.max() / 2 else "black")
        axis.set_xticks(range(len(classes)), classes, rotation=30, ha="right", fontsize=7)
        axis.set_yticks(range(len(classes)), classes, fontsize=7)
        axis.set_title(_label(content, name), fontsize=9)
        axis.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    figure.tight_layout()
    return figure


def reliability_figure(run_dir: Path, content: dict[str, Any]) -> plt.Figure:
    """Reliability diagram of p(pathology) for each strategy (first seed)."""
    seed = _first_seed(content)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
    for name in content["strategies"]:
        with np.load(run_dir / "evaluation" / name / f"seed_{seed}" / "curves.npz") as curves:
            predicted, observed = curves["reliability_mean_predicted"], curves["reliability_fraction_positive"]
        keep = np.isfinite(predicted) & np.isfinite(observed)
        ece = content["strategies"][name]["summary"]["ece"]["mean"]
        axis.plot(predicted[keep], observed[keep], marker="o", ms=3, label=f"{_label(content, name)} (ECE {ece:.3f})")
    axis.set(xlabel="mean predicted p(pathology)", ylabel="fraction with pathology", title="Reliability (test)",
             xlim=(0, 1), ylim=(0, 1))
    axis.legend(fontsize=8)
    return figure


def _load_pool(run_dir: Path, name: str, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    path = run_dir / "generators" / name / f"seed_{seed}" / "synthetic.npz"
    if not path.exists():
        return None
    with np.load(path) as pool:
        return pool["images"].astype(np.float32), pool["labels"]


def samples_figure(run_dir: Path, content: dict[str, Any], per_class: int = 8) -> plt.Figure | None:
    """Grid of added images per class (rows) for each strategy that adds images, first seed."""
    seed = _first_seed(content)
    classes = content["dataset"]["class_names"]
    pools = {name: _load_pool(run_dir, name, seed) for name in content["strategies"]}
    pools = {name: pool for name, pool in pools.items() if pool is not None}
    if not pools:
        return None
    rows = len(pools) * len(classes)
    figure, axes = plt.subplots(rows, per_class, figsize=(per_class * 0.9, rows * 0.95), squeeze=False)
    for block, (name, (images, labels)) in enumerate(pools.items()):
        for k, class_name in enumerate(classes):
            row = block * len(classes) + k
            members = np.flatnonzero(labels == k)[:per_class]
            for column in range(per_class):
                axis = axes[row][column]
                axis.axis("off")
                if column < len(members):
                    axis.imshow(images[members[column]], cmap="gray", vmin=0, vmax=1)
            axes[row][0].text(-0.1, 0.5, f"{_label(content, name)}\n{class_name}", transform=axes[row][0].transAxes,
                              ha="right", va="center", fontsize=6)
    figure.suptitle(f"Added images per class (seed {seed})", fontsize=9, y=1.0)
    figure.subplots_adjust(top=0.96, hspace=0.05, wspace=0.05)
    return figure


def template_difference_figure(run_dir: Path, content: dict[str, Any]) -> plt.Figure | None:
    """Mean image of each pathology class minus the mean healthy image, real versus each generator."""
    from pavae.data.dataset import RadiographDataset
    from pavae.data.preprocess import PreprocessConfig, preprocess

    seed = _first_seed(content)
    dataset = RadiographDataset.load(run_dir / "data" / "dataset.npz")
    data = content["config"]["data"]
    chain = PreprocessConfig(data["clip_low"], data["clip_high"], data["equalize"], data["zscore"], data["clahe"])
    test = dataset.indices("test")
    real = preprocess(dataset.images[test], chain)
    sources = {"real (test)": (real, dataset.labels[test])}
    for name in content["strategies"]:
        pool = _load_pool(run_dir, name, seed)
        if pool is not None:
            sources[_label(content, name)] = pool
    classes = dataset.class_names
    figure, axes = plt.subplots(len(classes) - 1, len(sources), figsize=(2.4 * len(sources), 2.4 * (len(classes) - 1)),
                                squeeze=False)
    for column, (title, (images, labels)) in enumerate(sources.items()):
        healthy = images[labels == 0].mean(axis=0) if np.any(labels == 0) else np.zeros(images.shape[1:])
        for k in range(1, len(classes)):
            axis = axes[k - 1][column]
            difference = images[labels == k].mean(axis=0) - healthy if np.any(labels == k) else np.zeros_like(healthy)
            limit = max(float(np.abs(difference).max()), 1e-6)
            shown = axis.imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit)
            figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
            axis.set_title(f"{title}\n{classes[k]} - {classes[0]}", fontsize=7)
            axis.axis("off")
    figure.suptitle("Template differences (image right = patient's left)", fontsize=9)
    figure.tight_layout()
    return figure


def ablation_figure(content: dict[str, Any]) -> plt.Figure | None:
    """Bars of the AUC and FID-like change of each ablation relative to PA-VAE, with the paper's values."""
    deltas = content.get("ablations") or {}
    if not deltas:
        return None
    names = list(deltas)
    paper = content.get("paper", {}).get("ablations", {})
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    positions = np.arange(len(names))
    for axis, key, title in ((axes[0], "delta_auc", "ΔAUC vs PA-VAE"), (axes[1], "delta_fid_like", "ΔFID-like vs PA-VAE")):
        values = [deltas[n][key] if deltas[n][key] is not None else np.nan for n in names]
        paper_values = [paper.get(n, {}).get(key, np.nan) for n in names]
        axis.bar(positions - 0.2, values, width=0.4, color="#4C72B0", label="this run")
        # FID-like values live in each study's own feature space, so the paper's get their own axis.
        paper_axis = axis.twinx() if key == "delta_fid_like" else axis
        paper_axis.bar(positions + 0.2, paper_values, width=0.4, color="#DD8452", label="paper")
        for shown in {axis, paper_axis}:
            shown.axhline(0, color="black", lw=0.8)
        if paper_axis is not axis:
            axis.set_ylabel("this run (extractor features)", fontsize=8, color="#4C72B0")
            paper_axis.set_ylabel("paper (its own features)", fontsize=8, color="#DD8452")
        axis.set_xticks(positions, [_label(content, n) for n in names], rotation=30, ha="right", fontsize=7)
        axis.set_title(title, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#4C72B0", "#DD8452")]
    figure.legend(handles, ["this run", "paper"], loc="upper center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, 1.05))
    figure.tight_layout()
    return figure


def draw_all(run_dir: Path, content: dict[str, Any], pdf: bool = False) -> list[Path]:
    """Draw every figure the run's content supports; return the PNG paths."""
    folder = Path(run_dir) / "figures"
    builders = {
        "roc_curves": lambda: roc_figure(run_dir, content),
        "metric_bars": lambda: metric_bars_figure(content),
        "training_dynamics": lambda: training_figure(content),
        "confusion_at_95_spec": lambda: confusion_figure(content),
        "reliability": lambda: reliability_figure(run_dir, content),
        "samples": lambda: samples_figure(run_dir, content),
        "template_differences": lambda: template_difference_figure(run_dir, content),
        "ablations": lambda: ablation_figure(content),
    }
    written = []
    for name, build in builders.items():
        figure = build()
        if figure is not None:
            written.append(save_figure(figure, folder / f"{name}.png", pdf=pdf))
    return written
