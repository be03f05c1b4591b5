"""Foot contacts: detection from height and speed (with hysteresis) and stance pinning.

A foot has two contact points, heel side (the ankle key point) and toe, each detected on its own:
flat-foot stance has both, heel strike only the heel, push-off only the toe. A point enters
contact when it is low *and* slow, and leaves it when it is high *or* fast (hysteresis), so a
noisy threshold crossing does not chatter. Heights are the point's height minus its height when
the foot stands flat on the *local ground*; speeds are horizontal (m/s), central differences.

The local ground (:func:`ground_levels`). Without a terrain model, the stance foot is the
ground: a point that stands still (3-D speed below ``still_speed`` for ``min_frames``) marks a
support level (the median height of that still run). Unless the two feet often stand still on
levels more than ``flat_tol_m`` apart (one foot on a higher step than the other), the clip is
*flat* and the ground is z = 0 everywhere, so flat clips (and gently sloping capture floors)
behave exactly as with a floor. Otherwise (stairs, steps, uneven ground) each frame's ground
under a point is the level of the point's still run that contains the frame, and the lower of
the neighbouring runs' levels between runs; contact detection, pinning, ground clearance and the
penetration metric then use that stance-height envelope instead of z = 0.

Pinning (:func:`pin_foot`) treats each foot as a rigid body: during a contact phase the foot has
one flat pose (heading and position); the heel is the pivot while it touches, the toe otherwise,
and the orientation target keeps the phase's heading (level while heel and toe both touch), so
heel, toe and orientation targets never contradict each other (the IK otherwise trades them
against each other and the stance foot slides). A few frames on either side blend linearly into
the free motion so the targets have no step. :func:`pin_point` pins a single point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap import quat


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
    still_speed: float = 0.3
    """A point slower than this (m/s, 3-D) for ``min_frames`` frames stands on a support level."""
    flat_tol_m: float = 0.05
    """Two standing feet whose levels differ by more than this (m) stand on different levels."""
    max_off_floor_fraction: float = 0.25
    """Flat clip: below this fraction of the both-feet-standing frames on different levels."""


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


def still_runs(pos: np.ndarray, fps: float, cfg: ContactConfig) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of at least ``min_frames`` frames where a point [T, 3] stands still
    (3-D speed below ``cfg.still_speed``, m/s)."""
    if pos.shape[0] < 2:
        return []
    speed = np.linalg.norm(np.gradient(pos, axis=0), axis=-1) * fps
    return phases(drop_short(speed < cfg.still_speed, cfg.min_frames))


def ground_levels(
    points: np.ndarray, flat_heights: np.ndarray, fps: float, cfg: ContactConfig
) -> tuple[np.ndarray, bool]:
    """Local ground height [T, P] (m, world z) under each of P points [T, P, 3], and whether
    the clip is flat (then the ground is 0 everywhere). See the module docstring.

    ``flat_heights`` [P]: each point's height above the ground when its foot stands flat.
    Consecutive pairs of points are one foot (heel, toe); an odd P makes each point a foot.
    Evidence of non-flat ground: frames where both feet stand still (some point of each in a
    still run) on levels more than ``flat_tol_m`` apart (one foot on a higher step), for at
    least ``max_off_floor_fraction`` of the frames where both stand and ``2 * min_frames``
    frames. Both feet rising together (a jump, a lifted body) is no evidence: without a terrain
    model that cannot be told from being lifted, so such clips stay flat.
    """
    T, P = points.shape[:2]
    ground = np.zeros((T, P))
    runs, levels = [], []
    level = np.full((T, P), np.nan)  # level of the still run containing each frame (NaN: none)
    for p in range(P):
        r = still_runs(points[:, p], fps, cfg)
        lv = [float(np.median(points[a:b, p, 2])) - float(flat_heights[p]) for a, b in r]
        runs.append(r)
        levels.append(lv)
        for (a, b), v in zip(r, lv, strict=True):
            level[a:b, p] = v
    feet = [(p, p + 1) for p in range(0, P, 2)] if P % 2 == 0 else [(p,) for p in range(P)]
    if len(feet) < 2:
        return ground, True
    lv = np.where(np.isnan(level), np.inf, level)
    foot_level = np.stack([lv[:, list(f)].min(axis=1) for f in feet], axis=1)  # [T, feet]
    both = np.all(np.isfinite(foot_level), axis=1)
    fl = foot_level[both]
    mismatch = int(np.sum(fl.max(axis=1) - fl.min(axis=1) > cfg.flat_tol_m))
    if mismatch < max(2 * cfg.min_frames, cfg.max_off_floor_fraction * int(both.sum())):
        return ground, True
    for p in range(P):
        ground[:, p] = _envelope(T, runs[p], levels[p])
    return ground, False


