"""Domain randomisation: friction, added base mass, motor strength, pushes, observation noise.

Physics parameters are drawn once per *parameter group* (the MuJoCo backend keeps one model copy
per group, see ``rl/sim/mujoco.py``) and envs move to a random group at every episode reset, so a
robot meets a new (friction, mass, strength) triple per episode out of ``num_groups`` draws.
Pushes are random horizontal velocity impulses at random intervals. Observation noise amplitudes
live in ``rl.observations.ObservationConfig``; ``obs_noise`` here switches them on or off.
``deterministic: true`` turns everything off: nominal physics, no pushes, no noise.
All draws take an explicit ``torch.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mocap.configs import ConfigError
from rl.sim.base import PhysicsParams


@dataclass(frozen=True)
class RandomizationConfig:
    """What is randomised and by how much."""

    deterministic: bool = False  # switch every randomisation below off
    physics: bool = True  # randomise friction, added mass and motor strength
    num_groups: int = 16  # distinct physics-parameter draws (model copies)
    friction_range: tuple[float, float] = (0.4, 1.2)  # robot geom sliding friction
    added_mass_range: tuple[float, float] = (-1.0, 3.0)  # kg added to the randomised body
    motor_strength_range: tuple[float, float] = (0.9, 1.1)  # scale of the PD gains
    pushes: bool = True  # random velocity impulses
    push_interval_s: tuple[float, float] = (10.0, 15.0)  # s between pushes, uniform per push
    push_vel_xy: float = 0.5  # m/s, max |dv| per horizontal axis, uniform in [-a, a]
    obs_noise: bool = True  # add actor observation noise

    def __post_init__(self) -> None:
        for name in (
            "friction_range",
            "added_mass_range",
            "motor_strength_range",
            "push_interval_s",
        ):
            lo, hi = getattr(self, name)
            if hi < lo:
                raise ConfigError(f"randomization.{name}: low {lo} > high {hi}")
        if self.friction_range[0] < 0 or self.motor_strength_range[0] <= 0:
            raise ConfigError("randomization: friction must be >= 0 and motor strength > 0")
        if self.push_interval_s[0] <= 0:
            raise ConfigError("randomization.push_interval_s: must be > 0")
        if self.num_groups < 1:
            raise ConfigError(f"randomization.num_groups: must be >= 1, got {self.num_groups}")

    @property
    def physics_on(self) -> bool:
        """Physics parameters are randomised."""
        return self.physics and not self.deterministic

    @property
    def pushes_on(self) -> bool:
        """Pushes are applied."""
        return self.pushes and not self.deterministic

    @property
    def obs_noise_on(self) -> bool:
        """Actor observation noise is added."""
        return self.obs_noise and not self.deterministic


def _uniform(n: int, rng: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    return rng[0] + (rng[1] - rng[0]) * torch.rand(n, generator=generator)


def sample_physics_groups(
    cfg: RandomizationConfig, generator: torch.Generator
) -> PhysicsParams | None:
    """Parameter draws for ``cfg.num_groups`` groups (each field [G]); None when off."""
    if not cfg.physics_on:
        return None
    G = cfg.num_groups
    return PhysicsParams(
        friction=_uniform(G, cfg.friction_range, generator),
        added_mass=_uniform(G, cfg.added_mass_range, generator),
        motor_strength=_uniform(G, cfg.motor_strength_range, generator),
    )


def sample_push_interval(
    cfg: RandomizationConfig, n: int, dt: float, generator: torch.Generator
) -> torch.Tensor:
    """Policy steps until the next push [n] (long, >= 1)."""
    seconds = _uniform(n, cfg.push_interval_s, generator)
    return torch.clamp(torch.round(seconds / dt), min=1).long()


def sample_push_velocity(
    cfg: RandomizationConfig, n: int, generator: torch.Generator
) -> torch.Tensor:
    """Horizontal velocity impulses [n, 3] (m/s, world; z = 0)."""
    dv = torch.zeros(n, 3)
    dv[:, :2] = (2.0 * torch.rand(n, 2, generator=generator) - 1.0) * cfg.push_vel_xy
    return dv
