"""AMP observations: one function for simulator states and dataset frames, plus history windows.

``amp_obs`` maps one frame to a feature vector [.., D], D = 13 + 2 J + 3 K (J joints, K key
bodies); everything is expressed in the *heading frame* (the root frame with roll and pitch
removed, i.e. rotated by the root's yaw only), so the features do not depend on where the robot
is or which way it faces, and carry no terrain information:

==========================  =====  =======================================================
root height                 1      root z (m, world)
root orientation            6      tangent (body x axis) and normal (body z axis) of the root
                                   orientation relative to the heading frame
root linear velocity        3      world velocity rotated into the heading frame (m/s)
root angular velocity       3      world angular velocity rotated into the heading frame (rad/s)
key-body positions          3 K    ``key_pos_w - root_pos_w`` rotated into the heading frame (m)
joint positions             J      rad
joint velocities            J      rad/s
==========================  =====  =======================================================

A discriminator input is a window of H consecutive frames, oldest first, flattened to [.., H * D]
(``stack_history``; ``AmpHistory`` keeps the window of each env during rollouts).

``ReferenceMotionSource`` is what the environment needs from the motion dataset (reference state
initialisation and reference AMP windows); ``InMemoryMotionSource`` implements it for tensors in
memory (tests, synthetic motions). Frames are at the policy rate; velocities are world frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Protocol

import torch

from rl.observations import heading_matrix, quat_mul, rotation_matrix

STATE_KEYS = ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "dof_pos", "dof_vel")


def joint_indices_except(names: Sequence[str], patterns: Sequence[str]) -> tuple[int, ...]:
    """Indices of the joints in ``names`` that match none of the fnmatch ``patterns``."""
    return tuple(i for i, n in enumerate(names) if not any(fnmatch(n, p) for p in patterns))


def amp_dof_indices(dof_names: Sequence[str], exclude: Sequence[str]) -> tuple[int, ...]:
    """Indices of the joints whose positions and velocities enter the AMP features: every joint
    except those matching an ``exclude`` fnmatch pattern (e.g. ``*wrist*``).

    Joints the reference never moves (the retargeted clips hold the G1's wrists still) must stay
    out: a policy that moves them at all is told apart from the reference by them alone, and the
    discriminator saturates on that instead of judging the gait.
    """
    keep = joint_indices_except(dof_names, exclude)
    if not keep:
        raise ValueError(f"AMP joint exclusion {list(exclude)} leaves no joint in the features")
    return keep


def amp_obs_dim(num_dofs: int, num_key_bodies: int) -> int:
    """D = 1 + 6 + 3 + 3 + 2 J + 3 K."""
    return 13 + 2 * num_dofs + 3 * num_key_bodies


def amp_obs(
    root_pos_w: torch.Tensor,
    root_quat_w: torch.Tensor,
    root_lin_vel_w: torch.Tensor,
    root_ang_vel_w: torch.Tensor,
    dof_pos: torch.Tensor,
    dof_vel: torch.Tensor,
    key_body_pos_w: torch.Tensor,
    root_rot_w: torch.Tensor | None = None,
    to_heading: torch.Tensor | None = None,
) -> torch.Tensor:
    """AMP features [..., D] of frames (see the module docstring for the layout).

    root_pos_w [..., 3] m; root_quat_w [..., 4] (w, x, y, z); root_lin_vel_w, root_ang_vel_w
    [..., 3] world frame; dof_pos, dof_vel [..., J]; key_body_pos_w [..., K, 3] m.
    root_rot_w, to_heading: optional precomputed ``rotation_matrix(root_quat_w)`` and
    ``heading_matrix(root_rot_w)`` [..., 3, 3] (the environment has them), to skip recomputing.
    """
    rot = rotation_matrix(root_quat_w) if root_rot_w is None else root_rot_w  # [..., 3, 3]
    if to_heading is None:
        to_heading = heading_matrix(rot)  # v_h = v_w @ to_heading
    vecs = torch.cat(
        [
            rot[..., :, 0::2].transpose(-1, -2),  # body x axis (tangent), body z axis (normal)
            root_lin_vel_w[..., None, :],
            root_ang_vel_w[..., None, :],
            key_body_pos_w - root_pos_w[..., None, :],
        ],
        dim=-2,
    )  # [..., 4 + K, 3]
    local = torch.matmul(vecs, to_heading).flatten(-2)
    return torch.cat([root_pos_w[..., 2:3], local, dof_pos, dof_vel], dim=-1)


def _conj(q: torch.Tensor) -> torch.Tensor:
    return q * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=q.dtype, device=q.device)


def stack_history(frames: torch.Tensor) -> torch.Tensor:
    """Flatten windows [..., H, D] (oldest first) into discriminator inputs [..., H * D]."""
    return frames.flatten(-2)


class AmpHistory:
    """Per-env window of the last H AMP frames, oldest first: ``buf [N, H, D]``."""

    def __init__(self, num_envs: int, history: int, dim: int, device: torch.device | str) -> None:
        if history < 1:
            raise ValueError(f"AMP history must be >= 1 frame, got {history}")
        self.buf = torch.zeros(num_envs, history, dim, device=device)

    def push(self, frame: torch.Tensor) -> None:
        """Append the newest frame [N, D], dropping the oldest."""
        H = self.buf.shape[1]
        if H == 2:  # no overlap: copy in place
            self.buf[:, 0] = self.buf[:, 1]
        elif H > 2:
            self.buf[:, :-1] = self.buf[:, 1:].clone()
        self.buf[:, -1] = frame

    def reset(self, env_ids: torch.Tensor, frame: torch.Tensor) -> None:
        """Fill the whole window of ``env_ids`` with ``frame [n, D]`` (a new episode's start)."""
        self.buf[env_ids] = frame[:, None, :]

    def window(self) -> torch.Tensor:
        """A copy of the current windows [N, H * D]."""
        return stack_history(self.buf).clone()


class ReferenceMotionSource(Protocol):
    """Reference motions for AMP: states for reset initialisation and AMP windows."""

    def sample_states(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """``n`` random frames: ``root_pos [n, 3]``, ``root_quat [n, 4]``, ``root_lin_vel``,
        ``root_ang_vel`` (world frame), ``dof_pos [n, J]``, ``dof_vel [n, J]``."""
        ...

    def sample_amp_obs(self, n: int, history: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` random windows of ``history`` consecutive frames' AMP features [n, H * D]."""
        ...


def finite_difference_velocities(
    root_pos: torch.Tensor, root_quat: torch.Tensor, dof_pos: torch.Tensor, fps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward-difference world velocities of a motion [T, ...]: ``(lin [T,3], ang [T,3], dof)``.

    The last frame repeats the previous velocity; a single frame gets zeros.
    """
    T = root_pos.shape[0]
    if T < 2:
        return torch.zeros_like(root_pos), torch.zeros_like(root_pos), torch.zeros_like(dof_pos)
    lin = (root_pos[1:] - root_pos[:-1]) * fps
    dof = (dof_pos[1:] - dof_pos[:-1]) * fps
    dq = quat_mul(root_quat[1:], _conj(root_quat[:-1]))
    dq = torch.where(dq[:, :1] < 0, -dq, dq)
    v = dq[:, 1:]
    s = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(s, dq[:, :1])
    axis = torch.where(s > 1e-12, v / s.clamp(min=1e-12), torch.zeros_like(v))
    ang = axis * angle * fps

    def pad(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x[-1:]], dim=0)

    return pad(lin), pad(ang), pad(dof)


@dataclass
class InMemoryMotionSource:
    """A single reference motion held in memory (T frames at ``fps``), for tests and demos.

    Fields are float32 tensors: root_pos [T, 3], root_quat [T, 4], root_lin_vel [T, 3] and
    root_ang_vel [T, 3] (world frame), dof_pos [T, J], dof_vel [T, J], key_body_pos [T, K, 3].
    ``amp_dof_index``: the joints of the AMP features (``amp_dof_indices``; None: all).
    """

    fps: float
    root_pos: torch.Tensor
    root_quat: torch.Tensor
    root_lin_vel: torch.Tensor
    root_ang_vel: torch.Tensor
    dof_pos: torch.Tensor
    dof_vel: torch.Tensor
    key_body_pos: torch.Tensor
    amp_dof_index: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        T = self.root_pos.shape[0]
        for name in (*STATE_KEYS, "key_body_pos"):
            value = getattr(self, name)
            if value.shape[0] != T:
                raise ValueError(
                    f"InMemoryMotionSource: {name} has {value.shape[0]} frames, not {T}"
                )
        idx = slice(None) if self.amp_dof_index is None else list(self.amp_dof_index)
        self.frames = amp_obs(
            self.root_pos,
            self.root_quat,
            self.root_lin_vel,
            self.root_ang_vel,
            self.dof_pos[:, idx],
            self.dof_vel[:, idx],
            self.key_body_pos,
        )  # [T, D]

    @property
    def num_frames(self) -> int:
        """T."""
        return int(self.root_pos.shape[0])

    def sample_states(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """``n`` uniformly drawn frames (see ``ReferenceMotionSource``)."""
        idx = torch.randint(self.num_frames, (n,), generator=generator)
        return {k: getattr(self, k)[idx] for k in STATE_KEYS}

    def sample_amp_obs(self, n: int, history: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` windows of ``history`` consecutive frames [n, H * D], uniformly placed."""
        if history > self.num_frames:
            raise ValueError(
                f"InMemoryMotionSource: a window of {history} frames needs a motion of at least "
                f"{history} frames, this one has {self.num_frames}"
            )
        last = torch.randint(history - 1, self.num_frames, (n,), generator=generator)
        idx = last[:, None] + torch.arange(1 - history, 1)[None, :]  # [n, H]
        return stack_history(self.frames[idx])
