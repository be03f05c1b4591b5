"""Foot contact detection (hysteresis) and stance pinning on synthetic foot trajectories."""

from __future__ import annotations

import numpy as np

from retarget.contacts import (
    ContactConfig,
    clamp_above,
    detect_contacts,
    hysteresis,
    phases,
    pin_point,
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
