"""On-policy training loop: rollouts, PPO (+ AMP) updates, logs, checkpoints, resume, export.

Layout under ``log_dir``::

    metrics.csv           one row per iteration (header once; trimmed to the checkpoint on resume)
    tensorboard/          SummaryWriter scalars (same keys as metrics.csv)
    checkpoints/ckpt_000050.pt ...   every ``save_interval`` iterations and at the end (atomic)

A checkpoint holds the model (with its observation normalisers), optimiser and PPO state, the AMP
discriminator / normaliser / optimiser (and replay buffer if ``amp.save_replay``), the iteration
and the RNG states. ``resume()`` loads the latest one; training then continues from that
iteration to ``max_iterations``. The environment itself is not checkpointed: it is reset on resume.

CLI (used by the resume test and for quick checks on standard tasks)::

    python -m rl.runner --task pendulum|circle|circle_task_only --log-dir DIR [--config JSON]
                        [--seed S] [--resume]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import os
import re
import sys
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mocap import configs
from mocap.fileio import atomic_path
from rl.amp import AMP, AMPConfig
from rl.background import BackgroundJob
from rl.models import (
    ActorCritic,
    ModelConfig,
    build_model,
    correlated_noise,
    gaussian_log_prob,
)
from rl.ppo import PPO, PPOConfig
from rl.schedules import linear_std
from rl.storage import RolloutStorage
from rl.vec_env import VecEnv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerConfig:
    """Training loop settings."""

    num_steps_per_env: int = 24  # T: rollout length per env per iteration
    max_iterations: int = 1500  # total PPO iterations of the run
    save_interval: int = 50  # checkpoint every K iterations (and at the end)
    keep_checkpoints: int = 5  # keep the newest K checkpoints; 0 keeps all
    model: ModelConfig = field(default_factory=ModelConfig)  # actor-critic architecture
    ppo: PPOConfig = field(default_factory=PPOConfig)  # PPO hyper-parameters
    amp: AMPConfig | None = None  # AMP settings; null = task reward only
    tensorboard: bool = True  # write TensorBoard scalars
    progress: bool = True  # print a progress line per iteration on stderr
    # torch threads of the update phase, when the physics threads are idle (the rollout keeps
    # torch at 1 thread beside them); 0 = as many as the env's physics threads
    learn_threads: int = 0
    # Run each discriminator update in a background thread (lowest CPU priority) beside the next
    # rollout, whose style rewards are computed after it finishes: the same algorithm (the style
    # rewards of rollout k+1 come from the discriminator after update k either way), with the
    # update soaking up the CPU the rollout leaves idle. Checkpoint iterations and the last one
    # of a learn() call update in place.
    amp_overlap: bool = True


#: RunnerConfig fields that may change between a checkpoint and its resumption: the budget and
#: logging, not the learning (extending ``max_iterations`` continues a finished run).
RESUMABLE_FIELDS = (
    "max_iterations",
    "save_interval",
    "keep_checkpoints",
    "tensorboard",
    "progress",
    "learn_threads",
    "amp_overlap",
)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    prev = torch.get_num_threads()
    if n != prev:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != prev:
            torch.set_num_threads(prev)


def _resume_key(config_json: str) -> dict[str, Any]:
    """A checkpoint's runner config without the fields a resumption may change; fields it lacks
    (added to ``RunnerConfig`` after the checkpoint was written) take their defaults, so a code
    update that adds an option does not orphan the checkpoints of a run in progress."""
    import json

    data = json.loads(config_json)
    with contextlib.suppress(configs.ConfigError, TypeError, ValueError):
        data = json.loads(configs.canonical_json(configs.from_dict(RunnerConfig, data, "ckpt")))
    for name in RESUMABLE_FIELDS:
        data.pop(name, None)
    return data


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used (wrong config, corrupt file)."""


