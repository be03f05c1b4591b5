"""Resampling a :class:`~mocap.types.HumanMotion` to another frame rate, by interpolation.

The new frames sit at ``t_k = k / fps`` seconds for ``k = 0 .. floor(duration * fps)``, where
``duration = (T - 1) / motion.fps``; so a 1 s clip at 120 fps (121 frames) becomes 51 frames at
50 fps. Positions are interpolated linearly in time (exact for constant velocity), rotations by
spherical linear interpolation between the two neighbouring source frames (exact for a rotation
about a fixed axis at a constant rate), after making the source quaternions sign-continuous.
Frames are never relabelled: a clip keeps its duration and its speeds.
"""

from __future__ import annotations

import math

import numpy as np

from mocap import quat
from mocap.types import HumanMotion


def resample_times(num_frames: int, fps_src: float, fps: float) -> np.ndarray:
    """Times (s) of the resampled frames: ``k / fps`` for ``k = 0 .. floor(duration * fps)``.

    ``duration = (num_frames - 1) / fps_src``. A tiny tolerance keeps ``(T - 1) / fps_src * fps``
    that should be an integer (121 frames at 120 fps to 50 fps: 50) from losing a frame.
    """
    if num_frames < 1:
        raise ValueError("cannot resample a clip with no frames")
    if not (fps > 0.0 and math.isfinite(fps)):
        raise ValueError(f"target fps must be positive and finite, got {fps!r}")
    duration = (num_frames - 1) / fps_src
    count = math.floor(duration * fps + 1e-9) + 1
    return np.arange(count, dtype=np.float64) / fps


def _bracket(times: np.ndarray, num_frames: int, fps_src: float) -> tuple[np.ndarray, np.ndarray]:
    """Index of the source frame at or before each time [N] and the fraction towards the next."""
    s = times * fps_src
    if num_frames == 1:
        return np.zeros(len(times), dtype=np.int64), np.zeros(len(times))
    i0 = np.clip(np.floor(s + 1e-9).astype(np.int64), 0, num_frames - 2)
    frac = np.clip(s - i0, 0.0, 1.0)
    return i0, frac


def resample(motion: HumanMotion, fps: float) -> HumanMotion:
    """``motion`` at ``fps`` frames per second, same duration, interpolated (never relabelled).

    Positions [T, J, 3] interpolate linearly, rotations [T, J, 4] by slerp; joint names,
    parents, source and sha256 are kept. ``meta`` gains ``source_fps`` (the rate of the original
    capture, kept through repeated resampling) and ``resampled`` (True when the rate changed).
    When ``fps`` equals ``motion.fps`` the frames are copied unchanged.
    """
    fps = float(fps)
    meta = dict(motion.meta)
    meta.setdefault("source_fps", float(motion.fps))
    if fps == motion.fps:
        meta.setdefault("resampled", False)
        return HumanMotion(
            fps=motion.fps,
            joint_names=motion.joint_names,
            parents=motion.parents.copy(),
            positions=motion.positions.copy(),
            rotations=None if motion.rotations is None else motion.rotations.copy(),
            source=motion.source,
            sha256=motion.sha256,
            meta=meta,
        )
    times = resample_times(motion.num_frames, motion.fps, fps)
    i0, frac = _bracket(times, motion.num_frames, motion.fps)
    i1 = np.minimum(i0 + 1, motion.num_frames - 1)
    w = frac[:, None, None]  # [N, 1, 1]
    positions = (1.0 - w) * motion.positions[i0] + w * motion.positions[i1]
    rotations = None
    if motion.rotations is not None:
        rot = quat.make_continuous(motion.rotations, axis=0)
        rotations = quat.slerp(rot[i0], rot[i1], frac[:, None])
    meta["resampled"] = True
    return HumanMotion(
        fps=fps,
        joint_names=motion.joint_names,
        parents=motion.parents.copy(),
        positions=positions,
        rotations=rotations,
        source=motion.source,
        sha256=motion.sha256,
        meta=meta,
    )
