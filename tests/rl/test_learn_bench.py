"""bench/learn.py: config merging, budget and target levels, target checks, the gait errors
against the reference at matched speed, and ``main`` end to end on a tiny budget (2 PPO
iterations of 8 envs x 8 steps, 1 s evaluation episodes of one command) against a dataset built
from two synthetic walking clips: the JSON object, the curve, the files, early stopping.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from bench_module import load_bench
from clip_fixtures import synthetic_clip

from retarget import dataset as D
from retarget.g1_params import KEY_BODIES
from retarget.robot import load_robot
from rl import gait as G
from rl.metrics import Motion
from rl.terrain import TerrainConfig

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]


L = load_bench("learn")

OVERRIDE = {
    "train": {
        "num_envs": 8,
        "env": {"sim": {"num_threads": 1}},
        "runner": {
            "num_steps_per_env": 8,
            "save_interval": 100,
            "tensorboard": False,
            "progress": False,
            "model": {"actor_hidden": [16], "critic_hidden": [16]},
            "amp": {"hidden": [16], "batch_size": 16, "updates_per_iter": 1, "replay_size": 256},
        },
    },
    "evaluate": {"forward_speeds": [0.5], "yaw_rates": [], "episode_length_s": 1.0,
                 "num_envs": 1},
}  # fmt: skip
HEADLINE = ("env_steps_to_target", "wall_s", "tracking_rmse", "survival", "frechet_amp",
            "frechet_no_amp", "cadence_err", "stride_err", "symmetry", "foot_slip")  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny dataset and the config-override file."""
    root = tmp_path_factory.mktemp("learn_inputs")
    robot = load_robot()
    clips = [synthetic_clip(root / "clips", f"walk_{v}", robot, v) for v in (0.5, 1.0)]
    D.build_dataset(clips, root / "motions.h5")
    (root / "tiny.yaml").write_text(yaml.safe_dump(OVERRIDE))
    return {"dataset": root / "motions.h5", "override": root / "tiny.yaml"}


def run_main(inputs: dict[str, Path], workdir: Path, *extra: str,
             capsys: pytest.CaptureFixture[str]) -> dict:  # fmt: skip
    rc = L.main(["--preset", "flat", "--dataset", str(inputs["dataset"]),
                 "--workdir", str(workdir), "--config-override", str(inputs["override"]),
                 "--max-env-steps", "128", "--eval-every-steps", "64", "--seed", "3",
                 *extra])  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    return json.loads(out[-1])


# ------------------------------------------------------------------------------ pure parts


def test_config_merge_budget_and_levels(tmp_path: Path) -> None:
    assert L.deep_merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"c": 3}, "e": None}) == {
        "a": {"b": 1, "c": 3}, "d": 1, "e": None,
    }  # fmt: skip
    assert L.budget_iterations(128, 64) == 2 and L.budget_iterations(129, 64) == 3
    with pytest.raises(L.BenchError):
        L.budget_iterations(0, 64)
    # Default terrain: slopes 0..0.4 over 10 levels (0.3 at level 6.75), steps 0.05..0.20 m.
    assert L.target_levels(TerrainConfig()) == {
        "slope_up": 7, "slope_down": 7, "stairs_up": 6, "stairs_down": 6,
    }  # fmt: skip
    over = tmp_path / "o.yaml"
    over.write_text(yaml.safe_dump({"train": {"num_envs": 4},
                                    "experiments": {"x": {"train": {"seed": 9}}}}))  # fmt: skip
    raw = L.load_raw_config("terrain", [over], "x")
    cfg = L.train_config(raw, None, 1000)
    assert cfg.num_envs == 4 and cfg.seed == 9 and cfg.env.terrain.kind == "grid"
    assert cfg.runner.max_iterations == math.ceil(1000 / (4 * cfg.runner.num_steps_per_env))
    check, final, hard, _ = L.eval_configs(raw, "terrain", cfg, None, render=False)
    assert hard == L.HARD_TERRAINS and final.terrains == ("flat", *L.HARD_TERRAINS)
    assert final.levels_of("slope_up") == (7,) and check.episode_length_s == final.episode_length_s
    assert final.discriminator and not check.discriminator and not check.render
    with pytest.raises(L.BenchError, match="experiment"):
        L.load_raw_config("flat", [over], "missing")


