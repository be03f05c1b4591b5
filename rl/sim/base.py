"""The simulation backend protocol: a batch of N robots, torch tensors in and out.

Task code (observations, rewards, terminations, curriculum, AMP features) only talks to a
``SimBackend``; the MuJoCo backend (``rl/sim/mujoco.py``) is the default, an Isaac Lab backend can
implement the same protocol later.

Frames and units: ``_w`` world frame (Z up), ``_b`` root-body frame; metres, radians, seconds,
newtons, newton-metres. Quaternions are (w, x, y, z) as everywhere in the project (see
``mocap/quat.py``). Shapes: N envs, J = 29 joints in the robot's official order, K key bodies,
F = 2 feet, U undesired-contact bodies.

The tensors of ``SimState`` are refreshed by ``step``/``reset``/``push_root``; backends may refresh
them *in place* (zero-copy views of their own buffers), so callers that need a value from an earlier
step must ``clone()`` it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch


def _quat_products_to_rot() -> np.ndarray:
    """[16, 9] matrix A with ``R.flatten() = (q q^T).flatten() @ A`` for unit q = (w, x, y, z)."""
    w, x, y, z = range(4)
    rows = (  # R_ij = sum of coef * q_a q_b, symmetric products written once
        [((w, w), 1), ((x, x), 1), ((y, y), -1), ((z, z), -1)],  # R00
        [((x, y), 2), ((w, z), -2)],  # R01
        [((x, z), 2), ((w, y), 2)],  # R02
        [((x, y), 2), ((w, z), 2)],  # R10
        [((w, w), 1), ((x, x), -1), ((y, y), 1), ((z, z), -1)],  # R11
        [((y, z), 2), ((w, x), -2)],  # R12
        [((x, z), 2), ((w, y), -2)],  # R20
        [((y, z), 2), ((w, x), 2)],  # R21
        [((w, w), 1), ((x, x), -1), ((y, y), -1), ((z, z), 1)],  # R22
    )
    a = np.zeros((16, 9))
    for col, terms in enumerate(rows):
        for (i, j), coef in terms:
            if i == j:
                a[4 * i + j, col] += coef
            else:  # split between q_i q_j and q_j q_i
                a[4 * i + j, col] += coef / 2
                a[4 * j + i, col] += coef / 2
    return a


QUAT_PRODUCTS_TO_ROT = _quat_products_to_rot()
"""Rotation matrix (world from body, row-major) of a unit quaternion as one linear map of the
outer product ``q q^T``: ``R = ((q[:, None] * q[None, :]).reshape(16) @ A).reshape(3, 3)``."""


class RobotDescription(Protocol):
    """What a backend needs to know about the robot (``retarget.robot.RobotModel`` satisfies it)."""

    dof_names: Sequence[str]  # J joint names, the official order
    joint_limits: np.ndarray  # [J, 2] rad
    vel_limits: np.ndarray  # [J] rad/s
    effort_limits: np.ndarray  # [J] N m
    kp: np.ndarray  # [J] N m/rad, PD stiffness
    kd: np.ndarray  # [J] N m s/rad, PD damping
    default_dof_pos: np.ndarray  # [J] rad, the standing pose
    default_root_height: float  # m, pelvis height above flat ground when standing
    key_bodies: Sequence[str]  # K body names whose positions feed the AMP features
    foot_bodies: Sequence[str]  # 2 body names (left, right)


@dataclass
class SimState:
    """Batched robot state after the last physics step (or reset). See the module docstring."""

    root_pos_w: torch.Tensor  # [N, 3] m, pelvis origin
    root_quat_w: torch.Tensor  # [N, 4] (w, x, y, z), body -> world
    root_rot_w: torch.Tensor  # [N, 3, 3] the same rotation as a matrix: v_w = R v_b
    root_lin_vel_w: torch.Tensor  # [N, 3] m/s, of the root origin
    root_ang_vel_w: torch.Tensor  # [N, 3] rad/s
    root_lin_vel_b: torch.Tensor  # [N, 3] m/s, in the root frame
    root_ang_vel_b: torch.Tensor  # [N, 3] rad/s, in the root frame
    dof_pos: torch.Tensor  # [N, J] rad
    dof_vel: torch.Tensor  # [N, J] rad/s
    key_body_pos_w: torch.Tensor  # [N, K, 3] m
    foot_pos_w: torch.Tensor  # [N, F, 3] m, foot body origins
    foot_contact_force_w: torch.Tensor  # [N, F, 3] N, net terrain force on each foot (last substep)
    foot_contact: torch.Tensor  # [N, F] bool, foot touched the terrain during the last step
    undesired_contact: torch.Tensor  # [N, U] bool, body touched the terrain during the last step
    termination_contact: torch.Tensor  # [N] bool, a termination body (pelvis/torso) touched terrain
    applied_torque: torch.Tensor  # [N, J] N m, actuator torques after clipping (last substep)


@dataclass
class ResetState:
    """Target state of ``reset`` for n envs."""

    root_pos: torch.Tensor  # [n, 3] m, world
    root_quat: torch.Tensor  # [n, 4] (w, x, y, z)
    root_lin_vel: torch.Tensor  # [n, 3] m/s, world
    root_ang_vel: torch.Tensor  # [n, 3] rad/s, world
    dof_pos: torch.Tensor  # [n, J] rad
    dof_vel: torch.Tensor  # [n, J] rad/s


@dataclass
class PhysicsParams:
    """Per-env physical parameters used for domain randomisation, each [N] float."""

    friction: torch.Tensor  # sliding friction coefficient of the robot's collision geoms
    added_mass: torch.Tensor  # kg added to the randomised body
    motor_strength: torch.Tensor  # scale of both PD gains (1 = nominal)


class SimBackend(Protocol):
    """A batch of N simulated robots on one terrain."""

    num_envs: int
    num_dofs: int
    decimation: int  # physics steps per ``step``
    physics_dt: float  # s
    device: torch.device
    dof_names: tuple[str, ...]
    key_body_names: tuple[str, ...]
    foot_body_names: tuple[str, ...]
    undesired_body_names: tuple[str, ...]

    @property
    def dt(self) -> float:
        """Policy step in seconds (``decimation * physics_dt``)."""
        ...

    @property
    def state(self) -> SimState:
        """Current state (see the module docstring about in-place refreshes)."""
        ...

    @property
    def params(self) -> PhysicsParams:
        """Per-env physics parameters currently in effect."""
        ...

    def reset(self, env_ids: torch.Tensor, states: ResetState) -> None:
        """Set root pose/velocity and joint position/velocity of ``env_ids`` [n] (long)."""
        ...

    def step(self, targets: torch.Tensor) -> None:
        """Hold joint position ``targets [N, J]`` (rad) with PD control for ``decimation`` steps."""
        ...

    def push_root(self, env_ids: torch.Tensor, delta_lin_vel_w: torch.Tensor) -> None:
        """Velocity impulse: add ``delta_lin_vel_w [n, 3]`` (m/s, world) to the root velocity."""
        ...

    def randomize_params(self, env_ids: torch.Tensor, generator: torch.Generator) -> None:
        """Draw new physics parameters for ``env_ids`` (no-op when randomisation is off)."""
        ...

    def close(self) -> None:
        """Release threads and native resources."""
        ...
