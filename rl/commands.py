"""Velocity commands for N environments: sampling, resampling within episodes, heading mode.

A command is ``(vx, vy, wz)``: planar linear velocity (m/s) in the heading frame (the base frame
rotated by its yaw only: x forward, y left, z up) and yaw rate (rad/s). In heading mode a target
heading (world yaw, rad) is sampled instead of a yaw rate and ``wz`` follows it:
``wz = clip(heading_stiffness * wrap(heading_target - yaw), ang_vel_z)``.
Standing envs (``standing_prob``) get an all-zero command; planar commands slower than
``small_command_threshold`` are zeroed (the yaw rate is kept), so "stand still" is practised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mocap.configs import ConfigError


@dataclass(frozen=True)
class CommandConfig:
    """Velocity-command settings (m/s, rad/s, s)."""

    lin_vel_x: tuple[float, float] = (-0.5, 1.0)
    """Forward velocity range (m/s), heading frame."""
    lin_vel_y: tuple[float, float] = (-0.3, 0.3)
    """Lateral velocity range (m/s), heading frame."""
    ang_vel_z: tuple[float, float] = (-1.0, 1.0)
    """Yaw-rate range (rad/s); also the clip of the heading controller."""
    heading_command: bool = True
    """Use heading mode for a fraction ``heading_prob`` of the envs."""
    heading_prob: float = 1.0
    """Probability that a resampled command is in heading mode (with ``heading_command``)."""
    heading: tuple[float, float] = (-math.pi, math.pi)
    """Target heading range (rad, world yaw)."""
    heading_stiffness: float = 0.5
    """Yaw rate per radian of heading error (1/s)."""
    resampling_time: tuple[float, float] = (10.0, 10.0)
    """Time between resamples (s), drawn uniformly per env."""
    standing_prob: float = 0.02
    """Probability that a resampled command is all zero."""
    small_command_threshold: float = 0.1
    """Planar commands with |(vx, vy)| below this (m/s) are zeroed."""
    curriculum: bool = False
    """Widen ``lin_vel_x`` step by step (``update_curriculum``) up to ``lin_vel_x_limit``."""
    lin_vel_x_limit: tuple[float, float] = (-1.0, 2.0)
    """Widest forward-velocity range the curriculum may reach (m/s)."""
    curriculum_threshold: float = 0.8
    """Widen when the tracking score (normalised to [0, 1]) exceeds this."""
    curriculum_step: float = 0.1
    """Widening of each end of ``lin_vel_x`` per step (m/s)."""

    def __post_init__(self) -> None:
        for name in ("lin_vel_x", "lin_vel_y", "ang_vel_z", "heading", "resampling_time"):
            lo, hi = getattr(self, name)
            if hi < lo:
                raise ConfigError(f"commands.{name}: low {lo} > high {hi}")
        if self.resampling_time[0] <= 0:
            raise ConfigError(f"commands.resampling_time: must be > 0, got {self.resampling_time}")
        for name in ("heading_prob", "standing_prob"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"commands.{name}: must be a probability, got {p}")
        if self.curriculum and not (
            self.lin_vel_x_limit[0] <= self.lin_vel_x[0]
            and self.lin_vel_x[1] <= self.lin_vel_x_limit[1]
        ):
            raise ConfigError(
                f"commands.lin_vel_x_limit: {self.lin_vel_x_limit} must contain lin_vel_x "
                f"{self.lin_vel_x}"
            )

    def widest_ranges(self) -> dict[str, tuple[float, float]]:
        """The widest ranges commands can take (curriculum limit included)."""
        vx = self.lin_vel_x_limit if self.curriculum else self.lin_vel_x
        return {"lin_vel_x": vx, "lin_vel_y": self.lin_vel_y, "ang_vel_z": self.ang_vel_z}


def wrap_to_pi(angle: torch.Tensor) -> torch.Tensor:
    """Angle(s) wrapped into [-pi, pi)."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


