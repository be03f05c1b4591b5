"""Benchmark: sample efficiency and naturalness of a training run (issue 8's targets), as JSON.

    python bench/learn.py --preset flat|terrain [--dataset results/dataset/motions.h5]
        [--workdir DIR] [--max-env-steps N] [--eval-every-steps N] [--check-episode-s S]
        [--skip-no-amp | --parallel] [--full-budget] [--seed S] [--config-override YAML ...]
        [--experiment NAME] [--render] [--target-rmse 0.15] [--target-survival 0.95]
        [--target-success 0.9]

What it does:

1. The dataset: ``--dataset`` if given, else ``<workdir>/results/dataset/motions.h5``, built when
   missing by ``snakemake results/dataset/motions.h5`` with the repository's Snakefile in the
   workdir (demo gaits unless the config's ``mocap.paths`` find clips there).
2. The config: ``config/config.yaml`` (+ ``config/terrain.yaml`` for ``terrain``) + each
   ``--config-override`` file, deep-merged; then the experiment's ``train`` / ``evaluate``
   overrides (``--experiment``, default ``default`` when the config has it). The budget is
   ``--max-env-steps`` rounded up to whole PPO iterations (default: the preset's
   ``runner.max_iterations``); it becomes ``runner.max_iterations`` so the LR / std schedules
   see the whole budget.
3. The AMP run: one ``rl.runner.OnPolicyRunner`` on ``rl.train.build_env``, trained in chunks
   (``learn(k)``, ``k`` iterations ~ ``--eval-every-steps``). After each chunk the policy is saved
   (``runs/amp/policies/it_NNNNNN.pt``) and checked with ``rl.evaluate.evaluate``
   (deterministic, the preset's forward speeds and yaw rates, episodes of ``--check-episode-s``,
   no video, no discriminator). When a check meets the target, the *final* evaluation (full
   ``evaluate.episode_length_s`` episodes, frozen discriminator) confirms it; the run stops
   there if it holds. Without target the final evaluation runs at the end of the budget.
   ``--full-budget`` trains on to the end of the budget after the target (the pipeline's final
   policy, with every reward and style stage; a note names the stages a stopped run left out).
4. The no-AMP baseline (unless ``--skip-no-amp``): the same config with ``runner.amp: null``,
   trained for exactly as many iterations as the AMP run, with the same checks; its final
   evaluation is scored by the AMP run's frozen discriminator. ``--parallel`` trains it at the
   same time as the AMP run, in a second process (half the CPUs each): both then train the
   whole budget (the AMP run's ``env_steps_to_target`` still comes from its checks), and the
   baseline is not scored by the AMP discriminator.

Targets (a checkpoint "meets the target"):

- ``flat``: on flat ground, planar velocity-tracking RMSE <= ``--target-rmse`` m/s (heading
  frame, all steps of all episodes, ``rl.metrics``) and survival >= ``--target-survival``
  (fraction of episodes that did not fall, i.e. lasted the full episode);
  ``--target-yaw-rmse`` adds a bound (rad/s) on the windowed yaw-rate RMSE: the reference walks
  swing their yaw rate by 0.1-0.3 rad/s within a stride, so the per-step RMSE cannot be small.
- ``terrain``: success rate >= ``--target-success`` on each of slope_up / slope_down at the
  first level with rise/run >= 0.3 and stairs_up / stairs_down at the first level with steps
  >= 0.15 m (levels from the training terrain config); the checks evaluate exactly those levels
  (plus flat level 0).

The last stdout line is one JSON object (also written to ``<workdir>/learn_<preset>.json``,
the curve to ``<workdir>/learn_<preset>_curve.csv``):

    env_steps_to_target  env steps of the AMP run when the target was first confirmed (null: not
                         within the budget)
    wall_s               training wall time of the AMP run up to then (or to the end), s;
                         evaluations excluded (``wall_s_total``: the whole benchmark)
    tracking_rmse        m/s, survival (fraction), success (fraction), yaw_rmse (rad/s): flat
                         ground, the AMP run's final evaluation; tracking_window_rmse and
                         yaw_window_rmse: the same errors averaged over 2 s windows first
                         (``evaluate.tracking_window_s``), so the swing within a stride cancels
    frechet_amp          Fréchet distance of AMP-feature windows to the dataset (flat episodes
                         of the final evaluation); frechet_no_amp the baseline's; frechet_ratio
    cadence_err          |mean cadence - mean reference cadence at the same stride speeds| /
                         reference, strides at 0.5-1.0 m/s; stride_err the same for stride length
    symmetry             left/right symmetry index, %: max of the step-time and step-length SI
                         (symmetry_step_time / symmetry_step_length)
    foot_slip            m: mean over strides of the largest horizontal stance-foot slide
    terrain_success      terrain preset: success rate per hard terrain at its target level
    curve                checkpoints: run, iteration, env_steps, train_wall_s, wall_s (since
                         that run's start, evaluations included), episode_s, full (full-length evaluation), tracking_rmse, yaw_rmse,
                         tracking_window_rmse, yaw_window_rmse,
                         survival, success, success_<terrain>..., target_met
    preset, seed, budget_env_steps, trained_env_steps, no_amp_env_steps_to_target, targets,
    workdir, dataset, notes (why a value is null, caveats)

Progress goes to stderr. Keep ``--max-env-steps`` small next to other jobs: this trains.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Run as a script, sys.path[0] is bench/, where bench/retarget.py would shadow the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
import torch
import yaml

from mocap.configs import ConfigError, from_dict, to_dict
from mocap.fileio import write_json, write_text
from rl import gait as G
from rl.metrics import Motion, h5_attrs, iter_motions, nan_to_none
from rl.terrain import TerrainConfig, slope_of, step_height_of

REPO = _HERE.parent
PRESET_FILES: dict[str, tuple[str, ...]] = {
    "flat": ("config/config.yaml",),
    "terrain": ("config/config.yaml", "config/terrain.yaml"),
}
HARD_TERRAINS = ("slope_up", "slope_down", "stairs_up", "stairs_down")
DATASET_REL = Path("results/dataset/motions.h5")


class BenchError(RuntimeError):
    """The benchmark cannot run (bad config, missing dataset, failed dataset build)."""


def log(msg: str) -> None:
    """A progress line on stderr."""
    print(f"bench/learn: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------
def deep_merge(base: Any, overrides: Any) -> Any:
    """``base`` with ``overrides`` merged in, recursively for mappings (overrides win)."""
    if not isinstance(base, Mapping) or not isinstance(overrides, Mapping):
        return overrides
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
    return merged


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping (an empty file is ``{}``); BenchError naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"{path}: not found") from None
    except yaml.YAMLError as e:
        raise BenchError(f"{path}: not valid YAML ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BenchError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def load_raw_config(
    preset: str, overrides: Sequence[Path] = (), experiment: str | None = None
) -> dict[str, Any]:
    """The preset's config files and ``overrides`` merged, with the experiment's ``train`` /
    ``evaluate`` overrides applied to the top-level sections (as the workflow does).

    ``experiment`` None takes ``default`` when the config defines it (else none).
    """
    raw: dict[str, Any] = {}
    for rel in PRESET_FILES[preset]:
        raw = deep_merge(raw, read_yaml(REPO / rel))
    for path in overrides:
        raw = deep_merge(raw, read_yaml(Path(path)))
    experiments = raw.get("experiments") or {}
    if experiment is None:
        experiment = "default" if "default" in experiments else None
    elif experiment not in experiments:
        raise BenchError(f"--experiment {experiment!r}: not in the config's experiments "
                         f"{sorted(experiments)}")  # fmt: skip
    if experiment is not None:
        exp = experiments[experiment] or {}
        unknown = sorted(set(exp) - {"train", "evaluate"})
        if unknown:
            raise BenchError(f"experiments.{experiment}: unknown section(s) {unknown}")
        for section in ("train", "evaluate"):
            raw[section] = deep_merge(raw.get(section) or {}, exp.get(section) or {})
    raw["_experiment"] = experiment
    return raw


def steps_per_iteration(train_cfg: Any) -> int:
    """Env steps per PPO iteration: ``num_envs * runner.num_steps_per_env``."""
    return int(train_cfg.num_envs) * int(train_cfg.runner.num_steps_per_env)


def budget_iterations(max_env_steps: int, steps_per_iter: int) -> int:
    """PPO iterations covering ``max_env_steps`` (rounded up, at least 1)."""
    if max_env_steps <= 0 or steps_per_iter <= 0:
        raise BenchError(f"--max-env-steps must be > 0, got {max_env_steps}")
    return max(1, math.ceil(max_env_steps / steps_per_iter))


def train_config(raw: Mapping[str, Any], seed: int | None, max_env_steps: int | None) -> Any:
    """``rl.train.TrainConfig`` of the merged config with the seed and budget applied."""
    from rl.train import TrainConfig

    section = dict(raw.get("train") or {})
    if seed is not None:
        section["seed"] = int(seed)
    try:
        cfg = from_dict(TrainConfig, section, "train")
    except ConfigError as e:
        raise BenchError(str(e)) from None
    if max_env_steps is not None:
        iters = budget_iterations(max_env_steps, steps_per_iteration(cfg))
        cfg = replace(cfg, runner=replace(cfg.runner, max_iterations=iters))
    return cfg


def target_levels(
    terrain: TerrainConfig, slope: float = 0.3, step_m: float = 0.15
) -> dict[str, int]:
    """Lowest level whose slopes reach rise/run ``slope`` (slope_up/down) and whose stair steps
    reach ``step_m`` m (stairs_up/down); the top level where none does."""
    top = terrain.num_levels - 1
    tol = 1e-9

    def first(value: Callable[[TerrainConfig, int], float], need: float) -> int:
        return next((r for r in range(top + 1) if value(terrain, r) >= need - tol), top)

    ls, lh = first(slope_of, slope), first(step_height_of, step_m)
    return {"slope_up": ls, "slope_down": ls, "stairs_up": lh, "stairs_down": lh}


def eval_configs(
    raw: Mapping[str, Any],
    preset: str,
    train_cfg: Any,
    check_episode_s: float | None,
    render: bool,
) -> tuple[Any, Any, tuple[str, ...], list[str]]:
    """(check config, final config, hard terrains, notes) from the ``evaluate`` section.

    Both evaluate the preset's forward speeds and yaw rates on flat ground (+ the hard terrains
    at their target levels for ``terrain``). The final one keeps ``episode_length_s`` and scores
    with the frozen discriminator; the check one uses ``check_episode_s`` (None: flat 5 s,
    terrain the full length, since success needs half a tile of walking), no discriminator, no
    video.
    """
    from rl.evaluate import parse_eval_config

    notes: list[str] = []
    try:
        base = parse_eval_config(raw.get("evaluate") or {})
    except ConfigError as e:
        raise BenchError(str(e)) from None
    hard: tuple[str, ...] = ()
    levels: dict[str, tuple[int, ...]] = {"flat": (0,)}
    if preset == "terrain":
        terrain = train_cfg.env.terrain
        if terrain.kind != "grid":
            raise BenchError("preset terrain: train.env.terrain.kind must be grid")
        hard = tuple(t for t in HARD_TERRAINS if t in terrain.columns)
        missing = sorted(set(HARD_TERRAINS) - set(hard))
        if missing:
            notes.append(f"terrain target: the training terrain has no {missing} columns")
        lv = target_levels(terrain)
        levels.update({t: (lv[t],) for t in hard})
        for t in hard:
            kind = "rise/run" if t.startswith("slope") else "step m"
            val = (slope_of if t.startswith("slope") else step_height_of)(terrain, lv[t])
            notes.append(f"{t}: target level {lv[t]} ({kind} {val:.3f})")
    final = replace(base, terrains=("flat", *hard), terrain_levels=levels, render=render,
                    discriminator=True)  # fmt: skip
    if check_episode_s is None:
        check_episode_s = 5.0 if preset == "flat" else final.episode_length_s
    check = replace(
        final, episode_length_s=min(float(check_episode_s), final.episode_length_s),
        render=False, discriminator=False,
    )  # fmt: skip
    return check, final, hard, notes


# ----------------------------------------------------------------------------------------------
# Dataset
# ----------------------------------------------------------------------------------------------
def build_dataset_with_snakemake(
    workdir: Path, preset: str, overrides: Sequence[Path], cores: str = "all"
) -> Path:
    """Run ``snakemake results/dataset/motions.h5`` with the repository's Snakefile in
    ``workdir`` (preset and override files as ``--configfile``); returns the dataset path."""
    configfiles = [str(REPO / rel) for rel in PRESET_FILES[preset][1:]]
    configfiles += [str(Path(p).resolve()) for p in overrides]
    cmd = [sys.executable, "-m", "snakemake", str(DATASET_REL), "--snakefile",
           str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", cores]  # fmt: skip
    if configfiles:
        cmd += ["--configfile", *configfiles]
    log(f"building the dataset: {' '.join(cmd)}")
    workdir.mkdir(parents=True, exist_ok=True)
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for line in p.stdout:
            print(f"  snakemake: {line.rstrip()}", file=sys.stderr, flush=True)
            tail = (tail + [line.rstrip()])[-20:]
        rc = p.wait()
    out = workdir / DATASET_REL
    if rc != 0 or not out.is_file():
        raise BenchError(f"snakemake could not build {out} (exit code {rc}):\n" + "\n".join(tail))
    return out


# ----------------------------------------------------------------------------------------------
# Evaluation summaries
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Targets:
    """What counts as reaching the target (see the module docstring)."""

    rmse: float = 0.15
    """m/s, planar velocity-tracking RMSE on flat ground (flat preset)."""
    survival: float = 0.95
    """Fraction of flat episodes without a fall (flat preset)."""
    success: float = 0.9
    """Success rate on each hard terrain at its target level (terrain preset)."""
    yaw_rmse: float | None = None
    """rad/s, optional bound on the windowed yaw-rate RMSE (flat preset)."""


def _num(x: Any) -> float:
    """A metrics value as float (None -> NaN)."""
    return math.nan if x is None else float(x)


def survival_fraction(motions: Sequence[Motion]) -> float:
    """Fraction of episodes that did not fall (lasted the full episode); NaN without episodes."""
    if not motions:
        return math.nan
    return float(np.mean([not m.fell for m in motions]))


def summarize_eval(
    metrics: Mapping[str, Any], rollouts: Path, hard: Sequence[str]
) -> dict[str, Any]:
    """Flat-ground tracking RMSE (m/s), yaw RMSE (rad/s), survival and success fractions, and the
    success rate of each hard terrain, from ``metrics.json`` and ``rollouts.h5``."""
    terrains = metrics.get("terrains", {})
    flat = terrains.get("flat", {}).get("task", {})
    flat_eps = list(iter_motions(rollouts, "/rollouts/flat")) if "flat" in terrains else []
    out: dict[str, Any] = {
        "tracking_rmse": _num(flat.get("lin_vel_rmse_mps")),
        "yaw_rmse": _num(flat.get("yaw_rate_rmse_radps")),
        "tracking_window_rmse": _num(flat.get("lin_vel_window_rmse_mps")),
        "yaw_window_rmse": _num(flat.get("yaw_rate_window_rmse_radps")),
        "survival": survival_fraction(flat_eps),
        "success": _num(flat.get("success_rate")),
    }
    for t in hard:
        out[f"success_{t}"] = _num(terrains.get(t, {}).get("task", {}).get("success_rate"))
    return out


def target_met(summary: Mapping[str, Any], preset: str, targets: Targets,
               hard: Sequence[str]) -> bool:  # fmt: skip
    """Whether an evaluation summary meets the preset's target (NaN never does)."""
    if preset == "terrain":
        vals = [summary.get(f"success_{t}", math.nan) for t in hard]
        return bool(vals) and all(v >= targets.success for v in vals)  # NaN compares False
    ok = summary["tracking_rmse"] <= targets.rmse and summary["survival"] >= targets.survival
    if targets.yaw_rmse is not None:
        ok = ok and summary["yaw_window_rmse"] <= targets.yaw_rmse
    return bool(ok)


