"""Tests of box-to-mask geometry, box tables and --lateralize."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pavae.data.importers import DatasetImportError, import_dataset
from pavae.data.importers.boxes import box_to_mask, lesion_side, parse_frame, read_boxes
from pavae.data.importers.common import Box
from pavae.data.readers import square_window

CXR14_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)
BBOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"


def expected_mask(size, rows, columns):
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[rows[0] : rows[1], columns[0] : columns[1]] = 1
    return mask


# -------------------------------------------------------------------- geometry
def test_box_in_1024_frame_to_64():
    box = Box(x=512, y=256, width=256, height=128)

    from_small_file = box_to_mask(box, (1024, 1024), (64, 64), square_window(64, 64), 64)
    from_full_file = box_to_mask(box, (1024, 1024), (1024, 1024), square_window(1024, 1024), 64)

    np.testing.assert_array_equal(from_small_file, expected_mask(64, (16, 24), (32, 48)))
    np.testing.assert_array_equal(from_full_file, from_small_file)


def test_box_on_cropped_wide_original():
    # Original 1280 x 1024 (W x H), stored at 80 x 64; the centre crop drops 8 file columns on each side.
    box = Box(x=640, y=512, width=128, height=256)
    window = square_window(64, 80, "crop")

    mask = box_to_mask(box, (1280, 1024), (64, 80), window, 32)

    assert window.left == 8
    np.testing.assert_array_equal(mask, expected_mask(32, (16, 24), (16, 20)))


def test_box_on_padded_wide_original():
    box = Box(x=640, y=512, width=128, height=256)
    window = square_window(64, 80, "pad")

    mask = box_to_mask(box, (1280, 1024), (64, 80), window, 40)

    # File rows 32..48 move down by the 8 padded rows and scale by 40/80.
    np.testing.assert_array_equal(mask, expected_mask(40, (20, 28), (20, 24)))


def test_box_cropped_away_gives_empty_mask():
    box = Box(x=0, y=100, width=100, height=100)

    mask = box_to_mask(box, (1280, 1024), (64, 80), square_window(64, 80, "crop"), 32)

    assert mask.sum() == 0


def test_tiny_box_keeps_one_pixel():
    mask = box_to_mask(Box(x=500, y=500, width=4, height=4), (1024, 1024), (64, 64), square_window(64, 64), 64)

    assert mask.sum() == 1
    assert mask[31, 31] == 1


def test_lesion_side_from_centroid():
    image_right = expected_mask(64, (20, 30), (40, 50))
    image_left = expected_mask(64, (20, 30), (10, 20))
    centred = expected_mask(64, (20, 30), (30, 34))

    assert lesion_side(image_right) == "left"
    assert lesion_side(image_left) == "right"
    assert lesion_side(centred) is None
    assert lesion_side(np.zeros((8, 8))) is None


def test_parse_frame_values():
    assert parse_frame("1024x1024") == (1024.0, 1024.0)
    assert parse_frame("Original") == "original"
    with pytest.raises(DatasetImportError, match="--bbox-frame must be"):
        parse_frame("big")


def test_read_boxes_bracketed_header(tmp_path):
    path = tmp_path / "BBox_List_2017.csv"
    path.write_text(BBOX_HEADER + "\na.png,Atelectasis,1.5,2,3,4\na.png,Mass,5,6,7,8\nb.png,Infiltrate,1,1,1,1\n")

    boxes = read_boxes(path)

    assert boxes["a.png"] == [Box(1.5, 2, 3, 4, "Atelectasis"), Box(5, 6, 7, 8, "Mass")]
    assert boxes["b.png"][0].finding == "Infiltrate"


def test_read_boxes_rejects_bad_numbers(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text(BBOX_HEADER + "\na.png,Mass,1,2,-3,4\nb.png,Mass,x,2,3,4\n")

    with pytest.raises(DatasetImportError, match=r"invalid box coordinates.*line 2.*line 3.*\(2 in total\)"):
        read_boxes(path)


# ---------------------------------------------------------------- import runs
def make_boxed_chestxray14(tmp_path, shape=(64, 64), original="1024,1024"):
    """Write 20 images: 8 healthy, 6 with a box on the image right, 6 on the image left; 2 more positives without box."""
    lines, boxes = [CXR14_HEADER], [BBOX_HEADER]
    for index in range(22):
        name = f"{index:08d}_000.png"
        pixels = np.random.default_rng(index).integers(0, 256, shape + (3,)).astype(np.uint8)
        (tmp_path / "images").mkdir(exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / "images" / name)
        finding = "No Finding" if index < 8 else "Effusion|Cardiomegaly"
        lines.append(f"{name},{finding},0,{index},50,F,PA,{original},0.143,0.143")
        if 8 <= index < 14:
            boxes.append(f"{name},Effusion,700,500,200,200")
        elif 14 <= index < 20:
            boxes.append(f"{name},Effusion,100,500,200,200")
    boxes.append("00000020_000.png,Cardiomegaly,300,300,400,300")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "boxes.csv").write_text("\n".join(boxes) + "\n")


def test_import_boxes_become_masks(tmp_path):
    make_boxed_chestxray14(tmp_path)

    dataset = import_dataset(
        "chestxray14", tmp_path / "images", tmp_path / "labels.csv", bbox=tmp_path / "boxes.csv", size=32
    )

    index = dataset.image_ids.tolist().index("00000008_000.png")
    np.testing.assert_array_equal(dataset.masks[index], expected_mask(32, (16, 22), (22, 28)))
    has_mask = dataset.masks.reshape(len(dataset.masks), -1).any(axis=1)
    assert has_mask.sum() == 13
    assert not has_mask[dataset.labels == 0].any()
    assert dataset.metadata["boxes"]["used"] == 13


def test_import_findings_filter_boxes(tmp_path):
    make_boxed_chestxray14(tmp_path)

    dataset = import_dataset(
        "chestxray14", tmp_path / "images", tmp_path / "labels.csv", bbox=tmp_path / "boxes.csv", findings="Effusion"
    )

    index = dataset.image_ids.tolist().index("00000020_000.png")
    assert dataset.masks[index].sum() == 0
    assert dataset.metadata["boxes"]["outside_findings"] == 1


def test_import_original_frame_with_crop(tmp_path):
    make_boxed_chestxray14(tmp_path, shape=(64, 80), original="1280,1024")

    dataset = import_dataset(
        "chestxray14",
        tmp_path / "images",
        tmp_path / "labels.csv",
        bbox=tmp_path / "boxes.csv",
        bbox_frame="original",
        size=32,
    )

    # x 700..900 of 1280 -> file 43.75..56.25 -> crop 35.75..48.25 of 64 -> output 17.9..24.1.
    index = dataset.image_ids.tolist().index("00000008_000.png")
    np.testing.assert_array_equal(dataset.masks[index], expected_mask(32, (16, 22), (18, 24)))


def test_import_lateralize_sides(tmp_path):
    make_boxed_chestxray14(tmp_path)

    dataset = import_dataset(
        "chestxray14",
        tmp_path / "images",
        tmp_path / "labels.csv",
        bbox=tmp_path / "boxes.csv",
        findings="Effusion",
        lateralize=True,
        skip_invalid=True,
        size=32,
    )

    names = [dataset.class_names[k] for k in dataset.labels]
    by_id = dict(zip(dataset.image_ids.tolist(), names))
    assert dataset.class_names == ("healthy", "left_abnormal", "right_abnormal")
    assert by_id["00000008_000.png"] == "left_abnormal"  # box on the image right = patient's left
    assert by_id["00000014_000.png"] == "right_abnormal"
    assert names.count("left_abnormal") == 6
    assert names.count("right_abnormal") == 6
    assert dataset.metadata["skipped"]["no_lesion_side"] == 2


def test_import_lateralize_without_box_stops(tmp_path):
    make_boxed_chestxray14(tmp_path)
    out = tmp_path / "lateral.npz"

    with pytest.raises(DatasetImportError, match=r"--lateralize.*00000020_000.png.*\(2 in total\).*--skip-invalid"):
        import_dataset(
            "chestxray14",
            tmp_path / "images",
            tmp_path / "labels.csv",
            out=out,
            bbox=tmp_path / "boxes.csv",
            findings="Effusion",
            lateralize=True,
        )
    assert not out.exists()


def test_import_box_outside_frame_stops(tmp_path):
    make_boxed_chestxray14(tmp_path)
    with open(tmp_path / "boxes.csv", "a") as handle:
        handle.write("00000021_000.png,Mass,2000,1500,300,300\n")
    out = tmp_path / "framed.npz"

    with pytest.raises(DatasetImportError, match=r"00000021_000.png: box x=2000.*1024x1024 frame.*--bbox-frame"):
        import_dataset("chestxray14", tmp_path / "images", tmp_path / "labels.csv", out=out, bbox=tmp_path / "boxes.csv")
    assert not out.exists()