class VelocityCommands:
    """Commands of N envs.

    Attributes:
        commands: [N, 3] (vx, vy, wz) in the heading frame, m/s and rad/s.
        heading_target: [N] world yaw (rad) the heading-mode envs turn to.
        is_heading: [N] bool, env is in heading mode. is_standing: [N] bool, all-zero command.
        time_left: [N] seconds until the next resample.
        lin_vel_x_range: current forward range (m/s), widened by the curriculum.
    """

    def __init__(
        self,
        cfg: CommandConfig,
        num_envs: int,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        """generator: CPU torch.Generator for all draws (default: seeded with 0)."""
        self.cfg = cfg
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.commands = torch.zeros(num_envs, 3, device=self.device)
        self.heading_target = torch.zeros(num_envs, device=self.device)
        self.is_heading = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self.is_standing = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self.time_left = torch.zeros(num_envs, device=self.device)
        self.lin_vel_x_range: tuple[float, float] = tuple(cfg.lin_vel_x)  # type: ignore[assignment]

    def _uniform(self, n: int, rng: tuple[float, float]) -> torch.Tensor:
        u = torch.rand(n, generator=self.generator)
        return (rng[0] + (rng[1] - rng[0]) * u).to(self.device)

    def resample(self, env_ids: torch.Tensor, base_yaw: torch.Tensor | None = None) -> None:
        """Draw new commands and resampling times for ``env_ids`` [n] (long).

        base_yaw: [n] current yaw (rad) of those envs; when given, heading-mode yaw rates are
        set at once (otherwise at the next ``update``).
        """
        env_ids = env_ids.to(self.device)
        n = env_ids.numel()
        if n == 0:
            return
        cfg = self.cfg
        vx = self._uniform(n, self.lin_vel_x_range)
        vy = self._uniform(n, cfg.lin_vel_y)
        wz = self._uniform(n, cfg.ang_vel_z)
        heading = self._uniform(n, cfg.heading)
        is_heading = torch.rand(n, generator=self.generator) < cfg.heading_prob
        is_heading = (is_heading & cfg.heading_command).to(self.device)
        standing = (torch.rand(n, generator=self.generator) < cfg.standing_prob).to(self.device)
        small = torch.hypot(vx, vy) < cfg.small_command_threshold
        vx = torch.where(small | standing, torch.zeros_like(vx), vx)
        vy = torch.where(small | standing, torch.zeros_like(vy), vy)
        wz = torch.where(standing, torch.zeros_like(wz), wz)
        self.commands[env_ids] = torch.stack([vx, vy, wz], dim=-1)
        self.heading_target[env_ids] = heading
        self.is_heading[env_ids] = is_heading
        self.is_standing[env_ids] = standing
        self.time_left[env_ids] = self._uniform(n, cfg.resampling_time)
        if base_yaw is not None:
            self._apply_heading(env_ids, base_yaw.to(self.device))

    def _apply_heading(self, env_ids: torch.Tensor | None, yaw: torch.Tensor) -> None:
        """Heading-mode yaw rates of ``env_ids`` (None: every env, without index gathers)."""
        if env_ids is None:
            target, heading, standing = self.heading_target, self.is_heading, self.is_standing
            wz_now = self.commands[:, 2]
        else:
            target, heading = self.heading_target[env_ids], self.is_heading[env_ids]
            standing, wz_now = self.is_standing[env_ids], self.commands[env_ids, 2]
        err = wrap_to_pi(target - yaw)
        lo, hi = self.cfg.ang_vel_z
        wz = (self.cfg.heading_stiffness * err).clamp(lo, hi)
        new = torch.where(heading & ~standing, wz, wz_now)
        if env_ids is None:
            self.commands[:, 2] = new
        else:
            self.commands[env_ids, 2] = new

    def update(self, dt: float, base_yaw: torch.Tensor) -> None:
        """Advance timers by ``dt`` (s), resample the expired envs, update heading yaw rates.

        base_yaw: [N] current yaw of every env (rad, world frame).
        """
        self.time_left -= dt
        expired = torch.nonzero(self.time_left <= 0).flatten()
        if expired.numel():
            self.resample(expired)
        self._apply_heading(None, base_yaw.to(self.device))

    def update_curriculum(self, tracking_score: float) -> bool:
        """Widen ``lin_vel_x_range`` by ``curriculum_step`` per end (within the limit) when
        ``tracking_score`` (e.g. mean lin-vel tracking reward / its weight, in [0, 1]) exceeds
        ``curriculum_threshold``; returns whether it widened. No-op without ``curriculum``.
        """
        cfg = self.cfg
        if not cfg.curriculum or tracking_score <= cfg.curriculum_threshold:
            return False
        lo, hi = self.lin_vel_x_range
        new = (
            max(lo - cfg.curriculum_step, cfg.lin_vel_x_limit[0]),
            min(hi + cfg.curriculum_step, cfg.lin_vel_x_limit[1]),
        )
        changed = new != (lo, hi)
        self.lin_vel_x_range = new
        return changed

    def check_against_dataset(
        self,
        forward_speeds: Sequence[float] | np.ndarray,
        lateral_speeds: Sequence[float] | np.ndarray | None = None,
        yaw_rates: Sequence[float] | np.ndarray | None = None,
        margin: float = 0.1,
    ) -> list[str]:
        """``check_against_dataset`` with this object's config."""
        return check_against_dataset(self.cfg, forward_speeds, lateral_speeds, yaw_rates, margin)

    def state_dict(self) -> dict[str, object]:
        """Resumable state (tensors on CPU)."""
        return {
            "commands": self.commands.cpu().clone(),
            "heading_target": self.heading_target.cpu().clone(),
            "is_heading": self.is_heading.cpu().clone(),
            "is_standing": self.is_standing.cpu().clone(),
            "time_left": self.time_left.cpu().clone(),
            "lin_vel_x_range": list(self.lin_vel_x_range),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore from ``state_dict`` (same number of envs)."""
        for name in ("commands", "heading_target", "is_heading", "is_standing", "time_left"):
            value = state[name]
            assert isinstance(value, torch.Tensor)
            if value.shape != getattr(self, name).shape:
                raise ValueError(
                    f"VelocityCommands.load_state_dict: {name} has shape {tuple(value.shape)}, "
                    f"expected {tuple(getattr(self, name).shape)}"
                )
            setattr(self, name, value.to(self.device).clone())
        lo, hi = state["lin_vel_x_range"]  # type: ignore[misc]
        self.lin_vel_x_range = (float(lo), float(hi))
        self.generator.set_state(state["generator"])  # type: ignore[arg-type]


def check_against_dataset(
    cfg: CommandConfig,
    forward_speeds: Sequence[float] | np.ndarray,
    lateral_speeds: Sequence[float] | np.ndarray | None = None,
    yaw_rates: Sequence[float] | np.ndarray | None = None,
    margin: float = 0.1,
) -> list[str]:
    """Warnings for command ranges that the reference clips do not cover.

    forward_speeds, lateral_speeds: per-clip mean root velocities (m/s) in the heading frame;
    yaw_rates: per-clip mean yaw rates (rad/s); None skips that axis. A range end beyond the
    clips' min/max by more than ``margin`` (same units) gives one warning naming the axis, the
    commanded end and the covered interval. Uses the widest ranges (curriculum limit included).
    Returns an empty list when everything is covered.
    """
    ranges = cfg.widest_ranges()
    warnings: list[str] = []
    axes = (
        ("lin_vel_x", "forward speed", "m/s", forward_speeds),
        ("lin_vel_y", "lateral speed", "m/s", lateral_speeds),
        ("ang_vel_z", "yaw rate", "rad/s", yaw_rates),
    )
    for key, label, unit, values in axes:
        if values is None:
            continue
        arr = np.asarray(values, dtype=float).ravel()
        if arr.size == 0:
            warnings.append(f"commands.{key}: no reference clips to compare {label} with")
            continue
        lo, hi = float(arr.min()), float(arr.max())
        cmd_lo, cmd_hi = ranges[key]
        if cmd_hi > hi + margin:
            warnings.append(
                f"commands.{key}: commands reach {cmd_hi:.2f} {unit} but the fastest reference "
                f"clip's {label} is {hi:.2f} {unit} (clips cover [{lo:.2f}, {hi:.2f}])"
            )
        if cmd_lo < lo - margin:
            warnings.append(
                f"commands.{key}: commands go down to {cmd_lo:.2f} {unit} but the slowest "
                f"reference clip's {label} is {lo:.2f} {unit} (clips cover [{lo:.2f}, {hi:.2f}])"
            )
    return warnings