def test_target_met() -> None:
    t = L.Targets(rmse=0.15, survival=0.95, success=0.9)
    good = {"tracking_rmse": 0.1, "survival": 1.0, "yaw_rmse": 0.4, "yaw_window_rmse": 0.25}
    assert L.target_met(good, "flat", t, ())
    assert L.target_met(good, "flat", L.Targets(yaw_rmse=0.3), ())  # the windowed value counts
    assert not L.target_met({**good, "survival": 0.9}, "flat", t, ())
    assert not L.target_met({**good, "tracking_rmse": math.nan}, "flat", t, ())
    assert not L.target_met(good, "flat", L.Targets(yaw_rmse=0.2), ())
    hard = ("slope_up", "stairs_up")
    assert L.target_met({"success_slope_up": 1.0, "success_stairs_up": 0.9}, "terrain", t, hard)
    assert not L.target_met({"success_slope_up": 1.0, "success_stairs_up": 0.8}, "terrain", t, hard)


def _motion(speed: float, cadence: float) -> Motion:
    f = G.synthetic_frames(speed=speed, cadence=cadence, duration=6.0)
    fps = float(f.pop("fps"))
    return Motion(name=f"v{speed}_c{cadence}", fps=fps, **f)


def test_gait_errors_at_matched_speed() -> None:
    ref = [_motion(v, 110.0) for v in (0.6, 0.8, 1.0)]
    cad, stride, n, notes = L.gait_errors(ref[1:2], ref, KEY_BODIES, KEY_BODIES)
    assert n > 0 and not notes
    assert cad == pytest.approx(0.0, abs=0.02) and stride == pytest.approx(0.0, abs=0.02)
    # Same speed, 10 % lower cadence: strides 1/0.9 longer.
    cad, stride, _, _ = L.gait_errors([_motion(0.8, 99.0)], ref, KEY_BODIES, KEY_BODIES)
    assert cad == pytest.approx(0.1, abs=0.02) and stride == pytest.approx(1 / 0.9 - 1, abs=0.02)
    # No policy stride at 0.5-1.0 m/s: NaN with a note.
    cad, stride, n, notes = L.gait_errors([_motion(1.4, 110.0)], ref, KEY_BODIES, KEY_BODIES)
    assert math.isnan(cad) and math.isnan(stride) and n == 0 and "no policy stride" in notes[0]


# ------------------------------------------------------------------------------ end to end


