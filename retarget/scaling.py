"""Per-segment scaling of human key points to the G1's proportions.

The human's proportions are measured as median bone lengths over the clip (thigh, shank, foot,
trunk, head, upper arm, forearm: :data:`retarget.mapping.LIMB_SEGMENTS`); the G1's come from
forward kinematics of the mapped points at the zero joint configuration (upright). Targets are
built along the chain from the pelvis, never with one global factor:

* pelvis point: the human pelvis position times the leg-length ratio ``s_root = L_leg(G1) /
  L_leg(human)`` (leg = thigh + shank), so step lengths and speeds fit the robot's legs;
* limb segment child = scaled parent + ``L_seg(G1) / L_seg(human)`` * (human child - human
  parent), i.e. the human's bone direction with the G1's bone length (median ratio);
* rigid groups use the G1's own offsets in a frame estimated from the human: hips from the pelvis
  point in the pelvis frame, shoulders from the neck point in the torso frame, toes from the
  ankle point in the foot frame (so the toe target always fits the G1's foot);
* wrists keep a lateral clearance from the pelvis mid-plane (pelvis frame |y| >=
  ``arm_clearance_m``), since the G1's hips are wider than a human's and a hanging hand would
  otherwise hit the hip links.

Orientation targets (world frame, (w, x, y, z)) are derived from joint *positions*, since the
human's global rotations are relative to each source skeleton's rest pose:

* pelvis: y axis along the hip line (right -> left hip), z axis world up (orthogonalised), so
  heading and roll follow the human, pitch stays level;
* torso (``chest`` entry): y along the shoulder line, z along spine -> neck (trunk lean);
* feet (ankle entries): with human rotations, the ankle joint's global rotation times a constant
  per-clip calibration that makes the foot level and aligned with the pelvis heading on average
  over flat-foot frames (both ankle and toe near their lowest): this is independent of the
  source skeleton's rest pose and of where its "toe" sits (the Daz toe end site is mostly below
  the ankle). Without rotations: heading of ankle -> toe, pitch = the ankle -> toe pitch minus
  its flat-foot value, roll 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from mocap import quat
from retarget.mapping import G1_MAPPING, LIMB_SEGMENTS, KeyPoint

#: A bone shorter than this (m, median over the clip) cannot be scaled.
MIN_SEGMENT_M = 1e-3
#: Frames whose ankle and toe are within this height (m) of their lowest define the flat foot.
FLAT_FOOT_BAND_M = 0.02
#: Default lateral clearance (m) of the wrist targets from the pelvis mid-plane.
ARM_CLEARANCE_M = 0.22


class ScalingError(ValueError):
    """The human's proportions cannot be measured (a degenerate bone)."""


@dataclass(frozen=True)
class Scaling:
    """How one clip's human key points map to the G1 (all lengths in metres).

    names: human joint names of the mapping entries [K] (mapping order).
    segment_ratio: (child, parent) -> G1 length / human median length.
    root_scale: leg-length ratio applied to the pelvis translation.
    hip_offsets_pelvis: (left, right) hip point minus pelvis point, pelvis frame [2, 3].
    shoulder_offsets_torso: (left, right) shoulder point minus neck point, torso frame [2, 3].
    toe_offsets_foot: (left, right) toe point minus ankle point, foot (ankle-roll) frame [2, 3].
    foot_calibration: (left, right) constant rotation (w, x, y, z) applied after the human ankle
        rotation, or None when the clip has no rotations [2, 4].
    human_lengths / g1_lengths: (child, parent) -> median length, for reports.
    foot_flat_pitch: (left, right) human ankle -> toe pitch (rad, toe down > 0) of a flat foot.
    """

    names: tuple[str, ...]
    segment_ratio: dict[tuple[str, str], float]
    root_scale: float
    hip_offsets_pelvis: np.ndarray
    shoulder_offsets_torso: np.ndarray
    toe_offsets_foot: np.ndarray
    foot_calibration: np.ndarray | None
    human_lengths: dict[tuple[str, str], float]
    g1_lengths: dict[tuple[str, str], float]
    foot_flat_pitch: tuple[float, float]

    def summary(self) -> dict[str, float]:
        """Plain numbers for the retarget report: root scale and per-segment ratios."""
        out = {"root_scale": float(self.root_scale)}
        for (child, parent), r in self.segment_ratio.items():
            out[f"{parent}->{child}"] = float(r)
        return out


