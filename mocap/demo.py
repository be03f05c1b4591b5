"""Synthetic demo gaits: BVH clips of a human walking, running, turning and on stairs.

With no user clips the pipeline synthesises these clips so the whole DAG runs on a fresh machine.
They are labelled synthetic everywhere (sidecar ``<clip>.meta.json``: ``"synthetic": true``) and
they are the test oracle: speed, cadence, stride length, duty factor, yaw rate and stair geometry
are known exactly.

How a clip is built (all vectorised NumPy, deterministic, no randomness):

1. Timing from published speed relations: walking step length ``~ v^0.42`` (Kuo 2001, fitted to
   Grieve 1968), anchored at the adult free-walking means of Perry & Burnfield (2010); stance
   fraction falling with speed (Kirtley et al. 1985); running cadence and duty factor from
   Cavanagh & Kram (1989) / Novacheck (1998); stairs from Riener et al. (2002). ``speed =
   stride_length * cadence / 120`` holds by construction.
2. Normative joint-angle curves over the gait cycle (key points per gait, below), time-warped to
   the clip's stance fraction and scaled with speed, drive the pelvis (tilt, obliquity, rotation),
   the stance knee (which sets the pelvis height), the swing leg, the trunk and the arm swing.
3. Feet planted: each stance places the foot at a fixed world pose; the foot rolls heel ->
   flat -> ball (heel rocker about the heel point, forefoot rocker about the toe joint, the toes
   staying flat), so the pivot never slides. The pelvis travels along an analytic path with a
   zero-mean speed fluctuation (two per stride), so its mean speed is exactly the target. Its
   height comes from the stance leg(s) (blended over double support, a cubic over flight). Each
   leg then reaches its foot pose by analytic IK (hip 3 DoF, knee hinge, ankle 3 DoF); swing feet
   follow the normative swing, blended onto the lift-off and touch-down poses and lifted where
   needed to clear the ground (or the stair nosing).

Frames: BVH file axes, Y up, the walker starts at the origin facing +Z with its left on +X;
lengths in metres in memory and centimetres in the file.

Anthropometry: Winter (2009), segment lengths as fractions of height H (Drillis & Contini):
thigh 0.245H, shank 0.246H, ankle height 0.039H, foot length 0.152H, upper arm 0.186H, forearm
0.146H, hand 0.108H, shoulder height 0.818H, chin 0.870H.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from mocap import quat
from mocap.bvh_write import (
    BvhSkeleton,
    euler_from_matrix,
    forward_kinematics,
    unwrap_euler_deg,
    write_bvh,
)
from mocap.fileio import write_json

GENERATOR = "gaitforge.demo"

#: Citations for the data the demo gaits are built from.
SOURCES: dict[str, str] = {
    "anthropometry": "Winter DA (2009) Biomechanics and Motor Control of Human Movement, 4th ed., "
    "Wiley, Fig. 4.1 segment lengths as fractions of height (after Drillis & Contini 1966)",
    "walk": "Winter DA (2009) Biomechanics and Motor Control of Human Movement, ch. 4 and "
    "appendix (natural cadence sagittal hip/knee/ankle); Perry J, Burnfield JM (2010) Gait "
    "Analysis: Normal and Pathological Function, 2nd ed. (gait phases, pelvis, free-walking "
    "velocity 82 m/min, cadence 113 steps/min, stride 1.41 m); Kadaba MP et al. (1990) J Orthop "
    "Res 8:383-392 (pelvis tilt/obliquity/rotation)",
    "walk_speed": "Kuo AD (2001) J Biomech Eng 123:264-269 (step length ~ speed^0.42, fitted to "
    "Grieve DW (1968) Biomed Eng 3:119-122); Kirtley C, Whittle MW, Jefferson RJ (1985) J Biomed "
    "Eng 7:282-288 (stance fraction vs speed); Lelas JL et al. (2003) Gait Posture 17:106-112 "
    "(peak angles vs speed)",
    "arms": "Murray MP, Sepic SB, Barnard EJ (1967) Phys Ther 47:272-284 (sagittal shoulder and "
    "elbow rotation in walking)",
    "run": "Novacheck TF (1998) Gait Posture 7:77-95 (running kinematics, stance ~36-40%); "
    "Cavanagh PR, Kram R (1989) Med Sci Sports Exerc 21:467-479 (stride length and rate vs speed)",
    "stairs": "McFadyen BJ, Winter DA (1988) J Biomech 21:733-744; Riener R, Rabuffetti M, "
    "Frigo C (2002) Gait Posture 15:32-44 (stair ascent/descent kinematics and cadence)",
}

# ----------------------------------------------------------------------------------------------
# Normative curves: key points (percent of the gait cycle from heel strike, degrees), read to
# about +-3 degrees from the mean curves of the sources above. Hip flexion is the thigh relative
# to a pelvis of zero mean tilt (clinical hip flexion minus the ~10 deg mean anterior tilt);
# knee flexion positive; ankle dorsiflexion positive. ``stance`` is the stance fraction the
# curve was recorded at (toe-off), used to time-warp it to a clip's own stance fraction.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaitCurves:
    """Sagittal joint-angle key points of one gait (percent of cycle, degrees)."""

    name: str
    stance: float
    hip: tuple[tuple[float, float], ...]
    knee: tuple[tuple[float, float], ...]
    ankle: tuple[tuple[float, float], ...]
    source: str


WALK_CURVES = GaitCurves(
    name="walk", stance=0.61, source=SOURCES["walk"],
    hip=((0, 24), (10, 20), (20, 12), (30, 4), (40, -4), (50, -11), (55, -12), (60, -8),
         (65, -1), (70, 8), (75, 16), (80, 22), (86, 27), (92, 26), (100, 24)),
    knee=((0, 4), (5, 10), (10, 16), (15, 18), (20, 16), (30, 9), (40, 5), (45, 6), (50, 10),
          (55, 19), (60, 34), (65, 48), (70, 58), (73, 60), (77, 58), (82, 48), (87, 32),
          (92, 16), (96, 6), (100, 4)),
    ankle=((0, 0), (4, -4), (8, -5), (12, -2), (20, 3), (30, 7), (40, 10), (46, 11), (50, 8),
           (55, 0), (60, -12), (63, -16), (66, -15), (70, -10), (75, -5), (80, -2), (85, 0),
           (92, 1), (100, 0)),
)  # fmt: skip

RUN_CURVES = GaitCurves(
    name="run", stance=0.38, source=SOURCES["run"],
    hip=((0, 33), (10, 26), (20, 12), (30, 0), (38, -8), (45, -6), (55, 8), (65, 25), (75, 38),
         (85, 42), (92, 38), (100, 33)),
    knee=((0, 18), (8, 32), (15, 40), (25, 30), (36, 17), (45, 30), (55, 60), (65, 85), (72, 90),
          (80, 75), (88, 45), (95, 25), (100, 18)),
    ankle=((0, 5), (8, 12), (15, 20), (25, 12), (33, -5), (38, -18), (45, -14), (55, -3),
           (65, 5), (75, 8), (85, 6), (100, 5)),
)  # fmt: skip

STAIRS_UP_CURVES = GaitCurves(
    name="stairs_up", stance=0.64, source=SOURCES["stairs"],
    hip=((0, 58), (10, 52), (20, 40), (30, 26), (40, 15), (50, 8), (60, 7), (66, 14), (75, 40),
         (85, 60), (92, 62), (100, 58)),
    knee=((0, 58), (10, 52), (20, 35), (30, 20), (40, 12), (50, 9), (60, 15), (66, 35), (73, 75),
          (80, 95), (86, 90), (93, 72), (100, 58)),
    ankle=((0, 12), (10, 16), (20, 12), (30, 8), (40, 6), (50, 2), (58, -10), (64, -18),
           (70, -8), (78, 5), (86, 15), (93, 15), (100, 12)),
)  # fmt: skip

STAIRS_DOWN_CURVES = GaitCurves(
    name="stairs_down", stance=0.62, source=SOURCES["stairs"],
    hip=((0, 12), (10, 10), (20, 8), (30, 9), (40, 12), (50, 20), (60, 30), (70, 38), (80, 32),
         (90, 20), (100, 12)),
    knee=((0, 10), (8, 20), (15, 30), (25, 38), (35, 45), (45, 60), (55, 80), (62, 90), (70, 92),
          (78, 75), (86, 45), (93, 20), (100, 10)),
    ankle=((0, -20), (6, -5), (15, 10), (30, 15), (45, 20), (55, 25), (62, 12), (70, -10),
           (80, -25), (90, -25), (100, -20)),
)  # fmt: skip

CURVES: dict[str, GaitCurves] = {
    c.name: c for c in (WALK_CURVES, RUN_CURVES, STAIRS_UP_CURVES, STAIRS_DOWN_CURVES)
}

#: Reference walking: Perry & Burnfield free walking, stride 1.41 m at 113 steps/min.
WALK_REF_STRIDE_M = 1.41
WALK_REF_CADENCE_SPM = 113.0
WALK_REF_SPEED_MPS = WALK_REF_STRIDE_M * WALK_REF_CADENCE_SPM / 120.0
#: Kuo (2001): step length grows with speed^0.42 at preferred walking.
WALK_STEP_EXPONENT = 0.42
#: Running at 2.5 m/s: ~160 steps/min (Cavanagh & Kram 1989), cadence ~ speed^0.2.
RUN_REF_SPEED_MPS = 2.5
RUN_REF_CADENCE_SPM = 160.0
RUN_CADENCE_EXPONENT = 0.2
#: Stairs (Riener et al. 2002): self-selected cadence, steps/min.
STAIRS_CADENCE_SPM = {"stairs_up": 90.0, "stairs_down": 96.0}


def walk_cadence_spm(speed_mps: float) -> float:
    """Preferred walking cadence (steps/min) at ``speed_mps`` (stride ~ speed^0.42)."""
    stride = WALK_REF_STRIDE_M * (speed_mps / WALK_REF_SPEED_MPS) ** WALK_STEP_EXPONENT
    return 120.0 * speed_mps / stride


def walk_duty_factor(speed_mps: float) -> float:
    """Stance fraction of the gait cycle in walking (Kirtley et al. 1985: ~0.64 slow, ~0.59 fast)."""
    return float(np.clip(0.655 - 0.04 * speed_mps, 0.55, 0.68))


def run_cadence_spm(speed_mps: float) -> float:
    """Running cadence (steps/min): ~160 at 2.5 m/s, rising slowly with speed."""
    return RUN_REF_CADENCE_SPM * (speed_mps / RUN_REF_SPEED_MPS) ** RUN_CADENCE_EXPONENT


def run_duty_factor(speed_mps: float) -> float:
    """Stance fraction in running (Novacheck 1998: ~0.36 jogging, falling with speed)."""
    return float(np.clip(0.36 * (RUN_REF_SPEED_MPS / speed_mps) ** 0.3, 0.22, 0.45))


# ----------------------------------------------------------------------------------------------
# Body model
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """Segment dimensions (metres) from Winter's fractions of height ``height_m``."""

    height_m: float = 1.75

    @property
    def thigh(self) -> float:
        return 0.245 * self.height_m

    @property
    def shank(self) -> float:
        return 0.246 * self.height_m

    @property
    def ankle_height(self) -> float:
        return 0.039 * self.height_m

    @property
    def foot_length(self) -> float:
        return 0.152 * self.height_m

    @property
    def heel_back(self) -> float:
        """Heel behind the ankle, along the foot."""
        return 0.19 * self.foot_length

    @property
    def ball_forward(self) -> float:
        """Toe (metatarsophalangeal) joint ahead of the ankle."""
        return 0.54 * self.foot_length

    @property
    def toe_length(self) -> float:
        return 0.27 * self.foot_length

    @property
    def mtp_height(self) -> float:
        """Toe joint centre above the sole."""
        return 0.3 * self.ankle_height

    @property
    def hip_half_width(self) -> float:
        """Half the hip-joint-centre spacing (0.18 m at 1.75 m)."""
        return 0.0515 * self.height_m

    @property
    def hip_drop(self) -> float:
        """Hip joint centres below the pelvis (root) joint."""
        return 0.029 * self.height_m

    @property
    def leg_length(self) -> float:
        return self.thigh + self.shank

    def heel_point(self) -> np.ndarray:
        """Heel sole point in the foot (ankle) frame."""
        return np.array([0.0, -self.ankle_height, -self.heel_back])

    def toe_joint(self) -> np.ndarray:
        """Toe joint centre in the foot (ankle) frame."""
        return np.array([0.0, self.mtp_height - self.ankle_height, self.ball_forward])

    def toe_tip(self) -> np.ndarray:
        """Toe tip (sole level) in the toe frame."""
        return np.array([0.0, -self.mtp_height, self.toe_length])


