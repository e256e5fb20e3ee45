"""A whole study on a tiny data set: contract of metrics.json, figures, report, resume."""

import json
import math
import runpy

import numpy as np
import pytest

from pavae.config import resolve_config
from pavae.study.pipeline import run_study
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow

TINY = [
    "train.max_steps_per_epoch=2", "train.frozen_epochs=1", "train.val_fid_samples=30",
    "downstream.epochs=2", "eval.extractor_epochs=1", "eval.extractor_scale=0.02", "eval.fid_samples=60",
    "eval.ssim_images=20", "eval.kid_subsets=2", "eval.kid_subset_size=20", "model.base_channels=8",
]
CORE = ["auc", "sens_at_95_spec", "sens_at_val_threshold", "spec_at_val_threshold", "ece", "brier",
        "auc_ovr_macro", "accuracy"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_dataset_file):
    out = tmp_path_factory.mktemp("run")
    config = resolve_config("smoke", overrides=TINY + ["seeds=2"])
    content = run_study(config, out, tiny_dataset_file)
    return out, content


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_metrics_contract(finished_run):
    out, _ = finished_run
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("config", "environment", "dataset", "strategies", "timings"):
        assert key in metrics
    assert set(metrics["strategies"]) == {"real_only", "traditional", "standard_vae", "pa_vae"}
    for name, entry in metrics["strategies"].items():
        assert [row["seed"] for row in entry["per_seed"]] == [0, 1]
        wanted = CORE + ([] if name == "real_only" else ["fid_like", "ssim"])
        for row in entry["per_seed"]:
            for key in wanted:
                assert _finite(row[key]), (name, key)
            low, high = row["auc_ci95"]
            assert low <= row["auc"] <= high
        for key in wanted:
            assert _finite(entry["summary"][key]["mean"]) and _finite(entry["summary"][key]["std"])
    assert metrics["dataset"]["counts"]["train_labeled"]["total"] == 24
    assert set(metrics["comparisons"]) == {"traditional", "standard_vae", "pa_vae"}


def test_shared_contract_checker(finished_run):
    checker = SHARED_DATA.parent / "tools" / "check_metrics_contract.py"
    if not checker.exists():
        pytest.skip(f"{checker} not found; the shared contract checker is only present beside the repository")
    out, _ = finished_run
    assert runpy.run_path(str(checker))["check"](out, ["real_only", "traditional", "standard_vae", "pa_vae"]) == []


def test_figures_and_report(finished_run):
    out, _ = finished_run
    names = {path.name for path in (out / "figures").glob("*.png")}
    assert {"roc_curves.png", "metric_bars.png", "training_dynamics.png", "confusion_at_95_spec.png",
            "samples.png", "reliability.png", "template_differences.png"} <= names
    report = (out / "report.md").read_text()
    assert "| Real-only |" in report and "0.760" in report  # this run beside the paper's number
    assert "Does the paper's claim hold here?" in report


def test_units_written_atomically(finished_run):
    out, _ = finished_run
    for unit in ("data", "frozen", "eval_extractor", "generators/pa_vae/seed_1", "downstream/real_only/seed_0",
                 "evaluation/pa_vae/seed_0"):
        assert (out / unit / "unit.json").exists(), unit
    assert not (out / ".partial").exists()
    assert json.loads((out / "config.json").read_text())["profile"] == "smoke"


def test_rerun_reuses_every_unit(finished_run, tiny_dataset_file):
    out, first = finished_run
    config = resolve_config("smoke", overrides=TINY + ["seeds=2"])
    second = run_study(config, out, tiny_dataset_file)
    stages = second["timings"]["stages"]
    assert all(entry["units"] == 0 for entry in stages.values()), stages
    for name in first["strategies"]:
        assert second["strategies"][name]["per_seed"] == first["strategies"][name]["per_seed"]


def test_changed_setting_recomputes_only_downstream(finished_run, tiny_dataset_file, tmp_path):
    out, _ = finished_run
    config = resolve_config("smoke", overrides=TINY + ["seeds=2", "downstream.lr=5e-4",
                                                        "strategies=real_only,pa_vae"])
    content = run_study(config, out, tiny_dataset_file)
    stages = content["timings"]["stages"]
    assert stages["generators"]["units"] == 0
    assert stages["downstream"]["units"] == 4
    assert np.isfinite(content["strategies"]["pa_vae"]["summary"]["auc"]["mean"])
