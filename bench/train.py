"""Benchmark of the whole training loop (acting, stepping, AMP, PPO) against raw MuJoCo stepping.

The G1 environment on a flat floor (``rl.train.TrainConfig`` defaults otherwise: randomisation on,
auto-resets) with a synthetic reference motion (a walking clip built in memory: the root walks
forward at 1 m/s, the legs swing; ``rl.amp_obs.InMemoryMotionSource``), so reference state
initialisation and the AMP discriminator (default ``rl.amp.AMPConfig``) are exercised. Training
iterations of ``rl.runner.OnPolicyRunner`` (chunks of ``learn(k)``: rollout, style rewards, PPO
update, discriminator update, metrics row; with ``runner.amp_overlap`` all but a chunk's last
discriminator update run beside the next rollout, as in a long run) alternate with blocks of
raw physics (the env's own ``MujocoSim.physics_only_step``'s work: the same ``mujoco.rollout``
call, models and threads, no torch work, replaying the iteration's own rollout inputs, i.e. each
step's start state and targets; its end state is discarded), so load from other processes hits
both alike.

    train_env_steps_per_s     env steps x envs per second of training (T x N per iteration)
    raw_physics_steps_per_s   physics steps x envs per second of the raw stepping
    ratio                     train_env_steps_per_s / (raw_physics_steps_per_s / decimation);
                              1 = training costs nothing beyond the physics (target >= 0.8)
    ratio_median_pair         median over the interleaved (iteration, raw block) pairs of the same
                              ratio: robust to bursts of load from other processes
    collect_fraction          share of the training wall time spent collecting the rollout
    physics_fraction          share of the training wall time spent inside ``mujoco.rollout``
    train_cpu_s_per_iteration CPU seconds (all threads of this process) per training iteration
    raw_cpu_s_per_iteration   CPU seconds of the raw physics per iteration's worth of steps
    cpu_ratio                 raw_cpu / train_cpu: the ratio training would reach if its work
                              overlapped perfectly on the same cores (an upper bound of ``ratio``
                              when the raw physics keeps every core busy; CPU time is far less
                              sensitive to other processes' load than wall time)

The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

# ``python bench/train.py`` puts bench/ first on sys.path, where sibling benchmarks (e.g.
# bench/retarget.py) would shadow the packages of the same name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import torch

from retarget.robot import RobotModel, forward_kinematics, load_robot
from rl.amp import AMPConfig
from rl.amp_obs import InMemoryMotionSource, amp_dof_indices, finite_difference_velocities
from rl.env import G1Env
from rl.env_config import EnvConfig, parse_env_config
from rl.runner import OnPolicyRunner, RunnerConfig, read_metrics
from rl.train import TrainConfig


def synthetic_walk(
    robot: RobotModel, frames: int = 200, fps: float = 50.0, speed: float = 1.0
) -> InMemoryMotionSource:
    """A walking-like reference motion [frames at ``fps``]: the root moves forward at ``speed``
    (m/s) and bobs 2 cm, legs and arms swing sinusoidally (0.25 rad) around the default pose."""
    t = np.arange(frames) / fps
    root_pos = np.stack(
        [speed * t, 0.0 * t, robot.default_root_height + 0.02 * np.sin(2 * np.pi * 1.8 * t)], -1
    )
    root_quat = np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1))
    phase = np.where(np.arange(robot.num_dofs) < 6, 0.0, np.pi)[None]
    dof_pos = robot.default_dof_pos + 0.25 * np.sin(2 * np.pi * 0.9 * t[:, None] + phase)
    key, _ = forward_kinematics(robot, root_pos, root_quat, dof_pos)

    def f(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32)

    lin, ang, dof_vel = finite_difference_velocities(f(root_pos), f(root_quat), f(dof_pos), fps)
    return InMemoryMotionSource(
        fps=fps,
        root_pos=f(root_pos),
        root_quat=f(root_quat),
        root_lin_vel=lin,
        root_ang_vel=ang,
        dof_pos=f(dof_pos),
        dof_vel=dof_vel,
        key_body_pos=f(key),
        amp_dof_index=amp_dof_indices(robot.dof_names, EnvConfig().amp_exclude_joints),
    )


def bench_config(
    num_envs: int, steps: int, threads: int, seed: int, amp_overlap: bool = True
) -> TrainConfig:
    """TrainConfig defaults with a flat floor, AMP on, no TensorBoard/progress/checkpoints."""
    env = parse_env_config({"terrain": {"kind": "plane"}, "sim": {"num_threads": threads}})
    runner = replace(
        RunnerConfig(),
        amp_overlap=amp_overlap,
        num_steps_per_env=steps,
        max_iterations=1_000_000,
        save_interval=1_000_000,
        amp=AMPConfig(),
        tensorboard=False,
        progress=False,
    )
    return TrainConfig(seed=seed, num_envs=num_envs, env=env, runner=runner)


def measure(
    num_envs: int,
    pairs: int,
    steps: int,
    threads: int,
    seed: int,
    chunk: int = 4,
    amp_overlap: bool = True,
) -> dict:
    """Interleaved timing of training chunks (``chunk`` iterations) and raw physics blocks
    replaying the same steps."""
    cfg = bench_config(num_envs, steps, threads, seed, amp_overlap)
    robot = load_robot(cfg.env.robot_mjcf)
    # As rl.train.build_env, with the in-memory reference instead of an HDF5 dataset.
    env = G1Env(cfg.env, cfg.num_envs, seed=cfg.seed, motion_dataset=synthetic_walk(robot))
    sim = env.sim
    with tempfile.TemporaryDirectory(prefix="bench_train_") as log_dir:
        runner = OnPolicyRunner(env, cfg.runner, "cpu", log_dir, cfg.seed)

        # Record the rollout inputs of the training iteration (each step's start state, after
        # the env's resets, and the policy's targets) so the raw block replays exactly them:
        # holding one target constant would make the raw physics cheaper than training's.
        inputs: list[tuple[np.ndarray, np.ndarray]] = []
        run_rollout = sim._run_rollout

        def recording_rollout() -> None:
            inputs.append((sim._state.copy(), sim._ctrl.copy()))
            run_rollout()

        sim._run_rollout = recording_rollout  # type: ignore[method-assign]

        def raw_block() -> None:
            saved, saved_ctrl = sim._state.copy(), sim._ctrl.copy()
            for state, ctrl in inputs:
                np.copyto(sim._state, state)
                np.copyto(sim._ctrl, ctrl)
                run_rollout()
                np.copyto(sim._state, sim._out_state[:, -1])
            np.copyto(sim._state, saved)
            np.copyto(sim._ctrl, saved_ctrl)
            inputs.clear()

        metrics = Path(log_dir) / "metrics.csv"
        runner.learn(1)  # warm-up: first allocations, normaliser start-up
        raw_block()
        t_train = t_raw = cpu_train = cpu_raw = physics = collect = 0.0
        pair_ratios = []
        for _ in range(pairs):
            r0 = sim.rollout_seconds
            c0, t0 = time.process_time(), time.perf_counter()
            runner.learn(chunk)
            c1, t1 = time.process_time(), time.perf_counter()
            physics += sim.rollout_seconds - r0
            collect += sum(float(r["time/collect_s"]) for r in read_metrics(metrics)[-chunk:])
            raw_block()
            c2, t2 = time.process_time(), time.perf_counter()
            t_train += t1 - t0
            t_raw += t2 - t1
            cpu_train += c1 - c0
            cpu_raw += c2 - c1
            pair_ratios.append((t2 - t1) / (t1 - t0))
        runner.close()
    env.close()
    env_steps = pairs * chunk * steps * num_envs
    train_sps = env_steps / t_train
    raw_sps = env_steps * sim.decimation / t_raw
    return {
        "train_env_steps_per_s": round(train_sps, 1),
        "raw_physics_steps_per_s": round(raw_sps, 1),
        "ratio": round(train_sps / (raw_sps / sim.decimation), 4),
        "ratio_median_pair": round(statistics.median(pair_ratios), 4),
        "collect_fraction": round(collect / t_train, 4),
        "physics_fraction": round(physics / t_train, 4),
        "train_cpu_s_per_iteration": round(cpu_train / (pairs * chunk), 4),
        "raw_cpu_s_per_iteration": round(cpu_raw / (pairs * chunk), 4),
        "cpu_ratio": round(cpu_raw / cpu_train, 4),
        "num_envs": num_envs,
        "steps_per_iteration": steps,
        "iterations": pairs * chunk,
        "chunk": chunk,
        "amp_overlap": amp_overlap,
        "threads": sim.num_threads,
        "decimation": sim.decimation,
        "seconds": round(t_train + t_raw, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=8, help="timed training iterations")
    parser.add_argument("--chunk", type=int, default=4, help="iterations per learn() call")
    parser.add_argument(
        "--no-amp-overlap",
        action="store_true",
        help="discriminator update after each PPO update (runner.amp_overlap off)",
    )
    parser.add_argument("--steps", type=int, default=24, help="rollout steps per env")
    parser.add_argument("--threads", type=int, default=0, help="0 = all available CPUs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    chunk = max(1, args.chunk)
    pairs = max(1, -(-args.iterations // chunk))
    r = measure(
        args.envs, pairs, args.steps, args.threads, args.seed, chunk, not args.no_amp_overlap
    )
    r["target_ratio"] = 0.8
    assert math.isfinite(r["ratio"])
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