def build_skeleton(body: Body) -> BvhSkeleton:
    """The demo skeleton with MotionBuilder joint names, metres, rest pose standing, arms down.

    Root ``Hips`` rotates in ``YXZ`` order (heading/pelvis rotation, tilt, obliquity); every
    other joint in ``ZXY`` (ab/adduction, flexion, axial rotation). Flexion of hip, shoulder,
    elbow, ankle dorsiflexion and toe extension are negative X rotations; knee flexion positive.
    """
    H = body.height_m
    joints: list[tuple[str, str | None, tuple[float, float, float], tuple | None]] = [
        ("Hips", None, (0.0, 0.0, 0.0), None),
        ("Spine", "Hips", (0.0, 0.057 * H, 0.0), None),
        ("Spine1", "Spine", (0.0, 0.100 * H, 0.0), None),
        ("Neck", "Spine1", (0.0, 0.105 * H, 0.0), None),
        ("Head", "Neck", (0.0, 0.050 * H, 0.0), (0.0, 0.129 * H, 0.0)),
    ]
    for side, s in (("Left", 1.0), ("Right", -1.0)):
        joints += [
            (f"{side}Shoulder", "Spine1", (s * 0.011 * H, 0.090 * H, 0.0), None),
            (f"{side}Arm", f"{side}Shoulder", (s * 0.0975 * H, 0.012 * H, 0.0), None),
            (f"{side}ForeArm", f"{side}Arm", (0.0, -0.186 * H, 0.0), None),
            (f"{side}Hand", f"{side}ForeArm", (0.0, -0.146 * H, 0.0), (0.0, -0.108 * H, 0.0)),
        ]
    for side, s in (("Left", 1.0), ("Right", -1.0)):
        joints += [
            (f"{side}UpLeg", "Hips", (s * body.hip_half_width, -body.hip_drop, 0.0), None),
            (f"{side}Leg", f"{side}UpLeg", (0.0, -body.thigh, 0.0), None),
            (f"{side}Foot", f"{side}Leg", (0.0, -body.shank, 0.0), None),
            (f"{side}ToeBase", f"{side}Foot", tuple(body.toe_joint()), tuple(body.toe_tip())),
        ]
    names = tuple(j[0] for j in joints)
    parents = tuple(-1 if j[1] is None else names.index(j[1]) for j in joints)
    return BvhSkeleton(
        names=names,
        parents=parents,
        offsets=np.array([j[2] for j in joints]),
        rotation_orders=tuple("YXZ" if p < 0 else "ZXY" for p in parents),
        end_sites=tuple(j[3] for j in joints),
    )


