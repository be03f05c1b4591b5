"""PPO losses and KL estimates against hand-computed values, and the update loop's bookkeeping."""

from __future__ import annotations

import math

import pytest
import torch

from rl.models import ActorCritic, ModelConfig
from rl.ppo import (
    PPO,
    PPOConfig,
    approx_kl,
    clipped_surrogate_loss,
    clipped_value_loss,
    explained_variance,
    gaussian_kl,
)
from rl.storage import RolloutStorage

EPS = 0.2


@pytest.mark.parametrize(
    ("adv", "ratio", "loss", "grad"),
    [
        (1.0, 1.5, -1.2, 0.0),  # A > 0, ratio above 1 + eps: clipped, no gradient
        (1.0, 0.5, -0.5, -0.5),  # A > 0, ratio below 1 - eps: unclipped (pessimistic bound)
        (-1.0, 1.5, 1.5, 1.5),  # A < 0, ratio above 1 + eps: unclipped
        (-1.0, 0.5, 0.8, 0.0),  # A < 0, ratio below 1 - eps: clipped, no gradient
    ],
)
def test_clipped_surrogate_four_cases(adv: float, ratio: float, loss: float, grad: float) -> None:
    log_ratio = torch.tensor([math.log(ratio)], requires_grad=True)
    value, clip_frac = clipped_surrogate_loss(log_ratio, torch.tensor([adv]), EPS)
    value.backward()
    assert value.item() == pytest.approx(loss)
    # d loss / d log_ratio = -A * ratio on the unclipped branch, 0 on the clipped one
    assert log_ratio.grad.item() == pytest.approx(grad)
    assert clip_frac.item() == 1.0


def test_clip_fraction_counts_only_outside_range() -> None:
    log_ratio = torch.log(torch.tensor([1.1, 0.9, 1.3, 1.0]))
    _, frac = clipped_surrogate_loss(log_ratio, torch.ones(4), EPS)
    assert frac.item() == pytest.approx(0.25)


def test_clipped_value_loss_hand_values() -> None:
    values = torch.tensor([1.0, 1.0])
    old = torch.tensor([0.5, 0.5])
    returns = torch.tensor([2.0, 0.0])
    # sample 0: unclipped (1-2)^2 = 1, clipped V = 0.7 -> (0.7-2)^2 = 1.69 -> 1.69
    # sample 1: unclipped 1, clipped (0.7-0)^2 = 0.49 -> 1
    assert clipped_value_loss(values, old, returns, EPS).item() == pytest.approx((1.69 + 1.0) / 2)
    assert clipped_value_loss(values, old, returns, None).item() == pytest.approx(1.0)


def test_kl_estimates() -> None:
    # approx_kl: ratio 2 -> (2 - 1) - log 2
    assert approx_kl(torch.tensor([math.log(2.0)])).item() == pytest.approx(1.0 - math.log(2.0))
    # KL(N(0,1) || N(1,2)) = log 2 + (1 + 1) / 8 - 1/2
    kl = gaussian_kl(
        torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([2.0])
    )
    assert kl.item() == pytest.approx(math.log(2.0) + 0.25 - 0.5)
    # summed over action dims, and agrees with torch.distributions
    gen = torch.Generator().manual_seed(0)
    mu0, mu1 = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    s0, s1 = torch.rand(5, 3, generator=gen) + 0.5, torch.rand(5, 3, generator=gen) + 0.5
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu0, s0), torch.distributions.Normal(mu1, s1)
    )
    assert torch.allclose(gaussian_kl(mu0, s0, mu1, s1), ref.sum(-1), atol=1e-6)
    # the sample estimator is unbiased for KL(old || new): Monte Carlo check
    old, new = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(0.3, 1.2)
    x = torch.randn(200_000, generator=gen)  # samples of the old policy N(0, 1)
    est = approx_kl(new.log_prob(x) - old.log_prob(x)).item()
    exact = torch.distributions.kl_divergence(old, new).item()
    assert est == pytest.approx(exact, rel=0.05)


def test_explained_variance() -> None:
    r = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(r, r) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), r) == pytest.approx(0.0)


def _filled_storage(model: ActorCritic, T: int = 8, N: int = 16, seed: int = 0) -> RolloutStorage:
    gen = torch.Generator().manual_seed(seed)
    st = RolloutStorage(T, N, model.num_obs, model.num_critic_obs, model.num_actions)
    with torch.no_grad():
        for _ in range(T):
            obs = torch.randn(N, model.num_obs, generator=gen)
            cobs = torch.randn(N, model.num_critic_obs, generator=gen)
            mu, sigma, v, _ = model.act_step(obs, cobs, None)
            a = mu + sigma * torch.randn(mu.shape, generator=gen)
            lp = torch.distributions.Normal(mu, sigma).log_prob(a).sum(-1)
            st.add(
                obs,
                cobs,
                a,
                lp,
                mu,
                sigma,
                v,
                torch.randn(N, generator=gen),
                torch.zeros(N, dtype=torch.bool),
                torch.zeros(N, dtype=torch.bool),
                torch.zeros(N),
            )
    st.compute_returns(torch.zeros(N), 0.99, 0.95)
    return st


def test_ppo_update_stats_and_grad_norm_pre_clip() -> None:
    gen = torch.Generator().manual_seed(0)
    model = ActorCritic(3, 4, 2, ModelConfig(actor_hidden=(16,), critic_hidden=(16,)), gen)
    cfg = PPOConfig(epochs=2, minibatches=4, max_grad_norm=1e-3, lr_schedule="constant")
    ppo = PPO(model, cfg, gen)
    before = [p.detach().clone() for p in model.parameters()]
    stats = ppo.update(_filled_storage(model))
    for k in (
        "kl",
        "approx_kl",
        "clip_fraction",
        "entropy",
        "value_loss",
        "policy_loss",
        "grad_norm",
        "explained_variance",
        "lr",
        "std",
        "epochs",
    ):
        assert math.isfinite(stats[k]), k
    assert stats["epochs"] == 2.0 and stats["early_stop"] == 0.0
    assert stats["grad_norm"] > 1e-3  # the pre-clip norm is reported
    # with the norm clipped to 1e-3, one Adam step still moves each parameter by ~lr at most
    moved = max((p - b).abs().max().item() for p, b in zip(model.parameters(), before))
    assert 0 < moved <= 2 * 8 * cfg.lr


def test_kl_early_stop_and_penalty_beta() -> None:
    gen = torch.Generator().manual_seed(1)
    model = ActorCritic(3, 3, 2, ModelConfig(actor_hidden=(16,), critic_hidden=(16,)), gen)
    storage = _filled_storage(model, seed=1)
    cfg = PPOConfig(
        epochs=50,
        minibatches=4,
        lr=3e-2,
        lr_schedule="constant",
        desired_kl=1e-4,
        kl_early_stop=1.0,
    )
    stats = PPO(model, cfg, gen).update(storage)
    assert stats["early_stop"] == 1.0 and stats["epochs"] < 50

    model2 = ActorCritic(3, 3, 2, ModelConfig(actor_hidden=(16,), critic_hidden=(16,)), gen)
    storage2 = _filled_storage(model2, seed=2)
    ppo = PPO(
        model2,
        PPOConfig(penalty="kl_penalty", lr=3e-2, lr_schedule="constant", desired_kl=1e-6),
        gen,
    )
    stats = ppo.update(storage2)
    assert stats["kl"] > 1.5e-6 and ppo.beta == 2.0  # KL above target: beta doubles