def gait_errors(
    policy: Sequence[Motion],
    reference: Sequence[Motion],
    key_bodies: Sequence[str],
    ref_key_bodies: Sequence[str],
    foot_bodies: Sequence[str] = G.FOOT_BODIES,
    speed_range: tuple[float, float] = (0.5, 1.0),
) -> tuple[float, float, int, list[str]]:
    """Cadence and stride-length relative errors of the policy against the reference at the same
    speed: over the policy strides with speed in ``speed_range`` (m/s), ``|mean(policy) -
    mean(reference at each stride's speed)| / mean(reference)``, the reference read from the
    clips' strides binned by speed (``rl.gait.reference_curve`` / ``interp_reference``; strides
    without a reference at their speed are left out).

    Returns (cadence error, stride-length error, policy strides used, notes); NaN with a note
    when undefined.
    """
    notes: list[str] = []
    try:
        pol = G.Strides.concatenate(
            [G.analyze_motion(m, key_bodies, foot_bodies).strides for m in policy]
        )
        ref = G.Strides.concatenate(
            [G.analyze_motion(m, ref_key_bodies, foot_bodies).strides for m in reference]
        )
    except G.GaitError as e:
        return math.nan, math.nan, 0, [f"cadence/stride error: gait analysis failed: {e}"]
    lo, hi = speed_range
    sel = pol.select((pol.speed >= lo) & (pol.speed <= hi))
    if len(sel) == 0:
        msg = f"cadence/stride error: no policy stride at {lo}-{hi} m/s ({len(pol)} strides)"
        return math.nan, math.nan, 0, [msg]
    errs = []
    used = 0
    for name, pol_v, ref_v in (("cadence", sel.cadence, ref.cadence),
                               ("stride length", sel.stride_length, ref.stride_length)):  # fmt: skip
        r = G.interp_reference(G.reference_curve(ref.speed, ref_v), sel.speed)
        ok = np.isfinite(r) & np.isfinite(pol_v)
        if not ok.any():
            notes.append(f"{name} error: the reference clips have no strides at the policy's "
                         f"speeds {lo}-{hi} m/s")  # fmt: skip
            errs.append(math.nan)
            continue
        used = max(used, int(ok.sum()))
        ref_mean = float(r[ok].mean())
        errs.append(abs(float(pol_v[ok].mean()) - ref_mean) / ref_mean)
    return errs[0], errs[1], used, notes


