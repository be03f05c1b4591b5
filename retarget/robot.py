"""The Unitree G1 robot model: the built-in MJCF (from :mod:`retarget.g1_params`) or the official one.

``load_robot(None)`` gives the built-in model, generated from the published G1 parameters so the
project runs offline; ``load_robot(path)`` loads an official G1 MJCF (Menagerie ``g1.xml`` /
``scene.xml`` or another file with the official joint names). Both come back as a
:class:`RobotModel` with the same joint order and metadata, so everything downstream works with
either.

Conventions: world frame Z up; quaternions (w, x, y, z); the 29 actuated joints in the model's
joint order (the official order, ``g1_params.JOINT_NAMES``); angles in rad, torques in N m.
"""

from __future__ import annotations

import functools
import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import mujoco
import numpy as np

from retarget import g1_params as P

#: Physics step of the built-in model (s): 200 Hz, the project's simulation rate.
TIMESTEP = 0.005

_RGBA_VISUAL = "0.7 0.7 0.72 1"
_RGBA_DARK = "0.25 0.25 0.28 1"
_RGBA_COLLISION = "0.2 0.6 0.2 0.3"


class RobotModelError(ValueError):
    """An MJCF that is not a usable G1 model; the message names the file and the problem."""


# --------------------------------------------------------------------------------------------
# MJCF generation
# --------------------------------------------------------------------------------------------


def _fmt(values: Sequence[float] | float) -> str:
    """Numbers as MJCF text, full precision without trailing noise."""
    if isinstance(values, int | float):
        values = (values,)
    return " ".join(f"{float(v):.10g}" for v in values)


def _sub(parent: ET.Element, tag: str, **attrs: str | float | Sequence[float]) -> ET.Element:
    """Append a child element; non-string attribute values are formatted as numbers."""
    clean = {k.rstrip("_"): v if isinstance(v, str) else _fmt(v) for k, v in attrs.items()}
    return ET.SubElement(parent, tag, clean)


def _geom_attrs(g: P.Geom) -> dict[str, str | Sequence[float]]:
    attrs: dict[str, str | Sequence[float]] = {"type": g.type, "size": g.size}
    if g.fromto is not None:
        attrs["fromto"] = g.fromto
    else:
        attrs["pos"] = g.pos
    return attrs


# Cosmetic shapes for links that have no collision geom (visual group only).
# fmt: off
_EXTRA_VISUALS: tuple[tuple[str, dict[str, str | Sequence[float]]], ...] = (
    ("waist_yaw_link", {"type": "cylinder", "size": (0.045, 0.02), "pos": (0.0, 0.0, 0.02)}),
    ("left_hip_pitch_link", {"type": "cylinder", "size": (0.045, 0.03), "pos": (0.0, 0.04, -0.02),
                             "quat": (0.7071068, 0.7071068, 0.0, 0.0)}),
    ("right_hip_pitch_link", {"type": "cylinder", "size": (0.045, 0.03),
                              "pos": (0.0, -0.04, -0.02), "quat": (0.7071068, 0.7071068, 0.0, 0.0)}),
    ("left_shoulder_pitch_link", {"type": "cylinder", "size": (0.03, 0.025),
                                  "pos": (0.0, 0.04, -0.01),
                                  "quat": (0.7071068, 0.0, 0.7071068, 0.0)}),
    ("right_shoulder_pitch_link", {"type": "cylinder", "size": (0.03, 0.025),
                                   "pos": (0.0, -0.04, -0.01),
                                   "quat": (0.7071068, 0.0, 0.7071068, 0.0)}),
    ("left_shoulder_roll_link", {"type": "capsule", "size": (0.032,),
                                 "fromto": (-0.004, 0.006, -0.02, -0.004, 0.006, -0.09)}),
    ("right_shoulder_roll_link", {"type": "capsule", "size": (0.032,),
                                  "fromto": (-0.004, -0.006, -0.02, -0.004, -0.006, -0.09)}),
    ("left_ankle_pitch_link", {"type": "sphere", "size": (0.025,)}),
    ("right_ankle_pitch_link", {"type": "sphere", "size": (0.025,)}),
)
# fmt: on


