"""Quality metrics against hand-made cases, gates, self-collisions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retarget.quality import (
    QualityGates,
    airborne_fraction,
    apply_gates,
    describe_failures,
    foot_skating,
    joint_limit_violations,
    keypoint_error,
    penetration,
    root_speed,
    trajectory_kinematics,
    velocity_limit_violations,
)
from retarget.robot import load_robot


def test_keypoint_error():
    a = np.zeros((2, 2, 3))
    b = a.copy()
    b[1, 0] = [0.03, 0.04, 0.0]  # 5 cm
    mean, mx, per_frame = keypoint_error(a, b)
    assert mean == pytest.approx(0.0125) and mx == pytest.approx(0.05)
    assert per_frame.tolist() == pytest.approx([0.0, 0.05])


def test_foot_skating_counts_only_in_contact_steps():
    T = 10
    p = np.zeros((T, 1, 3))
    p[:, 0, 0] = np.arange(T) * 0.01  # 0.5 m/s at 50 fps
    contact = np.zeros((T, 1), dtype=bool)
    assert foot_skating(p, contact, 50.0) == (0.0, 0.0)
    contact[2:6] = True
    mean, p95 = foot_skating(p, contact, 50.0)
    assert mean == pytest.approx(0.5) and p95 == pytest.approx(0.5)
    p[:, 0, 2] = np.arange(T)  # vertical motion is not skating
    p[:, 0, 0] = 0.0
    assert foot_skating(p, contact, 50.0)[0] == 0.0


def test_penetration_limits_airborne_root():
    assert penetration(np.array([[0.01, -0.004], [0.0, 0.02]])) == pytest.approx(0.004)
    assert penetration(np.array([[0.01]])) == 0.0
    # non-flat ground: against the stance-height envelope under each sole point
    sole = np.array([[0.31, 0.0], [0.295, 0.02]])
    ground = np.array([[0.3, 0.0], [0.3, 0.0]])
    assert penetration(sole, ground) == pytest.approx(0.005)
    assert penetration(sole) == 0.0
    limits = np.array([[-1.0, 1.0], [0.0, 2.0]])
    dof = np.array([[0.0, 0.5], [1.2, -0.1], [0.5, 2.0005]])
    count, excess = joint_limit_violations(dof, limits)
    assert count == 2 and excess == pytest.approx(0.2)
    vel = np.array([1.0, 10.0])
    dof = np.array([[0.0, 0.0], [0.03, 0.1], [0.03, 0.1]])  # 1.5 rad/s on joint 0 at 50 fps
    n, frac, ratio = velocity_limit_violations(dof, vel, 50.0)
    assert n == 1 and frac == pytest.approx(0.5) and ratio == pytest.approx(1.5)
    c = np.array([[True, False], [False, False], [False, True], [False, False]])
    assert airborne_fraction(c) == 0.5
    root = np.array([[0.0, 0.0, 0.8], [0.02, 0.0, 0.8], [2.42, 0.0, 0.8]])
    mean, mx = root_speed(root, 50.0)
    assert mx == pytest.approx(120.0) and mean == pytest.approx(60.5)


def _good_metrics() -> dict:
    return {
        "keypoint_error_mean_m": 0.02, "keypoint_error_max_m": 0.08, "foot_skating_mps": 0.01,
        "penetration_max_m": 0.0, "joint_limit_violations": 0, "velocity_violation_fraction": 0.0,
        "self_collision_fraction": 0.0, "ik_failure_fraction": 0.0, "airborne_fraction": 0.1,
        "root_speed_max_mps": 2.0, "root_height_median_m": 0.75,
    }  # fmt: skip


def test_apply_gates():
    gates = QualityGates()
    assert apply_gates(_good_metrics(), gates) == ("accepted", [])
    teleport = {**_good_metrics(), "root_speed_max_mps": 120.0, "root_height_median_m": -0.1}
    status, failed = apply_gates(teleport, gates)
    assert status == "rejected"
    assert failed == ["max_root_speed_mps", "min_root_height_median_m"]
    assert "120.0 > 6.0" in describe_failures(teleport, gates, failed)
    broken = {**_good_metrics(), "foot_skating_mps": math.nan}
    del broken["penetration_max_m"]
    assert apply_gates(broken, gates)[1] == ["max_foot_skating_mps", "max_penetration_m"]


def test_self_collisions_detected_on_builtin_model():
    robot = load_robot(None)
    model = robot.model
    q_ok = robot.default_qpos()
    q_bad = q_ok.copy()
    # left arm swung across the body: shoulder roll inward, elbow bent, so the hand meets torso/hip
    names = list(robot.dof_names)
    q_bad[robot.qpos_adr[names.index("left_shoulder_roll_joint")]] = -1.5
    q_bad[robot.qpos_adr[names.index("left_shoulder_pitch_joint")]] = 0.3
    kin = trajectory_kinematics(model, np.stack([q_ok, q_bad]), np.array([1]), np.zeros((1, 3)),
                                np.array([robot.foot_body_ids[0]]), np.zeros((1, 3)),
                                collision_depth=0.0)
    assert kin.self_collision.tolist() == [False, True]
    assert kin.keypoints.shape == (2, 1, 3) and kin.sole_points.shape == (2, 1, 3)