def final_naturalness(
    metrics: Mapping[str, Any], rollouts: Path, dataset: Path
) -> tuple[dict[str, float], list[str]]:
    """Fréchet distance, cadence / stride errors, symmetry (%) and foot slip (m) of a final
    evaluation (flat episodes) against the dataset clips (those not tagged stairs)."""
    nat = metrics.get("naturalness") or {}
    gait = nat.get("gait") or {}
    out = {
        "frechet": _num(nat.get("frechet")),
        "symmetry_step_time": _num(gait.get("step_time_si")),
        "symmetry_step_length": _num(gait.get("step_length_si")),
        "foot_slip": _num(gait.get("slip_m")),
    }
    si = [v for v in (out["symmetry_step_time"], out["symmetry_step_length"]) if math.isfinite(v)]
    out["symmetry"] = max(si) if si else math.nan
    notes = []
    if not si:
        notes.append("symmetry: no left/right steps to compare in the final evaluation")
    if not math.isfinite(out["foot_slip"]):
        notes.append("foot_slip: no complete stride in the final evaluation")
    import h5py

    with h5py.File(rollouts, "r") as f:
        ra = h5_attrs(f)
    with h5py.File(dataset, "r") as f:
        da = h5_attrs(f)
    flat = list(iter_motions(rollouts, "/rollouts/flat")) if "flat" in metrics["terrains"] else []
    # Level-ground reference for level-ground episodes: stair clips step at their own cadence.
    clips = [c for c in iter_motions(dataset, "/clips") if "stairs" not in str(c.attrs.get("tags"))]
    cad, stride, n, gnotes = gait_errors(
        flat, clips, ra.get("key_bodies") or (), da.get("key_bodies") or (),
        tuple(ra.get("foot_bodies") or G.FOOT_BODIES),
    )  # fmt: skip
    out.update(cadence_err=cad, stride_err=stride, gait_strides=float(n))
    return out, notes + gnotes