def _add_defaults(root: ET.Element) -> None:
    default = _sub(root, "default")
    g1 = _sub(default, "default", class_="g1")
    _sub(g1, "joint", damping=P.JOINT_DAMPING, frictionloss=P.JOINT_FRICTIONLOSS)
    # Geoms collide with nothing unless their class says so; inertia comes from <inertial>.
    _sub(g1, "geom", contype="0", conaffinity="0", density="0", condim="3")
    _sub(g1, "site", group="5", size="0.01", rgba="1 0 0 1")
    visual = _sub(g1, "default", class_="visual")
    _sub(visual, "geom", group="2", rgba=_RGBA_VISUAL)
    collision = _sub(g1, "default", class_="collision")
    # contype 1, conaffinity 0: touches the environment (default contype/conaffinity 1) but not
    # the robot itself; self-collisions are the explicit <pair>s.
    _sub(collision, "geom", group="3", contype="1", conaffinity="0", rgba=_RGBA_COLLISION)
    foot = _sub(collision, "default", class_="foot")
    _sub(foot, "geom", friction="1 0.005 0.0001", condim="3")
    self_only = _sub(g1, "default", class_="self_collision")
    _sub(self_only, "geom", group="3", contype="0", conaffinity="0", rgba=_RGBA_COLLISION)


def _add_floor(root: ET.Element, worldbody: ET.Element) -> None:
    asset = _sub(root, "asset")
    _sub(
        asset,
        "texture",
        name="floor_grid",
        type="2d",
        builtin="checker",
        width="256",
        height="256",
        rgb1="0.24 0.3 0.36",
        rgb2="0.16 0.22 0.28",
        mark="edge",
        markrgb="0.6 0.6 0.6",
    )
    _sub(
        asset,
        "material",
        name="floor_grid",
        texture="floor_grid",
        texrepeat="4 4",
        texuniform="true",
    )
    _sub(worldbody, "light", name="sun", pos="0 0 4", dir="0 0 -1", directional="true")
    _sub(
        worldbody,
        "geom",
        name="floor",
        type="plane",
        size="0 0 0.05",
        material="floor_grid",
        condim="3",
    )


def _add_body_tree(worldbody: ET.Element) -> None:
    elements: dict[str, ET.Element] = {"world": worldbody}
    geoms_by_body: dict[str, list[P.Geom]] = {}
    for g in P.GEOMS:
        geoms_by_body.setdefault(g.body, []).append(g)
    sites_by_body: dict[str, list[P.Site]] = {}
    for s in P.SITES:
        sites_by_body.setdefault(s.body, []).append(s)
    extras: dict[str, list[dict[str, str | Sequence[float]]]] = {}
    for body_name, attrs in _EXTRA_VISUALS:
        extras.setdefault(body_name, []).append(attrs)

    for b in P.BODIES:
        attrs: dict[str, str | Sequence[float]] = {"name": b.name, "pos": b.pos}
        if b.quat != (1.0, 0.0, 0.0, 0.0):
            attrs["quat"] = b.quat
        if b.parent == "world":
            attrs["childclass"] = "g1"
        el = _sub(elements[b.parent], "body", **attrs)
        elements[b.name] = el
        i = b.inertial
        _sub(el, "inertial", pos=i.com, quat=i.quat, mass=i.mass, diaginertia=i.diaginertia)
        if b.joint is None:
            _sub(el, "freejoint", name=P.FREE_JOINT)
        else:
            j = P.JOINTS_BY_NAME[b.joint]
            m = j.spec
            _sub(
                el,
                "joint",
                name=j.name,
                type="hinge",
                axis=j.axis,
                range=(j.lower, j.upper),
                armature=m.armature,
                actuatorfrcrange=(-m.effort_limit, m.effort_limit),
            )
        for g in geoms_by_body.get(b.name, []):
            cls = {"contact": "collision", "foot": "foot", "self": "self_collision"}[g.role]
            _sub(el, "geom", name=g.name, class_=cls, **_geom_attrs(g))
            if g.role != "foot":
                rgba = _RGBA_DARK if g.body.endswith(("ankle_roll_link", "pelvis")) else None
                vis = _sub(
                    el,
                    "geom",
                    name=g.name.replace("_collision", "_visual"),
                    class_="visual",
                    **_geom_attrs(g),
                )
                if rgba is not None:
                    vis.set("rgba", rgba)
        for attrs_v in extras.get(b.name, []):
            _sub(el, "geom", class_="visual", **attrs_v)
        for s in sites_by_body.get(b.name, []):
            _sub(el, "site", name=s.name, pos=s.pos)


