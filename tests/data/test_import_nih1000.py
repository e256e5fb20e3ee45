"""Tests of the chestxray14 importer on NIH1000: 1,000 real ChestX-ray14 images at 64 x 64.

The data lives outside the repository; the tests are skipped when it is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from pavae.data.importers import import_dataset
from tests.conftest import SHARED_DATA

NIH1000 = SHARED_DATA / "nih1000"
# Findings that show as a localised increase in lung density on a radiograph. Effusion is kept
# because it opacifies the lower zones. Cardiomegaly, Emphysema, Hernia, Pneumothorax, Fibrosis,
# Pleural_Thickening and Edema are left out: they change size, shape or air content, or are diffuse.
OPACITY_FINDINGS = "Atelectasis,Consolidation,Infiltration,Pneumonia,Mass,Nodule,Effusion"

pytestmark = pytest.mark.skipif(
    not (NIH1000 / "Data_Entry_2017.csv").is_file(), reason=f"NIH1000 data not found at {NIH1000}"
)


def table_counts(findings: set[str] | None):
    """Count healthy and positive rows of the label table directly, as the importer should."""
    healthy = positive = 0
    with open(NIH1000 / "Data_Entry_2017.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            labels = row["Finding Labels"].split("|")
            if labels == ["No Finding"]:
                healthy += 1
            elif findings is None or findings & set(labels):
                positive += 1
    return healthy, positive


@pytest.fixture(scope="module")
def all_findings(tmp_path_factory):
    out = tmp_path_factory.mktemp("nih") / "nih1000.npz"
    return import_dataset(
        "chestxray14",
        NIH1000 / "images",
        NIH1000 / "Data_Entry_2017.csv",
        out=out,
        bbox=NIH1000 / "BBox_List_2017.csv",
    )


def test_all_findings_counts(all_findings):
    healthy, positive = table_counts(None)

    assert len(all_findings.images) == 1000
    assert all_findings.class_names == ("healthy", "abnormal")
    # The README rounds to 500/500; the label table has 499 "No Finding" rows.
    assert np.bincount(all_findings.labels).tolist() == [healthy, positive] == [499, 501]
    assert all_findings.images.shape == (1000, 64, 64)
    assert all_findings.metadata["skipped"] == {}


def test_patient_level_split_holds(all_findings):
    assert all_findings.metadata["patient_level_split"] is True
    for patient in np.unique(all_findings.patient_ids):
        assert len(set(all_findings.split[all_findings.patient_ids == patient])) == 1, patient
    counts = all_findings.counts()
    for name, share in (("train", 0.6667), ("val", 0.1667), ("test", 0.1666)):
        for class_name, total in (("healthy", 499), ("abnormal", 501)):
            assert counts[name][class_name] == pytest.approx(share * total, abs=15), (name, class_name)


def test_boxes_give_masks(all_findings):
    with open(NIH1000 / "BBox_List_2017.csv", newline="") as handle:
        boxed = {row[0] for row in list(csv.reader(handle))[1:]}
    has_mask = all_findings.masks.reshape(1000, -1).any(axis=1)

    assert set(all_findings.image_ids[has_mask].tolist()) == boxed
    assert all_findings.labels[has_mask].min() == 1
    assert all_findings.metadata["boxes"]["used"] == 9


def test_images_are_gray_and_full_range(all_findings):
    assert all_findings.images.dtype == np.uint8
    assert all_findings.images.reshape(1000, -1).max(axis=1).min() == 255
    assert all_findings.images.reshape(1000, -1).min(axis=1).max() == 0


def test_opacity_findings_subset():
    dataset = import_dataset(
        "chestxray14", NIH1000 / "images", NIH1000 / "Data_Entry_2017.csv", findings=OPACITY_FINDINGS
    )
    healthy, positive = table_counts(set(OPACITY_FINDINGS.split(",")))

    assert np.bincount(dataset.labels).tolist() == [healthy, positive]
    assert positive < 501
    assert dataset.metadata["skipped"]["other_findings"] == 501 - positive
    for patient in np.unique(dataset.patient_ids):
        assert len(set(dataset.split[dataset.patient_ids == patient])) == 1, patient