def _envelope(T: int, runs: list[tuple[int, int]], levels: list[float]) -> np.ndarray:
    """[T] piecewise level: a run's level inside it, the lower of the two neighbouring runs'
    levels between runs, the first / last run's level before / after all runs (0: no runs)."""
    out = np.zeros(T)
    if not runs:
        return out
    for (a, b), v in zip(runs, levels, strict=True):
        out[a:b] = v
    out[: runs[0][0]] = levels[0]
    out[runs[-1][1] :] = levels[-1]
    for i in range(len(runs) - 1):
        out[runs[i][1] : runs[i + 1][0]] = min(levels[i], levels[i + 1])
    return out


def detect_contacts(
    points: np.ndarray,
    flat_heights: np.ndarray,
    fps: float,
    cfg: ContactConfig,
    ground: np.ndarray | None = None,
) -> np.ndarray:
    """Contact masks [T, P] of P points [T, P, 3] (world, Z up).

    ``flat_heights`` [P]: the height (m) of each point when its foot stands flat on the ground.
    ``ground`` [T, P]: the local ground height (m) under each point; None: estimated by
    :func:`ground_levels` (z = 0 on flat clips, the stance-height envelope otherwise).
    """
    if ground is None:
        ground, _ = ground_levels(points, flat_heights, fps, cfg)
    out = np.zeros(points.shape[:2], dtype=bool)
    for p in range(points.shape[1]):
        h = points[:, p, 2] - flat_heights[p] - ground[:, p]
        out[:, p] = hysteresis(h, horizontal_speed(points[:, p], fps), cfg)
    return out


