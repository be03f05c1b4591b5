"""Evaluate a trained policy: rollouts per terrain, level and command; task, gait and naturalness
metrics against the reference dataset; one animated image per terrain.

``python -m rl.evaluate --policy results/train/{exp}/policy.pt --dataset results/dataset/motions.h5
--train-config '<TrainConfig JSON, or a .json/.yaml file>' --config '<EvalConfig JSON>'
--out-dir results/eval/{exp} [--mjcf PATH] [--discriminator CKPT] [--experiment NAME]``

Outputs in ``--out-dir`` (the rule ``evaluate_policy``):

- ``metrics.json``: :class:`rl.metrics.EvalMetrics` (validated before writing; NaN -> null),
  plus ``video`` (what was rendered, or why not) and ``notes`` (caveats, e.g. no discriminator);
- ``{terrain}.json``: that terrain's :class:`rl.metrics.TerrainMetrics` (plus its name);
- ``rollouts.h5``: root attributes ``fps``, ``dof_names``, ``key_bodies``, ``foot_bodies``,
  ``experiment``; one group per episode ``/rollouts/{terrain}/{NNN}`` in the dataset's frame
  layout (:mod:`rl.metrics`) plus ``commands``, ``actions``, ``torques``, ``terminated``, with
  attributes ``terrain``, ``level``, ``command`` (vx, vy, wz), ``fell``, ``survival_s``,
  ``episode`` (repeat index);
- ``videos/{terrain}.webp`` with ``render`` (first episode of each terrain, tile heightfield
  shown); ``resolved_config.yaml`` (evaluation and training config, seed, code version).

Protocol. The environment is the training one (``--train-config``) with: every randomisation off
(``rl.env_config.deterministic_config``) unless ``robustness`` asks for pushes or a friction
range; terrain columns = the evaluated terrain types (a heightfield grid; a plane when only
``flat`` is evaluated and training used a plane), the training's levels and tile size; the robot
starts in the default standing pose (no reference-state initialisation) at the tile centre, with a
seeded random heading; episodes last ``episode_length_s`` unless the robot falls. Episodes are
batched over ``num_envs`` environments in waves: each env's tile (level, type) is written into
the curriculum directly before the wave's reset (the curriculum is never updated) and its command
is fixed for the whole episode (no resampling, no heading control). The policy acts with its
mean action (``rl.runner.load_policy``: actor + observation normaliser). Once an env's episode
ends, the env keeps stepping unrecorded until the wave ends.

Frame k of an episode is the state at the start of policy step k (frame 0 = the spawn state),
with the command active and the action taken during step k; ``torques`` are the actuator torques
of the physics substep that reached that state; ``terminated[k]`` is True when step k ended in a
fall. An episode of n steps has n frames.

Commands: ``(v, 0, 0)`` for each forward speed (``forward_speeds``, or ``num_speeds`` speeds
spanning the dataset clips' mean speeds when null) and ``(turn_speed, 0, w)`` for each yaw rate.

Metrics: task metrics per terrain and per (command, level) (:mod:`rl.metrics`); gait cycle per
terrain and by speed band against the reference clips' strides at the same speed
(:mod:`rl.gait`); naturalness (:mod:`rl.naturalness`) on the flat-terrain episodes (all episodes
when flat is not evaluated): Fréchet distance of AMP-feature windows (``rl.amp_obs.amp_obs`` on
the rollout frames and on the dataset frames, via ``rl.reference.amp_features_of_frames``),
pooled and per speed band, per-joint Wasserstein-1 distances of joint angles and velocities,
dimensionless jerk of the root and feet paths, action rate, mechanical cost of transport (robot
mass from the model), and the frozen discriminator's mean style reward on policy vs reference
windows when a discriminator is available (``policy.pt`` normally holds none: pass the training
checkpoint with ``--discriminator``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import mujoco
import numpy as np
import torch

from mocap.configs import ConfigError, from_dict, to_dict
from mocap.fileio import atomic_path, write_json, write_text
from rl import gait as G
from rl import gait_clock
from rl import naturalness as NAT
from rl.amp_obs import amp_obs_dim
from rl.env_config import EnvConfig, deterministic_config
from rl.metrics import (
    METRICS_SCHEMA_VERSION,
    MOTION_FIELDS,
    ROLLOUT_FIELDS,
    TRACKING_WINDOW_S,
    EvalMetrics,
    MetricsError,
    Motion,
    NaturalnessMetrics,
    TerrainMetrics,
    aggregate_task_metrics,
    episode_task_metrics,
    h5_attrs,
    iter_motions,
    nan_to_none,
    per_command_rows,
    validate_eval_metrics,
)
from rl.terrain import TERRAIN_TYPES, Terrain

#: Per-frame fields of a rollout episode: the dataset's frame layout plus the rollout's own.
FRAME_FIELDS: tuple[str, ...] = (
    *MOTION_FIELDS, *(f for f in ROLLOUT_FIELDS if f != "terminated")
)


class EvalError(RuntimeError):
    """The evaluation cannot run (inputs that do not fit together); the message says why."""


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobustnessConfig:
    """Optional disturbances (all off by default: the evaluation is deterministic)."""

    pushes: bool = False
    """Random horizontal velocity impulses, as in training's randomisation."""
    push_interval_s: tuple[float, float] = (5.0, 8.0)
    """s between pushes, uniform per push."""
    push_vel_xy: float = 0.5
    """m/s, largest impulse per horizontal axis."""
    friction: tuple[float, float] | None = None
    """Range of the robot's sliding friction, drawn per episode (null: nominal friction)."""
    friction_groups: int = 8
    """Distinct friction draws (model copies) with a friction range."""

    def __post_init__(self) -> None:
        lo, hi = self.push_interval_s
        if lo <= 0 or hi < lo:
            raise ConfigError(
                f"evaluate.robustness.push_interval_s: need 0 < lo <= hi, got {lo, hi}"
            )
        if self.push_vel_xy < 0:
            raise ConfigError("evaluate.robustness.push_vel_xy: must be >= 0")
        if self.friction is not None and not 0 <= self.friction[0] <= self.friction[1]:
            raise ConfigError(
                f"evaluate.robustness.friction: need 0 <= lo <= hi, got {self.friction}"
            )
        if self.friction_groups < 1:
            raise ConfigError("evaluate.robustness.friction_groups: must be >= 1")

    @property
    def active(self) -> bool:
        """Any disturbance is on."""
        return self.pushes or self.friction is not None


