"""The built-in G1 model against the official MJCF, standing, mirroring, scene composition."""

from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np
import pytest

from retarget import g1_params as P
from retarget import robot as R


@pytest.fixture(scope="module")
def builtin() -> R.RobotModel:
    return R.load_robot()


@pytest.fixture(scope="module")
def official(g1_dir: Path) -> R.RobotModel:
    return R.load_robot(g1_dir / "g1.xml")


def _names(model: mujoco.MjModel, obj: mujoco.mjtObj, n: int) -> list[str]:
    return [mujoco.mj_id2name(model, obj, i) for i in range(n)]


def _random_configs(
    robot: R.RobotModel, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = robot.joint_limits[:, 0], robot.joint_limits[:, 1]
    dof = rng.uniform(lo, hi, size=(n, 29))
    root_pos = rng.uniform(-1.0, 1.0, size=(n, 3))
    root_quat = rng.normal(size=(n, 4))
    root_quat /= np.linalg.norm(root_quat, axis=1, keepdims=True)
    return root_pos, root_quat, dof


# ----------------------------------------------------------------------------- built-in model


def test_builtin_compiles_with_29_hinges(builtin: R.RobotModel) -> None:
    m = builtin.model
    hinges = [i for i in range(m.njnt) if m.jnt_type[i] == mujoco.mjtJoint.mjJNT_HINGE]
    assert len(hinges) == 29 and m.njnt == 30 and m.nu == 29
    assert builtin.dof_names == P.JOINT_NAMES
    assert m.opt.timestep == pytest.approx(0.005)
    assert m.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    assert _names(m, mujoco.mjtObj.mjOBJ_KEY, m.nkey) == ["stand", "knees_bent"]
    assert builtin.actuator_kind == "position"
    np.testing.assert_array_equal(builtin.actuator_ids, np.arange(29))
    np.testing.assert_array_equal(builtin.qpos_adr, np.arange(7, 36))
    np.testing.assert_array_equal(builtin.dof_adr, np.arange(6, 35))
    for site in ("left_foot", "right_foot", "left_palm", "right_palm", "head", "imu_in_torso"):
        assert mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, site) >= 0, site
    assert all(len(g) == 4 for g in builtin.foot_geom_ids)


def test_builtin_actuators_carry_gains_and_limits(builtin: R.RobotModel) -> None:
    m = builtin.model
    w = 2 * math.pi * 10.0
    knee = P.JOINTS_BY_NAME["left_knee_joint"].spec
    assert knee.kp == pytest.approx(0.025101925 * w**2)
    assert knee.kd == pytest.approx(2 * 2.0 * 0.025101925 * w)
    np.testing.assert_allclose(m.actuator_gainprm[:, 0], builtin.kp)
    np.testing.assert_allclose(m.actuator_biasprm[:, 1], -builtin.kp)
    np.testing.assert_allclose(m.actuator_biasprm[:, 2], -builtin.kd)
    np.testing.assert_allclose(m.actuator_ctrlrange, builtin.joint_limits)
    np.testing.assert_allclose(m.actuator_forcerange[:, 1], builtin.effort_limits)
    np.testing.assert_allclose(m.dof_armature[builtin.dof_adr], builtin.armature)
    assert builtin.vel_limits[P.JOINT_NAMES.index("left_knee_joint")] == 20.0
    ankle = P.JOINT_NAMES.index("left_ankle_pitch_joint")
    assert builtin.armature[ankle] == pytest.approx(2 * P.MOTORS["5020"].armature)


def test_floor_option_adds_ground(builtin: R.RobotModel) -> None:
    m = mujoco.MjModel.from_xml_string(R.g1_mjcf(floor=True))
    assert mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "floor") >= 0
    assert m.nbody == builtin.model.nbody


@pytest.mark.parametrize("pose", ["stand", "knees_bent"])
def test_poses_put_soles_on_ground_without_self_contact(builtin: R.RobotModel, pose: str) -> None:
    m = builtin.model
    d = mujoco.MjData(m)
    d.qpos[:] = builtin.default_qpos(pose)
    mujoco.mj_forward(m, d)
    feet = [g for side in builtin.foot_geom_ids for g in side]
    bottoms = d.geom_xpos[feet, 2] - m.geom_size[feet, 0]
    assert np.all(np.abs(bottoms) < 0.006), bottoms  # published keyframe heights
    assert d.ncon == 0  # no self-collision pair in contact (and no floor in this model)


def _hold_gains(robot: R.RobotModel, model: mujoco.MjModel, qpos: np.ndarray) -> None:
    """Stiff hold: kp = 500 (official g1.xml servo gain), critically damped per joint."""
    d = mujoco.MjData(model)
    d.qpos[:] = qpos
    mujoco.mj_forward(model, d)
    mass = np.zeros((model.nv, model.nv))
    mujoco.mj_fullM(model, d, mass)
    inertia = np.diag(mass)[robot.dof_adr]
    kp = np.full(29, 500.0)
    R.apply_pd_gains(model, robot.actuator_ids, kp, 2.0 * np.sqrt(kp * inertia))


