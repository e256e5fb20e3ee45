"""Tests of each import layout on small files written by the tests."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from pavae.data.dataset import SPLITS, RadiographDataset
from pavae.data.importers import import_dataset


def write_png(path, seed: int, shape=(24, 24), mode: str = "L") -> None:
    """Write a random image; ``mode`` "RGB" writes three identical channels as public copies do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)
    if mode == "RGB":
        pixels = np.stack([pixels] * 3, axis=-1)
    Image.fromarray(pixels).save(path)


def write_dicom(path, seed: int, patient_id: str, orientation=("L", "F"), preamble: bool = True) -> None:
    """Write a 12-bit MONOCHROME2 DICOM file with random pixels, a PatientID and a PatientOrientation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.PatientID = patient_id
    dataset.PatientOrientation = list(orientation)
    dataset.Rows = dataset.Columns = 24
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
    dataset.PixelData = np.random.default_rng(seed).integers(0, 4096, (24, 24)).astype(np.uint16).tobytes()
    if preamble:
        dataset.save_as(path, enforce_file_format=True)
    else:
        dataset.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def assert_patients_disjoint(dataset: RadiographDataset) -> None:
    for patient in np.unique(dataset.patient_ids):
        assert len(set(dataset.split[dataset.patient_ids == patient])) == 1, patient


# --------------------------------------------------------------------- generic
def make_generic(tmp_path):
    rows = []
    classes = ["none"] * 18 + ["effusion"] * 9 + ["mass"] * 9
    for index, name in enumerate(classes):
        relative = f"scans/{name}_{index:02d}.png"
        write_png(tmp_path / "images" / relative, index, mode="RGB" if index % 2 else "L")
        rows.append([relative, name, f"pt{index // 2:02d}" if name == "none" else f"pt{index:02d}"])
    write_csv(tmp_path / "labels.csv", ["file", "diagnosis", "patient"], rows)
    return classes


def test_generic_classes_and_patients(tmp_path):
    classes = make_generic(tmp_path)

    dataset = import_dataset(
        "generic",
        tmp_path / "images",
        tmp_path / "labels.csv",
        out=tmp_path / "out.npz",
        image_column="file",
        label_column="diagnosis",
        patient_column="patient",
        negative_class="none",
        size=16,
    )

    assert dataset.class_names == ("none", "effusion", "mass")
    assert dataset.images.shape == (36, 16, 16)
    assert np.bincount(dataset.labels).tolist() == [18, 9, 9]
    assert [dataset.class_names[k] for k in dataset.labels] == classes
    assert dataset.image_ids[0] == "scans/none_00.png"
    assert dataset.patient_ids[1] == "pt00"
    assert_patients_disjoint(dataset)
    assert not np.any(dataset.labeled & (dataset.split != "train"))
    assert dataset.metadata["source"] == "generic"
    assert dataset.metadata["import_options"]["negative_class"] == "none"
    assert dataset.metadata["orientation"].startswith("patient's left on the image's right")
    assert RadiographDataset.load(tmp_path / "out.npz").fingerprint() == dataset.fingerprint()


def test_generic_finds_columns_and_negative(tmp_path):
    rows = []
    for index in range(12):
        name = "normal" if index < 6 else "nodule"
        write_png(tmp_path / "images" / f"{index}.png", index)
        rows.append([f"{index}.png", name])
    write_csv(tmp_path / "labels.csv", ["image", "label"], rows)

    dataset = import_dataset("generic", tmp_path / "images", tmp_path / "labels.csv")

    assert dataset.class_names == ("normal", "nodule")
    assert dataset.patient_ids is None
    assert dataset.metadata["patient_level_split"] is False
    assert dataset.images.shape[1:] == (64, 64)


def test_generic_rsna_style_boxes(tmp_path):
    """One row per box, image ids without suffix, Target 0/1, boxes in the file's own pixels."""
    rows = []
    for index in range(12):
        write_png(tmp_path / "images" / f"id{index:02d}.png", index, shape=(128, 128))
        if index < 6:
            rows.append([f"id{index:02d}", "", "", "", "", "0"])
        else:
            rows.append([f"id{index:02d}", "80", "16", "32", "64", "1"])
            rows.append([f"id{index:02d}", "8", "16", "16", "16", "1"])
    write_csv(tmp_path / "train_labels.csv", ["patientId", "x", "y", "width", "height", "Target"], rows)

    dataset = import_dataset(
        "generic",
        tmp_path / "images",
        tmp_path / "train_labels.csv",
        image_column="patientId",
        label_column="Target",
        negative_class="0",
        bbox=tmp_path / "train_labels.csv",
        size=32,
    )

    positive = dataset.labels == 1
    assert dataset.class_names == ("0", "1")
    assert len(dataset.images) == 12
    assert dataset.metadata["skipped"]["duplicate_rows"] == 6
    assert dataset.masks[~positive].sum() == 0
    expected = np.zeros((32, 32), dtype=np.uint8)
    expected[4:20, 20:28] = 1
    expected[4:8, 2:6] = 1
    for mask in dataset.masks[positive]:
        np.testing.assert_array_equal(mask, expected)


