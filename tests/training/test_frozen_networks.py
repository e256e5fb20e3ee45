import torch

from pavae.config import LossConfig, TrainConfig
from pavae.data.scarcity import EvaluationSplit, ScarceTrainingSet
from pavae.models.networks import ClassifierCNN, ClassifierConfig, LesionUNet
from pavae.models.vae import ConditionalVAE, VAEConfig
from pavae.training.frozen import freeze
from pavae.training.generator import train_generator


def test_frozen_wrapper_ignores_train_mode():
    frozen = freeze(ClassifierCNN(ClassifierConfig(num_classes=3, width=8)), LesionUNet())
    frozen.classifier.train()
    assert not frozen.classifier.training
    assert not frozen.classifier.module.training
    assert all(not p.requires_grad for p in frozen.classifier.parameters())


def test_frozen_networks_unchanged_by_generator_training(tiny_dataset):
    torch.manual_seed(0)
    classifier = ClassifierCNN(ClassifierConfig(num_classes=3, width=8))
    segmenter = LesionUNet()
    # Non-trivial batch-norm statistics, so that a stray train() would move them.
    classifier.train()
    segmenter.train()
    with torch.no_grad():
        classifier(torch.rand(8, 1, 64, 64))
        segmenter(torch.rand(8, 1, 64, 64))
    frozen = freeze(classifier, segmenter)
    before = {k: v.clone() for k, v in {**classifier.state_dict(), **{f"s.{k}": v for k, v in segmenter.state_dict().items()}}.items()}

    train_set = ScarceTrainingSet(tiny_dataset)
    val = EvaluationSplit.from_dataset(tiny_dataset, "val")
    model = ConditionalVAE(VAEConfig(num_classes=3, latent_dim=4, base_channels=8))
    vae_before = {k: v.clone() for k, v in model.state_dict().items()}
    train_generator(model, train_set, val, frozen, LossConfig(prior_samples=6),
                    TrainConfig(epochs=1, batch_size=32, max_steps_per_epoch=2, val_fid_samples=30),
                    torch.device("cpu"), seed=0)

    after = {**classifier.state_dict(), **{f"s.{k}": v for k, v in segmenter.state_dict().items()}}
    for name, value in before.items():
        assert torch.equal(value, after[name]), name
    assert not frozen.classifier.training and not frozen.segmenter.training
    assert not classifier.training and not segmenter.training
    # The generator itself did learn.
    assert any(not torch.equal(vae_before[k], v) for k, v in model.state_dict().items())
