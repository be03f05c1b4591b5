"""Runner: logs, reproducibility, checkpoint round trip, resume after SIGKILL, policy.pt, ONNX, Gym adapter."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rl.amp import AMPConfig, StyleStage
from rl.gym_adapter import GymVecEnv, make_gym_vec_env
from rl.models import ModelConfig, build_model
from rl.ppo import PPOConfig
from rl.runner import (
    CheckpointError,
    MetricsLog,
    OnPolicyRunner,
    RunnerConfig,
    export_onnx,
    load_policy,
    read_metrics,
)
from rl.toy_envs import CircleTaskConfig, PointMassCircleEnv

REPO = Path(__file__).resolve().parents[2]
TINY = RunnerConfig(
    num_steps_per_env=8,
    max_iterations=3,
    save_interval=1,
    keep_checkpoints=2,
    model=ModelConfig(actor_hidden=(16,), critic_hidden=(16,)),
    ppo=PPOConfig(epochs=2, minibatches=2),
    amp=AMPConfig(hidden=(16, 16), batch_size=32, updates_per_iter=2, replay_size=256),
    progress=False,
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _runner(tmp: Path, cfg: RunnerConfig = TINY, seed: int = 0) -> OnPolicyRunner:
    env = PointMassCircleEnv(CircleTaskConfig(num_envs=8, episode_length=10), seed=seed)
    return OnPolicyRunner(env, cfg, "cpu", tmp, seed)


def test_learn_writes_metrics_tensorboard_and_checkpoints(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.learn()
    runner.close()
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    for key in (
        "reward/task",
        "reward/style",
        "reward/total",
        "reward/term/alive",
        "episode/return",
        "episode/length",
        "ppo/kl",
        "ppo/approx_kl",
        "ppo/clip_fraction",
        "ppo/entropy",
        "ppo/value_loss",
        "ppo/explained_variance",
        "ppo/grad_norm",
        "ppo/lr",
        "perf/env_steps_per_s",
        "amp/acc_ref",
        "amp/acc_policy",
        "amp/logit_ref",
        "amp/logit_policy",
        "amp/grad_penalty",
    ):
        assert rows[-1][key] != "", key
    assert any(
        p.name.startswith("events.out.tfevents") for p in (tmp_path / "tensorboard").iterdir()
    )
    assert [i for i, _ in runner.list_checkpoints()] == [2, 3]  # keep_checkpoints=2


def test_seeded_runs_are_identical(tmp_path: Path) -> None:
    stats = []
    for name in ("a", "b"):
        r = _runner(tmp_path / name, dataclasses.replace(TINY, tensorboard=False, max_iterations=2))
        r.learn()
        stats.append(
            [
                {k: v for k, v in row.items() if not k.startswith(("time/", "perf/", "wall"))}
                for row in read_metrics(tmp_path / name / "metrics.csv")
            ]
        )
    assert stats[0] == stats[1]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    cfg = dataclasses.replace(
        TINY,
        tensorboard=False,
        max_iterations=2,
        amp=dataclasses.replace(TINY.amp, save_replay=True),
    )
    a = _runner(tmp_path, cfg)
    a.learn()
    b = _runner(tmp_path, cfg, seed=0)
    assert b.resume() == 2 and b.iteration == 2
    for sa, sb in (
        (a.model.state_dict(), b.model.state_dict()),
        (a.amp.disc.state_dict(), b.amp.disc.state_dict()),
        (a.amp.normalizer.state_dict(), b.amp.normalizer.state_dict()),
    ):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert b.ppo.lr == a.ppo.lr and b.amp.replay.size == a.amp.replay.size
    assert torch.equal(a.gen.get_state(), b.gen.get_state())
    assert torch.equal(a.action_gen.get_state(), b.action_gen.get_state())
    other = _runner(tmp_path, dataclasses.replace(cfg, num_steps_per_env=4))
    with pytest.raises(Exception, match="different runner config"):
        other.resume()
    # A larger budget (and other logging settings) continues the run from the checkpoint.
    longer = _runner(tmp_path, dataclasses.replace(cfg, max_iterations=3, save_interval=5))
    assert longer.resume() == 2
    longer.learn()
    assert longer.iteration == 3


def test_checkpoint_from_before_a_new_option_resumes(tmp_path: Path) -> None:
    """A checkpoint written before a config field existed resumes when the field keeps its
    default, and is refused when the run sets it otherwise."""
    cfg = dataclasses.replace(TINY, tensorboard=False, max_iterations=1)
    _runner(tmp_path, cfg).learn()
    path = _runner(tmp_path, cfg).list_checkpoints()[-1][1]
    state = torch.load(path, weights_only=False)
    old = json.loads(state["config"])
    del old["amp"]["style_stages"], old["learn_threads"]
    state["config"] = json.dumps(old)
    torch.save(state, path)
    assert _runner(tmp_path, dataclasses.replace(cfg, max_iterations=2)).resume() == 1
    staged = dataclasses.replace(
        cfg, amp=dataclasses.replace(cfg.amp, style_stages=(StyleStage(5, 1.0),))
    )
    with pytest.raises(CheckpointError, match="different runner config"):
        _runner(tmp_path, staged).resume()


def test_policy_pt_and_onnx_agree_with_torch(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    runner = _runner(tmp_path, dataclasses.replace(TINY, tensorboard=False, max_iterations=1))
    runner.learn()  # the obs normaliser now holds non-trivial statistics
    runner.save_policy(tmp_path / "policy.pt")
    data = torch.load(tmp_path / "policy.pt", weights_only=True)
    assert data["metadata"]["num_obs"] == 4 and data["metadata"]["iteration"] == 1
    policy = load_policy(tmp_path / "policy.pt")
    obs = torch.randn(5, 4) * 2
    with torch.no_grad():
        expected = runner.model.actor(runner.model.obs_normalizer(obs))
        assert torch.allclose(policy(obs), expected, atol=1e-6)
    runner.export_onnx(tmp_path / "policy.onnx")
    sess = onnxruntime.InferenceSession(str(tmp_path / "policy.onnx"))
    (out,) = sess.run(None, {sess.get_inputs()[0].name: obs.numpy()})
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-5)


def test_recurrent_onnx_agrees_with_torch(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    model = build_model(
        4,
        5,
        2,
        ModelConfig(actor_hidden=(16,), critic_hidden=(16,), recurrent=True, rnn_hidden=8),
        torch.Generator().manual_seed(0),
    )
    model.update_normalizers(torch.randn(64, 4) * 3 + 1, torch.randn(64, 5))
    export_onnx(model, tmp_path / "rnn.onnx")
    module = model.export_module()
    sess = onnxruntime.InferenceSession(str(tmp_path / "rnn.onnx"))
    obs, h = torch.randn(3, 4), torch.randn(1, 3, 8)
    names = [i.name for i in sess.get_inputs()]
    a, h2 = sess.run(None, {names[0]: obs.numpy(), names[1]: h.numpy()})
    with torch.no_grad():
        ta, th = module(obs, h)
    np.testing.assert_allclose(a, ta.numpy(), atol=1e-5)
    np.testing.assert_allclose(h2, th.numpy(), atol=1e-5)


def test_metrics_log_trims_on_resume_and_extends_header(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    log = MetricsLog(path)
    for i in range(1, 5):
        log.append({"iteration": i, "x": float(i)})
    with open(path, "a") as f:
        f.write("5,5.0")  # half-written row of a killed process
    log = MetricsLog(path, keep_up_to=3)
    log.append({"iteration": 4, "x": 40.0, "y": 1.0})
    rows = read_metrics(path)
    assert [(r["iteration"], r["x"], r["y"]) for r in rows] == [
        ("1", "1.0", ""),
        ("2", "2.0", ""),
        ("3", "3.0", ""),
        ("4", "40.0", "1.0"),
    ]


def test_resume_after_sigkill(tmp_path: Path) -> None:
    """Kill the CLI after a checkpoint, rerun it: it resumes there and every metrics row is kept once."""
    log_dir = tmp_path / "run"
    overrides = {
        "max_iterations": 80,
        "save_interval": 5,
        "num_steps_per_env": 8,
        "tensorboard": False,
        "model": {"actor_hidden": [16], "critic_hidden": [16]},
        "ppo": {"epochs": 1, "minibatches": 1},
        "amp": {"hidden": [16], "batch_size": 16, "updates_per_iter": 1},
    }
    cmd = [
        sys.executable,
        "-m",
        "rl.runner",
        "--task",
        "circle",
        "--log-dir",
        str(log_dir),
        "--num-envs",
        "4",
        "--config",
        json.dumps(overrides),
        "--resume",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    ckpt = log_dir / "checkpoints" / "ckpt_000010.pt"
    deadline = time.monotonic() + 60
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    saved = sorted(int(p.stem.split("_")[1]) for p in (log_dir / "checkpoints").glob("ckpt_*.pt"))
    last = saved[-1]
    assert 10 <= last < 80
    done = subprocess.run(
        cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed at iteration {last}" in done.stderr
    rows = read_metrics(log_dir / "metrics.csv")
    assert [int(r["iteration"]) for r in rows] == list(range(1, 81))
    # Wall time accumulates across the interruption: it never restarts from zero.
    wall = [float(r["wall_s"]) for r in rows]
    assert all(b >= a for a, b in itertools.pairwise(wall))
    assert wall[last] >= wall[last - 1] > 0.0
    assert (log_dir / "checkpoints" / "ckpt_000080.pt").exists() and (
        log_dir / "policy.pt"
    ).exists()


def test_gym_adapter_scaling_final_obs_and_stats() -> None:
    env = GymVecEnv(make_gym_vec_env("Pendulum-v1", 2), seed=3, reward_scale=0.1)
    assert (env.num_obs, env.num_actions) == (3, 1)
    assert env.scale_actions(torch.tensor([[-5.0], [0.5]])).tolist() == [[-2.0], [1.0]]
    obs, cobs = env.reset()
    assert torch.equal(obs, cobs) and obs.dtype == torch.float32
    total = torch.zeros(2)
    for t in range(200):
        res = env.step(torch.zeros(2, 1))
        total += res.reward
        if t < 199:
            assert not res.truncated.any() and torch.equal(res.final_critic_obs, res.obs)
    assert res.truncated.all() and not res.terminated.any()
    assert not torch.allclose(res.final_critic_obs, res.obs)  # final obs of the old episode
    assert res.episode_stats["length"].tolist() == [200.0, 200.0]
    assert torch.allclose(res.episode_stats["return"] * 0.1, total, rtol=1e-4)
    env.close()


def test_update_runs_with_the_physics_threads_and_rollout_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update phase borrows the physics threads (idle then); the rollout keeps torch at 1."""
    seen: dict[str, list[int]] = {"update": [], "disc": []}
    env = PointMassCircleEnv(CircleTaskConfig(num_envs=8, episode_length=10), seed=0)
    env.physics_threads = 2  # type: ignore[attr-defined]  # as G1Env reports its sim threads
    runner = OnPolicyRunner(env, TINY, "cpu", tmp_path, 0)
    assert runner.learn_threads == 2
    ppo_update, amp_update = runner.ppo.update, runner.amp.update

    def spy(key, fn):
        def wrapped(*a, **k):
            seen[key].append(torch.get_num_threads())
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(runner.ppo, "update", spy("update", ppo_update))
    monkeypatch.setattr(runner.amp, "update", spy("disc", amp_update))
    runner.learn(2)
    runner.close()
    assert seen == {"update": [2, 2], "disc": [2, 2]}
    assert torch.get_num_threads() == 1  # restored for the next rollout
    explicit = OnPolicyRunner(env, dataclasses.replace(TINY, learn_threads=3), "cpu",
                              tmp_path / "b", 0)  # fmt: skip
    assert explicit.learn_threads == 3
    explicit.close()


