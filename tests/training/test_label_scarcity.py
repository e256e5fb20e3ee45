"""Label scarcity: no training code path reads the label or mask of an unlabelled image."""

import dataclasses

import numpy as np
import pytest
import torch

from pavae.config import LossConfig, TrainConfig
from pavae.data.scarcity import EvaluationSplit, LabelAccessError, ScarceTrainingSet
from pavae.models.vae import ConditionalVAE, VAEConfig
from pavae.training.frozen import freeze, train_frozen_classifier, train_segmenter
from pavae.training.generator import train_generator
from tests.conftest import scrambled_unlabelled


def test_unlabelled_label_access_raises(tiny_dataset):
    train_set = ScarceTrainingSet(tiny_dataset)
    hidden = train_set.unlabeled_indices[:3]
    with pytest.raises(LabelAccessError, match="unlabelled"):
        train_set.labels(hidden)
    with pytest.raises(LabelAccessError):
        train_set.masks(hidden)
    assert len(train_set.labels(train_set.labeled_indices)) == tiny_dataset.labeled.sum()


def test_unlabelled_labels_not_stored(tiny_dataset):
    train_set = ScarceTrainingSet(tiny_dataset)
    assert np.all(train_set._labels[~train_set.labeled] == -1)
    assert not train_set._masks[~train_set.labeled].any()


def _train_everything(dataset, seed=0):
    """Train the frozen networks and a marginalising PA-VAE briefly; return every parameter."""
    train_set = ScarceTrainingSet(dataset)
    val = EvaluationSplit.from_dataset(dataset, "val")
    device = torch.device("cpu")
    classifier, _ = train_frozen_classifier(train_set, val, epochs=1, lr=1e-3, device=device, seed=seed, width=8)
    segmenter, _ = train_segmenter(train_set, val, epochs=1, lr=1e-3, device=device, seed=seed)
    frozen = freeze(classifier, segmenter)
    torch.manual_seed(seed)
    model = ConditionalVAE(VAEConfig(num_classes=dataset.num_classes, latent_dim=4, base_channels=8))
    train_config = TrainConfig(epochs=1, batch_size=32, max_steps_per_epoch=3, val_fid_samples=30)
    train_generator(model, train_set, val, frozen, LossConfig(prior_samples=6), train_config, device, seed)
    parameters = {f"classifier.{k}": v for k, v in classifier.state_dict().items()}
    parameters.update({f"segmenter.{k}": v for k, v in segmenter.state_dict().items()})
    parameters.update({f"vae.{k}": v for k, v in model.state_dict().items()})
    return parameters


def test_scrambled_unlabelled_labels_change_nothing(tiny_dataset):
    original = _train_everything(tiny_dataset)
    scrambled = _train_everything(scrambled_unlabelled(tiny_dataset))
    assert original.keys() == scrambled.keys()
    for name in original:
        assert torch.equal(original[name], scrambled[name]), name


def test_scrambled_labelled_labels_do_change_training(tiny_dataset):
    # The comparison above can fail: scrambling labels that training may read changes the weights.
    labels = tiny_dataset.labels.copy()
    visible = np.flatnonzero(tiny_dataset.labeled)
    labels[visible] = np.roll(labels[visible], 1)
    changed = dataclasses.replace(tiny_dataset, labels=labels)
    original = _train_everything(tiny_dataset)
    other = _train_everything(changed)
    assert any(not torch.equal(original[name], other[name]) for name in original)