def g1_reference_points(
    model: mujoco.MjModel, mapping: tuple[KeyPoint, ...] = G1_MAPPING
) -> tuple[np.ndarray, np.ndarray]:
    """World positions of the mapped points [K, 3] and body rotations [K, 3, 3] at qpos0.

    qpos0 is the model's zero configuration: all joint angles 0, pelvis upright at the height the
    MJCF gives it; only relative positions matter here.
    """
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    pos = np.empty((len(mapping), 3))
    rot = np.empty((len(mapping), 3, 3))
    for k, kp in enumerate(mapping):
        b = model.body(kp.body).id
        R = data.xmat[b].reshape(3, 3)
        pos[k] = data.xpos[b] + R @ np.asarray(kp.offset_b)
        rot[k] = R
    return pos, rot


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def frame_from_axes(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] with y along ``y`` and z the part of ``z`` orthogonal to it."""
    y = _normalize(y)
    z = _normalize(z - np.sum(z * y, axis=-1, keepdims=True) * y)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


def pelvis_frames(pos: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Pelvis frames [T, 3, 3] from the hip line, level (z = world up)."""
    lh, rh = pos[:, names.index("left_hip")], pos[:, names.index("right_hip")]
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), lh.shape)
    return frame_from_axes(lh - rh, up)


