"""Foot contact detection (hysteresis) and stance pinning on synthetic foot trajectories."""

from __future__ import annotations

import numpy as np

from mocap import quat
from retarget.contacts import (
    ContactConfig,
    clamp_above,
    detect_contacts,
    ground_levels,
    hysteresis,
    phases,
    pin_foot,
    pin_point,
    support_envelope,
)
from retarget.smoothing import odd_window, savgol, upper_envelope

FPS = 50.0


def _gait(rng: np.random.Generator, noise: float = 0.002):
    """A foot walking at 1 m/s average: 0.5 s stance (still), 0.5 s swing (arc), 4 cycles."""
    stance, swing = 25, 25
    pos, truth, x = [], [], 0.0
    for _ in range(4):
        for _ in range(stance):
            pos.append([x, 0.0, 0.0])
            truth.append(True)
        for i in range(swing):
            s = (i + 1) / swing
            pos.append([x + s * 1.0, 0.0, 0.12 * np.sin(np.pi * s)])
            truth.append(False)
        x += 1.0
    pos = np.array(pos) + rng.normal(0.0, noise, (len(pos), 3))
    return pos, np.array(truth)


def test_detects_known_stance_phases():
    rng = np.random.default_rng(0)
    pos, truth = _gait(rng)
    mask = detect_contacts(pos[:, None], np.zeros(1), FPS, ContactConfig())[:, 0]
    got, want = phases(mask), phases(truth)
    assert len(got) == len(want) == 4
    for (a, b), (c, d) in zip(got, want, strict=True):
        assert abs(a - c) <= 1 and abs(b - d) <= 2


def test_hysteresis_does_not_chatter():
    cfg = ContactConfig(height_on=0.03, height_off=0.05, speed_on=1.0, speed_off=2.0, min_frames=1)
    h = np.array([0.0, 0.0, 0.04, 0.02, 0.045, 0.06, 0.04, 0.02])
    m = hysteresis(h, np.zeros_like(h), cfg)
    # stays in contact at 0.04/0.045 (below off), leaves at 0.06, re-enters only below 0.03
    assert m.tolist() == [True, True, True, True, True, False, False, True]


def test_pinning_holds_stance_still_and_on_ground():
    rng = np.random.default_rng(1)
    pos, truth = _gait(rng, noise=0.005)
    pinned = pin_point(pos, truth, ground_z=0.035, blend_frames=3)
    for a, b in phases(truth):
        seg = pinned[a:b]
        np.testing.assert_allclose(seg, seg[:1].repeat(b - a, 0))
        np.testing.assert_allclose(seg[0, :2], pos[a:b, :2].mean(axis=0))
        assert seg[0, 2] == 0.035
    # swing frames far from the phases are untouched; blend frames lie in between
    a, b = phases(truth)[1]
    np.testing.assert_allclose(pinned[b + 10], pos[b + 10])
    assert np.linalg.norm(pinned[b] - pos[b]) < np.linalg.norm(pinned[b - 1] - pos[b])


def test_clamp_above_and_smoothers():
    p = np.array([[0.0, 0.0, -0.1], [0.0, 0.0, 0.2]])
    assert clamp_above(p, 0.0)[:, 2].tolist() == [0.0, 0.2]
    t = np.linspace(0, 1, 51)
    cubic = 2 * t**3 - t
    np.testing.assert_allclose(savgol(cubic, 7, 3), cubic, atol=1e-9)  # zero phase, no lag
    spike = np.zeros(30)
    spike[10] = 1.0
    env = upper_envelope(spike, 5)
    assert np.all(env >= spike) and env[10] == 1.0
    assert odd_window(0.1, 50.0, 100) == 5 and odd_window(0.0, 50.0, 100) == 0
    assert odd_window(1.0, 50.0, 8) == 7


