"""Retarget one ingested clip onto the G1: ``python -m retarget.solve``.

Steps (:func:`retarget_motion`): resample the human motion to the output rate (only output
frames are solved); zero-phase Savitzky-Golay smoothing of the joint positions; per-segment
scaling to the G1 (:mod:`retarget.scaling`); vertical alignment so flat stance feet stand on the
ground (one offset for the whole clip: the root height stays consistent); the local ground (z = 0
on flat clips; on non-flat ones such as stairs the stance-height envelope, with z = 0 at the
lowest support the clip starts on), contact detection against it and rigid-foot pinning of heel,
toe and foot orientation (:mod:`retarget.contacts`); IK (:mod:`retarget.ik`); lifting the root
where a solved sole point would go below its foot's ground (smooth upper envelope); quality
metrics and gates (:mod:`retarget.quality`: penetration and root height are measured against the
same local ground).

Outputs, both atomic: ``--out-npz`` (:mod:`retarget.clip`) and ``--out-json``: status, reason,
failed gates, source sha256, metrics, scaling, settings, timing. A clip whose ingestion was
rejected stays rejected (``reason: "ingestion: ..."``); bad input (a
:class:`~mocap.types.ClipError`) is rejected with its reason; both exit 0. Anything else is a bug
and fails loudly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mocap.configs import ConfigError, parse_json_arg, to_dict
from mocap.fileio import write_json
from mocap.types import ClipError, HumanMotion
from retarget.clip import RetargetedClip, save_clip, save_rejected
from retarget.contacts import (
    ContactConfig,
    clamp_above,
    detect_contacts,
    ground_levels,
    pin_foot,
    support_envelope,
)
from retarget.ik import IKConfig, SequenceIK
from retarget.mapping import FOOT_POINTS, G1_MAPPING, KeyPoint, check_mapping
from retarget.quality import (
    QualityGates,
    airborne_fraction,
    apply_gates,
    describe_failures,
    foot_skating,
    geom_lowest_points_local,
    joint_limit_violations,
    keypoint_error,
    penetration,
    root_speed,
    trajectory_kinematics,
    velocity_limit_violations,
)
from retarget.scaling import ARM_CLEARANCE_M, FLAT_FOOT_BAND_M, fit_scaling, scale_motion
from retarget.smoothing import odd_window, savgol, upper_envelope

log = logging.getLogger("retarget.solve")


@dataclass(frozen=True)
class RetargetConfig:
    """Settings of retargeting (the ``retarget:`` config section)."""

    fps: float = 50.0
    """Output frame rate (Hz); the human motion is resampled to it before solving."""
    ik: IKConfig = field(default_factory=IKConfig)
    """IK schedule, posture weight, damping, solver, velocity-limit scale."""
    weights: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Human joint -> (position weight, orientation weight), overriding the mapping table."""
    arm_clearance_m: float = ARM_CLEARANCE_M
    """Lateral clearance (m) of the wrist targets from the pelvis mid-plane (hands clear hips)."""
    contacts: ContactConfig = field(default_factory=ContactConfig)
    """Foot contact detection thresholds (height/speed hysteresis)."""
    pin_contacts: bool = True
    """Hold heel/toe targets still during detected contacts."""
    contact_weight_scale: float = 5.0
    """Multiplier of a heel/toe position weight while that point is in contact."""
    smoothing_window_s: float = 0.1
    """Savitzky-Golay window (s) on the human joint positions (0: off)."""
    smoothing_order: int = 3
    """Savitzky-Golay polynomial order."""
    lift_window_s: float = 0.1
    """Window (s) of the smooth envelope of the root lift that removes ground penetration."""
    ground_clearance_m: float = 0.0
    """Lowest allowed sole height after the lift (m)."""
    ik_error_threshold_m: float = 0.15
    """A frame whose worst key point is farther than this counts as an IK failure."""
    self_collision_depth_m: float = 0.005
    """Robot-robot contacts shallower than this are not counted as self-collisions."""
    gates: QualityGates = field(default_factory=QualityGates)
    """Quality thresholds; a clip failing one is rejected."""


@dataclass
class RetargetResult:
    """Everything :func:`retarget_motion` produces for one clip."""

    clip: RetargetedClip
    metrics: dict[str, Any]
    scaling: dict[str, float]
    targets: np.ndarray  # [T, K, 3] cleaned key-point targets (m, world)
    keypoints: np.ndarray  # [T, K, 3] solved key points
    contacts: np.ndarray  # [T, 4] bool: left heel, left toe, right heel, right toe
    timing: dict[str, float]