@pytest.mark.parametrize("pose", ["stand", "knees_bent"])
def test_stands_under_pd_hold(pose: str) -> None:
    """2 s at 200 Hz on a floor holding the pose: stays up, upright, on its soles only.

    The training gains (10 Hz rule) are deliberately soft: ankle stiffness 2 x 28.5 N m/rad is
    below m g h = 33.3 kg x 9.81 x 0.69 m = 226 N m/rad, so without an active policy the robot
    tips over like an inverted pendulum. The hold therefore uses the official g1.xml servo
    stiffness (kp 500, critically damped); what is tested is mass, contacts and feet geometry.
    """
    robot = R.load_robot(R.g1_mjcf(floor=True))
    m = robot.model
    qpos = robot.default_qpos(pose)
    _hold_gains(robot, m, qpos)
    d = mujoco.MjData(m)
    d.qpos[:] = qpos
    d.ctrl[robot.actuator_ids] = robot.poses[pose].dof_pos
    heights = []
    for _ in range(400):
        mujoco.mj_step(m, d)
        heights.append(d.qpos[2])
    assert min(heights) > 0.6
    assert abs(heights[-1] - robot.poses[pose].root_height) < 0.02
    up = np.array([0.0, 0.0, 1.0])
    tilt = math.degrees(math.acos(np.clip(d.xmat[1].reshape(3, 3)[:, 2] @ up, -1, 1)))
    assert tilt < 5.0
    feet = {g for side in robot.foot_geom_ids for g in side}
    floor = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    touching = {int(c.geom1) for c in d.contact[: d.ncon]} | {
        int(c.geom2) for c in d.contact[: d.ncon]
    }
    assert touching - {floor} <= feet and touching & feet


# ------------------------------------------------------------------- against the official MJCF


def test_same_names_order_limits_actuators(builtin: R.RobotModel, official: R.RobotModel) -> None:
    assert official.dof_names == builtin.dof_names == P.JOINT_NAMES
    bm, om = builtin.model, official.model
    assert _names(bm, mujoco.mjtObj.mjOBJ_BODY, bm.nbody) == _names(
        om, mujoco.mjtObj.mjOBJ_BODY, om.nbody
    )
    np.testing.assert_allclose(builtin.joint_limits, official.joint_limits, atol=1e-4)
    np.testing.assert_allclose(builtin.effort_limits, official.effort_limits, atol=1e-4)
    assert bm.nu == om.nu == 29
    assert _names(bm, mujoco.mjtObj.mjOBJ_ACTUATOR, 29) == _names(
        om, mujoco.mjtObj.mjOBJ_ACTUATOR, 29
    )
    np.testing.assert_array_equal(builtin.actuator_ids, official.actuator_ids)
    for m, r in ((bm, builtin), (om, official)):
        axes = m.jnt_axis[m.dof_jntid[r.dof_adr]]
        np.testing.assert_allclose(axes, [j.axis for j in P.JOINTS])


def test_total_mass_within_one_percent(builtin: R.RobotModel, official: R.RobotModel) -> None:
    rel = abs(builtin.total_mass - official.total_mass) / official.total_mass
    print(
        f"mass builtin {builtin.total_mass:.4f} kg official {official.total_mass:.4f} kg "
        f"rel diff {rel:.2e}"
    )
    assert rel < 0.01
    np.testing.assert_allclose(builtin.model.body_mass, official.model.body_mass, rtol=1e-6)


def test_forward_kinematics_matches_official(builtin: R.RobotModel, official: R.RobotModel) -> None:
    rng = np.random.default_rng(0)
    root_pos, root_quat, dof = _random_configs(builtin, 100, rng)
    bodies = [*P.KEY_BODIES, "pelvis", "left_hip_yaw_link", "right_shoulder_yaw_link"]
    pb, qb = R.forward_kinematics(builtin, root_pos, root_quat, dof, bodies)
    po, qo = R.forward_kinematics(official, root_pos, root_quat, dof, bodies)
    err = np.linalg.norm(pb - po, axis=-1)
    print(f"max FK error over 100 configurations: {err.max() * 1000:.4f} mm")
    assert pb.shape == (100, len(bodies), 3) and qb.shape == (100, len(bodies), 4)
    assert err.max() < 0.005
    np.testing.assert_allclose(np.abs(np.sum(qb * qo, axis=-1)), 1.0, atol=1e-6)


@pytest.mark.parametrize(("scene_file", "n_feet"), [("scene.xml", 4), ("scene_mjx.xml", 3)])
def test_official_scenes_load_with_same_metadata(
    g1_dir: Path, builtin: R.RobotModel, scene_file: str, n_feet: int
) -> None:
    scene = R.load_robot(g1_dir / scene_file)
    assert scene.dof_names == builtin.dof_names
    assert scene.actuator_kind == "position"
    np.testing.assert_allclose(scene.model.actuator_gainprm[scene.actuator_ids, 0], builtin.kp)
    # Sole geoms: official spheres (contype) or MJX capsules (explicit floor pairs).
    assert all(len(g) == n_feet for g in scene.foot_geom_ids)
    np.testing.assert_array_equal(scene.mirror_perm, builtin.mirror_perm)
    np.testing.assert_array_equal(scene.mirror_sign, builtin.mirror_sign)
    assert scene.spec().compile().nu == 29


