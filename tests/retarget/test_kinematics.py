"""Velocities and resampling of retarget.kinematics against motions with known derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from mocap import quat
from retarget import kinematics as K

FPS = 50.0


def _times(n: int, fps: float = FPS) -> np.ndarray:
    return np.arange(n) / fps


def test_linear_velocity_constant_and_sinusoid() -> None:
    t = _times(200)
    v = np.array([1.2, -0.4, 0.1])
    pos = v * t[:, None] + np.array([3.0, 1.0, 0.8])
    np.testing.assert_allclose(K.linear_velocity(pos, FPS), np.tile(v, (200, 1)), atol=1e-9)

    a, w = 0.1, 2 * np.pi * 0.5
    x = a * np.sin(w * t)
    np.testing.assert_allclose(K.linear_velocity(x, FPS), a * w * np.cos(w * t), atol=1e-3)


def test_velocities_converge_at_second_order() -> None:
    """Error of a fast (2 Hz) sinusoid shrinks 4x when the rate doubles, ends included."""
    amp, w = 0.3, 2 * np.pi * 2.0
    axis = np.array([1.0, 0.0, 0.0])
    errs_lin, errs_ang = [], []
    for fps in (100.0, 200.0, 400.0):
        t = np.arange(int(2 * fps) + 1) / fps
        exact = amp * w * np.cos(w * t)
        errs_lin.append(np.abs(K.linear_velocity(amp * np.sin(w * t), fps) - exact).max())
        q = quat.from_axis_angle(axis, amp * np.sin(w * t))
        errs_ang.append(np.abs(K.angular_velocity_w(q, fps)[:, 0] - exact).max())
    for errs in (errs_lin, errs_ang):
        ratios = np.array(errs[:-1]) / np.array(errs[1:])
        assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


def test_linear_velocity_short_clips() -> None:
    assert np.all(K.linear_velocity(np.ones((1, 3)), FPS) == 0.0)
    two = np.array([[0.0, 0.0, 0.0], [0.02, 0.0, 0.0]])
    np.testing.assert_allclose(K.linear_velocity(two, FPS), [[1.0, 0, 0], [1.0, 0, 0]])


def test_angular_velocity_constant_rate_about_any_axis() -> None:
    t = _times(150)
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    rate = 2.5  # rad/s: several full turns, crosses the quaternion sign flip
    q0 = quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), 0.4)
    q = quat.mul(quat.from_axis_angle(axis, rate * t), q0)
    q[::7] *= -1.0  # sign flips must not matter
    omega = K.angular_velocity_w(q, FPS)
    np.testing.assert_allclose(omega, np.tile(rate * axis, (150, 1)), atol=1e-6)


def test_angular_velocity_sinusoid_within_tolerance() -> None:
    t = _times(300)
    amp, w = 0.2, 2 * np.pi * 0.5
    angle = amp * np.sin(w * t)
    axis = np.array([0.0, 0.6, 0.8])
    q = quat.from_axis_angle(axis, angle)
    expect = (amp * w * np.cos(w * t))[:, None] * axis
    np.testing.assert_allclose(K.angular_velocity_w(q, FPS), expect, atol=1e-3)


def test_root_frame_velocities() -> None:
    """A yawed body moving along its own x axis has body-frame velocity (v, 0, 0)."""
    t = _times(100)
    yaw = 0.7
    q = np.tile(quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), yaw), (100, 1))
    pos = 1.3 * t[:, None] * np.array([np.cos(yaw), np.sin(yaw), 0.0])
    v_b = K.to_root_frame(q, K.linear_velocity(pos, FPS))
    np.testing.assert_allclose(v_b, np.tile([1.3, 0.0, 0.0], (100, 1)), atol=1e-9)
    # Turning at a constant yaw rate: body-frame angular velocity is the yaw rate about body z.
    qz = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.9 * t)
    np.testing.assert_allclose(
        K.to_root_frame(qz, K.angular_velocity_w(qz, FPS)), np.tile([0, 0, 0.9], (100, 1)),
        atol=1e-9,
    )  # fmt: skip


def test_quat_log_round_trip_and_small_angles() -> None:
    rng = np.random.default_rng(0)
    rv = rng.normal(size=(50, 3))
    rv *= (rng.uniform(0, np.pi - 1e-3, 50) / np.linalg.norm(rv, axis=1))[:, None]
    q = quat.from_axis_angle(rv, np.linalg.norm(rv, axis=1))
    np.testing.assert_allclose(K.quat_log(q), rv, atol=1e-9)
    np.testing.assert_allclose(K.quat_log(-q), rv, atol=1e-9)
    tiny = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 1e-14)
    np.testing.assert_allclose(K.quat_log(tiny), [0, 0, 1e-14], atol=1e-20)
    assert np.all(K.quat_log(quat.IDENTITY) == 0.0)


def test_resample_keeps_duration_and_velocity() -> None:
    fps_src = 120.0
    t = np.arange(241) / fps_src  # 2 s
    pos = np.stack([1.1 * t, 0.0 * t, 0.8 + 0.0 * t], -1)
    q = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.5 * t)
    pos50 = K.resample_linear(pos, fps_src, FPS)
    q50 = K.resample_quat(q, fps_src, FPS)
    assert pos50.shape == (101, 3) and q50.shape == (101, 4)
    np.testing.assert_allclose(K.linear_velocity(pos50, FPS)[:, 0], 1.1, atol=1e-9)
    np.testing.assert_allclose(K.angular_velocity_w(q50, FPS)[:, 2], 0.5, atol=1e-9)
    np.testing.assert_allclose(quat.yaw(q50[-1]), 1.0, atol=1e-9)


@pytest.mark.parametrize("fps", [50.0, 30.0])
def test_same_rate(fps: float) -> None:
    assert K.same_rate(fps, fps * (1 + 1e-12))
    assert not K.same_rate(fps, fps + 1e-3)