def build_mapping(weights: dict[str, tuple[float, float]]) -> tuple[KeyPoint, ...]:
    """The mapping table with weight overrides (unknown joint names raise ConfigError)."""
    unknown = sorted(set(weights) - {kp.human for kp in G1_MAPPING})
    if unknown:
        raise ConfigError(f"retarget.weights: unknown human joint(s) {unknown}")
    return tuple(
        replace(kp, position_weight=float(weights[kp.human][0]),
                orientation_weight=float(weights[kp.human][1]))
        if kp.human in weights else kp
        for kp in G1_MAPPING
    )


def _resample(motion: HumanMotion, fps: float) -> HumanMotion:
    from mocap.resample import resample

    return resample(motion, fps)


def _foot_sole_model(robot) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """Sole points (body ids [P], body-frame offsets [P, 3], foot index [P]: 0 left, 1 right)
    and each foot body's sole depth."""
    model = robot.model
    bodies, offsets, foot, depth = [], [], [], {}
    for f, (body_id, geoms) in enumerate(zip(robot.foot_body_ids, robot.foot_geom_ids,
                                             strict=True)):
        low = geom_lowest_points_local(model, list(geoms))
        bodies += [int(body_id)] * len(low)
        foot += [f] * len(low)
        offsets.append(low)
        depth[model.body(int(body_id)).name] = float(-low[:, 2].min())
    return np.array(bodies), np.concatenate(offsets), np.array(foot), depth


