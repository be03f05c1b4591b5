"""Per-frame inverse kinematics of the G1 with ``mink``, warm-started along a clip.

Tasks (costs from :mod:`retarget.mapping`): one :class:`KeyPointTask` that stacks every mapped
point's position error (world frame, m) and every oriented body's orientation error (world-frame
rotation vector, rad), a ``mink.PostureTask`` toward the default pose (small cost, resolves the
redundancy: elbow roll, waist), ``mink.ConfigurationLimit`` (joint ranges) and, between frames,
``mink.VelocityLimit`` from the robot's joint velocity limits. Each QP is solved by
``mink.solve_ik`` with the ``daqp`` solver.

Schedule: the first frame is solved to convergence (no velocity limit) from the default pose
placed at the pelvis target; every later frame starts from the previous solution and takes a
fixed number of iterations. With ``n`` iterations per frame each step gets ``dt = 1/(n fps)``,
so the velocity limit bounds the total motion between two frames by ``v_max / fps``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from mocap import quat
from retarget.mapping import KeyPoint

log = logging.getLogger("retarget.ik")


@dataclass(frozen=True)
class IKConfig:
    """Settings of the IK schedule."""

    iterations: int = 2
    """IK iterations (QP solves) per frame after the first."""
    first_frame_iterations: int = 200
    """Maximum iterations for the first frame (solved to convergence)."""
    first_frame_tol: float = 1e-7
    """Convergence: stop the first frame when the step's largest joint change is below (rad)."""
    posture_weight: float = 0.05
    """Cost of the posture task toward the default pose (1/rad)."""
    damping: float = 1e-3
    """Levenberg-Marquardt damping of the QP (all dofs)."""
    solver: str = "daqp"
    """QP solver (qpsolvers name)."""
    velocity_limit_scale: float = 1.0
    """Fraction of the robot's joint velocity limits enforced between frames (0 disables)."""
    limit_gain: float = 0.95
    """Gain of mink's ConfigurationLimit (fraction of the distance to a limit per step)."""