def test_runner_tells_the_env_each_iteration(tmp_path: Path) -> None:
    """Envs with ``set_iteration`` (reward curricula) hear the iteration before each one runs,
    also after a resume."""
    seen: list[int] = []

    def make_env() -> PointMassCircleEnv:
        env = PointMassCircleEnv(CircleTaskConfig(num_envs=8, episode_length=10), seed=0)
        env.set_iteration = seen.append  # type: ignore[attr-defined]
        return env

    runner = OnPolicyRunner(make_env(), TINY, "cpu", tmp_path, 0)
    runner.learn(2)
    runner.close()
    resumed = OnPolicyRunner(make_env(), TINY, "cpu", tmp_path, 0)
    assert resumed.resume() == 2
    resumed.learn()
    resumed.close()
    assert seen == [0, 1, 2]


def test_runner_applies_the_style_stages(tmp_path: Path) -> None:
    """The style curriculum follows the runner's iteration, also after a resume."""
    amp = dataclasses.replace(
        TINY.amp, style_scale=0.5, style_stages=(StyleStage(2, 3.0), StyleStage(4, 0.0))
    )
    cfg = dataclasses.replace(TINY, max_iterations=5, amp=amp)
    runner = _runner(tmp_path, cfg)
    seen = []
    reward = runner.amp.reward
    runner.amp.reward = lambda x: (seen.append(runner.amp.style_scale), reward(x))[1]
    runner.learn(3)
    runner.close()
    resumed = _runner(tmp_path, cfg)
    assert resumed.resume() == 3
    reward = resumed.amp.reward
    resumed.amp.reward = lambda x: (seen.append(resumed.amp.style_scale), reward(x))[1]
    resumed.learn()
    resumed.close()
    assert seen == [0.5, 0.5, 3.0, 3.0, 0.0]
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [float(r["reward/style"]) == 0.0 for r in rows] == [False] * 4 + [True]