@dataclass(frozen=True)
class VideoConfig:
    """Animated WebP of the first episode on each terrain."""

    fps: float = 20.0
    """Frames per second of the animation."""
    width: int = 320
    """Pixels."""
    height: int = 240
    """Pixels."""
    seconds: float = 6.0
    """Length of the animation: the first seconds of the episode."""
    show_terrain: bool = True
    """Render the terrain heightfield around the episode (else a flat checkered floor)."""

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.seconds <= 0 or self.width < 16 or self.height < 16:
            raise ConfigError("evaluate.video: fps and seconds must be > 0, size >= 16x16")


def _default_terrain_levels() -> dict[str, tuple[int, ...]]:
    return {"flat": (0,)}


@dataclass(frozen=True)
class EvalConfig:
    """The ``evaluate:`` config section (merged with an experiment's ``evaluate:`` overrides)."""

    terrains: tuple[str, ...] = ("flat", "slope_up", "slope_down", "stairs_up", "stairs_down")
    """Terrain types to evaluate (``rl.terrain.TERRAIN_TYPES``)."""
    levels: tuple[int, ...] = (0, 4, 9)
    """Terrain levels (rows of the grid) evaluated on every type without an entry below."""
    terrain_levels: dict[str, tuple[int, ...]] = field(default_factory=_default_terrain_levels)
    """Levels per terrain type, overriding ``levels`` (flat is the same at every level)."""
    forward_speeds: tuple[float, ...] | None = (0.25, 0.5, 0.75, 1.0)
    """Forward speed commands (m/s); null: ``num_speeds`` speeds spanning the dataset's clips."""
    num_speeds: int = 4
    """Number of forward speeds taken from the dataset when ``forward_speeds`` is null."""
    yaw_rates: tuple[float, ...] = (-0.5, 0.5)
    """Turning commands: yaw rates (rad/s) at ``turn_speed``."""
    turn_speed: float = 0.5
    """Forward speed (m/s) of the turning commands."""
    episode_length_s: float = 20.0
    """Episode length (s) unless the robot falls."""
    episodes_per_command: int = 1
    """Episodes per (terrain, level, command); they differ by the spawn heading."""
    seed: int = 0
    """Seed of the environment (spawn headings; disturbances when on)."""
    num_envs: int = 32
    """Environments stepped together (the sweep is batched over them)."""
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    """Pushes / friction (off by default)."""
    render: bool = True
    """Render one animated image per terrain (needs headless OpenGL; failures are recorded)."""
    video: VideoConfig = field(default_factory=VideoConfig)
    """Animation settings."""
    discriminator: bool = True
    """Score policy and reference windows with the frozen AMP discriminator when available."""
    frechet_window: int = 0
    """Frames per AMP-feature window of the Fréchet distance; 0: the env's AMP history."""
    frechet_stride: int = 1
    """Frames between consecutive windows."""
    speed_bands: tuple[tuple[float, float], ...] = G.DEFAULT_SPEED_BANDS
    """Speed bands (m/s) for gait and Fréchet comparisons at matched speed."""
    min_success_rate: float = 0.5
    """A level counts as passed when at least this share of its episodes succeeded."""
    tracking_window_s: float = TRACKING_WINDOW_S
    """Window (s) of the windowed tracking RMSE (``rl.metrics``): errors averaged over a stride
    or more, so the swing within a stride does not count as a tracking error."""

    def __post_init__(self) -> None:
        if not self.terrains:
            raise ConfigError("evaluate.terrains: needs at least one terrain type")
        unknown = sorted({t for t in (*self.terrains, *self.terrain_levels)} - set(TERRAIN_TYPES))
        if unknown:
            raise ConfigError(
                f"evaluate: unknown terrain type(s) {unknown}; known: {TERRAIN_TYPES}"
            )
        if len(set(self.terrains)) != len(self.terrains):
            raise ConfigError(f"evaluate.terrains: duplicates in {self.terrains}")
        for name, lv in (("levels", self.levels), *self.terrain_levels.items()):
            if not lv or min(lv) < 0:
                raise ConfigError(f"evaluate.{name}: needs levels >= 0, got {lv}")
        if self.forward_speeds is not None and not (self.forward_speeds or self.yaw_rates):
            raise ConfigError("evaluate: no commands (forward_speeds and yaw_rates both empty)")
        if self.num_speeds < 1:
            raise ConfigError("evaluate.num_speeds: must be >= 1")
        if self.episode_length_s <= 0:
            raise ConfigError("evaluate.episode_length_s: must be > 0")
        if self.episodes_per_command < 1 or self.num_envs < 1:
            raise ConfigError("evaluate.episodes_per_command and evaluate.num_envs must be >= 1")
        if self.frechet_window < 0 or self.frechet_stride < 1:
            raise ConfigError("evaluate.frechet_window must be >= 0 and frechet_stride >= 1")
        if any(hi <= lo for lo, hi in self.speed_bands):
            raise ConfigError(f"evaluate.speed_bands: need lo < hi, got {self.speed_bands}")
        if not 0 < self.min_success_rate <= 1:
            raise ConfigError("evaluate.min_success_rate: must be in (0, 1]")
        if not self.tracking_window_s > 0:
            raise ConfigError(
                f"evaluate.tracking_window_s: must be > 0, got {self.tracking_window_s}"
            )

    def levels_of(self, terrain: str) -> tuple[int, ...]:
        """Levels evaluated on ``terrain``."""
        return tuple(self.terrain_levels.get(terrain, self.levels))


def parse_eval_config(data: Mapping[str, Any] | None) -> EvalConfig:
    """Strictly parse the ``evaluate:`` section (unknown keys raise ``ConfigError``)."""
    return from_dict(EvalConfig, dict(data or {}), "evaluate")


# ----------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpisodeSpec:
    """One evaluation episode: terrain type, level, fixed command (vx, vy m/s, wz rad/s)."""

    terrain: str
    level: int
    command: tuple[float, float, float]
    repeat: int = 0


