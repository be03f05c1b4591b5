"""Learning-rate and action-std schedules: pure functions of the iteration, plus the KL-adaptive rule
and the helpers of staged configs (reward and style stages that begin at given iterations).

Iterations count PPO updates from 0. ``total`` is the number of iterations of the run. Every
schedule with a warm-up ramps linearly from ``base_lr / (warmup + 1)`` to ``base_lr`` over the first
``warmup`` iterations, then follows its shape over the remaining ``total - warmup`` iterations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from mocap.configs import ConfigError

LrScheduleKind = Literal["constant", "linear", "cosine", "adaptive"]


class _Stage(Protocol):
    @property
    def start_iteration(self) -> int: ...


StageT = TypeVar("StageT", bound=_Stage)


def check_stage_starts(stages: Sequence[_Stage], where: str) -> None:
    """Raise ``ConfigError`` unless the stages' ``start_iteration`` are >= 1 and increase."""
    starts = [st.start_iteration for st in stages]
    if any(b <= a for a, b in itertools.pairwise(starts)) or any(x < 1 for x in starts):
        raise ConfigError(f"{where}: start_iteration must be >= 1 and increase, got {starts}")


def stages_begun(stages: Sequence[StageT], iteration: int) -> list[StageT]:
    """The stages in force at PPO ``iteration`` (``start_iteration <= iteration``), in order."""
    return [st for st in stages if iteration >= st.start_iteration]


def _warmup_factor(iteration: int, warmup: int) -> float:
    """Linear warm-up multiplier in (0, 1]: (iteration + 1) / (warmup + 1) before ``warmup``."""
    if warmup <= 0 or iteration >= warmup:
        return 1.0
    return (iteration + 1) / (warmup + 1)


def _progress(iteration: int, total: int, warmup: int) -> float:
    """Fraction in [0, 1] of the post-warm-up part of the run that has passed."""
    span = max(total - warmup, 1)
    return min(max((iteration - warmup) / span, 0.0), 1.0)


def constant_lr(base_lr: float, iteration: int, total: int, warmup: int = 0) -> float:
    """``base_lr`` (after an optional warm-up)."""
    return base_lr * _warmup_factor(iteration, warmup)


def linear_lr(
    base_lr: float, iteration: int, total: int, warmup: int = 0, min_lr: float = 0.0
) -> float:
    """Linear decay from ``base_lr`` at the end of warm-up to ``min_lr`` at ``total``."""
    if iteration < warmup:
        return base_lr * _warmup_factor(iteration, warmup)
    p = _progress(iteration, total, warmup)
    return min_lr + (base_lr - min_lr) * (1.0 - p)


def cosine_lr(
    base_lr: float, iteration: int, total: int, warmup: int = 0, min_lr: float = 0.0
) -> float:
    """Cosine decay from ``base_lr`` (end of warm-up) to ``min_lr`` (at ``total``)."""
    if iteration < warmup:
        return base_lr * _warmup_factor(iteration, warmup)
    p = _progress(iteration, total, warmup)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * p))


def scheduled_lr(
    kind: LrScheduleKind,
    base_lr: float,
    iteration: int,
    total: int,
    warmup: int = 0,
    min_lr: float = 0.0,
) -> float:
    """The learning rate of a non-adaptive schedule at ``iteration``.

    For ``"adaptive"`` this returns the warm-up value only (the KL rule takes over afterwards).
    """
    if kind == "constant" or kind == "adaptive":
        return constant_lr(base_lr, iteration, total, warmup)
    if kind == "linear":
        return linear_lr(base_lr, iteration, total, warmup, min_lr)
    if kind == "cosine":
        return cosine_lr(base_lr, iteration, total, warmup, min_lr)
    raise ValueError(f"unknown lr schedule {kind!r}; expected constant, linear, cosine or adaptive")


@dataclass
class KLAdaptiveLR:
    """rsl_rl's KL-adaptive learning rate.

    After each minibatch with KL estimate ``kl``: divide the rate by ``factor`` when
    ``kl > 2 * desired_kl``, multiply it by ``factor`` when ``kl < desired_kl / 2``, and clamp it to
    ``[min_lr, max_lr]``.
    """

    lr: float
    desired_kl: float
    min_lr: float = 1e-5
    max_lr: float = 1e-2
    factor: float = 1.5

    def update(self, kl: float) -> float:
        """Apply the rule for one KL measurement; returns the new learning rate."""
        if kl > 2.0 * self.desired_kl:
            self.lr = self.lr / self.factor
        elif 0.0 <= kl < 0.5 * self.desired_kl:
            self.lr = self.lr * self.factor
        self.lr = min(max(self.lr, self.min_lr), self.max_lr)
        return self.lr


def linear_std(iteration: int, total: int, start: float, end: float) -> float:
    """Scheduled action std: linear from ``start`` at iteration 0 to ``end`` at ``total``."""
    p = min(max(iteration / max(total, 1), 0.0), 1.0)
    return start + (end - start) * p
