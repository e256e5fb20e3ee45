import json

import numpy as np
import pytest
from PIL import Image

from pavae.cli import build_parser, main
from pavae.data.dataset import RadiographDataset

SMALL = ["--profile", "smoke", "--set", "train.max_steps_per_epoch=2", "--set", "train.frozen_epochs=1",
         "--set", "train.val_fid_samples=30", "--set", "model.base_channels=8"]


def test_data_make_writes_table1_proportions(tmp_path, capsys):
    out = tmp_path / "ph.npz"
    assert main(["data", "make", "--out", str(out), "--seed", "7", "--scale", "0.02"]) == 0
    dataset = RadiographDataset.load(out)
    counts = dataset.counts()
    assert counts["train"]["healthy"] == 2 * counts["train"]["left_opacity"]
    assert dataset.metadata["seed"] == 7
    assert "wrote" in capsys.readouterr().out


def test_data_preview_writes_png(tmp_path, tiny_dataset_file):
    out = tmp_path / "preview.png"
    assert main(["data", "preview", str(tiny_dataset_file), "--out", str(out), "--per-class", "3"]) == 0
    assert Image.open(out).size[0] > 100


@pytest.mark.slow
def test_train_then_sample(tmp_path, tiny_dataset_file):
    run = tmp_path / "gen"
    assert main(["train", "--strategy", "pa_vae", "--data", str(tiny_dataset_file), "--out", str(run), *SMALL]) == 0
    assert (run / "generators" / "pa_vae" / "seed_0" / "generator.pt").exists()

    npz = tmp_path / "s.npz"
    assert main(["sample", "--checkpoint", str(run), "--class", "left_opacity", "-n", "5", "--out", str(npz)]) == 0
    with np.load(npz) as samples:
        assert samples["images"].shape == (5, 64, 64)
        assert samples["images"].dtype == np.uint8
        assert set(samples["labels"].tolist()) == {1}

    with pytest.raises(ValueError, match="this generator knows"):
        main(["-vv", "sample", "--checkpoint", str(run), "--class", "pneumonia", "--out", str(tmp_path / "x.npz")])

    folder = tmp_path / "pngs"
    assert main(["sample", "--checkpoint", str(run), "--class", "healthy", "-n", "3", "--out", str(folder)]) == 0
    assert len(list(folder.glob("healthy_*.png"))) == 3


def test_sample_without_checkpoint_is_an_error(tmp_path, capsys):
    assert main(["sample", "--checkpoint", str(tmp_path), "--class", "x", "--out", str(tmp_path / "a.npz")]) == 2
    assert "no generator checkpoint" in capsys.readouterr().err


def test_reproduce_rejects_unknown_key(tmp_path, capsys):
    code = main(["reproduce", "--profile", "smoke", "--out", str(tmp_path), "--set", "train.speed=3"])
    assert code == 2
    assert "unknown configuration key 'train.speed'" in capsys.readouterr().err


def test_report_rebuilds_from_metrics(tmp_path, capsys):
    assert main(["report", "--run", str(tmp_path)]) == 2
    assert "metrics.json not found" in capsys.readouterr().err


def test_list_keys(capsys):
    assert main(["reproduce", "--list-keys"]) == 0
    keys = capsys.readouterr().out.split()
    assert "data.labeled_fraction" in keys and "train.lr" in keys


def test_sample_rejects_nan_temperature(tmp_path, capsys):
    code = main(["sample", "--checkpoint", str(tmp_path), "--class", "x", "--temperature", "nan",
                 "--out", str(tmp_path / "a.npz")])
    assert code == 2
    assert "--temperature must be a positive finite number, got nan" in capsys.readouterr().err


def test_make_into_folder_is_an_error(tmp_path, capsys):
    code = main(["data", "make", "--out", str(tmp_path), "--scale", "0.01"])
    assert code == 2
    assert "is a folder, not an output file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["-q", "data", "make", "--out", "d.npz"],
    ["data", "make", "--out", "d.npz", "-q"],
    ["report", "--run", "r", "--quiet"],
])
def test_quiet_option_either_side_of_command(argv):
    args = build_parser().parse_args(argv)
    assert args.quiet is True
    assert args.verbose == 0


def test_verbose_option_after_command():
    assert build_parser().parse_args(["data", "make", "--out", "d.npz", "-vv"]).verbose == 2
    assert build_parser().parse_args(["-v", "data", "make", "--out", "d.npz"]).verbose == 1
