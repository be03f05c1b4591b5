"""The HDF5 reference-motion dataset: schema, builder, reader (:class:`MotionDataset`) and CLI.

This module owns the schema. Writing: ``python -m retarget.dataset build --clips
results/retarget/*.json --out results/dataset/motions.h5 --config '<json>' [--mjcf PATH]`` (the
clip arrays are read from the ``.npz`` beside each ``.json``). Inspecting: ``python -m
retarget.dataset info motions.h5``.

Schema (``SCHEMA_VERSION = 1``); world frame Z up, quaternions (w, x, y, z), SI units, all
frames at the dataset rate ``fps``; float datasets are float32.

Root attributes:
    ``schema_version`` (int), ``robot`` ("builtin" or the MJCF path), ``dof_names`` [29] str
    (model joint order), ``fps`` (float, Hz), ``key_bodies`` [K] str, ``foot_bodies`` [2] str
    (left, right), ``rejected_clips`` and ``excluded_clips`` (JSON text: lists of
    ``{"clip": id, "reason": text}``; rejected = by retargeting, excluded = by the dataset
    selection), ``config`` (canonical JSON of the :class:`DatasetConfig`).

One group per clip, ``/clips/{clip id}`` (ids contain ``/``, so groups nest:
``/clips/cmu/07_01``; a clip group is one holding ``dof_pos``), with datasets:
    ``root_pos`` [T, 3] m; ``root_quat`` [T, 4] unit, w >= 0; ``root_lin_vel`` [T, 3] m/s and
    ``root_ang_vel`` [T, 3] rad/s in the world frame; ``root_lin_vel_b`` / ``root_ang_vel_b``
    [T, 3] the same in the root (pelvis) frame; ``dof_pos`` [T, 29] rad; ``dof_vel`` [T, 29]
    rad/s; ``key_body_pos`` [T, K, 3] m, world positions of the key bodies by forward kinematics
    of the G1 model; ``foot_contacts`` [T, 2] bool (left, right);
and attributes ``clip`` (the id), ``source``, ``sha256`` (of the source motion file),
``retarget_settings_hash`` (sha256 of the canonical JSON of the clip's retarget settings),
``weight`` (per-frame sampling importance, > 0), ``duration_s`` ((T - 1) / fps), ``source_fps``,
``tags`` (JSON list), ``quality`` (JSON object of the retargeting quality metrics),
``mirrored`` (bool), ``mirror_of`` (the original's id, or "").

Derived quantities (see :mod:`retarget.kinematics`): velocities by central differences (angular
velocity from quaternion differences), root-frame versions by rotating with conj(root_quat);
clips are resampled to ``fps`` first (positions/angles linearly, the root orientation by slerp),
never relabelled. Foot contacts come from :func:`retarget.contacts.detect_contacts` on a heel
and a toe point per foot (from the foot's collision geoms), a foot touching when either does.

Mirror augmentation (``DatasetConfig.mirror``): clip ``{id}.mirror`` is the left/right
reflection y -> -y: root by :func:`retarget.robot.mirror_root`, joints by
:func:`retarget.robot.mirror_dof`, key bodies by forward kinematics, velocities recomputed,
foot contacts swapped. It keeps the original's tags and weight.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NamedTuple

import h5py
import numpy as np
import torch

from mocap import quat
from mocap.configs import ConfigError, canonical_json, parse_json_arg
from mocap.fileio import atomic_path
from retarget import kinematics as K
from retarget import tags as tagging
from retarget.clip import load_clip
from retarget.contacts import ContactConfig, detect_contacts
from retarget.robot import (
    RobotModel,
    RobotModelError,
    forward_kinematics,
    load_robot,
    mirror_dof,
    mirror_root,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MIRROR_SUFFIX = ".mirror"
CLIP_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")

#: Per-frame datasets of a clip group, with their trailing shapes (D = #dofs, K = #key bodies).
FIELDS: tuple[str, ...] = (
    "root_pos",
    "root_quat",
    "root_lin_vel",
    "root_ang_vel",
    "root_lin_vel_b",
    "root_ang_vel_b",
    "dof_pos",
    "dof_vel",
    "key_body_pos",
    "foot_contacts",
)
#: Fields of a reference state (reference state initialisation), world frame.
STATE_FIELDS: tuple[str, ...] = (
    "root_pos",
    "root_quat",
    "root_lin_vel",
    "root_ang_vel",
    "dof_pos",
    "dof_vel",
)


class DatasetError(ValueError):
    """A bad dataset or bad builder input; the message names the file (and clip) and the problem."""


def _default_tag_weights() -> dict[str, float]:
    return {"walk": 1.0, "run": 0.5, "stairs": 1.0, "other": 0.0}


@dataclass(frozen=True)
class DatasetConfig:
    """Selection, weighting and derived-quantity settings of the dataset build."""

    fps: float = 50.0
    """Dataset frame rate (Hz), the policy rate; clips at another rate are resampled."""
    include: tuple[str, ...] = ("*",)
    """Clip-id patterns (fnmatch) a clip must match one of."""
    exclude: tuple[str, ...] = ()
    """Clip-id patterns that exclude a clip."""
    include_tags: tuple[str, ...] = ()
    """If not empty, a clip needs one of these tags."""
    exclude_tags: tuple[str, ...] = ()
    """A clip with one of these tags is excluded."""
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Clip-id pattern -> tags; matched clips get these tags instead of measured ones."""
    tag_weights: dict[str, float] = field(default_factory=_default_tag_weights)
    """Weight per tag; a clip's weight is the product over its tags (unlisted tags: 1)."""
    clip_weights: dict[str, float] = field(default_factory=dict)
    """Clip-id pattern -> weight multiplier (every matching pattern applies)."""
    min_duration_s: float = 1.0
    """Shorter clips (after resampling) are excluded."""
    mirror: bool = True
    """Add the left/right mirrored copy ``{id}.mirror`` of every included clip."""
    key_bodies: tuple[str, ...] | None = None
    """Bodies whose world positions are stored; None = the robot's key bodies."""
    contacts: ContactConfig = field(default_factory=ContactConfig)
    """Foot-contact detection thresholds (retarget.contacts)."""

    def __post_init__(self) -> None:
        if not (self.fps > 0.0 and math.isfinite(self.fps)):
            raise ConfigError(f"dataset.fps must be positive, got {self.fps}")
        if self.min_duration_s < 0.0:
            raise ConfigError(f"dataset.min_duration_s must be >= 0, got {self.min_duration_s}")
        for name in ("tag_weights", "clip_weights"):
            for key, w in getattr(self, name).items():
                if not (w >= 0.0 and math.isfinite(w)):
                    raise ConfigError(f"dataset.{name}.{key} must be >= 0 and finite, got {w}")


