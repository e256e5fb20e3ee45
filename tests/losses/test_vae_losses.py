import dataclasses
import math

import pytest
import torch

from pavae.config import LossConfig
from pavae.losses.objective import GeneratorBatch, PAVAEObjective
from pavae.losses.vae import (
    bernoulli_nll,
    continuous_bernoulli_nll,
    gaussian_kl,
    soft_iou_loss,
)
from pavae.models.vae import ConditionalVAE, VAEConfig, continuous_bernoulli_mean


def test_kl_standard_normal_exact_value():
    mu = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(4.0)]], dtype=torch.float64)
    # 0.5 * [(1 + 1 - 1 - 0) + (4 + 0 - 1 - ln 4)] summed over the two dimensions.
    assert gaussian_kl(mu, logvar).item() == pytest.approx(1.306853, abs=1e-6)


def test_kl_against_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    prior_mu, prior_logvar = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(prior_mu, torch.exp(0.5 * prior_logvar))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mu, logvar, prior_mu, prior_logvar), expected)


def test_kl_finite_for_huge_logvar():
    value = gaussian_kl(torch.zeros(1, 3), torch.full((1, 3), 100.0))
    assert torch.isfinite(value).all()


def test_bernoulli_nll_rejects_zscored_target():
    logits = torch.zeros(2, 1, 8, 8)
    zscored = torch.randn(2, 1, 8, 8) * 2
    with pytest.raises(ValueError, match=r"\[0, 1\].*z-scored"):
        bernoulli_nll(logits, zscored)


def test_bernoulli_nll_sums_over_pixels():
    logits = torch.zeros(1, 1, 4, 4)
    target = torch.full((1, 1, 4, 4), 0.5)
    assert bernoulli_nll(logits, target).item() == pytest.approx(16 * math.log(2.0))


def test_continuous_bernoulli_matches_torch():
    torch.manual_seed(1)
    logits = torch.randn(3, 1, 4, 4, dtype=torch.float64) * 3
    logits[0, 0, 0, 0] = 1e-5  # near lambda = 1/2, where the Taylor branch applies
    target = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    expected = -torch.distributions.ContinuousBernoulli(logits=logits).log_prob(target).flatten(1).sum(1)
    torch.testing.assert_close(continuous_bernoulli_nll(logits, target), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(continuous_bernoulli_mean(logits),
                               torch.distributions.ContinuousBernoulli(logits=logits).mean, rtol=1e-4, atol=1e-4)


def test_soft_iou_loss_cases():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :2] = 1
    assert soft_iou_loss(mask.clone(), mask).item() == pytest.approx(0.0)
    assert soft_iou_loss(torch.zeros_like(mask), torch.zeros_like(mask)).item() == pytest.approx(0.0)
    # Disjoint prediction of 4 pixels: IoU = (0 + 1) / (8 + 1).
    other = torch.zeros_like(mask)
    other[..., 2:, 2:] = 1
    assert soft_iou_loss(other, mask).item() == pytest.approx(1 - 1 / 9)


def _standard_objective(beta: float) -> tuple[PAVAEObjective, GeneratorBatch]:
    torch.manual_seed(0)
    model = ConditionalVAE(VAEConfig(num_classes=3, image_size=16, latent_dim=4, base_channels=8))
    config = LossConfig(beta=beta, lambda_path=0.0, lambda_mask=0.0, lambda_cls=0.0, unlabeled="ignore")
    batch = GeneratorBatch(torch.rand(4, 1, 16, 16), torch.tensor([0, 1, 2, 1]), None, torch.full((4, 3), 1 / 3))
    return PAVAEObjective(model, None, config), batch


def test_doubling_beta_adds_beta_times_kl():
    low_objective, batch = _standard_objective(beta=4.0)
    high_objective, _ = _standard_objective(beta=8.0)
    low = low_objective(batch, torch.Generator().manual_seed(5))
    high = high_objective(batch, torch.Generator().manual_seed(5))
    assert low.kl == pytest.approx(high.kl)
    assert high.total.item() - low.total.item() == pytest.approx(4.0 * low.kl, rel=1e-5)


def test_objective_finite_with_huge_logvar():
    objective, batch = _standard_objective(beta=4.0)
    model = objective.model

    class HugeLogvar(torch.nn.Module):
        def forward(self, hidden):
            return torch.cat([torch.zeros(len(hidden), 4), torch.full((len(hidden), 4), 100.0)], dim=1)

    model.to_stats = HugeLogvar()
    _, logvar = model.encode(batch.images, batch.labels)
    assert logvar.max().item() == model.config.logvar_max
    terms = objective(batch)
    assert math.isfinite(terms.total.item())
    assert math.isfinite(terms.kl)


def test_marginalised_unlabelled_equals_weighted_labelled_sum():
    # An unlabelled image with posterior q contributes sum_y q(y) * loss(x, y).
    torch.manual_seed(0)
    model = ConditionalVAE(VAEConfig(num_classes=2, image_size=16, latent_dim=3, base_channels=8))
    config = LossConfig(lambda_path=0.0, lambda_mask=0.0, lambda_cls=0.0)
    objective = PAVAEObjective(model, None, config)
    x = torch.rand(1, 1, 16, 16)
    q = torch.tensor([[0.3, 0.7]])
    model.eval()
    # Zero reparameterisation noise through a posterior of zero variance makes each term deterministic.
    model.config.logvar_min, model.config.logvar_max = -30.0, -29.0
    unlabelled = objective(GeneratorBatch(x, torch.tensor([-1]), None, q)).total.item()
    per_class = [objective(GeneratorBatch(x, torch.tensor([k]), None, q)).total.item() for k in range(2)]
    assert unlabelled == pytest.approx(0.3 * per_class[0] + 0.7 * per_class[1], rel=1e-4)


def test_prior_sample_loss_skips_prior():
    # L_cls on prior samples trains the decoder. The KL term alone fits the prior p(z|y).
    from pavae.models.networks import ClassifierCNN, ClassifierConfig, Frozen
    from pavae.training.frozen import FrozenNetworks

    torch.manual_seed(0)
    model = ConditionalVAE(VAEConfig(num_classes=3, image_size=16, latent_dim=4, base_channels=8))
    frozen = FrozenNetworks(Frozen(ClassifierCNN(ClassifierConfig(num_classes=3, width=4))), None)
    config = LossConfig(lambda_path=0.0, lambda_mask=0.0, lambda_cls=0.2, prior_samples=6)
    objective = PAVAEObjective(model, frozen, config)
    batch = GeneratorBatch(torch.rand(3, 1, 16, 16), torch.tensor([0, 1, 2]), None, torch.full((3, 3), 1 / 3))
    full = objective(batch, torch.Generator().manual_seed(1)).total
    without_prior_term = PAVAEObjective(model, frozen, dataclasses.replace(config, prior_samples=0))(
        batch, torch.Generator().manual_seed(1)).total
    prior_gradients = torch.autograd.grad(full, [model.prior_mu, model.prior_logvar], retain_graph=True)
    reference = torch.autograd.grad(without_prior_term, [model.prior_mu, model.prior_logvar], retain_graph=True)
    for got, expected in zip(prior_gradients, reference):
        torch.testing.assert_close(got, expected)
    decoder_gradient = torch.autograd.grad(full - without_prior_term, next(model.decoder.parameters()), allow_unused=True)[0]
    assert decoder_gradient is not None and decoder_gradient.abs().sum() > 0
