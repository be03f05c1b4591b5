"""rl.evaluate: the sweep, the evaluation environment, rollouts.h5, metrics.json and the
per-terrain files, fall counting, determinism, videos (and their failure), the discriminator,
and the report built from the evaluator's outputs.

Inputs are tiny: an untrained policy (and an AMP checkpoint) saved by ``OnPolicyRunner`` on a
small G1Env, and a dataset built from two synthetic walking clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from clip_fixtures import synthetic_clip

from mocap.configs import ConfigError, canonical_json, from_dict
from retarget import dataset as D
from retarget.robot import load_robot
from rl import evaluate as E
from rl import gait as G
from rl.metrics import iter_motions, load_eval_metrics
from rl.terrain import Terrain, TerrainConfig
from rl.train import TrainConfig

torch.set_num_threads(1)

TERRAINS = ["flat", "stairs_up"]
EVAL = {
    "terrains": TERRAINS,
    "levels": [0, 2],
    "forward_speeds": [0.5],
    "yaw_rates": [0.5],
    "episode_length_s": 1.5,
    "num_envs": 3,
    "render": False,
}
# flat: 1 level x 2 commands; stairs_up: 2 levels x 2 commands.
N_EPISODES = {"flat": 2, "stairs_up": 4}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """dataset, train config JSON file, policy.pt (no discriminator), AMP checkpoint."""
    from rl.env import G1Env
    from rl.runner import OnPolicyRunner

    root = tmp_path_factory.mktemp("eval_inputs")
    robot = load_robot()
    clips = [synthetic_clip(root / "clips", f"walk_{v}", robot, v) for v in (0.5, 1.0)]
    D.build_dataset(clips, root / "motions.h5")
    train = from_dict(
        TrainConfig,
        {
            "num_envs": 2,
            "env": {"terrain": {"num_levels": 3, "tile_size": 4.0, "border_width": 1.0},
                    "sim": {"num_threads": 1}},
            "runner": {"model": {"actor_hidden": [16], "critic_hidden": [16]},
                       "amp": {"hidden": [16], "batch_size": 8}, "tensorboard": False},
        },
    )  # fmt: skip
    (root / "train.json").write_text(canonical_json(train))
    env = G1Env(train.env, 2, seed=0)
    runner = OnPolicyRunner(env, train.runner, log_dir=root / "run", seed=0)
    runner.save_policy(root / "policy.pt")
    ckpt = runner.save_checkpoint()
    env.close()
    return {"dataset": root / "motions.h5", "train": root / "train.json",
            "policy": root / "policy.pt", "ckpt": ckpt}  # fmt: skip


def run_main(inputs: dict[str, Path], out: Path, cfg: dict, *extra: str) -> int:
    return E.main([
        "--policy", str(inputs["policy"]), "--dataset", str(inputs["dataset"]),
        "--train-config", str(inputs["train"]), "--config", json.dumps(cfg),
        "--out-dir", str(out), "--experiment", "tiny", *extra,
    ])  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "tiny"
    assert run_main(inputs, out, EVAL, "--discriminator", str(inputs["ckpt"])) == 0
    return out


# ------------------------------------------------------------------------------ pure parts


def test_sweep_and_speeds() -> None:
    cfg = E.parse_eval_config({"terrains": ["flat", "slope_up"], "yaw_rates": [-0.5, 0.5],
                               "turn_speed": 0.5, "episodes_per_command": 2})  # fmt: skip
    cmds = E.command_sweep(cfg, [0.25, 0.5])
    assert cmds == [(0.25, 0, 0), (0.5, 0, 0), (0.5, 0, -0.5), (0.5, 0, 0.5)]
    specs = E.plan_episodes(cfg, [0.25, 0.5])
    # flat: level 0 only (terrain_levels default); slope_up: the 3 default levels.
    assert len(specs) == (1 + 3) * 4 * 2
    assert {s.level for s in specs if s.terrain == "flat"} == {0}
    assert {s.level for s in specs if s.terrain == "slope_up"} == {0, 4, 9}
    assert E.dataset_speeds([0.05, 1.3, 0.7], 3) == (0.1, 0.7, 1.3)
    with pytest.raises(E.EvalError):
        E.dataset_speeds([], 3)


def test_config_is_strict() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        E.parse_eval_config({"terrain": ["flat"]})
    with pytest.raises(ConfigError, match="unknown terrain"):
        E.parse_eval_config({"terrains": ["lava"]})
    with pytest.raises(ConfigError, match="robustness"):
        E.parse_eval_config({"robustness": {"friction": [1.0, 0.5]}})
    cfg = E.parse_eval_config({"levels": [0, 12]})
    with pytest.raises(E.EvalError, match="level 12"):
        E.eval_env_config(TrainConfig().env, cfg)


def test_eval_env_config_is_deterministic_and_fixed() -> None:
    train = TrainConfig().env
    env = E.eval_env_config(train, E.parse_eval_config({"terrains": ["flat", "stairs_down"]}))
    assert env.terrain.kind == "grid" and env.terrain.columns == ("flat", "stairs_down")
    assert env.terrain.num_levels == train.terrain.num_levels
    assert env.reference_init_prob == 0 and env.spawn_xy_noise == 0
    rnd = env.randomization
    assert not (rnd.physics_on or rnd.pushes_on or rnd.obs_noise_on)
    assert env.terminations.episode_length_s == 20.0
    pushed = E.eval_env_config(
        train, E.parse_eval_config({"robustness": {"pushes": True, "friction": [0.3, 0.6]}})
    ).randomization
    assert pushed.pushes_on and pushed.physics_on and not pushed.obs_noise_on
    assert pushed.friction_range == (0.3, 0.6) and pushed.added_mass_range == (0.0, 0.0)
    plane = E.eval_env_config(
        E.eval_env_config(train, E.parse_eval_config({"terrains": ["flat"]})),
        E.parse_eval_config({"terrains": ["flat"]}),
    )
    assert plane.terrain.kind == "grid"  # training used a grid: stays a grid
    from dataclasses import replace

    flat_plane = replace(train, terrain=replace(train.terrain, kind="plane"))
    assert (
        E.eval_env_config(flat_plane, E.parse_eval_config({"terrains": ["flat"]})).terrain.kind
        == "plane"
    )


def test_terrain_patch_matches_the_terrain() -> None:
    terrain = Terrain(TerrainConfig(num_levels=2, tile_size=4.0, border_width=1.0,
                                    col_types=("flat", "stairs_up")))  # fmt: skip
    patch = E.TerrainPatch(terrain, (1.0, 3.5), (4.5, 7.0))
    hs = patch.horizontal_scale
    i, j = np.meshgrid(np.arange(patch.heights.shape[0]), np.arange(patch.heights.shape[1]),
                       indexing="ij")  # fmt: skip
    xy = np.stack([patch.origin[0] + i * hs, patch.origin[1] + j * hs], -1).astype(np.float32)
    expected = terrain.height_at(torch.from_numpy(xy)).numpy()
    np.testing.assert_allclose(patch.heights, expected, atol=1e-5)
    assert patch.heights.min() < 0  # the stairs_up pit is inside the patch


# ------------------------------------------------------------------------------ outputs


def test_rollouts_layout(evaluated: Path) -> None:
    with h5py.File(evaluated / "rollouts.h5", "r") as f:
        assert f.attrs["fps"] == 50.0
        assert len(f.attrs["dof_names"]) == 29
        assert "left_ankle_roll_link" in [s.decode() if isinstance(s, bytes) else s
                                          for s in f.attrs["key_bodies"]]  # fmt: skip
        assert sorted(f["rollouts"]) == sorted(TERRAINS)
        for t in TERRAINS:
            assert sorted(f["rollouts"][t]) == [f"{k:03d}" for k in range(N_EPISODES[t])]
    motions = list(iter_motions(evaluated / "rollouts.h5"))
    assert len(motions) == sum(N_EPISODES.values())
    tile = 4.0
    for m in motions:
        t = m.attrs["terrain"]
        assert m.name.startswith(f"rollouts/{t}/")
        T = m.num_frames
        assert 1 <= T <= 75  # 1.5 s at 50 Hz
        assert m.attrs["survival_s"] == pytest.approx(T / 50.0)
        assert m.dof_pos.shape == (T, 29) and m.key_body_pos.shape == (T, 9, 3)
        assert m.actions.shape == (T, 29) and m.torques.shape == (T, 29)
        assert m.foot_contacts.dtype == bool and m.terminated.shape == (T,)
        assert m.fell == m.attrs["fell"] == bool(m.terminated[-1])
        assert not m.terminated[:-1].any()
        np.testing.assert_allclose(m.commands, np.tile(m.attrs["command"], (T, 1)), atol=1e-6)
        # Spawned on its tile: row = level, column = position of the terrain in the sweep.
        x, y = m.root_pos[0, :2]
        assert int(x // tile) == m.attrs["level"] and int(y // tile) == TERRAINS.index(t)
        assert (
            np.all(np.isfinite(m.root_pos))
            and np.abs(np.linalg.norm(m.root_quat, axis=1) - 1).max() < 1e-4
        )
    levels = {(m.attrs["terrain"], m.attrs["level"]) for m in motions}
    assert levels == {("flat", 0), ("stairs_up", 0), ("stairs_up", 2)}


def test_metrics_json_and_terrain_files(evaluated: Path) -> None:
    m = load_eval_metrics(evaluated / "metrics.json")
    assert m["experiment"] == "tiny" and m["rollouts"] == "rollouts.h5"
    assert list(m["terrains"]) == TERRAINS
    for t in TERRAINS:
        tm = m["terrains"][t]
        assert tm["task"]["episodes"] == N_EPISODES[t]
        assert len(tm["per_command"]) == N_EPISODES[t]
        assert tm["video"] is None
        per = json.loads((evaluated / f"{t}.json").read_text())
        assert per["terrain"] == t and per["task"] == tm["task"]
        assert per["per_command"] == tm["per_command"]
    rows = m["terrains"]["stairs_up"]["per_command"]
    assert {(tuple(r["command"]), r["level"]) for r in rows} == {
        ((0.5, 0.0, 0.0), 0),
        ((0.5, 0.0, 0.5), 0),
        ((0.5, 0.0, 0.0), 2),
        ((0.5, 0.0, 0.5), 2),
    }
    nat = m["naturalness"]
    assert m["naturalness_terrains"] == ["flat"]
    assert set(nat["wasserstein_joint_pos"]) == set(load_robot().dof_names)
    assert all(v >= 0 for v in nat["wasserstein_joint_vel"].values())
    assert len(nat["frechet_by_speed"]) == len(G.DEFAULT_SPEED_BANDS)
    assert nat["action_rate"] >= 0 and nat["reference_gait"]["n_strides"] > 0
    # The discriminator of the AMP checkpoint scored both sides.
    assert np.isfinite(nat["discriminator_policy"]) and np.isfinite(nat["discriminator_reference"])
    att = nat["discriminator_attribution"]
    assert {"joint velocities", "root orientation", "legs (joints)", "arms (joints)"} <= set(att)
    assert all(0.0 <= v <= 1.0 for v in att.values())  # LSGAN reward (<= 1) x style_scale
    assert m["video"]["status"] == "off"
    text = (evaluated / "resolved_config.yaml").read_text()
    assert "code_version" in text and "evaluate" in text


def test_falls_are_counted(evaluated: Path) -> None:
    m = load_eval_metrics(evaluated / "metrics.json")
    motions = list(iter_motions(evaluated / "rollouts.h5"))
    assert any(x.fell for x in motions), "the untrained policy is expected to fall"
    for t in TERRAINS:
        eps = [x for x in motions if x.attrs["terrain"] == t]
        falls = sum(x.fell for x in eps)
        duration = sum(x.duration_s for x in eps)
        task = m["terrains"][t]["task"]
        assert task["duration_s"] == pytest.approx(duration)
        assert task["falls_per_min"] == pytest.approx(60.0 * falls / duration)
        assert task["survival_time_s"] == pytest.approx(np.mean([x.duration_s for x in eps]))


def test_same_seed_same_metrics(inputs: dict[str, Path], evaluated: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert run_main(inputs, out, EVAL, "--discriminator", str(inputs["ckpt"])) == 0
    a = json.loads((evaluated / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    assert a == b
    for x, y in zip(iter_motions(evaluated / "rollouts.h5"), iter_motions(out / "rollouts.h5"),
                    strict=True):  # fmt: skip
        assert x.name == y.name
        np.testing.assert_array_equal(x.root_pos, y.root_pos)
        np.testing.assert_array_equal(x.actions, y.actions)


def test_report_builds_from_the_outputs(
    evaluated: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    from rl import report

    html_path = tmp_path / "report" / "index.html"
    rc = report.main(["--eval-dir", str(evaluated), "--train-dir", str(tmp_path / "no_train"),
                      "--dataset", str(inputs["dataset"]), "--out", str(html_path)])  # fmt: skip
    assert rc == 0
    text = html_path.read_text()
    for sid in ("summary", "task", "naturalness", "videos"):
        assert f'id="{sid}"' in text
    assert "stairs_up" in text
    assert "section failed" not in text
    assert "Fréchet" in text


# ------------------------------------------------------------------------------ videos


def test_video_failure_is_recorded(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No OpenGL: metrics are written anyway, the reason is in metrics.json; policy.pt has no
    discriminator, which is said too."""
    import rl.video

    monkeypatch.setattr(rl.video, "gl_backend", lambda: (None, "no headless OpenGL (test)"))
    cfg = {**EVAL, "terrains": ["flat"], "render": True, "episode_length_s": 0.5}
    out = tmp_path / "novideo"
    assert run_main(inputs, out, cfg) == 0
    m = load_eval_metrics(out / "metrics.json")
    assert m["video"]["status"] == "failed" and "test" in m["video"]["reason"]
    assert m["terrains"]["flat"]["video"] is None and not (out / "videos").exists()
    assert "discriminator_policy" not in m["naturalness"]
    assert any("no AMP discriminator" in n for n in m["notes"])