@functools.lru_cache(maxsize=4)
def g1_mjcf(*, floor: bool = False) -> str:
    """MJCF text of the built-in G1 model, generated from :mod:`retarget.g1_params`.

    Contents: the 30-body tree with official names, a free joint ``floating_base_joint`` on
    ``pelvis``, 29 hinge joints (ranges, armature, friction loss, torque limits), explicit
    inertials, primitive collision geoms (group 3; feet: four sole spheres per foot named
    ``{left,right}_foot{1..4}_collision``) that collide with the environment but not with each
    other, explicit self-collision pairs, visual copies of the primitives (group 2), sites
    (IMUs, soles ``left_foot``/``right_foot``, palms, head), one position actuator per joint
    (named as the joint; ``kp``/``kv`` = the PD gains, ``forcerange`` = the torque limit,
    ``ctrlrange`` = the joint range) and keyframes ``stand`` and ``knees_bent``. Physics: 200 Hz
    (``timestep`` 0.005 s), ``implicitfast`` integrator, pyramidal friction cones.

    Args:
        floor: add a ground plane named ``floor`` (and a light) for standalone use.
    """
    root = ET.Element("mujoco", {"model": P.ROBOT_NAME})
    _sub(root, "compiler", angle="radian", autolimits="true")
    _sub(root, "option", timestep=TIMESTEP, integrator="implicitfast", cone="pyramidal")
    _sub(root, "statistic", center="0 0 0.7", extent="1.2", meansize="0.05")
    visual = _sub(root, "visual")
    _sub(visual, "global", offwidth="1280", offheight="720")
    _add_defaults(root)
    worldbody = ET.Element("worldbody")
    if floor:
        _add_floor(root, worldbody)
    root.append(worldbody)
    _add_body_tree(worldbody)

    contact = _sub(root, "contact")
    for a, b in P.SELF_COLLISION_PAIRS:
        _sub(
            contact,
            "pair",
            name=f"{a.removesuffix('_collision')}__{b.removesuffix('_collision')}",
            geom1=a,
            geom2=b,
            condim="1",
        )

    actuator = _sub(root, "actuator")
    for j in P.JOINTS:
        m = j.spec
        _sub(
            actuator,
            "position",
            name=j.name,
            joint=j.name,
            kp=m.kp,
            kv=m.kd,
            ctrlrange=(j.lower, j.upper),
            forcerange=(-m.effort_limit, m.effort_limit),
        )

    keyframe = _sub(root, "keyframe")
    for pose in P.POSES.values():
        qpos = (0.0, 0.0, pose.root_height, 1.0, 0.0, 0.0, 0.0, *pose.dof_pos)
        _sub(keyframe, "key", name=pose.name, qpos=qpos, ctrl=pose.dof_pos)

    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _is_xml_text(mjcf: str | Path) -> bool:
    return isinstance(mjcf, str) and mjcf.lstrip().startswith("<")


