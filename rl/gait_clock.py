"""Gait clock: a per-env stride phase that tells the policy when each foot should be on the ground.

A biped learning from scratch first settles on standing still (safe, and half the tracking
reward) or on a double-support shuffle; a periodic reference for the contact pattern (Siekmann
et al. 2021, "Sim-to-real learning of all common bipedal gaits via periodic reward composition")
turns stepping into something the policy is rewarded for from the first iterations.

The clock here follows the *reference clips*: the stride period at a commanded speed is the
median stride time of the dataset's strides at that speed (``rl.gait``, the same stride analysis
the evaluation uses), so the cadence the policy is taught is the reference's, speed by speed.

- phase in [0, 1) advances by ``dt / period(|v_cmd|)`` each policy step (random at reset);
- foot ``i`` is expected in stance while ``(phase + offset_i) mod 1 < duty_factor``, offsets
  (0, 0.5): left and right alternate, half a stride apart;
- under a standing command (planar speed and yaw rate both small) both feet are expected down;
- the policy observes ``(sin 2 pi phase, cos 2 pi phase)``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from mocap.configs import ConfigError

if TYPE_CHECKING:
    from rl.env_config import EnvConfig

#: Stride period (s) against forward speed (m/s) of the built-in demo walks at G1 scale (root
#: scale ~0.76): used only when no dataset is given to measure it from.
DEFAULT_STRIDE_PERIOD = ((0.38, 1.87), (0.57, 1.48), (0.76, 1.25), (0.95, 1.10), (1.14, 0.99))
FOOT_OFFSETS = (0.0, 0.5)
log = logging.getLogger("rl.gait_clock")


@dataclass(frozen=True)
class GaitClockConfig:
    """The stride clock (see the module docstring)."""

    enabled: bool = False  # add the clock to observations and compute the expected contacts
    # (speed m/s, stride period s) pairs, increasing speed; empty = measured from the dataset's
    # strides (rl.gait), or DEFAULT_STRIDE_PERIOD without a dataset
    stride_period: tuple[tuple[float, float], ...] = ()
    duty_factor: float = 0.6  # stance fraction of a stride, per foot
    stand_speed: float = 0.1  # m/s: planar commands below this (and a small yaw rate) = stand
    stand_yaw_rate: float = 0.2  # rad/s: yaw-rate commands below this count as standing

    def __post_init__(self) -> None:
        if not 0.5 <= self.duty_factor < 1.0:
            raise ConfigError(
                f"env.gait_clock.duty_factor: must be in [0.5, 1) (walking), got {self.duty_factor}"
            )
        table = self.stride_period
        if any(len(p) != 2 or p[1] <= 0 for p in table):
            raise ConfigError(
                f"env.gait_clock.stride_period: (speed, period > 0) pairs expected, got {table}"
            )
        if any(b[0] <= a[0] for a, b in itertools.pairwise(table)):
            raise ConfigError(
                f"env.gait_clock.stride_period: speeds must increase, got {[p[0] for p in table]}"
            )


def period_table(cfg: GaitClockConfig) -> tuple[tuple[float, float], ...]:
    """The (speed, period) pairs in use: the config's, or the demo walks' default."""
    return cfg.stride_period or DEFAULT_STRIDE_PERIOD


def stride_period(table: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
    """Period [N] s at ``speed [N]`` m/s: linear between the rows of ``table [2, B]`` (speeds,
    periods), constant beyond its ends."""
    xs, ys = table[0], table[1]
    if xs.numel() == 1:
        return ys.expand(speed.shape).clone()
    s = speed.clamp(float(xs[0]), float(xs[-1]))
    i = torch.searchsorted(xs, s, right=True).clamp(1, xs.numel() - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    w = torch.where(x1 > x0, (s - x0) / (x1 - x0).clamp(min=1e-9), torch.zeros_like(s))
    return y0 + w * (y1 - y0)


def advance(phase: torch.Tensor, dt: float, period: torch.Tensor) -> torch.Tensor:
    """Phase [N] one step ``dt`` later, wrapped to [0, 1)."""
    return torch.remainder(phase + dt / period, 1.0)


def expected_stance(
    phase: torch.Tensor, duty_factor: float, standing: torch.Tensor
) -> torch.Tensor:
    """[N, 2] bool: left and right foot expected on the ground (both while ``standing``)."""
    offsets = torch.tensor(FOOT_OFFSETS, dtype=phase.dtype, device=phase.device)
    stance = torch.remainder(phase[:, None] + offsets, 1.0) < duty_factor
    return stance | standing[:, None]


def is_standing(cfg: GaitClockConfig, command: torch.Tensor) -> torch.Tensor:
    """[N] bool: the command (vx, vy, wz) asks the robot to stand."""
    planar = torch.linalg.vector_norm(command[:, :2], dim=-1)
    return (planar < cfg.stand_speed) & (command[:, 2].abs() < cfg.stand_yaw_rate)


def phase_obs(phase: torch.Tensor) -> torch.Tensor:
    """[N, 2]: (sin 2 pi phase, cos 2 pi phase)."""
    a = 2.0 * math.pi * phase
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def reference_stride_period(
    speed: np.ndarray, stride_time: np.ndarray, duty: np.ndarray, num_points: int = 6
) -> tuple[tuple[float, float], ...]:
    """(speed, period) pairs from reference strides (or clips): a power law ``T = c v^k`` fitted (least
    squares in log-log) to the walking strides (duty factor > 0.5, speed > 0.1 m/s; runs have
    other cadences at overlapping speeds), sampled at ``num_points`` speeds from the 5th to the
    95th percentile of theirs. Smooth and monotone, where per-bin medians of a few clips (turns
    mixed with straight walks) are not."""
    v, t, d = (np.asarray(a, dtype=np.float64) for a in (speed, stride_time, duty))
    ok = np.isfinite(v) & np.isfinite(t) & (d > 0.5) & (v > 0.1) & (t > 0)
    if not ok.any():
        return ()
    if np.unique(v[ok]).size < 2:  # one speed: one period
        return ((float(np.median(v[ok])), float(np.median(t[ok]))),)
    k, logc = np.polyfit(np.log(v[ok]), np.log(t[ok]), 1)
    lo, hi = np.percentile(v[ok], [5.0, 95.0])
    speeds = np.linspace(lo, hi, num_points) if hi > lo else np.array([lo])
    return tuple((float(x), float(np.exp(logc) * x**k)) for x in speeds)


def measure_stride_period(
    dataset: str, dof_names: Sequence[str]
) -> tuple[tuple[float, float], ...]:
    """``reference_stride_period`` of the clips of a motion dataset, one point per clip (mean
    stride speed and median stride time over both feet: on a turn the inner and outer foot
    stride at different speeds in the same time, and only their mean is the body's speed);
    clips tagged ``stairs`` are left out."""
    import h5py

    from rl import gait as G
    from rl.metrics import h5_attrs, iter_motions

    with h5py.File(dataset, "r") as f:
        attrs = h5_attrs(f)
    if tuple(attrs.get("dof_names") or ()) != tuple(dof_names):
        raise ConfigError(f"{dataset}: the dataset's joints are not the robot's")
    key_bodies = tuple(attrs.get("key_bodies") or ())
    speeds, times, duties = [], [], []
    for clip in iter_motions(dataset, "/clips"):
        if "stairs" in str(clip.attrs.get("tags", "")):
            continue  # stair steps have their own cadence; the clock is for level walking
        st = G.analyze_motion(clip, key_bodies).strides
        if len(st) >= 2:
            speeds.append(float(np.mean(st.speed)))
            times.append(float(np.median(st.stride_time)))
            duties.append(float(np.median(st.duty_factor)))
    table = reference_stride_period(np.array(speeds), np.array(times), np.array(duties))
    if not table:
        log.warning(
            "%s: no walking strides in the reference clips to set the gait clock from; using "
            "the demo walks' stride periods (set env.gait_clock.stride_period to choose)",
            dataset,
        )
        return DEFAULT_STRIDE_PERIOD
    return table


def resolve(env_cfg: EnvConfig, dataset: str | None, dof_names: Sequence[str]) -> EnvConfig:
    """``env_cfg`` with the gait clock's stride periods measured from ``dataset`` when the clock
    is on and gives none (training and evaluation call this alike, so both see one clock)."""
    import dataclasses

    clock = env_cfg.gait_clock
    if not clock.enabled or clock.stride_period or dataset is None:
        return env_cfg
    table = measure_stride_period(dataset, dof_names)
    return dataclasses.replace(env_cfg, gait_clock=dataclasses.replace(clock, stride_period=table))
