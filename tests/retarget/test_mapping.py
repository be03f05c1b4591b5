"""Mapping table and per-segment scaling."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from mocap.types import CANONICAL_JOINTS
from retarget.mapping import G1_MAPPING, MappingError, check_mapping, mapping_index
from retarget.robot import load_robot
from retarget.scaling import fit_scaling, g1_reference_points, scale_motion


def _body_names(model: mujoco.MjModel) -> set[str]:
    return {model.body(i).name for i in range(model.nbody)}


def test_mapping_covers_every_canonical_joint_and_builtin_bodies():
    robot = load_robot(None)
    check_mapping(_body_names(robot.model))
    assert [kp.human for kp in G1_MAPPING] == list(CANONICAL_JOINTS)
    required = {"pelvis", "left_hip", "left_knee", "left_ankle", "left_toe", "chest", "head",
                "left_shoulder", "left_elbow", "left_wrist", "right_wrist", "right_toe"}
    assert all(G1_MAPPING[mapping_index(j)].position_weight > 0 or j == "chest" for j in required)
    assert G1_MAPPING[mapping_index("chest")].orientation_weight > 0


def test_mapping_bodies_exist_in_official_model(g1_dir):
    model = mujoco.MjModel.from_xml_path(str(g1_dir / "g1.xml"))
    check_mapping(_body_names(model))


def test_check_mapping_rejects_unknown_body():
    bad = (*G1_MAPPING[:-1], G1_MAPPING[-1].__class__("right_wrist", "no_such_link", (0, 0, 0), 1, 0))
    with pytest.raises(MappingError, match="no_such_link"):
        check_mapping(_body_names(load_robot(None).model), bad)


@pytest.mark.parametrize("k", [0.8, 1.3])
def test_scaling_k_times_g1_gives_g1_proportions(k):
    """A human whose every segment is k times the G1's is scaled back onto the G1 exactly."""
    robot = load_robot(None)
    ref, _ = g1_reference_points(robot.model)  # [K, 3], upright zero pose
    T = 5
    shift = np.array([0.1, -0.2, 0.0]) * np.arange(T)[:, None]  # walking forward
    human = k * (ref[None] + shift[:, None])  # [T, K, 3]
    names = tuple(kp.human for kp in G1_MAPPING)
    scaling = fit_scaling(human, names, robot.model)
    assert scaling.root_scale == pytest.approx(1.0 / k, rel=1e-9)
    for ratio in scaling.segment_ratio.values():
        assert ratio == pytest.approx(1.0 / k, rel=1e-9)
    targets, quats = scale_motion(human, names, scaling, arm_clearance_m=0.0)
    np.testing.assert_allclose(targets, ref[None] + shift[:, None], atol=3e-3)
    # orientation targets exist exactly where the mapping asks for them
    has_ori = ~np.isnan(quats[0, :, 0])
    assert has_ori.tolist() == [kp.orientation_weight > 0 for kp in G1_MAPPING]


def test_scaling_is_per_segment_not_global():
    """Lengthening only the human shanks changes only the shank ratio."""
    robot = load_robot(None)
    ref, _ = g1_reference_points(robot.model)
    names = tuple(kp.human for kp in G1_MAPPING)
    human = ref.copy()[None].repeat(3, axis=0)
    for side in ("left", "right"):
        drop = np.array([0.0, 0.0, -0.1])
        for j in (f"{side}_ankle", f"{side}_toe"):
            human[:, names.index(j)] += drop
    scaling = fit_scaling(human, names, robot.model)
    shank = scaling.segment_ratio[("left_ankle", "left_knee")]
    thigh = scaling.segment_ratio[("left_knee", "left_hip")]
    assert shank < 0.8 and thigh == pytest.approx(1.0, abs=1e-9)
