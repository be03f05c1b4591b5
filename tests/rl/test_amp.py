"""AMP: style rewards (both losses), discriminator losses, gradient penalty, replay buffer, update, warnings."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn

from mocap.configs import ConfigError, from_dict
from rl.amp import (
    AMP,
    AMPConfig,
    AmpReplayBuffer,
    Discriminator,
    StyleStage,
    discriminator_accuracy,
    discriminator_loss,
    gradient_penalty,
    mix_rewards,
    no_signal_share,
    style_reward,
    style_reward_from_logits,
    style_scale_at,
)


def test_style_reward_bce() -> None:
    logits = torch.tensor([0.0, math.log(3.0), 50.0])
    # D = sigmoid(d): 0.5 -> -log 0.5; 0.75 -> -log 0.25; ~1 -> clamped at -log 1e-4
    r = style_reward_from_logits(logits, "bce", scale=2.0)
    assert r.tolist() == pytest.approx(
        [2 * math.log(2.0), 2 * math.log(4.0), 2 * math.log(1e4)], rel=1e-5
    )


def test_style_reward_lsgan() -> None:
    d = torch.tensor([1.0, 0.0, -1.0, 3.0, 2.0])
    # max(0, 1 - (d - 1)^2 / 4)
    assert style_reward_from_logits(d, "lsgan").tolist() == pytest.approx(
        [1.0, 0.75, 0.0, 0.0, 0.75]
    )
    with pytest.raises(ValueError, match="unknown AMP loss"):
        style_reward_from_logits(d, "wgan")  # type: ignore[arg-type]


def test_style_reward_through_discriminator() -> None:
    disc = Discriminator(4, (8,), torch.Generator().manual_seed(0))
    x = torch.randn(5, 4)
    with torch.no_grad():
        expected = torch.clamp(1 - 0.25 * (disc(x) - 1) ** 2, min=0)
    assert torch.allclose(style_reward(disc, x, "lsgan"), expected)


def test_discriminator_losses_hand_values() -> None:
    ones, zeros = torch.ones(3), torch.zeros(3)
    assert discriminator_loss(ones, -ones, "lsgan").item() == pytest.approx(0.0)
    # lsgan: ref at 0 -> (0-1)^2 = 1, policy at 0 -> (0+1)^2 = 1; mean of the two = 1
    assert discriminator_loss(zeros, zeros, "lsgan").item() == pytest.approx(1.0)
    assert discriminator_loss(zeros, zeros, "bce").item() == pytest.approx(math.log(2.0))
    assert discriminator_accuracy(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, -2.0])) == (
        0.5,
        1.0,
    )
    assert mix_rewards(torch.tensor([2.0]), torch.tensor([4.0]), 0.25, 0.5).item() == pytest.approx(
        2.5
    )


def test_gradient_penalty_linear_discriminator() -> None:
    lin = nn.Linear(3, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 2.0]]))
    disc = nn.Sequential(lin, nn.Flatten(0))
    # d(x) = w.x + b has gradient w everywhere: ||w||^2 = 9
    gp = gradient_penalty(disc, torch.randn(7, 3))
    assert gp.item() == pytest.approx(9.0)
    gp.backward()  # differentiable w.r.t. the weights: d||w||^2/dw = 2w
    assert lin.weight.grad[0].tolist() == pytest.approx([2.0, -4.0, 4.0])


def test_replay_buffer_ring_and_sampling() -> None:
    buf = AmpReplayBuffer(5, 1)
    buf.insert(torch.tensor([[1.0], [2.0], [3.0]]))
    buf.insert(torch.tensor([[4.0], [5.0], [6.0], [7.0]]))
    assert buf.size == 5 and sorted(buf.data[:, 0].tolist()) == [3.0, 4.0, 5.0, 6.0, 7.0]
    s = buf.sample(1000, torch.Generator().manual_seed(0))
    assert set(s[:, 0].tolist()) == {3.0, 4.0, 5.0, 6.0, 7.0}
    other = AmpReplayBuffer(5, 1)
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.data, buf.data) and other.ptr == buf.ptr
    with pytest.raises(RuntimeError, match="empty"):
        AmpReplayBuffer(3, 2).sample(1)


@pytest.mark.parametrize(
    ("loss", "logits", "share"),
    [
        ("lsgan", [-3.0, -1.0, -0.99, -0.85, 0.0, 1.0], 3 / 6),  # 1 - 0.25 (d - 1)^2 <= 0.01
        ("bce", [-8.0, -5.0, -4.0, 0.0], 2 / 4),  # -log(1 - sigmoid(d)) <= 0.01
    ],
)
def test_no_signal_share_counts_samples_without_style_reward(
    loss: str, logits: list[float], share: float
) -> None:
    assert no_signal_share(torch.tensor(logits), loss) == pytest.approx(share)


def test_amp_update_separates_distributions_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    gen = torch.Generator().manual_seed(0)
    cfg = AMPConfig(
        hidden=(32, 32),
        batch_size=64,
        updates_per_iter=20,
        lr=3e-3,
        replay_size=500,
        saturation_patience=3,
    )
    amp = AMP(2, cfg, generator=gen)
    ref = lambda n, g: torch.randn(n, 2, generator=g) + torch.tensor([2.0, 0.0])
    policy_obs = torch.randn(256, 2, generator=gen) - torch.tensor([2.0, 0.0])
    for _ in range(5):
        stats = amp.update(policy_obs, ref)
    for k in (
        "amp/loss",
        "amp/grad_penalty",
        "amp/acc_ref",
        "amp/acc_policy",
        "amp/logit_ref",
        "amp/logit_policy",
        "amp/no_signal_policy",
    ):
        assert math.isfinite(stats[k])
    assert stats["amp/acc_ref"] > 0.9 and stats["amp/acc_policy"] > 0.9
    assert stats["amp/logit_ref"] > stats["amp/logit_policy"]
    assert amp.reward(ref(64, gen)).mean() > amp.reward(policy_obs[:64]).mean()
    assert amp.normalizer.count.item() == pytest.approx(
        5 * 512, abs=1e-3
    )  # fed raw policy + reference
    with caplog.at_level(logging.WARNING, logger="rl.amp"):
        msgs = [amp.check_health(1.0, 1.0, 1.0, 0.5) for _ in range(3)]
    assert msgs[0] == [] and "saturated for 3 iterations" in msgs[2][0]
    assert any("saturated" in r.message for r in caplog.records)
    # Every sample told apart but still graded (style reward > 0 for 40 %): not saturated.
    assert [amp.check_health(1.0, 1.0, 0.6, 0.5) for _ in range(3)] == [[], [], []]
    collapse = [amp.check_health(0.5, 0.5, 0.0, 0.0) for _ in range(3)]
    assert "collapsed" in collapse[2][0]
    # state dict round trip (with replay when asked)
    amp2 = AMP(2, AMPConfig(**{**cfg.__dict__, "save_replay": True}))
    amp.cfg = AMPConfig(**{**cfg.__dict__, "save_replay": True})
    amp2.load_state_dict(amp.state_dict())
    x = torch.randn(4, 2)
    assert torch.equal(amp2.reward(x), amp.reward(x)) and amp2.replay.size == amp.replay.size


def test_style_stages_scale_the_style_reward_by_iteration() -> None:
    """``style_stages`` (parsed from the YAML form) switch the scale at their start iterations,
    and the AMP's rewards follow the iteration the runner announces."""
    cfg = from_dict(
        AMPConfig,
        {"hidden": [8], "style_scale": 0.02, "style_stages": [
            {"start_iteration": 10, "style_scale": 0.1},
            {"start_iteration": 20, "style_scale": 0.0}]},
        "amp",
    )  # fmt: skip
    assert cfg.style_stages == (StyleStage(10, 0.1), StyleStage(20, 0.0))
    assert [style_scale_at(cfg, i) for i in (0, 9, 10, 19, 20, 99)] == [
        0.02, 0.02, 0.1, 0.1, 0.0, 0.0]  # fmt: skip
    amp = AMP(4, cfg, generator=torch.Generator().manual_seed(0))
    x = torch.randn(6, 4)
    amp.set_iteration(3)
    base = amp.reward(x)
    assert torch.all(base > 0)  # lsgan reward of an untrained discriminator (logits ~ 0)
    amp.set_iteration(12)
    assert torch.allclose(amp.reward(x), base * 5.0)
    amp.set_iteration(25)
    assert torch.all(amp.reward(x) == 0)


def test_style_stages_are_validated() -> None:
    with pytest.raises(ConfigError, match="increase"):
        AMPConfig(style_stages=(StyleStage(10, 0.1), StyleStage(10, 0.2)))
    with pytest.raises(ConfigError, match="increase"):
        AMPConfig(style_stages=(StyleStage(0, 0.1),))
    with pytest.raises(ConfigError, match=">= 0"):
        AMPConfig(style_stages=(StyleStage(5, -1.0),))
