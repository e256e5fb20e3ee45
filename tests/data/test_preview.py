"""Tests of the data-set preview grid (pavae.report.preview)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from pavae.data.dataset import RadiographDataset
from pavae.data.phantom import CLASS_NAMES, make_procedural_dataset
from pavae.report import preview
from pavae.report.preview import draw_preview


@pytest.fixture(scope="module")
def dataset() -> RadiographDataset:
    return make_procedural_dataset(seed=7, scale=0.02)


def _captured_figure(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    figures: list[Figure] = []
    original = preview._draw_grid

    def capture(*args, **kwargs):
        figure = original(*args, **kwargs)
        figures.append(figure)
        return figure

    monkeypatch.setattr(preview, "_draw_grid", capture)
    return figures


def test_preview_writes_png(dataset, tmp_path):
    out = draw_preview(dataset, tmp_path / "grid.png", per_class=6)
    assert out == tmp_path / "grid.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(out)
    height, width = pixels.shape[:2]
    assert 300 < height < 600
    assert 700 < width < 1100
    assert width > height  # six columns, three rows


def test_preview_one_row_per_class(dataset, tmp_path, monkeypatch):
    figures = _captured_figure(monkeypatch)
    draw_preview(dataset, tmp_path / "grid.png", per_class=4)
    axes = np.array(figures[0].axes).reshape(len(CLASS_NAMES), 4)
    assert [row[0].get_ylabel() for row in axes] == list(CLASS_NAMES)
    assert all(len(axis.images) == 1 for axis in axes.ravel())


def test_preview_outlines_only_lesion_masks(dataset, tmp_path, monkeypatch):
    figures = _captured_figure(monkeypatch)
    draw_preview(dataset, tmp_path / "grid.png", per_class=3)
    axes = np.array(figures[0].axes).reshape(len(CLASS_NAMES), 3)
    outlined = [[bool(axis.collections) for axis in row] for row in axes]
    assert outlined[0] == [False, False, False]  # healthy: empty masks
    assert all(all(row) for row in outlined[1:])


def test_preview_without_outlines(dataset, tmp_path, monkeypatch):
    figures = _captured_figure(monkeypatch)
    draw_preview(dataset, tmp_path / "grid.png", per_class=3, outline_masks=False)
    assert not any(axis.collections for axis in figures[0].axes)


def test_preview_preprocessed(dataset, tmp_path, monkeypatch):
    figures = _captured_figure(monkeypatch)
    draw_preview(dataset, tmp_path / "grid.png", per_class=2, split="val", preprocessed=True)
    image = figures[0].axes[0].images[0].get_array()
    assert float(image.min()) >= 0.0
    assert float(image.max()) <= 1.0


def test_preview_short_class_leaves_empty_cells(dataset, tmp_path, monkeypatch):
    figures = _captured_figure(monkeypatch)
    test_counts = dataset.counts()["test"]
    per_class = max(test_counts[name] for name in CLASS_NAMES) + 2
    draw_preview(dataset, tmp_path / "grid.png", per_class=per_class, split="test")
    axes = np.array(figures[0].axes).reshape(len(CLASS_NAMES), per_class)
    for row, name in zip(axes, CLASS_NAMES):
        assert sum(len(axis.images) for axis in row) == test_counts[name]


def test_preview_failure_leaves_no_file(dataset, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        draw_preview(dataset, tmp_path / "grid.png")
    assert list(tmp_path.iterdir()) == []


def test_preview_failure_keeps_previous_file(dataset, tmp_path, monkeypatch):
    target = tmp_path / "grid.png"
    target.write_bytes(b"previous")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(OSError):
        draw_preview(dataset, target)
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    "arguments",
    [{"split": "training"}, {"per_class": 0}, {"out_name": "grid.jpg"}],
)
def test_preview_invalid_arguments_rejected(dataset, tmp_path, arguments):
    out_name = arguments.pop("out_name", "grid.png")
    with pytest.raises(ValueError):
        draw_preview(dataset, tmp_path / out_name, **arguments)
    assert list(tmp_path.iterdir()) == []
