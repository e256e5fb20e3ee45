from pavae.report.markdown import below_chance, claim_status, profile_caveat


def _result(p_values, deltas):
    per_seed = [{"seed": i, "p_value": p, "auc_a": 0.7 + d, "auc_b": 0.7} for i, (p, d) in enumerate(zip(p_values, deltas))]
    better = sum(1 for row in per_seed if row["p_value"] < 0.05 and row["auc_a"] > row["auc_b"])
    worse = sum(1 for row in per_seed if row["p_value"] < 0.05 and row["auc_a"] < row["auc_b"])
    return {"per_seed": per_seed, "seeds_significantly_better": better, "seeds_significantly_worse": worse,
            "mean_auc_difference": sum(deltas) / len(deltas)}


def test_significant_at_every_seed_is_supported():
    assert claim_status(_result([0.01, 0.02, 0.001], [0.05, 0.04, 0.06])).startswith("supported")


def test_nonsignificant_loss_is_not_a_refutation():
    status = claim_status(_result([0.87], [-0.006]))
    assert status.startswith("not supported")
    assert "refut" not in status
    assert "contradicted" not in status


def test_significant_loss_at_every_seed_contradicts():
    assert claim_status(_result([0.01, 0.001], [-0.05, -0.04])).startswith("contradicted")


def test_mixed_significance_is_partial():
    assert claim_status(_result([0.01, 0.5, 0.3], [0.05, 0.01, 0.02])).startswith("partly supported")


def test_smoke_caveat_describes_its_own_settings():
    content = {
        "config": {"profile": "smoke", "data": {"scale": 0.1},
                   "train": {"epochs": 1, "max_steps_per_epoch": 8, "frozen_epochs": 4},
                   "downstream": {"epochs": 4}},
        "dataset": {"source": "chestxray14", "counts": {split: {"total": 100} for split in ("train", "val", "test")}},
    }
    caveat = profile_caveat(content)
    assert "chestxray14 data, 300 images" in caveat
    assert "at most 1 epoch(s) of at most 8 steps" in caveat
    assert "downstream classifier 4 epochs" in caveat
    content["config"]["profile"] = "quick"
    assert profile_caveat(content) is None


def test_below_chance_flags_interval_under_half():
    content = {"strategies": {
        "real_only": {"label": "Real-only", "per_seed": [{"seed": 0, "auc_ci95": [0.32, 0.49]},
                                                         {"seed": 1, "auc_ci95": [0.45, 0.55]}]},
        "pa_vae": {"label": "PA-VAE", "per_seed": [{"seed": 0, "auc_ci95": [0.6, 0.7]}]},
    }}
    lines = below_chance(content)
    assert len(lines) == 1
    assert lines[0].startswith("- Real-only scored below chance")
    assert "seed(s) 0." in lines[0]
