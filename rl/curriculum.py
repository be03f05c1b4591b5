"""Terrain curriculum: stages of column types (flat -> slopes -> stairs) and per-robot levels.

Each robot has a tile ``(level, col)`` of the terrain grid (``rl.terrain``: rows = levels, columns
= types). When its episode ends the environment calls ``TerrainCurriculum.update`` with how far
the robot walked *along the command* and how far the command asked it to walk:

- promote (level + 1) when it walked more than ``promote_fraction * tile_size`` (half a tile);
- demote (level - 1, not below 0) when it covered less than ``demote_fraction`` (half) of the
  commanded distance, unless promoted;
- a robot promoted beyond the top level goes to a uniformly random level (legged_gym's rule, so
  the top rows do not fill up and forget the easy ones).

"Along the command" is the path integral of the robot's displacement projected on the commanded
velocity direction in the world frame, ``sum_k (p[k+1] - p[k]) . u[k]`` with
``u[k] = R(yaw[k]) v_cmd_xy[k] / |v_cmd_xy[k]|`` (zero for a zero command), where ``yaw[k]`` is the
robot's heading at the start of step k. A robot that follows a turning command (vx and a yaw
rate) along an arc gets the arc length, not the chord; walking against the command counts
negative. The commanded distance is ``sum_k |v_cmd_xy[k]| dt`` (= |v| T for a constant command).
``CommandProgress`` accumulates both during episodes.

Stages: ``CurriculumConfig.stages`` groups column types; stage 0 is open from the start and the
next stage (that has columns in the terrain) opens when the robots on the newest open stage's
columns master it (``mastery``). Stages never close. When a stage opens, robots are spread evenly
over the columns of all open stages (robot i -> open column i mod n); a robot moves to its new
column at its next ``update`` (episode end), starting at a random level in
``[0, max_init_level]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch

from mocap.configs import ConfigError


@dataclass(frozen=True)
class CurriculumConfig:
    """Terrain curriculum settings."""

    stages: tuple[tuple[str, ...], ...] = (
        ("flat", "rough"),
        ("slope_up", "slope_down"),
        ("stairs_up", "stairs_down"),
    )
    """Column types of each stage, in opening order."""
    stage_names: tuple[str, ...] = ("flat", "slopes", "stairs")
    """A name per stage, for logs."""
    mastery: Literal["mean_level", "solved_fraction", "tracking"] = "mean_level"
    """Criterion on the robots of the newest open stage: mean level / top level; fraction that
    solved the top level since the stage opened; or running mean of a tracking score."""
    mastery_threshold: float = 0.6
    """Value the criterion must reach (a fraction, or a tracking score)."""
    min_episodes: int = 200
    """Finished episodes on the newest stage (since it opened) before it can count as mastered."""
    tracking_ema: float = 0.05
    """Update rate of the running mean of the tracking score (per ``update`` call)."""
    max_init_level: int = 0
    """Robots start (and join a new stage) at a random level in ``[0, max_init_level]``."""
    promote_fraction: float = 0.5
    """Promote when the distance along the command exceeds this fraction of a tile."""
    demote_fraction: float = 0.5
    """Demote when the distance along the command is below this fraction of the commanded one."""
    open_all: bool = False
    """Open every stage from the start (no staged curriculum; levels still adapt)."""

    def __post_init__(self) -> None:
        if not self.stages or any(len(s) == 0 for s in self.stages):
            raise ConfigError("curriculum.stages: needs at least one stage, each with >= 1 type")
        if len(self.stage_names) != len(self.stages):
            raise ConfigError(
                f"curriculum.stage_names: needs one name per stage ({len(self.stages)}), "
                f"got {list(self.stage_names)}"
            )
        seen = [t for s in self.stages for t in s]
        if len(seen) != len(set(seen)):
            raise ConfigError(f"curriculum.stages: a type appears in two stages: {self.stages}")
        if self.min_episodes < 0 or self.max_init_level < 0:
            raise ConfigError("curriculum: min_episodes and max_init_level must be >= 0")
        if not 0 < self.tracking_ema <= 1:
            raise ConfigError(
                f"curriculum.tracking_ema: must be in (0, 1], got {self.tracking_ema}"
            )


# ------------------------------------------------------------------ distance along the command
def command_dir_w(
    cmd_xy_b: torch.Tensor, base_yaw: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Unit direction [N, 2] of the commanded planar velocity in the world frame.

    cmd_xy_b: [N, 2] commanded (vx, vy) in the heading (yaw-only base) frame, m/s.
    base_yaw: [N] heading (rad). Zero commands give a zero direction.
    """
    c, s = torch.cos(base_yaw), torch.sin(base_yaw)
    vx = c * cmd_xy_b[..., 0] - s * cmd_xy_b[..., 1]
    vy = s * cmd_xy_b[..., 0] + c * cmd_xy_b[..., 1]
    v = torch.stack([vx, vy], dim=-1)
    norm = v.norm(dim=-1, keepdim=True)
    return torch.where(norm > eps, v / norm.clamp(min=eps), torch.zeros_like(v))


