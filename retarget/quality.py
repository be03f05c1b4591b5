"""Quality metrics and gates of a retargeted clip.

The metric functions are pure (arrays in, numbers out) except :func:`trajectory_kinematics`,
which runs MuJoCo kinematics and collision detection once over the clip to produce the arrays
they need. Units: metres, seconds, radians; the ground is the plane z = 0 on flat clips and the
stance-height envelope on non-flat ones (see :mod:`retarget.contacts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import mujoco
import numpy as np


@dataclass(frozen=True)
class QualityGates:
    """Thresholds a clip must pass to be accepted (a gate fails when its metric exceeds it)."""

    max_keypoint_error_mean_m: float = 0.07
    """Mean distance between G1 key points and their (scaled, cleaned) targets."""
    max_keypoint_error_max_m: float = 0.30
    """Largest key-point distance in any frame."""
    max_foot_skating_mps: float = 0.05
    """Mean horizontal speed of contact points during detected contacts."""
    max_penetration_m: float = 0.01
    """Deepest sole point below the ground."""
    max_joint_limit_violations: int = 0
    """(frame, joint) entries beyond the joint range (+ tolerance)."""
    max_velocity_violation_fraction: float = 0.02
    """Fraction of frames with a joint faster than its velocity limit (+ tolerance)."""
    max_self_collision_fraction: float = 0.05
    """Fraction of frames with a robot-robot contact deeper than the tolerance."""
    max_ik_failure_fraction: float = 0.05
    """Fraction of frames where a QP failed or a key point is farther than the IK threshold."""
    max_airborne_fraction: float = 0.6
    """Fraction of frames with no contact point on the ground."""
    max_root_speed_mps: float = 6.0
    """Fastest root (pelvis) speed between two frames: a teleport means broken input."""
    min_root_height_median_m: float = 0.3
    """Median pelvis height; below it the clip lies on or under the floor."""


#: gate name -> (metric key, "max" or "min")
GATE_METRICS: dict[str, tuple[str, str]] = {
    "max_keypoint_error_mean_m": ("keypoint_error_mean_m", "max"),
    "max_keypoint_error_max_m": ("keypoint_error_max_m", "max"),
    "max_foot_skating_mps": ("foot_skating_mps", "max"),
    "max_penetration_m": ("penetration_max_m", "max"),
    "max_joint_limit_violations": ("joint_limit_violations", "max"),
    "max_velocity_violation_fraction": ("velocity_violation_fraction", "max"),
    "max_self_collision_fraction": ("self_collision_fraction", "max"),
    "max_ik_failure_fraction": ("ik_failure_fraction", "max"),
    "max_airborne_fraction": ("airborne_fraction", "max"),
    "max_root_speed_mps": ("root_speed_max_mps", "max"),
    "min_root_height_median_m": ("root_height_median_m", "min"),
}


def apply_gates(metrics: dict[str, Any], gates: QualityGates) -> tuple[str, list[str]]:
    """``("accepted", [])`` or ``("rejected", [names of the failed gates])``.

    A missing or non-finite metric fails its gate (never silently passes).
    """
    failed = []
    for f in fields(gates):
        key, kind = GATE_METRICS[f.name]
        limit = getattr(gates, f.name)
        value = metrics.get(key)
        if value is None or not math.isfinite(float(value)) or kind == "max" and float(value) > limit or kind == "min" and float(value) < limit:
            failed.append(f.name)
    return ("rejected" if failed else "accepted"), failed


def describe_failures(metrics: dict[str, Any], gates: QualityGates, failed: list[str]) -> str:
    """Human-readable reason, e.g. ``max_foot_skating_mps: foot_skating_mps = 0.08 > 0.05``."""
    parts = []
    for name in failed:
        key, kind = GATE_METRICS[name]
        op = ">" if kind == "max" else "<"
        parts.append(f"{name}: {key} = {metrics.get(key)} {op} {getattr(gates, name)}")
    return "; ".join(parts)


def keypoint_error(solved: np.ndarray, targets: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Distances between solved points and targets [T, K, 3]: (mean, max, per-frame max [T])."""
    d = np.linalg.norm(solved - targets, axis=-1)
    if d.size == 0:
        return 0.0, 0.0, np.zeros(solved.shape[0])
    return float(d.mean()), float(d.max()), d.max(axis=1)


def foot_skating(points: np.ndarray, contacts: np.ndarray, fps: float) -> tuple[float, float]:
    """Horizontal sliding speed (m/s) of contact points [T, P, 3] during contact [T, P].

    A sample is the horizontal displacement between two consecutive frames that are both in
    contact, times fps (so the motion into or out of a stance phase does not count). Returns
    (mean, 95th percentile) over all samples; (0, 0) when there are none.
    """
    if points.shape[0] < 2:
        return 0.0, 0.0
    step = np.linalg.norm(np.diff(points[..., :2], axis=0), axis=-1) * fps  # [T-1, P]
    both = contacts[1:] & contacts[:-1]
    s = step[both]
    if s.size == 0:
        return 0.0, 0.0
    return float(s.mean()), float(np.percentile(s, 95))


def penetration(sole_z: np.ndarray, ground_z: np.ndarray | float = 0.0) -> float:
    """Deepest point below the ground (m, >= 0) of sole heights [T, P].

    ``ground_z`` (a number or [T, P]): the ground under each sole point: 0 on a flat clip, the
    stance-height envelope on non-flat ground (:func:`retarget.contacts.support_envelope`:
    without a terrain model the stance foot is the ground, so a sole point is compared with the
    support its foot stands on or swings between).
    """
    if not sole_z.size:
        return 0.0
    return float(max(0.0, float(np.max(np.asarray(ground_z) - sole_z))))


