"""Train a G1 walking policy with PPO (+ AMP): ``python -m rl.train``.

Outputs in ``--out-dir`` (declared by the ``train_policy`` rule): ``policy.pt`` (state dict and
plain metadata, loads with ``torch.load(weights_only=True)``), ``policy.onnx`` (actor and
observation normaliser), ``discriminator.pt`` (the trained AMP discriminator and its input
normaliser, for the frozen-discriminator naturalness score; a note when trained without AMP),
``metrics.csv`` (one row per iteration), ``curriculum.csv`` (stage and
levels per iteration), ``tensorboard/`` and ``resolved_config.yaml`` (config, seed, code version).

Checkpoints, the live log and TensorBoard events go to ``--state-dir`` first, which Snakemake does
not declare, so an interrupted job resumes from its last checkpoint when rerun (with the same
iteration count and no lost log rows); the finished logs are then copied into ``--out-dir``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from mocap.configs import ConfigError, from_dict, to_dict
from mocap.fileio import atomic_path, write_text
from rl.env_config import EnvConfig
from rl.runner import OnPolicyRunner, RunnerConfig, read_metrics

log = logging.getLogger("rl.train")


@dataclass(frozen=True)
class TrainConfig:
    """The ``train:`` config section (merged with an experiment's ``train:`` overrides)."""

    seed: int = 0
    """Seed of everything random (env, policy init, sampling); CPU runs are reproducible."""
    num_envs: int = 64
    """Parallel environments."""
    env: EnvConfig = field(default_factory=EnvConfig)
    """Environment: physics, terrain, curriculum, commands, rewards, randomisation."""
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    """PPO / AMP / model / iterations / checkpointing; ``runner.amp: null`` trains without AMP."""


def code_version(repo: Path | None = None) -> str:
    """``git describe`` of the code, or ``unknown`` outside a checkout."""
    repo = repo or Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_curriculum_log(metrics_csv: Path, out: Path) -> None:
    """``curriculum.csv``: the iteration, env steps and the curriculum columns of ``metrics.csv``
    (stage, terrain levels: ``episode/stage``, ``episode/*terrain_level*``, ``curriculum/*``)."""
    rows = read_metrics(metrics_csv)
    keys = sorted({
        k for row in rows for k in row
        if k.startswith("curriculum") or k.endswith("/stage") or "terrain_level" in k
    })  # fmt: skip
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["iteration", "env_steps", *keys])
        for row in rows:
            writer.writerow([row.get("iteration", ""), row.get("env_steps", ""),
                             *(row.get(k, "") for k in keys)])


def save_discriminator(runner: OnPolicyRunner, cfg: TrainConfig, path: Path) -> None:
    """The AMP discriminator + normaliser (``{"amp": {...}, "amp_config": {...}}``), atomically."""
    if runner.amp is None:
        payload: dict[str, Any] = {"amp": None, "note": "trained without AMP (runner.amp: null)"}
    else:
        state = runner.amp.state_dict()
        payload = {
            "amp": {"disc": state["disc"], "normalizer": state["normalizer"]},
            "amp_config": to_dict(cfg.runner.amp),
        }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def build_env(cfg: TrainConfig, dataset: Path | None, device: str, mjcf: str | None):
    """The G1 environment with the dataset as reference motion (RSI + AMP)."""
    from dataclasses import replace

    from rl.env import G1Env
    from rl.reference import load_reference

    env_cfg = replace(cfg.env, robot_mjcf=mjcf) if mjcf else cfg.env
    reference = None
    if dataset is not None:
        from retarget.robot import load_robot
        from rl import gait_clock
        from rl.amp_obs import amp_dof_indices

        names = load_robot(env_cfg.robot_mjcf).dof_names
        amp_dofs = amp_dof_indices(names, env_cfg.amp_exclude_joints)
        reference = load_reference(dataset, names, device, amp_dof_index=amp_dofs)
        env_cfg = gait_clock.resolve(env_cfg, str(dataset), names)
    return G1Env(env_cfg, cfg.num_envs, device=device, seed=cfg.seed, motion_dataset=reference)


def train(
    cfg: TrainConfig,
    out_dir: Path,
    state_dir: Path,
    dataset: Path | None,
    device: str = "cpu",
    mjcf: str | None = None,
) -> dict[str, Any]:
    """Train (resuming from ``state_dir`` if it holds a checkpoint) and write the outputs."""
    torch.manual_seed(cfg.seed)
    env = build_env(cfg, dataset, device, mjcf)
    if cfg.runner.amp is not None and dataset is None:
        raise ConfigError("train.runner.amp is set but no --dataset was given")
    runner = OnPolicyRunner(env, cfg.runner, device, state_dir, cfg.seed)
    if runner.list_checkpoints():
        start = runner.resume()
        log.info("resumed from checkpoint at iteration %d", start)
    try:
        stats = runner.learn()
        out_dir.mkdir(parents=True, exist_ok=True)
        runner.save_policy(out_dir / "policy.pt")
        runner.export_onnx(out_dir / "policy.onnx")
        save_discriminator(runner, cfg, out_dir / "discriminator.pt")
    finally:
        runner.close()
        if hasattr(env, "close"):
            env.close()
    with atomic_path(out_dir / "metrics.csv") as tmp:
        shutil.copyfile(state_dir / "metrics.csv", tmp)
    write_curriculum_log(out_dir / "metrics.csv", out_dir / "curriculum.csv")
    tb_src, tb_dst = state_dir / "tensorboard", out_dir / "tensorboard"
    if tb_dst.exists():
        shutil.rmtree(tb_dst)
    if tb_src.is_dir():
        shutil.copytree(tb_src, tb_dst)
    else:
        tb_dst.mkdir(parents=True)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl.train", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=None, help="results/dataset/motions.h5")
    parser.add_argument("--out-dir", type=Path, required=True, help="results/train/{exp}")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="checkpoints and live logs (default: <out-dir>/../../train_state/{exp})")
    parser.add_argument("--config", default="{}", help="TrainConfig as JSON")
    parser.add_argument("--mjcf", default=None, help="robot MJCF (default: the built-in G1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = from_dict(TrainConfig, json.loads(args.config), "train")
    except (ConfigError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 2
    state_dir = args.state_dir or args.out_dir.parent.parent / "train_state" / args.out_dir.name
    resolved = {"train": to_dict(cfg), "seed": cfg.seed, "code_version": code_version(),
                "dataset": str(args.dataset) if args.dataset else None, "mjcf": args.mjcf,
                "device": args.device}  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_text(args.out_dir / "resolved_config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    stats = train(cfg, args.out_dir, state_dir, args.dataset, args.device, args.mjcf)
    log.info("training done: %s", {k: stats[k] for k in list(stats)[:8]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
