import pytest
import torch

from pavae.models.vae import ConditionalVAE, VAEConfig
from pavae.study.checkpoints import load_model, save_model


def _model(**changes):
    torch.manual_seed(0)
    return ConditionalVAE(VAEConfig(num_classes=3, image_size=32, latent_dim=6, base_channels=8, **changes))


def test_shapes_of_encode_decode_reconstruct():
    model = _model()
    x, y = torch.rand(5, 1, 32, 32), torch.tensor([0, 1, 2, 0, 1])
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (5, 6)
    assert model.decode(mu, y).shape == (5, 1, 32, 32)
    recon = model.reconstruct(x, y)
    assert recon.shape == (5, 1, 32, 32)
    assert 0 <= recon.min() and recon.max() <= 1


def test_sample_is_reproducible_with_generator():
    model = _model()
    first = model.sample([0, 1, 2], generator=torch.Generator().manual_seed(3))
    second = model.sample([0, 1, 2], generator=torch.Generator().manual_seed(3))
    other = model.sample([0, 1, 2], generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_class_conditional_prior_is_learned_and_standard_is_fixed():
    assert any(name == "prior_mu" for name, _ in _model().named_parameters())
    standard = _model(prior="standard")
    assert all(name != "prior_mu" for name, _ in standard.named_parameters())
    mu, logvar = standard.prior(torch.tensor([0, 2]))
    assert torch.equal(mu, torch.zeros(2, 6)) and torch.equal(logvar, torch.zeros(2, 6))


def test_weights_change_after_train_step_not_after_eval():
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        model(torch.rand(4, 1, 32, 32), torch.tensor([0, 1, 2, 0]))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    out = model(torch.rand(4, 1, 32, 32), torch.tensor([0, 1, 2, 0]))
    out.logits.mean().backward()
    optimizer.step()
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_save_load_round_trip(tmp_path):
    model = _model()
    save_model(model, tmp_path, "generator", {"class_names": ["a", "b", "c"]})
    loaded, description = load_model(tmp_path, "generator")
    assert description["class_names"] == ["a", "b", "c"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    x, y = torch.rand(2, 1, 32, 32), torch.tensor([1, 2])
    assert torch.equal(model.eval().reconstruct(x, y), loaded.reconstruct(x, y))


def test_constructor_and_input_checks():
    with pytest.raises(ValueError, match="power of two"):
        ConditionalVAE(VAEConfig(num_classes=3, image_size=48))
    with pytest.raises(ValueError, match="prior"):
        ConditionalVAE(VAEConfig(num_classes=3, prior="vamp"))
    model = _model()
    with pytest.raises(ValueError, match=r"\(B, 1, 32, 32\)"):
        model.encode(torch.rand(2, 1, 64, 64), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="labels must lie"):
        model.sample([3])


def test_lesion_unet_starts_at_lesion_prior():
    from pavae.models.networks import LESION_PRIOR, LesionUNet

    torch.manual_seed(0)
    probabilities = torch.sigmoid(LesionUNet().eval()(torch.rand(4, 1, 32, 32)))
    assert probabilities.mean().item() == pytest.approx(LESION_PRIOR, rel=0.5)


def test_prior_learning_rate_is_scaled():
    from pavae.training.common import set_lr
    from pavae.training.generator import parameter_groups

    model = ConditionalVAE(VAEConfig(num_classes=3, image_size=16, latent_dim=4, base_channels=8))
    groups = parameter_groups(model, prior_lr_scale=10.0)
    prior_ids = {id(p) for p in groups[1]["params"]}
    assert prior_ids == {id(model.prior_mu), id(model.prior_logvar)}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    optimizer = torch.optim.Adam(groups, lr=1e-3)
    set_lr(optimizer, 2e-4)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([2e-4, 2e-3])
    standard = ConditionalVAE(VAEConfig(num_classes=3, image_size=16, latent_dim=4, base_channels=8, prior="standard"))
    assert len(parameter_groups(standard, 10.0)) == 1
