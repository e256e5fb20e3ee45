"""Tests that every import error names the values and the option that helps, and leaves no output file."""

from __future__ import annotations

import csv

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, SecondaryCaptureImageStorage, generate_uid

from pavae.data.importers import DatasetImportError, import_dataset
from pavae.data.splits import SplitError


def write_png(path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16)).astype(np.uint8)).save(path)


def write_generic(tmp_path, classes, header=("file", "label")):
    rows = []
    for index, name in enumerate(classes):
        write_png(tmp_path / "images" / f"{index:02d}.png", index)
        rows.append([f"{index:02d}.png", name])
    with open(tmp_path / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def run_generic(tmp_path, **options):
    return import_dataset(
        "generic", tmp_path / "images", tmp_path / "labels.csv", out=tmp_path / "out.npz", negative_class="healthy", **options
    )


CLASSES = ["healthy"] * 12 + ["effusion"] * 12


def test_missing_images_listed(tmp_path):
    write_generic(tmp_path, CLASSES)
    for index in range(7):
        (tmp_path / "images" / f"{index:02d}.png").unlink()

    with pytest.raises(DatasetImportError, match=r"not found under --images .*00\.png, 01\.png, .*, \.\.\. \(7 in total\); pass --skip-invalid"):
        run_generic(tmp_path)
    assert not (tmp_path / "out.npz").exists()


def test_missing_images_skipped_on_request(tmp_path):
    write_generic(tmp_path, CLASSES)
    (tmp_path / "images" / "00.png").unlink()

    dataset = run_generic(tmp_path, skip_invalid=True)

    assert len(dataset.images) == 23
    assert dataset.metadata["skipped"] == {"missing": 1}
    assert (tmp_path / "out.npz").exists()


def test_unreadable_image_listed(tmp_path):
    write_generic(tmp_path, CLASSES)
    (tmp_path / "images" / "05.png").write_text("broken")

    with pytest.raises(DatasetImportError, match=r"unreadable images: .*05\.png: not a PNG.*\(1 in total\); pass --skip-invalid"):
        run_generic(tmp_path)
    assert not (tmp_path / "out.npz").exists()


def test_unreadable_image_skipped_on_request(tmp_path, caplog):
    write_generic(tmp_path, CLASSES)
    (tmp_path / "images" / "05.png").write_text("broken")

    dataset = run_generic(tmp_path, skip_invalid=True)

    assert len(dataset.images) == 23
    assert dataset.metadata["skipped"] == {"unreadable": 1}
    assert "skipped 1 unreadable images" in caplog.text


def test_failed_import_keeps_old_output(tmp_path):
    write_generic(tmp_path, CLASSES)
    (tmp_path / "out.npz").write_bytes(b"previous")
    (tmp_path / "images" / "05.png").write_text("broken")

    with pytest.raises(DatasetImportError):
        run_generic(tmp_path)
    assert (tmp_path / "out.npz").read_bytes() == b"previous"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".out.npz")] == []


def test_empty_label_listed(tmp_path):
    write_generic(tmp_path, CLASSES[:-1] + [""])

    with pytest.raises(DatasetImportError, match=r"empty 'file' or 'label' value: line 25 \(1 in total\)"):
        run_generic(tmp_path)
    assert not (tmp_path / "out.npz").exists()


def test_conflicting_labels_listed(tmp_path):
    write_generic(tmp_path, CLASSES)
    with open(tmp_path / "labels.csv", "a") as handle:
        handle.write("00.png,effusion\n")

    with pytest.raises(DatasetImportError, match=r"two different labels: 00\.png \('healthy' and 'effusion'\)"):
        run_generic(tmp_path)


def test_class_too_small(tmp_path):
    write_generic(tmp_path, CLASSES + ["mass", "mass"])

    with pytest.raises(SplitError, match=r"class 'mass' has 2 image\(s\).*--split-proportions"):
        run_generic(tmp_path)
    assert not (tmp_path / "out.npz").exists()


