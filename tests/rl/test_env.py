"""G1Env: the VecEnv contract, auto-reset and flags, determinism, RSI, config parsing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mocap.configs import ConfigError
from rl import rewards as R
from rl.amp_obs import InMemoryMotionSource, amp_obs, finite_difference_velocities
from rl.env import G1Env, standing_motion_source
from rl.env_config import EnvConfig, deterministic_config, parse_env_config
from rl.observations import heading_matrix
from rl.sim.base import ResetState
from rl.vec_env import StepResult

torch.set_num_threads(1)
N = 4


def plane_config(**overrides) -> EnvConfig:
    data = {"terrain": {"kind": "plane", "num_levels": 2}, "sim": {"num_threads": 2}}
    data.update(overrides)
    return parse_env_config(data)


def run(env: G1Env, steps: int, seed: int = 0) -> list[StepResult]:
    g = torch.Generator().manual_seed(seed)
    return [
        env.step(0.3 * torch.randn(env.num_envs, env.num_actions, generator=g))
        for _ in range(steps)
    ]


def test_contract_shapes_and_terms():
    env = G1Env(plane_config(), N, seed=0)
    obs, critic = env.reset()
    assert env.num_actions == 29 and env.num_obs == 96
    assert obs.shape == (N, env.num_obs) and critic.shape == (N, env.num_critic_obs)
    # AMP features leave the 6 wrist joints out (env.amp_exclude_joints): 23 joints.
    assert len(env.amp_dof_index) == 23
    assert not any("wrist" in env.robot.dof_names[i] for i in env.amp_dof_index)
    assert env.amp_obs_dim == 2 * (13 + 2 * 23 + 3 * 9)
    res = env.step(torch.zeros(N, 29))
    assert res.obs.shape == (N, 96) and res.critic_obs.shape == (N, env.num_critic_obs)
    assert res.final_critic_obs.shape == res.critic_obs.shape
    assert res.reward.shape == (N,) and res.reward.dtype == torch.float32
    assert res.terminated.dtype == torch.bool and res.truncated.dtype == torch.bool
    assert res.amp_obs is not None and res.amp_obs.shape == (N, env.amp_obs_dim)
    assert set(res.reward_terms) >= {"track_lin_vel_xy_exp", "joint_torques_l2", "feet_air_time"}
    torch.testing.assert_close(res.reward, torch.stack(list(res.reward_terms.values())).sum(0))
    ref = env.sample_reference_amp_obs(5)
    assert ref.shape == (5, env.amp_obs_dim)
    # The AMP window ends at the reached state (no env was reset in one step).
    st = env.sim.state
    last = amp_obs(
        st.root_pos_w,
        st.root_quat_w,
        st.root_lin_vel_w,
        st.root_ang_vel_w,
        st.dof_pos[:, list(env.amp_dof_index)],
        st.dof_vel[:, list(env.amp_dof_index)],
        st.key_body_pos_w,
    )
    torch.testing.assert_close(res.amp_obs[:, -env.amp_frame_dim :], last, atol=1e-5, rtol=1e-5)
    env.close()


def test_reference_with_other_amp_joints_is_refused():
    """A motion source built on other AMP joints than the env's is a clear error, not a silent
    mismatch between policy and reference features."""
    probe = G1Env(plane_config(), 1, seed=0)
    all_joints = standing_motion_source(
        probe.sim, probe.robot.default_dof_pos, probe.robot.default_root_height
    )
    probe.close()
    with pytest.raises(ConfigError, match="amp_exclude_joints"):
        G1Env(plane_config(), 1, seed=0, motion_dataset=all_joints)
    env = G1Env(plane_config(amp_exclude_joints=[]), 1, seed=0, motion_dataset=all_joints)
    assert env.amp_obs_dim == 2 * (13 + 2 * 29 + 3 * 9)
    env.close()


def test_same_seed_same_trajectory_different_seed_differs():
    cfg = plane_config(randomization={"push_interval_s": [0.1, 0.2], "num_groups": 3})

    def rollout(seed: int) -> torch.Tensor:
        env = G1Env(cfg, N, seed=seed)
        env.reset()
        out = torch.stack([torch.cat([r.obs, r.reward[:, None]], 1) for r in run(env, 20)])
        env.close()
        return out

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_truncation_auto_reset_and_final_obs():
    cfg = deterministic_config(plane_config(terminations={"episode_length_s": 0.1}))
    env = G1Env(cfg, N, seed=0)
    env.reset()
    results = run(env, 5)
    for r in results[:4]:
        assert not r.truncated.any() and not r.terminated.any() and r.episode_stats == {}
    last = results[-1]
    assert last.truncated.all() and not last.terminated.any()
    assert last.episode_stats["length"].tolist() == [5.0] * N
    torch.testing.assert_close(last.episode_stats["length_s"], torch.full((N,), 0.1))
    assert set(last.episode_stats) >= {"return", "terrain_level", "stage", "fell"}
    # After the reset: a fresh episode (zero last action, default pose, counters at zero) ...
    assert torch.all(env.episode_length == 0)
    torch.testing.assert_close(last.obs[:, -29:], torch.zeros(N, 29))
    torch.testing.assert_close(last.obs[:, 9:38], torch.zeros(N, 29), atol=1e-6, rtol=0)
    # ... while final_critic_obs describes the state reached before it (last action kept).
    assert not torch.allclose(last.final_critic_obs, last.critic_obs)
    g = torch.Generator().manual_seed(0)
    actions = [0.3 * torch.randn(N, 29, generator=g) for _ in range(5)]
    torch.testing.assert_close(last.final_critic_obs[:, 67:96], actions[-1])
    # Deterministic mode: no observation noise.
    torch.testing.assert_close(last.obs, last.critic_obs[:, :96])
    env.close()


def test_fall_terminates_and_resets():
    cfg = deterministic_config(plane_config())
    env = G1Env(cfg, 2, seed=0)
    env.reset()
    st = env.sim.state
    lying = ResetState(
        root_pos=torch.tensor([[0.0, 0.0, 0.12]]),
        root_quat=torch.tensor([[np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0]]),
        root_lin_vel=torch.zeros(1, 3),
        root_ang_vel=torch.zeros(1, 3),
        dof_pos=st.dof_pos[:1].clone(),
        dof_vel=torch.zeros(1, 29),
    )
    env.sim.reset(torch.tensor([0]), lying)
    res = env.step(torch.zeros(2, 29))
    assert res.terminated.tolist() == [True, False] and not res.truncated.any()
    assert res.episode_stats["fell"].tolist() == [1.0]
    assert res.reward_terms["termination_penalty"][0] < 0
    assert res.reward_terms["termination_penalty"][1] == 0
    # Env 0 was respawned standing; its final critic obs still saw the fall (pelvis low).
    assert env.sim.state.root_pos_w[0, 2] > 0.6
    gravity_final = res.final_critic_obs[0, 3:6]
    assert gravity_final[2] > -0.5  # tilted, not upright
    torch.testing.assert_close(
        res.critic_obs[0, 3:6], torch.tensor([0.0, 0.0, -1.0]), atol=0.05, rtol=0
    )
    env.close()


def test_reference_state_initialisation():
    cfg = deterministic_config(plane_config(reference_init_prob=1.0))
    probe = G1Env(cfg, 1, seed=0)
    T = 12
    dof = (
        torch.tensor(probe.robot.default_dof_pos, dtype=torch.float32)
        + 0.2 * torch.sin(torch.arange(T, dtype=torch.float32))[:, None]
    )
    root_pos = torch.tensor([[0.0, 0.0, 0.8]]).repeat(T, 1)
    root_quat = torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(T, 1)
    key = probe.sim.key_body_positions(root_pos.numpy(), root_quat.numpy(), dof.numpy())
    amp_dofs = probe.amp_dof_index
    probe.close()
    lin, ang, dof_vel = finite_difference_velocities(root_pos, root_quat, dof, 50.0)
    motion = InMemoryMotionSource(
        fps=50.0,
        root_pos=root_pos,
        root_quat=root_quat,
        root_lin_vel=lin,
        root_ang_vel=ang,
        dof_pos=dof,
        dof_vel=dof_vel,
        key_body_pos=torch.tensor(key, dtype=torch.float32),
        amp_dof_index=amp_dofs,
    )
    env = G1Env(cfg, N, seed=1, motion_dataset=motion)
    env.reset()
    st = env.sim.state
    for i in range(N):
        assert torch.isclose(st.dof_pos[i][None], dof, atol=1e-5).all(dim=1).any()
    torch.testing.assert_close(st.root_pos_w[:, 2], torch.full((N,), 0.8 + cfg.spawn_height_margin))
    torch.testing.assert_close(
        env.sample_reference_amp_obs(3, torch.Generator().manual_seed(0)),
        motion.sample_amp_obs(3, 2, torch.Generator().manual_seed(0)),
    )
    env.close()


def test_grid_terrain_spawns_on_tiles():
    cfg = parse_env_config(
        {
            "terrain": {
                "num_levels": 2,
                "col_types": ["flat", "stairs_up"],
                "tile_size": 4.0,
                "border_width": 1.0,
            },
            "curriculum": {"open_all": True},
            "randomization": {"deterministic": True},
        }
    )
    env = G1Env(cfg, N, seed=0)
    env.reset()
    st = env.sim.state
    ground = env.terrain.height_at(st.root_pos_w[:, :2])
    height = st.root_pos_w[:, 2] - ground
    torch.testing.assert_close(
        height, torch.full((N,), env.robot.default_root_height + cfg.spawn_height_margin)
    )
    assert set(env.curriculum.cols.tolist()) == {0, 1}
    assert env.num_critic_obs == 96 + 3 + env._scan_points.shape[0] + 5
    res = run(env, 2)[-1]
    assert torch.isfinite(res.critic_obs).all()
    env.close()


def test_config_is_strict_and_round_trips():
    with pytest.raises(ConfigError, match=r"env\.rewards.*no_such_weight"):
        parse_env_config({"rewards": {"no_such_weight": 1.0}})
    with pytest.raises(ConfigError, match="reference_init_prob"):
        parse_env_config({"reference_init_prob": 2.0})
    cfg = parse_env_config({"sim": {"decimation": 2}, "terrain": {"kind": "plane"}})
    assert cfg.sim.decimation == 2 and cfg.sim.physics_dt == 0.005
    assert parse_env_config(dataclasses.asdict(cfg)) == cfg
    det = deterministic_config(cfg)
    assert det.randomization.deterministic and not det.randomization.obs_noise_on


def test_log_stats_reports_curriculum_state() -> None:
    from mocap.configs import from_dict
    from rl.env import G1Env
    from rl.env_config import EnvConfig

    env = G1Env(from_dict(EnvConfig, {"terrain": {"kind": "plane"}}), 2, seed=0)
    stats = env.log_stats()
    assert stats["curriculum/stage"] == 0.0 and stats["curriculum/mean_level"] == 0.0
    env.close()


def test_fixed_joints_hold_their_default_targets():
    """env.fixed_joints: the policy drives the other joints only; actions and last-action
    observations shrink to them, the fixed joints' PD targets stay at the default pose."""
    env = G1Env(plane_config(fixed_joints=["*wrist*"]), N, seed=0)
    names = env.robot.dof_names
    assert env.num_actions == 23 and len(env.action_dof_index) == 23
    assert not any("wrist" in names[i] for i in env.action_dof_index)
    assert env.num_obs == 9 + 2 * 29 + 23
    obs, critic = env.reset()
    assert obs.shape == (N, env.num_obs) and critic.shape == (N, env.num_critic_obs)
    a = torch.ones(N, 23)
    res = env.step(a)
    assert res.obs.shape == (N, env.num_obs)
    ctrl = torch.as_tensor(env.sim._ctrl[:, 0, :], dtype=torch.float32)  # targets of the step
    default = env.default_dof_pos
    wrist = [i for i, n in enumerate(names) if "wrist" in n]
    torch.testing.assert_close(ctrl[:, wrist], default[wrist].expand(N, -1))
    driven = list(env.action_dof_index)
    torch.testing.assert_close(
        ctrl[:, driven], (default[driven] + env.cfg.action_scale).expand(N, -1)
    )
    torch.testing.assert_close(res.obs[:, -23:], a)  # last action, unscaled, noise-free part
    env.close()
    with pytest.raises(ConfigError, match="fixes every joint"):
        G1Env(plane_config(fixed_joints=["*"]), 1, seed=0)


