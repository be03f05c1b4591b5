"""Configuration of the G1 environment (``rl.env.G1Env``): frozen dataclasses, parsed strictly.

``parse_env_config(data)`` builds an ``EnvConfig`` from a mapping (unknown keys are errors, with
the dotted key path), via ``mocap.configs.from_dict``. Variants are built with
``dataclasses.replace`` (e.g. ``deterministic_config``), never by subclassing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from mocap.configs import ConfigError, from_dict
from rl.commands import CommandConfig
from rl.curriculum import CurriculumConfig
from rl.gait_clock import GaitClockConfig
from rl.observations import ObservationConfig
from rl.randomization import RandomizationConfig
from rl.rewards import RewardConfig
from rl.schedules import check_stage_starts, stages_begun
from rl.sim.mujoco import MujocoSimConfig
from rl.terminations import TerminationConfig
from rl.terrain import ScanGrid, TerrainConfig


@dataclass(frozen=True)
class RewardStage:
    """From PPO iteration ``start_iteration`` on, these weights override ``env.rewards``."""

    start_iteration: int
    rewards: dict[str, float]  # RewardConfig field -> value


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines the task and its simulation."""

    backend: Literal["mujoco"] = "mujoco"  # simulation backend
    robot_mjcf: str | None = None  # None: the built-in G1; or a path to an official G1 MJCF
    sim: MujocoSimConfig = field(default_factory=MujocoSimConfig)  # physics rates, threads
    terrain: TerrainConfig = field(default_factory=TerrainConfig)  # tile grid
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)  # stages and levels
    commands: CommandConfig = field(default_factory=CommandConfig)  # velocity commands
    observations: ObservationConfig = field(default_factory=ObservationConfig)  # scales, noise
    height_scan: ScanGrid = field(default_factory=ScanGrid)  # critic height-scan grid
    rewards: RewardConfig = field(default_factory=RewardConfig)  # weights and parameters
    gait_clock: GaitClockConfig = field(default_factory=GaitClockConfig)  # stride phase
    # Reward curriculum: stages of weight overrides by PPO iteration (resume-safe: the runner
    # sets the iteration); e.g. learn to balance under a large fall penalty, then to walk.
    reward_stages: tuple[RewardStage, ...] = ()
    terminations: TerminationConfig = field(default_factory=TerminationConfig)  # falls, timeout
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)  # DR
    action_scale: float = 0.25  # rad per action unit: target = default_pose + scale * action
    # Joints the policy does not drive (fnmatch patterns): their PD targets stay at the default
    # pose, and the action vector leaves them out (e.g. the wrists, which walking does not need).
    fixed_joints: tuple[str, ...] = ()
    action_clip: float = 10.0  # actions are clipped to [-clip, clip] before scaling
    amp_history: int = 2  # H: frames per AMP discriminator input
    # Joints left out of the AMP features (fnmatch patterns): the retargeted clips never move the
    # wrists, so any wrist motion alone would tell the policy from the reference.
    amp_exclude_joints: tuple[str, ...] = ("*wrist*",)
    reference_init_prob: float = 0.3  # fraction of resets that start from a dataset frame
    spawn_xy_noise: float = 0.5  # m, uniform offset of the spawn point on the tile platform
    spawn_height_margin: float = 0.02  # m added to the spawn height above the terrain

    def __post_init__(self) -> None:
        if self.amp_history < 1:
            raise ConfigError(f"env.amp_history: must be >= 1, got {self.amp_history}")
        if not 0.0 <= self.reference_init_prob <= 1.0:
            raise ConfigError(
                f"env.reference_init_prob: must be in [0, 1], got {self.reference_init_prob}"
            )
        check_stage_starts(self.reward_stages, "env.reward_stages")
        names = {f.name for f in dataclasses.fields(RewardConfig)}
        for st in self.reward_stages:
            unknown = sorted(set(st.rewards) - names)
            if unknown:
                raise ConfigError(
                    f"env.reward_stages[{st.start_iteration}]: unknown reward keys {unknown}"
                )
        stage_terms = {k for st in self.reward_stages for k, v in st.rewards.items() if v}
        for term in ("feet_phase_contact", "feet_swing_clearance"):
            if term in stage_terms and not self.gait_clock.enabled:
                raise ConfigError(f"env.reward_stages: {term} needs env.gait_clock.enabled")
            if getattr(self.rewards, term) != 0.0 and not self.gait_clock.enabled:
                raise ConfigError(
                    f"env.rewards.{term} needs the gait clock: set env.gait_clock.enabled"
                )
        if self.action_scale <= 0 or self.action_clip <= 0:
            raise ConfigError("env.action_scale and env.action_clip must be > 0")
        if self.spawn_xy_noise * 2 > self.terrain.platform_size and self.terrain.kind == "grid":
            raise ConfigError(
                f"env.spawn_xy_noise: {self.spawn_xy_noise} m leaves the {self.terrain.platform_size}"
                " m spawn platform; use at most half the platform size"
            )


def rewards_at(cfg: EnvConfig, iteration: int) -> RewardConfig:
    """The reward weights in force at PPO ``iteration`` (``env.rewards`` + the stages begun)."""
    rewards = cfg.rewards
    for st in stages_begun(cfg.reward_stages, iteration):
        rewards = dataclasses.replace(rewards, **st.rewards)
    return rewards


def parse_env_config(data: dict[str, Any] | None, where: str = "env") -> EnvConfig:
    """Strictly parse a mapping into an ``EnvConfig`` (unknown keys raise ``ConfigError``)."""
    return from_dict(EnvConfig, data, where)


def deterministic_config(cfg: EnvConfig) -> EnvConfig:
    """``cfg`` with every randomisation off (nominal physics, no pushes, no observation noise)."""
    return dataclasses.replace(
        cfg, randomization=dataclasses.replace(cfg.randomization, deterministic=True)
    )
