"""bench/train.py on a tiny scene (8 envs x 4 steps, two chunks of 2 iterations, 1 thread): the
JSON fields, and that the wall and CPU-time ratios describe training as costlier than its own
physics (training replays the same ``mujoco.rollout`` calls and adds the torch work)."""

from __future__ import annotations

import math

import torch
from bench_module import load_bench

torch.set_num_threads(1)


def test_measure_reports_wall_and_cpu_ratios():
    bench = load_bench("train")
    r = bench.measure(num_envs=8, pairs=2, steps=4, threads=1, seed=0, chunk=2)
    assert r["iterations"] == 4 and r["num_envs"] == 8 and r["threads"] == 1
    for key in ("ratio", "cpu_ratio", "train_cpu_s_per_iteration", "raw_cpu_s_per_iteration"):
        assert math.isfinite(r[key]) and r[key] > 0.0, key
    # Training does the raw block's physics and more: both ratios lie below 1.
    assert r["cpu_ratio"] < 1.0 and r["ratio"] < 1.0
    assert r["raw_cpu_s_per_iteration"] < r["train_cpu_s_per_iteration"]
    per_iteration = r["raw_cpu_s_per_iteration"] / r["train_cpu_s_per_iteration"]
    assert math.isclose(r["cpu_ratio"], per_iteration, rel_tol=0.02)
    # The raw physics replays exactly the training's steps: its rate is of the same order.
    assert r["raw_physics_steps_per_s"] > r["train_env_steps_per_s"]