def test_video_is_rendered(inputs: dict[str, Path], tmp_path: Path) -> None:
    from rl.video import gl_backend

    backend, why = gl_backend()
    if backend is None:
        pytest.skip(why)
    from PIL import Image

    cfg = {**EVAL, "terrains": ["stairs_up"], "levels": [2], "yaw_rates": [], "render": True,
           "episode_length_s": 0.6, "video": {"seconds": 0.5, "fps": 10, "width": 96,
                                              "height": 72}}  # fmt: skip
    out = tmp_path / "video"
    assert run_main(inputs, out, cfg) == 0
    m = load_eval_metrics(out / "metrics.json")
    assert m["terrains"]["stairs_up"]["video"] == "videos/stairs_up.webp"
    assert m["video"]["status"] == "ok"
    with Image.open(out / "videos" / "stairs_up.webp") as im:
        assert im.size == (96, 72) and im.n_frames >= 2
        frame = np.asarray(im.convert("RGB"))
    assert frame.std() > 1.0  # not a blank image


def test_bad_inputs_fail_clearly(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    assert run_main(inputs, tmp_path / "x", {"bogus": 1}) == 2
    assert "unknown key" in capsys.readouterr().err
    assert run_main(inputs, tmp_path / "x", {**EVAL, "levels": [5]}) == 1
    assert "level 5" in capsys.readouterr().err
    rc = E.main(["--policy", str(tmp_path / "none.pt"), "--dataset", str(inputs["dataset"]),
                 "--train-config", str(inputs["train"]), "--out-dir", str(tmp_path / "y")])  # fmt: skip
    assert rc == 2 and "not found" in capsys.readouterr().err