# ----------------------------------------------------------------------------------------------
# metrics.csv
# ----------------------------------------------------------------------------------------------
class MetricsLog:
    """Append-only CSV of per-iteration stats with a fixed header (extended if new keys appear).

    Rows are appended and flushed one by one. ``keep_up_to=k`` (resume) keeps the existing rows
    with ``iteration <= k`` and drops the rest (including a row half-written by a killed process);
    ``keep_up_to=None`` starts a new file.
    """

    def __init__(self, path: Path, keep_up_to: int | None = None) -> None:
        self.path = path
        self.header: list[str] = []
        rows: list[dict[str, str]] = []
        if keep_up_to is not None and path.is_file():
            self.header, rows = self._read(path)
            rows = [r for r in rows if int(float(r["iteration"])) <= keep_up_to]
        self._rewrite(rows)

    @staticmethod
    def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
        text = path.read_text()
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # drop a partial last line
        reader = csv.reader(io.StringIO(text))
        lines = list(reader)
        if not lines:
            return [], []
        header = lines[0]
        rows = [dict(zip(header, line)) for line in lines[1:] if len(line) == len(header)]
        return header, [r for r in rows if r.get("iteration", "").strip()]

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            if self.header:
                w = csv.DictWriter(f, fieldnames=self.header, restval="")
                w.writeheader()
                w.writerows(rows)

    def append(self, row: dict[str, Any]) -> None:
        new_keys = [k for k in row if k not in self.header]
        if new_keys:
            _, rows = self._read(self.path) if self.header else ([], [])
            self.header = self.header + new_keys
            self._rewrite(rows)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.header, restval="")
            w.writerow({k: _fmt(v) for k, v in row.items()})
            f.flush()
            os.fsync(f.fileno())


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a ``metrics.csv`` as dicts of strings."""
    return MetricsLog._read(Path(path))[1]


# ----------------------------------------------------------------------------------------------
# Runner
# ----------------------------------------------------------------------------------------------
class OnPolicyRunner:
    """Collects rollouts from ``env`` and trains an actor-critic with PPO (and AMP if configured)."""

    def __init__(
        self,
        env: VecEnv,
        cfg: RunnerConfig,
        device: str | torch.device = "cpu",
        log_dir: str | os.PathLike[str] = "runs/default",
        seed: int = 0,
    ) -> None:
        self.env, self.cfg, self.seed = env, cfg, seed
        self.device = torch.device(device)
        self.log_dir = Path(log_dir)
        self.ckpt_dir = self.log_dir / "checkpoints"
        self.gen = torch.Generator().manual_seed(seed)  # init, shuffling, AMP sampling (CPU)
        self.action_gen = torch.Generator(device=self.device).manual_seed(seed + 1)  # action noise
        # The update gets the cores the physics threads use during the rollout.
        self.learn_threads = cfg.learn_threads or max(1, int(getattr(env, "physics_threads", 1)))

        self.model: ActorCritic = build_model(
            env.num_obs, env.num_critic_obs, env.num_actions, cfg.model, self.gen
        ).to(self.device)
        self.ppo = PPO(self.model, cfg.ppo, self.gen)
        self.amp: AMP | None = None
        if cfg.amp is not None:
            if not hasattr(env, "sample_reference_amp_obs"):
                raise TypeError(
                    f"{type(env).__name__} is not an AmpVecEnv, but the config enables AMP"
                )
            self.amp = AMP(env.amp_obs_dim, cfg.amp, self.device, self.gen)
        T, N = cfg.num_steps_per_env, env.num_envs
        hidden = self.model.init_hidden(N, self.device)
        self.storage = RolloutStorage(
            T,
            N,
            env.num_obs,
            env.num_critic_obs,
            env.num_actions,
            None if hidden is None else tuple(hidden.shape),
            self.device,
        )
        self.amp_obs_buf = (
            torch.zeros(T, N, env.amp_obs_dim, device=self.device) if self.amp is not None else None
        )
        # The rollout being updated on in the background, while the next one fills amp_obs_buf.
        self._amp_obs_spare = (
            torch.zeros_like(self.amp_obs_buf)
            if self.amp_obs_buf is not None and cfg.amp_overlap
            else None
        )
        self._amp_job: BackgroundJob[dict[str, float]] | None = None
        self._pending_row: dict[str, Any] | None = None  # its row waits for the update's stats
        self.iteration = 0
        self.episode_history: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=100))
        self._obs: torch.Tensor | None = None
        self._critic_obs: torch.Tensor | None = None
        self._hidden = hidden
        self._noise: torch.Tensor | None = None  # [N, A] exploration noise of the last step
        self._noise_restart: torch.Tensor | None = None  # [N] bool: episode began, noise afresh
        self._metrics: MetricsLog | None = None
        self._writer = None
        self._resumed_from: int | None = None
        self._progress: tuple[int, float, int] = (0, time.perf_counter(), cfg.max_iterations)
        self.wall_s = 0.0  # training wall time (s) so far, across learn() calls and resumptions

    # --- rollout ------------------------------------------------------------------------------
    def _reset_env(self) -> None:
        obs, critic_obs = self.env.reset()
        self._obs, self._critic_obs = obs.to(self.device), critic_obs.to(self.device)
        self.model.update_normalizers(self._obs, self._critic_obs)
        self._hidden = self.model.init_hidden(self.env.num_envs, self.device)
        # Correlated exploration noise (model.noise_correlation): every env starts afresh.
        self._noise = torch.zeros(self.env.num_envs, self.env.num_actions, device=self.device)
        self._noise_restart = torch.ones(self.env.num_envs, dtype=torch.bool, device=self.device)

    def _rollout(self) -> dict[str, float]:
        """Fill the storage with T steps; returns reward-term means and episode stats."""
        model, storage, amp = self.model, self.storage, self.amp
        storage.clear()
        term_sums: dict[str, torch.Tensor] = defaultdict(
            lambda: torch.zeros((), device=self.device)
        )
        term_names: dict[str, tuple[str, ...]] = {}  # stacked reward-term sums -> their names
        with torch.inference_mode():
            for t in range(storage.num_steps):
                obs_n, cobs_n = model.normalize(self._obs, self._critic_obs)
                mu, sigma, value, new_hidden = model.act_step(obs_n, cobs_n, self._hidden)
                noise = torch.randn(mu.shape, generator=self.action_gen, device=self.device)
                if model.cfg.noise_correlation:
                    noise = self._noise = correlated_noise(
                        self._noise, noise, model.cfg.noise_correlation, self._noise_restart
                    )
                actions = mu + sigma * noise
                log_prob = gaussian_log_prob(actions, mu, sigma)

                res = self.env.step(actions)
                reward = res.reward
                term_sums["task"] += reward.mean()
                if amp is not None:
                    if res.amp_obs is None:
                        raise RuntimeError("AMP is enabled but env.step returned amp_obs=None")
                    self.amp_obs_buf[t] = res.amp_obs
                if res.reward_terms:  # one stacked mean instead of a mean and a sum per term
                    names = tuple(res.reward_terms)
                    means = torch.stack(list(res.reward_terms.values())).mean(dim=1)
                    key = f"terms:{','.join(names)}"
                    if key in term_sums:
                        term_sums[key] += means
                    else:
                        term_sums[key] = means.clone()
                        term_names[key] = names

                # Timeouts: bootstrap with V(state reached before the reset).
                timeout_values = torch.zeros_like(reward)
                if res.truncated.any():
                    final_v = model.value_step(
                        model.normalize_critic(res.final_critic_obs), new_hidden
                    )
                    timeout_values = torch.where(res.truncated, final_v, timeout_values)
                storage.add(
                    obs_n,
                    cobs_n,
                    actions,
                    log_prob,
                    mu,
                    sigma,
                    value,
                    reward,
                    res.terminated,
                    res.truncated,
                    timeout_values,
                    self._hidden,
                )
                for k, v in res.episode_stats.items():
                    self.episode_history[k].extend(v.detach().float().cpu().tolist())

                self._obs, self._critic_obs = res.obs, res.critic_obs
                model.update_normalizers(self._obs, self._critic_obs)
                done = res.terminated | res.truncated
                self._hidden = model.reset_hidden(new_hidden, done)
                self._noise_restart = done
            obs_n, cobs_n = model.normalize(self._obs, self._critic_obs)
            last_values = model.value_step(cobs_n, self._hidden)
            self._finish_amp_update()  # the discriminator the style rewards below must use
            if amp is not None:
                # Style rewards of the whole rollout in one batch (the discriminator and its
                # normaliser only change in the update), mixed into the stored task rewards.
                T, N, F = self.amp_obs_buf.shape
                style = amp.reward(self.amp_obs_buf.reshape(T * N, F)).reshape(T, N)
                term_sums["style"] = style.mean() * T
                storage.rewards.copy_(amp.mix(storage.rewards, style))
            term_sums["total"] = storage.rewards.mean() * storage.num_steps
        storage.compute_returns(last_values.clone(), self.cfg.ppo.gamma, self.cfg.ppo.lam)
        T = storage.num_steps
        sums: dict[str, Any] = {}
        for k, v in term_sums.items():
            if k in term_names:
                for name, x in zip(term_names[k], v.tolist()):
                    sums[f"term/{name}"] = sums.get(f"term/{name}", 0.0) + x
            else:
                sums[k] = v
        stats = {f"reward/{k}": float(v) / T for k, v in sums.items()}
        for k, q in self.episode_history.items():
            if q:
                stats[f"episode/{k}"] = sum(q) / len(q)
        return stats

    # --- one iteration ------------------------------------------------------------------------
    def _iteration(self, amp_in_background: bool = False) -> dict[str, float]:
        """Rollout and update. ``amp_in_background``: start the discriminator update in a
        background thread and return without its ``amp/*`` stats (``_finish_amp_update`` adds
        them to the pending row once it is done)."""
        cfg, it, total = self.cfg, self.iteration, self.cfg.max_iterations
        self.ppo.schedule_lr(it, total)
        if cfg.model.std_mode == "scheduled":
            self.model.set_std(linear_std(it, total, cfg.model.init_std, cfg.model.final_std))
        t0 = time.perf_counter()
        stats = self._rollout()
        t1 = time.perf_counter()
        style = stats["reward/style"] if self.amp is not None else 0.0
        with torch_threads(self.learn_threads):
            stats.update({f"ppo/{k}": v for k, v in self.ppo.update(self.storage).items()})
            if self.amp is not None and not amp_in_background:
                stats.update(self._amp_update(self.amp_obs_buf, style))
        if self.amp is not None and amp_in_background:
            assert self._amp_obs_spare is not None
            # The next rollout fills the other buffer while the update reads this one.
            buf, self.amp_obs_buf = self.amp_obs_buf, self._amp_obs_spare
            self._amp_obs_spare = buf
            self._amp_job = BackgroundJob(lambda: self._amp_update(buf, style), "amp-update")
        t2 = time.perf_counter()
        log_stats = getattr(self.env, "log_stats", None)
        if log_stats is not None:
            stats.update(log_stats())
        steps = self.storage.num_steps * self.storage.num_envs
        stats.update(
            {
                "time/collect_s": t1 - t0,
                "time/learn_s": t2 - t1,
                "perf/env_steps_per_s": steps / max(t2 - t0, 1e-9),
                "perf/collect_steps_per_s": steps / max(t1 - t0, 1e-9),
            }
        )
        return stats

    def _amp_update(self, amp_obs: torch.Tensor, style_reward: float) -> dict[str, float]:
        """The discriminator's update on a rollout's AMP observations ``[T, N, F]``."""
        assert self.amp is not None
        ref = self.env.sample_reference_amp_obs  # type: ignore[attr-defined]
        stats = self.amp.update(amp_obs.reshape(-1, amp_obs.shape[-1]), ref)
        warnings = self.amp.check_health(
            stats["amp/acc_ref"],
            stats["amp/acc_policy"],
            stats["amp/no_signal_policy"],
            style_reward,
        )
        stats["amp/warnings"] = float(len(warnings))
        return stats

    def _finish_amp_update(self) -> None:
        """Wait for a background discriminator update; emit the row that waited for it."""
        if self._amp_job is None:
            return
        job, self._amp_job = self._amp_job, None
        stats = job.result()
        row, self._pending_row = self._pending_row, None
        if row is not None:
            row.update(stats)
            self._emit(row)

    def learn(self, num_iterations: int | None = None) -> dict[str, float]:
        """Train until ``max_iterations`` (or ``num_iterations`` more); returns the last stats."""
        cfg = self.cfg
        end = (
            cfg.max_iterations
            if num_iterations is None
            else min(self.iteration + num_iterations, cfg.max_iterations)
        )
        if self._obs is None:
            self._reset_env()
        self._open_logs()
        start_it, start_time = self.iteration, time.perf_counter()
        wall_before = self.wall_s
        stats: dict[str, float] = {}
        set_iteration = getattr(self.env, "set_iteration", None)
        self._progress = (start_it, start_time, end)
        while self.iteration < end:
            if set_iteration is not None:
                set_iteration(self.iteration)  # e.g. the env's reward curriculum
            if self.amp is not None:
                self.amp.set_iteration(self.iteration)  # the style curriculum
            nxt = self.iteration + 1
            save = nxt % cfg.save_interval == 0 or nxt == cfg.max_iterations
            # A checkpoint (and the caller, after the last iteration) sees the updated discriminator.
            background = self.amp is not None and cfg.amp_overlap and not save and nxt < end
            stats = self._iteration(amp_in_background=background)
            self.iteration = nxt
            self.wall_s = wall_before + time.perf_counter() - start_time
            row = {
                "iteration": self.iteration,
                "env_steps": self.iteration * self.storage.num_steps * self.storage.num_envs,
                "wall_s": self.wall_s,
                **stats,
            }
            if background:
                self._pending_row = row  # emitted when its discriminator update is done
            else:
                self._emit(row)
            if save:
                self.save_checkpoint()
        if self._writer is not None:
            self._writer.flush()
        return stats

    def _emit(self, row: dict[str, Any]) -> None:
        """Log one iteration's row and print its progress line."""
        self._log(row)
        if not self.cfg.progress:
            return
        start_it, start_time, end = self._progress
        it = int(row["iteration"])
        elapsed = time.perf_counter() - start_time
        eta = elapsed / max(it - start_it, 1) * max(end - it, 0)
        ret = row.get("episode/return", float("nan"))
        print(
            f"[{it}/{self.cfg.max_iterations}] reward {row['reward/total']:.4f} "
            f"return {ret:.2f} kl {row['ppo/kl']:.4f} fps {row['perf/env_steps_per_s']:.0f} "
            f"ETA {_hms(eta)}",
            file=sys.stderr,
            flush=True,
        )

    # --- logging -----------------------------------------------------------------------------
    def _open_logs(self) -> None:
        if self._metrics is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._metrics = MetricsLog(self.log_dir / "metrics.csv", keep_up_to=self._resumed_from)
        if self.cfg.tensorboard and self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            purge = self.iteration + 1 if self._resumed_from is not None else None
            self._writer = SummaryWriter(str(self.log_dir / "tensorboard"), purge_step=purge)

    def _log(self, row: dict[str, float]) -> None:
        assert self._metrics is not None
        self._metrics.append(row)
        if self._writer is not None:
            for k, v in row.items():
                if k != "iteration" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._writer.add_scalar(k, v, int(row["iteration"]))

    def close(self) -> None:
        self._finish_amp_update()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- checkpoints ------------------------------------------------------------------------
    def checkpoint_path(self, iteration: int) -> Path:
        return self.ckpt_dir / f"ckpt_{iteration:06d}.pt"

    def list_checkpoints(self) -> list[tuple[int, Path]]:
        """``(iteration, path)`` of the checkpoints in ``log_dir/checkpoints``, oldest first."""
        if not self.ckpt_dir.is_dir():
            return []
        found = []
        for p in self.ckpt_dir.iterdir():
            m = re.fullmatch(r"ckpt_(\d+)\.pt", p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/ckpt_{iteration}.pt`` atomically; prune old ones."""
        self._finish_amp_update()
        state = {
            "iteration": self.iteration,
            "wall_s": self.wall_s,
            "config": configs.canonical_json(self.cfg),
            "model": self.model.state_dict(),
            "ppo": self.ppo.state_dict(),
            "amp": self.amp.state_dict() if self.amp is not None else None,
            "rng": {"gen": self.gen.get_state(), "action_gen": self.action_gen.get_state()},
            "episode_history": {k: list(v) for k, v in self.episode_history.items()},
        }
        path = self.checkpoint_path(self.iteration)
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        if self.cfg.keep_checkpoints > 0:
            for _, old in self.list_checkpoints()[: -self.cfg.keep_checkpoints]:
                old.unlink(missing_ok=True)
        return path

    def load_checkpoint(self, path: str | os.PathLike[str]) -> int:
        """Restore everything saved by ``save_checkpoint``; returns the checkpoint's iteration."""
        try:
            state = torch.load(path, map_location=self.device, weights_only=False)
        except Exception as e:
            raise CheckpointError(f"{path}: cannot read checkpoint: {e}") from e
        if _resume_key(state["config"]) != _resume_key(configs.canonical_json(self.cfg)):
            raise CheckpointError(
                f"{path}: checkpoint was written with a different runner config; "
                "start a new log_dir or restore the original config"
            )
        self.model.load_state_dict(state["model"])
        self.ppo.load_state_dict(state["ppo"])
        if self.amp is not None and state["amp"] is not None:
            self.amp.load_state_dict(state["amp"])
        self.gen.set_state(state["rng"]["gen"].cpu())
        self.action_gen.set_state(state["rng"]["action_gen"].cpu())
        self.episode_history.clear()
        for k, v in state["episode_history"].items():
            self.episode_history[k].extend(v)
        self.iteration = int(state["iteration"])
        self.wall_s = float(state.get("wall_s", 0.0))  # absent in checkpoints before it was kept
        return self.iteration

    def resume(self) -> int:
        """Load the latest checkpoint in ``log_dir/checkpoints`` if any; returns its iteration (0 if none).

        The metrics.csv rows after that iteration are dropped when logging restarts.
        """
        ckpts = self.list_checkpoints()
        if not ckpts:
            self._resumed_from = 0 if (self.log_dir / "metrics.csv").is_file() else None
            return 0
        it = self.load_checkpoint(ckpts[-1][1])
        self._resumed_from = it
        return it

    # --- export -------------------------------------------------------------------------------
    def save_policy(self, path: str | os.PathLike[str]) -> None:
        """``policy.pt``: ``{"metadata": plain dict, "state_dict": model tensors}`` (weights_only-safe)."""
        meta = self.model.metadata()
        meta.update(iteration=self.iteration, seed=self.seed, action_space="normalized [-1, 1]")
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        with atomic_path(path) as tmp:
            torch.save({"metadata": meta, "state_dict": state}, tmp)

    def export_onnx(self, path: str | os.PathLike[str]) -> None:
        """``policy.onnx``: raw actor obs ``obs [B, O]`` -> deterministic ``action [B, A]``.

        Recurrent policies take and return ``hidden [L, B, Hd]`` as a second input/output.
        """
        export_onnx(self.model, path)


def export_onnx(model: ActorCritic, path: str | os.PathLike[str]) -> None:
    """Export ``model.export_module()`` to ONNX with a dynamic batch dimension (atomic write)."""
    module = model.export_module()
    obs = torch.zeros(2, model.num_obs)
    if module.is_recurrent:
        hidden = torch.zeros(model.cfg.rnn_layers, 2, model.cfg.rnn_hidden)
        args: tuple[torch.Tensor, ...] = (obs, hidden)
        names_in, names_out = ["obs", "hidden"], ["action", "hidden_out"]
        dyn_axes = {
            "obs": {0: "batch"},
            "hidden": {1: "batch"},
            "action": {0: "batch"},
            "hidden_out": {1: "batch"},
        }
    else:
        args = (obs,)
        names_in, names_out = ["obs"], ["action"]
        dyn_axes = {"obs": {0: "batch"}, "action": {0: "batch"}}
    with atomic_path(path) as tmp:
        try:
            batch = torch.export.Dim("batch", min=1)
            shapes = (
                {"obs": {0: batch}, "hidden": {1: batch}}
                if module.is_recurrent
                else {"obs": {0: batch}}
            )
            torch.onnx.export(
                module,
                args,
                str(tmp),
                dynamo=True,
                input_names=names_in,
                output_names=names_out,
                dynamic_shapes=shapes,
                external_data=False,
            )
        except Exception as e:  # noqa: BLE001 - fall back to the TorchScript exporter
            log.warning(
                "%s: dynamo ONNX export failed (%s); using the TorchScript exporter", path, e
            )
            torch.onnx.export(
                module,
                args,
                str(tmp),
                dynamo=False,
                input_names=names_in,
                output_names=names_out,
                dynamic_axes=dyn_axes,
            )


def load_policy(path: str | os.PathLike[str]) -> torch.nn.Module:
    """Load ``policy.pt`` (``weights_only=True``) as a ``PolicyExport`` (raw obs -> action)."""
    from rl.models import model_from_metadata

    data = torch.load(path, map_location="cpu", weights_only=True)
    return model_from_metadata(data["metadata"], data["state_dict"]).export_module()


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ----------------------------------------------------------------------------------------------
# Presets and CLI (standard tasks; the G1 CLI is rl/train.py)
# ----------------------------------------------------------------------------------------------
def pendulum_config() -> RunnerConfig:
    """PPO settings that solve Gymnasium Pendulum-v1 in a couple of minutes on one core."""
    return RunnerConfig(
        num_steps_per_env=128,
        max_iterations=150,
        save_interval=25,
        model=ModelConfig(
            actor_hidden=(64, 64), critic_hidden=(64, 64), init_std=0.6, actor_out_gain=0.01
        ),
        ppo=PPOConfig(
            gamma=0.95,
            lam=0.95,
            clip_eps=0.2,
            value_clip=None,
            value_coef=0.5,
            entropy_coef=0.0,
            max_grad_norm=0.5,
            epochs=10,
            minibatches=8,
            lr=1e-3,
            lr_schedule="adaptive",
            desired_kl=0.01,
        ),
    )


def circle_config(amp: bool = True) -> RunnerConfig:
    """PPO (+ AMP) settings for the toy point-mass circle task (``rl.toy_envs``)."""
    return RunnerConfig(
        num_steps_per_env=32,
        max_iterations=200,
        save_interval=50,
        model=ModelConfig(actor_hidden=(64, 64), critic_hidden=(64, 64), init_std=0.5),
        ppo=PPOConfig(
            gamma=0.95,
            lam=0.95,
            epochs=5,
            minibatches=4,
            lr=1e-3,
            lr_schedule="adaptive",
            entropy_coef=0.0,
        ),
        amp=AMPConfig(
            hidden=(128, 128),
            batch_size=256,
            updates_per_iter=16,
            lr=1e-3,
            grad_penalty=0.5,  # the reference is a thin ring: a sharp discriminator is needed
            task_weight=0.5,
            style_weight=0.5,
        )
        if amp
        else None,
    )


PRESETS = {
    "pendulum": lambda: pendulum_config(),
    "circle": lambda: circle_config(amp=True),
    "circle_task_only": lambda: circle_config(amp=False),
}


def make_task_env(task: str, seed: int, num_envs: int | None = None, device: str = "cpu") -> VecEnv:
    """The environment of a preset task."""
    if task == "pendulum":
        from rl.gym_adapter import GymVecEnv, make_gym_vec_env

        return GymVecEnv(
            make_gym_vec_env("Pendulum-v1", num_envs or 16),
            seed=seed,
            reward_scale=0.1,
            device=device,
        )
    if task in ("circle", "circle_task_only"):
        from rl.toy_envs import CircleTaskConfig, PointMassCircleEnv

        return PointMassCircleEnv(
            CircleTaskConfig(num_envs=num_envs or 64), device=device, seed=seed
        )
    raise ValueError(f"unknown task {task!r}; expected one of {sorted(PRESETS)}")


def _merge(base: RunnerConfig, overrides: dict[str, Any]) -> RunnerConfig:
    """``base`` with (nested) JSON overrides applied, parsed strictly."""

    def deep(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: deep(a.get(k), v) if k in a else v for k, v in {**a, **b}.items()}
        return b

    merged = deep(configs.to_dict(base), overrides)
    return configs.from_dict(RunnerConfig, merged, "runner config")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl.runner", description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(PRESETS), required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--config", default="", help="JSON overrides of the preset RunnerConfig")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import json

    try:
        overrides = json.loads(args.config) if args.config else {}
        cfg = _merge(PRESETS[args.task](), overrides)
    except (json.JSONDecodeError, configs.ConfigError) as e:
        print(f"error: --config: {e}", file=sys.stderr)
        return 2
    env = make_task_env(args.task, args.seed, args.num_envs, args.device)
    runner = OnPolicyRunner(env, cfg, args.device, args.log_dir, args.seed)
    if args.resume:
        it = runner.resume()
        print(f"resumed at iteration {it}", file=sys.stderr)
    runner.learn()
    runner.save_policy(Path(args.log_dir) / "policy.pt")
    runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "CheckpointError",
    "MetricsLog",
    "OnPolicyRunner",
    "RunnerConfig",
    "export_onnx",
    "load_policy",
    "main",
    "read_metrics",
]