# ----------------------------------------------------------------------------------------------
# One training run with checkpoints
# ----------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """What one training run measured."""

    name: str
    iterations: int = 0
    env_steps: int = 0
    train_wall_s: float = 0.0
    env_steps_to_target: int | None = None
    wall_s_to_target: float | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    final_metrics: dict[str, Any] = field(default_factory=dict)
    final_summary: dict[str, Any] = field(default_factory=dict)
    final_dir: Path | None = None
    discriminator: Path | None = None


@dataclass(frozen=True)
class RunSpec:
    """Inputs shared by the runs of one benchmark."""

    preset: str
    dataset: Path
    check_cfg: Any
    final_cfg: Any
    hard: tuple[str, ...]
    targets: Targets
    eval_every_iters: int
    device: str = "cpu"
    mjcf: str | None = None


def _eval_progress(name: str) -> Callable[[str], None]:
    return lambda msg: log(f"{name}: eval: {msg}")


def train_run(
    name: str,
    train_cfg: Any,
    spec: RunSpec,
    run_dir: Path,
    *,
    stop_at_target: bool,
    max_iterations: int | None = None,
    discriminator_for_eval: Path | None = None,
) -> RunResult:
    """Train ``train_cfg`` in chunks of ``spec.eval_every_iters`` iterations, check after each,
    confirm a met target with the final evaluation, and finish with the final evaluation.

    ``max_iterations`` stops earlier than the budget (the schedules still see the budget).
    """
    from rl.evaluate import evaluate
    from rl.runner import OnPolicyRunner
    from rl.train import build_env, save_discriminator

    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    write_text(run_dir / "train_config.json", json.dumps(to_dict(train_cfg), indent=2) + "\n")
    res = RunResult(name)
    budget = train_cfg.runner.max_iterations
    stop_it = budget if max_iterations is None else min(budget, max_iterations)
    t_start = time.perf_counter()
    torch.manual_seed(train_cfg.seed)  # as rl.train.train does
    env = build_env(train_cfg, spec.dataset, spec.device, spec.mjcf)
    runner = OnPolicyRunner(env, train_cfg.runner, spec.device, run_dir / "state", train_cfg.seed)
    steps_per_it = steps_per_iteration(train_cfg)

    def evaluate_now(final: bool) -> tuple[dict[str, Any], dict[str, Any], Path]:
        it = runner.iteration
        policy = run_dir / "policies" / f"it_{it:06d}.pt"
        runner.save_policy(policy)
        disc = discriminator_for_eval
        if final:
            own = run_dir / "discriminator.pt"
            save_discriminator(runner, train_cfg, own)
            disc = disc or (own if runner.amp is not None else None)
            res.discriminator = own if runner.amp is not None else None
        out = run_dir / ("final" if final else "checks") / f"it_{it:06d}"
        cfg = spec.final_cfg if final else spec.check_cfg
        metrics = evaluate(
            policy, spec.dataset, train_cfg, cfg, out, mjcf=spec.mjcf, discriminator_path=disc,
            experiment=f"{name}_it{it}", device=spec.device, progress=_eval_progress(name),
        )  # fmt: skip
        summary = summarize_eval(metrics, out / "rollouts.h5", spec.hard)
        met = target_met(summary, spec.preset, spec.targets, spec.hard)
        point = {
            "run": name, "iteration": it, "env_steps": it * steps_per_it,
            "train_wall_s": res.train_wall_s, "wall_s": time.perf_counter() - t_start,
            "episode_s": float(cfg.episode_length_s), "full": final, **summary,
            "target_met": met,
        }  # fmt: skip
        res.curve.append(point)
        log(f"{name}: {'final' if final else 'check'} at {point['env_steps']} env steps: "
            + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()) + f", target {met}")  # fmt: skip
        return metrics, point, out

    try:
        while runner.iteration < stop_it:
            k = min(spec.eval_every_iters, stop_it - runner.iteration)
            t0 = time.perf_counter()
            runner.learn(k)
            res.train_wall_s += time.perf_counter() - t0
            last_chunk = runner.iteration >= stop_it
            if not last_chunk:
                _, point, _ = evaluate_now(final=False)
                if not point["target_met"] or res.env_steps_to_target is not None:
                    continue
            metrics, point, out = evaluate_now(final=True)
            if point["target_met"] and res.env_steps_to_target is None:
                res.env_steps_to_target = point["env_steps"]
                res.wall_s_to_target = res.train_wall_s
            res.final_metrics, res.final_summary, res.final_dir = metrics, point, out
            if res.env_steps_to_target is not None and stop_at_target:
                log(f"{name}: target reached at {res.env_steps_to_target} env steps, stopping")
                break
        if not res.final_metrics or res.final_summary["iteration"] != runner.iteration:
            metrics, point, out = evaluate_now(final=True)
            res.final_metrics, res.final_summary, res.final_dir = metrics, point, out
    finally:
        runner.close()
        if hasattr(env, "close"):
            env.close()
    res.iterations = runner.iteration
    res.env_steps = runner.iteration * steps_per_it
    return res


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------
def curve_csv(curve: Sequence[Mapping[str, Any]]) -> str:
    """The curve as CSV text (one row per checkpoint, columns in first-seen order)."""
    cols: list[str] = []
    for row in curve:
        cols += [k for k in row if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, restval="", lineterminator="\n")
    w.writeheader()
    for row in curve:
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def assemble(
    args: argparse.Namespace,
    train_cfg: Any,
    amp: RunResult,
    base: RunResult | None,
    dataset: Path,
    workdir: Path,
    notes: list[str],
    t_total: float,
    *,
    experiment: str | None,
    hard: Sequence[str],
) -> dict[str, Any]:
    """The benchmark's JSON object (NaN -> null, with a note for each null headline value)."""
    nat, nat_notes = final_naturalness(amp.final_metrics, amp.final_dir / "rollouts.h5", dataset)
    notes = notes + [f"final AMP evaluation: {n}" for n in nat_notes]
    notes += [
        f"final AMP evaluation (rl.evaluate): {n}" for n in amp.final_metrics.get("notes", [])
    ]
    frechet_no_amp = math.nan
    if base is not None:
        frechet_no_amp = _num((base.final_metrics.get("naturalness") or {}).get("frechet"))
        notes += [f"final no-AMP evaluation (rl.evaluate): {n}"
                  for n in base.final_metrics.get("notes", [])]  # fmt: skip
        if not math.isfinite(frechet_no_amp):
            notes.append("frechet_no_amp: not computable (see the no-AMP evaluation notes)")
    else:
        notes.append("frechet_no_amp: the no-AMP baseline was skipped (--skip-no-amp)")
    if train_cfg.runner.amp is None:
        notes.append("the config trains without AMP (runner.amp: null): the 'AMP' run has no "
                     "style reward")  # fmt: skip
    s = amp.final_summary
    fa = nat["frechet"]
    if not math.isfinite(fa):
        notes.append("frechet_amp: not computable (see the AMP evaluation notes)")
    if amp.env_steps_to_target is None:
        notes.append(f"env_steps_to_target: the target was not confirmed within "
                     f"{amp.env_steps} env steps")  # fmt: skip
    for key in ("tracking_rmse", "survival", "cadence_err", "stride_err"):
        val = s.get(key, nat.get(key))
        if val is None or not math.isfinite(val):
            notes.append(f"{key}: not computable from the final evaluation")
    result: dict[str, Any] = {
        "preset": args.preset,
        "seed": int(train_cfg.seed),
        "experiment": experiment,
        "budget_env_steps": train_cfg.runner.max_iterations * steps_per_iteration(train_cfg),
        "trained_env_steps": amp.env_steps,
        "env_steps_to_target": amp.env_steps_to_target,
        "wall_s": amp.wall_s_to_target if amp.wall_s_to_target is not None else amp.train_wall_s,
        "wall_s_total": t_total,
        "tracking_rmse": s["tracking_rmse"],
        "yaw_rmse": s["yaw_rmse"],
        "tracking_window_rmse": s["tracking_window_rmse"],
        "yaw_window_rmse": s["yaw_window_rmse"],
        "survival": s["survival"],
        "success": s["success"],
        "terrain_success": {t: s.get(f"success_{t}") for t in hard} or None,
        "frechet_amp": fa,
        "frechet_no_amp": frechet_no_amp,
        "frechet_ratio": frechet_no_amp / fa if fa > 0 else math.nan,
        "cadence_err": nat["cadence_err"],
        "stride_err": nat["stride_err"],
        "symmetry": nat["symmetry"],
        "symmetry_step_time": nat["symmetry_step_time"],
        "symmetry_step_length": nat["symmetry_step_length"],
        "foot_slip": nat["foot_slip"],
        "no_amp_env_steps_to_target": base.env_steps_to_target if base else None,
        "targets": {"rmse_mps": args.target_rmse, "survival": args.target_survival,
                    "success": args.target_success, "yaw_rmse_radps": args.target_yaw_rmse},
        "curve": amp.curve + (base.curve if base else []),
        "workdir": str(workdir),
        "dataset": str(dataset),
        "notes": notes,
    }  # fmt: skip
    return nan_to_none(result)


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/learn.py", description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=sorted(PRESET_FILES), required=True)
    p.add_argument("--dataset", type=Path, default=None,
                   help="motions.h5 (default: <workdir>/results/dataset/motions.h5, built if "
                        "missing)")  # fmt: skip
    p.add_argument("--workdir", type=Path, default=None,
                   help="outputs (default: results/bench/learn_<preset>)")  # fmt: skip
    p.add_argument(
        "--max-env-steps",
        type=int,
        default=None,
        help="training budget (default: the preset's runner.max_iterations)",
    )
    p.add_argument(
        "--eval-every-steps",
        type=int,
        default=500_000,
        help="env steps between checks (rounded to whole iterations)",
    )
    p.add_argument(
        "--check-episode-s",
        type=float,
        default=None,
        help="episode length of the checks (default: flat 5 s, terrain full)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--no-amp-baseline",
        dest="no_amp_baseline",
        action="store_true",
        default=True,
        help="also train the runner.amp: null baseline (default)",
    )
    g.add_argument(
        "--skip-no-amp",
        dest="no_amp_baseline",
        action="store_false",
        help="skip the no-AMP baseline",
    )
    p.add_argument(
        "--parallel",
        action="store_true",
        help="train the no-AMP baseline at the same time, in a second process (each run gets "
        "half the CPUs for its physics unless the config sets sim.num_threads); both runs then "
        "train the whole budget",
    )
    p.add_argument(
        "--full-budget",
        action="store_true",
        help="train the AMP run over the whole budget even after it meets the target (the "
        "naturalness of the final policy, as the pipeline trains it; env_steps_to_target still "
        "comes from the first confirmed check); the baseline trains as many iterations",
    )
    p.add_argument("--seed", type=int, default=None, help="train.seed (default: the config's)")
    p.add_argument(
        "--config-override",
        type=Path,
        action="append",
        default=[],
        help="YAML merged over the preset (repeatable; also given to snakemake)",
    )
    p.add_argument(
        "--experiment",
        default=None,
        help="apply experiments.<NAME> overrides (default: 'default' if present)",
    )
    p.add_argument("--render", action="store_true", help="render videos in the final evaluation")
    p.add_argument("--target-rmse", type=float, default=0.15, help="m/s (flat)")
    p.add_argument("--target-survival", type=float, default=0.95, help="fraction (flat)")
    p.add_argument(
        "--target-yaw-rmse", type=float, default=None, help="rad/s, windowed (flat; optional)"
    )
    p.add_argument("--target-success", type=float, default=0.9, help="fraction (terrain)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--snakemake-cores", default="all")
    return p.parse_args(argv)


