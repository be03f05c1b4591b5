"""Rollout buffer ``[T, N, ...]`` and the minibatch generators used by the PPO update.

T = steps per env per iteration, N = envs. Observations are stored *normalised* (as the networks
saw them during the rollout) so that the update recomputes the same log-probabilities.

Per step t the buffer holds: obs, critic_obs, actions, rewards (the mixed reward actually
optimised), terminated, truncated, values V(s_t), log_probs, mu, sigma, and
``timeout_values`` = V(final_critic_obs) for envs truncated at t (0 elsewhere). Recurrent models
also store the hidden state before step 0, ``hidden0 [2, L, N, Hd]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rl.ppo import compute_gae


@dataclass
class Batch:
    """One minibatch. Flat (MLP): every field [B, ...]. Sequences (GRU): [T, b, ...]."""

    obs: torch.Tensor
    critic_obs: torch.Tensor
    actions: torch.Tensor
    old_values: torch.Tensor
    old_log_probs: torch.Tensor
    old_mu: torch.Tensor
    old_sigma: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    hidden0: torch.Tensor | None = None  # [2, L, b, Hd] for sequences
    episode_starts: torch.Tensor | None = None  # [T, b] bool for sequences


class RolloutStorage:
    """Fixed-size on-policy buffer for one iteration (``num_steps`` x ``num_envs``)."""

    def __init__(
        self,
        num_steps: int,
        num_envs: int,
        num_obs: int,
        num_critic_obs: int,
        num_actions: int,
        hidden_shape: tuple[int, ...] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        T, N = num_steps, num_envs
        self.num_steps, self.num_envs, self.device = T, N, torch.device(device)

        def z(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(*shape, dtype=dtype, device=self.device)

        self.obs = z(T, N, num_obs)
        self.critic_obs = z(T, N, num_critic_obs)
        self.actions = z(T, N, num_actions)
        self.rewards = z(T, N)
        self.terminated = z(T, N, dtype=torch.bool)
        self.truncated = z(T, N, dtype=torch.bool)
        self.values = z(T, N)
        self.timeout_values = z(T, N)
        self.log_probs = z(T, N)
        self.mu = z(T, N, num_actions)
        self.sigma = z(T, N, num_actions)
        self.advantages = z(T, N)
        self.returns = z(T, N)
        self.hidden0 = z(*hidden_shape) if hidden_shape is not None else None
        self.step = 0

    def clear(self) -> None:
        """Start a new rollout (contents are overwritten step by step)."""
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step >= self.num_steps

    def add(
        self,
        obs: torch.Tensor,
        critic_obs: torch.Tensor,
        actions: torch.Tensor,
        log_probs: torch.Tensor,
        mu: torch.Tensor,
        sigma: torch.Tensor,
        values: torch.Tensor,
        rewards: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        timeout_values: torch.Tensor,
        hidden: torch.Tensor | None = None,
    ) -> None:
        """Store step ``self.step``; ``hidden`` is the state the policy acted with (kept at t=0)."""
        if self.full:
            raise RuntimeError(
                f"RolloutStorage: buffer full ({self.num_steps} steps); call clear()"
            )
        t = self.step
        self.obs[t] = obs
        self.critic_obs[t] = critic_obs
        self.actions[t] = actions
        self.log_probs[t] = log_probs
        self.mu[t] = mu
        self.sigma[t] = sigma
        self.values[t] = values
        self.rewards[t] = rewards
        self.terminated[t] = terminated
        self.truncated[t] = truncated
        self.timeout_values[t] = timeout_values
        if t == 0 and self.hidden0 is not None and hidden is not None:
            self.hidden0.copy_(hidden)
        self.step += 1

    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        """Fill ``advantages`` and ``returns`` with GAE (timeouts bootstrapped)."""
        if not self.full:
            raise RuntimeError(f"RolloutStorage: only {self.step}/{self.num_steps} steps stored")
        self.advantages, self.returns = compute_gae(
            self.rewards,
            self.values,
            self.terminated,
            self.truncated,
            last_values,
            self.timeout_values,
            gamma,
            lam,
        )

    def episode_starts(self) -> torch.Tensor:
        """[T, N] bool: step t starts an episode because step t-1 ended one (False at t=0)."""
        done = self.terminated | self.truncated
        starts = torch.zeros_like(done)
        starts[1:] = done[:-1]
        return starts

    def _fields(self, advantages: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "obs": self.obs,
            "critic_obs": self.critic_obs,
            "actions": self.actions,
            "old_values": self.values,
            "old_log_probs": self.log_probs,
            "old_mu": self.mu,
            "old_sigma": self.sigma,
            "advantages": advantages,
            "returns": self.returns,
        }

    def minibatches(
        self,
        num_minibatches: int,
        advantages: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        """Flat shuffled minibatches over all T*N samples (MLP policies)."""
        total = self.num_steps * self.num_envs
        size = total // num_minibatches
        if size == 0:
            raise ValueError(f"{num_minibatches} minibatches for only {total} samples")
        perm = torch.randperm(total, generator=generator).to(self.device)
        flat = {k: v.reshape(total, *v.shape[2:]) for k, v in self._fields(advantages).items()}
        for i in range(num_minibatches):
            idx = perm[i * size : (i + 1) * size]
            # index_select: same rows as ``v[idx]``, several times faster for row gathers on CPU.
            yield Batch(**{k: v.index_select(0, idx) for k, v in flat.items()})

    def sequence_minibatches(
        self,
        num_minibatches: int,
        advantages: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        """Minibatches of whole env sequences [T, b, ...] with ``hidden0`` and episode starts (GRU).

        Each minibatch takes ``N // num_minibatches`` envs (shuffled) and their full T-step
        trajectories, so the recurrent model can replay the rollout's hidden states exactly.
        """
        if self.hidden0 is None:
            raise RuntimeError(
                "RolloutStorage: sequence minibatches need hidden_shape at construction"
            )
        size = self.num_envs // num_minibatches
        if size == 0:
            raise ValueError(
                f"{num_minibatches} sequence minibatches for only {self.num_envs} envs"
            )
        perm = torch.randperm(self.num_envs, generator=generator).to(self.device)
        fields = self._fields(advantages)
        starts = self.episode_starts()
        for i in range(num_minibatches):
            idx = perm[i * size : (i + 1) * size]
            batch = {k: v[:, idx] for k, v in fields.items()}
            yield Batch(**batch, hidden0=self.hidden0[:, :, idx], episode_starts=starts[:, idx])