def joint_limit_violations(
    dof_pos: np.ndarray, limits: np.ndarray, tol: float = 1e-3
) -> tuple[int, float]:
    """(count of (frame, joint) beyond [lo - tol, hi + tol], largest excess in rad)."""
    excess = np.maximum(limits[:, 0] - dof_pos, dof_pos - limits[:, 1])
    return int(np.sum(excess > tol)), float(max(0.0, excess.max())) if excess.size else 0.0


def velocity_limit_violations(
    dof_pos: np.ndarray, vel_limits: np.ndarray, fps: float, tol: float = 1.01
) -> tuple[int, float, float]:
    """Joint speeds between frames against the limits [29].

    Returns (count of (frame, joint) with |dq|*fps > tol * limit, fraction of frame intervals
    with any such joint, largest |speed| / limit).
    """
    if dof_pos.shape[0] < 2:
        return 0, 0.0, 0.0
    ratio = np.abs(np.diff(dof_pos, axis=0)) * fps / vel_limits
    bad = ratio > tol
    return int(bad.sum()), float(bad.any(axis=1).mean()), float(ratio.max())


def airborne_fraction(contacts: np.ndarray) -> float:
    """Fraction of frames where no contact point [T, P] touches the ground."""
    return float((~contacts.any(axis=1)).mean()) if contacts.size else 0.0


def root_speed(root_pos: np.ndarray, fps: float) -> tuple[float, float]:
    """(mean horizontal speed, max 3-D speed between two frames), m/s, of root positions [T, 3]."""
    if root_pos.shape[0] < 2:
        return 0.0, 0.0
    d = np.diff(root_pos, axis=0) * fps
    return float(np.linalg.norm(d[:, :2], axis=-1).mean()), float(np.linalg.norm(d, axis=-1).max())


def geom_lowest_points_local(model: mujoco.MjModel, geom_ids: list[int]) -> np.ndarray:
    """Lowest point (body frame) of each foot geom [G, 3] with the body level (sphere/capsule/box).

    Raises ValueError for other geom types.
    """
    out = []
    for g in geom_ids:
        pos = model.geom_pos[g]
        size = model.geom_size[g]
        t = model.geom_type[g]
        if t == mujoco.mjtGeom.mjGEOM_SPHERE:
            out.append(pos - np.array([0.0, 0.0, size[0]]))
            continue
        R = np.zeros(9)
        mujoco.mju_quat2Mat(R, model.geom_quat[g])
        R = R.reshape(3, 3)
        if t == mujoco.mjtGeom.mjGEOM_CAPSULE:
            ends = [pos + R @ np.array([0, 0, s * size[1]]) for s in (-1.0, 1.0)]
            p = min(ends, key=lambda e: e[2])
            out.append(p - np.array([0.0, 0.0, size[0]]))
        elif t == mujoco.mjtGeom.mjGEOM_BOX:
            corners = [pos + R @ (size[:3] * np.array([a, b, c]))
                       for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
            out.append(min(corners, key=lambda e: e[2]))
        else:
            raise ValueError(f"foot geom {g} has type {int(t)}; expected sphere, capsule or box")
    return np.array(out)


@dataclass
class TrajectoryKinematics:
    """Per-frame kinematics of a solved clip (world frame, m)."""

    keypoints: np.ndarray  # [T, K, 3] mapped points
    sole_points: np.ndarray  # [T, P, 3] lowest points of the foot geoms
    self_collision: np.ndarray  # [T] bool, a robot-robot contact deeper than the tolerance


def trajectory_kinematics(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    point_bodies: np.ndarray,
    point_offsets: np.ndarray,
    sole_bodies: np.ndarray,
    sole_offsets: np.ndarray,
    collision_depth: float = 0.005,
    check_collisions: bool = True,
) -> TrajectoryKinematics:
    """Run kinematics (and collision detection) over qpos [T, nq].

    Self-collisions: MuJoCo contacts between two geoms of the robot (neither on the world body)
    that penetrate deeper than ``collision_depth`` (m). The model's own collision filtering
    applies: parent-child bodies never collide, explicit ``<pair>`` lists (built-in G1) or
    contype/conaffinity (official MJCF) decide the rest.
    """
    data = mujoco.MjData(model)
    T = qpos.shape[0]
    kp = np.empty((T, len(point_bodies), 3))
    sole = np.empty((T, len(sole_bodies), 3))
    coll = np.zeros(T, dtype=bool)
    geom_body = model.geom_bodyid
    for t in range(T):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        xmat = data.xmat[point_bodies].reshape(-1, 3, 3)
        kp[t] = data.xpos[point_bodies] + np.einsum("kij,kj->ki", xmat, point_offsets)
        xmat = data.xmat[sole_bodies].reshape(-1, 3, 3)
        sole[t] = data.xpos[sole_bodies] + np.einsum("kij,kj->ki", xmat, sole_offsets)
        if check_collisions:
            mujoco.mj_collision(model, data)
            for i in range(data.ncon):
                c = data.contact[i]
                b1, b2 = geom_body[c.geom[0]], geom_body[c.geom[1]]
                if b1 != 0 and b2 != 0 and c.dist < -collision_depth:
                    coll[t] = True
                    break
    return TrajectoryKinematics(kp, sole, coll)