def torso_frames(pos: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Torso frames [T, 3, 3] from the shoulder line and the spine -> neck direction."""
    ls, rs = pos[:, names.index("left_shoulder")], pos[:, names.index("right_shoulder")]
    up = pos[:, names.index("neck")] - pos[:, names.index("spine")]
    return frame_from_axes(ls - rs, up)


def foot_pitch(ankle: np.ndarray, toe: np.ndarray) -> np.ndarray:
    """Pitch (rad, toe down > 0) of the ankle -> toe direction [T]."""
    d = toe - ankle
    return np.arctan2(-d[:, 2], np.linalg.norm(d[:, :2], axis=-1))


def flat_frames(ankle: np.ndarray, toe: np.ndarray) -> np.ndarray:
    """Frames [T] bool where the foot is flat on the ground: ankle and toe both near their lowest
    (within FLAT_FOOT_BAND_M of their 5th-percentile height); all frames if there are none."""
    low = (ankle[:, 2] < np.percentile(ankle[:, 2], 5) + FLAT_FOOT_BAND_M) & (
        toe[:, 2] < np.percentile(toe[:, 2], 5) + FLAT_FOOT_BAND_M
    )
    return low if low.any() else np.ones_like(low)


def flat_foot_pitch(ankle: np.ndarray, toe: np.ndarray) -> float:
    """Ankle -> toe pitch (rad) of a flat foot: median over :func:`flat_frames`."""
    return float(np.median(foot_pitch(ankle, toe)[flat_frames(ankle, toe)]))


def foot_calibration(foot_rot: np.ndarray, level: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Constant rotation ``c`` (w, x, y, z) with ``foot_rot[t] * c ~ level[t]`` on flat frames.

    ``foot_rot`` [T, 4]: the human ankle joint's global rotation; ``level`` [T, 4]: the wanted
    foot orientation (level, pelvis heading); ``flat`` [T] bool: frames to average over. The
    average is the normalised sign-aligned mean of ``foot_rot^-1 * level``.
    """
    c = quat.mul(quat.conj(foot_rot[flat]), level[flat])
    c = np.where((c @ c[0])[:, None] < 0.0, -c, c)
    return quat.normalize(c.mean(axis=0))


def fit_scaling(
    positions: np.ndarray,
    joint_names: tuple[str, ...],
    model: mujoco.MjModel,
    mapping: tuple[KeyPoint, ...] = G1_MAPPING,
    rotations: np.ndarray | None = None,
) -> Scaling:
    """Measure the human's proportions over a clip and compare them with the G1's.

    Args:
        positions: human joint positions [T, J, 3] (m, world, Z up).
        joint_names: names of the J joints (must include every mapped human joint).
        model: the robot model (names as the official G1).
        mapping: the correspondence table.
        rotations: human global joint rotations [T, J, 4] (w, x, y, z) or None; used only to
            calibrate the foot orientation.
    """
    names = tuple(kp.human for kp in mapping)
    hum = np.stack([positions[:, joint_names.index(n)] for n in names], axis=1)  # [T, K, 3]
    ref, ref_rot = g1_reference_points(model, mapping)
    human_len: dict[tuple[str, str], float] = {}
    g1_len: dict[tuple[str, str], float] = {}
    ratio: dict[tuple[str, str], float] = {}
    for child, parent in LIMB_SEGMENTS:
        c, p = names.index(child), names.index(parent)
        h = float(np.median(np.linalg.norm(hum[:, c] - hum[:, p], axis=-1)))
        g = float(np.linalg.norm(ref[c] - ref[p]))
        if h < MIN_SEGMENT_M:
            raise ScalingError(f"human segment {parent}->{child} has zero length ({h:.2e} m)")
        human_len[(child, parent)], g1_len[(child, parent)] = h, g
        ratio[(child, parent)] = g / h
    leg_h = np.mean([human_len[("left_knee", "left_hip")] + human_len[("left_ankle", "left_knee")],
                     human_len[("right_knee", "right_hip")] + human_len[("right_ankle", "right_knee")]])
    leg_g = np.mean([g1_len[("left_knee", "left_hip")] + g1_len[("left_ankle", "left_knee")],
                     g1_len[("right_knee", "right_hip")] + g1_len[("right_ankle", "right_knee")]])
    pel = names.index("pelvis")
    R_pel = ref_rot[pel]
    hips = np.stack([R_pel.T @ (ref[names.index(h)] - ref[pel]) for h in ("left_hip", "right_hip")])
    neck = names.index("neck")
    R_tor = ref_rot[names.index("chest")]
    shoulders = np.stack(
        [R_tor.T @ (ref[names.index(s)] - ref[neck]) for s in ("left_shoulder", "right_shoulder")]
    )
    toes = np.stack([
        ref_rot[names.index(f"{s}_ankle")].T
        @ (ref[names.index(f"{s}_toe")] - ref[names.index(f"{s}_ankle")])
        for s in ("left", "right")
    ])
    flat = tuple(
        flat_foot_pitch(hum[:, names.index(f"{s}_ankle")], hum[:, names.index(f"{s}_toe")])
        for s in ("left", "right")
    )
    calib = None
    if rotations is not None:
        heading = pelvis_frames(hum, names)[:, :, 0]  # pelvis x axis [T, 3]
        yaw = np.arctan2(heading[:, 1], heading[:, 0])
        level = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), yaw)  # [T, 4]
        calib = np.stack([
            foot_calibration(
                rotations[:, joint_names.index(f"{s}_ankle")], level,
                flat_frames(hum[:, names.index(f"{s}_ankle")], hum[:, names.index(f"{s}_toe")]),
            )
            for s in ("left", "right")
        ])
    return Scaling(
        names=names,
        segment_ratio=ratio,
        root_scale=float(leg_g / leg_h),
        hip_offsets_pelvis=hips,
        shoulder_offsets_torso=shoulders,
        toe_offsets_foot=toes,
        foot_calibration=calib,
        human_lengths=human_len,
        g1_lengths=g1_len,
        foot_flat_pitch=(flat[0], flat[1]),
    )