# ----------------------------------------------------------------------------------------------
# Clip specifications
# ----------------------------------------------------------------------------------------------

GAITS = ("walk", "run", "stairs_up", "stairs_down")


@dataclass(frozen=True)
class DemoSpec:
    """One synthetic clip.

    name: clip id (file stem).
    gait: ``walk``, ``run``, ``stairs_up`` or ``stairs_down``.
    speed_mps: mean horizontal pelvis speed along the path, m/s (stairs: None, from the tread and
        the stair cadence).
    yaw_rate_rps: constant heading rate, rad/s, positive = turning left (counter-clockwise seen
        from above).
    min_duration_s: the clip covers the fewest whole gait cycles lasting at least this long.
    step_height_m, tread_m: stair riser and tread (stairs only; 0 otherwise).
    height_m: subject height.
    """

    name: str
    gait: str
    speed_mps: float | None
    yaw_rate_rps: float = 0.0
    min_duration_s: float = 8.0
    step_height_m: float = 0.0
    tread_m: float = 0.0
    height_m: float = 1.75

    def __post_init__(self) -> None:
        if self.gait not in GAITS:
            raise ValueError(
                f"demo clip {self.name}: gait must be one of {GAITS}, got {self.gait!r}"
            )
        stairs = self.gait.startswith("stairs")
        if stairs and not (self.step_height_m > 0 and self.tread_m > 0):
            raise ValueError(f"demo clip {self.name}: stairs need step_height_m and tread_m > 0")
        if not stairs and not (self.speed_mps is not None and self.speed_mps > 0):
            raise ValueError(f"demo clip {self.name}: speed_mps must be positive")
        if stairs and self.yaw_rate_rps != 0.0:
            raise ValueError(f"demo clip {self.name}: stairs are straight (yaw_rate_rps = 0)")
        if self.gait == "walk" and not 0.3 <= self.speed_mps <= 2.0:
            raise ValueError(f"demo clip {self.name}: walking speed must be in 0.3-2.0 m/s")
        if self.gait == "run" and not 1.8 <= self.speed_mps <= 5.0:
            raise ValueError(f"demo clip {self.name}: running speed must be in 1.8-5.0 m/s")


def _walk(v: float) -> DemoSpec:
    return DemoSpec(name=f"walk_{v:.2f}", gait="walk", speed_mps=v)


#: The demo clips the pipeline synthesises, by clip id.
DEMO_CLIPS: dict[str, DemoSpec] = {
    s.name: s
    for s in (
        *(_walk(v) for v in (0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5)),
        DemoSpec(name="run_2.50", gait="run", speed_mps=2.5),
        DemoSpec(name="turn_left_1.00", gait="walk", speed_mps=1.0, yaw_rate_rps=0.5),
        DemoSpec(name="turn_right_1.00", gait="walk", speed_mps=1.0, yaw_rate_rps=-0.5),
        DemoSpec(name="stairs_up", gait="stairs_up", speed_mps=None, step_height_m=0.15,
                 tread_m=0.30),
        DemoSpec(name="stairs_down", gait="stairs_down", speed_mps=None, step_height_m=0.15,
                 tread_m=0.30),
    )
}  # fmt: skip


@dataclass(frozen=True)
class _Style:
    """Gait parameters that are not joint curves (amplitudes in degrees, lengths in metres)."""

    ankle_lead: float  # flat-foot ankle ahead of the hip at heel strike, fraction of step length
    foot_flat: float  # end of the heel rocker, fraction of stance
    heel_rise: float  # start of the forefoot rocker, fraction of stance
    step_width: float
    sway: float  # pelvis lateral sway amplitude toward the stance side
    speed_fluct: float  # relative pelvis speed fluctuation (two per stride)
    tilt: float
    obliquity: float
    rotation: float
    trunk_lean: float
    shoulder_mean: float
    shoulder_amp: float
    shoulder_abd: float
    elbow_mean: float
    elbow_amp: float
    hip_scale: float  # swing-hip amplitude factor
    knee_scale: float
    clearance: float  # minimum swing clearance of the sole over the ground or stair nosing
    toe_overhang: float = 0.0  # stair descent: planted toes reach this far past the nosing