# --------------------------------------------------------------------------------------------
# Input: retargeted clips
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipInput:
    """One retargeted clip as read from ``{clip}.json`` (+ ``{clip}.npz`` when accepted).

    Arrays (None for a rejected clip): ``root_pos`` [T, 3] m, ``root_quat`` [T, 4] (w, x, y, z),
    ``dof_pos`` [T, 29] rad in the robot's joint order, at ``fps`` Hz.
    """

    clip: str
    json_path: Path
    status: str  # "accepted" or "rejected"
    reason: str
    source: str
    sha256: str
    quality: dict[str, Any]
    settings: dict[str, Any]
    fps: float = 0.0
    root_pos: np.ndarray | None = None
    root_quat: np.ndarray | None = None
    dof_pos: np.ndarray | None = None


def read_clip_summary(json_path: str | Path) -> ClipInput:
    """The ``.json`` of a retargeted clip (no arrays). Raises DatasetError naming the file.

    Keys read (as written by ``retarget.solve``): ``clip``, ``status``, ``reason``, ``source``,
    ``source_sha256`` (or ``sha256``), ``metrics`` (or ``quality``): the quality metrics, and
    ``settings`` (or ``retarget_settings``): the retarget settings.
    """
    json_path = Path(json_path)
    try:
        summary = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{json_path}: cannot read retargeted clip summary: {e}") from e
    if not isinstance(summary, dict):
        raise DatasetError(f"{json_path}: expected a JSON object")
    clip = summary.get("clip")
    if not isinstance(clip, str) or not CLIP_ID_RE.match(clip) or ".." in clip.split("/"):
        raise DatasetError(f"{json_path}: missing or invalid clip id {clip!r}")
    status = summary.get("status")
    if status not in ("accepted", "rejected"):
        raise DatasetError(f"{json_path}: status must be 'accepted' or 'rejected', got {status!r}")

    def first(*keys: str) -> Any:
        return next((summary[k] for k in keys if summary.get(k) is not None), None)

    quality = first("metrics", "quality")
    settings = first("settings", "retarget_settings")
    return ClipInput(
        clip=clip,
        json_path=json_path,
        status=status,
        reason=str(summary.get("reason") or ""),
        source=str(summary.get("source") or ""),
        sha256=str(first("source_sha256", "sha256") or ""),
        quality=quality if isinstance(quality, dict) else {},
        settings=settings if isinstance(settings, dict) else {},
    )


