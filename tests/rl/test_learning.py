"""Learning tests (slow, a few minutes each on one core): PPO on Pendulum-v1, AMP on the toy circle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from rl.gym_adapter import GymVecEnv, make_gym_vec_env
from rl.runner import OnPolicyRunner, circle_config, make_task_env, pendulum_config
from rl.toy_envs import CircleTaskConfig, evaluate_circle

pytestmark = pytest.mark.slow


@torch.no_grad()
def pendulum_eval_return(policy: torch.nn.Module, episodes: int = 10, seed: int = 1000) -> float:
    """Mean undiscounted return of the deterministic policy over fresh Pendulum-v1 episodes."""
    env = GymVecEnv(make_gym_vec_env("Pendulum-v1", episodes), seed=seed)
    obs, _ = env.reset()
    while True:
        res = env.step(policy(obs))
        obs = res.obs
        if res.episode_stats:
            env.close()
            return float(res.episode_stats["return"].mean())


def test_ppo_solves_pendulum(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    runner = OnPolicyRunner(
        make_task_env("pendulum", seed=0), pendulum_config(), "cpu", tmp_path, seed=0
    )
    stats = runner.learn()
    runner.save_policy(tmp_path / "policy.pt")
    runner.close()
    wall = time.perf_counter() - start
    mean_return = pendulum_eval_return(runner.model.export_module())
    print(
        f"\nPendulum-v1: eval mean return {mean_return:.1f} (train window {stats['episode/return']:.1f}), "
        f"{runner.iteration} iterations, {wall:.0f} s"
    )
    assert mean_return > -300


def _train_circle(tmp: Path, amp: bool) -> dict[str, float]:
    runner = OnPolicyRunner(
        make_task_env("circle", seed=0), circle_config(amp=amp), "cpu", tmp, seed=0
    )
    runner.learn()
    runner.close()
    return evaluate_circle(runner.model.export_module(), CircleTaskConfig())


def test_amp_imitates_circle_where_task_only_does_not(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    with_amp = _train_circle(tmp_path / "amp", amp=True)
    task_only = _train_circle(tmp_path / "task", amp=False)
    print(
        f"\ncircle AMP: {with_amp}\ncircle task-only: {task_only}\n({time.perf_counter() - start:.0f} s)"
    )
    # AMP: on the unit circle, at the reference speed, counter-clockwise
    assert with_amp["radius_error"] < 0.25
    assert with_amp["speed_error"] < 0.3
    assert 0.7 < with_amp["angular_velocity"] < 1.5
    assert with_amp["energy_distance"] < 0.1
    # task only: the reward has nothing circular in it, so the motion is far from the reference
    assert task_only["energy_distance"] > 5 * with_amp["energy_distance"]
    assert task_only["speed_error"] > 0.5
    assert abs(task_only["angular_velocity"]) < 0.5
