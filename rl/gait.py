"""Gait-cycle analysis from foot contacts and foot positions: steps, strides and their statistics.

Inputs (frame layout of the dataset and rollouts): ``foot_contacts`` [T, 2] bool (left, right),
``foot_pos`` [T, 2, 3] world-frame positions (m, Z up) of the feet (the key bodies
``left/right_ankle_roll_link``), at ``fps`` frames per second.

Definitions (frame k is time k / fps):

- touchdown of a foot: frame k with contact[k] and not contact[k-1]; lift-off: not contact[k]
  and contact[k-1]. :func:`clean_contacts` removes contact or swing runs shorter than a few
  frames first (sensor flicker).
- stride (one per foot and pair of consecutive touchdowns of that foot): stride time (s), stride
  length = horizontal distance between the two touchdown positions (m), stance time = touchdown
  to lift-off (s), duty factor = stance / stride time, speed = length / time (m/s), swing
  clearance = highest foot point during the swing minus the higher of the two stance heights
  around it (median height in the stance before, height at the next touchdown) (m), stance slip =
  largest horizontal distance of the foot from its touchdown position during the stance (m).
- step (a touchdown whose previous touchdown was of the other foot): step time = time since the
  contralateral touchdown (s), step length = distance between the feet at touchdown along the
  direction of this foot's stride (m). A "left step" ends with a left touchdown.
- cadence = steps per minute = 60 / mean step time (120 / mean stride time without steps).
- double-support share: fraction of frames with both feet in contact, flight share: with
  neither, both over the frames spanned by complete strides.
- symmetry index of a left/right quantity: SI = 100 |L - R| / (0.5 (L + R)) (%), 0 for a
  perfectly symmetric gait.

Reference comparison: :func:`reference_curve` bins the reference clips' strides by speed and
:func:`interp_reference` reads a value at the policy's speed (NaN outside the reference range).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rl.metrics import GaitSummary, Motion, SpeedBandRow

#: Default speed bands (m/s) for aggregation: standing/shuffling, slow, normal, fast walk, run.
DEFAULT_SPEED_BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 0.3),
    (0.3, 0.6),
    (0.6, 0.9),
    (0.9, 1.2),
    (1.2, 1.6),
    (1.6, 2.5),
    (2.5, 5.0),
)

#: Foot key bodies of the G1 (left, right), as in ``retarget.g1_params.FOOT_BODIES``.
FOOT_BODIES = ("left_ankle_roll_link", "right_ankle_roll_link")


class GaitError(ValueError):
    """Inputs that cannot be analysed (wrong shapes, unknown foot bodies)."""


def foot_positions(
    key_body_pos: np.ndarray, key_bodies: Sequence[str], foot_bodies: Sequence[str] = FOOT_BODIES
) -> np.ndarray:
    """[T, 2, 3] foot positions (left, right) picked out of ``key_body_pos`` [T, K, 3]."""
    names = list(key_bodies)
    missing = [b for b in foot_bodies if b not in names]
    if missing:
        raise GaitError(f"foot bodies {missing} not among the key bodies {names}")
    return np.asarray(key_body_pos)[:, [names.index(b) for b in foot_bodies], :]


def clean_contacts(contacts: np.ndarray, min_frames: int = 2) -> np.ndarray:
    """Remove contact and swing runs shorter than ``min_frames`` (flip them), per foot.

    ``contacts`` [T] or [T, F] bool. Runs touching the first or last frame are kept (they may
    be cut by the window). Short runs are removed in order of length, shortest first.
    """
    c = np.asarray(contacts, dtype=bool).copy()
    if c.ndim == 1:
        return _clean_1d(c, min_frames)
    for f in range(c.shape[1]):
        c[:, f] = _clean_1d(c[:, f], min_frames)
    return c


def _runs(c: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of runs of equal values, end exclusive."""
    edges = np.flatnonzero(np.diff(c.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [c.size]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _clean_1d(c: np.ndarray, min_frames: int) -> np.ndarray:
    if c.size == 0 or min_frames <= 1:
        return c
    while True:
        runs = [(s, e) for s, e in _runs(c) if s > 0 and e < c.size and e - s < min_frames]
        if not runs:
            return c
        s, e = min(runs, key=lambda r: r[1] - r[0])
        c[s:e] = ~c[s]


def contact_events(contact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(touchdown frames, lift-off frames) of one foot's contact sequence [T] bool."""
    c = np.asarray(contact, dtype=bool)
    d = np.diff(c.astype(np.int8))
    return np.flatnonzero(d == 1) + 1, np.flatnonzero(d == -1) + 1


@dataclass(frozen=True)
class Strides:
    """Per-stride values (one entry per stride, both feet); times s, lengths m, speed m/s."""

    foot: np.ndarray  # [S] int, 0 left, 1 right
    start: np.ndarray  # [S] int, touchdown frame
    end: np.ndarray  # [S] int, next touchdown frame of the same foot
    stride_time: np.ndarray
    stride_length: np.ndarray
    stance_time: np.ndarray
    duty_factor: np.ndarray
    speed: np.ndarray
    clearance: np.ndarray
    slip: np.ndarray

    def __len__(self) -> int:
        return int(self.foot.size)

    @property
    def cadence(self) -> np.ndarray:
        """Per-stride cadence, steps per minute = 120 / stride time."""
        return 120.0 / self.stride_time

    def select(self, mask: np.ndarray) -> Strides:
        return Strides(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})

    @staticmethod
    def concatenate(parts: Sequence[Strides]) -> Strides:
        if not parts:
            return _empty_strides()
        return Strides(
            **{
                k: np.concatenate([getattr(p, k) for p in parts])
                for k in Strides.__dataclass_fields__
            }
        )


def _empty_strides() -> Strides:
    i, f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Strides(i, i, i, f, f, f, f, f, f, f)


@dataclass(frozen=True)
class Steps:
    """Per-step values: a touchdown preceded by a contralateral touchdown on an earlier frame."""

    foot: np.ndarray  # [N] int, foot that touched down
    frame: np.ndarray  # [N] int
    step_time: np.ndarray  # [N] s
    step_length: np.ndarray  # [N] m (NaN when no travel direction is known)


@dataclass(frozen=True)
class GaitAnalysis:
    """Steps and strides of one motion plus the frame span they cover."""

    fps: float
    strides: Strides
    steps: Steps
    double_support: float
    """Share of frames in [first stride start, last stride end) with both feet down."""
    flight: float
    """Share of those frames with no foot down."""


def _stride_direction(xy: np.ndarray, tds: np.ndarray, i: int) -> np.ndarray | None:
    """Unit travel direction of the stride ending at touchdown i (or starting there)."""
    for a, b in ((i - 1, i), (i, i + 1)):
        if 0 <= a and b < tds.size:
            d = xy[tds[b]] - xy[tds[a]]
            n = float(np.linalg.norm(d))
            if n > 1e-6:
                return d / n
    return None


def analyze_gait(
    foot_contacts: np.ndarray,
    foot_pos: np.ndarray,
    fps: float,
    min_phase_frames: int = 2,
) -> GaitAnalysis:
    """Steps and strides of a motion (see the module docstring for the definitions).

    Args:
        foot_contacts: [T, 2] bool, (left, right).
        foot_pos: [T, 2, 3] m, world frame, Z up.
        fps: frames per second.
        min_phase_frames: contact/swing runs shorter than this are treated as flicker.
    """
    contacts = np.asarray(foot_contacts, dtype=bool)
    pos = np.asarray(foot_pos, dtype=np.float64)
    if contacts.ndim != 2 or contacts.shape[1] != 2:
        raise GaitError(f"foot_contacts must be [T, 2], got {contacts.shape}")
    if pos.shape != (contacts.shape[0], 2, 3):
        raise GaitError(
            f"foot_pos must be [T, 2, 3] = {(contacts.shape[0], 2, 3)}, got {pos.shape}"
        )
    contacts = clean_contacts(contacts, min_phase_frames)

    parts: list[Strides] = []
    all_td: list[tuple[int, int]] = []
    for f in (0, 1):
        tds, los = contact_events(contacts[:, f])
        all_td.extend((int(k), f) for k in tds)
        xy, z = pos[:, f, :2], pos[:, f, 2]
        rows = []
        for i in range(tds.size - 1):
            a, b = int(tds[i]), int(tds[i + 1])
            lo = los[(los > a) & (los < b)]
            if lo.size == 0:
                continue
            lo0 = int(lo[0])
            stance_h = float(np.median(z[a:lo0]))
            clearance = float(np.max(z[lo0:b])) - max(stance_h, float(z[b]))
            slip = float(np.max(np.linalg.norm(xy[a:lo0] - xy[a], axis=-1)))
            length = float(np.linalg.norm(xy[b] - xy[a]))
            t = (b - a) / fps
            stance = (lo0 - a) / fps
            rows.append((f, a, b, t, length, stance, stance / t, length / t, clearance, slip))
        if rows:
            arr = np.array(rows, dtype=np.float64)
            parts.append(
                Strides(
                    foot=arr[:, 0].astype(np.int64),
                    start=arr[:, 1].astype(np.int64),
                    end=arr[:, 2].astype(np.int64),
                    stride_time=arr[:, 3],
                    stride_length=arr[:, 4],
                    stance_time=arr[:, 5],
                    duty_factor=arr[:, 6],
                    speed=arr[:, 7],
                    clearance=arr[:, 8],
                    slip=arr[:, 9],
                )
            )
    strides = Strides.concatenate(parts)
    order = np.argsort(strides.start, kind="stable")
    strides = strides.select(order)

    # Steps: alternating touchdowns.
    all_td.sort()
    tds_per_foot = {f: np.array([k for k, g in all_td if g == f], dtype=np.int64) for f in (0, 1)}
    s_foot, s_frame, s_time, s_len = [], [], [], []
    for (k0, f0), (k1, f1) in itertools.pairwise(all_td):
        if f0 == f1 or k1 == k0:
            continue  # same foot twice, or both feet landing together (a hop or a fall): no step
        i = int(np.searchsorted(tds_per_foot[f1], k1))
        d = _stride_direction(pos[:, f1, :2], tds_per_foot[f1], i)
        sep = pos[k1, f1, :2] - pos[k1, f0, :2]
        s_foot.append(f1)
        s_frame.append(k1)
        s_time.append((k1 - k0) / fps)
        s_len.append(float(np.dot(sep, d)) if d is not None else math.nan)
    steps = Steps(
        foot=np.array(s_foot, dtype=np.int64),
        frame=np.array(s_frame, dtype=np.int64),
        step_time=np.array(s_time, dtype=np.float64),
        step_length=np.array(s_len, dtype=np.float64),
    )

    if len(strides):
        lo, hi = int(strides.start.min()), int(strides.end.max())
        window = contacts[lo:hi]
        both = float(np.mean(window.all(axis=1)))
        none = float(np.mean(~window.any(axis=1)))
    else:
        both = none = math.nan
    return GaitAnalysis(fps=fps, strides=strides, steps=steps, double_support=both, flight=none)


def analyze_motion(
    motion: Motion,
    key_bodies: Sequence[str],
    foot_bodies: Sequence[str] = FOOT_BODIES,
    min_phase_frames: int = 2,
) -> GaitAnalysis:
    """:func:`analyze_gait` on a clip or rollout (feet picked from its key bodies)."""
    feet = foot_positions(motion.key_body_pos, key_bodies, foot_bodies)
    return analyze_gait(motion.foot_contacts, feet, motion.fps, min_phase_frames)


def symmetry_index(left: float, right: float) -> float:
    """SI = 100 |L - R| / (0.5 (L + R)) in %; NaN when either side is missing or both are 0."""
    if not (math.isfinite(left) and math.isfinite(right)) or left + right == 0:
        return math.nan
    return 100.0 * abs(left - right) / (0.5 * abs(left + right))


def _mean(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def summarize_gait(analyses: GaitAnalysis | Sequence[GaitAnalysis]) -> GaitSummary:
    """Pool one or more analyses into a :class:`rl.metrics.GaitSummary` (NaN where undefined).

    Double-support and flight shares are averaged weighted by the number of strides. Steps
    count only in analyses with at least one stride: feet landing one after the other in an
    episode that never completes a gait cycle (a fall) are not walking, and their step times
    (a frame or two) would read as a cadence of thousands of steps per minute.
    """
    items = [analyses] if isinstance(analyses, GaitAnalysis) else list(analyses)
    st = Strides.concatenate([a.strides for a in items])
    walked = [a for a in items if len(a.strides)]
    step_foot = np.concatenate([a.steps.foot for a in walked]) if walked else np.zeros(0, int)
    step_time = np.concatenate([a.steps.step_time for a in walked]) if walked else np.zeros(0)
    step_len = np.concatenate([a.steps.step_length for a in walked]) if walked else np.zeros(0)
    weights = np.array([len(a.strides) for a in items], dtype=np.float64)
    ds = np.array([a.double_support for a in items])
    fl = np.array([a.flight for a in items])
    ok = weights > 0
    if step_time.size:
        cadence = 60.0 / float(step_time.mean())
    elif len(st):
        cadence = 120.0 / float(st.stride_time.mean())
    else:
        cadence = math.nan
    left, right = step_foot == 0, step_foot == 1
    return GaitSummary(
        n_strides=len(st),
        speed_mps=_mean(st.speed),
        cadence_spm=cadence,
        stride_time_s=_mean(st.stride_time),
        stride_length_m=_mean(st.stride_length),
        duty_factor=_mean(st.duty_factor),
        double_support=float(np.average(ds[ok], weights=weights[ok])) if ok.any() else math.nan,
        flight=float(np.average(fl[ok], weights=weights[ok])) if ok.any() else math.nan,
        step_time_si=symmetry_index(_mean(step_time[left]), _mean(step_time[right])),
        step_length_si=symmetry_index(_mean(step_len[left]), _mean(step_len[right])),
        clearance_m=_mean(st.clearance),
        slip_m=_mean(st.slip),
    )


# ----------------------------------------------------------------------------------------------
# Speed bands and reference comparison
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReferenceCurve:
    """Median of a stride quantity per speed bin of the reference clips."""

    speed: np.ndarray  # [B] m/s, median stride speed of each non-empty bin (increasing)
    value: np.ndarray  # [B] median value in the bin
    count: np.ndarray  # [B] strides per bin


def reference_curve(
    speed: np.ndarray, value: np.ndarray, bin_width: float = 0.1, min_count: int = 1
) -> ReferenceCurve:
    """Bin reference strides by speed (bins of ``bin_width`` m/s centred on its multiples) and
    take medians per bin."""
    s, v = np.asarray(speed, dtype=np.float64), np.asarray(value, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(v)
    s, v = s[ok], v[ok]
    if s.size == 0:
        return ReferenceCurve(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
    idx = np.round(s / bin_width).astype(np.int64)
    speeds, values, counts = [], [], []
    for b in np.unique(idx):
        m = idx == b
        if m.sum() >= min_count:
            speeds.append(float(np.median(s[m])))
            values.append(float(np.median(v[m])))
            counts.append(int(m.sum()))
    order = np.argsort(speeds)
    return ReferenceCurve(
        np.asarray(speeds)[order], np.asarray(values)[order], np.asarray(counts)[order]
    )


def interp_reference(
    curve: ReferenceCurve, speed: float | np.ndarray, margin: float = 0.1
) -> np.ndarray:
    """Reference value at ``speed`` (m/s), linear between bins, constant within ``margin`` m/s
    beyond the end bins, NaN further out (no extrapolation into speeds the clips never show)."""
    sp = np.asarray(speed, dtype=np.float64)
    if curve.speed.size == 0:
        return np.full(sp.shape, math.nan)
    out = np.interp(sp, curve.speed, curve.value)
    outside = (sp < curve.speed[0] - margin) | (sp > curve.speed[-1] + margin) | ~np.isfinite(sp)
    return np.where(outside, math.nan, out)


def gait_by_speed(
    strides: Strides,
    reference: Strides | None = None,
    bands: Sequence[tuple[float, float]] = DEFAULT_SPEED_BANDS,
    bin_width: float = 0.1,
) -> list[SpeedBandRow]:
    """Per speed band (by stride speed): mean speed, cadence, stride length and duty factor of
    ``strides``, and the reference values at the band's mean speed (NaN without reference).
    Empty bands are left out."""
    curves = None
    if reference is not None and len(reference):
        curves = {
            "cadence": reference_curve(reference.speed, reference.cadence, bin_width),
            "length": reference_curve(reference.speed, reference.stride_length, bin_width),
            "duty": reference_curve(reference.speed, reference.duty_factor, bin_width),
        }
    rows: list[SpeedBandRow] = []
    for lo, hi in bands:
        m = (strides.speed >= lo) & (strides.speed < hi)
        if not m.any():
            continue
        sub = strides.select(m)
        v = float(sub.speed.mean())

        def ref(key: str, v: float = v) -> float:
            return float(interp_reference(curves[key], v)) if curves else math.nan

        rows.append(
            SpeedBandRow(
                speed_lo=float(lo),
                speed_hi=float(hi),
                n_strides=len(sub),
                speed_mps=v,
                cadence_spm=float(sub.cadence.mean()),
                stride_length_m=float(sub.stride_length.mean()),
                duty_factor=float(sub.duty_factor.mean()),
                ref_cadence_spm=ref("cadence"),
                ref_stride_length_m=ref("length"),
                ref_duty_factor=ref("duty"),
            )
        )
    return rows


# ----------------------------------------------------------------------------------------------
# Gait-cycle normalisation
# ----------------------------------------------------------------------------------------------
def cycle_normalize(
    signal: np.ndarray, strides: Strides, foot: int = 0, n_points: int = 101
) -> np.ndarray:
    """Resample ``signal`` [T, D] over each stride of ``foot`` onto ``n_points`` samples of the
    gait cycle (0 % = touchdown, 100 % = next touchdown of that foot): [C, n_points, D]."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    sel = strides.select(strides.foot == foot)
    out = np.zeros((len(sel), n_points, x.shape[1]))
    phase = np.linspace(0.0, 1.0, n_points)
    for c, (a, b) in enumerate(zip(sel.start.tolist(), sel.end.tolist(), strict=True)):
        t = a + phase * (b - a)
        frames = np.arange(a, b + 1)
        for d in range(x.shape[1]):
            out[c, :, d] = np.interp(t, frames, x[a : b + 1, d])
    return out


# ----------------------------------------------------------------------------------------------
# Synthetic gait (tests, demos)
# ----------------------------------------------------------------------------------------------
def synthetic_gait(
    speed: float = 1.2,
    cadence: float = 120.0,
    duty: float = 0.6,
    duration: float = 10.0,
    fps: float = 100.0,
    limp: float = 0.0,
    clearance: float = 0.08,
    slip: float = 0.0,
    ankle_height: float = 0.05,
    step_width: float = 0.2,
) -> dict[str, np.ndarray]:
    """Straight walk along +x with exactly known gait values (for tests and demos).

    Stride time ``Ts = 120 / cadence`` s; left touchdowns at ``k Ts``, right touchdowns at
    ``(k + 0.5 + limp) Ts`` (``limp`` != 0 makes the left step time ``(0.5 - limp) Ts`` and the
    right one ``(0.5 + limp) Ts``: an asymmetric, limping gait). Each stance lasts ``duty Ts``;
    the foot touches down where the body is (x = speed * t) so the stride length is
    ``speed * Ts``; during stance the foot slides ``slip`` m forward; during swing it rises
    ``clearance`` m (half sine) above ``ankle_height``.

    Returns ``foot_contacts`` [T, 2] bool, ``foot_pos`` [T, 2, 3], ``root_pos`` [T, 3], ``fps``.
    """
    ts = 120.0 / cadence
    n = round(duration * fps)
    t = np.arange(n) / fps
    contacts = np.zeros((n, 2), dtype=bool)
    pos = np.zeros((n, 2, 3))
    offsets = (0.0, 0.5 + limp)
    for f in (0, 1):
        pos[:, f, 1] = step_width / 2 if f == 0 else -step_width / 2
        tds = (np.arange(-2, int(duration / ts) + 3) + offsets[f]) * ts
        k = np.searchsorted(tds, t, side="right") - 1  # index of the last touchdown <= t
        td = tds[k]
        nxt = tds[k + 1]
        tau = t - td
        stance = tau < duty * ts - 1e-9
        contacts[:, f] = stance
        x_td = speed * td
        x_lo = x_td + slip
        swing_s = np.clip((tau - duty * ts) / (nxt - td - duty * ts), 0.0, 1.0)
        x_swing = x_lo + (speed * nxt - x_lo) * 0.5 * (1 - np.cos(np.pi * swing_s))
        x_stance = x_td + slip * np.clip(tau / (duty * ts), 0.0, 1.0)
        pos[:, f, 0] = np.where(stance, x_stance, x_swing)
        pos[:, f, 2] = ankle_height + np.where(stance, 0.0, clearance * np.sin(np.pi * swing_s))
    root = np.stack([speed * t, np.zeros(n), np.full(n, 0.75)], axis=-1)
    return {"foot_contacts": contacts, "foot_pos": pos, "root_pos": root, "fps": np.float64(fps)}


def synthetic_frames(
    speed: float = 1.2,
    cadence: float = 120.0,
    duration: float = 6.0,
    fps: float = 50.0,
    limp: float = 0.0,
    joint_amplitude: float = 1.0,
    duty: float = 0.6,
    root_height: float = 0.75,
) -> dict[str, np.ndarray]:
    """A full motion in the dataset's frame layout built on :func:`synthetic_gait` (G1 joint
    order and key bodies from ``retarget.g1_params``): root walking along +x at ``speed``,
    identity orientation, leg joints following the gait phase (amplitudes scaled by
    ``joint_amplitude``), feet as key bodies 0 and 1. For tests of the metrics and the report.

    Returns ``fps``, ``root_pos`` [T, 3], ``root_quat`` [T, 4], ``root_lin_vel`` [T, 3],
    ``root_ang_vel`` [T, 3], ``dof_pos`` / ``dof_vel`` [T, 29], ``key_body_pos`` [T, K, 3],
    ``foot_contacts`` [T, 2].
    """
    from retarget.g1_params import JOINT_NAMES, KEY_BODIES

    g = synthetic_gait(speed=speed, cadence=cadence, duty=duty, duration=duration, fps=fps,
                       limp=limp)  # fmt: skip
    n = g["foot_contacts"].shape[0]
    t = np.arange(n) / fps
    ts = 120.0 / cadence
    dof = np.zeros((n, len(JOINT_NAMES)))
    for side, offset in (("left", 0.0), ("right", 0.5 + limp)):
        phase = 2 * np.pi * ((t / ts - offset) % 1.0)
        amp = joint_amplitude
        dof[:, JOINT_NAMES.index(f"{side}_hip_pitch_joint")] = -0.35 * amp * np.cos(phase) - 0.1
        dof[:, JOINT_NAMES.index(f"{side}_knee_joint")] = 0.3 + 0.35 * amp * (1 - np.cos(phase))
        dof[:, JOINT_NAMES.index(f"{side}_ankle_pitch_joint")] = -0.2 * amp * np.sin(phase)
        dof[:, JOINT_NAMES.index(f"{side}_shoulder_pitch_joint")] = 0.25 * amp * np.cos(phase)
    root = g["root_pos"].copy()
    root[:, 2] = root_height
    key = np.repeat(root[:, None, :], len(KEY_BODIES), axis=1)
    feet = [KEY_BODIES.index(b) for b in FOOT_BODIES]
    key[:, feet] = g["foot_pos"]
    vel = np.zeros((n, 3))
    vel[:, 0] = speed
    return {
        "fps": np.float64(fps),
        "root_pos": root,
        "root_quat": np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)),
        "root_lin_vel": vel,
        "root_ang_vel": np.zeros((n, 3)),
        "dof_pos": dof,
        "dof_vel": np.gradient(dof, 1.0 / fps, axis=0),
        "key_body_pos": key,
        "foot_contacts": g["foot_contacts"],
    }
