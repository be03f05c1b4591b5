"""Reward terms against hand-computed values, the weight table and the air-time tracker."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest
import torch

from mocap.configs import ConfigError
from rl import rewards as R

T = torch.tensor


def test_tracking_kernels():
    v = T([[1.0, 0.0], [0.5, 0.5]])
    cmd = T([[1.0, 0.0], [0.0, 0.0]])
    out = R.track_lin_vel_xy_exp(v, cmd, std=0.5)
    torch.testing.assert_close(out, T([1.0, math.exp(-0.5 / 0.25)]))
    out = R.track_ang_vel_z_exp(T([0.2, -1.0]), T([0.2, 0.0]), std=0.5)
    torch.testing.assert_close(out, T([1.0, math.exp(-4.0)]))


def test_l2_penalties():
    torch.testing.assert_close(R.lin_vel_z_l2(T([[1.0, 2.0, -3.0]])), T([9.0]))
    torch.testing.assert_close(R.ang_vel_xy_l2(T([[1.0, 2.0, 30.0]])), T([5.0]))
    torch.testing.assert_close(R.joint_torques_l2(T([[3.0, 4.0]])), T([25.0]))
    acc = R.joint_acc_l2(T([[1.0, 0.0]]), T([[0.0, 2.0]]), dt=0.5)  # (2, -4) rad/s^2
    torch.testing.assert_close(acc, T([20.0]))
    torch.testing.assert_close(R.action_rate_l2(T([[1.0, 1.0]]), T([[0.0, 3.0]])), T([5.0]))
    torch.testing.assert_close(R.flat_orientation_l2(T([[0.6, 0.0, -0.8]])), T([0.36]))


def test_contact_terms():
    contact = T([[True, False, True], [False, False, False]])
    torch.testing.assert_close(R.undesired_contacts(contact), T([2.0, 0.0]))
    force = T([[[10.0, 0.0, 100.0], [60.0, 0.0, 10.0]]])  # second foot: 60 > 5 x 10
    torch.testing.assert_close(R.feet_stumble(force, ratio=5.0), T([1.0]))


def test_air_time_tracker_and_reward():
    dt = 0.1
    air = torch.zeros(1, 2)
    # Left foot: in the air for 5 steps, then lands; right foot always down.
    pattern = [False] * 5 + [True]
    rewards = []
    for left_down in pattern:
        contact = T([[left_down, True]])
        air, touchdown, first = R.update_air_time(air, contact, dt)
        rewards.append(R.feet_air_time(touchdown, first, T([[1.0, 0.0]]), 0.4, 0.1))
    # The first step counts as air only once the foot was seen in the air; touchdown after 0.6 s.
    torch.testing.assert_close(touchdown, T([[0.6, 0.0]]))
    assert first.tolist() == [[True, False]]
    torch.testing.assert_close(rewards[-1], T([0.6 - 0.4]))
    assert all(float(r) == 0.0 for r in rewards[:-1])
    torch.testing.assert_close(air, T([[0.0, 0.0]]))
    # No reward without a planar command.
    zero = R.feet_air_time(touchdown, first, T([[0.05, 0.0]]), 0.4, 0.1)
    torch.testing.assert_close(zero, T([0.0]))


def test_biped_air_time_rewards_single_stance_only():
    cmd = T([[0.5, 0.0]] * 4)
    # env 0: left in stance 0.3 s, right swinging 0.2 s -> min 0.2
    # env 1: single stance, both timers beyond the 0.4 s cap -> 0.4
    # env 2: double support -> 0;  env 3: flight -> 0
    air = T([[0.0, 0.2], [0.0, 0.7], [0.0, 0.0], [0.1, 0.3]])
    contact = T([[0.3, 0.0], [0.9, 0.0], [0.5, 0.2], [0.0, 0.0]])
    r = R.feet_air_time_biped(air, contact, cmd, threshold=0.4, min_command=0.1)
    torch.testing.assert_close(r, T([0.2, 0.4, 0.0, 0.0]))
    still = R.feet_air_time_biped(air, contact, torch.zeros(4, 2), 0.4, 0.1)
    torch.testing.assert_close(still, torch.zeros(4))


def test_contact_timer():
    t = torch.zeros(1, 2)
    for c in ([True, False], [True, False], [False, True]):
        t = R.update_contact_time(t, torch.tensor([c]), 0.02)
    torch.testing.assert_close(t, T([[0.0, 0.02]]))


def test_phase_contact_is_the_matching_fraction():
    contact = torch.tensor([[True, False], [True, True], [False, False]])
    expected = torch.tensor([[True, False], [True, False], [True, True]])
    torch.testing.assert_close(R.feet_phase_contact(contact, expected), T([1.0, 0.5, 0.0]))


def test_swing_clearance_pays_lift_of_swing_feet_only():
    clearance = T([[0.04, 0.2], [0.0, -0.01], [0.08, 0.08]])
    expected = torch.tensor([[False, True], [False, False], [True, True]])
    # env 0: left swings at half the 0.08 m target, right in stance; env 1: no lift (one foot
    # below its standing height counts 0); env 2: both expected down.
    got = R.feet_swing_clearance(clearance, expected, 0.08)
    torch.testing.assert_close(got, T([0.25, 0.0, 0.0]))


def test_joint_deviation_counts_masked_joints_only():
    q = T([[0.3, -0.2, 1.0], [0.1, 0.1, 0.1]])
    default = T([0.1, 0.0, 0.0])
    mask = T([1.0, 1.0, 0.0])  # the third joint is free
    torch.testing.assert_close(R.joint_deviation_l1(q, default, mask), T([0.4, 0.1]))


def test_feet_slide_counts_stance_feet_only():
    vel = T([[[3.0, 4.0], [1.0, 0.0]], [[0.6, 0.8], [0.0, 2.0]]])  # speeds 5, 1 | 1, 2
    contact = torch.tensor([[True, True], [True, False]])
    prev = torch.tensor([[True, False], [True, True]])  # env 0 right foot: touchdown step
    torch.testing.assert_close(R.feet_slide(vel, contact, prev), T([5.0, 1.0]))


def test_smooth_velocity_averages_out_the_swing_within_a_stride():
    dt, tau = 0.02, 0.5
    avg = T([[0.0, 0.0]])
    for _ in range(5):  # a first step: dt / tau of the way
        avg = R.smooth_velocity(avg, T([[1.0, -1.0]]), dt, tau)
    torch.testing.assert_close(avg, T([[1.0, -1.0]]) * (1 - (1 - dt / tau) ** 5))
    # A walk at 0.5 m/s whose speed swings by +-0.2 m/s at 1.5 Hz: the average keeps the mean
    # and a fraction of the swing, so the tracking kernel sees mostly the walking speed.
    avg = T([[0.5, 0.0]])
    seen = []
    for k in range(500):
        v = 0.5 + 0.2 * math.sin(2 * math.pi * 1.5 * k * dt)
        avg = R.smooth_velocity(avg, T([[v, 0.0]]), dt, tau)
        seen.append(float(avg[0, 0]))
    late = torch.tensor(seen[250:])
    assert abs(float(late.mean()) - 0.5) < 0.01
    assert float(late.max() - late.min()) < 0.2 * 2 * 0.25  # the swing, cut to < 1/4
    assert torch.equal(R.smooth_velocity(avg, T([[3.0, 0.0]]), dt, 0.01), T([[3.0, 0.0]]))
    with pytest.raises(ConfigError, match="tracking_smooth_s"):
        R.RewardConfig(tracking_smooth_s=0.0)


def test_feet_drag_costs_moving_feet_below_the_target():
    clearance = T([[0.0, 0.08], [0.02, 0.0], [0.04, 0.12]])
    vel = T([[[0.3, 0.4], [2.0, 0.0]], [[0.0, 3.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    got = R.feet_drag(clearance, vel, target=0.08, speed=0.5)
    t1, t6, t2 = math.tanh(1.0), math.tanh(6.0), math.tanh(2.0)
    # env 0: a foot sliding at 0.5 m/s on the ground, one moving at the target height;
    # env 1: a swing foot skimming 2 cm above the ground at 3 m/s, a foot at rest;
    # env 2: half the target at 1 m/s, above the target (no cost, no bonus).
    torch.testing.assert_close(got, T([1.0 * t1, 0.75 * t6, 0.5 * t2]))
    with pytest.raises(ConfigError, match="drag_speed"):
        R.RewardConfig(drag_speed=0.0)


def test_step_clocks_time_the_alternating_steps():
    dt, nan = 0.1, math.nan
    since = T([[nan, nan]])
    last = T([[nan, nan]])
    # left down at step 0, right at 3, left at 8, right at 11: steps of 0.3, 0.5, 0.3 s.
    touch = {0: 0, 3: 1, 8: 0, 11: 1}
    recorded = []
    for k in range(12):
        first = torch.zeros(1, 2, dtype=torch.bool)
        if k in touch:
            first[0, touch[k]] = True
        step, since = R.update_steps(since, first, dt)
        if k in touch:
            recorded.append(float(step[0, touch[k]]))
        last = R.latest_steps(last, step, first)
    assert math.isnan(recorded[0])  # the first touchdown has no step before it
    assert recorded[1:] == pytest.approx([0.3, 0.5, 0.3])
    torch.testing.assert_close(last, T([[0.5, 0.3]]))
    torch.testing.assert_close(since, T([[0.3, 0.0]]))


def test_latest_steps_forget_two_footed_landings():
    last = T([[0.4, 0.5], [0.4, 0.5]])
    step = T([[0.3, 0.2], [0.3, 0.2]])
    first = torch.tensor([[True, False], [True, True]])
    got = R.latest_steps(last, step, first)
    torch.testing.assert_close(got[0], T([0.3, 0.5]))
    assert torch.isnan(got[1]).all()


def test_step_lengths_along_the_heading():
    feet = T([[[0.3, 0.1], [0.0, -0.1]], [[0.0, 0.2], [0.0, -0.1]]])  # [N, 2 feet, xy]
    heading = T([[1.0, 0.0], [0.0, 1.0]])  # env 1 faces +y: its left foot leads by 0.3 m
    torch.testing.assert_close(R.step_lengths(feet, heading), T([[0.3, -0.3], [0.3, -0.3]]))


def test_step_symmetry_penalises_unequal_consecutive_steps():
    cmd = T([[0.5, 0.0]] * 4)
    nan = math.nan
    last = T([[0.4, 0.6], [0.4, 0.6], [0.4, nan], [0.4, 0.6]])  # latest left / right step
    step = T([[0.45, 9.0], [9.0, 0.35], [0.3, 0.0], [2.0, 0.3]])  # this step's values
    first = torch.tensor([[True, False], [False, True], [True, False], [True, False]])
    # env 0: left step 0.45 after a right step 0.6 -> 0.15; env 1: right 0.35 after left 0.4
    # -> 0.05; env 2: the right foot has no step yet -> 0; env 3: clipped at 0.5.
    r = R.feet_step_symmetry(step, last, first, cmd, clip=0.5, min_command=0.1)
    torch.testing.assert_close(r, T([0.15, 0.05, 0.0, 0.5]))
    # Two feet landing together is no step; no command, no penalty.
    both = torch.tensor([[True, True]] * 4)
    torch.testing.assert_close(R.feet_step_symmetry(step, last, both, cmd, 0.5, 0.1), T([0.0] * 4))
    still = R.feet_step_symmetry(step, last, first, torch.zeros(4, 2), 0.5, 0.1)
    torch.testing.assert_close(still, torch.zeros(4))


def test_joint_pos_limits_with_soft_limits():
    limits = T([[-1.0, 1.0], [0.0, 2.0]])
    soft = R.soft_joint_limits(limits, 0.9)
    torch.testing.assert_close(soft, T([[-0.9, 0.9], [0.1, 1.9]]))
    q = T([[1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(R.joint_pos_limits(q, soft), T([0.1 + 0.1, 0.0]))


def test_termination_penalty():
    torch.testing.assert_close(R.termination_penalty(T([True, False])), T([1.0, 0.0]))


def _inputs(n: int = 2) -> R.RewardInputs:
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    return R.RewardInputs(
        lin_vel_xy_h=r(n, 2),
        lin_vel_xy_h_smooth=r(n, 2),
        ang_vel_z_w=r(n),
        lin_vel_b=r(n, 3),
        ang_vel_b=r(n, 3),
        command=r(n, 3),
        torque=r(n, 29),
        dof_pos=r(n, 29),
        dof_vel=r(n, 29),
        prev_dof_vel=r(n, 29),
        action=r(n, 29),
        prev_action=r(n, 29),
        undesired_contact=r(n, 5) > 0,
        touchdown_air_time=r(n, 2).abs(),
        first_contact=r(n, 2) > 0,
        air_time=r(n, 2).abs(),
        contact_time=r(n, 2).abs(),
        foot_vel_xy=r(n, 2, 2),
        foot_contact=r(n, 2) > 0,
        step_time=r(n, 2).abs(),
        last_step_time=r(n, 2).abs(),
        step_length=r(n, 2),
        last_step_length=r(n, 2),
        prev_foot_contact=r(n, 2) > 0,
        expected_stance=r(n, 2) > 0,
        foot_clearance=r(n, 2),
        foot_force_w=r(n, 2, 3),
        soft_limits=T([[-0.5, 0.5]] * 29),
        default_dof_pos=r(29),
        deviation_mask=(r(29) > 0).float(),
        projected_gravity_b=r(n, 3),
        terminated=T([True, False]),
        dt=0.02,
    )


def test_compute_rewards_weights_scaling_and_terms():
    cfg = replace(R.RewardConfig(), feet_air_time_biped=0.5, feet_slide=-0.1,
                  feet_phase_contact=1.0, feet_swing_clearance=1.0, feet_drag=-1.0,
                  track_lin_vel_xy_smooth_exp=1.0,
                  joint_deviation_l1=-0.1, feet_step_time_symmetry=-1.0,
                  feet_step_length_symmetry=-1.0)  # fmt: skip
    x = _inputs()
    total, terms = R.compute_rewards(cfg, x)
    assert set(terms) == set(R.TERM_NAMES)
    assert "feet_slide" not in R.compute_rewards(R.RewardConfig(), x)[1]  # off by default
    torch.testing.assert_close(total, torch.stack(list(terms.values())).sum(0))
    # Each logged term is weight x raw value x dt.
    raw = R.lin_vel_z_l2(x.lin_vel_b)
    torch.testing.assert_close(terms["lin_vel_z_l2"], cfg.lin_vel_z_l2 * raw * 0.02)
    torch.testing.assert_close(
        terms["termination_penalty"], T([cfg.termination_penalty * 0.02, 0.0])
    )
    assert torch.all(terms["joint_torques_l2"] <= 0)  # penalties carry the sign in the weight
    assert torch.all(terms["track_lin_vel_xy_exp"] >= 0)
    # Without dt scaling, and with a term switched off.
    cfg2 = replace(cfg, scale_by_dt=False, feet_stumble=0.0)
    _, terms2 = R.compute_rewards(cfg2, x)
    assert "feet_stumble" not in terms2
    torch.testing.assert_close(terms2["lin_vel_z_l2"], cfg.lin_vel_z_l2 * raw)


def test_tracking_kernels_take_their_own_widths():
    x = _inputs()
    cfg = replace(R.RewardConfig(), tracking_std=0.25, tracking_std_yaw=0.75, scale_by_dt=False)
    _, terms = R.compute_rewards(cfg, x)
    lin_err = ((x.lin_vel_xy_h - x.command[:, :2]) ** 2).sum(-1)
    yaw_err = (x.ang_vel_z_w - x.command[:, 2]) ** 2
    torch.testing.assert_close(terms["track_lin_vel_xy_exp"], torch.exp(-lin_err / 0.25**2))
    torch.testing.assert_close(terms["track_ang_vel_z_exp"], 0.5 * torch.exp(-yaw_err / 0.75**2))


def test_every_term_has_a_weight_field():
    names = {f.name for f in fields(R.RewardConfig)}
    assert set(R.TERM_NAMES) <= names
    with pytest.raises(TypeError):
        R.RewardConfig(no_such_term=1.0)  # type: ignore[call-arg]


def test_air_time_penalty_takes_its_own_command_gate():
    """``air_time_min_command`` gates feet_air_time alone; the single-stance reward keeps
    ``min_command``."""
    x = _inputs()
    x.command = T([[0.2, 0.0, 0.0], [0.6, 0.0, 0.0]])
    x.first_contact = T([[True, False], [True, False]])
    x.touchdown_air_time = T([[0.1, 0.0], [0.1, 0.0]])  # short steps: -0.3 each
    x.air_time = T([[0.0, 0.3], [0.0, 0.3]])
    x.contact_time = T([[0.5, 0.0], [0.5, 0.0]])  # single stance: 0.3 each
    base = replace(R.RewardConfig(), feet_air_time_biped=1.0, scale_by_dt=False)
    _, terms = R.compute_rewards(base, x)
    torch.testing.assert_close(terms["feet_air_time"], 0.25 * T([-0.3, -0.3]))
    torch.testing.assert_close(terms["feet_air_time_biped"], T([0.3, 0.3]))
    _, terms = R.compute_rewards(replace(base, air_time_min_command=0.35), x)
    torch.testing.assert_close(terms["feet_air_time"], 0.25 * T([0.0, -0.3]))
    torch.testing.assert_close(terms["feet_air_time_biped"], T([0.3, 0.3]))
