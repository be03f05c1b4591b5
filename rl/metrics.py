"""Task metrics of policy rollouts, the rollout file reader and the ``metrics.json`` schema.

A rollout (and a dataset clip) has the frame layout of the HDF5 motion dataset (DESIGN section 3),
sampled at ``fps`` (the policy rate):

==================  ========  ===========================================================
``root_pos``        [T, 3]    m, world frame, Z up
``root_quat``       [T, 4]    (w, x, y, z), body to world
``root_lin_vel``    [T, 3]    m/s, world frame
``root_ang_vel``    [T, 3]    rad/s, world frame
``dof_pos``         [T, 29]   rad, model joint order
``dof_vel``         [T, 29]   rad/s
``key_body_pos``    [T, K, 3] m, world frame (``key_bodies`` names them; includes the feet)
``foot_contacts``   [T, 2]    bool, (left, right)
==================  ========  ===========================================================

plus, for rollouts: ``commands`` [T, 3] (vx m/s, vy m/s in the heading frame, yaw rate rad/s),
``actions`` [T, 29], ``torques`` [T, 29] N m and ``terminated`` [T] bool (True on the step where
the episode ended by a fall; a time-out is *not* a termination).

Task metrics (:func:`episode_task_metrics`, aggregated by :func:`aggregate_task_metrics`):

- velocity-tracking RMSE: planar root velocity in the heading frame (the root frame rotated by
  yaw only) against the commanded (vx, vy), m/s; world yaw rate against the command, rad/s;
- windowed tracking RMSE: the same errors averaged over consecutive windows of ``window_s``
  (2 s: a stride or more) before the RMSE, so the sway and yaw swing within a stride cancel and
  what remains is whether the robot walks at the commanded speed and turns at the commanded rate
  (the reference walks themselves swing their yaw rate by 0.1-0.3 rad/s RMS within a stride);
- falls per minute: falls / simulated minutes;
- survival time: seconds until the fall (the episode length when it did not fall);
- distance along the command: ``sum_k (p[k+1] - p[k]) . u[k]`` with ``u[k]`` the commanded
  planar direction in the world frame at step k (the curriculum's definition, ``rl.curriculum``);
- success: distance along the command >= half a tile (the robot reached the tile edge);
- highest level passed: the highest terrain level with a success rate >= a threshold.

``metrics.json`` (written by ``rl.evaluate``, read by ``rl.report``) follows :class:`EvalMetrics`;
:func:`validate_eval_metrics` checks the required keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import h5py
import numpy as np

from mocap import quat
from retarget.dataset import FIELDS as DATASET_FIELDS

#: Version of the ``metrics.json`` layout below.
METRICS_SCHEMA_VERSION = 1
#: s, default window of the windowed tracking RMSE (``evaluate.tracking_window_s``).
TRACKING_WINDOW_S = 2.0

#: Frame fields every motion (clip or rollout) has: the dataset's world-frame per-frame fields
#: (retarget.dataset owns the frame layout; rollouts reuse it).
MOTION_FIELDS: tuple[str, ...] = tuple(f for f in DATASET_FIELDS if not f.endswith("_b"))
#: Extra per-step fields of policy rollouts (optional for the reader).
ROLLOUT_FIELDS = ("commands", "actions", "torques", "terminated")


class MetricsError(ValueError):
    """A rollout file or metrics file that cannot be used; the message names the file."""


# ----------------------------------------------------------------------------------------------
# metrics.json schema
# ----------------------------------------------------------------------------------------------
class TaskSummary(TypedDict):
    """Task metrics of a set of episodes (one terrain, or one terrain x command x level)."""

    episodes: int
    """Number of episodes."""
    duration_s: float
    """Simulated time of all episodes together (s)."""
    lin_vel_rmse_mps: float
    """RMSE of the heading-frame planar velocity against the command (m/s), over all steps."""
    yaw_rate_rmse_radps: float
    """RMSE of the world yaw rate against the command (rad/s), over all steps."""
    lin_vel_window_rmse_mps: float
    """RMSE of the window-mean planar velocity error (m/s) over windows of ``window_s``."""
    yaw_rate_window_rmse_radps: float
    """RMSE of the window-mean yaw-rate error (rad/s) over windows of ``window_s``."""
    falls_per_min: float
    """Falls per simulated minute."""
    survival_time_s: float
    """Mean time until the fall, or the episode length without a fall (s)."""
    distance_m: float
    """Mean distance walked along the command per episode (m)."""
    success_rate: float
    """Fraction of episodes that walked at least half a tile along the command."""
    highest_level_passed: int
    """Highest level whose success rate reached the threshold; -1 when none did."""


class CommandRow(TaskSummary):
    """Task metrics of one command (and level) on one terrain."""

    command: list[float]
    """(vx m/s, vy m/s, yaw rate rad/s)."""
    level: int
    """Terrain level (row of the terrain grid); -1 when the row mixes levels."""


class GaitSummary(TypedDict, total=False):
    """Gait-cycle summary (see :func:`rl.gait.summarize_gait`); NaN where undefined."""

    n_strides: int
    speed_mps: float
    cadence_spm: float
    stride_time_s: float
    stride_length_m: float
    duty_factor: float
    double_support: float
    flight: float
    step_time_si: float
    step_length_si: float
    clearance_m: float
    slip_m: float


class SpeedBandRow(TypedDict):
    """Gait at one speed band, with the reference clips' values at the same speed."""

    speed_lo: float
    speed_hi: float
    n_strides: int
    speed_mps: float
    cadence_spm: float
    stride_length_m: float
    duty_factor: float
    ref_cadence_spm: float
    ref_stride_length_m: float
    ref_duty_factor: float