def robot_spec(mjcf: str | Path | None = None) -> mujoco.MjSpec:
    """A fresh, editable ``mujoco.MjSpec`` of the robot, for composing scenes (e.g. with terrain).

    Args:
        mjcf: None for the built-in model; a path to an official G1 MJCF; or MJCF text.

    To put the robot into another scene (terrain), use :func:`attach_robot`, which follows this
    recipe (MuJoCo >= 3.3, tested with 4.0.0)::

        scene = mujoco.MjSpec()                                   # or a spec holding the terrain
        scene.option.timestep = retarget.robot.TIMESTEP           # set before attaching, or the
        scene.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST  # parent's win
        scene.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1])
        frame = scene.worldbody.add_frame(pos=[0, 0, 0])
        frame.attach_body(robot_spec().body("pelvis"), "", "")  # empty prefix/suffix: keep names
        model = compile_scene(scene)                              # scene.compile(), quieter
        robot = describe_robot(model)                             # addresses in the scene model

    ``attach_body`` copies the body subtree and everything that refers to it (actuators, contact
    pairs, defaults, keyframes) into the scene; the child's ``<option>`` is not carried over.
    MuJoCo warns that an empty prefix "may prevent the model from being saved correctly" (a
    concern for ``to_xml`` of specs with clashing names only); :func:`compile_scene` silences it.
    The alternative without attaching: add the terrain (geoms, hfield assets) directly to
    ``robot_spec()``'s world body and compile that spec; it keeps the robot's options too.
    The robot's collision geoms have contype 1 / conaffinity 0, so terrain geoms must keep
    conaffinity 1 (MuJoCo's default) to be touched.
    """
    try:
        if mjcf is None:
            return mujoco.MjSpec.from_string(g1_mjcf())
        if _is_xml_text(mjcf):
            return mujoco.MjSpec.from_string(str(mjcf))
        path = Path(mjcf)
        if not path.is_file():
            raise RobotModelError(f"{path}: robot MJCF not found")
        return mujoco.MjSpec.from_file(str(path))
    except ValueError as exc:
        if isinstance(exc, RobotModelError):
            raise
        raise RobotModelError(f"{_source_name(mjcf)}: cannot parse robot MJCF: {exc}") from exc


def _source_name(mjcf: str | Path | None) -> str:
    if mjcf is None:
        return "<built-in G1>"
    if _is_xml_text(mjcf):
        return "<MJCF text>"
    return str(mjcf)


@dataclass(frozen=True, eq=False)
class RobotModel:
    """A compiled G1 model plus the metadata the pipeline needs, all in model joint order.

    Arrays are read-only. ``kp``, ``kd``, ``vel_limits``, ``armature`` and the poses are the
    published G1 values from :mod:`retarget.g1_params` whatever the MJCF says (for a position-
    actuated MJCF, :func:`load_robot` writes ``kp``/``kd`` into the actuators by default), while
    ``joint_limits`` and ``effort_limits`` are read from the compiled model. The gains assume an
    active policy; they are too soft to hold the robot up passively (see ``g1_params``).
    """

    model: mujoco.MjModel
    source: str  # "builtin", the MJCF path, or "<MJCF text>"
    dof_names: tuple[str, ...]  # [29]
    root_body: str
    root_qpos_adr: int  # qpos[adr:adr+7] = root position (3) and quaternion (4)
    root_dof_adr: int  # qvel[adr:adr+6] = root linear (world) and angular (body) velocity
    qpos_adr: np.ndarray  # [29] int, qpos index of each joint
    dof_adr: np.ndarray  # [29] int, qvel index of each joint
    actuator_ids: np.ndarray  # [29] int, actuator driving each joint
    actuator_kind: Literal["position", "motor"]  # ctrl = target angle (rad) or torque (N m)
    joint_limits: np.ndarray  # [29, 2] rad
    vel_limits: np.ndarray  # [29] rad/s
    effort_limits: np.ndarray  # [29] N m
    kp: np.ndarray  # [29] N m / rad
    kd: np.ndarray  # [29] N m s / rad
    armature: np.ndarray  # [29] kg m^2
    poses: MappingProxyType[str, P.Pose]
    default_pose: str
    key_bodies: tuple[str, ...]
    key_body_ids: np.ndarray  # [B] int
    foot_bodies: tuple[str, str]  # (left, right)
    foot_body_ids: np.ndarray  # [2] int
    foot_geom_ids: tuple[tuple[int, ...], tuple[int, ...]]  # geoms per foot touching terrain
    mirror_perm: np.ndarray  # [29] int: mirrored[i] = mirror_sign[i] * dof[mirror_perm[i]]
    mirror_sign: np.ndarray  # [29] +1 / -1
    key_body_mirror_perm: np.ndarray  # [B] int: key body i <-> key body perm[i]
    _mjcf: str | Path | None = field(default=None, repr=False)
    _has_mjcf: bool = field(default=True, repr=False)

    @property
    def num_dofs(self) -> int:
        return len(self.dof_names)

    @property
    def default_dof_pos(self) -> np.ndarray:
        """[29] rad, the default pose's joint angles (PD offset, reset pose)."""
        return np.asarray(self.poses[self.default_pose].dof_pos, dtype=np.float64)

    @property
    def default_root_height(self) -> float:
        """Pelvis height (m) with the feet on the ground in the default pose."""
        return self.poses[self.default_pose].root_height

    @property
    def total_mass(self) -> float:
        """kg, sum of all body masses."""
        return float(self.model.body_mass.sum())

    def spec(self) -> mujoco.MjSpec:
        """A fresh ``MjSpec`` of the same MJCF (see :func:`robot_spec` for composing scenes)."""
        if not self._has_mjcf:
            raise RobotModelError(f"{self.source}: described from a compiled model, no MJCF kept")
        return robot_spec(self._mjcf)

    def default_qpos(self, pose: str | None = None) -> np.ndarray:
        """[nq] qpos with the root upright at the origin at the pose's height (default pose)."""
        p = self.poses[pose or self.default_pose]
        qpos = self.model.qpos0.copy()
        qpos[self.root_qpos_adr : self.root_qpos_adr + 7] = (0, 0, p.root_height, 1, 0, 0, 0)
        qpos[self.qpos_adr] = p.dof_pos
        return qpos


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _name(model: mujoco.MjModel, obj: mujoco.mjtObj, i: int) -> str:
    return mujoco.mj_id2name(model, obj, i) or ""


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name