def load_clip_arrays(clip: ClipInput, dof_names: Sequence[str]) -> ClipInput:
    """``clip`` with its arrays read (:func:`retarget.clip.load_clip`) from the ``.npz`` beside
    its ``.json``, joints reordered to ``dof_names``. Checks shapes, joint names and finiteness;
    raises DatasetError naming the file."""
    npz = clip.json_path.with_suffix(".npz")
    try:
        data = load_clip(npz)
    except (OSError, ValueError, KeyError) as e:  # ClipFileError is a ValueError
        message = str(e) if str(npz) in str(e) else f"{npz}: {e}"
        raise DatasetError(f"cannot read retargeted clip: {message}") from e
    names = list(data.dof_names)
    if data.num_frames < 1:
        raise DatasetError(f"{npz}: clip has no frames")
    if sorted(names) != sorted(dof_names):
        raise DatasetError(
            f"{npz}: dof_names do not match the robot's: missing "
            f"{sorted(set(dof_names) - set(names))}, unexpected {sorted(set(names) - set(dof_names))}"
        )
    for key in ("root_pos", "root_quat", "dof_pos"):
        if not np.all(np.isfinite(getattr(data, key))):
            raise DatasetError(f"{npz}: {key} has non-finite values")
    if np.any(np.linalg.norm(data.root_quat, axis=-1) < 1e-6):
        raise DatasetError(f"{npz}: root_quat has zero-norm quaternions")
    order = [names.index(n) for n in dof_names]
    return ClipInput(
        **{**clip.__dict__, "fps": float(data.fps), "root_pos": data.root_pos,
           "root_quat": data.root_quat, "dof_pos": data.dof_pos[:, order]}
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Derived quantities and mirroring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FootPoints:
    """Heel and toe contact points of each foot in the foot body frame, and their heights when
    the robot stands in its default pose (feet flat), used as contact-height references."""

    local: np.ndarray  # [2 feet, 2 points (heel, toe), 3] m, foot body frame
    flat_heights: np.ndarray  # [4] m: left heel, left toe, right heel, right toe


def foot_points(robot: RobotModel) -> FootPoints:
    """Heel/toe points from each foot's environment collision geoms: the mean position of the
    geoms behind (heel) and in front of (toe) the middle of their x range; the body origin for
    a foot without geoms."""
    local = np.zeros((2, 2, 3))
    for f, gids in enumerate(robot.foot_geom_ids):
        if not gids:
            continue
        pos = robot.model.geom_pos[list(gids)]
        mid = 0.5 * (pos[:, 0].min() + pos[:, 0].max())
        back = pos[:, 0] <= mid
        local[f, 0] = pos[back].mean(axis=0)
        local[f, 1] = pos[~back].mean(axis=0) if np.any(~back) else local[f, 0]
    fpos, fquat = forward_kinematics(
        robot,
        np.array([[0.0, 0.0, robot.default_root_height]]),
        np.array([quat.IDENTITY]),
        robot.default_dof_pos[None],
        bodies=robot.foot_bodies,
    )
    world = fpos[0, :, None, :] + quat.rotate(fquat[0, :, None, :], local)  # [2, 2, 3]
    return FootPoints(local=local, flat_heights=world[..., 2].reshape(4))


def derive_motion(
    robot: RobotModel,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    dof_pos: np.ndarray,
    fps: float,
    key_bodies: Sequence[str],
    contact_cfg: ContactConfig,
    feet: FootPoints,
    foot_contacts: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every per-frame dataset of :data:`FIELDS` (float64, bool contacts) from a motion at ``fps``.

    Args:
        root_pos: [T, 3] m, world. root_quat: [T, 4] (w, x, y, z), world. dof_pos: [T, 29] rad.
        key_bodies: bodies for ``key_body_pos`` [T, K, 3].
        foot_contacts: [T, 2] bool to store as is (e.g. a mirrored clip's swapped labels);
            None to detect them.
    """
    q = quat.normalize(root_quat)
    lin_w = K.linear_velocity(root_pos, fps)
    ang_w = K.angular_velocity_w(q, fps)
    bodies = (*key_bodies, *robot.foot_bodies)
    pos, bquat = forward_kinematics(robot, root_pos, q, dof_pos, bodies=bodies)
    nk = len(key_bodies)
    if foot_contacts is None:
        fpos, fq = pos[:, nk:], bquat[:, nk:]  # [T, 2, 3], [T, 2, 4]
        points = fpos[:, :, None, :] + quat.rotate(fq[:, :, None, :], feet.local[None])
        point_contacts = detect_contacts(
            points.reshape(-1, 4, 3), feet.flat_heights, fps, contact_cfg
        )
        foot_contacts = point_contacts.reshape(-1, 2, 2).any(axis=-1)
    return {
        "root_pos": np.asarray(root_pos, dtype=np.float64),
        "root_quat": q,
        "root_lin_vel": lin_w,
        "root_ang_vel": ang_w,
        "root_lin_vel_b": K.to_root_frame(q, lin_w),
        "root_ang_vel_b": K.to_root_frame(q, ang_w),
        "dof_pos": np.asarray(dof_pos, dtype=np.float64),
        "dof_vel": K.linear_velocity(dof_pos, fps),
        "key_body_pos": pos[:, :nk],
        "foot_contacts": np.asarray(foot_contacts, dtype=bool),
    }


def mirror_motion(
    robot: RobotModel,
    arrays: Mapping[str, np.ndarray],
    fps: float,
    key_bodies: Sequence[str],
    contact_cfg: ContactConfig,
    feet: FootPoints,
) -> dict[str, np.ndarray]:
    """The left/right mirror image (y -> -y) of derived ``arrays`` (as from :func:`derive_motion`):
    root and joints mirrored, key bodies and velocities recomputed, foot contacts swapped."""
    root_pos, root_quat = mirror_root(arrays["root_pos"], arrays["root_quat"])
    dof_pos = mirror_dof(robot, arrays["dof_pos"])
    contacts = np.asarray(arrays["foot_contacts"], dtype=bool)[:, ::-1]
    return derive_motion(
        robot, root_pos, root_quat, dof_pos, fps, key_bodies, contact_cfg, feet, contacts
    )


# --------------------------------------------------------------------------------------------
# Selection and weights
# --------------------------------------------------------------------------------------------


def pattern_exclusion(clip_id: str, cfg: DatasetConfig) -> str | None:
    """Why the id patterns exclude ``clip_id``, or None when they let it in."""
    if not any(fnmatchcase(clip_id, p) for p in cfg.include):
        return f"not matched by include patterns {list(cfg.include)}"
    for p in cfg.exclude:
        if fnmatchcase(clip_id, p):
            return f"matched exclude pattern {p!r}"
    return None


def clip_weight(clip_id: str, tags: Sequence[str], cfg: DatasetConfig) -> float:
    """Product of the tag weights (tags missing from ``tag_weights`` count 1) and of the
    multipliers of every ``clip_weights`` pattern matching ``clip_id``."""
    w = 1.0
    for t in tags:
        w *= cfg.tag_weights.get(t, 1.0)
    for pattern, m in cfg.clip_weights.items():
        if fnmatchcase(clip_id, pattern):
            w *= m
    return w


def tag_exclusion(tags: Sequence[str], cfg: DatasetConfig) -> str | None:
    """Why ``include_tags`` / ``exclude_tags`` exclude a clip with ``tags``, or None."""
    if cfg.include_tags and not set(tags) & set(cfg.include_tags):
        return f"tags {list(tags)} not in include_tags {list(cfg.include_tags)}"
    for t in tags:
        if t in cfg.exclude_tags:
            return f"tag {t!r} in exclude_tags"
    return None


# --------------------------------------------------------------------------------------------
# Builder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipRecord:
    """A clip ready to be written: its per-frame arrays (:data:`FIELDS`) and attributes."""

    clip: str
    arrays: dict[str, np.ndarray]
    fps: float
    source: str
    sha256: str
    retarget_settings_hash: str
    weight: float
    tags: tuple[str, ...]
    quality: dict[str, Any]
    source_fps: float
    mirrored: bool = False
    mirror_of: str = ""

    @property
    def duration_s(self) -> float:
        return (self.arrays["dof_pos"].shape[0] - 1) / self.fps


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote: included clip ids (mirrors included) and the left-out ones."""

    path: Path
    clips: tuple[str, ...]
    rejected: tuple[dict[str, str], ...]
    excluded: tuple[dict[str, str], ...]


def settings_hash(settings: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical (sorted, compact) JSON of retarget settings."""
    return hashlib.sha256(canonical_json(dict(settings)).encode()).hexdigest()


def process_clip(
    robot: RobotModel,
    clip: ClipInput,
    cfg: DatasetConfig,
    key_bodies: Sequence[str],
    feet: FootPoints,
) -> tuple[ClipRecord | None, str | None]:
    """Resample, derive, tag and weigh an accepted clip (arrays loaded).

    Returns ``(record, None)`` for an included clip or ``(None, reason)`` for an excluded one.
    """
    assert clip.root_pos is not None and clip.root_quat is not None and clip.dof_pos is not None
    root_pos, root_quat, dof_pos = clip.root_pos, clip.root_quat, clip.dof_pos
    if not K.same_rate(clip.fps, cfg.fps):
        root_pos = K.resample_linear(root_pos, clip.fps, cfg.fps)
        root_quat = K.resample_quat(root_quat, clip.fps, cfg.fps)
        dof_pos = K.resample_linear(dof_pos, clip.fps, cfg.fps)
    t = root_pos.shape[0]
    duration = (t - 1) / cfg.fps
    if t < 3:
        return None, f"{t} frames at {cfg.fps:g} fps: too short for velocities (needs 3)"
    if duration < cfg.min_duration_s:
        return None, f"duration {duration:.2f} s < min_duration_s {cfg.min_duration_s:g}"
    arrays = derive_motion(
        robot, root_pos, root_quat, dof_pos, cfg.fps, key_bodies, cfg.contacts, feet
    )
    tags = tagging.clip_tags(
        clip.clip,
        cfg.tags,
        arrays["root_pos"],
        arrays["root_lin_vel"],
        arrays["foot_contacts"],
        cfg.fps,
    )
    reason = tag_exclusion(tags, cfg)
    if reason is not None:
        return None, reason
    weight = clip_weight(clip.clip, tags, cfg)
    if weight <= 0.0:
        return None, f"weight 0 (tags {list(tags)})"
    record = ClipRecord(
        clip=clip.clip,
        arrays=arrays,
        fps=cfg.fps,
        source=clip.source,
        sha256=clip.sha256,
        retarget_settings_hash=settings_hash(clip.settings),
        weight=weight,
        tags=tags,
        quality=clip.quality,
        source_fps=clip.fps,
    )
    return record, None


def _write_clip(clips_group: h5py.Group, record: ClipRecord) -> None:
    """Write one clip group ``clips_group[record.clip]`` (datasets and attributes)."""
    g = clips_group.require_group(record.clip)
    for name in FIELDS:
        arr = record.arrays[name]
        data = arr.astype(bool) if name == "foot_contacts" else arr.astype(np.float32)
        g.create_dataset(name, data=data)
    g.attrs["clip"] = record.clip
    g.attrs["source"] = record.source
    g.attrs["sha256"] = record.sha256
    g.attrs["retarget_settings_hash"] = record.retarget_settings_hash
    g.attrs["weight"] = float(record.weight)
    g.attrs["duration_s"] = float(record.duration_s)
    g.attrs["source_fps"] = float(record.source_fps)
    g.attrs["tags"] = json.dumps(list(record.tags))
    g.attrs["quality"] = json.dumps(record.quality, sort_keys=True)
    g.attrs["mirrored"] = bool(record.mirrored)
    g.attrs["mirror_of"] = record.mirror_of


def _str_array(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=h5py.string_dtype())


def build_dataset(
    clip_jsons: Sequence[str | Path],
    out: str | Path,
    cfg: DatasetConfig | None = None,
    *,
    mjcf: str | Path | None = None,
) -> BuildResult:
    """Build the dataset at ``out`` (atomically) from retargeted clips' ``.json`` files.

    Rejected clips are listed in ``rejected_clips``; accepted clips that the selection leaves
    out in ``excluded_clips``. Raises DatasetError on bad input (unreadable files, duplicate ids,
    a mirror id colliding with an input id) or when no clip is left; nothing is then written.
    """
    cfg = cfg or DatasetConfig()
    out = Path(out)
    robot = load_robot(mjcf)
    key_bodies = tuple(cfg.key_bodies) if cfg.key_bodies is not None else robot.key_bodies
    unknown = [b for b in key_bodies if b not in _body_names(robot)]
    if unknown:
        raise DatasetError(f"{out}: key_bodies not in the robot model ({robot.source}): {unknown}")
    feet = foot_points(robot)

    summaries = [read_clip_summary(p) for p in clip_jsons]
    seen: dict[str, Path] = {}
    for s in summaries:
        if s.clip in seen:
            raise DatasetError(f"{s.json_path}: clip id {s.clip!r} also in {seen[s.clip]}")
        seen[s.clip] = s.json_path
    if cfg.mirror:
        for s in summaries:
            if s.status == "accepted" and s.clip + MIRROR_SUFFIX in seen:
                raise DatasetError(
                    f"{seen[s.clip + MIRROR_SUFFIX]}: clip id {s.clip + MIRROR_SUFFIX!r} collides "
                    f"with the mirrored copy of {s.clip!r}; rename it or set mirror: false"
                )

    rejected = [{"clip": s.clip, "reason": s.reason} for s in summaries if s.status == "rejected"]
    excluded: list[dict[str, str]] = []
    written: list[str] = []
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        clips_group = f.create_group("clips")
        for s in summaries:
            if s.status != "accepted":
                continue
            reason = pattern_exclusion(s.clip, cfg)
            record = None
            if reason is None:
                record, reason = process_clip(
                    robot, load_clip_arrays(s, robot.dof_names), cfg, key_bodies, feet
                )
            if record is None:
                excluded.append({"clip": s.clip, "reason": str(reason)})
                log.info("%s excluded: %s", s.clip, reason)
                continue
            _write_clip(clips_group, record)
            written.append(record.clip)
            log.info("%s: %.2f s, tags %s, weight %g", s.clip, record.duration_s, record.tags,
                     record.weight)  # fmt: skip
            if cfg.mirror:
                mirrored = mirror_motion(
                    robot, record.arrays, cfg.fps, key_bodies, cfg.contacts, feet
                )
                m = ClipRecord(**{**record.__dict__, "clip": record.clip + MIRROR_SUFFIX,
                                  "arrays": mirrored, "mirrored": True, "mirror_of": record.clip})  # fmt: skip
                _write_clip(clips_group, m)
                written.append(m.clip)
        if not written:
            raise DatasetError(
                f"{out}: no clip left to write (rejected: {rejected}; excluded: {excluded})"
            )
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["robot"] = robot.source
        f.attrs["dof_names"] = _str_array(robot.dof_names)
        f.attrs["fps"] = float(cfg.fps)
        f.attrs["key_bodies"] = _str_array(key_bodies)
        f.attrs["foot_bodies"] = _str_array(robot.foot_bodies)
        f.attrs["rejected_clips"] = json.dumps(rejected)
        f.attrs["excluded_clips"] = json.dumps(excluded)
        f.attrs["config"] = canonical_json(cfg)
    return BuildResult(out, tuple(written), tuple(rejected), tuple(excluded))


def _body_names(robot: RobotModel) -> set[str]:
    import mujoco

    return {
        mujoco.mj_id2name(robot.model, mujoco.mjtObj.mjOBJ_BODY, i) or ""
        for i in range(robot.model.nbody)
    }


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipSummary:
    """Per-clip facts for the environment's command-range check and the report."""

    clip: str
    num_frames: int
    duration_s: float
    mean_speed: float  # mean horizontal root speed, m/s
    tags: tuple[str, ...]
    weight: float
    mirrored: bool
    mirror_of: str
    source: str
    sha256: str
    quality: dict[str, Any]


class FrameSample(NamedTuple):
    """Sampled windows: ``clip`` [n] clip index, ``start`` [n] global index (into the
    concatenated frames) of each window's first frame."""

    clip: torch.Tensor
    start: torch.Tensor


AmpFeatureFn = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


class _LazyFrames(Mapping[str, torch.Tensor]):
    """Concatenated per-frame fields, each read from the file on first access only."""

    def __init__(self, loader: Callable[[str], torch.Tensor], cache: dict[str, torch.Tensor]):
        self._loader = loader
        self._cache = cache

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in FIELDS:
            raise KeyError(key)
        if key not in self._cache:
            self._cache[key] = self._loader(key)
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)


def _attr_str_list(attrs: h5py.AttributeManager, key: str, where: str) -> tuple[str, ...]:
    if key not in attrs:
        raise DatasetError(f"{where}: missing attribute {key!r}")
    value = np.asarray(attrs[key]).reshape(-1)
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)


def _attr_json(attrs: h5py.AttributeManager, key: str, where: str, kind: type) -> Any:
    if key not in attrs:
        raise DatasetError(f"{where}: missing attribute {key!r}")
    raw = attrs[key]
    try:
        value = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except json.JSONDecodeError as e:
        raise DatasetError(f"{where}: attribute {key!r} is not valid JSON: {e}") from e
    if not isinstance(value, kind):
        raise DatasetError(f"{where}: attribute {key!r} must be a JSON {kind.__name__}")
    return value


def _attr_scalar(attrs: h5py.AttributeManager, key: str, where: str) -> Any:
    if key not in attrs:
        raise DatasetError(f"{where}: missing attribute {key!r}")
    value = np.asarray(attrs[key])
    if value.size != 1:
        raise DatasetError(f"{where}: attribute {key!r} must be a scalar")
    v = value.reshape(-1)[0]
    return v.decode() if isinstance(v, bytes) else v


class MotionDataset:
    """Reader of the reference-motion dataset, for AMP and reference state initialisation.

    Loads every clip once into contiguous, concatenated float32 tensors (``frames[name]``
    [F, ...], F = total frames; clip c occupies ``clip_start[c] : clip_start[c] + clip_len[c]``)
    on ``device``. Reads only the state fields (:data:`STATE_FIELDS`) plus whatever
    ``amp_feature_fn`` touches. Everything read is validated (schema version, dof names, shapes,
    dtypes, finiteness, unit quaternions, weights) and a problem raises DatasetError naming the
    file and the clip.

    Sampling is vectorised (no per-sample Python) with an explicit ``torch.Generator`` (on
    ``device``). A window of ``history`` consecutive frames is drawn by choosing clip c with
    probability proportional to ``weight_c * (clip_len_c - history + 1)`` (the weight is a
    per-frame importance) and a uniform start such that the whole window lies in the clip.

    Args:
        path: the ``.h5`` file.
        dof_names: the robot's joint names; when given the file's must be equal (same order).
        device: where the tensors live.
        amp_feature_fn: ``fn(frames) -> [F, D]`` per-frame AMP features, called once at load
            with a mapping of the concatenated fields (:data:`FIELDS`, float32 tensors;
            ``foot_contacts`` bool), e.g. ``rl.amp_obs``'s feature function. Needed by
            :meth:`sample_amp_obs`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        dof_names: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        amp_feature_fn: AmpFeatureFn | None = None,
    ) -> None:
        self.path = Path(path)
        self.device = torch.device(device)
        where = str(self.path)
        if not self.path.is_file():
            raise DatasetError(f"{where}: dataset file not found")
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            raise DatasetError(f"{where}: not a readable HDF5 file: {e}") from e
        with f:
            self._read_root(f, where, dof_names)
            groups = self._find_clips(f, where)
            self._read_clips(groups, where, amp_feature_fn)
        self._tables: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._arange = torch.arange(max(int(self.clip_len.max()), 1), device=self.device)

    # ---------------------------------------------------------------- loading and validation

    def _read_root(self, f: h5py.File, where: str, dof_names: Sequence[str] | None) -> None:
        attrs = f.attrs
        if "schema_version" not in attrs:
            raise DatasetError(f"{where}: not a motion dataset (no schema_version attribute)")
        version = _attr_scalar(attrs, "schema_version", where)
        if not isinstance(version, (int, np.integer)) or int(version) != SCHEMA_VERSION:
            shown = int(version) if isinstance(version, (int, np.integer)) else repr(version)
            raise DatasetError(
                f"{where}: schema_version {shown}, this reader reads {SCHEMA_VERSION}; "
                "rebuild the dataset with python -m retarget.dataset build"
            )
        self.dof_names = _attr_str_list(attrs, "dof_names", where)
        if dof_names is not None and tuple(dof_names) != self.dof_names:
            diff = [
                (i, a, b)
                for i, (a, b) in enumerate(zip(self.dof_names, tuple(dof_names), strict=False))
                if a != b
            ]
            raise DatasetError(
                f"{where}: dof_names do not match the robot's ({len(self.dof_names)} vs "
                f"{len(dof_names)} joints; first difference: {diff[:1]}); rebuild the dataset "
                "for this robot"
            )
        self.fps = float(_attr_scalar(attrs, "fps", where))
        if not (self.fps > 0.0 and math.isfinite(self.fps)):
            raise DatasetError(f"{where}: fps must be positive, got {self.fps}")
        self.robot_source = str(_attr_scalar(attrs, "robot", where))
        self.key_bodies = _attr_str_list(attrs, "key_bodies", where)
        self.foot_bodies = _attr_str_list(attrs, "foot_bodies", where)
        if len(self.foot_bodies) != 2:
            raise DatasetError(f"{where}: foot_bodies must name 2 bodies (left, right)")
        self.rejected_clips: list[dict[str, str]] = _attr_json(attrs, "rejected_clips", where, list)
        self.excluded_clips: list[dict[str, str]] = _attr_json(attrs, "excluded_clips", where, list)
        self.config: dict[str, Any] = _attr_json(attrs, "config", where, dict)

    @staticmethod
    def _find_clips(f: h5py.File, where: str) -> list[h5py.Group]:
        if "clips" not in f or not isinstance(f["clips"], h5py.Group):
            raise DatasetError(f"{where}: no /clips group")
        groups: list[h5py.Group] = []

        def visit(_name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "dof_pos" in obj:
                groups.append(obj)

        f["clips"].visititems(visit)
        if not groups:
            raise DatasetError(f"{where}: the dataset holds no clips")
        return sorted(groups, key=lambda g: g.name)

    def _expected_shape(self, name: str) -> tuple[int, ...]:
        nd, nk = len(self.dof_names), len(self.key_bodies)
        return {
            "dof_pos": (nd,), "dof_vel": (nd,), "key_body_pos": (nk, 3), "foot_contacts": (2,),
            "root_quat": (4,),
        }.get(name, (3,))  # fmt: skip

    def _read_clips(
        self, groups: list[h5py.Group], where: str, amp_feature_fn: AmpFeatureFn | None
    ) -> None:
        names, lens, weights, summaries_attrs = [], [], [], []
        for g in groups:
            cw = f"{where}: clip {g.name.removeprefix('/clips/')}"
            t = None
            for name in FIELDS:
                if name not in g or not isinstance(g[name], h5py.Dataset):
                    raise DatasetError(f"{cw}: missing dataset {name!r}")
                ds = g[name]
                t = ds.shape[0] if t is None and len(ds.shape) >= 1 else t
                if ds.shape != (t, *self._expected_shape(name)):
                    raise DatasetError(
                        f"{cw}: {name} has shape {ds.shape}, expected "
                        f"{(t, *self._expected_shape(name))}"
                    )
                if name == "foot_contacts":
                    if ds.dtype != np.bool_:
                        raise DatasetError(f"{cw}: foot_contacts must be bool, got {ds.dtype}")
                elif ds.dtype.kind != "f":
                    raise DatasetError(f"{cw}: {name} must be floating point, got {ds.dtype}")
            if not t or t < 1:
                raise DatasetError(f"{cw}: clip has no frames")
            clip_id = str(_attr_scalar(g.attrs, "clip", cw))
            weight = float(_attr_scalar(g.attrs, "weight", cw))
            if not (weight >= 0.0 and math.isfinite(weight)):
                raise DatasetError(f"{cw}: weight must be >= 0 and finite, got {weight}")
            tags = _attr_json(g.attrs, "tags", cw, list)
            quality = _attr_json(g.attrs, "quality", cw, dict)
            names.append(clip_id)
            lens.append(int(t))
            weights.append(weight)
            summaries_attrs.append(
                (tuple(str(x) for x in tags), bool(_attr_scalar(g.attrs, "mirrored", cw)),
                 str(_attr_scalar(g.attrs, "mirror_of", cw)), str(g.attrs.get("source", "")),
                 str(g.attrs.get("sha256", "")), quality)
            )  # fmt: skip
        self.clip_names: tuple[str, ...] = tuple(names)
        lens_np = np.asarray(lens, dtype=np.int64)
        starts_np = np.concatenate([[0], np.cumsum(lens_np)[:-1]]).astype(np.int64)
        self.num_frames = int(lens_np.sum())
        self.clip_start = torch.as_tensor(starts_np, device=self.device)
        self.clip_len = torch.as_tensor(lens_np, device=self.device)
        self.clip_weight = torch.as_tensor(weights, dtype=torch.float64, device=self.device)

        def load(name: str) -> torch.Tensor:
            dtype = np.bool_ if name == "foot_contacts" else np.float32
            out = np.empty((self.num_frames, *self._expected_shape(name)), dtype=dtype)
            for g, a, n in zip(groups, starts_np, lens_np, strict=True):
                out[a : a + n] = g[name][()]
                if dtype is np.float32 and not np.all(np.isfinite(out[a : a + n])):
                    raise DatasetError(
                        f"{where}: clip {g.attrs.get('clip', g.name)}: {name} has non-finite values"
                    )
                if name == "root_quat":
                    norms = np.linalg.norm(out[a : a + n], axis=-1)
                    if np.any(np.abs(norms - 1.0) > 1e-3):
                        raise DatasetError(
                            f"{where}: clip {g.attrs.get('clip', g.name)}: root_quat is not unit "
                            f"norm (norms {norms.min():.4f}..{norms.max():.4f})"
                        )
            return torch.from_numpy(out).to(self.device)

        cache: dict[str, torch.Tensor] = {}
        frames = _LazyFrames(load, cache)
        self.frames: dict[str, torch.Tensor] = {k: frames[k] for k in STATE_FIELDS}
        self.amp_features: torch.Tensor | None = None
        if amp_feature_fn is not None:
            feats = amp_feature_fn(frames)
            if not isinstance(feats, torch.Tensor) or feats.ndim != 2:
                raise DatasetError(f"{where}: amp_feature_fn must return a 2-D tensor [F, D]")
            if feats.shape[0] != self.num_frames:
                raise DatasetError(
                    f"{where}: amp_feature_fn returned {feats.shape[0]} rows for "
                    f"{self.num_frames} frames"
                )
            feats = feats.detach().to(device=self.device, dtype=torch.float32).contiguous()
            if not bool(torch.isfinite(feats).all()):
                raise DatasetError(f"{where}: amp_feature_fn returned non-finite features")
            self.amp_features = feats

        speed = torch.linalg.vector_norm(self.frames["root_lin_vel"][:, :2], dim=-1).cpu().numpy()
        self.clip_summaries: tuple[ClipSummary, ...] = tuple(
            ClipSummary(
                clip=names[c], num_frames=int(lens_np[c]),
                duration_s=(int(lens_np[c]) - 1) / self.fps,
                mean_speed=float(speed[starts_np[c] : starts_np[c] + lens_np[c]].mean()),
                tags=s[0], weight=weights[c], mirrored=s[1], mirror_of=s[2], source=s[3],
                sha256=s[4], quality=s[5],
            )
            for c, s in enumerate(summaries_attrs)
        )  # fmt: skip

    # ---------------------------------------------------------------- properties

    @property
    def num_clips(self) -> int:
        return len(self.clip_names)

    @property
    def amp_feature_dim(self) -> int:
        """D, the per-frame AMP feature size (0 without a feature function)."""
        return 0 if self.amp_features is None else int(self.amp_features.shape[1])

    @property
    def speeds(self) -> np.ndarray:
        """[C] mean horizontal root speed (m/s) of each clip."""
        return np.array([s.mean_speed for s in self.clip_summaries])

    # ---------------------------------------------------------------- sampling

    def _window_table(self, history: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(cdf [C] over clips, valid window starts [C]) for windows of ``history`` frames."""
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        table = self._tables.get(history)
        if table is None:
            n_valid = (self.clip_len - history + 1).clamp(min=0)
            mass = self.clip_weight * n_valid.to(torch.float64)
            total = float(mass.sum())
            if total <= 0.0:
                raise DatasetError(
                    f"{self.path}: no clip with positive weight has {history} frames"
                )
            cdf = torch.cumsum(mass, 0) / total
            cdf[-1] = 1.0
            table = (cdf, n_valid)
            self._tables[history] = table
        return table

    def sample_frames(
        self, n: int, generator: torch.Generator | None, history: int = 1
    ) -> FrameSample:
        """Draw ``n`` windows of ``history`` consecutive frames (see the class docstring).

        Returns clip indices [n] and global window-start indices [n]; window k covers frames
        ``start[k] .. start[k] + history - 1``, all inside clip ``clip[k]``.
        """
        cdf, n_valid = self._window_table(history)
        u = torch.rand((2, n), generator=generator, device=self.device, dtype=torch.float64)
        clip = torch.searchsorted(cdf, u[0], right=True).clamp_(max=self.num_clips - 1)
        offset = (u[1] * n_valid.index_select(0, clip)).long()
        return FrameSample(clip, self.clip_start.index_select(0, clip) + offset)

    def states_at(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The reference state fields (:data:`STATE_FIELDS`, world frame) at global frames
        ``index`` [n]: each [n, ...]."""
        return {k: v.index_select(0, index) for k, v in self.frames.items()}

    def sample_states(self, n: int, generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """``n`` reference states for initialising environments (world frame): ``root_pos``
        [n, 3], ``root_quat`` [n, 4], ``root_lin_vel`` [n, 3], ``root_ang_vel`` [n, 3],
        ``dof_pos`` [n, 29], ``dof_vel`` [n, 29]."""
        return self.states_at(self.sample_frames(n, generator, 1).start)

    def sample_amp_obs(
        self, n: int, history: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        """``n`` reference AMP observations [n, history * D]: the per-frame features of
        ``history`` consecutive frames, oldest first, flattened (one gather)."""
        if self.amp_features is None:
            raise DatasetError(f"{self.path}: loaded without amp_feature_fn; no AMP features")
        start = self.sample_frames(n, generator, history).start
        idx = (start[:, None] + self._arange[:history]).reshape(-1)
        return self.amp_features.index_select(0, idx).view(n, history * self.amp_feature_dim)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def info_text(path: str | Path) -> str:
    """Human-readable summary of a dataset: root attributes, one line per clip, left-out clips."""
    ds = MotionDataset(path)
    total_s = (ds.num_frames - ds.num_clips) / ds.fps
    lines = [
        (
            f"{ds.path}: schema_version {SCHEMA_VERSION}, robot {ds.robot_source}, "
            f"{ds.fps:g} fps, {ds.num_clips} clips, {ds.num_frames} frames ({total_s:.1f} s)"
        ),
        f"key bodies: {', '.join(ds.key_bodies)}",
        "",
        f"{'clip':<40} {'frames':>7} {'dur_s':>7} {'speed':>6} {'weight':>7} {'mirror':>6}  tags",
    ]
    for s in ds.clip_summaries:
        lines.append(
            f"{s.clip:<40} {s.num_frames:>7d} {s.duration_s:>7.2f} {s.mean_speed:>6.2f} "
            f"{s.weight:>7.3g} {'yes' if s.mirrored else 'no':>6}  {','.join(s.tags)}"
        )
    lines += ["", f"rejected clips ({len(ds.rejected_clips)}):"]
    lines += [f"  {r.get('clip')}: {r.get('reason')}" for r in ds.rejected_clips]
    lines += [f"excluded clips ({len(ds.excluded_clips)}):"]
    lines += [f"  {r.get('clip')}: {r.get('reason')}" for r in ds.excluded_clips]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retarget.dataset", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the HDF5 dataset from retargeted clips")
    b.add_argument("--clips", nargs="*", type=Path, default=[], help="retargeted clip .json files")
    b.add_argument("--out", required=True, type=Path, help="output .h5 file")
    b.add_argument("--config", default="{}", help="DatasetConfig as JSON")
    b.add_argument("--mjcf", default=None, help="official G1 MJCF (default: built-in model)")
    i = sub.add_parser("info", help="print a dataset's clips, speeds, weights, left-out clips")
    i.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "info":
        try:
            print(info_text(args.path))
        except DatasetError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    try:
        cfg = parse_json_arg(DatasetConfig, args.config, "dataset")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        result = build_dataset(args.clips, args.out, cfg, mjcf=args.mjcf)
    except (DatasetError, RobotModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    log.info(
        "%s: %d clips written, %d rejected, %d excluded",
        result.path, len(result.clips), len(result.rejected), len(result.excluded),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