class TerrainMetrics(TypedDict):
    """Everything measured on one terrain type."""

    task: TaskSummary
    per_command: list[CommandRow]
    gait: NotRequired[GaitSummary]
    gait_by_speed: NotRequired[list[SpeedBandRow]]
    video: NotRequired[str | None]
    """Path of the rendered video / animated image, relative to the eval dir (or null)."""


class FrechetBand(TypedDict):
    speed_lo: float
    speed_hi: float
    n_policy: int
    n_reference: int
    frechet: float
    """NaN when a side has too few windows."""


class NaturalnessMetrics(TypedDict, total=False):
    """Gait naturalness against the reference dataset (all keys optional)."""

    frechet: float
    """Fréchet distance of AMP-feature windows, all speeds pooled."""
    frechet_by_speed: list[FrechetBand]
    wasserstein_joint_pos: dict[str, float]
    """Per joint (dof name -> W1 in rad)."""
    wasserstein_joint_vel: dict[str, float]
    """Per joint (dof name -> W1 in rad/s)."""
    root_jerk: float
    """Dimensionless jerk of the root path (see rl.naturalness), mean over windows."""
    foot_jerk: float
    action_rate: float
    """RMS action change per second (action units / s)."""
    cost_of_transport: float
    """Mechanical cost of transport (dimensionless)."""
    discriminator_policy: float
    """Frozen discriminator's mean style reward on policy windows."""
    discriminator_reference: float
    """... and on reference windows."""
    discriminator_attribution: dict[str, float]
    """Feature group -> policy's mean style reward with that group taken from reference windows
    (rl.naturalness.discriminator_attribution): what the discriminator tells them apart by."""
    gait: GaitSummary
    reference_gait: GaitSummary


class EvalMetrics(TypedDict):
    """``results/eval/{exp}/metrics.json``."""

    schema_version: int
    experiment: str
    terrains: dict[str, TerrainMetrics]
    """Terrain type -> metrics (keys like ``flat``, ``slope_up``, ``stairs_down``)."""
    naturalness: NotRequired[NaturalnessMetrics]
    policy: NotRequired[str]
    seed: NotRequired[int]
    code_version: NotRequired[str]
    fps: NotRequired[float]
    tile_size_m: NotRequired[float]
    eval_config: NotRequired[dict[str, Any]]
    rollouts: NotRequired[str]
    """Rollout file relative to the eval dir (``rollouts.h5``)."""


_TASK_KEYS = tuple(TaskSummary.__annotations__)