def scale_motion(
    positions: np.ndarray,
    joint_names: tuple[str, ...],
    scaling: Scaling,
    mapping: tuple[KeyPoint, ...] = G1_MAPPING,
    rotations: np.ndarray | None = None,
    arm_clearance_m: float = ARM_CLEARANCE_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled key-point targets for the G1.

    Args:
        positions: human joint positions [T, J, 3] (m, world, Z up).
        joint_names: names of the J joints.
        scaling: from :func:`fit_scaling` (same mapping).
        rotations: human global rotations [T, J, 4] or None (feet then use positions only).
        arm_clearance_m: lateral clearance of the wrists from the pelvis mid-plane (0: off).

    Returns:
        ``(target_pos [T, K, 3] m world, target_quat [T, K, 4] (w, x, y, z) world)`` in mapping
        order; ``target_quat`` rows are NaN for entries without an orientation target.
    """
    names = scaling.names
    hum = np.stack([positions[:, joint_names.index(n)] for n in names], axis=1)  # [T, K, 3]
    T = hum.shape[0]
    out = np.full_like(hum, np.nan)
    idx = {n: i for i, n in enumerate(names)}
    out[:, idx["pelvis"]] = hum[:, idx["pelvis"]] * scaling.root_scale
    R_pel = pelvis_frames(hum, names)  # [T, 3, 3]
    for side, off in zip(("left_hip", "right_hip"), scaling.hip_offsets_pelvis, strict=True):
        out[:, idx[side]] = out[:, idx["pelvis"]] + R_pel @ off
    # Limb segments in chain order (LIMB_SEGMENTS lists parents before children except the arms,
    # whose shoulders are placed after the neck below).
    pending = list(LIMB_SEGMENTS)
    placed_shoulders = False
    while pending:
        progressed = False
        for seg in list(pending):
            child, parent = seg
            if np.isnan(out[0, idx[parent], 0]):
                continue
            r = scaling.segment_ratio[seg]
            out[:, idx[child]] = out[:, idx[parent]] + r * (hum[:, idx[child]] - hum[:, idx[parent]])
            pending.remove(seg)
            progressed = True
        if not placed_shoulders and not np.isnan(out[0, idx["neck"], 0]):
            R_tor = torso_frames(hum, names)
            for side, off in zip(("left_shoulder", "right_shoulder"),
                                 scaling.shoulder_offsets_torso, strict=True):
                out[:, idx[side]] = out[:, idx["neck"]] + R_tor @ off
            placed_shoulders = True
            progressed = True
        if not progressed:
            raise ScalingError(f"segments {pending} are not connected to the pelvis")

    quats = np.full((T, len(names), 4), np.nan)
    ori = {kp.human for kp in mapping if kp.orientation_weight > 0}
    quats[:, idx["pelvis"]] = quat.from_matrix(R_pel)
    quats[:, idx["chest"]] = quat.from_matrix(torso_frames(hum, names))
    for i, s in enumerate(("left", "right")):
        a = f"{s}_ankle"
        if rotations is not None and scaling.foot_calibration is not None:
            q = quat.mul(rotations[:, joint_names.index(a)], scaling.foot_calibration[i])
        else:
            ankle, toe = hum[:, idx[a]], hum[:, idx[f"{s}_toe"]]
            d = toe - ankle
            heading = np.arctan2(d[:, 1], d[:, 0])
            pitch = foot_pitch(ankle, toe) - scaling.foot_flat_pitch[i]
            q = quat.mul(
                quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), heading),
                quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), pitch),
            )
        quats[:, idx[a]] = q
        out[:, idx[f"{s}_toe"]] = out[:, idx[a]] + quat.rotate(q, scaling.toe_offsets_foot[i])
        if arm_clearance_m > 0:
            w = idx[f"{s}_wrist"]
            sign = 1.0 if s == "left" else -1.0
            local = np.einsum("tji,tj->ti", R_pel, out[:, w] - out[:, idx["pelvis"]])
            local[:, 1] = sign * np.maximum(sign * local[:, 1], arm_clearance_m)
            out[:, w] = out[:, idx["pelvis"]] + np.einsum("tij,tj->ti", R_pel, local)
    for kp in mapping:
        if kp.human not in ori:
            quats[:, idx[kp.human]] = np.nan
    return out, quat.make_continuous(quats, axis=0) if T else quats