def _mirror_tables(
    model: mujoco.MjModel, joint_ids: np.ndarray, dof_names: tuple[str, ...], src: str
) -> tuple[np.ndarray, np.ndarray]:
    """Left/right permutation and signs for joint angles under the sagittal reflection y -> -y.

    Derived from names and axes: the reflection M = diag(1, -1, 1) maps a rotation about a world
    axis a to one about -M a (axes are pseudovectors), so joint i maps onto joint perm[i] with
    sign = (-M a_i) . a_perm[i], both axes taken in the world frame at the model's qpos0.
    """
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    axes = data.xaxis[joint_ids]  # [29, 3] world axes at qpos0
    index = {n: i for i, n in enumerate(dof_names)}
    perm = np.empty(len(dof_names), dtype=np.int64)
    sign = np.empty(len(dof_names), dtype=np.float64)
    reflect = np.array([-1.0, 1.0, -1.0])  # -M
    for i, n in enumerate(dof_names):
        partner = _mirror_name(n)
        if partner not in index:
            raise RobotModelError(f"{src}: joint {n} has no mirror partner {partner}")
        perm[i] = index[partner]
        s = float(np.dot(reflect * axes[i], axes[perm[i]]))
        if abs(abs(s) - 1.0) > 1e-3:
            raise RobotModelError(
                f"{src}: joints {n} and {partner} are not mirror images (axis dot {s:.4f})"
            )
        sign[i] = math.copysign(1.0, s)
    return perm, sign


def describe_robot(
    model: mujoco.MjModel, *, source: str = "<compiled model>", override_gains: bool = True
) -> RobotModel:
    """Describe the G1 inside an already compiled model (e.g. a scene built with
    :func:`attach_robot`): joint/actuator addresses, limits, gains, poses and mirror tables.

    ``override_gains`` writes the project's ``kp``/``kd`` into position actuators (in place).
    :meth:`RobotModel.spec` is unavailable for such a model (no MJCF is kept).
    """
    return _describe(model, None, override_gains, src=source, has_mjcf=False)


