"""Benchmark of the G1 environment against raw MuJoCo stepping of the same scene and threads.

For each case (terrain ``flat`` = MuJoCo plane, ``stairs`` = heightfield stair tiles at random
levels) and env count, the environment (``rl.env.G1Env``, default config: randomisation on,
random actions, auto-resets) and the raw physics (``MujocoSim.physics_only_step``: the same
``mujoco.rollout`` call, same models, same threads, no torch work) are timed in interleaved
chunks of ``--chunk`` control steps, so load from other processes hits both alike. The raw
chunk replays the env chunk's rollout inputs exactly (each step's start state, after the env's
resets, and its control targets; the raw end state is discarded): holding one control constant
instead would make the raw physics cheaper than what the env asks of MuJoCo (the solver works
harder when the targets change every step).

    env_steps_per_s         env control steps x envs per second
    raw_physics_steps_per_s physics steps x envs per second of the raw stepping
    ratio                   env_steps_per_s / (raw_physics_steps_per_s / decimation); 1 = no
                            environment overhead (target >= 0.9)
    ratio_median_pair       median over the interleaved chunk pairs of the same ratio: robust to
                            bursts of load from other processes on a shared machine
    physics_fraction_in_env share of the env's wall time spent inside ``mujoco.rollout``
                            (diagnostic: 1 - this is the env's own Python/torch overhead)

The last stdout line is one JSON object: {"cases": {"flat": {"64": {...}, ...}, ...}, ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# ``python bench/env.py`` puts bench/ first on sys.path, where sibling benchmarks (e.g.
# bench/retarget.py) would shadow the packages of the same name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import torch

from rl.env import G1Env
from rl.env_config import parse_env_config

CASES = {
    "flat": {"terrain": {"kind": "plane"}},
    "stairs": {
        "terrain": {"kind": "grid", "num_levels": 10, "col_types": ["stairs_up", "stairs_down"]},
        "curriculum": {"max_init_level": 9},
    },
}


def measure(case: str, num_envs: int, seconds: float, chunk: int, threads: int, seed: int) -> dict:
    """Interleaved timing of env steps and raw physics steps for one case."""
    overrides = dict(CASES[case])
    overrides["sim"] = {"num_threads": threads}
    env = G1Env(parse_env_config(overrides), num_envs, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    env.reset()
    sim = env.sim

    inputs: list[tuple[np.ndarray, np.ndarray]] = []  # (state, ctrl) of each env step's rollout

    def env_chunk() -> None:
        inputs.clear()
        for _ in range(chunk):
            state = sim._state.copy()
            env.step(0.5 * torch.randn(num_envs, env.num_actions, generator=gen))
            inputs.append((state, sim._ctrl.copy()))

    def raw_chunk() -> None:
        # The env chunk's rollout calls again, on the very same inputs (states after the env's
        # resets, the policy's changing targets), with no environment work around them.
        saved, saved_ctrl = sim._state.copy(), sim._ctrl.copy()
        for state, ctrl in inputs:
            np.copyto(sim._state, state)
            np.copyto(sim._ctrl, ctrl)
            sim.physics_only_step()
        np.copyto(sim._state, saved)
        np.copyto(sim._ctrl, saved_ctrl)

    env_chunk()
    raw_chunk()  # warm-up
    t_env = t_raw = 0.0
    physics_in_env = 0.0
    n_chunks = 0
    pair_ratios = []
    while t_env + t_raw < seconds:
        r0 = sim.rollout_seconds
        t0 = time.perf_counter()
        env_chunk()
        t1 = time.perf_counter()
        physics_in_env += sim.rollout_seconds - r0
        raw_chunk()
        t2 = time.perf_counter()
        t_env += t1 - t0
        t_raw += t2 - t1
        n_chunks += 1
        pair_ratios.append((t2 - t1) / (t1 - t0))
    env.close()
    steps = n_chunks * chunk
    env_sps = steps * num_envs / t_env
    raw_sps = steps * num_envs * sim.decimation / t_raw
    return {
        "env_steps_per_s": round(env_sps, 1),
        "raw_physics_steps_per_s": round(raw_sps, 1),
        "ratio": round(env_sps / (raw_sps / sim.decimation), 4),
        "ratio_median_pair": round(float(np.median(pair_ratios)), 4),
        "physics_fraction_in_env": round(physics_in_env / t_env, 4),
        "threads": sim.num_threads,
        "decimation": sim.decimation,
        "seconds": round(t_env + t_raw, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seconds", type=float, default=6.0, help="per case and env count")
    parser.add_argument("--chunk", type=int, default=5, help="control steps per timed chunk")
    parser.add_argument("--threads", type=int, default=0, help="0 = all available CPUs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[str, dict[str, dict]] = {}
    for case in args.cases:
        for n in args.envs:
            r = measure(case, n, args.seconds, args.chunk, args.threads, args.seed)
            results.setdefault(case, {})[str(n)] = r
            print(f"{case:6s} {n:4d} envs: {r}", flush=True)
    ratios = [r["ratio"] for c in results.values() for r in c.values()]
    print(json.dumps({"cases": results, "min_ratio": min(ratios), "target_ratio": 0.9}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