def test_negative_class_not_found(tmp_path):
    write_generic(tmp_path, ["clear"] * 12 + ["effusion"] * 12)

    with pytest.raises(DatasetImportError, match=r"no negative \(healthy\) class found among the values of column 'label': clear, effusion .*--negative-class"):
        import_dataset("generic", tmp_path / "images", tmp_path / "labels.csv", out=tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_negative_class_option_unknown(tmp_path):
    write_generic(tmp_path, CLASSES)

    with pytest.raises(DatasetImportError, match=r"--negative-class 'normal' is not among the values .*effusion, healthy"):
        import_dataset("generic", tmp_path / "images", tmp_path / "labels.csv", negative_class="normal")


def test_missing_column_named(tmp_path):
    write_generic(tmp_path, CLASSES, header=("filename_x", "label"))

    with pytest.raises(DatasetImportError, match=r"no column 'image' or .*'filename_x'.*--image-column"):
        run_generic(tmp_path)


def test_option_for_other_layout_rejected(tmp_path):
    write_generic(tmp_path, CLASSES)

    with pytest.raises(DatasetImportError, match=r"--finding is not used by --format generic; it applies to chexpert"):
        run_generic(tmp_path, finding="Edema")


def test_labels_required(tmp_path):
    (tmp_path / "images").mkdir()

    with pytest.raises(DatasetImportError, match=r"--format chexpert needs a label table: pass --labels"):
        import_dataset("chexpert", tmp_path / "images")


def test_unknown_option_name(tmp_path):
    with pytest.raises(TypeError, match=r"unknown import options \['labelled_fraction'\]"):
        import_dataset("folders", tmp_path, labelled_fraction=0.2)


def test_chexpert_unknown_label_value(tmp_path):
    write_png(tmp_path / "chexpert" / "train" / "patient00001" / "study1" / "view1_frontal.jpg", 0)
    (tmp_path / "train.csv").write_text(
        "Path,Frontal/Lateral,No Finding,Lung Opacity\n"
        "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Frontal,,2.0\n"
    )

    with pytest.raises(DatasetImportError, match=r"unknown label values \(expected 1\.0, 0\.0, -1\.0 or blank\): line 2: Lung Opacity='2\.0'"):
        import_dataset("chexpert", tmp_path / "chexpert", tmp_path / "train.csv", out=tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_chestxray14_invalid_findings(tmp_path):
    write_png(tmp_path / "images" / "a.png", 0)
    (tmp_path / "labels.csv").write_text(
        "Image Index,Finding Labels,Patient ID\na.png,No Finding|Mass,1\nb.png,,2\nc.png,Mass,3\n"
    )

    with pytest.raises(DatasetImportError, match=r"invalid 'Finding Labels' values .*line 2: 'No Finding\|Mass', line 3: '' \(2 in total\)"):
        import_dataset("chestxray14", tmp_path / "images", tmp_path / "labels.csv")


def test_chestxray14_unknown_findings_option(tmp_path):
    write_png(tmp_path / "images" / "a.png", 0)
    (tmp_path / "labels.csv").write_text("Image Index,Finding Labels,Patient ID\na.png,Mass,1\n")

    with pytest.raises(DatasetImportError, match=r"--findings names findings .*: Opacity; the table contains Mass"):
        import_dataset("chestxray14", tmp_path / "images", tmp_path / "labels.csv", findings="Mass,Opacity")


def test_compressed_dicom_without_decoder(tmp_path):
    from pydicom.pixels import get_decoder

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed")
    write_generic(tmp_path, CLASSES)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = JPEGLSLossless
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.Rows = dataset.Columns = 8
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
    dataset.PixelData = encapsulate([b"\xff\xd8" + b"\x00" * 30])
    dataset["PixelData"].VR = "OB"
    (tmp_path / "images" / "03.png").unlink()
    dataset.save_as(tmp_path / "images" / "03.png", enforce_file_format=True)

    with pytest.raises(DatasetImportError, match=r"03\.png: the pixel data is compressed with JPEG-LS .*pip install"):
        run_generic(tmp_path)
    assert not (tmp_path / "out.npz").exists()
    assert pydicom.dcmread(tmp_path / "images" / "03.png").file_meta.TransferSyntaxUID == JPEGLSLossless


@pytest.mark.parametrize("size", [1, 15, 100000])
def test_size_out_of_range_rejected(tmp_path, size):
    write_generic(tmp_path, CLASSES)

    with pytest.raises(DatasetImportError, match=rf"--size must lie between 16 and 1024 pixels, got {size}"):
        run_generic(tmp_path, size=size)
    assert not (tmp_path / "out.npz").exists()


def test_output_folder_rejected(tmp_path):
    write_generic(tmp_path, CLASSES)
    (tmp_path / "out.npz").mkdir()

    with pytest.raises(DatasetImportError, match=r"--out .*out\.npz is a folder"):
        run_generic(tmp_path)


def test_labels_folder_rejected(tmp_path):
    write_generic(tmp_path, CLASSES)

    with pytest.raises(DatasetImportError, match=r"--labels .* is a folder: pass the CSV file inside it"):
        import_dataset("generic", tmp_path / "images", tmp_path / "images", out=tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()
