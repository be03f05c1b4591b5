"""Gait clock: period table, phase, expected stance, reference fit, and the env wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mocap.configs import ConfigError
from rl import gait_clock as GC
from rl.env import G1Env
from rl.env_config import parse_env_config


def T(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def test_stride_period_interpolates_and_holds_the_ends():
    table = T([[0.5, 1.0], [1.6, 1.0]])  # speeds 0.5 -> 1.6 s, 1.0 -> 1.0 s
    got = GC.stride_period(table, T([0.0, 0.5, 0.75, 1.0, 3.0]))
    torch.testing.assert_close(got, T([1.6, 1.6, 1.3, 1.0, 1.0]))
    one = T([[0.8], [1.2]])  # a single row: constant
    torch.testing.assert_close(GC.stride_period(one, T([0.1, 2.0])), T([1.2, 1.2]))


def test_phase_advances_and_wraps():
    got = GC.advance(T([0.0, 0.95]), 0.02, T([1.0, 0.2]))
    torch.testing.assert_close(got, T([0.02, 0.05]))


def test_expected_stance_alternates_feet_and_stands():
    # duty 0.6: left down on [0, 0.6), right (offset 0.5) down on [0.5, 1.0) and [0, 0.1).
    phase = T([0.05, 0.3, 0.55, 0.8])
    got = GC.expected_stance(phase, 0.6, torch.zeros(4, dtype=torch.bool))
    assert got.tolist() == [[True, True], [True, False], [True, True], [False, True]]
    standing = GC.expected_stance(phase, 0.6, torch.ones(4, dtype=torch.bool))
    assert standing.all()
    cfg = GC.GaitClockConfig(enabled=True)
    cmd = T([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.5], [0.05, 0.0, 0.1]])
    assert GC.is_standing(cfg, cmd).tolist() == [True, False, False, True]


def test_phase_obs_is_on_the_unit_circle():
    obs = GC.phase_obs(T([0.0, 0.25, 0.5]))
    torch.testing.assert_close(obs, T([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]), atol=1e-6, rtol=0)


def test_reference_fit_recovers_a_power_law():
    v = np.array([0.4, 0.6, 0.8, 1.0, 1.2, 2.0])
    t = 1.1 * v**-0.5
    duty = np.array([0.65] * 5 + [0.4])  # the last is a run: left out
    t[-1] = 0.5
    table = GC.reference_stride_period(v, t, duty, num_points=3)
    speeds = [s for s, _ in table]
    assert speeds[0] == pytest.approx(np.percentile(v[:5], 5)) and len(table) == 3
    for s, p in table:
        assert p == pytest.approx(1.1 * s**-0.5, rel=1e-6)
    assert GC.reference_stride_period(np.array([0.7]), np.array([1.2]), np.array([0.6])) == (
        (0.7, 1.2),
    )
    assert GC.reference_stride_period(np.array([0.7]), np.array([1.2]), np.array([0.3])) == ()


def test_config_validation():
    with pytest.raises(ConfigError, match="duty_factor"):
        GC.GaitClockConfig(duty_factor=0.3)
    with pytest.raises(ConfigError, match="increase"):
        GC.GaitClockConfig(stride_period=((1.0, 1.0), (0.5, 1.5)))
    with pytest.raises(ConfigError, match="gait clock"):
        parse_env_config({"rewards": {"feet_phase_contact": 1.0}})


def test_env_clock_observation_and_reward():
    cfg = parse_env_config({
        "terrain": {"kind": "plane"}, "sim": {"num_threads": 1},
        "gait_clock": {"enabled": True, "stride_period": [[0.5, 1.0], [1.0, 1.0]]},
        "rewards": {"feet_phase_contact": 1.0, "feet_swing_clearance": 1.0},
        "commands": {"lin_vel_x": [0.5, 0.5], "ang_vel_z": [0.0, 0.0], "heading_command": False},
    })  # fmt: skip
    env = G1Env(cfg, 4, seed=0)
    assert env.num_obs == 9 + 3 * 29 + 2
    env.reset()
    start = env.phase.clone()
    res = env.step(torch.zeros(4, 29))
    # One step of a 1 s stride: the phase moves by dt / 1 s; the obs ends with (sin, cos).
    torch.testing.assert_close(env.phase, torch.remainder(start + env.dt, 1.0))
    a = 2 * math.pi * env.phase
    torch.testing.assert_close(res.obs[:, -2:], torch.stack([a.sin(), a.cos()], -1))
    expected = GC.expected_stance(env.phase, 0.6, torch.zeros(4, dtype=torch.bool))
    assert torch.equal(env.expected_stance, expected)
    match = (env.sim.state.foot_contact == expected).float().mean(-1)
    torch.testing.assert_close(res.reward_terms["feet_phase_contact"], match * env.dt)
    # Standing in the default pose right after reset: the feet are at their standing height.
    lift = env._foot_clearance(env.sim.state.foot_pos_w)
    assert lift.abs().max() < 0.03
    swing = (lift / 0.08).clamp(0, 1) * (~expected).float()
    torch.testing.assert_close(res.reward_terms["feet_swing_clearance"], swing.mean(-1) * env.dt)
    env.close()