def distance_along_command(path_xy: torch.Tensor, command_dir_xy: torch.Tensor) -> torch.Tensor:
    """Distance (m) walked along the command: ``sum_k (p[k+1] - p[k]) . u[k]``, shape [n].

    path_xy: [T + 1, n, 2] world positions (T = 1 for just start and end).
    command_dir_xy: [T, n, 2] unit command directions in the world frame during each interval,
        or [n, 2] for a direction that stays fixed in the world.
    """
    if path_xy.dim() != 3 or path_xy.shape[-1] != 2 or path_xy.shape[0] < 2:
        raise ValueError(
            f"distance_along_command: path_xy must be [T+1, n, 2], got {path_xy.shape}"
        )
    delta = path_xy[1:] - path_xy[:-1]  # [T, n, 2]
    return (delta * command_dir_xy).sum(dim=-1).sum(dim=0)


def commanded_distance(cmd_speed: torch.Tensor, dt: float) -> torch.Tensor:
    """Distance (m) the command asked for: ``sum_k |v_cmd[k]| dt``; cmd_speed [T, n] -> [n]."""
    return cmd_speed.abs().sum(dim=0) * dt


class CommandProgress:
    """Accumulates distance along the command and commanded distance over episodes (N envs).

    Call ``reset`` when an episode starts and ``step`` after every policy step; the interval that
    just ended is integrated with the command and heading stored at its start.
    """

    def __init__(self, num_envs: int, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.distance = torch.zeros(num_envs, device=self.device)  # [N] m, along the command
        self.commanded = torch.zeros(num_envs, device=self.device)  # [N] m
        self._pos = torch.zeros(num_envs, 2, device=self.device)
        self._dir = torch.zeros(num_envs, 2, device=self.device)
        self._speed = torch.zeros(num_envs, device=self.device)

    def reset(
        self,
        env_ids: torch.Tensor,
        pos_xy_w: torch.Tensor,
        cmd_xy_b: torch.Tensor,
        base_yaw: torch.Tensor,
    ) -> None:
        """Start new episodes for ``env_ids`` at ``pos_xy_w [n, 2]`` with the given command."""
        self.distance[env_ids] = 0.0
        self.commanded[env_ids] = 0.0
        self._pos[env_ids] = pos_xy_w
        self._dir[env_ids] = command_dir_w(cmd_xy_b, base_yaw)
        self._speed[env_ids] = cmd_xy_b.norm(dim=-1)

    def step(
        self, pos_xy_w: torch.Tensor, cmd_xy_b: torch.Tensor, base_yaw: torch.Tensor, dt: float
    ) -> None:
        """Integrate the step that ended at ``pos_xy_w [N, 2]``; store the next command [N, 2]."""
        self.distance += ((pos_xy_w - self._pos) * self._dir).sum(dim=-1)
        self.commanded += self._speed * dt
        self._pos.copy_(pos_xy_w)
        self._dir.copy_(command_dir_w(cmd_xy_b, base_yaw))
        self._speed.copy_(cmd_xy_b.norm(dim=-1))


# --------------------------------------------------------------------------- the curriculum
class TerrainCurriculum:
    """Per-robot terrain tiles ``(levels, cols)`` with staged column types.

    Attributes:
        levels: [N] long, the robots' rows (difficulty levels) in ``[0, num_levels)``.
        cols: [N] long, the robots' columns (terrain types).
        stage: index into ``cfg.stages`` of the newest open stage.
    """

    def __init__(
        self,
        cfg: CurriculumConfig,
        col_types: tuple[str, ...],
        num_levels: int,
        num_envs: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """col_types: the terrain's type per column (``Terrain.col_types``)."""
        self.cfg = cfg
        self.col_types = tuple(col_types)
        self.num_levels = num_levels
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        stage_of_type = {t: i for i, s in enumerate(cfg.stages) for t in s}
        missing = sorted({t for t in self.col_types if t not in stage_of_type})
        if missing:
            raise ConfigError(
                f"curriculum.stages: terrain column type(s) {missing} belong to no stage; "
                f"add them to a stage (stages: {cfg.stages})"
            )
        self._col_stage = torch.tensor([stage_of_type[t] for t in self.col_types], dtype=torch.long)
        # Stages that have columns in this terrain, in order; the others are skipped.
        self._stages_present = sorted(set(self._col_stage.tolist()))
        self.stage = self._stages_present[-1] if cfg.open_all else self._stages_present[0]
        self.stage_episodes = torch.zeros(len(cfg.stages), dtype=torch.long)
        self.tracking_ema = torch.full((len(cfg.stages),), float("nan"))
        self.cols = self._balanced_cols().to(self.device)
        self.target_cols = self.cols.clone()
        self.levels = self._random_levels(num_envs, cfg.max_init_level + 1)
        self.solved = torch.zeros(num_envs, dtype=torch.bool, device=self.device)

    # ------------------------------------------------------------------ helpers
    def _random_levels(self, n: int, high: int) -> torch.Tensor:
        high = min(high, self.num_levels)
        return torch.randint(0, high, (n,), generator=self.generator).to(self.device)

    def open_cols(self) -> torch.Tensor:
        """Indices (long) of the columns whose stage is open."""
        return torch.nonzero(self._col_stage <= self.stage).flatten()

    def _balanced_cols(self) -> torch.Tensor:
        cols = self.open_cols()
        return cols[torch.arange(self.num_envs) % len(cols)]

    def _newest_mask(self) -> torch.Tensor:
        """[N] bool: robots on a column of the newest open stage."""
        return (self._col_stage.to(self.device)[self.cols] == self.stage) & (
            self.cols == self.target_cols
        )

    def mastery_value(self) -> float:
        """Current value of the mastery criterion on the newest open stage (nan: no data)."""
        mask = self._newest_mask()
        if self.cfg.mastery == "tracking":
            return float(self.tracking_ema[self.stage])
        if not bool(mask.any()):
            return math.nan
        if self.cfg.mastery == "mean_level":
            top = max(self.num_levels - 1, 1)
            return float(self.levels[mask].float().mean()) / top
        return float(self.solved[mask].float().mean())

    def _maybe_open_next_stage(self) -> None:
        later = [s for s in self._stages_present if s > self.stage]
        if not later or int(self.stage_episodes[self.stage]) < self.cfg.min_episodes:
            return
        value = self.mastery_value()
        if not math.isnan(value) and value >= self.cfg.mastery_threshold:
            self.stage = later[0]
            self.target_cols = self._balanced_cols().to(self.device)

    # --------------------------------------------------------------------- update
    def update(
        self,
        env_ids: torch.Tensor,
        distance_along_command: torch.Tensor,
        commanded_distance: torch.Tensor,
        tile_size: float,
        tracking: torch.Tensor | None = None,
    ) -> None:
        """Update the levels of robots whose episodes ended; call before resetting them.

        env_ids: [n] long. distance_along_command, commanded_distance: [n] metres (see the module
        docstring). tile_size: m. tracking: [n] per-episode tracking score (needed when
        ``mastery == "tracking"``, e.g. the mean velocity-tracking reward normalised to [0, 1]).
        Afterwards ``levels[env_ids]`` and ``cols[env_ids]`` give the tiles of their new episodes.
        """
        env_ids = env_ids.to(self.device)
        if env_ids.numel() == 0:
            return
        dist = distance_along_command.to(self.device)
        cmd = commanded_distance.to(self.device)
        up = dist > self.cfg.promote_fraction * tile_size
        down = (dist < self.cfg.demote_fraction * cmd) & ~up
        levels = self.levels[env_ids] + up.long() - down.long()
        beyond = levels >= self.num_levels
        self.solved[env_ids] |= beyond
        levels = torch.where(
            beyond, self._random_levels(len(env_ids), self.num_levels), levels.clamp(min=0)
        )
        self.levels[env_ids] = levels

        # Episode counts and tracking score per stage (of the tile the episode ran on).
        stage_ids = self._col_stage.to(self.device)[self.cols[env_ids]].cpu()
        self.stage_episodes += torch.bincount(stage_ids, minlength=len(self.cfg.stages))
        if tracking is not None:
            tr = tracking.detach().float().cpu()
            for s in stage_ids.unique().tolist():
                mean = float(tr[stage_ids == s].mean())
                old = float(self.tracking_ema[s])
                a = self.cfg.tracking_ema
                self.tracking_ema[s] = mean if math.isnan(old) else (1 - a) * old + a * mean
        elif self.cfg.mastery == "tracking":
            raise ValueError("TerrainCurriculum.update: mastery='tracking' needs tracking scores")

        # Robots that a newly opened stage moved: switch column, restart at a low level.
        moved = env_ids[self.cols[env_ids] != self.target_cols[env_ids]]
        if moved.numel():
            self.cols[moved] = self.target_cols[moved]
            self.levels[moved] = self._random_levels(len(moved), self.cfg.max_init_level + 1)
            self.solved[moved] = False
        self._maybe_open_next_stage()

    # -------------------------------------------------------------------- logging
    @property
    def stage_name(self) -> str:
        """Name of the newest open stage."""
        return self.cfg.stage_names[self.stage]

    @property
    def mean_level(self) -> float:
        """Mean level over all robots."""
        return float(self.levels.float().mean())

    def level_by_type(self) -> dict[str, float]:
        """Mean level of the robots on each terrain type that has robots."""
        out: dict[str, float] = {}
        types = sorted(set(self.col_types))
        for t in types:
            cols = torch.tensor(
                [i for i, c in enumerate(self.col_types) if c == t], device=self.device
            )
            mask = torch.isin(self.cols, cols)
            if bool(mask.any()):
                out[t] = float(self.levels[mask].float().mean())
        return out

    def stats(self) -> dict[str, float]:
        """Scalars to log per iteration: stage, mean level, mastery value, level per type."""
        out = {
            "curriculum/stage": float(self.stage),
            "curriculum/mean_level": self.mean_level,
            "curriculum/mastery": self.mastery_value(),
        }
        out.update({f"curriculum/level_{t}": v for t, v in self.level_by_type().items()})
        return out

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (tensors on CPU)."""
        return {
            "levels": self.levels.cpu().clone(),
            "cols": self.cols.cpu().clone(),
            "target_cols": self.target_cols.cpu().clone(),
            "solved": self.solved.cpu().clone(),
            "stage": self.stage,
            "stage_episodes": self.stage_episodes.clone(),
            "tracking_ema": self.tracking_ema.clone(),
            "col_types": list(self.col_types),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict``; the terrain columns and robot count must match."""
        if list(state["col_types"]) != list(self.col_types):
            raise ValueError(
                f"TerrainCurriculum.load_state_dict: checkpoint columns {state['col_types']} "
                f"differ from the terrain's {list(self.col_types)}"
            )
        if state["levels"].shape != self.levels.shape:
            raise ValueError(
                f"TerrainCurriculum.load_state_dict: checkpoint has {state['levels'].shape[0]} "
                f"robots, this curriculum {self.num_envs}"
            )
        self.levels = state["levels"].to(self.device).clone()
        self.cols = state["cols"].to(self.device).clone()
        self.target_cols = state["target_cols"].to(self.device).clone()
        self.solved = state["solved"].to(self.device).clone()
        self.stage = int(state["stage"])
        self.stage_episodes = state["stage_episodes"].clone()
        self.tracking_ema = state["tracking_ema"].clone()
        self.generator.set_state(state["generator"])
