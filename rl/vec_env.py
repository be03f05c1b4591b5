"""The contract between a batched environment and the learner (rsl_rl style, tensors only).

Shapes use N = number of envs, A = action dim, O = actor observation dim, C = critic observation
dim, D = AMP observation dim of one frame, H = AMP history length (frames per discriminator input).
Everything lives on ``env.device`` as float32 (bool for flags).

Episode ends: ``terminated`` marks a true end (fall): no bootstrap. ``truncated`` marks a timeout:
the learner bootstraps with the critic's value of ``final_critic_obs`` (the state reached before
the automatic reset). Environments reset finished envs automatically inside ``step``, so ``obs``
and ``critic_obs`` returned by ``step`` already belong to the new episode for those envs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch


@dataclass
class StepResult:
    """What ``VecEnv.step`` returns.

    obs: actor observations after the step (after auto-reset where done) [N, O].
    critic_obs: privileged critic observations, same timing as ``obs`` [N, C].
    reward: task reward of the transition [N].
    terminated: episode ended by failure, no bootstrap [N] bool.
    truncated: episode ended by time limit, bootstrap from ``final_critic_obs`` [N] bool.
    final_critic_obs: critic observation of the state reached by this step, before any reset [N, C].
    amp_obs: AMP observation window ending at the state reached by this step, before any reset,
        [N, H * D]; None for environments without AMP.
    reward_terms: per-term (weighted) rewards of this step, each [N], for logging.
    episode_stats: finished-episode statistics to log (e.g. "return", "length", curriculum), each a
        1-D tensor over the envs that finished this step; may be empty.
    """

    obs: torch.Tensor
    critic_obs: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    final_critic_obs: torch.Tensor
    amp_obs: torch.Tensor | None = None
    reward_terms: dict[str, torch.Tensor] = field(default_factory=dict)
    episode_stats: dict[str, torch.Tensor] = field(default_factory=dict)


class VecEnv(Protocol):
    """A batch of N environments with continuous actions."""

    num_envs: int
    num_actions: int
    num_obs: int
    num_critic_obs: int
    device: torch.device

    def reset(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Reset all envs; returns ``(obs [N, O], critic_obs [N, C])``."""
        ...

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply ``actions [N, A]`` for one policy step (auto-resetting finished envs)."""
        ...


class LoggingVecEnv(VecEnv, Protocol):
    """Optional: an env with state worth logging every iteration (not only at episode ends)."""

    def log_stats(self) -> dict[str, float]:
        """Scalars for this iteration's metrics row, e.g. ``{"curriculum/mean_level": 0.4}``."""
        ...


class AmpVecEnv(VecEnv, Protocol):
    """A VecEnv with AMP observations and a reference-motion sampler for the discriminator."""

    amp_obs_dim: int  # H * D

    def sample_reference_amp_obs(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` reference AMP observation windows [n, H * D] from the motion dataset."""
        ...
