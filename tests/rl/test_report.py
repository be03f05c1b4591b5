"""The HTML report from small fake inputs: every section present, missing inputs as notes,
comparison of experiments, and (when Chromium is installed) it opens headless with a screenshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from rl import gait as G
from rl import metrics as M
from rl import naturalness as N
from rl import report as R
from rl.gait import synthetic_frames

FPS = 50.0


def fake_episode(speed: float, seconds: float, fall_at: int | None = None) -> dict[str, np.ndarray]:
    f = synthetic_frames(speed=speed, cadence=100 + 25 * speed, duration=seconds, fps=FPS)
    f.pop("fps")
    n = f["root_pos"].shape[0]
    f["commands"] = np.tile([speed, 0.0, 0.0], (n, 1))
    f["actions"] = f["dof_pos"] * 0.9
    f["torques"] = f["dof_vel"] * 2.0
    f["terminated"] = np.zeros(n, bool)
    if fall_at is not None:
        f["terminated"][fall_at] = True
    return f


def write_group(g: h5py.Group, arrays: dict[str, np.ndarray], **attrs: object) -> None:
    for k, v in arrays.items():
        g[k] = v
    for k, v in attrs.items():
        g.attrs[k] = v


def build_eval_dir(root: Path, experiment: str) -> Path:
    """rollouts.h5 + metrics.json (computed with the real metric functions) + one video."""
    from PIL import Image

    from retarget.g1_params import JOINT_NAMES, KEY_BODIES

    d = root / "eval" / experiment
    (d / "videos").mkdir(parents=True)
    episodes = {
        ("flat", 0): fake_episode(0.8, 4.0),
        ("flat", 1): fake_episode(1.2, 4.0),
        ("stairs_up", 0): fake_episode(0.6, 2.0, fall_at=80),
    }
    with h5py.File(d / "rollouts.h5", "w") as f:
        f.attrs.update(
            fps=FPS, dof_names=json.dumps(JOINT_NAMES), key_bodies=json.dumps(KEY_BODIES)
        )
        for (terrain, i), arrays in episodes.items():
            write_group(
                f.create_group(f"rollouts/{terrain}/{i:03d}"), arrays, terrain=terrain, level=i
            )
    motions = list(M.iter_motions(d / "rollouts.h5"))
    terrains: dict[str, dict] = {}
    for terrain in ("flat", "stairs_up"):
        eps = [m for m in motions if m.attrs["terrain"] == terrain]
        tasks = [M.episode_task_metrics(m, 8.0) for m in eps]
        analyses = [G.analyze_motion(m, KEY_BODIES) for m in eps]
        terrains[terrain] = {
            "task": M.aggregate_task_metrics(tasks),
            "per_command": M.per_command_rows(tasks),
            "gait": G.summarize_gait(analyses),
            "gait_by_speed": G.gait_by_speed(G.Strides.concatenate([a.strides for a in analyses])),
            "video": "videos/flat.gif" if terrain == "flat" else None,
        }
    flat = [m for m in motions if m.attrs["terrain"] == "flat"]
    pos = np.concatenate([m.dof_pos for m in flat])
    metrics = {
        "schema_version": M.METRICS_SCHEMA_VERSION,
        "experiment": experiment,
        "policy": f"results/train/{experiment}/policy.pt",
        "seed": 3,
        "code_version": "v0.1.0-test",
        "terrains": terrains,
        "naturalness": {
            "frechet": N.frechet_distance(pos[:, :4], pos[:, :4] + 0.1),
            "frechet_by_speed": N.frechet_by_speed(
                pos[:, :2], np.full(len(pos), 1.0), pos[:, :2], np.full(len(pos), 1.0), [(0.5, 1.5)]
            ),
            "wasserstein_joint_pos": dict(
                zip(JOINT_NAMES, N.wasserstein_per_joint(pos, pos + 0.01))
            ),
            "wasserstein_joint_vel": dict(zip(JOINT_NAMES, [0.1] * len(JOINT_NAMES))),
            "root_jerk": N.windowed_dimensionless_jerk(flat[0].root_pos, FPS),
            "action_rate": N.action_rate(flat[0].actions, FPS),
            "cost_of_transport": 0.42,
            "discriminator_policy": 0.3,
            "discriminator_reference": 0.6,
            "discriminator_attribution": {"joint velocities": 0.55, "root height": 0.31},
            "gait": G.summarize_gait([G.analyze_motion(m, KEY_BODIES) for m in flat]),
        },
    }
    (d / "metrics.json").write_text(json.dumps(metrics))  # NaN allowed, as json.dumps writes it
    frames = [Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)) for i in range(3)]
    frames[0].save(d / "videos" / "flat.gif", save_all=True, append_images=frames[1:], duration=100)
    return d


def build_train_dir(root: Path) -> Path:
    d = root / "train" / "exp"
    d.mkdir(parents=True)
    header = (
        "iteration,env_steps,wall_s,reward/total,episode/return,episode/length,"
        "reward/track_lin_vel_xy_exp,ppo/kl"
    )
    lines = [header]
    for i in range(1, 21):
        lines.append(f"{i},{i * 4096},{i * 3.5},{0.1 * i},{i * 2.0},{100 + 10 * i},{0.05 * i},0.01")
    (d / "metrics.csv").write_text("\n".join(lines) + "\n")
    cur = ["iteration,env_steps,stage,mean_level/flat,mean_level/slope_up"]
    cur += [f"{i},{i * 4096},{i // 10},{i / 5},{max(0, i - 10) / 5}" for i in range(1, 21)]
    (d / "curriculum.csv").write_text("\n".join(cur) + "\n")
    (d / "resolved_config.yaml").write_text(
        yaml.safe_dump({"seed": 7, "code_version": "v0.1.0-3-gabcdef", "train": {"lr": 3e-4}})
    )
    return d


def build_dataset(root: Path) -> Path:
    from retarget.g1_params import JOINT_NAMES, KEY_BODIES

    p = root / "dataset" / "motions.h5"
    p.parent.mkdir(parents=True)
    with h5py.File(p, "w") as f:
        f.attrs.update(
            schema_version=1,
            robot="g1",
            fps=FPS,
            dof_names=list(JOINT_NAMES),
            key_bodies=list(KEY_BODIES),
            rejected_clips=json.dumps([{"clip": "cmu/bad_01", "reason": "feet penetrate 5 cm"}]),
            excluded_clips=json.dumps([{"clip": "cmu/jump_02", "reason": "not a walk"}]),
        )
        for name, speed, weight in (("cmu/walk_a", 1.0, 1.0), ("demo/walk_fast", 1.5, 0.5)):
            f0 = synthetic_frames(speed=speed, cadence=100 + 25 * speed, duration=6.0, fps=FPS)
            f0.pop("fps")
            write_group(
                f.create_group(f"clips/{name}"),
                f0,
                weight=weight,
                source=f"{name}.bvh",
                tags=json.dumps(["synthetic"] if name.startswith("demo") else []),
                duration_s=6.0,
            )
    return p


def build_clip_index(root: Path) -> Path:
    p = root / "index" / "clips.json"
    p.parent.mkdir(parents=True)
    clips = {
        "cmu/walk_a": {
            "status": "accepted",
            "reason": "",
            "source": "cmu/walk_a.bvh",
            "synthetic": False,
            "duration_s": 6.0,
        },
        "demo/walk_fast": {
            "status": "accepted",
            "reason": "",
            "source": "demo",
            "synthetic": True,
            "duration_s": 6.0,
        },
        "cmu/bad_01": {
            "status": "rejected",
            "reason": "ground penetration",
            "source": "cmu/bad_01.bvh",
            "synthetic": False,
            "duration_s": 3.0,
        },
    }
    p.write_text(
        json.dumps(
            {
                "clips": clips,
                "accepted": ["cmu/walk_a", "demo/walk_fast"],
                "rejected": ["cmu/bad_01"],
                "invalid_files": ["cmu/bad name.bvh"],
            }
        )
    )
    return p


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report_inputs")
    return {
        "root": root,
        "eval": build_eval_dir(root, "exp"),
        "other": build_eval_dir(root, "no_amp"),
        "train": build_train_dir(root),
        "dataset": build_dataset(root),
        "index": build_clip_index(root),
    }


def sections(html_text: str) -> dict[str, str]:
    found = re.findall(r'<section id="(\w+)">(.*?)</section>', html_text, flags=re.DOTALL)
    return dict(found)


def full_args(inputs: dict[str, Path], out: Path) -> list[str]:
    return [
        "--eval-dir",
        str(inputs["eval"]),
        "--train-dir",
        str(inputs["train"]),
        "--dataset",
        str(inputs["dataset"]),
        "--clip-index",
        str(inputs["index"]),
        "--out",
        str(out),
    ]


@pytest.fixture(scope="module")
def full_report(inputs: dict[str, Path]) -> Path:
    out = inputs["root"] / "report" / "exp" / "index.html"
    assert (
        R.main(
            [
                *full_args(inputs, out),
                "--compare",
                str(inputs["other"]),
                str(inputs["root"] / "eval" / "missing"),
            ]
        )
        == 0
    )
    return out


def test_report_has_every_section_with_content(full_report: Path) -> None:
    text = full_report.read_text()
    s = sections(text)
    assert list(s) == [sid for sid, _ in R.SECTIONS]
    for sid in ("summary", "training", "curriculum", "task", "naturalness", "clips"):
        assert "not available" not in s[sid], (sid, s[sid][:2000])
    assert (
        "v0.1.0-3-gabcdef" in s["summary"] and ">7<" in s["summary"] and "0:01:10" in s["summary"]
    )
    for sid in ("training", "curriculum"):
        assert "data:image/png;base64," in s[sid]
    assert "stairs_up" in s["task"] and "flat" in s["task"] and "per command" in s["task"]
    nat = s["naturalness"]
    assert "Fréchet" in nat and "joint cycles" in nat and "reference clips" in nat
    assert "cadence and stride length vs speed" in nat and nat.count("data:image/png") >= 3
    # Attribution: largest lift over the policy's 0.3 first.
    assert "tells the policy apart by" in nat
    assert nat.index("joint velocities") < nat.index("root height")
    assert "data:image/gif;base64," in s["videos"]
    assert "not available" in s["videos"] and "stairs_up" in s["videos"]  # no video for stairs
    clips = s["clips"]
    for item in (
        "cmu/walk_a",
        "demo/walk_fast",
        "cmu/bad_01",
        "ground penetration",
        "cmu/jump_02",
        "not a walk",
        "cmu/bad name.bvh",
    ):
        assert item in clips, item
    assert "<td>0.5</td>" in clips  # the dataset weight of demo/walk_fast


def test_comparison_table(full_report: Path) -> None:
    cmp = sections(full_report.read_text())["comparison"]
    assert "<td>exp</td>" in cmp and "<td>no_amp</td>" in cmp
    assert "missing (not available" in cmp and "flat: success" in cmp


def test_missing_inputs_give_notes_not_crashes(tmp_path: Path) -> None:
    empty = tmp_path / "eval" / "nothing"
    empty.mkdir(parents=True)
    out = tmp_path / "index.html"
    assert (
        R.main(
            ["--eval-dir", str(empty), "--out", str(out), "--dataset", str(tmp_path / "none.h5")]
        )
        == 0
    )
    s = sections(out.read_text())
    assert list(s) == [sid for sid, _ in R.SECTIONS]
    for sid, body in s.items():
        assert "not available" in body, sid


def test_broken_metrics_json_is_a_note(inputs: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "eval" / "bad"
    shutil.copytree(inputs["eval"], bad)
    (bad / "metrics.json").write_text(json.dumps({"schema_version": 1, "experiment": "bad"}))
    out = tmp_path / "index.html"
    assert R.main(["--eval-dir", str(bad), "--out", str(out)]) == 0
    s = sections(out.read_text())
    assert "missing key &#x27;terrains&#x27;" in s["task"]
    assert "joint cycles" in s["naturalness"]  # still computed from rollouts.h5


def test_render_missing_video(inputs: dict[str, Path], tmp_path: Path) -> None:
    from rl.video import gl_backend

    name, why = gl_backend()
    if name is None:
        pytest.skip(why)
    out = tmp_path / "index.html"
    assert R.main(["--eval-dir", str(inputs["eval"]), "--out", str(out), "--render-missing"]) == 0
    vids = sections(out.read_text())["videos"]
    assert "data:image/webp;base64," in vids and "not available" not in vids


def test_opens_in_headless_chromium(full_report: Path, tmp_path: Path) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium)")
    flags = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = full_report.resolve().as_uri()
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid, _ in R.SECTIONS:
        assert f'id="{sid}"' in dom.stdout
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [*flags, "--window-size=1280,2400", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert img.std() > 10.0  # not a blank page
    artefacts = os.environ.get("GAITFORGE_TEST_ARTIFACTS")
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artefacts) / "report_screenshot.png")
        shutil.copy(full_report, Path(artefacts) / "report_index.html")
