"""IK: Jacobian against finite differences, retargeting round trip, velocity limits."""

from __future__ import annotations

import mink
import mujoco
import numpy as np
import pytest

from mocap import quat
from retarget.ik import IKConfig, KeyPointTask, SequenceIK, keypoint_positions
from retarget.mapping import G1_MAPPING
from retarget.robot import load_robot


@pytest.fixture(scope="module")
def robot():
    return load_robot(None)


def _random_motion(robot, rng: np.random.Generator, T: int = 60) -> np.ndarray:
    """Smooth random G1 motion within the joint limits: qpos [T, nq]."""
    lo, hi = robot.joint_limits[:, 0] + 0.05, robot.joint_limits[:, 1] - 0.05
    amp = rng.uniform(0.1, 0.35, 29)
    phase = rng.uniform(0, 2 * np.pi, 29)
    qs = np.empty((T, robot.model.nq))
    for t in range(T):
        q = robot.default_qpos()
        q[robot.qpos_adr] = np.clip(robot.default_dof_pos + amp * np.sin(2 * np.pi * t / 50 + phase),
                                    lo, hi)
        q[0:3] = [0.02 * t, 0.01 * t, 0.75]
        q[3:7] = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.3 + 0.004 * t)
        qs[t] = q
    return qs


def _targets(robot, qs):
    kp = keypoint_positions(robot.model, qs, G1_MAPPING)
    data = mujoco.MjData(robot.model)
    quats = np.full((len(qs), len(G1_MAPPING), 4), np.nan)
    for t, q in enumerate(qs):
        data.qpos[:] = q
        mujoco.mj_kinematics(robot.model, data)
        for k, e in enumerate(G1_MAPPING):
            if e.orientation_weight > 0:
                quats[t, k] = data.body(e.body).xquat
    return kp, quats


def test_keypoint_task_jacobian_matches_finite_differences(robot):
    model = robot.model
    rng = np.random.default_rng(3)
    conf = mink.Configuration(model)
    q = _random_motion(robot, rng, 1)[0]
    conf.update(q)
    ids = [model.body(b).id for b in ("left_ankle_roll_link", "torso_link", "right_wrist_yaw_link")]
    task = KeyPointTask(model, ids, rng.normal(0, 0.05, (3, 3)), np.ones(3), ids[:2], np.ones(2))
    task.set_targets(np.zeros((3, 3)), np.tile(np.eye(3), (2, 1, 1)))
    J = task.compute_jacobian(conf)
    e0 = task.compute_error(conf)
    eps = 1e-6
    for i in range(model.nv):
        dv = np.zeros(model.nv)
        dv[i] = eps
        q2 = q.copy()
        mujoco.mj_integratePos(model, q2, dv, 1.0)
        conf.update(q2)
        num = (task.compute_error(conf) - e0) / eps
        # position rows exactly; orientation rows to first order (targets far away: loose)
        np.testing.assert_allclose(num[:9], J[:9, i], atol=1e-4)
        conf.update(q)


def test_round_trip_recovers_g1_motion(robot):
    """Targets from the G1's own FK are recovered to < 1 cm by the warm-started IK."""
    qs = _random_motion(robot, np.random.default_rng(0))
    kp, quats = _targets(robot, qs)
    ik = SequenceIK(robot, G1_MAPPING, IKConfig(iterations=1, posture_weight=0.01))
    res = ik.solve(kp, quats, 50.0)
    solved = keypoint_positions(robot.model, res.qpos, G1_MAPPING)
    used = np.array([e.position_weight > 0 for e in G1_MAPPING])
    err = np.linalg.norm(solved - kp, axis=-1)[:, used]
    assert err.max() < 0.01, err.max()
    assert err.mean() < 0.003
    assert res.qp_failures.sum() == 0
    assert res.first_frame_iterations > 1


def test_velocity_limits_respected_between_frames(robot):
    """A target that jumps far between frames is followed no faster than the joint limits."""
    qs = _random_motion(robot, np.random.default_rng(1), T=20)
    kp, quats = _targets(robot, qs)
    kp[10:, [G1_MAPPING.index(e) for e in G1_MAPPING if "wrist" in e.human]] += [0.0, 0.0, 0.4]
    for iters in (1, 3):
        res = SequenceIK(robot, G1_MAPPING, IKConfig(iterations=iters)).solve(kp, quats, 50.0)
        dq = np.abs(np.diff(res.qpos[:, robot.qpos_adr], axis=0)) * 50.0
        assert np.all(dq <= robot.vel_limits * (1 + 1e-6) + 1e-9)
        lo, hi = robot.joint_limits[:, 0], robot.joint_limits[:, 1]
        dof = res.qpos[:, robot.qpos_adr]
        assert np.all(dof >= lo - 1e-6) and np.all(dof <= hi + 1e-6)


def test_nan_targets_are_refused(robot):
    kp = np.full((2, len(G1_MAPPING), 3), np.nan)
    quats = np.tile(np.array([1.0, 0, 0, 0]), (2, len(G1_MAPPING), 1))
    with pytest.raises(ValueError, match="NaN"):
        SequenceIK(robot, G1_MAPPING, IKConfig()).solve(kp, quats, 50.0)
