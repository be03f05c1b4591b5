"""Adversarial Motion Priors (Peng et al. 2021): discriminator, style reward, replay buffer, update.

AMP observations are windows of H consecutive frames, flattened to [B, H * D]. They are normalised
by a running mean/std fed with *raw* observations (policy rollout + reference samples), then
scored by the discriminator D (an MLP, ReLU, default 1024-512, one output logit d).

Losses (``AMPConfig.loss``):
- ``"bce"``: reference -> 1, policy -> 0 with sigmoid cross-entropy;
  style reward ``r = -log(max(1 - sigmoid(d), 1e-4)) * style_scale``.
- ``"lsgan"``: least squares with targets +1 (reference) / -1 (policy);
  style reward ``r = max(0, 1 - 0.25 (d - 1)^2) * style_scale``.
Regularisers: gradient penalty on reference samples ``(w_gp / 2) * E ||grad_x d(x)||^2`` (x is the
normalised input; ``grad_penalty`` = w_gp, default 5), logit regularisation
``logit_reg * ||W_last||^2`` and weight decay (Adam L2) on all discriminator weights.
Reward mixing: ``r = task_weight * r_task + style_weight * r_style``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from mocap.configs import ConfigError
from rl.normalizer import RunningMeanStd
from rl.schedules import check_stage_starts, stages_begun

log = logging.getLogger(__name__)

AmpLoss = Literal["bce", "lsgan"]


@dataclass(frozen=True)
class StyleStage:
    """From PPO iteration ``start_iteration`` on, the style reward is scaled by ``style_scale``."""

    start_iteration: int
    style_scale: float


@dataclass(frozen=True)
class AMPConfig:
    """Discriminator, style reward and reward mixing."""

    hidden: tuple[int, ...] = (1024, 512)  # discriminator hidden layer widths (ReLU)
    loss: AmpLoss = "lsgan"  # "bce" (sigmoid cross-entropy) or "lsgan" (least squares, +-1)
    grad_penalty: float = 5.0  # w_gp: weight of the gradient penalty on reference samples
    logit_reg: float = 0.05  # weight of ||W_last||^2 (logit regularisation)
    weight_decay: float = 1e-4  # Adam L2 weight decay on the discriminator
    lr: float = 1e-4  # discriminator learning rate (Adam)
    batch_size: int = 512  # reference and policy samples per discriminator minibatch
    updates_per_iter: int = 4  # discriminator minibatch steps per PPO iteration
    replay_size: int = 100_000  # capacity of the policy AMP observation replay buffer
    style_scale: float = 1.0  # multiplier of the style reward (e.g. 2 for bce)
    # Style curriculum: later iterations may weigh the style more (resume-safe: the runner sets
    # the iteration), e.g. once the policy walks and the task no longer needs all the reward.
    style_stages: tuple[StyleStage, ...] = ()
    task_weight: float = 0.5  # w_task in r = w_task * r_task + w_style * r_style
    style_weight: float = 0.5  # w_style
    normalize: bool = True  # running mean/std normalisation of AMP observations
    obs_clip: float = 10.0  # clip of normalised AMP observations
    # Saturated: accuracy >= saturation_accuracy on both sets *and* that share of the policy
    # samples get no style reward (<= NO_SIGNAL_REWARD): a discriminator that tells every policy
    # sample apart but still grades them (LSGAN logits between -1 and 1) is not saturated.
    saturation_accuracy: float = 0.99
    saturation_patience: int = 50  # consecutive saturated iterations before a warning
    collapse_reward: float = 0.01  # style reward mean (/ style_scale) counted as collapsed
    save_replay: bool = False  # include the replay buffer in checkpoints

    def __post_init__(self) -> None:
        check_stage_starts(self.style_stages, "amp.style_stages")
        scales = [self.style_scale, *(st.style_scale for st in self.style_stages)]
        if any(x < 0 for x in scales):
            raise ConfigError(f"amp.style_scale / style_stages: scales must be >= 0, got {scales}")


def style_scale_at(cfg: AMPConfig, iteration: int) -> float:
    """The style-reward scale in force at PPO ``iteration`` (``style_scale`` + stages begun)."""
    begun = stages_begun(cfg.style_stages, iteration)
    return begun[-1].style_scale if begun else cfg.style_scale


class Discriminator(nn.Module):
    """MLP ``d(x)``: x [B, H * D] (normalised) -> logit [B]."""

    def __init__(
        self,
        input_dim: int,
        hidden: tuple[int, ...] = (1024, 512),
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        dims = (input_dim, *hidden)
        for a, b in itertools.pairwise(dims):
            lin = nn.Linear(a, b)
            nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(dims[-1], 1)
        nn.init.uniform_(self.head.weight, -1.0, 1.0, generator=generator)
        self.head.weight.data.mul_(1.0 / dims[-1])
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).squeeze(-1)


# ----------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------
def style_reward_from_logits(
    logits: torch.Tensor, loss: AmpLoss, scale: float = 1.0
) -> torch.Tensor:
    """Style reward [B] from discriminator outputs [B] (see module docstring)."""
    if loss == "bce":
        return -torch.log(torch.clamp(1.0 - torch.sigmoid(logits), min=1e-4)) * scale
    if loss == "lsgan":
        return torch.clamp(1.0 - 0.25 * (logits - 1.0).square(), min=0.0) * scale
    raise ValueError(f"unknown AMP loss {loss!r}; expected 'bce' or 'lsgan'")


@torch.no_grad()
def style_reward(
    disc: Discriminator, amp_obs: torch.Tensor, loss: AmpLoss, scale: float = 1.0
) -> torch.Tensor:
    """Style reward [N] of normalised AMP observations ``amp_obs [N, H * D]``."""
    return style_reward_from_logits(disc(amp_obs), loss, scale)


def discriminator_loss(
    logits_ref: torch.Tensor, logits_policy: torch.Tensor, loss: AmpLoss
) -> torch.Tensor:
    """Mean of the reference-term and policy-term losses (reference -> real, policy -> fake)."""
    if loss == "bce":
        l_ref = F.binary_cross_entropy_with_logits(logits_ref, torch.ones_like(logits_ref))
        l_pol = F.binary_cross_entropy_with_logits(logits_policy, torch.zeros_like(logits_policy))
    elif loss == "lsgan":
        l_ref = (logits_ref - 1.0).square().mean()
        l_pol = (logits_policy + 1.0).square().mean()
    else:
        raise ValueError(f"unknown AMP loss {loss!r}; expected 'bce' or 'lsgan'")
    return 0.5 * (l_ref + l_pol)


def gradient_penalty(disc: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``E ||grad_x d(x)||^2`` over the batch ``x [B, F]`` (differentiable, for the loss)."""
    x = x.detach().requires_grad_(True)
    out = disc(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.square().sum(-1).mean()


def logits_and_gradient_penalty(
    disc: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(disc(x) [B], gradient_penalty(disc, x))`` from one forward pass (both differentiable).

    The same values as calling ``disc(x)`` and ``gradient_penalty`` separately, without the second
    forward pass through the discriminator.
    """
    x = x.detach().requires_grad_(True)
    out = disc(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, grad.square().sum(-1).mean()


NO_SIGNAL_REWARD = 0.01  # unscaled style reward at or below which a sample gets no style signal


def no_signal_share(logits_policy: torch.Tensor, loss: AmpLoss) -> float:
    """Share of policy samples whose unscaled style reward is <= ``NO_SIGNAL_REWARD``.

    LSGAN: logits <= -0.99 (the reward is exactly 0 from -1 down); BCE: logits <= -4.6.
    """
    r = style_reward_from_logits(logits_policy, loss, 1.0)
    return float((r <= NO_SIGNAL_REWARD).float().mean())


def discriminator_accuracy(
    logits_ref: torch.Tensor, logits_policy: torch.Tensor
) -> tuple[float, float]:
    """Share of reference samples with d > 0 and of policy samples with d < 0 (both losses)."""
    return float((logits_ref > 0).float().mean()), float((logits_policy < 0).float().mean())


def mix_rewards(
    task: torch.Tensor, style: torch.Tensor, task_weight: float, style_weight: float
) -> torch.Tensor:
    """``task_weight * task + style_weight * style``."""
    return task_weight * task + style_weight * style


# ----------------------------------------------------------------------------------------------
# Replay buffer
# ----------------------------------------------------------------------------------------------
class AmpReplayBuffer:
    """Fixed-capacity ring buffer of raw policy AMP observations [capacity, F], uniform sampling."""

    def __init__(self, capacity: int, dim: int, device: torch.device | str = "cpu") -> None:
        if capacity < 1:
            raise ValueError(f"AmpReplayBuffer: capacity must be >= 1, got {capacity}")
        self.capacity, self.dim = capacity, dim
        self.data = torch.zeros(capacity, dim, device=device)
        self.ptr = 0
        self.size = 0

    def insert(self, x: torch.Tensor) -> None:
        """Append rows ``x [n, F]``, overwriting the oldest when full."""
        x = x.reshape(-1, self.dim)
        if x.shape[0] > self.capacity:
            x = x[-self.capacity :]
        n = x.shape[0]
        end = self.ptr + n
        if end <= self.capacity:
            self.data[self.ptr : end] = x
        else:
            first = self.capacity - self.ptr
            self.data[self.ptr :] = x[:first]
            self.data[: n - first] = x[first:]
        self.ptr = end % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` rows drawn uniformly with replacement [n, F]."""
        if self.size == 0:
            raise RuntimeError("AmpReplayBuffer: sample from an empty buffer")
        idx = torch.randint(self.size, (n,), generator=generator).to(self.data.device)
        return self.data[idx]

    def state_dict(self) -> dict:
        return {"data": self.data[: self.size].clone(), "ptr": self.ptr, "size": self.size}

    def load_state_dict(self, state: dict) -> None:
        self.size = int(state["size"])
        self.ptr = int(state["ptr"])
        self.data.zero_()
        self.data[: self.size] = state["data"].to(self.data.device)


# ----------------------------------------------------------------------------------------------
# Trainer
# ----------------------------------------------------------------------------------------------
class AMP:
    """Discriminator training and style rewards for one AMP observation space of size ``dim``."""

    def __init__(
        self,
        dim: int,
        cfg: AMPConfig,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ):
        self.cfg = cfg
        self.device = torch.device(device)
        self.generator = generator
        self.disc = Discriminator(dim, cfg.hidden, generator).to(self.device)
        self.normalizer = RunningMeanStd(dim, clip=cfg.obs_clip).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.disc.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True
        )
        self.replay = AmpReplayBuffer(cfg.replay_size, dim, self.device)
        self.saturated_iters = 0
        self.collapsed_iters = 0
        self.style_scale = cfg.style_scale

    def set_iteration(self, iteration: int) -> None:
        """The training iteration about to run: selects the scale of ``cfg.style_stages``."""
        self.style_scale = style_scale_at(self.cfg, iteration)

    def normalize(self, amp_obs: torch.Tensor) -> torch.Tensor:
        return self.normalizer(amp_obs) if self.cfg.normalize else amp_obs

    @torch.no_grad()
    def reward(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """Style reward [N] of raw AMP observations [N, H * D]."""
        return style_reward(self.disc, self.normalize(amp_obs), self.cfg.loss, self.style_scale)

    def mix(self, task: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return mix_rewards(task, style, self.cfg.task_weight, self.cfg.style_weight)

    def update(
        self,
        policy_amp_obs: torch.Tensor,
        sample_reference: Callable[[int, torch.Generator | None], torch.Tensor],
    ) -> dict[str, float]:
        """Train the discriminator after a rollout.

        ``policy_amp_obs [M, H * D]``: raw AMP observations of this rollout (go into the replay
        buffer and the normaliser); ``sample_reference(n, generator) -> [n, H * D]`` raw reference
        windows. Returns diagnostics (``amp/...``).
        """
        c = self.cfg
        self.replay.insert(policy_amp_obs)
        if c.normalize:
            self.normalizer.update(policy_amp_obs)
            self.normalizer.update(
                sample_reference(policy_amp_obs.shape[0], self.generator).to(self.device)
            )
        sums = {
            "loss": 0.0,
            "grad_penalty": 0.0,
            "logit_ref": 0.0,
            "logit_policy": 0.0,
            "acc_ref": 0.0,
            "acc_policy": 0.0,
            "no_signal_policy": 0.0,
        }
        for _ in range(c.updates_per_iter):
            ref = self.normalize(sample_reference(c.batch_size, self.generator).to(self.device))
            pol = self.normalize(self.replay.sample(c.batch_size, self.generator))
            logits_ref, gp = logits_and_gradient_penalty(self.disc, ref)
            logits_pol = self.disc(pol)
            loss = discriminator_loss(logits_ref, logits_pol, c.loss)
            total = (
                loss
                + 0.5 * c.grad_penalty * gp
                + c.logit_reg * self.disc.head.weight.square().sum()
            )
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()
            acc_ref, acc_pol = discriminator_accuracy(logits_ref.detach(), logits_pol.detach())
            sums["loss"] += loss.item()
            sums["grad_penalty"] += gp.item()
            sums["logit_ref"] += logits_ref.mean().item()
            sums["logit_policy"] += logits_pol.mean().item()
            sums["acc_ref"] += acc_ref
            sums["acc_policy"] += acc_pol
            sums["no_signal_policy"] += no_signal_share(logits_pol.detach(), c.loss)
        return {f"amp/{k}": v / c.updates_per_iter for k, v in sums.items()}

    def check_health(
        self, acc_ref: float, acc_policy: float, no_signal: float, style_reward_mean: float
    ) -> list[str]:
        """Count saturated / collapsed iterations; log a warning after ``saturation_patience`` in a row.

        ``no_signal``: share of policy samples with no style reward (``amp/no_signal_policy``).
        Returns the warning messages emitted this call (empty when healthy).
        """
        c = self.cfg
        msgs = []
        saturated = min(acc_ref, acc_policy, no_signal) >= c.saturation_accuracy
        self.saturated_iters = self.saturated_iters + 1 if saturated else 0
        if self.saturated_iters and self.saturated_iters % c.saturation_patience == 0:
            msgs.append(
                f"AMP discriminator saturated for {self.saturated_iters} iterations (accuracy ref "
                f"{acc_ref:.3f}, policy {acc_policy:.3f}; {no_signal:.1%} of the policy samples "
                "get no style reward); raise grad_penalty or lower the disc lr"
            )
        collapsed = style_reward_mean < c.collapse_reward * self.style_scale
        self.collapsed_iters = self.collapsed_iters + 1 if collapsed else 0
        if self.collapsed_iters and self.collapsed_iters % c.saturation_patience == 0:
            msgs.append(
                f"AMP style reward collapsed (mean {style_reward_mean:.4g}) for "
                f"{self.collapsed_iters} iterations; the policy gets no style signal"
            )
        for m in msgs:
            log.warning(m)
        return msgs

    def state_dict(self) -> dict:
        state = {
            "disc": self.disc.state_dict(),
            "normalizer": self.normalizer.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "saturated_iters": self.saturated_iters,
            "collapsed_iters": self.collapsed_iters,
        }
        if self.cfg.save_replay:
            state["replay"] = self.replay.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.normalizer.load_state_dict(state["normalizer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.saturated_iters = int(state["saturated_iters"])
        self.collapsed_iters = int(state["collapsed_iters"])
        if "replay" in state:
            self.replay.load_state_dict(state["replay"])
