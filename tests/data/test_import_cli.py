"""Tests of ``pavae data import`` through the command-line entry point."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pavae.cli import main
from pavae.data.dataset import RadiographDataset


def make_folders(root, per_class: int = 9) -> None:
    for name in ("normal", "nodule"):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            pixels = np.random.default_rng(index + (100 if name == "nodule" else 0)).integers(0, 256, (20, 20))
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{index}.png")


def test_cli_import_writes_file(tmp_path, capsys):
    make_folders(tmp_path / "images")
    out = tmp_path / "data" / "folders.npz"

    status = main(
        ["-q", "data", "import", "--format", "folders", "--images", str(tmp_path / "images"), "--out", str(out),
         "--size", "16", "--seed", "3", "--labeled-fraction", "0.5", "--split-proportions", "0.5,0.25,0.25"]
    )

    dataset = RadiographDataset.load(out)
    assert status == 0
    assert f"wrote {out}: 18 images" in capsys.readouterr().out
    assert dataset.class_names == ("normal", "nodule")
    assert dataset.images.shape == (18, 16, 16)
    assert dataset.metadata["import_options"]["split_proportions"] == [0.5, 0.25, 0.25]
    assert dataset.metadata["seed"] == 3


def test_cli_import_error_exit_status(tmp_path, capsys):
    make_folders(tmp_path / "images")
    (tmp_path / "images" / "nodule" / "3.png").write_text("broken")
    out = tmp_path / "folders.npz"

    status = main(["-q", "data", "import", "--format", "folders", "--images", str(tmp_path / "images"), "--out", str(out)])

    assert status == 2
    assert "unreadable images" in capsys.readouterr().err
    assert not out.exists()


def test_cli_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["data", "import", "--help"])

    assert exit_status.value.code == 0
    text = capsys.readouterr().out
    for option in ("--bbox-frame", "--lateralize", "--uncertain", "--split-proportions", "--voi-lut", "examples:"):
        assert option in text
