"""Proximal Policy Optimisation (Schulman et al. 2017), readable top to bottom.

Pseudo-code of one iteration (the runner does step 1, ``PPO.update`` steps 2-4):

1. Run the policy pi_old for T steps in N envs; store s, a, r, log pi_old(a|s), V(s), mu, sigma.
2. Advantages by GAE(gamma, lambda) (``compute_gae``): timeouts are bootstrapped with
   V(final state), terminations are not.
3. For K epochs, for M minibatches: maximise the clipped surrogate
   ``min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)`` (or the KL-penalised surrogate
   ``ratio * A - beta * KL``), minus ``value_coef`` x (clipped) value loss, plus ``entropy_coef`` x
   entropy; one Adam step after global gradient-norm clipping.
4. Adapt the learning rate (schedule or KL rule) and, in penalty mode, beta.

KL: two estimates are logged. ``kl`` is the analytic KL(pi_old || pi_new) between the diagonal
Gaussians, averaged over the minibatch; it drives the adaptive learning rate, the early stop and
the penalty (it is exact and cheap for Gaussians). ``approx_kl`` is Schulman's
``(ratio - 1) - log ratio`` sample estimator (unbiased, always >= 0), logged for comparison with
other implementations.

Losses use rsl_rl's scale: the value loss is the plain mean squared error (no 1/2 factor).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from rl.models import ActorCritic, gaussian_entropy, gaussian_log_prob
from rl.schedules import KLAdaptiveLR, LrScheduleKind, scheduled_lr

if TYPE_CHECKING:
    from rl.storage import RolloutStorage


# ----------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------
def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    last_values: torch.Tensor,
    timeout_values: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over a rollout.

    rewards, values, terminated, truncated, timeout_values: [T, N]; last_values: [N] = V(s_T), the
    value of the observation after the last step. Step t is the transition s_t -> s_{t+1} with
    reward r_t; ``terminated[t]``/``truncated[t]`` say the episode ended at that transition (then
    s_{t+1} in the buffer already belongs to the next episode).

    A timeout is bootstrapped by adding ``gamma * timeout_values[t]`` (= gamma * V(final state)) to
    r_t; a termination adds nothing (a step both terminated and truncated counts as terminated).
    Either way the recursion is cut at an episode end:
        delta_t = r'_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
        A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}
    Returns ``(advantages [T, N], returns = advantages + values [T, N])``.
    """
    T = rewards.shape[0]
    done = (terminated | truncated).to(rewards.dtype)
    timeout = (truncated & ~terminated).to(rewards.dtype)
    rewards = rewards + gamma * timeout_values * timeout
    advantages = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(last_values)
    next_value = last_values
    for t in reversed(range(T)):
        not_done = 1.0 - done[t]
        delta = rewards[t] + gamma * next_value * not_done - values[t]
        next_adv = delta + gamma * lam * not_done * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages, advantages + values


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit std over all elements."""
    return (advantages - advantages.mean()) / (advantages.std() + eps)


def clipped_surrogate_loss(
    log_ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO-Clip policy loss (to minimise) and clip fraction.

    ``log_ratio = log pi_new(a|s) - log pi_old(a|s)``, same shape as ``advantages``.
    loss = mean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))) = -mean(min(...)).
    clip fraction = share of samples with |ratio - 1| > eps.
    """
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    loss = torch.max(unclipped, clipped).mean()
    clip_fraction = ((ratio - 1.0).abs() > clip_eps).float().mean()
    return loss, clip_fraction


def kl_penalty_loss(
    log_ratio: torch.Tensor, advantages: torch.Tensor, kl: torch.Tensor, beta: float
) -> torch.Tensor:
    """PPO-Penalty policy loss: ``-mean(ratio * A) + beta * mean(KL(old || new))``."""
    return -(torch.exp(log_ratio) * advantages).mean() + beta * kl.mean()


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_eps: float | None
) -> torch.Tensor:
    """Value loss ``mean(max((V - R)^2, (V_old + clip(V - V_old, ±eps) - R)^2))``.

    ``clip_eps=None`` gives the unclipped ``mean((V - R)^2)``.
    """
    loss = (values - returns).square()
    if clip_eps is None:
        return loss.mean()
    v_clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return torch.max(loss, (v_clipped - returns).square()).mean()


def approx_kl(log_ratio: torch.Tensor) -> torch.Tensor:
    """Schulman's estimator of KL(old || new) from samples of the old policy: mean((r - 1) - log r)."""
    return ((torch.exp(log_ratio) - 1.0) - log_ratio).mean()