class KeyPointTask(mink.Task):
    """Positions of points fixed on bodies and orientations of bodies, all in the world frame.

    Error rows: ``p_k(q) - p_k*`` (m) for each position point, then
    ``log(R_b(q) R_b*^T)`` (rad, world rotation vector) for each oriented body; the Jacobian of
    a point is MuJoCo's translational Jacobian at that point (``mj_jac``), that of an orientation
    the body's rotational Jacobian (exact for small errors; the iteration handles large ones).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        pos_bodies: Sequence[int],
        pos_offsets: np.ndarray,
        pos_weights: np.ndarray,
        ori_bodies: Sequence[int],
        ori_weights: np.ndarray,
    ) -> None:
        self.pos_bodies = np.asarray(pos_bodies, dtype=np.int64)
        self.pos_offsets = np.asarray(pos_offsets, dtype=np.float64).reshape(-1, 3)
        self.ori_bodies = np.asarray(ori_bodies, dtype=np.int64)
        cost = np.concatenate([np.repeat(pos_weights, 3), np.repeat(ori_weights, 3)])
        super().__init__(cost=cost.astype(np.float64), gain=1.0, lm_damping=0.0)
        self.base_cost = self.cost.copy()
        self.nv = model.nv
        self.target_pos = np.zeros((len(self.pos_bodies), 3))
        self.target_rot = np.tile(np.eye(3), (len(self.ori_bodies), 1, 1))
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def set_targets(
        self, pos: np.ndarray, rot: np.ndarray, pos_scale: np.ndarray | None = None
    ) -> None:
        """Targets: positions [P, 3] (m, world) and rotation matrices [B, 3, 3] (world);
        ``pos_scale`` [P] multiplies the position weights for this target (None: 1)."""
        self.target_pos = np.asarray(pos, dtype=np.float64)
        self.target_rot = np.asarray(rot, dtype=np.float64)
        if pos_scale is None:
            self.cost = self.base_cost
        else:
            cost = self.base_cost.copy()
            cost[: 3 * len(pos_scale)] *= np.repeat(pos_scale, 3)
            self.cost = cost

    def points(self, data: mujoco.MjData) -> np.ndarray:
        """Current world positions [P, 3] of the points (kinematics must be up to date)."""
        xmat = data.xmat[self.pos_bodies].reshape(-1, 3, 3)
        return data.xpos[self.pos_bodies] + np.einsum("pij,pj->pi", xmat, self.pos_offsets)

    def compute_error(self, configuration: mink.Configuration) -> np.ndarray:
        data = configuration.data
        e_pos = (self.points(data) - self.target_pos).ravel()
        if len(self.ori_bodies) == 0:
            return e_pos
        R = data.xmat[self.ori_bodies].reshape(-1, 3, 3)
        rel = np.einsum("bij,bkj->bik", R, self.target_rot)  # R R*^T
        e_rot = _log_so3(rel).ravel()
        return np.concatenate([e_pos, e_rot])

    def compute_jacobian(self, configuration: mink.Configuration) -> np.ndarray:
        model, data = configuration.model, configuration.data
        P, B = len(self.pos_bodies), len(self.ori_bodies)
        J = np.empty((3 * (P + B), self.nv))
        pts = self.points(data)
        for i in range(P):
            mujoco.mj_jac(model, data, self._jacp, None, pts[i], int(self.pos_bodies[i]))
            J[3 * i : 3 * i + 3] = self._jacp
        for j in range(B):
            mujoco.mj_jacBody(model, data, None, self._jacr, int(self.ori_bodies[j]))
            J[3 * (P + j) : 3 * (P + j) + 3] = self._jacr
        return J


def _log_so3(R: np.ndarray) -> np.ndarray:
    """Rotation vectors [B, 3] of rotation matrices [B, 3, 3] (MuJoCo's fast conversion)."""
    out = np.empty((R.shape[0], 3))
    q = np.empty(4)
    for b in range(R.shape[0]):
        mujoco.mju_mat2Quat(q, R[b].ravel())
        if q[0] < 0.0:
            q = -q
        s = np.sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
        out[b] = q[1:] * (2.0 * np.arctan2(s, q[0]) / s if s > 1e-12 else 2.0)
    return out


@dataclass
class IKResult:
    """Solved motion: qpos [T, nq]; per-frame count of QP failures [T] (0 = all solves found)."""

    qpos: np.ndarray
    qp_failures: np.ndarray
    first_frame_iterations: int


class SequenceIK:
    """IK over a clip for one robot and one mapping (reusable across clips).

    ``robot`` needs ``.model``, ``.dof_names``, ``.vel_limits`` [29] and ``.default_qpos()``
    (:class:`retarget.robot.RobotModel`).
    """

    def __init__(self, robot, mapping: tuple[KeyPoint, ...], cfg: IKConfig) -> None:
        self.robot = robot
        self.model = robot.model
        self.cfg = cfg
        self.mapping = mapping
        self.pos_idx = np.array([k for k, kp in enumerate(mapping) if kp.position_weight > 0])
        self.ori_idx = np.array([k for k, kp in enumerate(mapping) if kp.orientation_weight > 0])
        body_id = {kp.body: self.model.body(kp.body).id for kp in mapping}
        self.task = KeyPointTask(
            self.model,
            [body_id[mapping[k].body] for k in self.pos_idx],
            np.array([mapping[k].offset_b for k in self.pos_idx]),
            np.array([mapping[k].position_weight for k in self.pos_idx]),
            [body_id[mapping[k].body] for k in self.ori_idx],
            np.array([mapping[k].orientation_weight for k in self.ori_idx]),
        )
        self.default_qpos = np.asarray(robot.default_qpos(), dtype=np.float64)
        self.posture = mink.PostureTask(self.model, cost=cfg.posture_weight)
        self.posture.set_target(self.default_qpos)
        self.config_limit = mink.ConfigurationLimit(self.model, gain=cfg.limit_gain)
        self.vel_limit = None
        if cfg.velocity_limit_scale > 0:
            vel = {n: float(v) * cfg.velocity_limit_scale
                   for n, v in zip(robot.dof_names, robot.vel_limits, strict=True)}
            self.vel_limit = mink.VelocityLimit(self.model, vel)
        self.configuration = mink.Configuration(self.model)

    def _step(self, dt: float, limits: list) -> tuple[np.ndarray, bool]:
        tasks = [self.task, self.posture]
        try:
            v = mink.solve_ik(self.configuration, tasks, dt, self.cfg.solver,
                              damping=self.cfg.damping, limits=limits)
        except mink.NoSolutionFound:
            return np.zeros(self.model.nv), False
        self.configuration.integrate_inplace(v, dt)
        return v * dt, True

    def initial_qpos(self, pelvis_pos: np.ndarray, pelvis_rot: np.ndarray | None) -> np.ndarray:
        """Default pose with the pelvis body placed at the first pelvis target (heading kept)."""
        q = self.default_qpos.copy()
        adr = self.robot.root_qpos_adr
        if pelvis_rot is not None:
            heading = np.arctan2(pelvis_rot[1, 0], pelvis_rot[0, 0])
            q[adr + 3 : adr + 7] = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), heading)
        k = self.mapping_index("pelvis")
        off = np.asarray(self.mapping[k].offset_b)
        R = quat.to_matrix(q[adr + 3 : adr + 7])
        q[adr : adr + 3] = pelvis_pos - R @ off
        return q

    def mapping_index(self, name: str) -> int:
        for i, kp in enumerate(self.mapping):
            if kp.human == name:
                return i
        raise KeyError(name)

    def solve(
        self,
        target_pos: np.ndarray,
        target_quat: np.ndarray,
        fps: float,
        q0: np.ndarray | None = None,
        weight_scale: np.ndarray | None = None,
    ) -> IKResult:
        """Solve a clip.

        Args:
            target_pos: [T, K, 3] targets (m, world) in mapping order (NaN allowed where the
                position weight is 0).
            target_quat: [T, K, 4] (w, x, y, z) world orientation targets (used where the
                orientation weight is > 0).
            fps: frame rate (Hz) of the targets, for the velocity limit.
            q0: optional initial configuration [nq]; default: :meth:`initial_qpos`.
            weight_scale: optional [T, K] multipliers of the position weights per frame (e.g.
                larger on feet in contact).
        """
        T = target_pos.shape[0]
        tp = target_pos[:, self.pos_idx]
        ws = None if weight_scale is None else np.asarray(weight_scale)[:, self.pos_idx]
        tr = (quat.to_matrix(target_quat[:, self.ori_idx]) if len(self.ori_idx)
              else np.zeros((T, 0, 3, 3)))
        if not np.all(np.isfinite(tp)) or not np.all(np.isfinite(tr)):
            raise ValueError("IK targets contain NaN or inf")
        qpos = np.empty((T, self.model.nq))
        failures = np.zeros(T, dtype=np.int64)
        if T == 0:
            return IKResult(qpos, failures, 0)
        if q0 is None:
            pel = self.mapping_index("pelvis")
            pel_rot = None
            if pel in self.ori_idx:
                pel_rot = tr[0, int(np.flatnonzero(self.ori_idx == pel)[0])]
            q0 = self.initial_qpos(target_pos[0, pel], pel_rot)
        self.configuration.update(np.asarray(q0, dtype=np.float64))
        # First frame: to convergence, joint limits only.
        self.task.set_targets(tp[0], tr[0], None if ws is None else ws[0])
        it = 0
        for it in range(1, self.cfg.first_frame_iterations + 1):
            dq, ok = self._step(1.0, [self.config_limit])
            failures[0] += int(not ok)
            if np.max(np.abs(dq)) < self.cfg.first_frame_tol:
                break
        qpos[0] = self.configuration.q
        n = max(1, self.cfg.iterations)
        dt = 1.0 / (fps * n)
        limits = [self.config_limit] + ([self.vel_limit] if self.vel_limit is not None else [])
        for t in range(1, T):
            self.task.set_targets(tp[t], tr[t], None if ws is None else ws[t])
            for _ in range(n):
                _, ok = self._step(dt, limits)
                failures[t] += int(not ok)
            qpos[t] = self.configuration.q
        return IKResult(qpos=qpos, qp_failures=failures, first_frame_iterations=it)


def keypoint_positions(model: mujoco.MjModel, qpos: np.ndarray,
                       mapping: tuple[KeyPoint, ...]) -> np.ndarray:
    """World positions [T, K, 3] of every mapped point over a motion qpos [T, nq]."""
    data = mujoco.MjData(model)
    bodies = np.array([model.body(kp.body).id for kp in mapping])
    offsets = np.array([kp.offset_b for kp in mapping], dtype=np.float64)
    out = np.empty((qpos.shape[0], len(mapping), 3))
    for t in range(qpos.shape[0]):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        xmat = data.xmat[bodies].reshape(-1, 3, 3)
        out[t] = data.xpos[bodies] + np.einsum("kij,kj->ki", xmat, offsets)
    return out