# --------------------------------------------------------------------- folders
def test_folders_with_dicom_and_extra_files(tmp_path):
    root = tmp_path / "by_class"
    for index in range(10):
        write_png(root / "normal" / f"n{index}.png", index)
        write_png(root / "pneumonia" / "site_a" / f"p{index}.jpg", 100 + index)
    write_dicom(root / "pneumonia" / "IM0001", 7, "X1")
    write_dicom(root / "pneumonia" / "IM0002", 8, "X2", preamble=False)
    (root / "normal" / "README.txt").write_text("scanned in 2020")
    (root / "normal" / "NOTES").write_text("no suffix, not DICOM")
    (root / ".hidden").mkdir()

    dataset = import_dataset("folders", root, out=tmp_path / "folders.npz", size=16)

    assert dataset.class_names == ("normal", "pneumonia")
    assert np.bincount(dataset.labels).tolist() == [10, 12]
    assert "pneumonia/site_a/p0.jpg" in dataset.image_ids.tolist()
    assert "pneumonia/IM0001" in dataset.image_ids.tolist()
    assert "pneumonia/IM0002" in dataset.image_ids.tolist()  # DICOM without the 128-byte preamble
    assert dataset.metadata["skipped"] == {"not_image": 2}
    assert dataset.metadata["file_types"] == {"png": 10, "jpeg": 10, "dicom": 2}
    assert (tmp_path / "folders.npz").exists()


def test_folders_negative_class_option(tmp_path):
    for index in range(6):
        write_png(tmp_path / "img" / "clear" / f"{index}.png", index)
        write_png(tmp_path / "img" / "opacity" / f"{index}.png", 10 + index)
        write_png(tmp_path / "img" / "effusion" / f"{index}.png", 20 + index)

    dataset = import_dataset("folders", tmp_path / "img", negative_class="clear", size=16)

    assert dataset.class_names == ("clear", "effusion", "opacity")


def test_folders_dicom_patient_ids_group_split(tmp_path):
    for index in range(24):
        name = "healthy" if index < 12 else "abnormal"
        orientation = ("R", "F") if index == 5 else ("L", "F")
        write_dicom(tmp_path / "dcm" / name / f"{index}.dcm", index, patient_id=f"PAT{index // 2}", orientation=orientation)

    dataset = import_dataset("folders", tmp_path / "dcm", size=16)

    assert dataset.metadata["patient_id_source"] == "DICOM PatientID"
    assert dataset.metadata["mirrored_dicom_files"] == 1
    assert dataset.patient_ids[dataset.image_ids.tolist().index("healthy/3.dcm")] == "PAT1"
    assert_patients_disjoint(dataset)


# ----------------------------------------------------------------- chestxray14
CXR14_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)


def make_chestxray14(tmp_path, count: int = 36):
    findings = ["No Finding", "Effusion", "Cardiomegaly", "Nodule|Effusion", "Hernia", "No Finding"]
    lines = [CXR14_HEADER]
    for index in range(count):
        name = f"{index:08d}_000.png"
        folder = "images_001" if index % 2 else "images_002"
        write_png(tmp_path / "cxr" / folder / "images" / name, index, mode="RGB")
        lines.append(f"{name},{findings[index % 6]},0,{index // 2},50,M,PA,2500,2048,0.168,0.168")
    (tmp_path / "Data_Entry_2017.csv").write_text("\n".join(lines) + "\n")
    return findings


