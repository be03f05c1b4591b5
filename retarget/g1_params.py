"""Published parameters of the Unitree G1 humanoid (29 DoF, rev 1.0) as plain Python data.

Everything the built-in MuJoCo model (:mod:`retarget.robot`) needs lives here as tables: the
kinematic tree, inertial properties, joints and their motors, PD gains, primitive collision shapes,
sites and named poses. Names of bodies, joints and actuators are exactly the official ones, so a
model built from these tables and the official MJCF are interchangeable.

Sources (see ``retarget/NOTICE.md``; Unitree's description is BSD-3-Clause, (c) Unitree Robotics):

- Kinematic tree, body frames, masses, centres of mass, principal inertias, joint axes, joint
  ranges and joint torque limits: Unitree's ``g1_29dof_rev_1_0`` description (unitree_ros,
  ``robots/g1_description``), as packaged in MuJoCo Menagerie ``unitree_g1/g1.xml``.
- Reflected rotor inertia (armature) per motor type and the primitive collision set: MuJoCo
  Menagerie ``unitree_g1/g1_mjx.xml`` (the model transferred to hardware in MuJoCo Playground).
- Joint velocity limits per motor type: the ``<limit velocity=...>`` values of the unitree_ros
  G1 URDF (7520-14: 32 rad/s, 7520-22: 20 rad/s, 5020: 37 rad/s, 4010: 22 rad/s).
- PD gains: derived from the armature as a second-order system with natural frequency 10 Hz and
  damping ratio 2 (``kp = J w^2``, ``kd = 2 zeta J w``), the rule used for the G1 by mjlab and
  BeyondMimic (whole_body_tracking) and deployed on the real robot. Joints driven by two 5020
  motors through a parallel linkage (ankles, waist roll/pitch) use twice the 5020 armature.
  These gains assume an active policy: they are too soft to hold the robot up passively (ankle
  stiffness 2 x 28.5 N m/rad < m g h = 33.3 kg x 9.81 m/s^2 x 0.69 m = 226 N m/rad, so a pure PD
  hold tips over like an inverted pendulum within about a second).
- Poses: ``stand`` is the Menagerie ``g1.xml`` keyframe, ``knees_bent`` the Menagerie
  ``scene_mjx.xml`` keyframe of that name (a slightly crouched walking default).

Units: metres, kilograms, kg m^2, radians, N m, rad/s. Quaternions are (w, x, y, z). Frames:
every body pose is relative to its parent body; inertial and geom poses are in the body frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

ROBOT_NAME = "unitree_g1_29dof_rev_1_0"
ROOT_BODY = "pelvis"
FREE_JOINT = "floating_base_joint"

#: Initial height (m) of the pelvis frame in the official description's body tree.
PELVIS_INIT_HEIGHT = 0.793

#: PD-gain rule: natural frequency (rad/s) and damping ratio of the reflected-rotor second-order
#: system, as used by mjlab / BeyondMimic for the G1.
PD_NATURAL_FREQ = 10.0 * 2.0 * math.pi
PD_DAMPING_RATIO = 2.0

#: Passive joint friction (N m), as in Menagerie ``g1_mjx.xml``; passive viscous damping is 0 in
#: both published models (the D-term comes from the actuator).
JOINT_FRICTIONLOSS = 0.1
JOINT_DAMPING = 0.0


@dataclass(frozen=True)
class Motor:
    """One Unitree joint motor type (output-side quantities)."""

    name: str
    armature: float  # reflected rotor inertia at the joint, kg m^2
    effort_limit: float  # peak joint torque, N m
    velocity_limit: float  # joint speed limit, rad/s

    @property
    def kp(self) -> float:
        """Position gain (N m / rad) from the 10 Hz, zeta = 2 rule."""
        return self.armature * PD_NATURAL_FREQ**2

    @property
    def kd(self) -> float:
        """Velocity gain (N m s / rad) from the 10 Hz, zeta = 2 rule."""
        return 2.0 * PD_DAMPING_RATIO * self.armature * PD_NATURAL_FREQ


_ARMATURE_5020 = 0.003609725

MOTORS: MappingProxyType[str, Motor] = MappingProxyType(
    {
        "7520_14": Motor("7520_14", armature=0.01017752004, effort_limit=88.0, velocity_limit=32.0),
        "7520_22": Motor("7520_22", armature=0.025101925, effort_limit=139.0, velocity_limit=20.0),
        "5020": Motor("5020", armature=_ARMATURE_5020, effort_limit=25.0, velocity_limit=37.0),
        "4010": Motor("4010", armature=0.00425, effort_limit=5.0, velocity_limit=22.0),
        # Two 5020 motors through a parallel linkage (ankles, waist roll/pitch).
        "5020x2": Motor(
            "5020x2", armature=2 * _ARMATURE_5020, effort_limit=50.0, velocity_limit=37.0
        ),
    }
)


@dataclass(frozen=True)
class Joint:
    """A hinge joint: axis in the child body frame, position range (rad), driving motor."""

    name: str
    axis: Vec3
    lower: float
    upper: float
    motor: str  # key of MOTORS

    @property
    def spec(self) -> Motor:
        return MOTORS[self.motor]


_X: Vec3 = (1.0, 0.0, 0.0)
_Y: Vec3 = (0.0, 1.0, 0.0)
_Z: Vec3 = (0.0, 0.0, 1.0)

#: The 29 actuated joints in the official model order (= qpos / qvel / actuator order).
JOINTS: tuple[Joint, ...] = (
    Joint("left_hip_pitch_joint", _Y, -2.5307, 2.8798, "7520_14"),
    Joint("left_hip_roll_joint", _X, -0.5236, 2.9671, "7520_22"),
    Joint("left_hip_yaw_joint", _Z, -2.7576, 2.7576, "7520_14"),
    Joint("left_knee_joint", _Y, -0.087267, 2.8798, "7520_22"),
    Joint("left_ankle_pitch_joint", _Y, -0.87267, 0.5236, "5020x2"),
    Joint("left_ankle_roll_joint", _X, -0.2618, 0.2618, "5020x2"),
    Joint("right_hip_pitch_joint", _Y, -2.5307, 2.8798, "7520_14"),
    Joint("right_hip_roll_joint", _X, -2.9671, 0.5236, "7520_22"),
    Joint("right_hip_yaw_joint", _Z, -2.7576, 2.7576, "7520_14"),
    Joint("right_knee_joint", _Y, -0.087267, 2.8798, "7520_22"),
    Joint("right_ankle_pitch_joint", _Y, -0.87267, 0.5236, "5020x2"),
    Joint("right_ankle_roll_joint", _X, -0.2618, 0.2618, "5020x2"),
    Joint("waist_yaw_joint", _Z, -2.618, 2.618, "7520_14"),
    Joint("waist_roll_joint", _X, -0.52, 0.52, "5020x2"),
    Joint("waist_pitch_joint", _Y, -0.52, 0.52, "5020x2"),
    Joint("left_shoulder_pitch_joint", _Y, -3.0892, 2.6704, "5020"),
    Joint("left_shoulder_roll_joint", _X, -1.5882, 2.2515, "5020"),
    Joint("left_shoulder_yaw_joint", _Z, -2.618, 2.618, "5020"),
    Joint("left_elbow_joint", _Y, -1.0472, 2.0944, "5020"),
    Joint("left_wrist_roll_joint", _X, -1.97222, 1.97222, "5020"),
    Joint("left_wrist_pitch_joint", _Y, -1.61443, 1.61443, "4010"),
    Joint("left_wrist_yaw_joint", _Z, -1.61443, 1.61443, "4010"),
    Joint("right_shoulder_pitch_joint", _Y, -3.0892, 2.6704, "5020"),
    Joint("right_shoulder_roll_joint", _X, -2.2515, 1.5882, "5020"),
    Joint("right_shoulder_yaw_joint", _Z, -2.618, 2.618, "5020"),
    Joint("right_elbow_joint", _Y, -1.0472, 2.0944, "5020"),
    Joint("right_wrist_roll_joint", _X, -1.97222, 1.97222, "5020"),
    Joint("right_wrist_pitch_joint", _Y, -1.61443, 1.61443, "4010"),
    Joint("right_wrist_yaw_joint", _Z, -1.61443, 1.61443, "4010"),
)

JOINT_NAMES: tuple[str, ...] = tuple(j.name for j in JOINTS)
JOINTS_BY_NAME: MappingProxyType[str, Joint] = MappingProxyType({j.name: j for j in JOINTS})


@dataclass(frozen=True)
class Inertial:
    """Mass (kg), centre of mass (m, body frame), principal-axes frame and principal moments."""

    mass: float
    com: Vec3
    quat: Quat  # orientation of the principal axes in the body frame
    diaginertia: Vec3  # principal moments of inertia about the COM, kg m^2


@dataclass(frozen=True)
class Body:
    """A rigid link: pose relative to its parent, inertia, and the hinge joint that moves it."""

    name: str
    parent: str  # "world" for the root
    pos: Vec3
    quat: Quat
    inertial: Inertial
    joint: str | None  # name of the hinge joint between parent and this body (None: root)


_I = (1.0, 0.0, 0.0, 0.0)


def _b(
    name: str,
    parent: str,
    pos: Vec3,
    quat: Quat,
    mass: float,
    com: Vec3,
    iquat: Quat,
    diag: Vec3,
    joint: str | None,
) -> Body:
    return Body(name, parent, pos, quat, Inertial(mass, com, iquat, diag), joint)


# Columns: body, parent, pos in parent, quat in parent, mass, COM, principal-axes quat,
# principal moments, joint. Depth-first order, parents before children (as in the official tree).
# fmt: off
BODIES: tuple[Body, ...] = (
    _b("pelvis", "world", (0.0, 0.0, PELVIS_INIT_HEIGHT), _I,
       3.813, (0.0, 0.0, -0.07605), (1.0, 0.0, -0.000399148, 0.0),
       (0.010549, 0.0093089, 0.0079184), None),
    # --- left leg
    _b("left_hip_pitch_link", "pelvis", (0.0, 0.064452, -0.1027), _I,
       1.35, (0.002741, 0.047791, -0.02606), (0.954862, 0.293964, 0.0302556, 0.030122),
       (0.00181517, 0.00153422, 0.00116212), "left_hip_pitch_joint"),
    _b("left_hip_roll_link", "left_hip_pitch_link", (0.0, 0.052, -0.030465),
       (0.996179, 0.0, -0.0873386, 0.0),
       1.52, (0.029812, -0.001045, -0.087934), (0.977808, -1.97119e-05, 0.205576, -0.0403793),
       (0.00254986, 0.00241169, 0.00148755), "left_hip_roll_joint"),
    _b("left_hip_yaw_link", "left_hip_roll_link", (0.025001, 0.0, -0.12412), _I,
       1.702, (-0.057709, -0.010981, -0.15078), (0.600598, 0.15832, 0.223482, 0.751181),
       (0.00776166, 0.00717575, 0.00160139), "left_hip_yaw_joint"),
    _b("left_knee_link", "left_hip_yaw_link", (-0.078273, 0.0021489, -0.17734),
       (0.996179, 0.0, 0.0873386, 0.0),
       1.932, (0.005457, 0.003964, -0.12074), (0.923418, -0.0327699, 0.0158246, 0.382067),
       (0.0113804, 0.0112778, 0.00146458), "left_knee_joint"),
    _b("left_ankle_pitch_link", "left_knee_link", (0.0, -9.4445e-05, -0.30001), _I,
       0.074, (-0.007269, 0.0, 0.011137), (0.603053, 0.369225, 0.369225, 0.603053),
       (1.89e-05, 1.40805e-05, 6.9195e-06), "left_ankle_pitch_joint"),
    _b("left_ankle_roll_link", "left_ankle_pitch_link", (0.0, 0.0, -0.017558), _I,
       0.608, (0.026505, 0.0, -0.016425), (-0.000481092, 0.728482, -0.000618967, 0.685065),
       (0.00167218, 0.0016161, 0.000217621), "left_ankle_roll_joint"),
    # --- right leg
    _b("right_hip_pitch_link", "pelvis", (0.0, -0.064452, -0.1027), _I,
       1.35, (0.002741, -0.047791, -0.02606), (0.954862, -0.293964, 0.0302556, -0.030122),
       (0.00181517, 0.00153422, 0.00116212), "right_hip_pitch_joint"),
    _b("right_hip_roll_link", "right_hip_pitch_link", (0.0, -0.052, -0.030465),
       (0.996179, 0.0, -0.0873386, 0.0),
       1.52, (0.029812, 0.001045, -0.087934), (0.977808, 1.97119e-05, 0.205576, 0.0403793),
       (0.00254986, 0.00241169, 0.00148755), "right_hip_roll_joint"),
    _b("right_hip_yaw_link", "right_hip_roll_link", (0.025001, 0.0, -0.12412), _I,
       1.702, (-0.057709, 0.010981, -0.15078), (0.751181, 0.223482, 0.15832, 0.600598),
       (0.00776166, 0.00717575, 0.00160139), "right_hip_yaw_joint"),
    _b("right_knee_link", "right_hip_yaw_link", (-0.078273, -0.0021489, -0.17734),
       (0.996179, 0.0, 0.0873386, 0.0),
       1.932, (0.005457, -0.003964, -0.12074), (0.923439, 0.0345276, 0.0116333, -0.382012),
       (0.011374, 0.0112843, 0.00146452), "right_knee_joint"),
    _b("right_ankle_pitch_link", "right_knee_link", (0.0, 9.4445e-05, -0.30001), _I,
       0.074, (-0.007269, 0.0, 0.011137), (0.603053, 0.369225, 0.369225, 0.603053),
       (1.89e-05, 1.40805e-05, 6.9195e-06), "right_ankle_pitch_joint"),
    _b("right_ankle_roll_link", "right_ankle_pitch_link", (0.0, 0.0, -0.017558), _I,
       0.608, (0.026505, 0.0, -0.016425), (0.000481092, 0.728482, 0.000618967, 0.685065),
       (0.00167218, 0.0016161, 0.000217621), "right_ankle_roll_joint"),
    # --- waist and torso
    _b("waist_yaw_link", "pelvis", (0.0, 0.0, 0.0), _I,
       0.214, (0.003494, 0.000233, 0.018034), (0.289697, 0.591001, -0.337795, 0.672821),
       (0.000163531, 0.000107714, 0.000102205), "waist_yaw_joint"),
    _b("waist_roll_link", "waist_yaw_link", (-0.0039635, 0.0, 0.044), _I,
       0.086, (0.0, 2.3e-05, 0.0), (0.5, 0.5, -0.5, 0.5),
       (8.245e-06, 7.079e-06, 6.339e-06), "waist_roll_joint"),
    _b("torso_link", "waist_roll_link", (0.0, 0.0, 0.0), _I,
       7.818, (0.00203158, 0.000339683, 0.184568), (0.999803, -6.03319e-05, 0.0198256, 0.00131986),
       (0.121847, 0.109825, 0.0273735), "waist_pitch_joint"),
    # --- left arm
    _b("left_shoulder_pitch_link", "torso_link", (0.0039563, 0.10022, 0.24778),
       (0.990264, 0.139201, 1.38722e-05, -9.86868e-05),
       0.718, (0.0, 0.035892, -0.011628), (0.654152, 0.0130458, -0.326267, 0.68225),
       (0.000465864, 0.000432842, 0.000406394), "left_shoulder_pitch_joint"),
    _b("left_shoulder_roll_link", "left_shoulder_pitch_link", (0.0, 0.038, -0.013831),
       (0.990268, -0.139172, 0.0, 0.0),
       0.643, (-0.000227, 0.00727, -0.063243), (0.701256, -0.0196223, -0.00710317, 0.712604),
       (0.000691311, 0.000618011, 0.000388977), "left_shoulder_roll_joint"),
    _b("left_shoulder_yaw_link", "left_shoulder_roll_link", (0.0, 0.00624, -0.1032), _I,
       0.734, (0.010773, -0.002949, -0.072009), (0.716879, -0.0964829, -0.0679942, 0.687134),
       (0.00106187, 0.00103217, 0.000400661), "left_shoulder_yaw_joint"),
    _b("left_elbow_link", "left_shoulder_yaw_link", (0.015783, 0.0, -0.080518), _I,
       0.6, (0.064956, 0.004454, -0.010062), (0.541765, 0.636132, 0.388821, 0.388129),
       (0.000443035, 0.000421612, 0.000259353), "left_elbow_joint"),
    _b("left_wrist_roll_link", "left_elbow_link", (0.1, 0.00188791, -0.01), _I,
       0.085445, (0.0171394, 0.000537591, 4.8864e-07), (0.575338, 0.411667, -0.574906, 0.411094),
       (5.48211e-05, 4.96646e-05, 3.57798e-05), "left_wrist_roll_joint"),
    _b("left_wrist_pitch_link", "left_wrist_roll_link", (0.038, 0.0, 0.0), _I,
       0.48405, (0.0229999, -0.00111685, -0.00111658), (0.249998, 0.661363, 0.293036, 0.643608),
       (0.000430353, 0.000429873, 0.000164648), "left_wrist_pitch_joint"),
    _b("left_wrist_yaw_link", "left_wrist_pitch_link", (0.046, 0.0, 0.0), _I,
       0.254576, (0.0708244, 0.000191745, 0.00161742), (0.510571, 0.526295, 0.468078, 0.493188),
       (0.000646113, 0.000559993, 0.000147566), "left_wrist_yaw_joint"),
    # --- right arm
    _b("right_shoulder_pitch_link", "torso_link", (0.0039563, -0.10021, 0.24778),
       (0.990264, -0.139201, 1.38722e-05, 9.86868e-05),
       0.718, (0.0, -0.035892, -0.011628), (0.68225, -0.326267, 0.0130458, 0.654152),
       (0.000465864, 0.000432842, 0.000406394), "right_shoulder_pitch_joint"),
    _b("right_shoulder_roll_link", "right_shoulder_pitch_link", (0.0, -0.038, -0.013831),
       (0.990268, 0.139172, 0.0, 0.0),
       0.643, (-0.000227, -0.00727, -0.063243), (0.712604, -0.00710317, -0.0196223, 0.701256),
       (0.000691311, 0.000618011, 0.000388977), "right_shoulder_roll_joint"),
    _b("right_shoulder_yaw_link", "right_shoulder_roll_link", (0.0, -0.00624, -0.1032), _I,
       0.734, (0.010773, 0.002949, -0.072009), (0.687134, -0.0679942, -0.0964829, 0.716879),
       (0.00106187, 0.00103217, 0.000400661), "right_shoulder_yaw_joint"),
    _b("right_elbow_link", "right_shoulder_yaw_link", (0.015783, 0.0, -0.080518), _I,
       0.6, (0.064956, -0.004454, -0.010062), (0.388129, 0.388821, 0.636132, 0.541765),
       (0.000443035, 0.000421612, 0.000259353), "right_elbow_joint"),
    _b("right_wrist_roll_link", "right_elbow_link", (0.1, -0.00188791, -0.01), _I,
       0.085445, (0.0171394, -0.000537591, 4.8864e-07), (0.411667, 0.575338, -0.411094, 0.574906),
       (5.48211e-05, 4.96646e-05, 3.57798e-05), "right_wrist_roll_joint"),
    _b("right_wrist_pitch_link", "right_wrist_roll_link", (0.038, 0.0, 0.0), _I,
       0.48405, (0.0229999, 0.00111685, -0.00111658), (0.643608, 0.293036, 0.661363, 0.249998),
       (0.000430353, 0.000429873, 0.000164648), "right_wrist_pitch_joint"),
    _b("right_wrist_yaw_link", "right_wrist_pitch_link", (0.046, 0.0, 0.0), _I,
       0.254576, (0.0708244, -0.000191745, 0.00161742), (0.493188, 0.468078, 0.526295, 0.510571),
       (0.000646113, 0.000559993, 0.000147566), "right_wrist_yaw_joint"),
)
# fmt: on

BODY_NAMES: tuple[str, ...] = tuple(b.name for b in BODIES)
BODIES_BY_NAME: MappingProxyType[str, Body] = MappingProxyType({b.name: b for b in BODIES})
TOTAL_MASS: float = sum(b.inertial.mass for b in BODIES)

GeomType = Literal["sphere", "capsule", "box"]
GeomRole = Literal["contact", "foot", "self"]


@dataclass(frozen=True)
class Geom:
    """A primitive collision shape in its body's frame.

    ``role``: ``contact`` collides with the environment (terrain, floor) and takes part in the
    explicit self-collision pairs; ``foot`` is a sole contact point (environment only);
    ``self`` only takes part in the self-collision pairs (the foot boxes). Sizes follow MJCF:
    sphere (radius,), capsule (radius,) with ``fromto``, box (half x, half y, half z).
    """

    name: str
    body: str
    type: GeomType
    size: tuple[float, ...]
    role: GeomRole = "contact"
    pos: Vec3 = (0.0, 0.0, 0.0)
    fromto: tuple[float, float, float, float, float, float] | None = None


def _mirror_y(v: tuple[float, ...]) -> tuple[float, ...]:
    """Reflect one or two stacked 3-vectors through the sagittal (x-z) plane."""
    return tuple(-x if i % 3 == 1 else x for i, x in enumerate(v))


def _left_right(geoms: tuple[Geom, ...]) -> tuple[Geom, ...]:
    """The given left-side geoms followed by their sagittal mirror images on the right side."""
    out = list(geoms)
    for g in geoms:
        out.append(
            Geom(
                name=g.name.replace("left_", "right_", 1),
                body=g.body.replace("left_", "right_", 1),
                type=g.type,
                size=g.size,
                role=g.role,
                pos=_mirror_y(g.pos),  # type: ignore[arg-type]
                fromto=None if g.fromto is None else _mirror_y(g.fromto),  # type: ignore[arg-type]
            )
        )
    return tuple(out)


#: Sole contact points: (x, y) in the ankle-roll frame, heel then toe. The sphere bottoms lie on
#: the sole plane z = -0.037 (the official ``left_foot`` site), where the soles of the official
#: model touch the floor in the ``stand`` keyframe.
FOOT_SOLE_Z = -0.037
FOOT_SPHERE_RADIUS = 0.01
_FOOT_POINTS: tuple[tuple[float, float], ...] = (
    (-0.05, 0.025),
    (-0.05, -0.025),
    (0.12, 0.03),
    (0.12, -0.03),
)

# fmt: off
_LEFT_GEOMS: tuple[Geom, ...] = (
    Geom("left_hip_collision", "left_hip_roll_link", "capsule", (0.06,),
         fromto=(0.02, 0.0, 0.0, 0.02, 0.0, -0.08)),
    Geom("left_thigh_collision", "left_hip_yaw_link", "capsule", (0.055,),
         fromto=(0.0, 0.0, -0.03, -0.06, 0.0, -0.17)),
    Geom("left_shin_collision", "left_knee_link", "capsule", (0.045,),
         fromto=(0.01, 0.0, 0.0, 0.01, 0.0, -0.15)),
    Geom("left_linkage_brace_collision", "left_knee_link", "capsule", (0.03,),
         fromto=(0.01, 0.0, -0.2, 0.01, 0.0, -0.28)),
    Geom("left_foot_box_collision", "left_ankle_roll_link", "box", (0.09, 0.03, 0.008),
         role="self", pos=(0.04, 0.0, -0.029)),
    *(
        Geom(f"left_foot{i + 1}_collision", "left_ankle_roll_link", "sphere",
             (FOOT_SPHERE_RADIUS,), role="foot", pos=(x, y, FOOT_SOLE_Z + FOOT_SPHERE_RADIUS))
        for i, (x, y) in enumerate(_FOOT_POINTS)
    ),
    Geom("left_shoulder_yaw_collision", "left_shoulder_yaw_link", "capsule", (0.035,),
         fromto=(0.0, 0.0, -0.08, 0.0, 0.0, 0.05)),
    Geom("left_elbow_yaw_collision", "left_elbow_link", "capsule", (0.035,),
         fromto=(-0.01, 0.0, -0.01, 0.08, 0.0, -0.01)),
    Geom("left_wrist_collision", "left_wrist_pitch_link", "capsule", (0.035,),
         fromto=(-0.01, 0.0, 0.0, 0.06, 0.0, 0.0)),
    Geom("left_hand_collision", "left_wrist_yaw_link", "capsule", (0.035,),
         fromto=(0.07, 0.0, 0.0, 0.15, -0.02, 0.0)),
)

#: Primitive collision set, after Menagerie ``g1_mjx.xml`` (feet: sphere points instead of
#: capsules, which give four stable contacts per sole on planes, boxes and height fields).
GEOMS: tuple[Geom, ...] = (
    Geom("pelvis_collision", "pelvis", "sphere", (0.07,), pos=(0.0, 0.0, -0.08)),
    Geom("torso_collision", "torso_link", "capsule", (0.09,),
         fromto=(0.01, 0.0, 0.08, 0.01, 0.0, 0.2)),
    Geom("head_collision", "torso_link", "sphere", (0.06,), pos=(0.0, 0.0, 0.43)),
    *_left_right(_LEFT_GEOMS),
)
# fmt: on

#: Self-collision pairs checked by the simulator (as the explicit pairs of the MJX scene, without
#: the floor pairs: environment contacts go through contype/conaffinity instead).
SELF_COLLISION_PAIRS: tuple[tuple[str, str], ...] = (
    ("left_foot_box_collision", "right_foot_box_collision"),
    ("left_foot_box_collision", "right_shin_collision"),
    ("right_foot_box_collision", "left_shin_collision"),
    ("left_foot_box_collision", "right_linkage_brace_collision"),
    ("right_foot_box_collision", "left_linkage_brace_collision"),
    ("left_hand_collision", "left_hip_collision"),
    ("right_hand_collision", "right_hip_collision"),
    ("left_hand_collision", "left_thigh_collision"),
    ("right_hand_collision", "right_thigh_collision"),
    ("left_shin_collision", "right_shin_collision"),
    ("torso_collision", "left_shoulder_yaw_collision"),
    ("torso_collision", "right_shoulder_yaw_collision"),
    ("torso_collision", "left_elbow_yaw_collision"),
    ("torso_collision", "right_elbow_yaw_collision"),
    ("torso_collision", "left_wrist_collision"),
    ("torso_collision", "right_wrist_collision"),
    ("torso_collision", "left_hand_collision"),
    ("torso_collision", "right_hand_collision"),
    ("left_thigh_collision", "right_thigh_collision"),
    ("left_shin_collision", "right_thigh_collision"),
    ("right_shin_collision", "left_thigh_collision"),
    ("left_shin_collision", "right_hip_collision"),
    ("right_shin_collision", "left_hip_collision"),
    ("left_hip_collision", "right_thigh_collision"),
    ("right_hip_collision", "left_thigh_collision"),
    ("left_hand_collision", "right_hand_collision"),
)


@dataclass(frozen=True)
class Site:
    """A named point in a body frame (m)."""

    name: str
    body: str
    pos: Vec3


#: Sites for IMUs, soles, palms and the head (retargeting targets and AMP key points).
SITES: tuple[Site, ...] = (
    Site("imu_in_pelvis", "pelvis", (0.04525, 0.0, -0.08339)),
    Site("imu_in_torso", "torso_link", (-0.03959, -0.00224, 0.14792)),
    Site("head", "torso_link", (0.0, 0.0, 0.43)),
    Site("left_foot", "left_ankle_roll_link", (0.04, 0.0, FOOT_SOLE_Z)),
    Site("right_foot", "right_ankle_roll_link", (0.04, 0.0, FOOT_SOLE_Z)),
    Site("left_palm", "left_wrist_yaw_link", (0.08, 0.0, 0.0)),
    Site("right_palm", "right_wrist_yaw_link", (0.08, 0.0, 0.0)),
)


@dataclass(frozen=True)
class Pose:
    """A named standing pose: pelvis height (m, root at the origin, upright) and 29 joint angles."""

    name: str
    root_height: float
    dof_pos: tuple[float, ...]  # rad, JOINT_NAMES order


_ARMS_STAND = (0.2, 0.2, 0.0, 1.28, 0.0, 0.0, 0.0, 0.2, -0.2, 0.0, 1.28, 0.0, 0.0, 0.0)
_LEG_BENT = (-0.312, 0.0, 0.0, 0.669, -0.363, 0.0)
_ARMS_BENT = (0.2, 0.22, 0.0, 1.0, 0.0, 0.0, 0.0, 0.2, -0.22, 0.0, 1.0, 0.0, 0.0, 0.0)

POSES: MappingProxyType[str, Pose] = MappingProxyType(
    {
        # Official keyframe: straight legs, elbows bent.
        "stand": Pose("stand", 0.79, (0.0,) * 12 + (0.0, 0.0, 0.0) + _ARMS_STAND),
        # Walking default: knees bent, slight forward lean.
        "knees_bent": Pose("knees_bent", 0.755, _LEG_BENT * 2 + (0.0, 0.0, 0.073) + _ARMS_BENT),
    }
)

#: The pose used as the PD-control offset and reset pose by default.
DEFAULT_POSE = "knees_bent"

#: Bodies whose positions describe the motion for retargeting checks and AMP observations
#: (official names; the hands have no separate body, the wrist-yaw link carries the hand).
KEY_BODIES: tuple[str, ...] = (
    "left_ankle_roll_link",
    "right_ankle_roll_link",
    "left_knee_link",
    "right_knee_link",
    "left_wrist_yaw_link",
    "right_wrist_yaw_link",
    "left_elbow_link",
    "right_elbow_link",
    "torso_link",
)

#: (left, right) foot bodies.
FOOT_BODIES: tuple[str, str] = ("left_ankle_roll_link", "right_ankle_roll_link")


def _check_tables() -> None:
    """Fail at import if the tables are inconsistent (cheap, runs once)."""
    seen = {"world"}
    for b in BODIES:
        if b.parent not in seen:
            raise ValueError(f"g1_params: body {b.name} listed before its parent {b.parent}")
        seen.add(b.name)
    body_joints = [b.joint for b in BODIES if b.joint is not None]
    if tuple(body_joints) != JOINT_NAMES:
        raise ValueError("g1_params: body joints are not in JOINTS order")
    for p in POSES.values():
        if len(p.dof_pos) != len(JOINTS):
            raise ValueError(f"g1_params: pose {p.name} has {len(p.dof_pos)} angles, expected 29")
        for j, q in zip(JOINTS, p.dof_pos, strict=True):
            if not j.lower <= q <= j.upper:
                raise ValueError(f"g1_params: pose {p.name} puts {j.name} outside its range")
    geom_names = {g.name for g in GEOMS}
    for a, b in SELF_COLLISION_PAIRS:
        if a not in geom_names or b not in geom_names:
            raise ValueError(f"g1_params: self-collision pair ({a}, {b}) names an unknown geom")
    for item in (*GEOMS, *SITES):
        if item.body not in BODIES_BY_NAME:
            raise ValueError(f"g1_params: {item.name} is attached to unknown body {item.body}")


_check_tables()
