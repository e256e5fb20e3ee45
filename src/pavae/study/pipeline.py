"""``pavae reproduce``: run every unit of the study, then write metrics.json, figures and report.md."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from pavae.config import StudyConfig
from pavae.study import aggregate
from pavae.study.evaluation import evaluation_unit
from pavae.study.stages import (
    build_context,
    data_unit,
    downstream_unit,
    extractor_unit,
    frozen_unit,
    generator_unit,
    protocol_notes,
    small_split_warnings,
)
from pavae.study.strategies import get_strategy
from pavae.study.units import UnitStore
from pavae.training.common import resolve_device
from pavae.utils.io import atomic_write_json, read_json

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
SCHEMA_VERSION = 1


def run_study(config: StudyConfig, out_dir: Path, data_path: Path | None = None) -> dict[str, Any]:
    """Run (or resume) the study described by ``config`` in ``out_dir`` and return metrics.json's content.

    Args:
        config: resolved configuration.
        out_dir: run folder; finished units found there are reused.
        data_path: data-set file; None makes the procedural data set.

    Returns:
        The dictionary written to ``out_dir/metrics.json``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"--out {out_dir} is a file; pass a folder for the run")
    device = resolve_device(config.device)
    store = UnitStore(out_dir)
    store.remove_partial_folder()
    # Results of an earlier call would describe other settings until this run finishes; units stay.
    for stale in (out_dir / METRICS_FILE, out_dir / "report.md"):
        if stale.exists():
            stale.unlink()
            log.info("removed the previous %s; this run writes a new one when it finishes", stale.name)
    atomic_write_json(out_dir / "config.json", config.to_dict())
    seeds = config.seed_values()
    strategies = [get_strategy(name) for name in config.strategies]
    log.info("study in %s on %s: strategies %s, seeds %s", out_dir, device,
             ", ".join(s.name for s in strategies), seeds)

    # Shared units: data, frozen networks (labelled subset only), evaluation extractor.
    ctx = build_context(store, config, data_unit(store, config, data_path), device)
    frozen_folder = frozen_unit(ctx) if any(s.kind == "vae" for s in strategies) else None
    extractor_folder = extractor_unit(ctx) if any(s.adds_images for s in strategies) else None

    # Per seed and strategy: generator, downstream classifier, evaluation.
    for seed in seeds:
        for strategy in strategies:
            generator_folder = generator_unit(ctx, strategy, seed, frozen_folder) if strategy.adds_images else None
            downstream_folder = downstream_unit(ctx, strategy, seed, generator_folder)
            evaluation_unit(ctx, strategy, seed, downstream_folder, generator_folder, extractor_folder)

    return write_outputs(out_dir, config, ctx, store, device, time.perf_counter() - started)


def write_outputs(out_dir: Path, config: StudyConfig, ctx, store: UnitStore, device: torch.device,
                  wall_seconds: float) -> dict[str, Any]:
    """Aggregate the evaluation units into metrics.json, validate it, and draw figures and the report."""
    from pavae.report.figures import draw_all
    from pavae.report.markdown import write_report
    from pavae.report.paper import PAPER
    from pavae.study.schema import validate_metrics

    seeds = config.seed_values()
    names = list(config.strategies)
    strategies = aggregate.collect_strategies(out_dir, names, seeds)
    notes = small_split_warnings(ctx.dataset) + protocol_notes(ctx.dataset)
    if "stylegan_lite" not in names:
        notes.append("StyleGAN-lite, the paper's GAN baseline, is not implemented in this version of pavae; its "
                     "published row is listed for reference only.")
    dataset_summary = ctx.dataset.summary()
    if (out_dir / "eval_extractor" / "unit.json").exists():
        dataset_summary["fid_extractor"] = read_json(out_dir / "eval_extractor" / "unit.json")["info"]["source"]
    frozen_record = out_dir / "frozen" / "unit.json"
    if frozen_record.exists():
        dataset_summary["frozen_networks"] = read_json(frozen_record)["info"]
        uses_mask = any(
            get_strategy(name).kind == "vae" and get_strategy(name).loss_config(config.loss).lambda_mask > 0
            for name in names
        )
        if uses_mask and dataset_summary["frozen_networks"].get("segmenter") is None:
            notes.append("No labelled training image has a lesion mask, so PA-VAE ran without L_mask and its lesion "
                         "segmenter. Only L_path, L_cls and the class-conditional prior set it apart from the "
                         "standard VAE in this run.")

    content: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": config.to_dict(),
        "environment": aggregate.environment(device),
        "dataset": dataset_summary,
        "timings": {"stages": store.stage_seconds(), "total_seconds": wall_seconds},
        "strategies": strategies,
        "comparisons": aggregate.paired_tests(out_dir, names, seeds),
        "ablations": aggregate.ablation_deltas(strategies),
        "paper": PAPER,
        "notes": notes,
    }
    validate_metrics(content)
    atomic_write_json(out_dir / METRICS_FILE, content)
    content["timings"]["figures_report_seconds"] = _draw(out_dir, content, draw_all, write_report)
    atomic_write_json(out_dir / METRICS_FILE, content)
    log.info("wrote %s, %s and figures/", out_dir / METRICS_FILE, out_dir / "report.md")
    store.remove_partial_folder()
    return content


def _draw(out_dir: Path, content: dict[str, Any], draw_all, write_report) -> float:
    started = time.perf_counter()
    draw_all(out_dir, content)
    write_report(out_dir, content)
    return time.perf_counter() - started
