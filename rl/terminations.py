"""Episode ends: failures (``terminated``, no bootstrap) and the time limit (``truncated``).

Pure functions on batched tensors, each [N] bool. A fall is any of: base height above the terrain
below a threshold, a termination body (pelvis/torso) touching the terrain, or the base tilted
beyond a limit. The time limit (20 s) truncates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TerminationConfig:
    """Failure thresholds and the episode length."""

    min_base_height: float = 0.3  # m, base (pelvis) height above the terrain below it
    max_tilt: float = 1.0  # rad, angle between the base z axis and world z
    contact: bool = True  # terminate when a termination body touches the terrain
    episode_length_s: float = 20.0  # s, time limit (truncation)


def base_height_below(
    root_pos_w: torch.Tensor, terrain_height: torch.Tensor, min_height: float
) -> torch.Tensor:
    """Base height over the terrain below it (``root_z - terrain_height``) < ``min_height``."""
    return root_pos_w[:, 2] - terrain_height < min_height


def tilt_beyond(projected_gravity_b: torch.Tensor, max_tilt: float) -> torch.Tensor:
    """Base tilt (angle between body z and world z) beyond ``max_tilt`` rad.

    projected_gravity_b: [N, 3] unit gravity in the body frame; tilt = acos(-g_z).
    """
    return -projected_gravity_b[:, 2] < math.cos(max_tilt)


def time_out(episode_length: torch.Tensor, max_steps: int) -> torch.Tensor:
    """Episodes that reached ``max_steps`` policy steps [N] (long counts)."""
    return episode_length >= max_steps


def compute_terminations(
    cfg: TerminationConfig,
    root_pos_w: torch.Tensor,
    terrain_height: torch.Tensor,
    projected_gravity_b: torch.Tensor,
    termination_contact: torch.Tensor,
    episode_length: torch.Tensor,
    max_steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(terminated, truncated)`` [N] bool; an env that both fails and times out is terminated."""
    terminated = base_height_below(root_pos_w, terrain_height, cfg.min_base_height)
    terminated |= tilt_beyond(projected_gravity_b, cfg.max_tilt)
    if cfg.contact:
        terminated |= termination_contact
    truncated = time_out(episode_length, max_steps) & ~terminated
    return terminated, truncated
