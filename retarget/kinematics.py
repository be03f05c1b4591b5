"""Derived kinematics of a motion clip: velocities and resampling (pure NumPy functions).

Used by :mod:`retarget.dataset` so that every derived quantity is computed one way, at the
dataset rate. Conventions: world frame Z up; quaternions (w, x, y, z) as in :mod:`mocap.quat`;
time along axis 0; ``fps`` in frames per second, so ``dt = 1 / fps`` seconds.

- Linear velocities (and joint velocities): central differences, second-order one-sided at the
  two end frames (``np.gradient(..., edge_order=2)``).
- World angular velocity from orientations: at interior frames
  ``rotvec(q[t+1] * conj(q[t-1])) / (2 dt)``; at the end frames the second-order one-sided form
  ``(4 rotvec(q[1] q[0]*) - rotvec(q[2] q[0]*)) / (2 dt)`` (mirrored at the last frame), which
  is exact for a constant angular velocity like the interior formula.
- Root-frame (``_b``) versions rotate the world vectors by ``conj(root_quat)``.
"""

from __future__ import annotations

import math

import numpy as np

from mocap import quat
from mocap.resample import resample_times


def quat_log(q: np.ndarray) -> np.ndarray:
    """Rotation vector(s) [..., 3] (axis * angle, angle in [0, pi]) of unit quaternion(s) [..., 4].

    Sign-invariant: ``q`` and ``-q`` give the same rotation vector (shortest rotation).
    """
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0.0, -q, q)
    v = q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(n, q[..., :1])
    # angle / n -> 2 / w as n -> 0; use the series to stay finite.
    small = n < 1e-12
    scale = np.where(small, 2.0 / np.maximum(q[..., :1], 1e-12), angle / np.where(small, 1.0, n))
    return v * scale


def linear_velocity(x: np.ndarray, fps: float) -> np.ndarray:
    """Time derivative [T, ...] of positions or joint angles [T, ...] (units per second).

    Central differences inside, second-order one-sided at the ends; a 2-frame clip gets the
    forward difference at both frames and a 1-frame clip zeros.
    """
    x = np.asarray(x, dtype=np.float64)
    t = x.shape[0]
    if t < 2:
        return np.zeros_like(x)
    return np.gradient(x, 1.0 / float(fps), axis=0, edge_order=2 if t >= 3 else 1)


def angular_velocity_w(q: np.ndarray, fps: float) -> np.ndarray:
    """World-frame angular velocity [T, 3] (rad/s) of orientations ``q`` [T, 4] (w, x, y, z).

    ``q(t + dt) = exp(omega dt) q(t)``: interior frames use ``rotvec(q[t+1] q[t-1]*) / (2 dt)``,
    the end frames the second-order one-sided formula of the module docstring.
    """
    q = np.asarray(q, dtype=np.float64)
    t = q.shape[0]
    fps = float(fps)
    out = np.zeros((t, 3))
    if t < 2:
        return out
    if t == 2:
        w = quat_log(quat.mul(q[1], quat.conj(q[0]))) * fps
        out[:] = w
        return out
    out[1:-1] = quat_log(quat.mul(q[2:], quat.conj(q[:-2]))) * (0.5 * fps)
    r01 = quat_log(quat.mul(q[1], quat.conj(q[0])))
    r02 = quat_log(quat.mul(q[2], quat.conj(q[0])))
    out[0] = (4.0 * r01 - r02) * (0.5 * fps)
    r_end1 = quat_log(quat.mul(q[-1], quat.conj(q[-2])))
    r_end2 = quat_log(quat.mul(q[-1], quat.conj(q[-3])))
    out[-1] = (4.0 * r_end1 - r_end2) * (0.5 * fps)
    return out


def to_root_frame(root_quat: np.ndarray, v_w: np.ndarray) -> np.ndarray:
    """World vectors [T, 3] expressed in the root frame: ``rotate(conj(root_quat), v_w)``."""
    return quat.rotate(quat.conj(root_quat), v_w)


def _bracket(times: np.ndarray, num_frames: int, fps_src: float) -> tuple[np.ndarray, np.ndarray]:
    """Source frame at or before each time [N] (int) and the fraction [N] towards the next."""
    if num_frames == 1:
        return np.zeros(len(times), dtype=np.int64), np.zeros(len(times))
    s = times * fps_src
    i0 = np.clip(np.floor(s + 1e-9).astype(np.int64), 0, num_frames - 2)
    return i0, np.clip(s - i0, 0.0, 1.0)


def resample_linear(x: np.ndarray, fps_src: float, fps: float) -> np.ndarray:
    """Positions / joint angles [T, ...] at ``fps_src`` linearly interpolated to ``fps``.

    Frame times follow :func:`mocap.resample.resample_times` (same duration, ``k / fps``).
    """
    x = np.asarray(x, dtype=np.float64)
    times = resample_times(x.shape[0], float(fps_src), float(fps))
    i0, frac = _bracket(times, x.shape[0], float(fps_src))
    i1 = np.minimum(i0 + 1, x.shape[0] - 1)
    w = frac.reshape((-1,) + (1,) * (x.ndim - 1))
    return (1.0 - w) * x[i0] + w * x[i1]


def resample_quat(q: np.ndarray, fps_src: float, fps: float) -> np.ndarray:
    """Orientations [T, 4] (w, x, y, z) at ``fps_src`` slerped to ``fps`` (same frame times as
    :func:`resample_linear`); the source is made sign-continuous first."""
    q = quat.make_continuous(np.asarray(q, dtype=np.float64), axis=0)
    times = resample_times(q.shape[0], float(fps_src), float(fps))
    i0, frac = _bracket(times, q.shape[0], float(fps_src))
    i1 = np.minimum(i0 + 1, q.shape[0] - 1)
    return quat.slerp(q[i0], q[i1], frac)


def same_rate(fps_a: float, fps_b: float) -> bool:
    """True when two frame rates are equal up to floating-point noise."""
    return math.isclose(float(fps_a), float(fps_b), rel_tol=1e-9, abs_tol=1e-9)