def _thread_spy(fn, names: list[str]):
    def wrapped(*a, **k):
        names.append(threading.current_thread().name)
        return fn(*a, **k)

    return wrapped


def test_background_discriminator_update_is_the_same_algorithm(tmp_path: Path) -> None:
    """``amp_overlap``: the discriminator updates beside the next rollout (background thread)
    and that rollout's style rewards wait for it, so the run is the in-place run exactly:
    same weights, same metrics rows (amp/* stats included, in their own iteration's row)."""
    runs = {}
    started: list[str] = []  # the thread each discriminator update of the overlap run ran in
    for overlap in (False, True):
        cfg = dataclasses.replace(
            TINY, max_iterations=5, save_interval=100, tensorboard=False, amp_overlap=overlap
        )
        r = _runner(tmp_path / str(overlap), cfg)
        if overlap:  # count the updates that really ran in the background
            r._amp_update = _thread_spy(r._amp_update, started)  # type: ignore[method-assign]
        r.learn(3)
        r.learn()  # a second learn() call continues the run
        r.close()
        rows = [
            {k: v for k, v in row.items() if not k.startswith(("time/", "perf/", "wall"))}
            for row in read_metrics(tmp_path / str(overlap) / "metrics.csv")
        ]
        runs[overlap] = (r, rows)
    (a, rows_a), (b, rows_b) = runs[False], runs[True]
    # Iterations 1, 2 and 4 ran beside the next rollout; 3 and 5 end a learn() call.
    assert started == ["amp-update", "amp-update", "MainThread", "amp-update", "MainThread"]
    assert [int(r["iteration"]) for r in rows_b] == [1, 2, 3, 4, 5]
    assert all(row["amp/acc_ref"] != "" for row in rows_b)
    assert rows_a == rows_b
    for sa, sb in (
        (a.model.state_dict(), b.model.state_dict()),
        (a.amp.disc.state_dict(), b.amp.disc.state_dict()),
        (a.amp.normalizer.state_dict(), b.amp.normalizer.state_dict()),
    ):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert torch.equal(a.gen.get_state(), b.gen.get_state())