def test_main_tiny_budget(inputs: dict[str, Path], tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    res = run_main(inputs, tmp_path / "w", capsys=capsys)
    for key in (*HEADLINE, "curve", "preset", "seed", "budget_env_steps", "notes"):
        assert key in res, key
    assert res["preset"] == "flat" and res["seed"] == 3 and res["budget_env_steps"] == 128
    assert res["trained_env_steps"] == 128
    for key in HEADLINE[1:]:
        assert res[key] is None or isinstance(res[key], (int, float)), key
    assert isinstance(res["wall_s"], float) and res["wall_s"] > 0
    assert 0.0 <= res["survival"] <= 1.0 and res["tracking_rmse"] >= 0
    # An untrained policy does not track 0.5 m/s within 0.15 m/s.
    assert res["env_steps_to_target"] is None
    assert any("env_steps_to_target" in n for n in res["notes"])
    for key in HEADLINE:  # every null headline value is explained
        if res[key] is None:
            assert any(key.split("_")[0] in n for n in res["notes"]), key
    # Curve: AMP check at 64 steps and final at 128; the no-AMP baseline the same.
    pts = [(p["run"], p["env_steps"], p["full"]) for p in res["curve"]]
    assert pts == [("amp", 64, False), ("amp", 128, True), ("no_amp", 64, False),
                   ("no_amp", 128, True)]  # fmt: skip
    for p in res["curve"]:
        assert {"tracking_rmse", "survival", "success", "wall_s", "target_met"} <= set(p)
    work = tmp_path / "w"
    assert json.loads((work / "learn_flat.json").read_text()) == res
    rows = (work / "learn_flat_curve.csv").read_text().splitlines()
    assert rows[0].startswith("run,iteration,env_steps") and len(rows) == 1 + len(pts)
    assert (work / "runs" / "amp" / "policies" / "it_000001.pt").is_file()
    assert (work / "runs" / "no_amp" / "final" / "it_000002" / "metrics.json").is_file()


def test_main_stops_at_target(inputs: dict[str, Path], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Loose targets: the first check meets them, the final evaluation confirms, training stops
    and the baseline trains as many steps."""
    res = run_main(inputs, tmp_path / "w", "--target-rmse", "100", "--target-survival", "0",
                   capsys=capsys)  # fmt: skip
    assert res["env_steps_to_target"] == 64 and res["trained_env_steps"] == 64
    pts = [(p["run"], p["env_steps"], p["full"], p["target_met"]) for p in res["curve"]]
    assert pts == [("amp", 64, False, True), ("amp", 64, True, True), ("no_amp", 64, True, True)]
    assert res["no_amp_env_steps_to_target"] == 64
    # The default config's stages lie beyond this budget: the JSON says so.
    assert any("budget (2 iterations) ends before the config's stages from iteration(s) 1150, "
               "2100, 2600" in n for n in res["notes"])  # fmt: skip


def test_main_full_budget_trains_on_after_target(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--full-budget: the target is met at the first check, training goes on to the budget and
    the headline figures come from the final policy; the baseline trains as many iterations."""
    res = run_main(inputs, tmp_path / "w", "--target-rmse", "100", "--target-survival", "0",
                   "--full-budget", capsys=capsys)  # fmt: skip
    assert res["env_steps_to_target"] == 64 and res["trained_env_steps"] == 128
    pts = [(p["run"], p["env_steps"], p["full"]) for p in res["curve"]]
    assert pts == [("amp", 64, False), ("amp", 64, True), ("amp", 128, True),
                   ("no_amp", 64, False), ("no_amp", 64, True), ("no_amp", 128, True)]  # fmt: skip
    assert not any("stopped at iteration" in n for n in res["notes"])


def test_unreached_stage_notes() -> None:
    raw = L.load_raw_config("flat", [], None)
    raw.pop("_experiment")
    cfg = L.train_config(raw, None, None)  # the default budget: 3000 iterations
    assert cfg.runner.max_iterations == 3000
    assert L.unreached_stage_notes(cfg, 3000) == []
    (note,) = L.unreached_stage_notes(cfg, 2200)
    assert "stopped at iteration 2200, before the config's stages from iteration(s) 2600" in note
    short = L.train_config(raw, None, 2000 * L.steps_per_iteration(cfg))
    notes = L.unreached_stage_notes(short, 1000)
    assert len(notes) == 2 and "iteration(s) 2100, 2600" in notes[1] and "(2000" in notes[1]
    stopped = "stopped at iteration 1000, before the config's stages from iteration(s) 1150:"
    assert stopped in notes[0]


def test_missing_dataset_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = L.main(["--preset", "flat", "--dataset", str(tmp_path / "none.h5"),
                 "--workdir", str(tmp_path / "w")])  # fmt: skip
    assert rc == 2 and "not found" in capsys.readouterr().err


def test_parallel_runs_the_baseline_at_the_same_time(inputs: dict[str, Path],
                                                     tmp_path: Path) -> None:  # fmt: skip
    """--parallel: the no-AMP run trains in a spawned process beside the AMP run; both train
    the whole budget even when the target is met early (as a script: spawn re-imports it)."""
    work = tmp_path / "w"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "learn.py"), "--preset", "flat",
         "--dataset", str(inputs["dataset"]), "--workdir", str(work),
         "--config-override", str(inputs["override"]), "--max-env-steps", "128",
         "--eval-every-steps", "64", "--seed", "3", "--parallel",
         "--target-rmse", "100", "--target-survival", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    pts = sorted((p["run"], p["env_steps"], p["full"]) for p in res["curve"])
    assert pts == [(run, steps, full) for run in ("amp", "no_amp")
                   for steps, full in ((64, False), (64, True), (128, True))]  # fmt: skip
    assert res["env_steps_to_target"] == 64 and res["trained_env_steps"] == 128
    assert res["frechet_no_amp"] is not None or any("frechet_no_amp" in n for n in res["notes"])
    assert any("--parallel" in n for n in res["notes"])
    assert (work / "runs" / "no_amp" / "final" / "it_000002" / "metrics.json").is_file()
