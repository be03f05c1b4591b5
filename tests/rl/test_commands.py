"""Velocity commands: ranges, resampling timing, heading mode, determinism, dataset warnings."""

from __future__ import annotations

import math

import pytest
import torch

from mocap.configs import ConfigError, from_dict
from rl.commands import CommandConfig, VelocityCommands, check_against_dataset, wrap_to_pi

torch.set_num_threads(1)


def _commands(n: int, seed: int = 0, **kw) -> VelocityCommands:
    return VelocityCommands(CommandConfig(**kw), n, generator=torch.Generator().manual_seed(seed))


def test_ranges_standing_and_small_commands() -> None:
    n = 4000
    cmd = _commands(n, heading_command=False, standing_prob=0.1, small_command_threshold=0.2)
    cmd.resample(torch.arange(n))
    c = cmd.commands
    cfg = cmd.cfg
    assert c[:, 0].min() >= cfg.lin_vel_x[0] and c[:, 0].max() <= cfg.lin_vel_x[1]
    assert c[:, 1].min() >= cfg.lin_vel_y[0] and c[:, 1].max() <= cfg.lin_vel_y[1]
    assert c[:, 2].min() >= cfg.ang_vel_z[0] and c[:, 2].max() <= cfg.ang_vel_z[1]
    assert 0.07 < cmd.is_standing.float().mean() < 0.13
    assert (c[cmd.is_standing] == 0).all()
    speed = c[:, :2].norm(dim=-1)
    assert ((speed == 0) | (speed >= 0.2)).all()  # small planar commands are zeroed
    moving = ~cmd.is_standing
    assert (c[moving, 2] != 0).float().mean() > 0.99  # the yaw rate is kept
    assert ((cmd.time_left >= 10.0) & (cmd.time_left <= 10.0)).all()


def test_resampling_timing() -> None:
    cmd = _commands(3, heading_command=False, resampling_time=(1.0, 1.0), standing_prob=0.0)
    cmd.resample(torch.arange(3))
    first = cmd.commands.clone()
    yaw = torch.zeros(3)
    dt = 0.25
    for _ in range(3):  # 0.75 s: not yet
        cmd.update(dt, yaw)
        assert torch.equal(cmd.commands, first)
    cmd.update(dt, yaw)  # 1.0 s: resampled, timer restarted
    assert not torch.equal(cmd.commands, first)
    torch.testing.assert_close(cmd.time_left, torch.ones(3))
    # Timers are drawn per env within the range.
    cmd2 = _commands(500, resampling_time=(2.0, 6.0))
    cmd2.resample(torch.arange(500))
    assert cmd2.time_left.min() >= 2.0 and cmd2.time_left.max() <= 6.0
    assert cmd2.time_left.std() > 0.5
    # Resampling a subset leaves the others alone.
    before = cmd2.commands.clone()
    cmd2.resample(torch.tensor([3, 7]))
    keep = torch.ones(500, dtype=torch.bool)
    keep[[3, 7]] = False
    assert torch.equal(cmd2.commands[keep], before[keep])


def test_heading_mode() -> None:
    cmd = _commands(
        4,
        heading_stiffness=0.5,
        ang_vel_z=(-1.0, 1.0),
        standing_prob=0.0,
        small_command_threshold=0.0,
    )
    cmd.resample(torch.arange(4))
    assert cmd.is_heading.all()
    cmd.heading_target[:] = torch.tensor([0.5, -0.2, 3.0, -3.0])
    yaw = torch.tensor([0.0, 0.4, 0.0, 3.0])
    cmd.update(0.02, yaw)
    # errors: 0.5, -0.6, 3.0 (clipped to 1.0), wrap(-6.0) = 0.283 (turn the short way)
    expected = torch.tensor([0.25, -0.3, 1.0, 0.5 * (2 * math.pi - 6.0)])
    torch.testing.assert_close(cmd.commands[:, 2], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        wrap_to_pi(torch.tensor([3 * math.pi / 2])), torch.tensor([-math.pi / 2])
    )
    # Standing envs stay at zero even in heading mode.
    cmd.is_standing[0] = True
    cmd.commands[0] = 0.0
    cmd.update(0.02, yaw)
    assert cmd.commands[0, 2] == 0.0
    # Mixed mode: about heading_prob of the envs.
    mixed = _commands(2000, heading_prob=0.3)
    mixed.resample(torch.arange(2000))
    assert 0.25 < mixed.is_heading.float().mean() < 0.35
    yaw_rate = _commands(50, heading_command=False)
    yaw_rate.resample(torch.arange(50))
    assert not yaw_rate.is_heading.any()


