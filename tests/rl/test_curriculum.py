"""Terrain curriculum: promotion/demotion on synthetic displacements, stages, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch

from mocap.configs import ConfigError
from rl.curriculum import (
    CommandProgress,
    CurriculumConfig,
    TerrainCurriculum,
    command_dir_w,
    commanded_distance,
    distance_along_command,
)

torch.set_num_threads(1)

COLS = ("flat", "slope_up", "slope_down", "stairs_up", "stairs_down")
TILE = 8.0


def _curriculum(n: int, **kw) -> TerrainCurriculum:
    cfg = CurriculumConfig(**{"min_episodes": 0, **kw})
    return TerrainCurriculum(
        cfg, COLS, num_levels=10, num_envs=n, generator=torch.Generator().manual_seed(0)
    )


def test_promote_and_demote_hand_computed() -> None:
    cur = _curriculum(5)
    cur.levels[:] = 2
    ids = torch.arange(5)
    # walked along the command (m) / commanded distance (m), tile 8 m: promote > 4, demote < cmd/2
    dist = torch.tensor([5.0, 3.0, 1.0, -1.0, 4.0])
    cmd = torch.tensor([10.0, 4.0, 4.0, 0.0, 20.0])
    cur.update(ids, dist, cmd, TILE)
    # 5 > 4: up; 3 >= 2: stay; 1 < 2: down; -1 < 0: down; 4 is not > 4 and 4 < 10: down
    assert cur.levels.tolist() == [3, 2, 1, 1, 1]
    cur.levels[:] = 0
    cur.update(ids, torch.zeros(5), torch.full((5,), 10.0), TILE)
    assert cur.levels.tolist() == [0] * 5  # never below 0
    # A big commanded distance cannot demote a robot that walked over half a tile.
    cur.update(ids[:1], torch.tensor([4.5]), torch.tensor([30.0]), TILE)
    assert cur.levels[0] == 1


def test_turning_command_counts_the_arc() -> None:
    """vx = 1 m/s with yaw rate 0.5 rad/s for 10 s: a 10 m arc whose chord is only 2.4 m."""
    dt, steps, v, wz = 0.02, 500, 1.0, 0.5
    t = torch.arange(steps + 1) * dt
    yaw = wz * t  # the robot tracks the yaw-rate command
    radius = v / wz
    path = torch.stack([radius * torch.sin(yaw), radius * (1 - torch.cos(yaw))], dim=-1)  # [T+1,2]
    cmd_b = torch.tensor([[v, 0.0]])
    chord = float(path[-1].norm())
    assert chord < TILE / 2  # a start-to-end measure would not promote

    prog = CommandProgress(1)
    prog.reset(torch.tensor([0]), path[0:1], cmd_b, yaw[0:1])
    for k in range(1, steps + 1):
        prog.step(path[k : k + 1], cmd_b, yaw[k : k + 1], dt)
    assert prog.distance[0] == pytest.approx(v * steps * dt, rel=1e-3)
    assert prog.commanded[0] == pytest.approx(v * steps * dt, rel=1e-5)

    # The pure function agrees with the accumulator.
    dirs = command_dir_w(cmd_b.expand(steps, 2), yaw[:-1])[:, None, :]  # [T, 1, 2]
    d = distance_along_command(path[:, None, :], dirs)
    assert d[0] == pytest.approx(float(prog.distance[0]), rel=1e-5)
    assert commanded_distance(torch.full((steps, 1), v), dt)[0] == pytest.approx(10.0)

    cur = _curriculum(1)
    cur.levels[:] = 3
    cur.update(torch.tensor([0]), prog.distance, prog.commanded, TILE)
    assert cur.levels.tolist() == [4]

    # A robot that walks straight while commanded to turn makes less progress along the command.
    straight = torch.stack([t * v, torch.zeros_like(t)], dim=-1)
    d_straight = distance_along_command(straight[:, None, :], dirs)
    assert d_straight[0] == pytest.approx(radius * math.sin(wz * steps * dt), abs=0.05)
    assert d_straight[0] < 0.5 * float(prog.commanded[0])


def test_distance_along_command_fixed_direction_and_backwards() -> None:
    start = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    end = torch.tensor([[3.0, 4.0], [1.0, -2.0], [-2.0, 0.0]])
    u = command_dir_w(
        torch.tensor([[1.0, 0.0], [0.5, 0.0], [0.0, 0.0]]), torch.tensor([0.0, -math.pi / 2, 0.0])
    )
    d = distance_along_command(torch.stack([start, end]), u)
    torch.testing.assert_close(d, torch.tensor([3.0, 3.0, 0.0]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="path_xy"):
        distance_along_command(start, u)


def test_top_level_goes_to_random_level() -> None:
    n = 200
    cur = _curriculum(n)
    cur.levels[:] = 9
    cur.update(torch.arange(n), torch.full((n,), 6.0), torch.full((n,), 6.0), TILE)
    assert cur.levels.min() >= 0 and cur.levels.max() <= 9
    assert len(cur.levels.unique()) >= 8  # spread over the levels, not parked at the top
    assert cur.solved.all()


def test_stage_opens_only_when_mastered_and_never_closes() -> None:
    n = 40
    cfg = {"mastery": "mean_level", "mastery_threshold": 0.6, "min_episodes": 60}
    cur = _curriculum(n, **cfg)
    assert cur.stage == 0 and cur.stage_name == "flat"
    assert set(cur.cols.tolist()) == {0}  # only flat is open
    ids = torch.arange(n)
    up = (torch.full((n,), 6.0), torch.full((n,), 6.0))
    for _ in range(5):  # levels 0 -> 5: mean 5/9 < 0.6
        cur.update(ids, *up, TILE)
        assert cur.stage == 0
    cur.update(ids, *up, TILE)  # level 6: 6/9 >= 0.6 and 240 episodes >= 60
    assert cur.stage == 1 and cur.stage_name == "slopes"
    assert set(cur.target_cols.tolist()) == {0, 1, 2}
    assert set(cur.cols.tolist()) == {0}  # robots move at their next episode end
    cur.update(ids[:20], *(x[:20] for x in up), TILE)
    moved = ids[:20][cur.cols[:20] != 0]
    assert len(moved) > 0 and set(cur.cols[:20].tolist()) <= {0, 1, 2}
    assert (cur.levels[moved] == 0).all()  # a new column starts at [0, max_init_level]
    assert (cur.levels[20:] == 6).all()  # the others keep their tile until their episode ends
    # Failing everywhere: levels drop, but an open stage stays open.
    for _ in range(10):
        cur.update(ids, torch.zeros(n), torch.full((n,), 10.0), TILE)
    assert cur.stage == 1 and (cur.levels == 0).all()
    assert set(cur.cols.tolist()) == {0, 1, 2}


def test_min_episodes_gate_and_solved_fraction() -> None:
    n = 10
    cur = _curriculum(n, mastery="solved_fraction", mastery_threshold=0.5, min_episodes=25)
    cur.levels[:] = 9
    ids = torch.arange(n)
    cur.update(ids, torch.full((n,), 6.0), torch.zeros(n), TILE)  # all solve: 10 episodes
    assert cur.mastery_value() == 1.0 and cur.stage == 0  # too few episodes yet
    cur.update(ids, torch.full((n,), 1.0), torch.zeros(n), TILE)  # 20 episodes
    assert cur.stage == 0
    cur.update(ids, torch.full((n,), 1.0), torch.zeros(n), TILE)  # 30 episodes
    assert cur.stage == 1


def test_tracking_mastery() -> None:
    n = 8
    cur = _curriculum(n, mastery="tracking", mastery_threshold=0.7, tracking_ema=0.5)
    ids = torch.arange(n)
    z = torch.zeros(n)
    cur.update(ids, z, z, TILE, tracking=torch.full((n,), 0.5))
    assert cur.stage == 0 and cur.mastery_value() == pytest.approx(0.5)
    cur.update(ids, z, z, TILE, tracking=torch.full((n,), 0.8))  # ema 0.65
    assert cur.stage == 0
    cur.update(ids, z, z, TILE, tracking=torch.full((n,), 0.9))  # ema 0.775
    assert cur.stage == 1
    with pytest.raises(ValueError, match="tracking"):
        cur.update(ids, z, z, TILE)


def test_state_dict_round_trip_and_logging() -> None:
    cur = _curriculum(12, mastery_threshold=0.1)
    ids = torch.arange(12)
    for _ in range(3):
        cur.update(ids, torch.full((12,), 6.0), torch.full((12,), 6.0), TILE)
    state = cur.state_dict()
    other = _curriculum(12, mastery_threshold=0.1)
    other.load_state_dict(state)
    for a, b in ((cur, other),):
        assert (
            a.stage == b.stage and torch.equal(a.levels, b.levels) and torch.equal(a.cols, b.cols)
        )
    # Same random continuation after loading.
    cur.levels[:] = 9
    other.levels[:] = 9
    cur.update(ids, torch.full((12,), 6.0), torch.zeros(12), TILE)
    other.update(ids, torch.full((12,), 6.0), torch.zeros(12), TILE)
    assert torch.equal(cur.levels, other.levels)
    stats = cur.stats()
    assert {"curriculum/stage", "curriculum/mean_level", "curriculum/level_flat"} <= set(stats)
    with pytest.raises(ValueError, match="robots"):
        _curriculum(5).load_state_dict(state)


def test_terrain_without_later_stages_and_unknown_types() -> None:
    cur = TerrainCurriculum(
        CurriculumConfig(min_episodes=0, mastery_threshold=0.0),
        ("flat",),
        num_levels=10,
        num_envs=4,
    )
    ids = torch.arange(4)
    cur.update(ids, torch.full((4,), 6.0), torch.zeros(4), TILE)
    assert cur.stage == 0 and (cur.cols == 0).all()
    with pytest.raises(ConfigError, match="lava"):
        TerrainCurriculum(CurriculumConfig(), ("flat", "lava"), num_levels=10, num_envs=4)
    with pytest.raises(ConfigError, match="stage_names"):
        CurriculumConfig(stage_names=("a",))
    opened = TerrainCurriculum(CurriculumConfig(open_all=True), COLS, num_levels=10, num_envs=10)
    assert opened.stage == 2 and set(opened.cols.tolist()) == set(range(5))
