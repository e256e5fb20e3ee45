import numpy as np
import pytest

from pavae.data.dataset import DatasetFormatError, RadiographDataset


def _small(n=12, **changes):
    arrays = dict(
        images=np.zeros((n, 8, 8), np.uint8),
        labels=np.arange(n) % 2,
        class_names=("healthy", "abnormal"),
        masks=np.zeros((n, 8, 8), np.uint8),
        split=np.array(["train"] * (n - 4) + ["val"] * 2 + ["test"] * 2),
        labeled=np.array([True, True] + [False] * (n - 2)),
        metadata={"source": "test"},
    )
    arrays.update(changes)
    return RadiographDataset(**arrays)


def test_save_load_round_trip(tmp_path):
    dataset = _small(patient_ids=np.array([f"p{i}" for i in range(12)]))
    path = dataset.save(tmp_path / "d.npz")
    loaded = RadiographDataset.load(path)
    assert loaded.fingerprint() == dataset.fingerprint()
    assert loaded.metadata["source"] == "test"
    assert loaded.patient_ids.tolist() == dataset.patient_ids.tolist()


def test_labeled_outside_train_rejected():
    labeled = np.zeros(12, bool)
    labeled[-1] = True
    with pytest.raises(DatasetFormatError, match="train split"):
        _small(labeled=labeled)


def test_bad_dtype_and_labels_rejected():
    with pytest.raises(DatasetFormatError, match="uint8"):
        _small(images=np.zeros((12, 8, 8), np.float32))
    with pytest.raises(DatasetFormatError, match="labels must lie"):
        _small(labels=np.full(12, 5))


def test_load_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="pavae data make"):
        RadiographDataset.load(tmp_path / "absent.npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(DatasetFormatError, match="lacks the arrays"):
        RadiographDataset.load(foreign)
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(DatasetFormatError, match="not a readable"):
        RadiographDataset.load(text)


def test_with_labeled_fraction_stratified():
    dataset = _small(n=44)
    relabelled = dataset.with_labeled_fraction(0.5, seed=1)
    train = relabelled.split == "train"
    for k in range(2):
        members = train & (relabelled.labels == k)
        assert relabelled.labeled[members].sum() == round(0.5 * members.sum())
    assert not relabelled.labeled[~train].any()
    with pytest.raises(ValueError, match="labeled_fraction"):
        dataset.with_labeled_fraction(0.0, seed=1)