def dataset_speeds(clip_speeds: Sequence[float], n: int, floor: float = 0.1) -> tuple[float, ...]:
    """``n`` forward speeds (m/s, 2 decimals) evenly spanning the clips' mean speeds, at least
    ``floor`` (a slower command counts as standing)."""
    s = np.asarray(clip_speeds, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise EvalError("the dataset has no clip to take forward speeds from")
    lo, hi = max(float(s.min()), floor), max(float(s.max()), floor)
    return tuple(sorted({round(float(v), 2) for v in np.linspace(lo, hi, n)}))


def command_sweep(cfg: EvalConfig, speeds: Sequence[float]) -> list[tuple[float, float, float]]:
    """Forward commands ``(v, 0, 0)`` then turning commands ``(turn_speed, 0, w)``, no repeats."""
    cmds = [(float(v), 0.0, 0.0) for v in speeds]
    cmds += [(float(cfg.turn_speed), 0.0, float(w)) for w in cfg.yaw_rates]
    return list(dict.fromkeys(cmds))


def plan_episodes(cfg: EvalConfig, speeds: Sequence[float]) -> list[EpisodeSpec]:
    """Every episode of the sweep, ordered by terrain, level, command, repeat."""
    return [
        EpisodeSpec(t, level, cmd, r)
        for t in cfg.terrains
        for level in cfg.levels_of(t)
        for cmd in command_sweep(cfg, speeds)
        for r in range(cfg.episodes_per_command)
    ]


def eval_env_config(train_env: EnvConfig, cfg: EvalConfig) -> EnvConfig:
    """The training environment adapted to the evaluation protocol (module docstring)."""
    terrain = train_env.terrain
    top = max(max(cfg.levels_of(t)) for t in cfg.terrains)
    if top >= terrain.num_levels:
        raise EvalError(
            f"evaluate: level {top} requested but the training terrain has {terrain.num_levels} "
            "levels (0.."
            f"{terrain.num_levels - 1}); lower evaluate.levels / terrain_levels"
        )
    kind = "plane" if terrain.kind == "plane" and set(cfg.terrains) == {"flat"} else "grid"
    terrain = dataclasses.replace(terrain, kind=kind, col_types=tuple(cfg.terrains), col_counts=())
    curriculum = dataclasses.replace(
        train_env.curriculum,
        stages=(tuple(cfg.terrains),),
        stage_names=("evaluation",),
        open_all=True,
        mastery="mean_level",
    )
    terminations = dataclasses.replace(
        train_env.terminations, episode_length_s=float(cfg.episode_length_s)
    )
    env = dataclasses.replace(
        train_env,
        terrain=terrain,
        curriculum=curriculum,
        terminations=terminations,
        reference_init_prob=0.0,
        spawn_xy_noise=0.0,
    )
    env = deterministic_config(env)
    rob = cfg.robustness
    if rob.active:
        friction = rob.friction or (1.0, 1.0)
        randomization = dataclasses.replace(
            env.randomization,
            deterministic=False,
            physics=rob.friction is not None,
            num_groups=rob.friction_groups if rob.friction is not None else 1,
            friction_range=friction,
            added_mass_range=(0.0, 0.0),
            motor_strength_range=(1.0, 1.0),
            pushes=rob.pushes,
            push_interval_s=rob.push_interval_s,
            push_vel_xy=rob.push_vel_xy,
            obs_noise=False,
        )
        env = dataclasses.replace(env, randomization=randomization)
    return env


# ----------------------------------------------------------------------------------------------
# Rollouts
# ----------------------------------------------------------------------------------------------
PolicyFn = Callable[[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor | None]]


def policy_fn(module: torch.nn.Module) -> tuple[PolicyFn, Callable[[int], torch.Tensor | None]]:
    """``(act(obs, hidden) -> (mean action, hidden), init_hidden(n))`` of a ``PolicyExport``."""
    rnn = getattr(module, "rnn", None)

    def act(obs: torch.Tensor, hidden: torch.Tensor | None):
        with torch.inference_mode():
            if rnn is None:
                return module(obs), None
            return module(obs, hidden)

    def init_hidden(n: int) -> torch.Tensor | None:
        if rnn is None:
            return None
        return torch.zeros(rnn.num_layers, n, rnn.hidden_size)

    return act, init_hidden


def _set_wave(env: Any, levels: torch.Tensor, cols: torch.Tensor, commands: torch.Tensor):
    """Reset every env onto tile (levels, cols) with fixed commands; returns the actor obs.

    The first reset ends any running episode (the curriculum may update then); the tiles are then
    written into the curriculum and the second reset, with no episode run, spawns there without a
    curriculum update. Commands are fixed (no resampling, no heading mode) and the observations
    recomputed so the first action already sees them.
    """
    env.reset()
    cur = env.curriculum
    cur.levels[:] = levels.to(cur.levels.device)
    cur.cols[:] = cols.to(cur.cols.device)
    cur.target_cols[:] = cols.to(cur.target_cols.device)
    env.reset()
    com = env.commands
    cmd = commands.to(com.commands.device)
    com.commands[:] = cmd
    com.is_heading[:] = False
    com.is_standing[:] = (cmd == 0).all(dim=-1)
    com.time_left[:] = math.inf
    if not hasattr(env, "_compute_obs") or not hasattr(env, "_actor_obs"):
        raise EvalError(f"{type(env).__name__}: cannot refresh observations after fixing commands")
    # G1Env has no public way to set commands; its own observation refresh is used.
    env._compute_obs(None)
    return env._actor_obs()


def run_episodes(
    env: Any,
    act: PolicyFn,
    init_hidden: Callable[[int], torch.Tensor | None],
    specs: Sequence[EpisodeSpec],
    progress: Callable[[str], None] | None = None,
) -> list[Motion]:
    """Run every episode of ``specs`` (waves of ``env.num_envs``); one :class:`Motion` each,
    named ``{terrain}/{NNN}`` (NNN counts the terrain's episodes in ``specs`` order)."""
    N, T = env.num_envs, env.max_episode_length
    col_of = {t: env.terrain.col_types.index(t) for t in {s.terrain for s in specs}}
    J, A, K = env.sim.num_dofs, env.num_actions, len(env.sim.key_body_names)
    shapes: dict[str, tuple[tuple[int, ...], Any]] = {
        "root_pos": ((3,), np.float32), "root_quat": ((4,), np.float32),
        "root_lin_vel": ((3,), np.float32), "root_ang_vel": ((3,), np.float32),
        "dof_pos": ((J,), np.float32), "dof_vel": ((J,), np.float32),
        "key_body_pos": ((K, 3), np.float32), "foot_contacts": ((2,), np.bool_),
        "commands": ((3,), np.float32), "actions": ((A,), np.float32),
        "torques": ((J,), np.float32),
    }  # fmt: skip
    fps = 1.0 / env.dt
    counters: dict[str, int] = {}
    motions: list[Motion] = []
    t_start = time.perf_counter()
    steps_total = 0
    for w0 in range(0, len(specs), N):
        wave = list(specs[w0 : w0 + N])
        n = len(wave)
        slots = wave + [wave[0]] * (N - n)  # spare envs repeat the first episode, unrecorded
        levels = torch.tensor([s.level for s in slots], dtype=torch.long)
        cols = torch.tensor([col_of[s.terrain] for s in slots], dtype=torch.long)
        cmds = torch.tensor([s.command for s in slots], dtype=torch.float32)
        obs = _set_wave(env, levels, cols, cmds)
        hidden = init_hidden(N)
        buf = {k: np.zeros((N, T, *shape), dtype=dt) for k, (shape, dt) in shapes.items()}
        active = np.arange(N) < n
        length = np.full(N, T, dtype=np.int64)
        fell = np.zeros(N, dtype=bool)
        for t in range(T):
            st = env.sim.state
            buf["root_pos"][:, t] = st.root_pos_w.cpu().numpy()
            buf["root_quat"][:, t] = st.root_quat_w.cpu().numpy()
            buf["root_lin_vel"][:, t] = st.root_lin_vel_w.cpu().numpy()
            buf["root_ang_vel"][:, t] = st.root_ang_vel_w.cpu().numpy()
            buf["dof_pos"][:, t] = st.dof_pos.cpu().numpy()
            buf["dof_vel"][:, t] = st.dof_vel.cpu().numpy()
            buf["key_body_pos"][:, t] = st.key_body_pos_w.cpu().numpy()
            buf["foot_contacts"][:, t] = st.foot_contact.cpu().numpy()
            buf["torques"][:, t] = st.applied_torque.cpu().numpy()
            buf["commands"][:, t] = env.commands.commands.cpu().numpy()
            actions, hidden = act(obs, hidden)
            buf["actions"][:, t] = actions.cpu().numpy()
            res = env.step(actions)
            steps_total += N
            term = res.terminated.cpu().numpy()
            done = term | res.truncated.cpu().numpy()
            ended = active & done
            fell[ended] = term[ended]
            length[ended] = t + 1
            active &= ~done
            if hidden is not None:
                hidden = hidden * torch.as_tensor(~done, dtype=hidden.dtype)[None, :, None]
            obs = res.obs
            if not active.any():
                break
        for i, spec in enumerate(wave):
            L = int(length[i])
            k = counters.get(spec.terrain, 0)
            counters[spec.terrain] = k + 1
            terminated = np.zeros(L, dtype=bool)
            terminated[-1] = bool(fell[i])
            arrays = {name: buf[name][i, :L].copy() for name in shapes}
            motions.append(
                Motion(
                    name=f"{spec.terrain}/{k:03d}",
                    fps=fps,
                    terminated=terminated,
                    attrs={
                        "terrain": spec.terrain,
                        "level": int(spec.level),
                        "command": [float(c) for c in spec.command],
                        "fell": bool(fell[i]),
                        "survival_s": L / fps,
                        "episode": int(spec.repeat),
                    },
                    **arrays,
                )
            )
        if progress is not None:
            rate = steps_total / max(time.perf_counter() - t_start, 1e-9)
            falls = int(fell[:n].sum())
            progress(
                f"episodes {w0 + n}/{len(specs)} ({falls}/{n} fell in this wave), "
                f"{rate:.0f} env steps/s"
            )
    return motions


def _str_array(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=h5py.string_dtype())


def write_rollouts(path: Path, motions: Sequence[Motion], root_attrs: Mapping[str, Any]) -> None:
    """``rollouts.h5`` (atomic): root attributes (string lists as string arrays) and one group
    ``/rollouts/{motion.name}`` per episode with the frame fields and ``terminated``."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for k, v in root_attrs.items():
            is_strs = isinstance(v, list | tuple) and all(isinstance(x, str) for x in v)
            f.attrs[k] = _str_array(v) if is_strs else v
        root = f.create_group("rollouts")
        for m in motions:
            g = root.create_group(m.name)
            for name in (*FRAME_FIELDS, "terminated"):
                data = getattr(m, name)
                g.create_dataset(name, data=data, compression="gzip", compression_opts=1)
            for k, v in m.attrs.items():
                g.attrs[k] = np.asarray(v, dtype=np.float64) if isinstance(v, list) else v


# ----------------------------------------------------------------------------------------------
# Reference dataset
# ----------------------------------------------------------------------------------------------
@dataclass
class Reference:
    """The reference clips with what the comparisons need."""

    clips: list[Motion]
    fps: float
    key_bodies: tuple[str, ...]
    dof_names: tuple[str, ...]

    @property
    def clip_speeds(self) -> np.ndarray:
        """[C] mean planar root speed (m/s) of each clip."""
        return np.array(
            [float(np.linalg.norm(c.root_lin_vel[:, :2], axis=-1).mean()) for c in self.clips]
        )


def load_reference_clips(path: Path, dof_names: Sequence[str]) -> Reference:
    """Every clip of the dataset as a :class:`Motion`; the joints must be the robot's."""
    try:
        with h5py.File(path, "r") as f:
            attrs = h5_attrs(f)
    except OSError as e:
        raise EvalError(f"{path}: cannot open the dataset ({e})") from None
    names = tuple(attrs.get("dof_names") or ())
    if names != tuple(dof_names):
        raise EvalError(
            f"{path}: the dataset's dof_names differ from the robot's ({len(names)} vs "
            f"{len(dof_names)} joints); rebuild the dataset for this robot"
        )
    try:
        clips = list(iter_motions(path, "/clips"))
    except MetricsError as e:
        raise EvalError(str(e)) from None
    if not clips:
        raise EvalError(f"{path}: the dataset holds no clips")
    return Reference(
        clips=clips,
        fps=float(attrs.get("fps", math.nan)),
        key_bodies=tuple(attrs.get("key_bodies") or ()),
        dof_names=names,
    )


def amp_features(m: Motion, dof_index: Sequence[int] | None = None) -> np.ndarray:
    """Per-frame AMP features [T, D] of a motion on the joints ``dof_index`` (the environment's
    ``amp_dof_index``; None: all), by ``rl.reference.amp_features_of_frames``, the function the
    dataset reader and the environment use."""
    from rl.reference import amp_features_of_frames

    frames = {
        k: torch.as_tensor(np.asarray(getattr(m, k)), dtype=torch.float32)
        for k in ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "dof_pos", "dof_vel",
                  "key_body_pos")
    }  # fmt: skip
    return amp_features_of_frames(frames, dof_index).numpy().astype(np.float64)