def test_chestxray14_all_findings(tmp_path):
    make_chestxray14(tmp_path)

    dataset = import_dataset("chestxray14", tmp_path / "cxr", tmp_path / "Data_Entry_2017.csv", size=16)

    assert dataset.class_names == ("healthy", "abnormal")
    assert np.bincount(dataset.labels).tolist() == [12, 24]
    assert dataset.image_ids[1] == "00000001_000.png"
    assert dataset.patient_ids[3] == "1"
    assert_patients_disjoint(dataset)
    assert dataset.metadata["source"] == "chestxray14"
    assert dataset.metadata["skipped"] == {}


def test_chestxray14_findings_subset(tmp_path):
    make_chestxray14(tmp_path)

    dataset = import_dataset(
        "chestxray14", tmp_path / "cxr", tmp_path / "Data_Entry_2017.csv", findings="effusion, Nodule", size=16
    )

    assert np.bincount(dataset.labels).tolist() == [12, 12]
    assert dataset.metadata["skipped"] == {"other_findings": 12}
    assert dataset.metadata["layout"]["findings"] == ["Effusion", "Nodule"]


# -------------------------------------------------------------------- chexpert
CHEXPERT_HEADER = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Lung Opacity", "Pleural Effusion"]


def make_chexpert(tmp_path):
    """Write 48 views: per patient a frontal and a lateral JPEG, with a mix of label cells."""
    cases = [
        ("1.0", "", ""),  # healthy
        ("", "1.0", ""),  # opacity
        ("", "-1.0", "1.0"),  # uncertain opacity
        ("", "0.0", "1.0"),  # effusion only: dropped
    ]
    rows = []
    for patient in range(24):
        no_finding, opacity, effusion = cases[patient % 4]
        for view in ("frontal", "lateral"):
            relative = f"train/patient{patient:05d}/study1/view{1 if view == 'frontal' else 2}_{view}.jpg"
            path = tmp_path / "chexpert" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = np.random.default_rng(patient).integers(0, 256, (20, 24)).astype(np.uint8)
            Image.fromarray(pixels).save(path)
            rows.append([f"CheXpert-v1.0-small/{relative}", "Female", "60", view.title(), "AP", no_finding, opacity, effusion])
    write_csv(tmp_path / "train.csv", CHEXPERT_HEADER, rows)


def test_chexpert_defaults(tmp_path):
    make_chexpert(tmp_path)

    dataset = import_dataset("chexpert", tmp_path / "chexpert", tmp_path / "train.csv", size=16)

    assert dataset.class_names == ("healthy", "lung_opacity")
    assert np.bincount(dataset.labels).tolist() == [6, 6]
    assert dataset.patient_ids[0] == "patient00000"
    assert dataset.image_ids[0] == "CheXpert-v1.0-small/train/patient00000/study1/view1_frontal.jpg"
    assert dataset.metadata["skipped"] == {"lateral_view": 24, "uncertain": 6, "other_findings": 6}
    assert_patients_disjoint(dataset)


@pytest.mark.parametrize(("policy", "counts"), [("positive", [6, 12]), ("negative", [12, 6])])
def test_chexpert_uncertain_policy(tmp_path, policy, counts):
    make_chexpert(tmp_path)

    dataset = import_dataset("chexpert", tmp_path / "chexpert", tmp_path / "train.csv", uncertain=policy, size=16)

    assert np.bincount(dataset.labels).tolist() == counts


def test_chexpert_lateral_and_other_finding(tmp_path):
    make_chexpert(tmp_path)

    dataset = import_dataset(
        "chexpert", tmp_path / "chexpert", tmp_path / "train.csv", finding="Pleural Effusion", include_lateral=True, size=16
    )

    assert dataset.class_names == ("healthy", "pleural_effusion")
    assert np.bincount(dataset.labels).tolist() == [12, 24]
    assert "lateral_view" not in dataset.metadata["skipped"]
    assert_patients_disjoint(dataset)


