"""Observation terms and the torch quaternion helpers on known states."""

from __future__ import annotations

import math

import numpy as np
import torch

from mocap import quat as Q
from rl import observations as O


def _rand_quats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(
        torch.randn(n, 4, generator=g, dtype=torch.float64), dim=-1
    )


def test_quaternion_helpers_match_mocap_quat():
    q, p = _rand_quats(6, 0), _rand_quats(6, 1)
    v = torch.randn(6, 3, dtype=torch.float64)
    np.testing.assert_allclose(O.quat_rotate(q, v).numpy(), Q.rotate(q.numpy(), v.numpy()))
    np.testing.assert_allclose(
        O.quat_rotate_inverse(q, v).numpy(), Q.rotate(Q.conj(q.numpy()), v.numpy()), atol=1e-12
    )
    np.testing.assert_allclose(O.quat_mul(q, p).numpy(), Q.mul(q.numpy(), p.numpy()))
    np.testing.assert_allclose(O.rotation_matrix(q).numpy(), Q.to_matrix(q.numpy()), atol=1e-12)
    np.testing.assert_allclose(O.yaw_of(q).numpy(), Q.yaw(q.numpy()), atol=1e-12)


def test_heading_matrix_removes_yaw():
    q = _rand_quats(8)
    v = torch.randn(8, 3, dtype=torch.float64)
    m = O.heading_matrix(O.rotation_matrix(q))
    via_matrix = torch.matmul(v[:, None, :], m)[:, 0]
    torch.testing.assert_close(via_matrix, O.heading_frame_vel(q, v))
    # A pure yaw rotation maps its own body x axis onto the heading x axis.
    yaw_q = O.quat_from_yaw(torch.tensor([0.7], dtype=torch.float64))
    x_w = O.quat_rotate(yaw_q, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(
        torch.matmul(x_w[:, None], O.heading_matrix(O.rotation_matrix(yaw_q)))[:, 0],
        torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64),
    )


def test_projected_gravity_known_states():
    upright = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(O.projected_gravity(upright), torch.tensor([[0.0, 0.0, -1.0]]))
    # Pitched nose-down by 90 deg about y: gravity points along the body +x axis.
    pitch = torch.tensor([[math.cos(math.pi / 4), 0.0, math.sin(math.pi / 4), 0.0]])
    torch.testing.assert_close(
        O.projected_gravity(pitch), torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6, rtol=0
    )


def test_actor_and_critic_layout():
    cfg = O.ObservationConfig()
    n, J, P = 2, 29, 7
    gravity = torch.tensor([[0.0, 0.0, -1.0]] * n)
    ang_vel = torch.tensor([[4.0, 0.0, -4.0]] * n)
    command = torch.tensor([[0.5, 0.1, 0.2]] * n)
    default = torch.linspace(-0.5, 0.5, J)
    dof_pos = default + 0.1
    dof_vel = torch.full((n, J), 20.0)
    last = torch.full((n, J), 0.3)
    actor = O.actor_obs(
        cfg, gravity, ang_vel, command, dof_pos.expand(n, J), default, dof_vel, last
    )
    assert actor.shape == (n, O.actor_obs_dim(J)) == (n, 96)
    torch.testing.assert_close(actor[0, :3], torch.tensor([1.0, 0.0, -1.0]))  # x 0.25
    torch.testing.assert_close(actor[0, 3:6], gravity[0])
    torch.testing.assert_close(actor[0, 6:9], command[0])
    torch.testing.assert_close(actor[0, 9 : 9 + J], torch.full((J,), 0.1), atol=1e-6, rtol=0)
    torch.testing.assert_close(actor[0, 9 + J : 9 + 2 * J], torch.full((J,), 1.0))  # x 0.05
    torch.testing.assert_close(actor[0, 9 + 2 * J :], last[0])
    critic = O.critic_obs(
        cfg,
        actor,
        torch.tensor([[1.0, 0.0, 0.0]] * n),
        torch.zeros(n, P),
        torch.tensor([0.8, 0.9]),
        torch.tensor([1.0, -1.0]),
        torch.tensor([1.0, 1.1]),
        torch.tensor([[0.2, -0.2]] * n),
    )
    assert critic.shape == (n, O.critic_obs_dim(J, P))
    torch.testing.assert_close(critic[:, :96], actor)
    torch.testing.assert_close(critic[0, 96:99], torch.tensor([2.0, 0.0, 0.0]))
    torch.testing.assert_close(critic[1, -5:], torch.tensor([0.9, -1.0, 1.1, 0.2, -0.2]))


def test_noise_bounds_and_structure():
    cfg = O.ObservationConfig()
    amp = O.actor_noise_vector(cfg, 29)
    assert amp.shape == (96,)
    assert torch.all(amp[6:9] == 0) and torch.all(amp[-29:] == 0)  # no noise on command, action
    torch.testing.assert_close(amp[:3], torch.full((3,), 0.2 * 0.25))
    obs = torch.zeros(1000, 96)
    noisy = O.add_noise(obs, amp, torch.Generator().manual_seed(0))
    assert torch.all(noisy.abs() <= amp + 1e-7)
    assert torch.all(noisy[:, 6:9] == 0)
    assert noisy[:, 9:38].abs().max() > 0.9 * cfg.noise_joint_pos