def validate_eval_metrics(obj: Any, source: str = "metrics.json") -> EvalMetrics:
    """Check the required structure of a ``metrics.json`` object; raise :class:`MetricsError`.

    Only required keys and their types are checked (optional ones may be absent).
    """
    if not isinstance(obj, Mapping):
        raise MetricsError(f"{source}: top level must be an object, got {type(obj).__name__}")
    for key, kind in (("schema_version", int), ("experiment", str), ("terrains", Mapping)):
        if key not in obj:
            raise MetricsError(f"{source}: missing key {key!r}")
        if not isinstance(obj[key], kind):
            raise MetricsError(f"{source}: {key!r} must be {kind.__name__}")
    if obj["schema_version"] != METRICS_SCHEMA_VERSION:
        raise MetricsError(
            f"{source}: schema_version {obj['schema_version']}, expected {METRICS_SCHEMA_VERSION}"
        )
    for name, terrain in obj["terrains"].items():
        where = f"{source}: terrains.{name}"
        if not isinstance(terrain, Mapping) or "task" not in terrain:
            raise MetricsError(f"{where}: must be an object with a 'task' summary")
        missing = [k for k in _TASK_KEYS if k not in terrain["task"]]
        if missing:
            raise MetricsError(f"{where}.task: missing {missing}")
        rows = terrain.get("per_command", [])
        if not isinstance(rows, list):
            raise MetricsError(f"{where}.per_command: must be a list")
        for i, row in enumerate(rows):
            missing = [k for k in (*_TASK_KEYS, "command", "level") if k not in row]
            if missing:
                raise MetricsError(f"{where}.per_command[{i}]: missing {missing}")
    return obj  # type: ignore[return-value]