def _describe(
    model: mujoco.MjModel,
    mjcf: str | Path | None,
    override_gains: bool,
    *,
    src: str | None = None,
    has_mjcf: bool = True,
) -> RobotModel:
    src = src or _source_name(mjcf)
    hinge = [i for i in range(model.njnt) if model.jnt_type[i] == mujoco.mjtJoint.mjJNT_HINGE]
    names = tuple(_name(model, mujoco.mjtObj.mjOBJ_JOINT, i) for i in hinge)
    missing = [n for n in P.JOINT_NAMES if n not in names]
    extra = [n for n in names if n not in P.JOINTS_BY_NAME]
    if missing or extra:
        raise RobotModelError(
            f"{src}: not a G1 29-DoF model: missing joints {missing}, unexpected joints {extra}"
        )
    free = [i for i in range(model.njnt) if model.jnt_type[i] == mujoco.mjtJoint.mjJNT_FREE]
    if len(free) != 1:
        raise RobotModelError(f"{src}: expected one free joint on the root, found {len(free)}")
    root_body = _name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.jnt_bodyid[free[0]]))
    if root_body != P.ROOT_BODY:
        raise RobotModelError(f"{src}: free joint is on body {root_body!r}, expected 'pelvis'")

    joint_ids = np.asarray(hinge, dtype=np.int64)
    if not np.all(model.jnt_limited[joint_ids]):
        raise RobotModelError(f"{src}: every G1 joint must have a range")

    # One actuator per joint.
    act_ids = np.full(len(hinge), -1, dtype=np.int64)
    for a in range(model.nu):
        if model.actuator_trntype[a] != mujoco.mjtTrn.mjTRN_JOINT:
            continue
        where = np.flatnonzero(joint_ids == model.actuator_trnid[a, 0])
        if where.size:
            if act_ids[where[0]] >= 0:
                raise RobotModelError(f"{src}: joint {names[where[0]]} has two actuators")
            act_ids[where[0]] = a
    if np.any(act_ids < 0):
        raise RobotModelError(
            f"{src}: joints without an actuator: {[names[i] for i in np.flatnonzero(act_ids < 0)]}"
        )
    position = bool(
        np.all(model.actuator_biastype[act_ids] == mujoco.mjtBias.mjBIAS_AFFINE)
        and np.all(model.actuator_gaintype[act_ids] == mujoco.mjtGain.mjGAIN_FIXED)
    )
    motor = bool(np.all(model.actuator_biastype[act_ids] == mujoco.mjtBias.mjBIAS_NONE))
    if not (position or motor):
        raise RobotModelError(f"{src}: actuators must be all position servos or all motors")

    joints = [P.JOINTS_BY_NAME[n] for n in names]
    kp = np.array([j.spec.kp for j in joints])
    kd = np.array([j.spec.kd for j in joints])
    effort = np.array([j.spec.effort_limit for j in joints])
    for k, jid in enumerate(joint_ids):
        if model.jnt_actfrclimited[jid]:
            effort[k] = float(np.max(np.abs(model.jnt_actfrcrange[jid])))
        elif model.actuator_forcelimited[act_ids[k]]:
            effort[k] = float(np.max(np.abs(model.actuator_forcerange[act_ids[k]])))
    if position and override_gains:
        apply_pd_gains(model, act_ids, kp, kd)

    def body_ids(bodies: Sequence[str]) -> np.ndarray:
        ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in bodies]
        bad = [b for b, i in zip(bodies, ids, strict=True) if i < 0]
        if bad:
            raise RobotModelError(f"{src}: bodies not found: {bad}")
        return np.asarray(ids, dtype=np.int64)

    key_ids = body_ids(P.KEY_BODIES)
    foot_ids = body_ids(P.FOOT_BODIES)
    foot_geoms = tuple(_environment_geoms(model, int(fid)) for fid in foot_ids)
    perm, sign = _mirror_tables(model, joint_ids, names, src)
    key_index = {b: i for i, b in enumerate(P.KEY_BODIES)}
    key_perm = np.array([key_index[_mirror_name(b)] for b in P.KEY_BODIES], dtype=np.int64)

    return RobotModel(
        model=model,
        source="builtin" if (mjcf is None and has_mjcf) else src,
        dof_names=names,
        root_body=root_body,
        root_qpos_adr=int(model.jnt_qposadr[free[0]]),
        root_dof_adr=int(model.jnt_dofadr[free[0]]),
        qpos_adr=_readonly(model.jnt_qposadr[joint_ids]),
        dof_adr=_readonly(model.jnt_dofadr[joint_ids]),
        actuator_ids=_readonly(act_ids),
        actuator_kind="position" if position else "motor",
        joint_limits=_readonly(model.jnt_range[joint_ids]),
        vel_limits=_readonly([j.spec.velocity_limit for j in joints]),
        effort_limits=_readonly(effort),
        kp=_readonly(kp),
        kd=_readonly(kd),
        armature=_readonly([j.spec.armature for j in joints]),
        poses=MappingProxyType(dict(P.POSES)),
        default_pose=P.DEFAULT_POSE,
        key_bodies=P.KEY_BODIES,
        key_body_ids=_readonly(key_ids),
        foot_bodies=P.FOOT_BODIES,
        foot_body_ids=_readonly(foot_ids),
        foot_geom_ids=(foot_geoms[0], foot_geoms[1]),
        mirror_perm=_readonly(perm),
        mirror_sign=_readonly(sign),
        key_body_mirror_perm=_readonly(key_perm),
        _mjcf=mjcf,
        _has_mjcf=has_mjcf,
    )