def test_determinism_with_seed() -> None:
    def run(seed: int) -> torch.Tensor:
        cmd = _commands(16, seed=seed, resampling_time=(0.5, 1.5))
        cmd.resample(torch.arange(16))
        out = []
        for k in range(100):
            cmd.update(0.02, torch.full((16,), 0.01 * k))
            out.append(cmd.commands.clone())
        return torch.stack(out)

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))
    cmd = _commands(8, seed=5)
    cmd.resample(torch.arange(8))
    state = cmd.state_dict()
    other = _commands(8, seed=99)
    other.load_state_dict(state)
    cmd.resample(torch.arange(8))
    other.resample(torch.arange(8))
    assert torch.equal(cmd.commands, other.commands)


def test_curriculum_widens_forward_range() -> None:
    cmd = _commands(
        4,
        curriculum=True,
        lin_vel_x=(-0.5, 1.0),
        lin_vel_x_limit=(-0.6, 1.25),
        curriculum_step=0.1,
        curriculum_threshold=0.8,
    )
    assert not cmd.update_curriculum(0.5)
    assert cmd.update_curriculum(0.9)
    assert cmd.lin_vel_x_range == pytest.approx((-0.6, 1.1))
    assert cmd.update_curriculum(0.9)
    assert cmd.lin_vel_x_range == pytest.approx((-0.6, 1.2))
    cmd.update_curriculum(0.9)
    assert not cmd.update_curriculum(0.9)
    assert cmd.lin_vel_x_range == pytest.approx((-0.6, 1.25))
    with pytest.raises(ConfigError, match="lin_vel_x_limit"):
        CommandConfig(curriculum=True, lin_vel_x=(-0.5, 3.0))


def test_dataset_range_warnings() -> None:
    cfg = CommandConfig(lin_vel_x=(-0.5, 2.0), lin_vel_y=(-0.3, 0.3), ang_vel_z=(-1.0, 1.0))
    clips_fwd = [0.0, 0.8, 1.2, 1.5]
    w = check_against_dataset(cfg, clips_fwd, margin=0.1)
    assert len(w) == 2
    assert any("2.00 m/s" in m and "1.50 m/s" in m for m in w)  # faster than any clip
    assert any("-0.50 m/s" in m and "0.00 m/s" in m for m in w)  # backwards, no clip
    assert check_against_dataset(cfg, [-0.5, 1.95], [-0.25, 0.25], [-1.0, 1.0]) == []
    w = check_against_dataset(cfg, [-0.5, 2.0], lateral_speeds=[0.0, 0.05], yaw_rates=[0.5])
    assert len(w) == 4 and all(m.startswith("commands.") for m in w)
    assert sum("lin_vel_y" in m for m in w) == 2 and sum("ang_vel_z" in m for m in w) == 2
    # The curriculum's limit counts, not just the starting range.
    cur = CommandConfig(curriculum=True, lin_vel_x=(0.0, 1.0), lin_vel_x_limit=(0.0, 3.0))
    assert "3.00 m/s" in VelocityCommands(cur, 1).check_against_dataset([0.0, 1.0])[0]


def test_config_from_dict_and_errors() -> None:
    cfg = from_dict(CommandConfig, {"lin_vel_x": [0.0, 1.5], "heading_command": False})
    assert cfg.lin_vel_x == (0.0, 1.5) and cfg.heading_command is False
    with pytest.raises(ConfigError, match="unknown"):
        from_dict(CommandConfig, {"lin_vel": [0, 1]})
    with pytest.raises(ConfigError, match="standing_prob"):
        CommandConfig(standing_prob=1.5)