# -------------------------------------------------------------------------------- mirroring


def test_mirror_twice_is_identity_and_swaps_sides(builtin: R.RobotModel) -> None:
    rng = np.random.default_rng(1)
    dof = rng.normal(size=(7, 29))
    np.testing.assert_allclose(R.mirror_dof(builtin, R.mirror_dof(builtin, dof)), dof)
    names = builtin.dof_names
    for i, n in enumerate(names):
        partner = names[builtin.mirror_perm[i]]
        if n.startswith("left_"):
            assert partner == "right_" + n.removeprefix("left_")
        elif n.startswith("right_"):
            assert partner == "left_" + n.removeprefix("right_")
        else:
            assert partner == n
    sign = dict(zip(names, builtin.mirror_sign, strict=True))
    assert sign["waist_yaw_joint"] == -1 and sign["waist_roll_joint"] == -1
    assert sign["waist_pitch_joint"] == 1 and sign["left_knee_joint"] == 1
    assert sign["left_hip_roll_joint"] == -1 and sign["left_shoulder_yaw_joint"] == -1
    pos, quat = R.mirror_root(*R.mirror_root(np.ones((3, 3)), np.full((3, 4), 0.5)))
    np.testing.assert_allclose(pos, 1.0)
    np.testing.assert_allclose(quat, 0.5)


def test_mirrored_pose_is_reflected_body_layout(builtin: R.RobotModel) -> None:
    """FK of the mirrored motion equals the reflected FK with left/right key bodies swapped."""
    rng = np.random.default_rng(2)
    root_pos, root_quat, dof = _random_configs(builtin, 20, rng)
    pos, _ = R.forward_kinematics(builtin, root_pos, root_quat, dof)
    mpos_root, mquat_root = R.mirror_root(root_pos, root_quat)
    mdof = R.mirror_dof(builtin, dof)
    mpos, _ = R.forward_kinematics(builtin, mpos_root, mquat_root, mdof)
    expected = pos[:, builtin.key_body_mirror_perm] * np.array([1.0, -1.0, 1.0])
    # The published model is symmetric to 0.1 mm (e.g. shoulder y 0.10022 vs -0.10021).
    np.testing.assert_allclose(mpos, expected, atol=1e-3)


# ------------------------------------------------------------------------- scenes and errors


def test_attach_robot_into_terrain_scene() -> None:
    scene = mujoco.MjSpec()
    scene.option.timestep = R.TIMESTEP
    scene.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    scene.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1])
    scene.worldbody.add_geom(
        name="step", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.3, 0.5, 0.05], pos=[1.0, 0, 0.05]
    )
    root = R.attach_robot(scene)
    assert root.name == "pelvis"
    model = R.compile_scene(scene)
    robot = R.describe_robot(model)
    assert robot.dof_names == P.JOINT_NAMES and model.opt.timestep == pytest.approx(0.005)
    d = mujoco.MjData(model)
    d.qpos[:] = robot.default_qpos("stand")
    d.ctrl[robot.actuator_ids] = robot.poses["stand"].dof_pos
    for _ in range(20):
        mujoco.mj_step(model, d)
    floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    feet = {g for side in robot.foot_geom_ids for g in side}
    pairs = {(int(c.geom1), int(c.geom2)) for c in d.contact[: d.ncon]}
    assert any(floor in p and (p[0] in feet or p[1] in feet) for p in pairs)
    with pytest.raises(R.RobotModelError):
        robot.spec()


def test_forward_kinematics_rejects_bad_input(builtin: R.RobotModel) -> None:
    with pytest.raises(ValueError, match="dof_pos"):
        R.forward_kinematics(builtin, np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 28)))
    with pytest.raises(ValueError, match="no_such_body"):
        R.forward_kinematics(
            builtin,
            np.zeros((1, 3)),
            np.array([[1.0, 0, 0, 0]]),
            np.zeros((1, 29)),
            ["no_such_body"],
        )


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(R.RobotModelError, match="nope.xml"):
        R.load_robot(missing)
    bad = tmp_path / "arm.xml"
    bad.write_text(
        '<mujoco><worldbody><body name="pelvis"><freejoint/><geom size="0.1"/>'
        '<body><joint name="left_hip_pitch_joint" range="-1 1"/><geom size="0.1"/></body>'
        "</body></worldbody></mujoco>"
    )
    with pytest.raises(R.RobotModelError, match="arm.xml.*missing joints"):
        R.load_robot(bad)
    broken = tmp_path / "broken.xml"
    broken.write_text("<mujoco><worldbody><body></mujoco>")
    with pytest.raises(R.RobotModelError, match="broken.xml"):
        R.load_robot(broken)