def _environment_geoms(model: mujoco.MjModel, body_id: int) -> tuple[int, ...]:
    """Geoms of a body that can touch the environment: through contype/conaffinity, or through
    an explicit contact pair with a world-body geom (the Menagerie MJX scenes use pairs only)."""
    paired = set()
    for g1, g2 in zip(model.pair_geom1, model.pair_geom2, strict=True):
        if model.geom_bodyid[g1] == 0:
            paired.add(int(g2))
        if model.geom_bodyid[g2] == 0:
            paired.add(int(g1))
    return tuple(
        int(g)
        for g in np.flatnonzero(model.geom_bodyid == body_id)
        if model.geom_contype[g] or model.geom_conaffinity[g] or int(g) in paired
    )


def apply_pd_gains(
    model: mujoco.MjModel, actuator_ids: np.ndarray, kp: np.ndarray, kd: np.ndarray
) -> None:
    """Write PD gains into position actuators in place: force = kp (ctrl - q) - kd qdot."""
    model.actuator_gainprm[actuator_ids, 0] = kp
    model.actuator_biasprm[actuator_ids, 0] = 0.0
    model.actuator_biasprm[actuator_ids, 1] = -kp
    model.actuator_biasprm[actuator_ids, 2] = -kd


def load_robot(mjcf: str | Path | None = None, *, override_gains: bool = True) -> RobotModel:
    """Compile the robot and describe it.

    Args:
        mjcf: None for the built-in G1 (no floor); a path to an official G1 MJCF (``g1.xml``,
            ``scene.xml``, ...; meshes are resolved relative to the file); or MJCF text
            (a string starting with ``<``).
        override_gains: for position actuators, replace the file's gains by the project's
            ``kp``/``kd`` (the official ``g1.xml`` ships kp = 500, critically damped), so
            simulation behaves the same with either model.

    Raises:
        RobotModelError: the file is missing, does not compile, or is not a 29-DoF G1 with
            one actuator per joint; the message names the file.
    """
    spec = robot_spec(mjcf)
    try:
        model = spec.compile()
    except ValueError as exc:
        raise RobotModelError(f"{_source_name(mjcf)}: robot MJCF does not compile: {exc}") from exc
    return _describe(model, mjcf, override_gains)


def attach_robot(
    scene: mujoco.MjSpec,
    mjcf: str | Path | None = None,
    *,
    pos: Sequence[float] = (0.0, 0.0, 0.0),
) -> mujoco.MjsBody:
    """Attach the robot (built-in or official MJCF) to ``scene``'s world body, keeping names.

    The scene's ``option`` is left as is: set ``timestep``/``integrator`` on it (see
    :func:`robot_spec`). Returns the attached root body (``pelvis``) in ``scene``. Compile with
    :func:`compile_scene` and pass the model to :func:`describe_robot`.
    """
    frame = scene.worldbody.add_frame(pos=list(pos))
    return frame.attach_body(robot_spec(mjcf).body(P.ROOT_BODY), "", "")