def _stairs(rise: float, cycles: int = 4, stance: int = 30, swing: int = 20):
    """Two feet (heel, toe each: P = 4) climbing stairs step over step: each foot stands for
    ``stance`` frames, then swings 2 treads (2 x ``rise``) up in ``swing`` frames; the feet
    alternate with double support. Heel points stand at z = tread, toes 0.12 m ahead."""
    T = cycles * (stance + swing) + stance
    pts = np.zeros((T, 4, 3))
    truth = np.zeros((T, 2), dtype=bool)
    for f, lag in ((0, 0), (1, (stance + swing) // 2)):
        x, z, t = 0.3 * f, rise * f, -lag
        while t < T:
            a, b = max(t, 0), min(t + stance, T)
            pts[a:b, 2 * f] = [x, 0.1 * f, z]
            truth[a:b, f] = True
            for i in range(swing):
                if 0 <= t + stance + i < T:
                    s = (i + 1) / swing
                    pts[t + stance + i, 2 * f] = [x + 0.6 * s, 0.1 * f,
                                                  z + 2 * rise * s + 0.1 * np.sin(np.pi * s)]
            x, z, t = x + 0.6, z + 2 * rise, t + stance + swing
    pts[:, 1::2] = pts[:, 0::2] + [0.12, 0.0, 0.0]
    return pts, truth


def test_flat_clip_ground_is_zero_and_lifted_body_stays_flat():
    rng = np.random.default_rng(2)
    pos, _ = _gait(rng)
    pts = np.stack([pos, pos + [0.12, 0, 0], np.roll(pos, 25, 0), np.roll(pos, 25, 0)], axis=1)
    ground, flat = ground_levels(pts, np.zeros(4), FPS, ContactConfig())
    assert flat and not ground.any()
    # both feet lifted together (a jump, a lifted body) is no evidence of a step
    still = np.zeros((60, 4, 3))
    still[20:40, :, 2] = 0.2
    ground, flat = ground_levels(still, np.zeros(4), FPS, ContactConfig())
    assert flat and not ground.any()


def test_stairs_ground_follows_the_stance_feet():
    pts, truth = _stairs(rise=0.15)
    ground, flat = ground_levels(pts, np.zeros(4), FPS, ContactConfig())
    assert not flat
    for f in range(2):
        for a, b in phases(truth[:, f]):
            np.testing.assert_allclose(ground[a + 2 : b - 2, 2 * f], pts[a, 2 * f, 2], atol=1e-9)
    contacts = detect_contacts(pts, np.zeros(4), FPS, ContactConfig())
    assert (~contacts.any(axis=1)).mean() == 0.0  # never airborne on stairs
    for f in range(2):
        got, want = phases(contacts[:, 2 * f]), phases(truth[:, f])
        assert len(got) == len(want)
        assert all(abs(a - c) <= 2 and abs(b - d) <= 2 for (a, b), (c, d) in zip(got, want))
    # against a flat floor the stance feet on higher treads would count as airborne
    flat_contacts = detect_contacts(pts, np.zeros(4), FPS, ContactConfig(), np.zeros((len(pts), 4)))
    assert (~flat_contacts.any(axis=1)).mean() > 0.5
    env = support_envelope(ground[:, :2], contacts[:, :2])
    assert np.all(env <= pts[:, 0, 2] + 1e-9)  # the swinging foot never goes below its support


def test_pin_foot_is_rigid_and_holds_the_stance():
    rng = np.random.default_rng(4)
    T, off = 40, np.array([0.12, 0.0, -0.03])
    ankle = np.column_stack([np.linspace(0, 0.05, T), np.zeros(T), np.full(T, 0.04)])
    ankle += rng.normal(0, 0.003, (T, 3))
    yaw = 0.1 * np.sin(np.linspace(0, 3, T))
    pitch = np.linspace(0.0, 0.4, T)
    z, y = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    q = quat.mul(quat.from_axis_angle(z, yaw), quat.from_axis_angle(y, pitch))
    heel = np.zeros(T, dtype=bool)
    heel[5:20] = True
    toe = np.zeros(T, dtype=bool)
    toe[10:30] = True
    a2, t2, q2 = pin_foot(ankle, q, heel, toe, off, np.full(T, 0.035), np.full(T, 0.005), 3)
    np.testing.assert_allclose(t2, a2 + quat.rotate(q2, off), atol=1e-12)  # one rigid foot
    np.testing.assert_allclose(a2[5:20], np.repeat(a2[5:6], 15, 0), atol=1e-12)  # heel pivot
    np.testing.assert_allclose(t2[10:30], np.repeat(t2[10:11], 20, 0), atol=1e-12)  # toe pivot
    assert a2[5, 2] == 0.035 and abs(t2[10, 2] - 0.005) < 1e-12
    np.testing.assert_allclose(quat.yaw(q2[5:30]), quat.yaw(q2[5]), atol=1e-9)  # heading held
    assert quat.angle_between(q2[10:20], quat.IDENTITY).max() < 0.1  # ~level when flat
    np.testing.assert_allclose(a2[34:], ankle[34:])  # free motion past the blend
    np.testing.assert_allclose(q2[34:], q[34:], atol=1e-12)