def nan_to_none(obj: Any) -> Any:
    """Copy of a JSON-like object with non-finite floats replaced by None (``null``), numpy
    scalars/arrays turned into Python values, so ``mocap.fileio.write_json`` (no NaN) accepts it."""
    if isinstance(obj, Mapping):
        return {str(k): nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [nan_to_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return nan_to_none(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def load_eval_metrics(path: str | Path) -> EvalMetrics:
    """Read and validate a ``metrics.json`` (NaN allowed, as Python's json writes it)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise MetricsError(f"{path}: not found") from None
    except json.JSONDecodeError as e:
        raise MetricsError(f"{path}: not valid JSON ({e})") from None
    return validate_eval_metrics(obj, str(path))


# ----------------------------------------------------------------------------------------------
# Motions and rollout files
# ----------------------------------------------------------------------------------------------
@dataclass
class Motion:
    """One clip or rollout episode in the frame layout (see the module docstring)."""

    name: str
    fps: float
    root_pos: np.ndarray
    root_quat: np.ndarray
    root_lin_vel: np.ndarray
    root_ang_vel: np.ndarray
    dof_pos: np.ndarray
    dof_vel: np.ndarray
    key_body_pos: np.ndarray
    foot_contacts: np.ndarray
    commands: np.ndarray | None = None
    actions: np.ndarray | None = None
    torques: np.ndarray | None = None
    terminated: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    """Group attributes (terrain, level, command, weight, source, ...), JSON-decoded."""

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def duration_s(self) -> float:
        """Simulated time covered by the frames (s): T / fps."""
        return self.num_frames / self.fps

    @property
    def fell(self) -> bool:
        return self.terminated is not None and bool(np.any(self.terminated))


def _attr_value(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray):
        return [_attr_value(x) for x in v.tolist()] if v.dtype.kind in "OSU" else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def h5_attrs(obj: h5py.Group | h5py.File) -> dict[str, Any]:
    """HDF5 attributes as plain Python values (bytes decoded, JSON strings parsed)."""
    return {k: _attr_value(v) for k, v in obj.attrs.items()}


def _motion_from_group(g: h5py.Group, name: str, fps: float, source: str) -> Motion:
    missing = [k for k in MOTION_FIELDS if k not in g]
    if missing:
        raise MetricsError(f"{source}: group {g.name} misses fields {missing}")
    arrays = {k: np.asarray(g[k][()]) for k in MOTION_FIELDS}
    extra = {k: np.asarray(g[k][()]) for k in ROLLOUT_FIELDS if k in g}
    attrs = h5_attrs(g)
    fps = float(attrs.get("fps", fps))
    arrays["foot_contacts"] = arrays["foot_contacts"].astype(bool)
    if "terminated" in extra:
        extra["terminated"] = extra["terminated"].astype(bool)
    t = arrays["root_pos"].shape[0]
    for k, a in {**arrays, **extra}.items():
        if a.shape[0] != t:
            raise MetricsError(f"{source}: {g.name}/{k} has {a.shape[0]} frames, root_pos {t}")
    return Motion(name=name, fps=fps, attrs=attrs, **arrays, **extra)


def iter_motions(path: str | Path, root: str = "/") -> Iterator[Motion]:
    """Every group under ``root`` that holds a ``root_pos`` dataset, as a :class:`Motion`.

    Works for the dataset (``root="/clips"``) and for rollout files (any nesting, e.g.
    ``/rollouts/{terrain}/{episode}``). ``fps`` comes from the group's attribute or the file's
    root attribute. The name is the group path relative to ``root``.
    """
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as e:
        raise MetricsError(f"{path}: cannot open as HDF5 ({e})") from None
    with f:
        if root not in f:
            raise MetricsError(f"{path}: no group {root!r}")
        fps = float(_attr_value(f.attrs.get("fps", math.nan)))
        groups: list[str] = []
        f[root].visit(lambda n: groups.append(n) if isinstance(f[root][n], h5py.Group) else None)
        base = f[root]
        if isinstance(base, h5py.Group) and "root_pos" in base:
            groups.insert(0, "")
        for n in groups:
            g = base[n] if n else base
            if "root_pos" not in g:
                continue
            motion = _motion_from_group(g, n or Path(root).name, fps, str(path))
            if not math.isfinite(motion.fps) or motion.fps <= 0:
                raise MetricsError(f"{path}: {g.name} has no valid fps attribute")
            yield motion


# ----------------------------------------------------------------------------------------------
# Task metrics
# ----------------------------------------------------------------------------------------------
def heading_frame_velocity(root_quat: np.ndarray, root_lin_vel_w: np.ndarray) -> np.ndarray:
    """Planar velocity in the heading frame (world velocity rotated by -yaw), [T, 2] m/s."""
    psi = quat.yaw(np.asarray(root_quat, dtype=np.float64))
    c, s = np.cos(psi), np.sin(psi)
    v = np.asarray(root_lin_vel_w, dtype=np.float64)
    return np.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1]], axis=-1)


def tracking_squared_errors(
    root_quat: np.ndarray,
    root_lin_vel_w: np.ndarray,
    root_ang_vel_w: np.ndarray,
    commands: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step squared tracking errors: (|v_xy,heading - cmd_xy|^2 [T] in m^2/s^2,
    (wz_world - cmd_wz)^2 [T] in rad^2/s^2)."""
    return _squared(*tracking_errors(root_quat, root_lin_vel_w, root_ang_vel_w, commands))


def _squared(lin_err: np.ndarray, yaw_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-step squared errors [T] from ``tracking_errors``' output."""
    return np.sum(lin_err**2, axis=-1), yaw_err**2


def tracking_errors(
    root_quat: np.ndarray,
    root_lin_vel_w: np.ndarray,
    root_ang_vel_w: np.ndarray,
    commands: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step tracking errors: (v_xy,heading - cmd_xy [T, 2] in m/s, wz_world - cmd_wz [T] in
    rad/s)."""
    v_h = heading_frame_velocity(root_quat, root_lin_vel_w)
    cmd = np.asarray(commands, dtype=np.float64)
    return v_h - cmd[:, :2], np.asarray(root_ang_vel_w, dtype=np.float64)[:, 2] - cmd[:, 2]


def window_mean_squared_errors(err: np.ndarray, steps_per_window: int) -> np.ndarray:
    """Squared norm of the mean error of each full window of ``steps_per_window`` steps.

    err: [T] or [T, D]. Returns [T // steps_per_window] (a trailing partial window is left out).
    """
    if steps_per_window < 1:
        raise ValueError(f"steps_per_window must be >= 1, got {steps_per_window}")
    e = np.asarray(err, dtype=np.float64)
    e = e.reshape(len(e), -1)
    n = len(e) // steps_per_window
    means = e[: n * steps_per_window].reshape(n, steps_per_window, e.shape[1]).mean(axis=1)
    return np.sum(means**2, axis=-1)


def velocity_tracking_rmse(
    root_quat: np.ndarray,
    root_lin_vel_w: np.ndarray,
    root_ang_vel_w: np.ndarray,
    commands: np.ndarray,
) -> tuple[float, float]:
    """Velocity-tracking RMSE over all steps: (planar velocity in the heading frame vs the
    commanded (vx, vy), m/s; world yaw rate vs the commanded yaw rate, rad/s).

    Shapes: root_quat [T, 4], velocities [T, 3] world frame, commands [T, 3].
    """
    lin, yaw = tracking_squared_errors(root_quat, root_lin_vel_w, root_ang_vel_w, commands)
    if lin.size == 0:
        return math.nan, math.nan
    return float(np.sqrt(lin.mean())), float(np.sqrt(yaw.mean()))


def distance_along_command(
    root_pos: np.ndarray, root_quat: np.ndarray, commands: np.ndarray
) -> float:
    """Distance walked along the command (m): ``sum_k (p[k+1] - p[k])_xy . u[k]``.

    ``u[k]`` is the commanded planar direction rotated into the world by the robot's yaw at step
    k (zero for a zero planar command). An arc that follows a turning command counts its arc
    length; walking against the command counts negative.
    """
    p = np.asarray(root_pos, dtype=np.float64)[:, :2]
    if p.shape[0] < 2:
        return 0.0
    cmd = np.asarray(commands, dtype=np.float64)[:-1, :2]
    psi = quat.yaw(np.asarray(root_quat, dtype=np.float64))[:-1]
    c, s = np.cos(psi), np.sin(psi)
    u = np.stack([c * cmd[:, 0] - s * cmd[:, 1], s * cmd[:, 0] + c * cmd[:, 1]], axis=-1)
    norm = np.linalg.norm(u, axis=-1, keepdims=True)
    u = np.divide(u, norm, out=np.zeros_like(u), where=norm > 1e-9)
    return float(np.sum(np.diff(p, axis=0) * u))


def survival_time(terminated: np.ndarray | None, num_frames: int, fps: float) -> float:
    """Seconds until the first fall (frame index of the first ``terminated`` + 1, / fps), or the
    episode length ``num_frames / fps`` when it did not fall."""
    if terminated is not None and np.any(terminated):
        return (int(np.argmax(terminated)) + 1) / fps
    return num_frames / fps


def falls_per_minute(num_falls: int, total_time_s: float) -> float:
    """Falls per simulated minute; NaN for zero time."""
    return 60.0 * num_falls / total_time_s if total_time_s > 0 else math.nan


def is_success(distance_m: float, tile_size_m: float) -> bool:
    """The robot reached the tile edge from the centre: distance along the command >= L / 2."""
    return distance_m >= 0.5 * tile_size_m


def highest_level_passed(
    levels: Sequence[int], successes: Sequence[bool], min_success_rate: float = 0.5
) -> int:
    """Highest level whose episodes succeeded at rate >= ``min_success_rate``; -1 if none."""
    lv = np.asarray(levels, dtype=np.int64)
    ok = np.asarray(successes, dtype=bool)
    best = -1
    for level in np.unique(lv):
        if ok[lv == level].mean() >= min_success_rate:
            best = max(best, int(level))
    return best


@dataclass(frozen=True)
class EpisodeTask:
    """Task metrics of one episode."""

    level: int
    command: tuple[float, float, float]
    """The episode's first command (vx, vy, yaw rate)."""
    duration_s: float
    fell: bool
    survival_time_s: float
    distance_m: float
    success: bool
    lin_sq_err_sum: float
    """Sum over steps of the squared planar tracking error (m^2/s^2)."""
    yaw_sq_err_sum: float
    """Sum over steps of the squared yaw-rate error (rad^2/s^2)."""
    num_steps: int
    lin_window_sq_err_sum: float = 0.0
    """Sum over full windows of the squared window-mean planar error (m^2/s^2)."""
    yaw_window_sq_err_sum: float = 0.0
    """Sum over full windows of the squared window-mean yaw-rate error (rad^2/s^2)."""
    num_windows: int = 0


def episode_task_metrics(
    motion: Motion,
    tile_size_m: float,
    level: int | None = None,
    window_s: float = TRACKING_WINDOW_S,
) -> EpisodeTask:
    """Task metrics of one rollout episode (needs ``commands``; ``terminated`` optional).

    ``level`` defaults to the episode attribute ``level`` (or -1). ``window_s``: length of the
    windows of the windowed tracking RMSE (s; rounded to whole steps).
    """
    if motion.commands is None:
        raise MetricsError(f"episode {motion.name}: no 'commands' field, cannot score tracking")
    lin_err, yaw_err = tracking_errors(
        motion.root_quat, motion.root_lin_vel, motion.root_ang_vel, motion.commands
    )
    lin, yaw = _squared(lin_err, yaw_err)
    per_window = max(1, round(window_s * motion.fps))
    lin_w = window_mean_squared_errors(lin_err, per_window)
    yaw_w = window_mean_squared_errors(yaw_err, per_window)
    dist = distance_along_command(motion.root_pos, motion.root_quat, motion.commands)
    lvl = int(motion.attrs.get("level", -1) if level is None else level)
    cmd0 = tuple(float(c) for c in motion.commands[0]) if motion.num_frames else (0.0,) * 3
    return EpisodeTask(
        level=lvl,
        command=cmd0,  # type: ignore[arg-type]
        duration_s=motion.duration_s,
        fell=motion.fell,
        survival_time_s=survival_time(motion.terminated, motion.num_frames, motion.fps),
        distance_m=dist,
        success=is_success(dist, tile_size_m),
        lin_sq_err_sum=float(lin.sum()),
        yaw_sq_err_sum=float(yaw.sum()),
        num_steps=int(lin.size),
        lin_window_sq_err_sum=float(lin_w.sum()),
        yaw_window_sq_err_sum=float(yaw_w.sum()),
        num_windows=int(lin_w.size),
    )


def aggregate_task_metrics(
    episodes: Iterable[EpisodeTask], min_success_rate: float = 0.5
) -> TaskSummary:
    """Pool episodes: RMSEs over all steps, falls per total minute, means per episode."""
    eps = list(episodes)
    if not eps:
        nan = math.nan
        return TaskSummary(
            episodes=0, duration_s=0.0, lin_vel_rmse_mps=nan, yaw_rate_rmse_radps=nan,
            lin_vel_window_rmse_mps=nan, yaw_rate_window_rmse_radps=nan, falls_per_min=nan,
            survival_time_s=nan, distance_m=nan, success_rate=nan, highest_level_passed=-1,
        )  # fmt: skip
    steps = sum(e.num_steps for e in eps)
    windows = sum(e.num_windows for e in eps)
    total = sum(e.duration_s for e in eps)

    def rms(sq_sum: float, n: int) -> float:
        return math.sqrt(sq_sum / n) if n else math.nan

    return TaskSummary(
        episodes=len(eps),
        duration_s=float(total),
        lin_vel_rmse_mps=rms(sum(e.lin_sq_err_sum for e in eps), steps),
        yaw_rate_rmse_radps=rms(sum(e.yaw_sq_err_sum for e in eps), steps),
        lin_vel_window_rmse_mps=rms(sum(e.lin_window_sq_err_sum for e in eps), windows),
        yaw_rate_window_rmse_radps=rms(sum(e.yaw_window_sq_err_sum for e in eps), windows),
        falls_per_min=falls_per_minute(sum(e.fell for e in eps), total),
        survival_time_s=float(np.mean([e.survival_time_s for e in eps])),
        distance_m=float(np.mean([e.distance_m for e in eps])),
        success_rate=float(np.mean([e.success for e in eps])),
        highest_level_passed=highest_level_passed(
            [e.level for e in eps], [e.success for e in eps], min_success_rate
        ),
    )


def per_command_rows(
    episodes: Iterable[EpisodeTask], min_success_rate: float = 0.5, decimals: int = 3
) -> list[CommandRow]:
    """Group episodes by (rounded first command, level) and aggregate each group."""
    groups: dict[tuple[tuple[float, ...], int], list[EpisodeTask]] = {}
    for e in episodes:
        key = (tuple(round(c, decimals) for c in e.command), e.level)
        groups.setdefault(key, []).append(e)
    rows: list[CommandRow] = []
    for (cmd, level), eps in sorted(groups.items()):
        summary = aggregate_task_metrics(eps, min_success_rate)
        rows.append(CommandRow(command=list(cmd), level=level, **summary))
    return rows