def compile_scene(scene: mujoco.MjSpec) -> mujoco.MjModel:
    """``scene.compile()`` without the two warnings an :func:`attach_robot` scene always raises.

    MuJoCo warns at compile time that an empty attach prefix "may prevent the model from being
    saved correctly" and that the robot's ``<option>`` conflicts with the scene's (the scene's
    wins, as intended). Other warnings pass through.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*empty prefix.*")
        warnings.filterwarnings("ignore", message=".*Attach conflict.*")
        return scene.compile()


# --------------------------------------------------------------------------------------------
# Kinematics and mirroring
# --------------------------------------------------------------------------------------------


def forward_kinematics(
    robot: RobotModel,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    dof_pos: np.ndarray,
    bodies: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """World positions and orientations of bodies over a motion.

    Args:
        robot: the model.
        root_pos: [T, 3] pelvis position, world frame (m).
        root_quat: [T, 4] pelvis orientation (w, x, y, z), world frame.
        dof_pos: [T, 29] joint angles (rad), model joint order.
        bodies: body names (default ``robot.key_bodies``).

    Returns:
        ``(pos [T, B, 3] m, quat [T, B, 4] (w, x, y, z))`` in the world frame.
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    root_quat = np.asarray(root_quat, dtype=np.float64)
    dof_pos = np.asarray(dof_pos, dtype=np.float64)
    t = dof_pos.shape[0]
    if root_pos.shape != (t, 3) or root_quat.shape != (t, 4) or dof_pos.shape != (t, 29):
        raise ValueError(
            "forward_kinematics: expected root_pos [T,3], root_quat [T,4], dof_pos [T,29]; got "
            f"{root_pos.shape}, {root_quat.shape}, {dof_pos.shape}"
        )
    names = robot.key_bodies if bodies is None else tuple(bodies)
    ids = []
    for b in names:
        i = mujoco.mj_name2id(robot.model, mujoco.mjtObj.mjOBJ_BODY, b)
        if i < 0:
            raise ValueError(f"forward_kinematics: unknown body {b!r} in {robot.source}")
        ids.append(i)
    ids_arr = np.asarray(ids, dtype=np.int64)
    data = mujoco.MjData(robot.model)
    pos = np.empty((t, len(ids), 3))
    quat = np.empty((t, len(ids), 4))
    a = robot.root_qpos_adr
    for k in range(t):
        data.qpos[a : a + 3] = root_pos[k]
        data.qpos[a + 3 : a + 7] = root_quat[k] / np.linalg.norm(root_quat[k])
        data.qpos[robot.qpos_adr] = dof_pos[k]
        mujoco.mj_kinematics(robot.model, data)
        pos[k] = data.xpos[ids_arr]
        quat[k] = data.xquat[ids_arr]
    return pos, quat


def mirror_dof(robot: RobotModel, dof: np.ndarray) -> np.ndarray:
    """Joint angles (or velocities) [..., 29] of the left/right mirrored motion (y -> -y)."""
    dof = np.asarray(dof, dtype=np.float64)
    return dof[..., robot.mirror_perm] * robot.mirror_sign


def mirror_root(root_pos: np.ndarray, root_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root position [..., 3] and quaternion [..., 4] (w, x, y, z) reflected through y = 0.

    The orientation R maps to M R M with M = diag(1, -1, 1), i.e. (w, x, y, z) -> (w, -x, y, -z).
    Works for any world-frame point or rotation; body-frame angular velocities map like
    (x, y, z) -> (-x, y, -z) and linear velocities like points.
    """
    pos = np.asarray(root_pos, dtype=np.float64) * np.array([1.0, -1.0, 1.0])
    quat = np.asarray(root_quat, dtype=np.float64) * np.array([1.0, -1.0, 1.0, -1.0])
    return pos, quat