def retarget_motion(
    motion: HumanMotion, robot, cfg: RetargetConfig, name: str = "clip"
) -> RetargetResult:
    """Retarget a human motion onto the robot; raises ClipError for unusable input."""
    t_start = time.perf_counter()
    mapping = build_mapping(cfg.weights)
    model = robot.model
    check_mapping({model.body(i).name for i in range(model.nbody)}, mapping)
    missing = [kp.human for kp in mapping if kp.human not in motion.joint_names]
    if missing:
        raise ClipError(f"{name}: human motion lacks joints {missing}")
    if not np.all(np.isfinite(motion.positions)):
        raise ClipError(f"{name}: joint positions contain NaN or inf")
    if abs(motion.fps - cfg.fps) > 1e-9:
        motion = _resample(motion, cfg.fps)
    T = motion.num_frames
    if T < 2:
        raise ClipError(f"{name}: only {T} frame(s) at {cfg.fps} fps; too short to retarget")
    fps = float(cfg.fps)
    window = odd_window(cfg.smoothing_window_s, fps, T, min_frames=cfg.smoothing_order + 2)
    human = savgol(motion.positions, window, cfg.smoothing_order)

    scaling = fit_scaling(human, motion.joint_names, model, mapping, motion.rotations)
    targets, target_quat = scale_motion(human, motion.joint_names, scaling, mapping,
                                        motion.rotations, cfg.arm_clearance_m)
    idx = {kp.human: k for k, kp in enumerate(mapping)}

    # Ground: each foot point's height when the foot stands flat on z = 0.
    sole_bodies, sole_offsets, sole_foot, sole_depth = _foot_sole_model(robot)
    foot_pts = [p for side in ("left", "right") for p in FOOT_POINTS[side]]  # heel, toe, heel, toe
    flat_h = np.array([mapping[idx[p]].offset_b[2] + sole_depth[mapping[idx[p]].body]
                       for p in foot_pts])
    # One vertical offset for the whole clip: flat stance ankles at their flat height.
    offsets = []
    for side in ("left", "right"):
        a, t_ = targets[:, idx[f"{side}_ankle"]], targets[:, idx[f"{side}_toe"]]
        low = (a[:, 2] < np.percentile(a[:, 2], 5) + FLAT_FOOT_BAND_M) & (
            t_[:, 2] < np.percentile(t_[:, 2], 5) + FLAT_FOOT_BAND_M)
        offsets.append(flat_h[foot_pts.index(f"{side}_ankle")] - np.median(a[low, 2]))
    dz = float(np.mean(offsets))
    targets[..., 2] += dz

    pts = np.stack([targets[:, idx[p]] for p in foot_pts], axis=1)  # [T, 4, 3]
    # Local ground: z = 0 on flat clips, else the stance-height envelope (contacts module doc);
    # on non-flat ground z = 0 is moved to the lowest support the clip starts on.
    ground, flat = ground_levels(pts, flat_h, fps, cfg.contacts)
    if not flat:
        start = float(ground[0].min())
        targets[..., 2] -= start
        pts[..., 2] -= start
        ground -= start
        dz -= start
    contacts = detect_contacts(pts, flat_h, fps, cfg.contacts, ground=ground)
    support = np.stack([support_envelope(ground[:, 2 * f : 2 * f + 2],
                                         contacts[:, 2 * f : 2 * f + 2]) for f in range(2)],
                       axis=1)  # [T, 2] ground under each foot (m)
    for i, side in enumerate(("left", "right")):
        ka, kt = idx[f"{side}_ankle"], idx[f"{side}_toe"]
        j = foot_pts.index(f"{side}_ankle")
        if cfg.pin_contacts:
            targets[:, ka], targets[:, kt], target_quat[:, ka] = pin_foot(
                targets[:, ka], target_quat[:, ka], contacts[:, j], contacts[:, j + 1],
                scaling.toe_offsets_foot[i], support[:, i] + flat_h[j],
                support[:, i] + flat_h[j + 1], cfg.contacts.blend_frames)
        targets[:, ka] = clamp_above(targets[:, ka], support[:, i] + flat_h[j])
        targets[:, kt] = clamp_above(targets[:, kt], support[:, i] + flat_h[j + 1])
    t_prep = time.perf_counter()

    ik = SequenceIK(robot, mapping, cfg.ik)
    weight_scale = np.ones(targets.shape[:2])
    for j, p in enumerate(foot_pts):
        weight_scale[contacts[:, j], idx[p]] = cfg.contact_weight_scale
    res = ik.solve(targets, target_quat, fps, weight_scale=weight_scale)
    t_ik = time.perf_counter()

    qpos = res.qpos
    pos_mask = np.array([kp.position_weight > 0 for kp in mapping])
    kin = trajectory_kinematics(
        model, qpos,
        np.array([model.body(kp.body).id for kp in mapping]),
        np.array([kp.offset_b for kp in mapping], dtype=np.float64),
        sole_bodies, sole_offsets, cfg.self_collision_depth_m,
    )  # fmt: skip
    # Lift the root where a sole point would be below its foot's ground (smoothly, never less).
    sole_ground = support[:, sole_foot]  # [T, P] ground under each sole point
    need = np.maximum(0.0, (cfg.ground_clearance_m + sole_ground
                            - kin.sole_points[..., 2]).max(axis=1))
    lift = upper_envelope(need, odd_window(cfg.lift_window_s, fps, T)) if need.any() else need
    adr = robot.root_qpos_adr
    qpos[:, adr + 2] += lift
    kin.keypoints[..., 2] += lift[:, None]
    kin.sole_points[..., 2] += lift[:, None]

    root_pos = qpos[:, adr : adr + 3]
    root_quat = qpos[:, adr + 3 : adr + 7]
    dof_pos = qpos[:, robot.qpos_adr]
    kp_mean, kp_max, kp_frame_max = keypoint_error(kin.keypoints[:, pos_mask],
                                                   targets[:, pos_mask])
    per_kp = np.linalg.norm(kin.keypoints - targets, axis=-1).mean(axis=0)
    solved_pts = np.stack([kin.keypoints[:, idx[p]] for p in foot_pts], axis=1)
    skate_mean, skate_p95 = foot_skating(solved_pts, contacts, fps)
    jl_count, jl_max = joint_limit_violations(dof_pos, np.asarray(robot.joint_limits))
    vl_count, vl_frac, vl_ratio = velocity_limit_violations(
        dof_pos, np.asarray(robot.vel_limits), fps)
    ik_fail = (res.qp_failures > 0) | (kp_frame_max > cfg.ik_error_threshold_m)
    speed_mean, speed_max = root_speed(root_pos, fps)
    metrics: dict[str, Any] = {
        "frames": int(T),
        "fps": fps,
        "duration_s": float((T - 1) / fps),
        "keypoint_error_mean_m": kp_mean,
        "keypoint_error_max_m": kp_max,
        "keypoint_error_per_joint_m": {kp.human: float(e) for kp, e, m in
                                       zip(mapping, per_kp, pos_mask, strict=True) if m},
        "foot_skating_mps": skate_mean,
        "foot_skating_p95_mps": skate_p95,
        "penetration_max_m": penetration(kin.sole_points[..., 2], sole_ground),
        "root_lift_max_m": float(lift.max()),
        "joint_limit_violations": jl_count,
        "joint_limit_max_excess_rad": jl_max,
        "velocity_limit_violations": vl_count,
        "velocity_violation_fraction": vl_frac,
        "velocity_max_ratio": vl_ratio,
        "self_collision_frames": int(kin.self_collision.sum()),
        "self_collision_fraction": float(kin.self_collision.mean()),
        "ik_failures": int(ik_fail.sum()),
        "ik_failure_fraction": float(ik_fail.mean()),
        "ik_first_frame_iterations": int(res.first_frame_iterations),
        "contact_fraction": {p: float(contacts[:, j].mean()) for j, p in enumerate(foot_pts)},
        "airborne_fraction": airborne_fraction(contacts),
        "root_speed_mean_mps": speed_mean,
        "root_speed_max_mps": speed_max,
        "root_height_median_m": float(np.median(root_pos[:, 2] - support.min(axis=1))),
        "ground_offset_m": dz,
        "ground_flat": bool(flat),
        "support_height_range_m": float(support.max() - support.min()),
    }
    t_end = time.perf_counter()
    clip = RetargetedClip(fps=fps, root_pos=root_pos, root_quat=root_quat, dof_pos=dof_pos,
                          dof_names=tuple(robot.dof_names))
    timing = {
        "prepare_s": t_prep - t_start,
        "ik_s": t_ik - t_prep,
        "metrics_s": t_end - t_ik,
        "total_s": t_end - t_start,
        "frames_per_s": T / max(t_end - t_start, 1e-9),
    }
    return RetargetResult(clip, metrics, scaling.summary(), targets, kin.keypoints, contacts,
                          timing)


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _known_speed(summary: dict[str, Any]) -> float | None:
    """Ground-truth walking speed (m/s) from a demo clip's sidecar, if any."""
    side = summary.get("sidecar") or {}
    for key in ("speed_mps", "speed", "speed_m_s"):
        if isinstance(side.get(key), (int, float)):
            return float(side[key])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retarget.solve",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, type=Path, help="results/mocap/{clip}.npz")
    parser.add_argument("--summary", required=True, type=Path, help="results/mocap/{clip}.json")
    parser.add_argument("--out-npz", required=True, type=Path)
    parser.add_argument("--out-json", required=True, type=Path)
    parser.add_argument("--out-png", type=Path, default=None, help="preview plot (optional)")
    parser.add_argument("--config", default="{}", help="RetargetConfig as JSON")
    parser.add_argument("--mjcf", default=None, help="robot MJCF (default: the built-in G1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = parse_json_arg(RetargetConfig, args.config, "retarget")
        build_mapping(cfg.weights)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = json.loads(args.summary.read_text())
    clip_id = str(summary.get("clip", args.input.stem))
    report: dict[str, Any] = {
        "clip": clip_id,
        "source": summary.get("source"),
        "source_sha256": summary.get("sha256"),
        "synthetic": bool(summary.get("synthetic", False)),
        "settings": to_dict(cfg),
        "robot": {"mjcf": args.mjcf},
        "failed_gates": [],
        "metrics": {},
    }

    def reject(reason: str) -> int:
        log.warning("%s rejected: %s", clip_id, reason)
        report.update(status="rejected", reason=reason)
        save_rejected(args.out_npz, reason)
        write_json(args.out_json, _finite(report))
        if args.out_png is not None:
            from retarget.preview import plot_rejected

            plot_rejected(args.out_png, clip_id, reason)
        return 0

    if summary.get("status") != "accepted":
        return reject(f"ingestion: {summary.get('reason') or 'rejected'}")
    from retarget.robot import load_robot

    robot = load_robot(args.mjcf)
    report["robot"]["source"] = str(robot.source)
    try:
        motion = HumanMotion.load(args.input)
        log.info("%s: %d frames at %g fps -> %g fps", clip_id, motion.num_frames, motion.fps,
                 cfg.fps)
        result = retarget_motion(motion, robot, cfg, clip_id)
    except ClipError as e:
        return reject(str(e))

    status, failed = apply_gates(result.metrics, cfg.gates)
    reason = describe_failures(result.metrics, cfg.gates, failed) if failed else None
    result.clip.status, result.clip.reason = status, reason or ""
    known = _known_speed(summary)
    if known is not None:
        scale = result.scaling["root_scale"]
        result.metrics["known_speed_mps"] = known
        result.metrics["known_speed_scaled_mps"] = known * scale
        result.metrics["root_speed_error_rel"] = (
            result.metrics["root_speed_mean_mps"] / (known * scale) - 1.0 if known > 0 else None)
    report.update(status=status, reason=reason, failed_gates=failed, metrics=result.metrics,
                  scaling=result.scaling, timing=result.timing)
    save_clip(args.out_npz, result.clip)
    write_json(args.out_json, _finite(report))
    if args.out_png is not None:
        from retarget.preview import plot_clip

        plot_clip(args.out_png, result.clip, result.contacts, title=f"{clip_id} ({status})")
    m = result.metrics
    log.info(
        "%s %s: %d frames, %.0f frames/s, key-point error %.3f m (max %.3f), skating %.3f m/s, "
        "penetration %.3f m%s", clip_id, status, m["frames"], result.timing["frames_per_s"],
        m["keypoint_error_mean_m"], m["keypoint_error_max_m"], m["foot_skating_mps"],
        m["penetration_max_m"], f"; {reason}" if reason else "",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
