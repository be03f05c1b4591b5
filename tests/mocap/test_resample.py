"""Resampling by interpolation: exact for constant velocity and rotation rate; no relabelling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mocap import quat
from mocap.resample import resample, resample_times
from mocap.types import CANONICAL_JOINTS, CANONICAL_PARENT_INDICES, HumanMotion

J = len(CANONICAL_JOINTS)
VEL = np.array([1.2, -0.3, 0.05])  # m/s
OMEGA = 2.5  # rad/s, about a fixed axis
AXIS = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])


def analytic(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions [N, J, 3] moving at VEL from a fixed rest layout, rotations [N, J, 4] turning at
    OMEGA about AXIS from joint-specific start orientations (so signs and offsets differ)."""
    rng = np.random.default_rng(7)
    rest = rng.normal(size=(J, 3))
    start = quat.normalize(rng.normal(size=(J, 4)))
    pos = rest[None] + times[:, None, None] * VEL
    turn = quat.from_axis_angle(AXIS, OMEGA * times)  # [N, 4]
    rot = quat.mul(turn[:, None], start[None])
    return pos, rot


def motion_at(fps: float, duration: float, flip_signs: bool = True) -> HumanMotion:
    times = np.arange(math.floor(duration * fps + 1e-9) + 1) / fps
    pos, rot = analytic(times)
    if flip_signs:  # quaternion sign is arbitrary per frame: resampling must not care
        rot = rot * np.where(np.arange(len(times)) % 3 == 1, -1.0, 1.0)[:, None, None]
    return HumanMotion(
        fps=fps, joint_names=CANONICAL_JOINTS, parents=CANONICAL_PARENT_INDICES,
        positions=pos, rotations=rot, source="synthetic", sha256="0" * 64, meta={"format": "test"},
    )  # fmt: skip


@pytest.mark.parametrize(("src", "dst"), [(120.0, 50.0), (120.0, 30.0), (30.0, 120.0), (50, 60)])
def test_constant_velocity_and_rotation_rate_are_exact(src: float, dst: float) -> None:
    m = motion_at(src, 2.0)
    r = resample(m, dst)
    times = np.arange(r.num_frames) / dst
    pos, rot = analytic(times)
    np.testing.assert_allclose(r.positions, pos, atol=1e-12)
    assert quat.angle_between(r.rotations, rot).max() < 1e-9
    assert r.fps == dst and r.meta["source_fps"] == src and r.meta["resampled"] is True
    assert r.meta["format"] == "test" and r.source == m.source and r.sha256 == m.sha256
    assert r.joint_names == m.joint_names
    np.testing.assert_array_equal(r.parents, m.parents)


@pytest.mark.parametrize("frames", [121, 120, 2, 361])
def test_frame_count_120_to_50(frames: int) -> None:
    m = motion_at(120.0, (frames - 1) / 120.0)
    assert m.num_frames == frames
    r = resample(m, 50.0)
    assert r.num_frames == math.floor(m.duration * 50.0) + 1
    assert r.duration <= m.duration + 1e-12
    # Speed is preserved (never relabelled): 121 frames at 120 fps (1 s) -> 51 frames at 50 fps.
    if frames > 2:
        vel = np.diff(r.positions[:, 0], axis=0) * r.fps
        np.testing.assert_allclose(vel, np.tile(VEL, (r.num_frames - 1, 1)), atol=1e-9)


def test_1s_at_120_gives_51_frames_and_times() -> None:
    np.testing.assert_allclose(resample_times(121, 120.0, 50.0), np.arange(51) / 50.0)
    assert len(resample_times(1, 120.0, 50.0)) == 1


def test_identity_when_fps_equal() -> None:
    m = motion_at(60.0, 1.0)
    r = resample(m, 60.0)
    np.testing.assert_array_equal(r.positions, m.positions)
    np.testing.assert_array_equal(r.rotations, m.rotations)
    assert r.positions is not m.positions and r.meta["source_fps"] == 60.0
    assert r.meta["resampled"] is False and "source_fps" not in m.meta


def test_upsampling_keeps_source_frames_and_midpoints() -> None:
    m = motion_at(30.0, 1.0)
    r = resample(m, 120.0)
    assert r.num_frames == 121
    np.testing.assert_allclose(r.positions[::4], m.positions, atol=1e-12)
    assert quat.angle_between(r.rotations[::4], m.rotations).max() < 1e-9
    # A midpoint rotation is half-way (slerp), not a normalised average of unequal weights.
    mid = quat.angle_between(m.rotations[0], r.rotations[2])
    assert mid == pytest.approx(0.5 * OMEGA / 30.0, abs=1e-9)


def test_chain_keeps_original_source_fps_and_no_rotations() -> None:
    m = motion_at(120.0, 1.0)
    m.rotations = None
    r = resample(resample(m, 60.0), 50.0)
    assert r.rotations is None and r.meta["source_fps"] == 120.0 and r.num_frames == 51


def test_single_frame_and_bad_fps() -> None:
    m = motion_at(120.0, 0.0)
    r = resample(m, 50.0)
    assert r.num_frames == 1
    np.testing.assert_array_equal(r.positions, m.positions)
    with pytest.raises(ValueError, match="target fps"):
        resample(motion_at(120.0, 1.0), 0.0)