def support_envelope(ground: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """Ground under a foot [T] from its points' ground [T, n] and contacts [T, n].

    In a contact phase of the foot the phase's median level; between two phases the lower of the
    two levels (the foot swings between those supports and never needs to go below the lower).
    """
    g = np.asarray(ground, dtype=np.float64).min(axis=1)
    ph = phases(np.asarray(contacts, dtype=bool).any(axis=1))
    if not ph:
        return g
    return _envelope(g.shape[0], ph, [float(np.median(g[a:b])) for a, b in ph])


def blend_weights(mask: np.ndarray, blend_frames: int) -> np.ndarray:
    """Weight [T] in [0, 1] of the pinned value: 1 inside the phases of ``mask`` [T], falling
    linearly to 0 over ``blend_frames`` frames on each side (the larger where two ramps meet)."""
    mask = np.asarray(mask, dtype=bool)
    w = mask.astype(np.float64)
    T = w.shape[0]
    for a, b in phases(mask):
        for k in range(1, blend_frames + 1):
            v = 1.0 - k / (blend_frames + 1)
            for t in (a - k, b - 1 + k):
                if 0 <= t < T:
                    w[t] = max(w[t], v)
    return w


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


def clamp_above(pos: np.ndarray, min_z: float | np.ndarray) -> np.ndarray:
    """A copy of points [..., 3] with z raised to at least ``min_z`` (a number or [...])."""
    out = np.array(pos, dtype=np.float64)
    out[..., 2] = np.maximum(out[..., 2], min_z)
    return out


def _wrap(a: np.ndarray) -> np.ndarray:
    """Angles (rad) wrapped to (-pi, pi]."""
    return np.angle(np.exp(1j * np.asarray(a, dtype=np.float64)))


def stance_orientation(
    q: np.ndarray, heel: np.ndarray, toe: np.ndarray, blend_frames: int
) -> np.ndarray:
    """Foot orientation targets [T, 4] (w, x, y, z) made consistent with pinned contacts.

    The human foot keeps turning a little while it stands (heading drift, roll, a heel that
    rises before the contact detector lets it go); the pinned heel and toe points cannot follow,
    so an unchanged orientation target makes the IK trade the pins against it, and the stance
    foot slides. Here ``q = Rz(yaw) * tilt``; during every contact phase of the foot
    (``heel | toe`` [T] bool) the yaw is held at the phase's circular mean, and while both
    points touch (flat foot) the tilt is levelled to identity. Both changes blend in and out
    over ``blend_frames`` frames like :func:`pin_point`; elsewhere ``q`` is unchanged.
    """
    q = quat.normalize(np.asarray(q, dtype=np.float64))
    heel = np.asarray(heel, dtype=bool)
    toe = np.asarray(toe, dtype=bool)
    z = np.array([0.0, 0.0, 1.0])
    yaw = quat.yaw(q)
    tilt = quat.mul(quat.from_axis_angle(z, -yaw), q)
    held = yaw.copy()
    any_contact = heel | toe
    for a, b in phases(any_contact):
        mean = float(np.angle(np.exp(1j * yaw[a:b]).mean()))
        lo, hi = max(0, a - blend_frames), min(len(yaw), b + blend_frames)
        held[lo:hi] = mean
    w_yaw = blend_weights(any_contact, blend_frames)
    new_yaw = yaw + w_yaw * _wrap(held - yaw)
    w_flat = blend_weights(heel & toe, blend_frames)
    ident = np.broadcast_to(quat.IDENTITY, tilt.shape)
    new_tilt = quat.slerp(tilt, ident, w_flat)
    return quat.normalize(quat.mul(quat.from_axis_angle(z, new_yaw), new_tilt))


def pin_foot(
    ankle: np.ndarray,
    q: np.ndarray,
    heel: np.ndarray,
    toe: np.ndarray,
    toe_offset_b: np.ndarray,
    ankle_z: np.ndarray,
    toe_z: np.ndarray,
    blend_frames: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pin one foot as a rigid body: ankle and toe targets [T, 3] and orientation [T, 4].

    The foot is (ankle point ``A``, orientation ``q`` (w, x, y, z)); its toe point is
    ``A + R(q) toe_offset_b``. During each contact phase of the foot (``heel | toe`` [T] bool;
    heel = the ankle-side point) the foot has one flat pose: heading ``psi`` (the circular mean
    of the phase's yaw) and flat ankle position ``A0`` (x, y: the mean of the ankle in heel-contact
    frames and of ``toe - Rz(psi) toe_offset`` in toe-contact frames; z: ``ankle_z`` [T], the
    ankle's flat-foot height over the local ground, taken at the phase's edge frame in the
    blends). Then

    * heel in contact: ``A = A0`` (the heel is the pivot: heel strike, flat foot);
    * toe only: ``A = P_toe - R(q) toe_offset`` with ``P_toe = A0 + Rz(psi) offset`` at height
      ``toe_z`` (the foot rolls over the pinned toe: push-off, toe-first landing);
    * orientation: heading ``psi`` throughout the phase, level while both points touch, the
      human's tilt otherwise.

    So the heel, toe and orientation targets always describe one rigid foot and the pins of
    heel and toe agree; the free motion blends in linearly over ``blend_frames`` frames on each
    side (the anchor of the phase's first / last frame continues into the blend). Outside
    phases and blends the inputs pass unchanged (toe = ankle + R(q) offset).
    """
    ankle = np.asarray(ankle, dtype=np.float64)
    heel = np.asarray(heel, dtype=bool)
    toe = np.asarray(toe, dtype=bool)
    off = np.asarray(toe_offset_b, dtype=np.float64)
    T = ankle.shape[0]
    z_axis = np.array([0.0, 0.0, 1.0])
    q = quat.normalize(np.asarray(q, dtype=np.float64))
    yaw = quat.yaw(q)
    tilt = quat.mul(quat.from_axis_angle(z_axis, -yaw), q)
    toe_free = ankle + quat.rotate(q, off)
    foot = heel | toe
    w = blend_weights(foot, blend_frames)
    held_yaw = yaw.copy()
    anchor_pos = np.zeros((T, 3))  # ankle pin (heel anchor) or toe pin (toe anchor)
    anchor_toe = np.zeros(T, dtype=bool)
    for a, b in phases(foot):
        psi = float(np.angle(np.exp(1j * yaw[a:b]).mean()))
        off_flat = quat.rotate(quat.from_axis_angle(z_axis, psi), off)  # level foot, heading psi
        samples = [ankle[a:b][heel[a:b], :2], toe_free[a:b][toe[a:b], :2] - off_flat[:2]]
        a0 = np.concatenate(samples).mean(axis=0)
        lo, hi = max(0, a - blend_frames), min(T, b + blend_frames)
        held_yaw[lo:hi] = psi
        for t in range(lo, hi):
            if w[t] <= 0.0:
                continue
            k = min(max(t, a), b - 1)  # blend frames continue the edge frame's anchor
            if heel[k]:
                anchor_pos[t] = [a0[0], a0[1], ankle_z[k]]
            else:
                anchor_toe[t] = True
                anchor_pos[t] = [a0[0] + off_flat[0], a0[1] + off_flat[1], toe_z[k]]
    new_yaw = yaw + w * _wrap(held_yaw - yaw)
    ident = np.broadcast_to(quat.IDENTITY, tilt.shape)
    new_tilt = quat.slerp(tilt, ident, blend_weights(heel & toe, blend_frames))
    q_out = quat.normalize(quat.mul(quat.from_axis_angle(z_axis, new_yaw), new_tilt))
    rot_off = quat.rotate(q_out, off)
    pinned = np.where(anchor_toe[:, None], anchor_pos - rot_off, anchor_pos)
    ankle_out = np.where((w > 0)[:, None], w[:, None] * pinned + (1 - w[:, None]) * ankle, ankle)
    return ankle_out, ankle_out + rot_off, q_out