# ----------------------------------------------------------------------------------------------
# Frozen discriminator
# ----------------------------------------------------------------------------------------------
StyleFn = Callable[[np.ndarray], np.ndarray]


def _amp_state_and_config(obj: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(AMP state dict with ``disc`` and ``normalizer``, AMP config mapping) from a runner
    checkpoint (``amp`` + ``config`` JSON) or a policy file that carries ``amp`` (+ ``amp_config``
    or ``metadata.amp_config``); (None, None) when there is none."""
    if not isinstance(obj, Mapping):
        return None, None
    amp = obj.get("amp")
    if not isinstance(amp, Mapping) or "disc" not in amp:
        return None, None
    cfg = obj.get("amp_config")
    if cfg is None and isinstance(obj.get("metadata"), Mapping):
        cfg = obj["metadata"].get("amp_config")
    if cfg is None and isinstance(obj.get("config"), str):
        try:
            cfg = json.loads(obj["config"]).get("amp")
        except (json.JSONDecodeError, AttributeError):
            cfg = None
    return dict(amp), (dict(cfg) if isinstance(cfg, Mapping) else None)


def load_discriminator(path: Path) -> tuple[StyleFn | None, int, str]:
    """The frozen style reward of a file's AMP discriminator.

    Returns ``(style_fn(windows [B, H*D]) -> [B], input size H*D, note)``; ``style_fn`` is None
    and ``note`` says why when the file holds no discriminator.
    """
    from rl.amp import AMPConfig, Discriminator, style_reward
    from rl.normalizer import RunningMeanStd

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported, not fatal
        return None, 0, f"{path}: cannot be read ({type(e).__name__}: {e})"
    state, cfg_map = _amp_state_and_config(obj)
    if state is None:
        return (
            None,
            0,
            (
                f"{path} holds no AMP discriminator (OnPolicyRunner.save_policy saves only the "
                "actor-critic; pass a training checkpoint with --discriminator, e.g. "
                "results/train_state/{exp}/checkpoints/ckpt_*.pt, of a run trained with AMP)"
            ),
        )
    cfg = from_dict(AMPConfig, cfg_map, "discriminator config") if cfg_map else AMPConfig()
    disc_sd = state["disc"]
    trunk = sorted(
        (int(k.split(".")[1]), v) for k, v in disc_sd.items()
        if k.startswith("trunk.") and k.endswith(".weight")
    )  # fmt: skip
    if not trunk:
        return None, 0, f"{path}: discriminator state has no trunk layers"
    in_dim = int(trunk[0][1].shape[1])
    hidden = tuple(int(v.shape[0]) for _, v in trunk)
    disc = Discriminator(in_dim, hidden)
    disc.load_state_dict(disc_sd)
    disc.eval()
    norm = RunningMeanStd(in_dim, clip=cfg.obs_clip)
    norm.load_state_dict(state["normalizer"])
    note = "" if cfg_map else f"{path}: no AMP config stored; AMPConfig defaults assumed"

    def style_fn(x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        with torch.no_grad():
            t = norm(t) if cfg.normalize else t
            return style_reward(disc, t, cfg.loss, cfg.style_scale).numpy()

    return style_fn, in_dim, note


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------
def _analyses(
    motions: Sequence[Motion], key_bodies: Sequence[str], foot_bodies: Sequence[str]
) -> list[G.GaitAnalysis]:
    """Gait analyses of ``motions`` (feet picked from their key bodies)."""
    return [G.analyze_motion(m, key_bodies, foot_bodies) for m in motions]


def terrain_metrics(
    motions: Sequence[Motion],
    tile_size: float,
    cfg: EvalConfig,
    key_bodies: Sequence[str],
    foot_bodies: Sequence[str],
    reference_strides: G.Strides | None,
) -> TerrainMetrics:
    """Task metrics (pooled and per command and level) and gait of one terrain's episodes."""
    eps = [episode_task_metrics(m, tile_size, window_s=cfg.tracking_window_s) for m in motions]
    out = TerrainMetrics(
        task=aggregate_task_metrics(eps, cfg.min_success_rate),
        per_command=per_command_rows(eps, cfg.min_success_rate),
    )
    try:
        analyses = _analyses(motions, key_bodies, foot_bodies)
    except G.GaitError:
        return out
    out["gait"] = G.summarize_gait(analyses)
    strides = G.Strides.concatenate([a.strides for a in analyses])
    out["gait_by_speed"] = G.gait_by_speed(strides, reference_strides, cfg.speed_bands)
    return out


def _pooled_rms(values: Sequence[tuple[float, int]]) -> float:
    """RMS of values given as (rms, count) pairs; NaN when nothing is finite."""
    ok = [(v, n) for v, n in values if math.isfinite(v) and n > 0]
    if not ok:
        return math.nan
    return math.sqrt(sum(v * v * n for v, n in ok) / sum(n for _, n in ok))


def _weighted_mean(values: Sequence[tuple[float, float]]) -> float:
    ok = [(v, w) for v, w in values if math.isfinite(v) and w > 0]
    if not ok:
        return math.nan
    return sum(v * w for v, w in ok) / sum(w for _, w in ok)


def naturalness_metrics(
    motions: Sequence[Motion],
    reference: Reference,
    cfg: EvalConfig,
    key_bodies: Sequence[str],
    foot_bodies: Sequence[str],
    dof_names: Sequence[str],
    mass_kg: float,
    amp_history: int,
    style: tuple[StyleFn | None, int, str],
    amp_dof_index: Sequence[int] | None = None,
) -> tuple[NaturalnessMetrics, list[str]]:
    """Naturalness of ``motions`` against the reference clips, and notes on what is missing."""
    notes: list[str] = []
    out = NaturalnessMetrics()
    clips = reference.clips
    fps = motions[0].fps

    # Fréchet distance of AMP-feature windows, pooled and per speed band.
    window = cfg.frechet_window or amp_history
    if tuple(reference.key_bodies) != tuple(key_bodies):
        notes.append(
            "Fréchet distance / discriminator: not available: the dataset's key bodies "
            f"{list(reference.key_bodies)} differ from the robot's {list(key_bodies)}"
        )
        pol_feats, ref_feats = [], []
    else:
        pol_feats = [amp_features(m, amp_dof_index) for m in motions]
        ref_feats = [amp_features(c, amp_dof_index) for c in clips]
    if math.isfinite(reference.fps) and abs(reference.fps - fps) > 1e-6:
        notes.append(f"the dataset is at {reference.fps} fps, the rollouts at {fps} fps")

    def windows(feats: list[np.ndarray], src: Sequence[Motion], w: int) -> tuple[np.ndarray, ...]:
        xs = [NAT.feature_windows(f, w, cfg.frechet_stride) for f in feats]
        vs = [NAT.window_speeds(m.root_lin_vel, w, cfg.frechet_stride) for m in src]
        if not xs:
            return np.zeros((0, 0)), np.zeros(0)
        return np.concatenate(xs), np.concatenate(vs)

    if pol_feats:
        pw, ps = windows(pol_feats, motions, window)
        rw, rs = windows(ref_feats, clips, window)
        need = pw.shape[1] + 1
        if min(len(pw), len(rw)) >= need:
            out["frechet"] = NAT.frechet_distance(pw, rw)
        else:
            out["frechet"] = math.nan
            notes.append(
                f"Fréchet distance: {len(pw)} policy / {len(rw)} reference windows, fewer than "
                f"the {need} a full-rank fit of {pw.shape[1]} features needs"
            )
        out["frechet_by_speed"] = NAT.frechet_by_speed(pw, ps, rw, rs, cfg.speed_bands)

    # Per-joint distributions.
    pol_q = np.concatenate([m.dof_pos for m in motions])
    ref_q = np.concatenate([c.dof_pos for c in clips])
    pol_qd = np.concatenate([m.dof_vel for m in motions])
    ref_qd = np.concatenate([c.dof_vel for c in clips])
    out["wasserstein_joint_pos"] = dict(
        zip(dof_names, NAT.wasserstein_per_joint(pol_q, ref_q).tolist(), strict=True)
    )
    out["wasserstein_joint_vel"] = dict(
        zip(dof_names, NAT.wasserstein_per_joint(pol_qd, ref_qd).tolist(), strict=True)
    )

    # Smoothness and effort.
    try:
        feet = [G.foot_positions(m.key_body_pos, key_bodies, foot_bodies) for m in motions]
    except G.GaitError as e:
        feet = []
        notes.append(f"foot jerk: not available: {e}")
    out["root_jerk"] = _weighted_mean(
        [(NAT.windowed_dimensionless_jerk(m.root_pos, fps), m.num_frames) for m in motions]
    )
    out["foot_jerk"] = _weighted_mean(
        [(NAT.windowed_dimensionless_jerk(f, fps), len(f)) for f in feet]
    )
    out["action_rate"] = _pooled_rms(
        [(NAT.action_rate(m.actions, fps), (m.num_frames - 1) * m.actions.shape[1])
         for m in motions if m.actions is not None]
    )  # fmt: skip
    out["cost_of_transport"] = _weighted_mean(
        [(NAT.cost_of_transport(m.torques, m.dof_vel, mass_kg,
                                NAT.mean_planar_speed(m.root_pos, fps)), m.num_frames)
         for m in motions if m.torques is not None]
    )  # fmt: skip

    # Frozen discriminator.
    style_fn, in_dim, why = style
    if style_fn is None:
        notes.append(f"frozen-discriminator score: not available: {why}")
    elif pol_feats:
        d = pol_feats[0].shape[1]
        if in_dim % d:
            notes.append(
                f"frozen-discriminator score: not available: its input has {in_dim} values, "
                f"not a multiple of the {d} AMP features per frame"
            )
        else:
            h = in_dim // d
            pw_d, _ = windows(pol_feats, motions, h)
            rw_d, _ = windows(ref_feats, clips, h)
            score = NAT.discriminator_score(style_fn, pw_d, rw_d)
            out["discriminator_policy"] = score.policy
            out["discriminator_reference"] = score.reference
            amp_dofs = [dof_names[i] for i in amp_dof_index] if amp_dof_index else dof_names
            if amp_obs_dim(len(amp_dofs), len(key_bodies)) == d:
                groups = NAT.amp_feature_groups(amp_dofs, key_bodies)
                out["discriminator_attribution"] = NAT.discriminator_attribution(
                    style_fn, pw_d, rw_d, groups, d, seed=cfg.seed
                )
            else:
                notes.append(
                    f"discriminator attribution: not available: {d} AMP features per frame do "
                    f"not match {len(amp_dofs)} joints and {len(key_bodies)} key bodies"
                )
            if why:
                notes.append(why)

    # Gait cycle, policy vs reference.
    try:
        out["gait"] = G.summarize_gait(_analyses(motions, key_bodies, foot_bodies))
        out["reference_gait"] = G.summarize_gait(
            _analyses(clips, reference.key_bodies, foot_bodies)
        )
    except G.GaitError as e:
        notes.append(f"gait: not available: {e}")
    return out, notes


# ----------------------------------------------------------------------------------------------
# Videos
# ----------------------------------------------------------------------------------------------
class TerrainPatch:
    """A rectangle of a :class:`rl.terrain.Terrain`'s heightfield, in the same world frame
    (``rl.video.TerrainLike``): rendering a whole grid would draw millions of triangles."""

    def __init__(
        self, terrain: Terrain, x_range: tuple[float, float], y_range: tuple[float, float]
    ) -> None:
        hs = terrain.horizontal_scale
        ox, oy = terrain.origin
        nx, ny = terrain.heights.shape
        i0 = int(np.clip(math.floor((x_range[0] - ox) / hs), 0, nx - 2))
        i1 = int(np.clip(math.ceil((x_range[1] - ox) / hs), i0 + 1, nx - 1))
        j0 = int(np.clip(math.floor((y_range[0] - oy) / hs), 0, ny - 2))
        j1 = int(np.clip(math.ceil((y_range[1] - oy) / hs), j0 + 1, ny - 1))
        self.heights = terrain.heights[i0 : i1 + 1, j0 : j1 + 1]
        self.origin = (ox + i0 * hs, oy + j0 * hs)
        self.horizontal_scale = hs
        self.base_depth = terrain.cfg.base_depth

    def add_to_spec(self, spec: mujoco.MjSpec, name: str = "terrain") -> None:
        """An hfield asset and geom ``name`` whose surface equals the patch heights."""
        hs = self.horizontal_scale
        n_x, n_y = self.heights.shape
        hmin, hmax = float(self.heights.min()), float(self.heights.max())
        span = hmax - hmin
        data = (self.heights - hmin) / span if span > 0 else np.zeros_like(self.heights)
        rx, ry = (n_x - 1) * hs / 2, (n_y - 1) * hs / 2
        spec.add_hfield(
            name=name,
            nrow=n_y,
            ncol=n_x,
            size=[rx, ry, max(span, 1e-3), self.base_depth],
            userdata=np.ascontiguousarray(data.T, dtype=np.float32).ravel().tolist(),
        )
        spec.worldbody.add_geom(
            name=name,
            type=mujoco.mjtGeom.mjGEOM_HFIELD,
            hfieldname=name,
            pos=[self.origin[0] + rx, self.origin[1] + ry, hmin],
        )


def render_videos(
    motions: Sequence[Motion],
    terrains: Sequence[str],
    terrain: Terrain,
    out_dir: Path,
    cfg: VideoConfig,
    mjcf: str | None,
    margin_m: float = 3.0,
) -> tuple[dict[str, str | None], dict[str, Any]]:
    """``videos/{terrain}.webp`` of the first episode of each terrain.

    Returns (terrain -> path relative to ``out_dir`` or None, status ``{"status": "ok" |
    "partial" | "failed", "backend", "reason", "failures": {terrain: reason}}``).
    """
    from rl.video import encode_animation, gl_backend, render_motion

    paths: dict[str, str | None] = {t: None for t in terrains}
    backend, why = gl_backend()
    if backend is None:
        return paths, {"status": "failed", "backend": None, "reason": why, "failures": {}}
    failures: dict[str, str] = {}
    for t in terrains:
        eps = [m for m in motions if m.attrs.get("terrain") == t]
        if not eps:
            failures[t] = "no episode"
            continue
        m = eps[0]
        n = max(1, min(m.num_frames, round(cfg.seconds * m.fps)))
        patch = None
        if cfg.show_terrain and not terrain.is_plane:
            xy = m.root_pos[:n, :2]
            patch = TerrainPatch(
                terrain,
                (float(xy[:, 0].min()) - margin_m, float(xy[:, 0].max()) + margin_m),
                (float(xy[:, 1].min()) - margin_m, float(xy[:, 1].max()) + margin_m),
            )
        try:
            frames = render_motion(
                m.root_pos[:n], m.root_quat[:n], m.dof_pos[:n], m.fps,
                out_fps=min(cfg.fps, m.fps), max_seconds=cfg.seconds, width=cfg.width,
                height=cfg.height, mjcf=mjcf, terrain=patch,
            )  # fmt: skip
            data = encode_animation(frames, min(cfg.fps, m.fps), "webp")
        except Exception as e:  # noqa: BLE001 - a failed video must not lose the metrics
            failures[t] = f"{type(e).__name__}: {e}"
            continue
        rel = f"videos/{t}.webp"
        with atomic_path(out_dir / rel) as tmp:
            tmp.write_bytes(data)
        paths[t] = rel
    done = [t for t in terrains if paths[t]]
    status = "ok" if not failures else ("partial" if done else "failed")
    reason = "; ".join(f"{t}: {r}" for t, r in failures.items()) or None
    return paths, {"status": status, "backend": backend, "reason": reason, "failures": failures}


# ----------------------------------------------------------------------------------------------
# Orchestration
# ----------------------------------------------------------------------------------------------
def _log(msg: str) -> None:
    print(f"rl.evaluate: {msg}", file=sys.stderr, flush=True)


def evaluate(
    policy_path: Path,
    dataset_path: Path,
    train_cfg: Any,
    cfg: EvalConfig,
    out_dir: Path,
    *,
    mjcf: str | None = None,
    discriminator_path: Path | None = None,
    experiment: str | None = None,
    device: str = "cpu",
    progress: Callable[[str], None] | None = _log,
) -> EvalMetrics:
    """Run the evaluation and write every output into ``out_dir``; returns the metrics.

    ``train_cfg`` is the training run's ``rl.train.TrainConfig`` (its ``env`` section is used).
    """
    from retarget.robot import load_robot
    from rl.env import G1Env
    from rl.runner import load_policy
    from rl.train import code_version

    torch.set_num_threads(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    experiment = experiment or out_dir.name
    notes: list[str] = []
    env_cfg: EnvConfig = train_cfg.env
    if mjcf:
        env_cfg = dataclasses.replace(env_cfg, robot_mjcf=mjcf)
    env_cfg = eval_env_config(env_cfg, cfg)
    robot = load_robot(env_cfg.robot_mjcf)
    reference = load_reference_clips(dataset_path, robot.dof_names)
    env_cfg = gait_clock.resolve(env_cfg, str(dataset_path), robot.dof_names)  # as in training

    if cfg.forward_speeds is None:
        speeds = dataset_speeds(reference.clip_speeds, cfg.num_speeds)
    else:
        speeds = tuple(cfg.forward_speeds)
        cs = reference.clip_speeds
        beyond = [v for v in speeds if v > cs.max() + 0.1 or v < cs.min() - 0.1]
        if beyond:
            notes.append(
                f"forward speeds {beyond} m/s lie outside the reference clips' speeds "
                f"[{cs.min():.2f}, {cs.max():.2f}] m/s: no matched-speed reference there"
            )
    specs = plan_episodes(cfg, speeds)
    try:
        policy = load_policy(policy_path)
    except Exception as e:  # noqa: BLE001 - torch.load raises many kinds; all mean "unusable"
        raise EvalError(
            f"{policy_path}: cannot load the policy ({type(e).__name__}: {e})"
        ) from None
    act, init_hidden = policy_fn(policy)

    num_envs = min(cfg.num_envs, len(specs))
    env = G1Env(env_cfg, num_envs, device=device, seed=cfg.seed)
    try:
        want = int(policy.obs_normalizer.dim) if hasattr(policy, "obs_normalizer") else None
        if want is not None and want != env.num_obs:
            raise EvalError(
                f"{policy_path}: the policy takes {want} observations, the environment gives "
                f"{env.num_obs}; pass the training run's config with --train-config"
            )
        if progress:
            progress(f"{len(specs)} episodes on {list(cfg.terrains)}, {num_envs} envs, "
                     f"{cfg.episode_length_s:g} s each")  # fmt: skip
        t0 = time.perf_counter()
        motions = run_episodes(env, act, init_hidden, specs, progress)
        rollout_s = time.perf_counter() - t0
        fps = 1.0 / env.dt
        terrain = env.terrain
        key_bodies = tuple(env.sim.key_body_names)
        foot_bodies = tuple(env.sim.foot_body_names)
        amp_history = env.cfg.amp_history
        amp_dof_index = env.amp_dof_index
    finally:
        env.close()

    write_rollouts(
        out_dir / "rollouts.h5",
        motions,
        {"fps": fps, "dof_names": list(robot.dof_names), "key_bodies": list(key_bodies),
         "foot_bodies": list(foot_bodies), "experiment": experiment,
         "eval_config": json.dumps(to_dict(cfg), sort_keys=True)},
    )  # fmt: skip

    # Reference strides for the gait comparison at matched speed.
    try:
        ref_strides = G.Strides.concatenate(
            [a.strides for a in _analyses(reference.clips, reference.key_bodies, foot_bodies)]
        )
    except G.GaitError as e:
        ref_strides = None
        notes.append(f"reference gait: not available: {e}")

    tile = float(env_cfg.terrain.tile_size)
    terrains: dict[str, TerrainMetrics] = {}
    for t in cfg.terrains:
        eps = [m for m in motions if m.attrs["terrain"] == t]
        terrains[t] = terrain_metrics(eps, tile, cfg, key_bodies, foot_bodies, ref_strides)

    nat_motions = [m for m in motions if m.attrs["terrain"] == "flat"] or motions
    style: tuple[StyleFn | None, int, str] = (None, 0, "disabled by evaluate.discriminator")
    if cfg.discriminator:
        style = load_discriminator(discriminator_path or policy_path)
    naturalness, nat_notes = naturalness_metrics(
        nat_motions, reference, cfg, key_bodies, foot_bodies, robot.dof_names,
        robot.total_mass, amp_history, style, amp_dof_index,
    )  # fmt: skip
    notes += nat_notes
    nat_terrains = sorted({m.attrs["terrain"] for m in nat_motions})

    video: dict[str, Any] = {"status": "off", "backend": None, "reason": "evaluate.render is false"}
    if cfg.render:
        t0 = time.perf_counter()
        paths, video = render_videos(motions, cfg.terrains, terrain, out_dir, cfg.video, mjcf)
        for t, p in paths.items():
            terrains[t]["video"] = p
        if progress:
            progress(f"videos: {video['status']} ({time.perf_counter() - t0:.1f} s)"
                     + (f": {video['reason']}" if video["reason"] else ""))  # fmt: skip
    else:
        for tm in terrains.values():
            tm["video"] = None

    metrics: dict[str, Any] = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "experiment": experiment,
        "terrains": terrains,
        "naturalness": naturalness,
        "naturalness_terrains": nat_terrains,
        "policy": str(policy_path),
        "seed": cfg.seed,
        "code_version": code_version(),
        "fps": fps,
        "tile_size_m": tile,
        "eval_config": to_dict(cfg),
        "rollouts": "rollouts.h5",
        "forward_speeds": list(speeds),
        "video": video,
        "notes": notes,
    }
    clean = nan_to_none(metrics)
    validate_eval_metrics(clean, str(out_dir / "metrics.json"))
    for t, tm in clean["terrains"].items():
        write_json(out_dir / f"{t}.json", {"experiment": experiment, "terrain": t, **tm})
    write_json(out_dir / "metrics.json", clean)
    if progress:
        total_s = sum(m.duration_s for m in motions)
        progress(f"wrote {out_dir}: {len(motions)} episodes, {total_s:.0f} s simulated in "
                 f"{rollout_s:.1f} s")  # fmt: skip
    return clean


def read_train_config(text: str) -> Any:
    """``rl.train.TrainConfig`` from JSON text or a ``.json`` / ``.yaml`` file; a file written by
    ``rl.train`` (``resolved_config.yaml``) holds it under ``train``."""
    from rl.train import TrainConfig

    src = "--train-config"
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{src}: not valid JSON: {e}") from None
    else:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"{src}: {path} not found (give JSON text or a .json/.yaml file)")
        src = str(path)
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(path.read_text())
            else:
                data = json.loads(path.read_text())
        except Exception as e:  # noqa: BLE001 - yaml and json raise different errors
            raise ConfigError(f"{src}: cannot parse ({e})") from None
    if isinstance(data, Mapping) and isinstance(data.get("train"), Mapping):
        data = data["train"]
    return from_dict(TrainConfig, data, "train")


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate one policy (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m rl.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--policy", type=Path, required=True, help="results/train/{exp}/policy.pt")
    p.add_argument("--dataset", type=Path, required=True, help="results/dataset/motions.h5")
    p.add_argument(
        "--train-config",
        required=True,
        help="the training run's TrainConfig: JSON text or a .json/.yaml file",
    )
    p.add_argument("--config", default="{}", help="EvalConfig as JSON")
    p.add_argument("--out-dir", type=Path, required=True, help="results/eval/{exp}")
    p.add_argument("--mjcf", default=None, help="robot MJCF (default: the built-in G1)")
    p.add_argument(
        "--discriminator",
        type=Path,
        default=None,
        help="training checkpoint with the AMP discriminator (default: --policy)",
    )
    p.add_argument("--experiment", default=None, help="name in metrics.json (default: out dir)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)  # fmt: skip
    torch.set_num_threads(1)
    try:
        cfg = parse_eval_config(json.loads(args.config))
        train_cfg = read_train_config(args.train_config)
    except json.JSONDecodeError as e:
        print(f"error: --config: not valid JSON: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path, what in ((args.policy, "--policy"), (args.dataset, "--dataset")):
        if not path.is_file():
            print(f"error: {what}: {path} not found", file=sys.stderr)
            return 2
    import yaml

    from rl.train import code_version

    args.out_dir.mkdir(parents=True, exist_ok=True)
    resolved = {
        "evaluate": to_dict(cfg), "train": to_dict(train_cfg), "seed": cfg.seed,
        "code_version": code_version(), "policy": str(args.policy), "dataset": str(args.dataset),
        "mjcf": args.mjcf, "discriminator": str(args.discriminator) if args.discriminator else None,
    }  # fmt: skip
    write_text(args.out_dir / "resolved_config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    try:
        evaluate(
            args.policy, args.dataset, train_cfg, cfg, args.out_dir, mjcf=args.mjcf,
            discriminator_path=args.discriminator, experiment=args.experiment,
            device=args.device,
        )  # fmt: skip
    except (EvalError, ConfigError, MetricsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