def gaussian_kl(
    mu_old: torch.Tensor, sigma_old: torch.Tensor, mu_new: torch.Tensor, sigma_new: torch.Tensor
) -> torch.Tensor:
    """Analytic KL(N_old || N_new) of diagonal Gaussians, summed over the last axis: [...]."""
    return (
        torch.log(sigma_new / sigma_old)
        + (sigma_old.square() + (mu_old - mu_new).square()) / (2.0 * sigma_new.square())
        - 0.5
    ).sum(-1)


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """``1 - Var(R - V) / Var(R)``; 1 = perfect critic, 0 = no better than a constant (nan if Var(R)=0)."""
    var_r = returns.var()
    if var_r.item() == 0.0:
        return float("nan")
    return float(1.0 - (returns - values).var() / var_r)


# ----------------------------------------------------------------------------------------------
# Config and algorithm
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters."""

    gamma: float = 0.99  # discount
    lam: float = 0.95  # GAE lambda
    clip_eps: float = 0.2  # surrogate clip range epsilon
    value_clip: float | None = 0.2  # value clip range; null = unclipped value loss
    value_coef: float = 1.0  # weight of the value loss
    entropy_coef: float = 0.005  # weight of the entropy bonus
    max_grad_norm: float | None = 1.0  # global gradient-norm clip; null = no clipping
    epochs: int = 5  # K passes over the rollout
    minibatches: int = 4  # M minibatches per pass (recurrent: M groups of env sequences)
    adv_norm: Literal["minibatch", "rollout", "none"] = "minibatch"  # advantage normalisation
    lr: float = 1e-3  # (initial) learning rate
    lr_schedule: LrScheduleKind = "adaptive"  # constant, linear, cosine (with warm-up), adaptive
    warmup_iters: int = 0  # linear warm-up iterations
    min_lr: float = 1e-5  # floor of linear/cosine decay and of the adaptive rule
    max_lr: float = 1e-2  # ceiling of the adaptive rule
    desired_kl: float = 0.01  # KL target of the adaptive lr, early stop and penalty
    kl_early_stop: float | None = None  # stop the epoch loop when KL > this x desired_kl
    penalty: Literal["clip", "kl_penalty"] = "clip"  # PPO-Clip or PPO-Penalty (adaptive beta)
    kl_beta: float = 1.0  # initial penalty coefficient beta (kl_penalty mode)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.minibatches < 1:
            raise ValueError(
                f"PPOConfig: epochs and minibatches must be >= 1, got {self.epochs}, {self.minibatches}"
            )
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.lam <= 1.0:
            raise ValueError(
                f"PPOConfig: gamma and lam must be in [0, 1], got {self.gamma}, {self.lam}"
            )


class PPO:
    """The PPO update on an ``ActorCritic`` (MLP or recurrent) from a filled ``RolloutStorage``."""

    def __init__(
        self, model: ActorCritic, cfg: PPOConfig, generator: torch.Generator | None = None
    ) -> None:
        self.model = model
        self.cfg = cfg
        self.generator = generator  # minibatch shuffling (CPU generator)
        # foreach: the same update as the per-parameter loop (bitwise), in a few fused calls.
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, foreach=True)
        self.lr = cfg.lr
        self.beta = cfg.kl_beta
        self.kl_rule = KLAdaptiveLR(cfg.lr, cfg.desired_kl, cfg.min_lr, cfg.max_lr)
        self._adaptive_active = cfg.lr_schedule == "adaptive" and cfg.warmup_iters == 0

    # --- learning rate ----------------------------------------------------------------------
    def _set_lr(self, lr: float) -> None:
        self.lr = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def schedule_lr(self, iteration: int, total_iterations: int) -> float:
        """Set the learning rate for ``iteration`` (call once per iteration before ``update``)."""
        c = self.cfg
        if c.lr_schedule == "adaptive":
            if iteration < c.warmup_iters:
                self._set_lr(
                    scheduled_lr("constant", c.lr, iteration, total_iterations, c.warmup_iters)
                )
                self.kl_rule.lr = self.lr
            else:
                if not self._adaptive_active:
                    self._set_lr(c.lr)
                    self.kl_rule.lr = c.lr
                self._adaptive_active = True
        else:
            self._set_lr(
                scheduled_lr(
                    c.lr_schedule, c.lr, iteration, total_iterations, c.warmup_iters, c.min_lr
                )
            )
        return self.lr

    # --- the update -----------------------------------------------------------------------------
    def update(self, storage: RolloutStorage) -> dict[str, float]:
        """K epochs x M minibatches of PPO on ``storage`` (advantages already computed).

        Returns means over the minibatches actually used: ``kl``, ``approx_kl``, ``clip_fraction``,
        ``entropy``, ``value_loss``, ``policy_loss``, ``grad_norm`` (pre-clip global norm), plus
        ``explained_variance`` of the rollout's values, ``lr``, ``beta``, ``std`` (mean action std),
        ``epochs`` (fractional if stopped early) and ``early_stop`` (0/1).
        """
        c, model = self.cfg, self.model
        explained = explained_variance(storage.values, storage.returns)
        advantages = storage.advantages
        if c.adv_norm == "rollout":
            advantages = normalize_advantages(advantages)
        make_batches = storage.sequence_minibatches if model.is_recurrent else storage.minibatches
        params = [p for p in model.parameters() if p.requires_grad]

        sums: dict[str, float] = defaultdict(float)
        num_updates, stopped = 0, False
        for _epoch in range(c.epochs):
            for batch in make_batches(c.minibatches, advantages, self.generator):
                mu, sigma, values = model.evaluate(
                    batch.obs, batch.critic_obs, batch.hidden0, batch.episode_starts
                )
                log_ratio = gaussian_log_prob(batch.actions, mu, sigma) - batch.old_log_probs
                kl_per_sample = gaussian_kl(batch.old_mu, batch.old_sigma, mu, sigma)
                kl = kl_per_sample.mean().item()

                # Early stop: this minibatch's policy already drifted too far from pi_old.
                if c.kl_early_stop is not None and kl > c.kl_early_stop * c.desired_kl:
                    stopped = True
                    break
                if self._adaptive_active:
                    self._set_lr(self.kl_rule.update(kl))

                adv = batch.advantages
                if c.adv_norm == "minibatch":
                    adv = normalize_advantages(adv)
                if c.penalty == "clip":
                    policy_loss, clip_fraction = clipped_surrogate_loss(log_ratio, adv, c.clip_eps)
                else:
                    policy_loss = kl_penalty_loss(log_ratio, adv, kl_per_sample, self.beta)
                    clip_fraction = ((torch.exp(log_ratio) - 1.0).abs() > c.clip_eps).float().mean()
                value_loss = clipped_value_loss(
                    values, batch.old_values, batch.returns, c.value_clip
                )
                entropy = gaussian_entropy(sigma).mean()
                loss = policy_loss + c.value_coef * value_loss - c.entropy_coef * entropy

                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                max_norm = c.max_grad_norm if c.max_grad_norm is not None else float("inf")
                grad_norm = nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
                self.optimizer.step()

                num_updates += 1
                sums["kl"] += kl
                sums["approx_kl"] += approx_kl(log_ratio.detach()).item()
                sums["clip_fraction"] += clip_fraction.item()
                sums["entropy"] += entropy.item()
                sums["value_loss"] += value_loss.item()
                sums["policy_loss"] += policy_loss.item()
                sums["grad_norm"] += grad_norm.item()
            if stopped:
                break

        stats = {k: v / max(num_updates, 1) for k, v in sums.items()}
        for k in (
            "kl",
            "approx_kl",
            "clip_fraction",
            "entropy",
            "value_loss",
            "policy_loss",
            "grad_norm",
        ):
            stats.setdefault(k, float("nan"))
        if c.penalty == "kl_penalty" and num_updates > 0:
            # PPO paper's adaptive beta: keep the mean KL near the target.
            if stats["kl"] > 1.5 * c.desired_kl:
                self.beta *= 2.0
            elif stats["kl"] < c.desired_kl / 1.5:
                self.beta /= 2.0
        batches_per_epoch = c.minibatches
        stats.update(
            explained_variance=explained,
            lr=self.lr,
            beta=self.beta,
            std=float(model.std.detach().mean()),
            epochs=num_updates / batches_per_epoch,
            early_stop=float(stopped),
        )
        return stats

    # --- checkpointing --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "lr": self.lr,
            "beta": self.beta,
            "kl_rule_lr": self.kl_rule.lr,
            "adaptive_active": self._adaptive_active,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self._set_lr(float(state["lr"]))
        self.beta = float(state["beta"])
        self.kl_rule.lr = float(state["kl_rule_lr"])
        self._adaptive_active = bool(state["adaptive_active"])
