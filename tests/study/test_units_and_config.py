import json
import os

import pytest

from pavae.config import apply_override, config_from_dict, known_keys, resolve_config
from pavae.study.units import UnitStore


def test_unit_runs_once_and_is_reused(tmp_path):
    store = UnitStore(tmp_path)
    calls = []

    def work(folder):
        calls.append(folder)
        (folder / "out.txt").write_text("done")
        return {"value": 1}

    final = store.run("a/b", "fp1", "stage", work)
    assert (final / "out.txt").read_text() == "done"
    assert json.loads((final / "unit.json").read_text())["fingerprint"] == "fp1"
    UnitStore(tmp_path).run("a/b", "fp1", "stage", work)
    assert len(calls) == 1


def test_unit_with_new_fingerprint_replaces_stale(tmp_path):
    store = UnitStore(tmp_path)
    store.run("u", "old", "s", lambda folder: (folder / "v.txt").write_text("old") and None)
    store.run("u", "new", "s", lambda folder: (folder / "v.txt").write_text("new") and None)
    assert (tmp_path / "u" / "v.txt").read_text() == "new"
    assert not list(tmp_path.glob(".u.stale*"))


def test_failed_unit_leaves_nothing(tmp_path):
    store = UnitStore(tmp_path)

    def broken(folder):
        (folder / "half.txt").write_text("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        store.run("u", "fp", "s", broken)
    assert not (tmp_path / "u").exists()
    assert not list((tmp_path / ".partial").iterdir())


def test_overrides_by_group_and_types():
    config = resolve_config("smoke", overrides=["data.labeled_fraction=0.5", "train.lr=5e-4", "loss.class_prior=false"])
    assert config.data.labeled_fraction == 0.5
    assert config.train.lr == 5e-4
    assert config.loss.class_prior is False
    assert config.data.scale == 0.1  # from the smoke profile
    apply_override(config, "strategies", "real_only,pa_vae")
    assert config.strategies == ("real_only", "pa_vae")


def test_override_errors_name_the_key():
    with pytest.raises(KeyError, match="train group has"):
        resolve_config("smoke", overrides=["train.learning_rate=1"])
    with pytest.raises(ValueError, match="train.epochs expects a int"):
        resolve_config("smoke", overrides=["train.epochs=many"])
    with pytest.raises(ValueError, match="key=value"):
        resolve_config("smoke", overrides=["train.lr"])
    with pytest.raises(ValueError, match="synthetic_ratio"):
        resolve_config("smoke", overrides=["downstream.synthetic_ratio=2"])
    with pytest.raises(ValueError, match="unknown strategies"):
        resolve_config("smoke", overrides=["strategies=real_only,gan"])


def test_config_round_trip_and_file(tmp_path):
    config = resolve_config("quick", overrides=["model.latent_dim=16"])
    assert config_from_dict(json.loads(json.dumps(config.to_dict()))) == config
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"loss": {"beta": 2.0}, "seeds": 2}))
    from_file = resolve_config("smoke", config_file=path)
    assert from_file.loss.beta == 2.0 and from_file.seeds == 2
    assert "downstream.synthetic_ratio" in known_keys()


def test_leftovers_of_dead_processes_removed(tmp_path):
    store = UnitStore(tmp_path)
    dead = tmp_path / ".partial" / "frozen.999999999"
    alive = tmp_path / ".partial" / f"data.{os.getpid()}"
    dead.mkdir(parents=True)
    alive.mkdir()
    store.remove_partial_folder()
    assert not dead.exists()
    assert alive.exists()
    alive.rmdir()
    store.remove_partial_folder()
    assert not (tmp_path / ".partial").exists()


def test_empty_strategy_list_rejected():
    with pytest.raises(ValueError, match="strategies is empty"):
        resolve_config("smoke", overrides=["strategies="])