def test_joint_deviation_counts_the_configured_joints():
    cfg = plane_config(rewards={"joint_deviation_l1": -0.1, "deviation_joints": ["waist_*"]})
    env = G1Env(cfg, N, seed=0)
    env.reset()
    res = env.step(torch.ones(N, 29))
    names = env.robot.dof_names
    waist = [i for i, n in enumerate(names) if n.startswith("waist_")]
    assert len(waist) == 3 and env._deviation_mask.sum().item() == 3.0
    dev = (env.sim.state.dof_pos[:, waist] - env.default_dof_pos[waist]).abs().sum(-1)
    torch.testing.assert_close(res.reward_terms["joint_deviation_l1"], -0.1 * env.dt * dev)
    assert torch.all(dev > 0.05)  # the waist moved towards its targets (default + 0.25 rad)
    env.close()


def test_feet_drag_reads_the_feet_of_the_step():
    cfg = plane_config(rewards={"feet_drag": -2.0, "drag_speed": 0.5})
    env = G1Env(cfg, N, seed=0)
    env.reset()
    g = torch.Generator().manual_seed(1)
    for _ in range(10):  # random targets: the feet shuffle and lift
        before = env.sim.state.foot_pos_w.clone()
        res = env.step(0.5 * torch.randn(N, 29, generator=g))
        after = env.sim.state.foot_pos_w
        if bool(res.terminated.any() or res.truncated.any()):
            break  # auto-reset moved the state on
        vel = (after[..., :2] - before[..., :2]) / env.dt
        drag = R.feet_drag(env._foot_clearance(after), vel, 0.08, 0.5)
        torch.testing.assert_close(res.reward_terms["feet_drag"], -2.0 * env.dt * drag)
    assert bool((drag > 0).any())  # some foot moved below the clearance target
    env.close()


