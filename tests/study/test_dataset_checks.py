import dataclasses

import numpy as np
import pytest

from pavae.config import resolve_config
from pavae.study.pipeline import run_study
from pavae.study.stages import check_dataset_for_study, protocol_notes, small_split_warnings


def test_class_without_labelled_image_rejected(tiny_dataset):
    labeled = tiny_dataset.labeled & (tiny_dataset.labels != 2)
    broken = dataclasses.replace(tiny_dataset, labeled=labeled)
    with pytest.raises(ValueError, match=r"right_opacity.*data.labeled_fraction"):
        check_dataset_for_study(broken, needs_generator=True)


def test_generator_image_size_rejected(tiny_dataset):
    small = dataclasses.replace(
        tiny_dataset, images=tiny_dataset.images[:, :48, :48], masks=tiny_dataset.masks[:, :48, :48])
    with pytest.raises(ValueError, match="power-of-two side"):
        check_dataset_for_study(small, needs_generator=True)
    check_dataset_for_study(small, needs_generator=False)


def test_patient_clustering_noted(tiny_dataset):
    patients = np.array([f"p{i // 4}" for i in range(len(tiny_dataset.labels))])
    clustered = dataclasses.replace(tiny_dataset, patient_ids=patients)
    notes = protocol_notes(clustered)
    assert any("narrower than the patient-level uncertainty" in note for note in notes)
    assert any("fully labelled" in note for note in notes)
    assert not any("patient-level" in note for note in protocol_notes(tiny_dataset))


def test_dominant_validation_patient_noted(tiny_dataset):
    patients = np.array([f"p{i}" for i in range(len(tiny_dataset.labels))], dtype=object)
    val = tiny_dataset.indices("val")
    patients[val[: len(val) // 2]] = "p-many"
    notes = protocol_notes(dataclasses.replace(tiny_dataset, patient_ids=patients.astype(str)))
    assert any(note.startswith(f"One patient has {len(val) // 2} of the {len(val)} validation images") for note in notes)
    assert not any("validation images" in note for note in protocol_notes(tiny_dataset))


def test_small_split_warnings_count_images(tiny_dataset):
    labels = tiny_dataset.labels.copy()
    test_right = np.flatnonzero((tiny_dataset.split == "test") & (labels == 2))
    labels[test_right[1:]] = 0
    labelled_right = np.flatnonzero(tiny_dataset.labeled & (labels == 2))
    labels[labelled_right[1:]] = 0
    warnings_found = small_split_warnings(dataclasses.replace(tiny_dataset, labels=labels))
    assert "the test split has only 1 image of class 'right_opacity'. AUC and sensitivity" in " ".join(warnings_found)
    assert "only 1 labelled training image of class 'right_opacity'" in warnings_found


def test_split_warnings_limited_to_splits(tiny_dataset):
    labels = tiny_dataset.labels.copy()
    labels[np.flatnonzero((tiny_dataset.split == "test") & (labels == 2))[1:]] = 0
    changed = dataclasses.replace(tiny_dataset, labels=labels)
    assert any("test split" in warning for warning in small_split_warnings(changed))
    assert not any("test split" in warning for warning in small_split_warnings(changed, splits=("val",)))


@pytest.mark.slow
def test_run_without_generators(tmp_path, tiny_dataset_file):
    config = resolve_config("smoke", overrides=[
        "strategies=real_only,traditional", "downstream.epochs=1", "eval.extractor_epochs=1",
        "eval.extractor_scale=0.02", "eval.fid_samples=60", "eval.ssim_images=10", "eval.kid_subsets=2",
        "eval.kid_subset_size=20"])
    content = run_study(config, tmp_path, tiny_dataset_file)
    assert set(content["strategies"]) == {"real_only", "traditional"}
    assert not (tmp_path / "frozen").exists()
    assert np.isfinite(content["strategies"]["traditional"]["per_seed"][0]["fid_like"])


@pytest.mark.slow
def test_maskless_run_notes_skipped_mask_loss(tmp_path, tiny_dataset):
    path = tmp_path / "maskless.npz"
    dataclasses.replace(tiny_dataset, masks=np.zeros_like(tiny_dataset.masks)).save(path)
    config = resolve_config("smoke", overrides=[
        "strategies=pa_vae", "train.max_steps_per_epoch=2", "train.frozen_epochs=1", "train.val_fid_samples=30",
        "downstream.epochs=1", "eval.extractor_epochs=1", "eval.extractor_scale=0.02", "eval.fid_samples=60",
        "eval.ssim_images=10", "eval.kid_subsets=2", "eval.kid_subset_size=20", "model.base_channels=8"])
    content = run_study(config, tmp_path / "run", path)
    assert any(note.startswith("No labelled training image has a lesion mask") for note in content["notes"])
    assert "ran without L_mask" in (tmp_path / "run" / "report.md").read_text()
