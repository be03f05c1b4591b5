"""AMP features: layout, invariances, history windows, reference source, simulator round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from retarget.robot import load_robot, robot_spec
from rl.amp_obs import (
    AmpHistory,
    InMemoryMotionSource,
    amp_obs,
    amp_obs_dim,
    finite_difference_velocities,
    stack_history,
)
from rl.observations import heading_matrix, quat_from_yaw, quat_mul, quat_rotate, rotation_matrix
from rl.sim.base import ResetState
from rl.sim.mujoco import MujocoSim
from rl.terrain import Terrain, TerrainConfig

torch.set_num_threads(1)
J, K = 29, 9


def _frame(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "root_pos_w": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "root_quat_w": torch.nn.functional.normalize(
            torch.randn(n, 4, generator=g, dtype=torch.float64), dim=-1
        ),
        "root_lin_vel_w": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "root_ang_vel_w": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "dof_pos": torch.randn(n, J, generator=g, dtype=torch.float64),
        "dof_vel": torch.randn(n, J, generator=g, dtype=torch.float64),
        "key_body_pos_w": torch.randn(n, K, 3, generator=g, dtype=torch.float64),
    }


def test_layout_on_a_known_frame():
    f = _frame(1)
    yaw = torch.tensor([0.3], dtype=torch.float64)
    f["root_quat_w"] = quat_from_yaw(yaw)  # upright, facing yaw
    f["root_pos_w"] = torch.tensor([[5.0, -2.0, 0.8]], dtype=torch.float64)
    f["root_lin_vel_w"] = quat_rotate(f["root_quat_w"], torch.tensor([[1.0, 0.5, 0.1]]).double())
    f["key_body_pos_w"][0, 0] = (
        f["root_pos_w"][0]
        + quat_rotate(f["root_quat_w"], torch.tensor([[0.2, 0.1, -0.7]]).double())[0]
    )
    out = amp_obs(**f)
    assert out.shape == (1, amp_obs_dim(J, K)) == (1, 13 + 2 * J + 3 * K)
    o = out[0]
    torch.testing.assert_close(o[0], torch.tensor(0.8, dtype=torch.float64))
    torch.testing.assert_close(o[1:4], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(o[4:7], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(o[7:10], torch.tensor([1.0, 0.5, 0.1], dtype=torch.float64))
    torch.testing.assert_close(o[13:16], torch.tensor([0.2, 0.1, -0.7], dtype=torch.float64))
    torch.testing.assert_close(o[13 + 3 * K : 13 + 3 * K + J], f["dof_pos"][0])
    torch.testing.assert_close(o[-J:], f["dof_vel"][0])


def test_invariant_to_heading_and_horizontal_position():
    f = _frame(4)
    out = amp_obs(**f)
    turn = quat_from_yaw(torch.tensor([1.1, -2.0, 0.4, 3.0], dtype=torch.float64))
    shift = torch.tensor([3.0, -7.0, 0.0], dtype=torch.float64)
    g = dict(f)
    g["root_pos_w"] = quat_rotate(turn, f["root_pos_w"]) + shift
    g["root_quat_w"] = quat_mul(turn, f["root_quat_w"])
    g["root_lin_vel_w"] = quat_rotate(turn, f["root_lin_vel_w"])
    g["root_ang_vel_w"] = quat_rotate(turn, f["root_ang_vel_w"])
    g["key_body_pos_w"] = quat_rotate(turn[:, None, :].expand(4, K, 4), f["key_body_pos_w"]) + shift
    torch.testing.assert_close(amp_obs(**g), out)
    # Precomputed rotation/heading give the same features; roll and pitch are not removed.
    rot = rotation_matrix(f["root_quat_w"])
    torch.testing.assert_close(amp_obs(**f, root_rot_w=rot, to_heading=heading_matrix(rot)), out)
    tilt = quat_mul(
        f["root_quat_w"], torch.tensor([[math.cos(0.2), math.sin(0.2), 0.0, 0.0]]).double()
    )
    assert not torch.allclose(amp_obs(**{**f, "root_quat_w": tilt})[:, 1:7], out[:, 1:7])


def test_history_stacking():
    h = AmpHistory(num_envs=2, history=3, dim=4, device="cpu")
    for t in range(1, 5):
        h.push(torch.full((2, 4), float(t)))
    w = h.window().view(2, 3, 4)
    assert w[:, :, 0].tolist() == [[2.0, 3.0, 4.0]] * 2  # oldest first
    h.reset(torch.tensor([1]), torch.full((1, 4), 9.0))
    assert h.window().view(2, 3, 4)[1].unique().tolist() == [9.0]
    frames = torch.arange(24.0).view(2, 3, 4)
    assert stack_history(frames).shape == (2, 12)
    with pytest.raises(ValueError):
        AmpHistory(1, 0, 4, "cpu")


def test_finite_difference_velocities():
    fps = 50.0
    t = torch.arange(10, dtype=torch.float64) / fps
    root_pos = torch.stack([0.5 * t, torch.zeros_like(t), torch.full_like(t, 0.8)], -1)
    root_quat = quat_from_yaw(0.7 * t)
    dof = torch.sin(t)[:, None].expand(10, J)
    lin, ang, dof_vel = finite_difference_velocities(root_pos, root_quat, dof, fps)
    torch.testing.assert_close(lin, torch.tensor([[0.5, 0.0, 0.0]] * 10, dtype=torch.float64))
    torch.testing.assert_close(ang, torch.tensor([[0.0, 0.0, 0.7]] * 10, dtype=torch.float64))
    torch.testing.assert_close(dof_vel[:, 0], torch.cos(t), atol=0.02, rtol=0)


@pytest.fixture(scope="module")
def sim_and_motion():
    """A synthetic motion (turning, swaying arms and legs) with exact forward kinematics."""
    robot = load_robot(None)
    spec = robot_spec(None)
    Terrain(TerrainConfig(kind="plane")).add_to_spec(spec)
    sim = MujocoSim(robot, spec, 3)
    fps, T = 50.0, 40
    t = np.arange(T) / fps
    root_pos = np.stack([0.8 * t, 0.1 * np.sin(t), 0.75 + 0.02 * np.sin(6 * t)], -1)
    root_quat = quat_from_yaw(torch.tensor(0.5 * t)).numpy()
    dof_pos = robot.default_dof_pos + 0.3 * np.sin(4 * t)[:, None] * np.cos(np.arange(J))[None]
    key = sim.key_body_positions(root_pos, root_quat, dof_pos)
    arrays = {"root_pos": root_pos, "root_quat": root_quat, "dof_pos": dof_pos, "key": key}
    tt = {k: torch.tensor(v, dtype=torch.float32) for k, v in arrays.items()}
    lin, ang, dof_vel = finite_difference_velocities(
        tt["root_pos"], tt["root_quat"], tt["dof_pos"], fps
    )
    motion = InMemoryMotionSource(
        fps=fps,
        root_pos=tt["root_pos"],
        root_quat=tt["root_quat"],
        root_lin_vel=lin,
        root_ang_vel=ang,
        dof_pos=tt["dof_pos"],
        dof_vel=dof_vel,
        key_body_pos=tt["key"],
    )
    return sim, motion


def test_simulator_amp_obs_after_reset_equals_dataset_frame(sim_and_motion):
    sim, motion = sim_and_motion
    frames = torch.tensor([3, 17, 38])
    state = ResetState(
        root_pos=motion.root_pos[frames],
        root_quat=motion.root_quat[frames],
        root_lin_vel=motion.root_lin_vel[frames],
        root_ang_vel=motion.root_ang_vel[frames],
        dof_pos=motion.dof_pos[frames],
        dof_vel=motion.dof_vel[frames],
    )
    sim.reset(torch.arange(3), state)
    st = sim.state
    from_sim = amp_obs(
        st.root_pos_w,
        st.root_quat_w,
        st.root_lin_vel_w,
        st.root_ang_vel_w,
        st.dof_pos,
        st.dof_vel,
        st.key_body_pos_w,
        root_rot_w=st.root_rot_w,
    )
    torch.testing.assert_close(from_sim, motion.frames[frames], atol=2e-5, rtol=1e-5)


def test_in_memory_source_sampling(sim_and_motion):
    _, motion = sim_and_motion
    g = torch.Generator().manual_seed(0)
    states = motion.sample_states(5, g)
    assert {k: tuple(v.shape) for k, v in states.items()} == {
        "root_pos": (5, 3),
        "root_quat": (5, 4),
        "root_lin_vel": (5, 3),
        "root_ang_vel": (5, 3),
        "dof_pos": (5, J),
        "dof_vel": (5, J),
    }
    D = amp_obs_dim(J, K)
    windows = motion.sample_amp_obs(64, 3, g).view(64, 3, D)
    # Every window is three consecutive frames of the motion.
    for w in windows[:8]:
        idx = int(torch.argmin((motion.frames - w[0]).abs().sum(-1)))
        torch.testing.assert_close(w, motion.frames[idx : idx + 3])
    with pytest.raises(ValueError, match="at least"):
        motion.sample_amp_obs(1, 100, g)