def test_smoothed_speed_tracking_follows_the_heading_frame_velocity():
    cfg = plane_config(rewards={"track_lin_vel_xy_smooth_exp": 1.0, "tracking_smooth_s": 0.2})
    env = G1Env(cfg, N, seed=0)
    env.reset()
    st = env.sim.state

    def heading() -> torch.Tensor:  # base velocity in the heading frame [N, 2]
        return torch.matmul(st.root_lin_vel_w[:, None, :], heading_matrix(st.root_rot_w))[:, 0, :2]

    torch.testing.assert_close(env.lin_vel_smooth, heading())  # starts at the spawn velocity
    g = torch.Generator().manual_seed(2)
    for _ in range(5):
        before = env.lin_vel_smooth.clone()
        res = env.step(0.3 * torch.randn(N, 29, generator=g))
        assert not bool(res.terminated.any() or res.truncated.any())
        expected = before + (env.dt / 0.2) * (heading() - before)
        torch.testing.assert_close(env.lin_vel_smooth, expected)
        kernel = R.track_lin_vel_xy_exp(expected, env.commands.commands[:, :2], 0.5)
        torch.testing.assert_close(res.reward_terms["track_lin_vel_xy_smooth_exp"], env.dt * kernel)
    env.close()


def test_reward_stages_switch_weights_by_iteration():
    cfg = plane_config(
        rewards={"termination_penalty": -200.0, "track_lin_vel_xy_exp": 1.0},
        reward_stages=[{"start_iteration": 10, "rewards": {"termination_penalty": -50.0}},
                       {"start_iteration": 20, "rewards": {"track_lin_vel_xy_exp": 2.0}}],
    )  # fmt: skip
    from rl.env_config import rewards_at

    assert rewards_at(cfg, 9).termination_penalty == -200.0
    assert rewards_at(cfg, 10).termination_penalty == -50.0
    at20 = rewards_at(cfg, 25)
    assert (at20.termination_penalty, at20.track_lin_vel_xy_exp) == (-50.0, 2.0)
    env = G1Env(cfg, N, seed=0)
    env.reset()
    a = env.step(torch.zeros(N, 29)).reward_terms["track_lin_vel_xy_exp"]
    env.set_iteration(20)
    b = env.step(torch.zeros(N, 29)).reward_terms["track_lin_vel_xy_exp"]
    # Same kernel values one step apart (standing still), twice the weight.
    torch.testing.assert_close(b, 2.0 * a, atol=2e-4, rtol=0.02)
    env.close()
    with pytest.raises(ConfigError, match="unknown reward keys"):
        plane_config(reward_stages=[{"start_iteration": 5, "rewards": {"nope": 1.0}}])
    with pytest.raises(ConfigError, match="increase"):
        plane_config(reward_stages=[{"start_iteration": 5, "rewards": {}},
                                    {"start_iteration": 5, "rewards": {}}])  # fmt: skip