# -------------------------------------------------------------- shared options
def test_masks_folder_matched_by_stem(tmp_path):
    make_chestxray14(tmp_path)
    mask = np.zeros((24, 24), dtype=np.uint8)
    mask[6:18, 12:24] = 255
    (tmp_path / "masks" / "any").mkdir(parents=True)
    Image.fromarray(mask).save(tmp_path / "masks" / "any" / "00000001_000_mask.png")
    Image.fromarray(mask).save(tmp_path / "masks" / "00000003_000.png")
    Image.fromarray(mask).save(tmp_path / "masks" / "00000000_000.png")  # a "No Finding" image

    dataset = import_dataset(
        "chestxray14", tmp_path / "cxr", tmp_path / "Data_Entry_2017.csv", masks=tmp_path / "masks", size=24
    )

    with_mask = sorted(dataset.image_ids[dataset.masks.reshape(len(dataset.masks), -1).any(axis=1)].tolist())
    assert with_mask == ["00000001_000.png", "00000003_000.png"]
    index = dataset.image_ids.tolist().index("00000001_000.png")
    assert dataset.masks[index][6:18, 12:24].all()
    assert dataset.masks[index].sum() == 144
    assert dataset.metadata["mask_files"] == {"used": 2, "on_negative_images": 1}


def test_limit_draws_subset(tmp_path):
    make_chestxray14(tmp_path)

    dataset = import_dataset("chestxray14", tmp_path / "cxr", tmp_path / "Data_Entry_2017.csv", limit=20, size=16, seed=4)

    assert len(dataset.images) == 20
    assert dataset.metadata["skipped"]["limit"] == 16
    assert set(dataset.split.tolist()) == set(SPLITS)


def test_pad_fit_keeps_whole_image(tmp_path):
    make_chexpert(tmp_path)

    cropped = import_dataset("chexpert", tmp_path / "chexpert", tmp_path / "train.csv", size=24, fit="crop")
    padded = import_dataset("chexpert", tmp_path / "chexpert", tmp_path / "train.csv", size=24, fit="pad")

    # The 20 x 24 source is padded by two rows at the top and bottom, which take the image minimum.
    assert padded.images[:, :2].max() == 0
    assert padded.images[:, -2:].max() == 0
    assert cropped.images[:, :, :2].max() > 0


def test_dicom_shared_patient_id_splits_by_image(tmp_path, caplog):
    for index in range(24):
        name = "healthy" if index < 12 else "abnormal"
        write_dicom(tmp_path / "dcm" / name / f"{index}.dcm", index, patient_id="ANONYMOUS")

    dataset = import_dataset("folders", tmp_path / "dcm", size=16)

    assert dataset.patient_ids is None
    assert dataset.metadata["patient_level_split"] is False
    assert "carry the PatientID 'ANONYMOUS'" in caplog.text


def test_generic_lateralize_several_classes_with_masks(tmp_path):
    rows = []
    for index in range(30):
        name = ["healthy", "mass", "nodule"][index % 3]
        write_png(tmp_path / "images" / f"{index:02d}.png", index, shape=(32, 32))
        rows.append([f"{index:02d}.png", name])
        if name != "healthy":
            mask = np.zeros((32, 32), dtype=np.uint8)
            side = (index // 3) % 2  # alternate: image right, image left
            mask[10:20, 20:28] = 255 if side == 0 else 0
            mask[10:20, 4:12] = 255 if side == 1 else 0
            (tmp_path / "masks").mkdir(exist_ok=True)
            Image.fromarray(mask).save(tmp_path / "masks" / f"{index:02d}.png")
    write_csv(tmp_path / "labels.csv", ["image", "label"], rows)

    dataset = import_dataset(
        "generic", tmp_path / "images", tmp_path / "labels.csv", masks=tmp_path / "masks", lateralize=True, size=16
    )

    assert dataset.class_names == ("healthy", "left_mass", "right_mass", "left_nodule", "right_nodule")
    names = dict(zip(dataset.image_ids.tolist(), (dataset.class_names[k] for k in dataset.labels)))
    assert names["01.png"] == "left_mass"  # mask on the image right
    assert names["04.png"] == "right_mass"
    assert names["02.png"] == "left_nodule"
    assert names["05.png"] == "right_nodule"
    assert np.bincount(dataset.labels).tolist() == [10, 5, 5, 5, 5]