def no_amp_config(train_cfg: Any) -> Any:
    """The same training config with the AMP style reward switched off."""
    return replace(train_cfg, runner=replace(train_cfg.runner, amp=None))


def _split_threads(train_cfg: Any, raw: Mapping[str, Any]) -> Any:
    """Half of this process's CPUs for the physics of each of two parallel runs, unless the
    config sets ``train.env.sim.num_threads``."""
    sim = ((raw.get("train") or {}).get("env") or {}).get("sim") or {}
    if sim.get("num_threads"):
        return train_cfg
    half = max(1, len(os.sched_getaffinity(0)) // 2)
    env = replace(train_cfg.env, sim=replace(train_cfg.env.sim, num_threads=half))
    return replace(train_cfg, env=env)


def _train_run_in_child(name: str, train_cfg: Any, spec: RunSpec, run_dir: Path) -> RunResult:
    torch.set_num_threads(1)
    return train_run(name, train_cfg, spec, run_dir, stop_at_target=False)


def parallel_runs(
    train_cfg: Any, spec: RunSpec, workdir: Path, raw: Mapping[str, Any]
) -> tuple[RunResult, RunResult]:
    """The AMP run here and the no-AMP run in a spawned process, at the same time, each over
    the whole budget (``--parallel``)."""
    cfg = _split_threads(train_cfg, raw)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        child = pool.submit(_train_run_in_child, "no_amp", no_amp_config(cfg), spec,
                            workdir / "runs" / "no_amp")  # fmt: skip
        amp = train_run("amp", cfg, spec, workdir / "runs" / "amp", stop_at_target=False)
        base = child.result()
    return amp, base


def unreached_stage_notes(train_cfg: Any, iterations: int) -> list[str]:
    """Notes for the reward and style stages that a run stopped at ``iterations`` never trained:
    those the budget does not reach, and those it left out by stopping at the target."""
    budget = train_cfg.runner.max_iterations
    starts = {s.start_iteration for s in train_cfg.env.reward_stages}
    if train_cfg.runner.amp is not None:
        starts |= {s.start_iteration for s in train_cfg.runner.amp.style_stages}
    notes = []
    stopped = sorted(s for s in starts if iterations <= s < budget)
    if stopped:
        notes.append(
            f"the AMP run stopped at iteration {iterations}, before the config's stages from "
            f"iteration(s) {', '.join(map(str, stopped))}: the naturalness figures are those of "
            f"the policy at the target, not of the pipeline's final policy (--full-budget "
            f"trains them)"
        )
    beyond = sorted(s for s in starts if s >= budget)
    if beyond:
        notes.append(
            f"the budget ({budget} iterations) ends before the config's stages from "
            f"iteration(s) {', '.join(map(str, beyond))}"
        )
    return notes


def _resolve_mjcf(raw: Mapping[str, Any], workdir: Path) -> str | None:
    mjcf = (raw.get("robot") or {}).get("mjcf")
    if not mjcf or Path(mjcf).is_absolute():
        return mjcf
    for base in (workdir, Path.cwd()):
        if (base / mjcf).is_file():
            return str(base / mjcf)
    raise BenchError(f"robot.mjcf: {mjcf} found neither in {workdir} nor in {Path.cwd()}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark (see the module docstring); returns the JSON object."""
    t_total = time.perf_counter()
    workdir = (args.workdir or Path("results/bench") / f"learn_{args.preset}").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    raw = load_raw_config(args.preset, args.config_override, args.experiment)
    experiment = raw.pop("_experiment")
    train_cfg = train_config(raw, args.seed, args.max_env_steps)
    check_cfg, final_cfg, hard, notes = eval_configs(
        raw, args.preset, train_cfg, args.check_episode_s, args.render
    )
    mjcf = _resolve_mjcf(raw, workdir)

    if args.dataset is not None:
        dataset = args.dataset.resolve()
        if not dataset.is_file():
            raise BenchError(f"--dataset {args.dataset}: not found (omit --dataset to build one "
                             f"in the workdir with snakemake)")  # fmt: skip
    else:
        dataset = workdir / DATASET_REL
        if not dataset.is_file():
            build_dataset_with_snakemake(workdir, args.preset, args.config_override,
                                         args.snakemake_cores)  # fmt: skip
    spi = steps_per_iteration(train_cfg)
    every = max(1, round(args.eval_every_steps / spi))
    targets = Targets(args.target_rmse, args.target_survival, args.target_success,
                      args.target_yaw_rmse)  # fmt: skip
    spec = RunSpec(args.preset, dataset, check_cfg, final_cfg, hard, targets, every,
                   args.device, mjcf)  # fmt: skip
    log(f"preset {args.preset}: {train_cfg.num_envs} envs x {train_cfg.runner.num_steps_per_env} "
        f"steps = {spi} env steps/iteration, budget {train_cfg.runner.max_iterations} iterations "
        f"({train_cfg.runner.max_iterations * spi} env steps), check every {every} iterations "
        f"({every * spi} steps, {check_cfg.episode_length_s:g} s episodes), final "
        f"{final_cfg.episode_length_s:g} s episodes")  # fmt: skip
    write_text(workdir / f"learn_{args.preset}_config.yaml", yaml.safe_dump(
        {"train": to_dict(train_cfg), "evaluate_check": to_dict(check_cfg),
         "evaluate_final": to_dict(final_cfg), "dataset": str(dataset), "mjcf": mjcf,
         "experiment": experiment}, sort_keys=False))  # fmt: skip

    base = None
    baseline = args.no_amp_baseline and train_cfg.runner.amp is not None
    if args.no_amp_baseline and not baseline:
        notes.append("no-AMP baseline skipped: the config already trains without AMP")
    if baseline and args.parallel:
        amp, base = parallel_runs(train_cfg, spec, workdir, raw)
        notes.append("--parallel: the AMP and no-AMP runs trained at the same time for the whole "
                     "budget; the baseline's final evaluation has no AMP discriminator")  # fmt: skip
    else:
        amp = train_run("amp", train_cfg, spec, workdir / "runs" / "amp",
                        stop_at_target=not args.full_budget)  # fmt: skip
        notes += unreached_stage_notes(train_cfg, amp.iterations)
        if baseline:
            base = train_run(
                "no_amp", no_amp_config(train_cfg), spec, workdir / "runs" / "no_amp",
                stop_at_target=False, max_iterations=amp.iterations,
                discriminator_for_eval=amp.discriminator,
            )  # fmt: skip
    result = assemble(args, train_cfg, amp, base, dataset, workdir, notes,
                      time.perf_counter() - t_total, experiment=experiment, hard=hard)  # fmt: skip
    write_json(workdir / f"learn_{args.preset}.json", result)
    write_text(workdir / f"learn_{args.preset}_curve.csv", curve_csv(result["curve"]))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(max(1, args.torch_threads))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 2
    try:
        result = run(args)
    except (BenchError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