def _style(gait: str, v: float, stride: float) -> _Style:
    """Speed-scaled style parameters of ``gait`` at speed ``v`` and stride length ``stride``."""
    if gait == "walk":
        r = v / WALK_REF_SPEED_MPS
        return _Style(
            ankle_lead=0.50, foot_flat=0.2, heel_rise=0.55, step_width=0.10,
            sway=float(np.clip(0.025 / np.sqrt(r), 0.015, 0.04)), speed_fluct=0.06,
            tilt=1.5, obliquity=float(np.clip(4.0 * np.sqrt(r), 2.0, 6.0)),
            rotation=float(np.clip(4.0 * r, 2.0, 7.0)), trunk_lean=2.0 + 2.0 * r,
            shoulder_mean=-5.0, shoulder_amp=float(np.clip(12.0 * r, 4.0, 20.0)),
            shoulder_abd=8.0, elbow_mean=18.0 + 6.0 * r, elbow_amp=float(np.clip(8.0 * r, 3, 12)),
            hip_scale=(stride / WALK_REF_STRIDE_M) ** 0.8, knee_scale=float(r**0.2),
            clearance=0.012,
        )  # fmt: skip
    if gait == "run":
        r = v / RUN_REF_SPEED_MPS
        return _Style(
            ankle_lead=0.22, foot_flat=0.2, heel_rise=0.45, step_width=0.06, sway=0.012,
            speed_fluct=0.05, tilt=3.0, obliquity=6.0, rotation=8.0, trunk_lean=8.0,
            shoulder_mean=-5.0, shoulder_amp=25.0 * r**0.5, shoulder_abd=12.0, elbow_mean=85.0,
            elbow_amp=12.0, hip_scale=float(r**0.5), knee_scale=1.0, clearance=0.03,
        )  # fmt: skip
    up = gait == "stairs_up"
    return _Style(
        ankle_lead=0.95 if up else 0.35, foot_flat=0.15 if up else 0.2,
        heel_rise=0.7 if up else 0.45, step_width=0.14, sway=0.03, speed_fluct=0.04, tilt=2.0,
        obliquity=4.0, rotation=3.0, trunk_lean=10.0 if up else 3.0, shoulder_mean=-3.0,
        shoulder_amp=5.0, shoulder_abd=8.0, elbow_mean=15.0, elbow_amp=4.0, hip_scale=1.0,
        knee_scale=1.0, clearance=0.03, toe_overhang=0.0 if up else 0.03,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Small rotation helpers (radians, BVH axes: X left, Y up, Z forward)
# ----------------------------------------------------------------------------------------------


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def _rx(a: np.ndarray) -> np.ndarray:
    return _rot(0, a)


def _ry(a: np.ndarray) -> np.ndarray:
    return _rot(1, a)


def _rz(a: np.ndarray) -> np.ndarray:
    return _rot(2, a)


def _apply(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m @ v`` over leading axes: m [..., 3, 3], v [..., 3] or [3]."""
    return np.einsum("...ij,...j->...i", m, v)


def _smooth(x: np.ndarray) -> np.ndarray:
    """Cubic smoothstep on [0, 1] (clipped)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _smoother(x: np.ndarray) -> np.ndarray:
    """Quintic smoothstep on [0, 1] (zero velocity and acceleration at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x**3 * (10.0 + x * (-15.0 + 6.0 * x))


def _periodic_spline(points: Sequence[tuple[float, float]]) -> CubicSpline:
    pts = np.asarray(points, dtype=np.float64)
    if pts[0, 0] != 0 or pts[-1, 0] != 100 or pts[0, 1] != pts[-1, 1]:
        raise ValueError("curve key points must run 0..100 % and be periodic")
    return CubicSpline(pts[:, 0] / 100.0, pts[:, 1], bc_type="periodic")


def _int_cos(k: float, t: np.ndarray) -> np.ndarray:
    """Integral of cos(k u) du from 0 to t."""
    return t if abs(k) < 1e-12 else np.sin(k * t) / k


def _int_sin(k: float, t: np.ndarray) -> np.ndarray:
    """Integral of sin(k u) du from 0 to t."""
    return np.zeros_like(t) if abs(k) < 1e-12 else (1.0 - np.cos(k * t)) / k


# ----------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DemoClip:
    """A synthesised clip: the BVH content plus what the tests need, metres, BVH axes (Y up).

    root_pos [T, 3]; local_euler_deg [T, J, 3] (joint j in ``skeleton.rotation_orders[j]``);
    positions [T, J, 3] and rotations [T, J, 4] from forward kinematics; stance [T, 2] (left,
    right) planted-foot masks; pivot [T, 2, 3] world position of each stance foot's rolling pivot
    (heel sole point or toe joint centre; NaN in swing); heel, toe_tip, ball [T, 2, 3] sole
    points of each foot; ground [T, 2] the ground height under each planted foot (NaN in swing).
    """

    spec: DemoSpec
    fps: float
    skeleton: BvhSkeleton
    body: Body
    root_pos: np.ndarray
    local_euler_deg: np.ndarray
    positions: np.ndarray
    rotations: np.ndarray
    stance: np.ndarray
    pivot: np.ndarray
    heel: np.ndarray
    ball: np.ndarray
    toe_tip: np.ndarray
    ground: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.num_frames) / self.fps


#: Least knee flexion of a planted leg (deg), so a stance foot is always within reach.
MIN_KNEE_DEG = 3.0
#: How fast (m/s^2) a leg's reach limit relaxes away from its stance, see :meth:`_Gait.root_y`.
REACH_RELAX = 3.0
#: Width (m) of the soft minimum that keeps the pelvis height smooth where a reach limit binds.
SOFTMIN_M = 0.003
#: Weight of the Hermite terms matching the planted foot's velocity at lift-off/touch-down in
#: the swing blend (0 = off). 1.0 smooths slow walking but over-flexes the stair-ascent swing.
VEL_MATCH = 0.0


class _Gait:
    """All the analytic functions of time of one clip (times in seconds, arrays [N])."""

    def __init__(self, spec: DemoSpec) -> None:
        self.spec = spec
        self.body = Body(spec.height_m)
        self.curves = CURVES[spec.gait]
        g = spec.gait
        if g == "walk":
            self.cadence = walk_cadence_spm(spec.speed_mps)
            self.duty = walk_duty_factor(spec.speed_mps)
            self.speed = float(spec.speed_mps)
        elif g == "run":
            self.cadence = run_cadence_spm(spec.speed_mps)
            self.duty = run_duty_factor(spec.speed_mps)
            self.speed = float(spec.speed_mps)
        else:
            self.cadence = STAIRS_CADENCE_SPM[g]
            self.duty = self.curves.stance
            self.speed = spec.tread_m * self.cadence / 60.0
        self.period = 120.0 / self.cadence  # stride time, s
        self.stride = self.speed * self.period
        self.step = 0.5 * self.stride
        self.omega = float(spec.yaw_rate_rps)
        self.style = _style(g, self.speed, self.stride)
        self.stair_dir = {"stairs_up": 1.0, "stairs_down": -1.0}.get(g, 0.0)
        c = self.curves
        self.hip_curve = _periodic_spline(c.hip)
        self.knee_curve = _periodic_spline(c.knee)
        self.ankle_curve = _periodic_spline(c.ankle)
        self.hip_mean = float(np.mean(self.hip_curve(np.linspace(0, 1, 200, endpoint=False))))
        b = self.body
        self.lead_time = self.style.ankle_lead * self.step / self.speed
        # Gap from the back of a tread to the planted heel: centred going up; going down the
        # foot sits forward with the toes over the nosing by ``style.toe_overhang``.
        spare = spec.tread_m - b.foot_length
        self.stair_margin = spare + self.style.toe_overhang if self.stair_dir < 0 else 0.5 * spare
        if spec.tread_m and spare <= 0.0:
            raise ValueError(f"demo clip {spec.name}: tread {spec.tread_m} m is shorter than the "
                             f"foot ({b.foot_length:.3f} m)")  # fmt: skip
        self.hip_offsets = np.array(
            [[s * b.hip_half_width, -b.hip_drop, 0.0] for s in (1.0, -1.0)]
        )  # [2, 3] left, right in the pelvis frame

    # --- timing ---------------------------------------------------------------------------
    def phase_offset(self, side: int) -> float:
        return 0.0 if side == 0 else 0.5

    def cycle(self, side: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(stance index k, fraction of the cycle since that heel strike) of ``side`` at t."""
        u = np.asarray(t, dtype=np.float64) / self.period - self.phase_offset(side)
        k = np.floor(u)
        return k.astype(np.int64), u - k

    def t_heel_strike(self, side: int, k: np.ndarray) -> np.ndarray:
        return (np.asarray(k, dtype=np.float64) + self.phase_offset(side)) * self.period

    def t_toe_off(self, side: int, k: np.ndarray) -> np.ndarray:
        return self.t_heel_strike(side, k) + self.duty * self.period

    def warp(self, frac: np.ndarray) -> np.ndarray:
        """Map a clip's cycle fraction onto the curve's, aligning toe-off."""
        b, b0 = self.duty, self.curves.stance
        return np.where(frac < b, frac * b0 / b, b0 + (frac - b) * (1.0 - b0) / (1.0 - b))

    # --- pelvis -----------------------------------------------------------------------------
    def heading(self, t: np.ndarray) -> np.ndarray:
        return self.omega * np.asarray(t, dtype=np.float64)

    def path(self, t: np.ndarray) -> np.ndarray:
        """Pelvis path [N, 3] (y = 0): speed v (1 + a cos(4 pi t / T)), heading omega t."""
        t = np.asarray(t, dtype=np.float64)
        v, a, w = self.speed, self.style.speed_fluct, self.omega
        big = 4.0 * np.pi / self.period
        fwd = _int_cos(w, t) + 0.5 * a * (_int_cos(w + big, t) + _int_cos(w - big, t))
        lat = _int_sin(w, t) + 0.5 * a * (_int_sin(w + big, t) + _int_sin(w - big, t))
        return np.stack([v * lat, np.zeros_like(t), v * fwd], axis=-1)

    def pelvis_angles(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(yaw, tilt, obliquity) radians: Euler YXZ of the pelvis; yaw includes the heading."""
        phi = np.asarray(t, dtype=np.float64) / self.period
        st = self.style
        rot = -np.deg2rad(st.rotation) * np.cos(2 * np.pi * phi)  # left side forward at left HS
        tilt = np.deg2rad(st.tilt) * np.cos(4 * np.pi * (phi - 0.45))
        obl = np.deg2rad(st.obliquity) * np.sin(2 * np.pi * (phi + 0.1))  # left up in left stance
        return self.heading(t) + rot, tilt, obl

    def pelvis_rot(self, t: np.ndarray) -> np.ndarray:
        yaw, tilt, obl = self.pelvis_angles(t)
        return _ry(yaw) @ _rx(tilt) @ _rz(obl)

    def root_xz(self, t: np.ndarray) -> np.ndarray:
        """Pelvis horizontal position [N, 3] (y = 0): path plus sway toward the stance foot."""
        t = np.asarray(t, dtype=np.float64)
        psi = self.heading(t)
        sway = self.style.sway * np.sin(2 * np.pi * t / self.period)
        left = np.stack([np.cos(psi), np.zeros_like(psi), -np.sin(psi)], axis=-1)
        return self.path(t) + sway[:, None] * left

    # --- nominal (normative) leg ----------------------------------------------------------------
    def leg_angles(self, side: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nominal (hip flexion, knee flexion, ankle dorsiflexion), radians, of ``side`` at t."""
        _, frac = self.cycle(side, t)
        u = self.warp(frac)
        st = self.style
        hip = self.hip_mean + st.hip_scale * (self.hip_curve(u) - self.hip_mean)
        knee = st.knee_scale * self.knee_curve(u)
        return np.deg2rad(hip), np.deg2rad(np.maximum(knee, 0.0)), np.deg2rad(self.ankle_curve(u))

    def nominal_foot(
        self, side: int, t: np.ndarray, root: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ankle position [N, 3] and foot rotation [N, 3, 3] of the nominal leg."""
        b = self.body
        hip, knee, ankle = self.leg_angles(side, t)
        rp = self.pelvis_rot(t)
        r_thigh = rp @ _rx(-hip)
        r_shank = r_thigh @ _rx(knee)
        pos = root + _apply(rp, self.hip_offsets[side])
        pos = pos + _apply(r_thigh, np.array([0.0, -b.thigh, 0.0]))
        pos = pos + _apply(r_shank, np.array([0.0, -b.shank, 0.0]))
        return pos, r_shank @ _rx(-ankle)

    def nominal_pitch(self, side: int, t: np.ndarray) -> np.ndarray:
        """Nominal foot pitch (radians, toes up positive) of ``side`` at t; position-free."""
        _, r = self.nominal_foot(side, t, np.zeros((np.size(t), 3)))
        return np.arcsin(np.clip(r[..., 1, 2], -1.0, 1.0))

    # --- plants ---------------------------------------------------------------------------------
    def ground_of(self, side: int, k: np.ndarray) -> np.ndarray:
        """Ground height under stance k of ``side`` (stairs: one riser per step)."""
        n = 2 * np.asarray(k) + side
        return self.stair_dir * self.spec.step_height_m * n

    def plant(self, side: int, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat-foot ankle position [N, 3], foot heading [N]) of stance k of ``side``."""
        t_ref = self.t_heel_strike(side, k) + self.lead_time
        psi = self.heading(t_ref)
        s = 1.0 if side == 0 else -1.0
        left = np.stack([np.cos(psi), np.zeros_like(psi), -np.sin(psi)], axis=-1)
        pos = self.path(t_ref) + s * 0.5 * self.style.step_width * left
        pos[:, 1] = self.ground_of(side, k) + self.body.ankle_height
        return pos, psi

    def stance_foot(
        self, side: int, k: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stance foot at time t of stance k: ankle [N, 3], rotation [N, 3, 3], pitch [N] (rad),
        toe extension [N] (rad) and the world pivot point [N, 3] (heel or toe joint)."""
        k = np.asarray(k)
        t = np.asarray(t, dtype=np.float64)
        t_hs = self.t_heel_strike(side, k)
        t_to = self.t_toe_off(side, k)
        s = np.clip((t - t_hs) / (t_to - t_hs), 0.0, 1.0)
        p_hs = self.nominal_pitch(side, t_hs)
        p_to = self.nominal_pitch(side, t_to)
        st = self.style
        pitch = np.where(
            s < st.foot_flat,
            p_hs * (1.0 - _smooth(s / st.foot_flat)),
            np.where(
                s < st.heel_rise,
                0.0,
                p_to * np.clip((s - st.heel_rise) / (1.0 - st.heel_rise), 0.0, 1.0) ** 2,
            ),
        )
        flat, psi = self.plant(side, k)
        r_head = _ry(psi)
        rot = r_head @ _rx(-pitch)
        b = self.body
        heel_f, toe_f = b.heel_point(), b.toe_joint()
        on_heel = (pitch >= 0.0)[:, None]
        pivot_f = np.where(on_heel, heel_f, toe_f)
        pivot_w = flat + _apply(r_head, pivot_f)
        ankle = pivot_w - _apply(rot, pivot_f)
        return ankle, rot, pitch, np.maximum(-pitch, 0.0), pivot_w

    # --- pelvis height ------------------------------------------------------------------------
    def _stance_root_y(
        self, side: int, k: np.ndarray, t: np.ndarray, knee: np.ndarray | None = None
    ) -> np.ndarray:
        """Root height putting ``side``'s hip at the leg length of knee flexion ``knee`` (rad,
        default: the nominal knee) above its stance ankle."""
        b = self.body
        ankle = self.stance_foot(side, k, t)[0]
        if knee is None:
            knee = self.leg_angles(side, t)[1]
        hip_rel = _apply(self.pelvis_rot(t), self.hip_offsets[side])
        hip_xz = self.root_xz(t) + hip_rel
        horiz2 = (hip_xz[:, 0] - ankle[:, 0]) ** 2 + (hip_xz[:, 2] - ankle[:, 2]) ** 2
        reach2 = b.thigh**2 + b.shank**2 + 2.0 * b.thigh * b.shank * np.cos(knee)
        if np.any(horiz2 >= reach2):
            raise ValueError(f"demo clip {self.spec.name}: a stance ankle is out of the leg's "
                             "reach; the stride is too long for the body")  # fmt: skip
        return ankle[:, 1] + np.sqrt(reach2 - horiz2) - hip_rel[:, 1]

    def root_y(self, t: np.ndarray) -> np.ndarray:
        """Pelvis (root) height [N].

        The stance legs' heights (from their nominal knee flexion) are blended over double
        support and joined by a cubic over flight; then a soft minimum keeps the root within
        reach of every planted foot (knee flexion >= ``MIN_KNEE_DEG``). Each leg's reach limit
        is extended beyond its stance by ``REACH_RELAX * dt^2`` (continuous in time), so the
        pelvis lowers ahead of a heel strike that would otherwise be out of reach.
        """
        t = np.asarray(t, dtype=np.float64)
        n = t.size
        num = np.zeros(n)
        den = np.zeros(n)
        t_ds = max(self.duty - 0.5, 0.0) * self.period
        caps = []
        for side in (0, 1):
            k, frac = self.cycle(side, t)
            on = frac < self.duty
            cap = np.empty(n)
            if on.any():
                kk, tt = k[on], t[on]
                y = self._stance_root_y(side, kk, tt)
                if t_ds > 0.0:
                    since = tt - self.t_heel_strike(side, kk)
                    until = self.t_toe_off(side, kk) - tt
                    w = _smooth(since / t_ds) * _smooth(until / t_ds)
                else:
                    w = np.ones_like(tt)
                num[on] += w * y
                den[on] += w
                cap[on] = self._reach_cap(side, kk, tt)
            sw = ~on
            if sw.any():
                ks, ts = k[sw], t[sw]
                t_to, t_hs = self.t_toe_off(side, ks), self.t_heel_strike(side, ks + 1)
                after = self._reach_cap(side, ks, t_to) + REACH_RELAX * (ts - t_to) ** 2
                before = self._reach_cap(side, ks + 1, t_hs) + REACH_RELAX * (t_hs - ts) ** 2
                cap[sw] = np.minimum(after, before)
            caps.append(cap)
        base = np.full(n, np.nan)
        ok = den > 0
        base[ok] = num[ok] / den[ok]
        if (~ok).any():
            base[~ok] = self._flight_y(t[~ok])
        stack = np.stack([base, *caps])  # soft minimum, never above the hard minimum
        lo = stack.min(axis=0)
        return lo - SOFTMIN_M * np.log(np.exp(-(stack - lo) / SOFTMIN_M).sum(axis=0))

    def _reach_cap(self, side: int, k: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Highest root height at which stance k of ``side`` is reached with the knee flexed
        by ``MIN_KNEE_DEG``."""
        knee = np.full(np.shape(t), np.deg2rad(MIN_KNEE_DEG))
        return self._stance_root_y(side, k, t, knee)

    def _flight_y(self, t: np.ndarray) -> np.ndarray:
        """Cubic Hermite pelvis height between the last toe-off and the next heel strike."""
        h = 1e-4
        last_to = np.full(t.size, -np.inf)
        next_hs = np.full(t.size, np.inf)
        y0 = np.zeros(t.size)
        d0 = np.zeros(t.size)
        y1 = np.zeros(t.size)
        d1 = np.zeros(t.size)
        for side in (0, 1):
            k, _ = self.cycle(side, t)
            t_to = self.t_toe_off(side, k)
            t_hs = self.t_heel_strike(side, k + 1)
            a = self._stance_root_y(side, k, t_to)
            da = (a - self._stance_root_y(side, k, t_to - h)) / h
            b = self._stance_root_y(side, k + 1, t_hs)
            db = (self._stance_root_y(side, k + 1, t_hs + h) - b) / h
            newer = t_to > last_to
            sooner = t_hs < next_hs
            last_to = np.where(newer, t_to, last_to)
            y0, d0 = np.where(newer, a, y0), np.where(newer, da, d0)
            next_hs = np.where(sooner, t_hs, next_hs)
            y1, d1 = np.where(sooner, b, y1), np.where(sooner, db, d1)
        dt = next_hs - last_to
        s = (t - last_to) / dt
        h00 = 2 * s**3 - 3 * s**2 + 1
        h10 = s**3 - 2 * s**2 + s
        h01 = -2 * s**3 + 3 * s**2
        h11 = s**3 - s**2
        return h00 * y0 + h10 * dt * d0 + h01 * y1 + h11 * dt * d1

    def root(self, t: np.ndarray) -> np.ndarray:
        r = self.root_xz(t)
        r[:, 1] = self.root_y(t)
        return r

    # --- terrain ------------------------------------------------------------------------------
    def terrain(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Ground height at world (x, z); stairs run along +Z, one tread per step."""
        shape = np.broadcast(x, z).shape
        if self.stair_dir == 0.0:
            return np.zeros(shape)
        start0 = self.stairs_geometry()["tread0_start_z_m"]
        n = np.floor((np.broadcast_to(z, shape) - start0) / self.spec.tread_m)
        return self.stair_dir * self.spec.step_height_m * n

    def stairs_geometry(self) -> dict[str, float]:
        flat0, _ = self.plant(0, np.array([0]))
        return {
            "rise_m": self.spec.step_height_m,
            "tread_m": self.spec.tread_m,
            "direction": "up" if self.stair_dir > 0 else "down",
            "tread0_start_z_m": float(flat0[0, 2] - self.body.heel_back - self.stair_margin),
            "tread0_height_m": 0.0,
        }


def _sole_samples(body: Body) -> tuple[np.ndarray, np.ndarray]:
    """Sample weights along the sole: (heel->toe joint in the foot frame), (toe frame) points."""
    heel, toe_j = body.heel_point(), body.toe_joint()
    ball_sole = toe_j + np.array([0.0, -body.mtp_height, 0.0])
    s = np.linspace(0.0, 1.0, 12)[:, None]
    foot_pts = heel + s * (ball_sole - heel)  # [12, 3] foot frame
    ball_t = np.array([0.0, -body.mtp_height, 0.0])  # ball sole point, toe frame
    s_toe = np.linspace(0.0, 1.0, 5)[1:, None]
    toe_pts = ball_t + s_toe * (body.toe_tip() - ball_t)  # [4, 3] toe frame
    return foot_pts, toe_pts


def _sole_clearance(
    g: _Gait, ankle: np.ndarray, r_foot: np.ndarray, toe_ext: np.ndarray
) -> np.ndarray:
    """[N] lowest height of the sole (foot and toes) above the terrain under it."""
    foot_pts, toe_pts = _sole_samples(g.body)
    r_toe = r_foot @ _rx(-toe_ext)
    pts = np.concatenate(
        [ankle[:, None] + np.einsum("nij,pj->npi", r_foot, foot_pts),
         (ankle + _apply(r_foot, g.body.toe_joint()))[:, None]
         + np.einsum("nij,pj->npi", r_toe, toe_pts)], axis=1)  # fmt: skip
    return (pts[..., 1] - g.terrain(pts[..., 0], pts[..., 2])).min(axis=1)


def _ik_leg(
    g: _Gait,
    side: int,
    root: np.ndarray,
    r_pelvis: np.ndarray,
    ankle: np.ndarray,
    r_foot: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic leg IK. Returns hip rotation (pelvis frame) [N, 3, 3], knee flexion [N] (rad),
    ankle rotation (shank frame) [N, 3, 3]. The knee axis stays in the pelvis's sagittal plane."""
    b = g.body
    hip_w = root + _apply(r_pelvis, g.hip_offsets[side])
    d = np.einsum("nji,nj->ni", r_pelvis, ankle - hip_w)  # pelvis frame
    n = np.linalg.norm(d, axis=-1)
    cos_k = (n**2 - b.thigh**2 - b.shank**2) / (2.0 * b.thigh * b.shank)
    knee = np.arccos(np.clip(cos_k, -1.0, 1.0))
    a = np.stack([np.zeros_like(knee), -b.thigh - b.shank * np.cos(knee),
                  -b.shank * np.sin(knee)], axis=-1)  # fmt: skip
    x = np.array([1.0, 0.0, 0.0])
    u1 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    f_local = np.stack([np.broadcast_to(x, u1.shape), u1, np.cross(x, u1)], axis=-1)
    u2 = d / n[:, None]
    x2 = x - (u2 @ x)[:, None] * u2
    x2 /= np.linalg.norm(x2, axis=-1, keepdims=True)
    f_target = np.stack([x2, u2, np.cross(x2, u2)], axis=-1)
    r_hip = f_target @ np.swapaxes(f_local, -1, -2)
    r_shank = r_pelvis @ r_hip @ _rx(knee)
    r_ankle = np.swapaxes(r_shank, -1, -2) @ r_foot
    return r_hip, knee, r_ankle


def _nominal_at(g: _Gait, side: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return g.nominal_foot(side, t, g.root(t))


def _swing_blend(
    g: _Gait,
    side: int,
    ks: np.ndarray,
    sigma: np.ndarray,
    t_a: np.ndarray,
    t_b: np.ndarray,
    nom_a: np.ndarray,
    nom_r: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swing foot (ankle [N, 3], rotation [N, 3, 3], toe extension [N]) from the nominal swing.

    The offsets between the planted poses at lift-off (stance ``ks``, time ``t_a``) and
    touch-down (stance ``ks + 1``, ``t_b``) and the nominal foot there are blended over the
    swing phase ``sigma``; cubic Hermite terms also match the planted foot's velocity at both
    ends. On stairs the vertical offset is blended late going down (clear the nosing first)
    and early going up.
    """
    h = 1e-4
    dur = (t_b - t_a)[:, None]
    a_s, r_sa, _, toe_a, _ = g.stance_foot(side, ks, t_a)
    b_s, r_sb, _, toe_b, _ = g.stance_foot(side, ks + 1, t_b)
    a_n, r_na = _nominal_at(g, side, t_a)
    b_n, r_nb = _nominal_at(g, side, t_b)
    va = (a_s - g.stance_foot(side, ks, t_a - h)[0]) / h - (_nominal_at(g, side, t_a + h)[0]
                                                          - a_n) / h  # fmt: skip
    vb = (g.stance_foot(side, ks + 1, t_b + h)[0] - b_s) / h - (b_n - _nominal_at(
        g, side, t_b - h)[0]) / h  # fmt: skip
    w = _smoother(sigma)
    wv = w
    if g.stair_dir < 0:
        wv = _smoother((sigma - 0.35) / 0.65)
    elif g.stair_dir > 0:
        wv = _smoother(sigma / 0.65)
    weights = np.stack([w, wv, w], axis=-1)
    s = sigma[:, None]
    pos = (nom_a + (1.0 - weights) * (a_s - a_n) + weights * (b_s - b_n)
           + VEL_MATCH * dur * (va * s * (1.0 - s) ** 2 + vb * s**2 * (s - 1.0)))  # fmt: skip
    qa = quat.from_matrix(r_sa @ np.swapaxes(r_na, -1, -2))
    qb = quat.from_matrix(r_sb @ np.swapaxes(r_nb, -1, -2))
    r_sw = quat.to_matrix(quat.slerp(qa, qb, w)) @ nom_r
    toe_sw = toe_a * (1.0 - _smooth(sigma / 0.4)) + toe_b * _smooth((sigma - 0.6) / 0.4)
    return pos, r_sw, toe_sw


def _leg_targets(g: _Gait, side: int, t: np.ndarray, root: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame foot targets of ``side``: ankle, rotation, toe extension, stance mask, pivot."""
    n = t.size
    k, frac = g.cycle(side, t)
    on = frac < g.duty
    ankle = np.zeros((n, 3))
    rot = np.zeros((n, 3, 3))
    toe = np.zeros(n)
    pivot = np.full((n, 3), np.nan)
    ground = np.full(n, np.nan)
    if on.any():
        a, r, _, te, pv = g.stance_foot(side, k[on], t[on])
        ankle[on], rot[on], toe[on], pivot[on] = a, r, te, pv
        ground[on] = g.ground_of(side, k[on])
    sw = ~on
    if sw.any():
        ks, ts = k[sw], t[sw]
        t_a, t_b = g.t_toe_off(side, ks), g.t_heel_strike(side, ks + 1)
        sigma = (ts - t_a) / (t_b - t_a)
        nom_a, nom_r = g.nominal_foot(side, ts, root[sw])
        pos, r_sw, toe_sw = _swing_blend(g, side, ks, sigma, t_a, t_b, nom_a, nom_r)
        # Lift the swing foot by A sin(pi sigma), A the least lift that keeps the sole at least
        # ``clearance * sin(pi sigma)`` above the ground or nosing; then clamp any residual
        # penetration (millimetres, next to lift-off and touch-down) frame by frame.
        clear = _sole_clearance(g, pos, r_sw, toe_sw)
        bump = np.sin(np.pi * sigma)
        need = np.where(bump > 0.08, g.style.clearance - clear / np.maximum(bump, 0.08), 0.0)
        seg = ks - ks.min()
        amp = np.zeros(seg.max() + 1)
        np.maximum.at(amp, seg, need)
        pos[:, 1] += amp[seg] * bump
        pos[:, 1] += np.maximum(0.0, -_sole_clearance(g, pos, r_sw, toe_sw))
        ankle[sw], rot[sw], toe[sw] = pos, r_sw, toe_sw
    return {"ankle": ankle, "rot": rot, "toe": toe, "stance": on, "pivot": pivot, "ground": ground}


def _cycles(g: _Gait) -> int:
    return max(1, int(np.ceil(g.spec.min_duration_s / g.period - 1e-9)))


def synthesize(name_or_spec: str | DemoSpec, fps: float = 120.0) -> tuple[DemoClip, dict]:
    """Generate one demo clip and its truth (``DEMO_CLIPS`` key or a :class:`DemoSpec`).

    The clip starts at a left heel strike and covers whole gait cycles (its last frame is at or
    just after the end of the last one). Returns the clip (BVH
    skeleton, arrays and FK results, see :class:`DemoClip`) and the truth dict written to the
    sidecar ``.meta.json`` (speed in m/s along the path, cadence in steps/min, stride length in
    metres per gait cycle, yaw rate in rad/s, stair geometry, duty factor, citations).
    """
    if isinstance(name_or_spec, str):
        if name_or_spec not in DEMO_CLIPS:
            raise KeyError(f"unknown demo clip {name_or_spec!r}; known: {sorted(DEMO_CLIPS)}")
        spec = DEMO_CLIPS[name_or_spec]
    else:
        spec = name_or_spec
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    g = _Gait(spec)
    n_cycles = _cycles(g)
    duration = n_cycles * g.period
    n = int(np.ceil(duration * fps - 1e-9)) + 1  # the last frame is at or after the last cycle
    t = np.arange(n) / fps

    root = g.root(t)
    yaw, tilt, obl = g.pelvis_angles(t)
    r_pelvis = _ry(yaw) @ _rx(tilt) @ _rz(obl)
    skel = build_skeleton(g.body)
    J = skel.num_joints
    euler = np.zeros((n, J, 3))
    ix = skel.index
    euler[:, 0] = np.rad2deg(np.stack([yaw, tilt, obl], axis=-1))

    legs = []
    for side, name in ((0, "Left"), (1, "Right")):
        tg = _leg_targets(g, side, t, root)
        r_hip, knee, r_ankle = _ik_leg(g, side, root, r_pelvis, tg["ankle"], tg["rot"])
        euler[:, ix(f"{name}UpLeg")] = np.rad2deg(euler_from_matrix(r_hip, "ZXY"))
        euler[:, ix(f"{name}Leg"), 1] = np.rad2deg(knee)
        euler[:, ix(f"{name}Foot")] = np.rad2deg(euler_from_matrix(r_ankle, "ZXY"))
        euler[:, ix(f"{name}ToeBase"), 1] = -np.rad2deg(tg["toe"])
        legs.append(tg)

    st = g.style
    phi = t / g.period
    rot_deg = np.rad2deg(yaw - g.heading(t))
    euler[:, ix("Spine"), 1] = st.trunk_lean - np.rad2deg(tilt)
    euler[:, ix("Spine"), 0] = -0.5 * np.rad2deg(obl)
    euler[:, ix("Spine1"), 2] = -1.5 * rot_deg
    euler[:, ix("Neck"), 1] = -0.6 * st.trunk_lean
    euler[:, ix("Head"), 2] = 0.5 * rot_deg
    for side, name, sign in ((0, "Left", 1.0), (1, "Right", -1.0)):
        swing = -np.cos(2 * np.pi * (phi - g.phase_offset(side)))  # +1 when this arm is forward
        euler[:, ix(f"{name}Arm"), 0] = sign * st.shoulder_abd
        euler[:, ix(f"{name}Arm"), 1] = -(st.shoulder_mean + st.shoulder_amp * swing)
        lagged = -np.cos(2 * np.pi * (phi - g.phase_offset(side) - 0.05))
        euler[:, ix(f"{name}ForeArm"), 1] = -(st.elbow_mean + st.elbow_amp * lagged)
    euler = unwrap_euler_deg(euler)

    pos, rot = forward_kinematics(skel, root, euler)
    b = g.body
    heel = np.empty((n, 2, 3))
    ball = np.empty((n, 2, 3))
    tip = np.empty((n, 2, 3))
    for side, name in ((0, "Left"), (1, "Right")):
        q_foot, q_toe = rot[:, ix(f"{name}Foot")], rot[:, ix(f"{name}ToeBase")]
        heel[:, side] = pos[:, ix(f"{name}Foot")] + quat.rotate(q_foot, b.heel_point())
        toe_j = pos[:, ix(f"{name}ToeBase")]
        ball[:, side] = toe_j + quat.rotate(q_toe, np.array([0.0, -b.mtp_height, 0.0]))
        tip[:, side] = toe_j + quat.rotate(q_toe, b.toe_tip())
    clip = DemoClip(
        spec=spec, fps=float(fps), skeleton=skel, body=b, root_pos=root, local_euler_deg=euler,
        positions=pos, rotations=rot, stance=np.stack([lg["stance"] for lg in legs], axis=1),
        pivot=np.stack([lg["pivot"] for lg in legs], axis=1), heel=heel, ball=ball, toe_tip=tip,
        ground=np.stack([lg["ground"] for lg in legs], axis=1),
    )  # fmt: skip
    return clip, _truth(g, clip, n_cycles)


def measure(clip: DemoClip, stride_time_s: float, n_cycles: int, yaw_rate_rps: float = 0.0) -> dict:
    """Gait figures measured on a clip's arrays (what the truth must agree with).

    Root positions and heading are linearly interpolated at the cycle boundaries
    ``t = i * stride_time_s``; a turning clip's chord per cycle is converted to the arc length of
    its (constant-curvature) mean path. Returns speed (m/s), stride length (m), cadence
    (steps/min, from the planted-foot onsets), duty factor and yaw rate (rad/s).
    """
    t = clip.times
    T = stride_time_s
    tb = np.arange(n_cycles + 1) * T
    if tb[-1] > t[-1] + 1e-9:
        raise ValueError(f"clip {clip.spec.name} ends before cycle {n_cycles}")
    root = np.stack([np.interp(tb, t, clip.root_pos[:, i]) for i in (0, 2)], axis=-1)
    chords = np.linalg.norm(np.diff(root, axis=0), axis=-1)
    half = 0.5 * abs(yaw_rate_rps) * T
    stride = float(np.mean(chords) * (half / np.sin(half) if half > 1e-12 else 1.0))
    yaw = np.deg2rad(clip.local_euler_deg[:, 0, 0])  # root Euler YXZ: first angle is the yaw
    yaw_rate = float((np.interp(tb[-1], t, yaw) - yaw[0]) / tb[-1])
    onsets = np.sort(np.concatenate(
        [t[1:][clip.stance[1:, s] & ~clip.stance[:-1, s]] for s in (0, 1)]))  # fmt: skip
    cadence = 60.0 * (onsets.size - 1) / (onsets[-1] - onsets[0]) if onsets.size > 1 else 0.0
    inside = t < tb[-1] - 1e-9
    return {
        "speed_mps": stride / T,
        "stride_length_m": stride,
        "cadence_spm": float(cadence),
        "duty_factor": float(clip.stance[inside].mean()),
        "yaw_rate_rps": yaw_rate,
    }


def _truth(g: _Gait, clip: DemoClip, n_cycles: int) -> dict:
    spec = g.spec
    sources = [SOURCES["anthropometry"], g.curves.source, SOURCES["arms"]]
    if spec.gait == "walk":
        sources.insert(2, SOURCES["walk_speed"])
    measured = measure(clip, g.period, n_cycles, g.omega)
    exact = {"speed_mps": g.speed, "stride_length_m": g.stride, "cadence_spm": g.cadence,
             "yaw_rate_rps": g.omega}  # fmt: skip
    for key, value in exact.items():
        # Turning: the speed fluctuation bends the chord slightly; cadence: onsets on frames.
        tol = 0.01 if (key != "yaw_rate_rps" and g.omega) else 1e-3
        if key == "cadence_spm":
            tol = 2.0 / (clip.fps * g.period * n_cycles) + 1e-3
        if abs(measured[key] - value) > tol * max(abs(value), 1.0):
            raise RuntimeError(f"demo clip {spec.name}: measured {key} {measured[key]:.6g} "
                               f"differs from the construction's {value:.6g}")  # fmt: skip
    truth: dict = {
        "synthetic": True,
        "generator": GENERATOR,
        "clip": spec.name,
        "gait": spec.gait,
        "speed_mps": g.speed,
        "cadence_spm": g.cadence,
        "stride_length_m": g.stride,
        "step_length_m": g.step,
        "stride_time_s": g.period,
        "duty_factor": g.duty,
        "flight_phase": bool(g.duty < 0.5),
        "yaw_rate_rps": g.omega,
        "step_height_m": spec.step_height_m,
        "tread_m": spec.tread_m,
        "vertical_speed_mps": g.stair_dir * spec.step_height_m * g.cadence / 60.0,
        "n_cycles": n_cycles,
        "duration_s": n_cycles * g.period,
        "fps": clip.fps,
        "frames": clip.num_frames,
        "first_heel_strike_s": {"left": 0.0, "right": 0.5 * g.period},
        "subject_height_m": g.body.height_m,
        "leg_length_m": g.body.leg_length,
        "step_width_m": g.style.step_width,
        "file_units": "cm",
        "file_up_axis": "y",
        "file_initial_forward_axis": "z",
        "measured_from_clip": measured,
        "spec": asdict(spec),
        "source": "; ".join(sources),
    }
    if g.stair_dir != 0.0:
        truth["stairs"] = g.stairs_geometry()
    return truth


def write_demo_clip(
    name: str | DemoSpec,
    out_bvh: str | Path,
    out_meta: str | Path | None = None,
    fps: float = 120.0,
) -> dict:
    """Synthesise clip ``name`` and write ``out_bvh`` (centimetres, Y up) and its sidecar JSON.

    The sidecar defaults to ``out_bvh`` with ``.meta.json`` instead of ``.bvh``
    (``demo/walk_1.00.bvh`` -> ``demo/walk_1.00.meta.json``), which the ingest step merges into
    the clip summary. Both writes are atomic. Returns the truth dict.
    """
    out_bvh = Path(out_bvh)
    if out_bvh.suffix.lower() != ".bvh":
        raise ValueError(f"{out_bvh}: the demo clip file must end in .bvh")
    meta_path = Path(out_meta) if out_meta is not None else out_bvh.with_suffix(".meta.json")
    clip, truth = synthesize(name, fps=fps)
    write_bvh(out_bvh, clip.skeleton, clip.root_pos, clip.local_euler_deg, clip.fps,
              length_scale=100.0)  # fmt: skip
    write_json(meta_path, truth)
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m mocap.demo --out-dir DIR [--clips ...] [--fps 120]`` or ``--list``."""
    ap = argparse.ArgumentParser(
        prog="python -m mocap.demo",
        description="Write synthetic demo gait clips (BVH + .meta.json truth), labelled synthetic.",
    )
    ap.add_argument("--out-dir", type=Path, help="folder for <clip>.bvh and <clip>.meta.json")
    ap.add_argument("--clips", nargs="+", default=None, help="clip ids (default: all)")
    ap.add_argument("--fps", type=float, default=120.0, help="frame rate (default 120)")
    ap.add_argument("--list", action="store_true", help="list the clip ids and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, spec in DEMO_CLIPS.items():
            print(f"{name}\t{json.dumps(asdict(spec), sort_keys=True)}")
        return 0
    if args.out_dir is None:
        ap.error("--out-dir is required (or use --list)")
    names = args.clips or list(DEMO_CLIPS)
    unknown = [n for n in names if n not in DEMO_CLIPS]
    if unknown:
        ap.error(f"unknown clip(s) {unknown}; known: {sorted(DEMO_CLIPS)}")
    if not (np.isfinite(args.fps) and args.fps > 0):
        ap.error(f"--fps must be positive, got {args.fps}")
    for name in names:
        truth = write_demo_clip(name, args.out_dir / f"{name}.bvh", fps=args.fps)
        print(f"{name}: {truth['speed_mps']:.3f} m/s, {truth['cadence_spm']:.1f} steps/min, "
              f"stride {truth['stride_length_m']:.3f} m, {truth['frames']} frames")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
