"""Foot contacts: detection from height and speed (with hysteresis) and stance pinning.

A foot has two contact points, heel side (the ankle key point) and toe, each detected on its own:
flat-foot stance has both, heel strike only the heel, push-off only the toe. A point enters
contact when it is low *and* slow, and leaves it when it is high *or* fast (hysteresis), so a
noisy threshold crossing does not chatter. Heights are relative to the ground (z = 0) minus the
point's height when the foot stands flat; speeds are horizontal (m/s), central differences.

Pinning holds each contact point fixed during each stance phase: x, y at the phase mean and z at
the point's flat-foot height; a few frames on either side blend linearly into the free motion
so the targets have no step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContactConfig:
    """Thresholds of contact detection (heights in m above the flat-foot height, speeds m/s)."""

    height_on: float = 0.03
    """A point may enter contact below this height."""
    height_off: float = 0.05
    """A point leaves contact above this height."""
    speed_on: float = 0.35
    """A point may enter contact below this horizontal speed."""
    speed_off: float = 0.7
    """A point leaves contact above this horizontal speed."""
    min_frames: int = 3
    """Shorter contact phases are dropped (flicker)."""
    blend_frames: int = 3
    """Frames on each side of a stance phase that blend the pinned point into the free motion."""


def horizontal_speed(pos: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speed (m/s) of a point [T, 3] -> [T], central differences (one-sided at ends)."""
    if pos.shape[0] < 2:
        return np.zeros(pos.shape[0])
    vel = np.gradient(pos[:, :2], axis=0) * fps
    return np.linalg.norm(vel, axis=-1)


def hysteresis(height: np.ndarray, speed: np.ndarray, cfg: ContactConfig) -> np.ndarray:
    """Contact mask [T] bool of one point from its height (m) and horizontal speed (m/s)."""
    T = height.shape[0]
    mask = np.zeros(T, dtype=bool)
    state = False
    for t in range(T):
        if state:
            state = not (height[t] > cfg.height_off or speed[t] > cfg.speed_off)
        else:
            state = bool(height[t] < cfg.height_on and speed[t] < cfg.speed_on)
        mask[t] = state
    return drop_short(mask, cfg.min_frames)


def phases(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in ``mask`` [T] as half-open frame ranges ``(start, stop)``."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def drop_short(mask: np.ndarray, min_frames: int) -> np.ndarray:
    """``mask`` without runs of True shorter than ``min_frames``."""
    out = np.asarray(mask, dtype=bool).copy()
    for a, b in phases(out):
        if b - a < min_frames:
            out[a:b] = False
    return out


def detect_contacts(
    points: np.ndarray, flat_heights: np.ndarray, fps: float, cfg: ContactConfig
) -> np.ndarray:
    """Contact masks [T, P] of P points [T, P, 3] (world, ground z = 0).

    ``flat_heights`` [P]: the height (m) of each point when its foot stands flat on the ground.
    """
    out = np.zeros(points.shape[:2], dtype=bool)
    for p in range(points.shape[1]):
        h = points[:, p, 2] - flat_heights[p]
        out[:, p] = hysteresis(h, horizontal_speed(points[:, p], fps), cfg)
    return out


def pin_point(pos: np.ndarray, mask: np.ndarray, ground_z: float, blend_frames: int) -> np.ndarray:
    """Hold a point [T, 3] still during each contact phase of ``mask`` [T].

    Inside a phase: x, y = the phase's mean, z = ``ground_z``. Up to ``blend_frames`` frames
    before and after a phase (not inside another phase) move linearly from the pinned position to
    the free one. Returns a new array.
    """
    out = np.array(pos, dtype=np.float64)
    T = out.shape[0]
    mask = np.asarray(mask, dtype=bool)
    for a, b in phases(mask):
        pin = np.array([*pos[a:b, :2].mean(axis=0), ground_z])
        out[a:b] = pin
        for k in range(1, blend_frames + 1):
            w = 1.0 - k / (blend_frames + 1)  # weight of the pinned position
            for t in (a - k, b - 1 + k):
                if 0 <= t < T and not mask[t]:
                    out[t] = w * pin + (1.0 - w) * out[t]
    return out


def clamp_above(pos: np.ndarray, min_z: float) -> np.ndarray:
    """A copy of points [..., 3] with z raised to at least ``min_z``."""
    out = np.array(pos, dtype=np.float64)
    out[..., 2] = np.maximum(out[..., 2], min_z)
    return out
