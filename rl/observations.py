"""Policy observations (actor, with noise) and privileged critic observations, as pure functions.

Frames: ``_w`` world, ``_b`` root-body frame; quaternions (w, x, y, z) (``mocap/quat.py`` is the
NumPy reference; the torch helpers here follow it and broadcast over leading axes).

Actor observation (O = 9 + 3 J = 96 for the G1), in this order and with these scales:

=====================  =====  ===========================================================
base_ang_vel           3      root angular velocity, body frame (rad/s) * ``ang_vel_scale``
projected_gravity      3      unit gravity direction in the body frame
command                3      (vx, vy, wz) in the heading frame (m/s, m/s, rad/s)
joint_pos_rel          J      joint position - default pose (rad)
joint_vel              J      joint velocity (rad/s) * ``joint_vel_scale``
last_action            J      the previous policy action (normalised units)
=====================  =====  ===========================================================

Noise is uniform, ``U(-a, a)`` per component, added in the raw units (before scaling) of each
group; the critic sees the noise-free actor terms.

Critic observation (C = O + 3 + P + 5): actor terms (noise free), root linear velocity in the body
frame (m/s) * ``lin_vel_scale``, the height scan [P] (``rl.terrain.height_scan``: base height over
the terrain at grid points, clipped), friction coefficient, added mass (kg), motor strength, and
the last push impulse (dvx, dvy, m/s, world) applied to the env.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rl.sim.base import QUAT_PRODUCTS_TO_ROT

GRAVITY_DIR_W = (0.0, 0.0, -1.0)
ACTOR_TERMS = (
    "base_ang_vel",
    "projected_gravity",
    "command",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
)


# --------------------------------------------------------------------------- quaternions
def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v [..., 3]`` by unit quaternions ``q [..., 4]`` (w, x, y, z)."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * torch.linalg.cross(u, v, dim=-1)
    return v + w * t + torch.linalg.cross(u, t, dim=-1)


def quat_rotate_inverse(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v [..., 3]`` by the inverse of unit quaternions ``q [..., 4]``."""
    w, u = q[..., :1], -q[..., 1:]
    t = 2.0 * torch.linalg.cross(u, v, dim=-1)
    return v + w * t + torch.linalg.cross(u, t, dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` [..., 4] (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def yaw_of(q: torch.Tensor) -> torch.Tensor:
    """Heading (rad, in (-pi, pi]) of unit quaternions [..., 4]: the yaw of the body x axis."""
    w, x, y, z = q.unbind(-1)
    return torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quat_from_yaw(yaw: torch.Tensor) -> torch.Tensor:
    """Quaternions [..., 4] of rotations by ``yaw`` (rad) about world z."""
    half = 0.5 * yaw
    zero = torch.zeros_like(half)
    return torch.stack([torch.cos(half), zero, zero, torch.sin(half)], dim=-1)


def rotation_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] (world from body: ``v_w = R v_b``) of unit quaternions."""
    a = torch.as_tensor(QUAT_PRODUCTS_TO_ROT, dtype=q.dtype, device=q.device)
    qq = (q[..., :, None] * q[..., None, :]).flatten(-2)  # [..., 16]
    return torch.matmul(qq, a).unflatten(-1, (3, 3))


def projected_gravity(root_quat_w: torch.Tensor) -> torch.Tensor:
    """Unit gravity direction in the body frame [..., 3] (``(0, 0, -1)`` when upright)."""
    g = torch.tensor(GRAVITY_DIR_W, dtype=root_quat_w.dtype, device=root_quat_w.device)
    return quat_rotate_inverse(root_quat_w, g.expand(root_quat_w.shape[:-1] + (3,)))


# M = [[c, -s, 0], [s, c, 0], [0, 0, 1]] (row-major) = (c, s) @ _HEADING_BASIS + _HEADING_CONST;
# every product is by 0 or +-1, so the entries are exactly c, -s, s, c, 0 and 1.
_HEADING_BASIS = (
    (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0),
    (0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
)
_HEADING_CONST = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
_heading_tables: dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}


def _heading_table(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    key = (dtype, device)
    if key not in _heading_tables:
        _heading_tables[key] = (
            torch.tensor(_HEADING_BASIS, dtype=dtype, device=device),
            torch.tensor(_HEADING_CONST, dtype=dtype, device=device),
        )
    return _heading_tables[key]


def heading_matrix(root_rot_w: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``M [..., 3, 3]`` with ``v_h = v_w @ M`` for row vectors: world -> heading frame.

    The heading frame is the root frame rotated by the root's yaw only (the yaw of the body x
    axis, as ``yaw_of``); M is the rotation about z by that yaw. (A body x axis pointing exactly
    up or down has no yaw; M then keeps only the z component.)
    """
    cs = root_rot_w[..., :2, 0]  # (cos, sin) * horizontal length of the body x axis
    cs = cs / torch.linalg.vector_norm(cs, dim=-1, keepdim=True).clamp(min=eps)
    basis, const = _heading_table(cs.dtype, cs.device)
    flat = torch.addmm(const, cs.reshape(-1, 2), basis)  # [n, 9]
    return flat.view(*cs.shape[:-1], 3, 3)


def heading_frame_vel(root_quat_w: torch.Tensor, vel_w: torch.Tensor) -> torch.Tensor:
    """A world-frame vector expressed in the heading (yaw-only) frame [..., 3]."""
    return quat_rotate_inverse(quat_from_yaw(yaw_of(root_quat_w)), vel_w)


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ObservationConfig:
    """Observation scales and noise amplitudes (noise in raw units, uniform +-amplitude)."""

    ang_vel_scale: float = 0.25  # multiplier of the base angular velocity (rad/s)
    joint_vel_scale: float = 0.05  # multiplier of joint velocities (rad/s)
    lin_vel_scale: float = 2.0  # multiplier of the critic's base linear velocity (m/s)
    noise: bool = True  # add noise to the actor observation (off in deterministic mode)
    noise_ang_vel: float = 0.2  # rad/s
    noise_gravity: float = 0.05  # unit vector components
    noise_joint_pos: float = 0.01  # rad
    noise_joint_vel: float = 1.5  # rad/s
    clip: float = 100.0  # clip of every observation component


def actor_noise_vector(
    cfg: ObservationConfig, num_dofs: int, num_actions: int | None = None, num_extra: int = 0
) -> torch.Tensor:
    """Per-component noise amplitude [O] in *scaled* units (amplitude x scale), actor order
    (``num_actions``: length of the last action, default ``num_dofs``; ``num_extra``
    noise-free components appended, e.g. the gait clock)."""
    J = num_dofs
    A = J if num_actions is None else num_actions
    parts = [
        torch.full((3,), cfg.noise_ang_vel * cfg.ang_vel_scale),
        torch.full((3,), cfg.noise_gravity),
        torch.zeros(3),
        torch.full((J,), cfg.noise_joint_pos),
        torch.full((J,), cfg.noise_joint_vel * cfg.joint_vel_scale),
        torch.zeros(A + num_extra),
    ]
    return torch.cat(parts)


def actor_obs_dim(num_dofs: int, num_actions: int | None = None, num_extra: int = 0) -> int:
    """O = 9 + 2 J + A + E (A = J when every joint is driven by the policy; E appended
    components such as the gait clock's 2)."""
    return 9 + 2 * num_dofs + (num_dofs if num_actions is None else num_actions) + num_extra


def critic_obs_dim(
    num_dofs: int, num_scan_points: int, num_actions: int | None = None, num_extra: int = 0
) -> int:
    """C = O + 3 (lin vel) + P (height scan) + 3 (friction, mass, strength) + 2 (push)."""
    return actor_obs_dim(num_dofs, num_actions, num_extra) + 3 + num_scan_points + 5


# --------------------------------------------------------------------------- terms
def actor_obs(
    cfg: ObservationConfig,
    projected_gravity_b: torch.Tensor,
    root_ang_vel_b: torch.Tensor,
    command: torch.Tensor,
    dof_pos: torch.Tensor,
    default_dof_pos: torch.Tensor,
    dof_vel: torch.Tensor,
    last_action: torch.Tensor,
) -> torch.Tensor:
    """Noise-free actor observation [N, O] (see the module docstring for the layout).

    projected_gravity_b: [N, 3] (``projected_gravity``); the others as named, body frame.
    """
    return torch.cat(
        [
            root_ang_vel_b * cfg.ang_vel_scale,
            projected_gravity_b,
            command,
            dof_pos - default_dof_pos,
            dof_vel * cfg.joint_vel_scale,
            last_action,
        ],
        dim=-1,
    )


def add_noise(
    obs: torch.Tensor, amplitude: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """``obs + U(-amplitude, amplitude)`` per component; ``amplitude`` [O] broadcasts over N."""
    gen_device = generator.device if generator is not None else obs.device
    u = torch.rand(obs.shape, generator=generator, device=gen_device).to(obs.device)
    return obs + (2.0 * u - 1.0) * amplitude


def critic_obs(
    cfg: ObservationConfig,
    actor_clean: torch.Tensor,
    root_lin_vel_b: torch.Tensor,
    height_scan: torch.Tensor,
    friction: torch.Tensor,
    added_mass: torch.Tensor,
    motor_strength: torch.Tensor,
    push_vel_xy: torch.Tensor,
) -> torch.Tensor:
    """Privileged critic observation [N, C] (see the module docstring for the layout)."""
    return torch.cat(
        [
            actor_clean,
            root_lin_vel_b * cfg.lin_vel_scale,
            height_scan,
            friction[:, None],
            added_mass[:, None],
            motor_strength[:, None],
            push_vel_xy,
        ],
        dim=-1,
    )