def test_step_symmetry_clocks_follow_the_touchdowns():
    cfg = plane_config(
        rewards={"feet_step_time_symmetry": -1.0, "feet_step_length_symmetry": -1.0}
    )
    env = G1Env(cfg, N, seed=0)
    env.reset()
    g = torch.Generator().manual_seed(0)
    contact, ahead, start = [], [], [0] * N  # start: first step of each env's episode
    for k in range(100):
        res = env.step(1.0 * torch.randn(N, 29, generator=g))
        st = env.sim.state
        contact.append(st.foot_contact.clone())
        yaw = torch.atan2(st.root_rot_w[:, 1, 0], st.root_rot_w[:, 0, 0])
        heading = torch.stack([yaw.cos(), yaw.sin()], dim=-1)
        sep = st.foot_pos_w[:, 0, :2] - st.foot_pos_w[:, 1, :2]
        ahead.append(torch.linalg.vecdot(sep, heading))
        terms = res.reward_terms
        for name in ("feet_step_time_symmetry", "feet_step_length_symmetry"):
            assert torch.all(terms[name] <= 0) and torch.all(terms[name] >= -0.5 * 2 * env.dt)
        for i in torch.nonzero(res.terminated | res.truncated).flatten().tolist():
            start[i] = k + 1
    # The latest step of each foot, from the recorded contacts (a touchdown: contact after a
    # step in the air within the episode; the step time: since the other foot's touchdown).
    touchdowns = 0
    for i in range(N):
        tds = [(k, f) for k in range(start[i] + 1, len(contact)) for f in (0, 1)
               if contact[k][i, f] and not contact[k - 1][i, f]]  # fmt: skip
        touchdowns += len(tds)
        for f in (0, 1):
            mine = [k for k, h in tds if h == f]
            if not mine:
                assert torch.isnan(env.last_step_time[i, f])
                continue
            k = mine[-1]
            other = [j for j, h in tds if h == 1 - f and j <= k]
            if not other or other[-1] == k:
                assert torch.isnan(env.last_step_time[i, f])
                continue
            assert float(env.last_step_time[i, f]) == pytest.approx((k - other[-1]) * env.dt)
            sign = 1.0 if f == 0 else -1.0  # how far foot f lies ahead of the other
            assert float(env.last_step_length[i, f]) == pytest.approx(
                sign * float(ahead[k][i]), abs=1e-5
            )
    assert touchdowns >= 8  # the random actions did step
    env.close()