def test_background_update_error_reaches_the_training_loop(tmp_path: Path) -> None:
    cfg = dataclasses.replace(TINY, max_iterations=4, save_interval=100, tensorboard=False)
    r = _runner(tmp_path, cfg)

    def broken(*a, **k):
        raise RuntimeError("discriminator exploded")

    r._amp_update = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="discriminator exploded"):
        r.learn()


@pytest.mark.parametrize("c", [0.0, 0.9])
def test_rollout_noise_correlates_within_episodes_only(tmp_path: Path, c: float) -> None:
    cfg = dataclasses.replace(
        TINY,
        amp=None,
        tensorboard=False,
        max_iterations=1,
        model=dataclasses.replace(TINY.model, noise_correlation=c),
    )
    env = PointMassCircleEnv(CircleTaskConfig(num_envs=512, episode_length=5), seed=0)
    runner = OnPolicyRunner(env, cfg, "cpu", tmp_path, 0)
    runner.learn()
    st = runner.storage
    z = (st.actions - st.mu) / st.sigma  # [T, N, A]: the noise each step acted with
    began = (st.terminated | st.truncated)[:-1]  # episode of step t + 1 began after step t
    lag1 = z[1:] * z[:-1]
    within, across = lag1[~began].mean().item(), lag1[began].mean().item()
    assert abs(z.var().item() - 1.0) < 0.05
    assert abs(within - c) < 0.05
    assert abs(across) < 0.05
    runner.close()
