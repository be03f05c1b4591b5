"""The ingest CLI: accepted clips, rejected clips (exit 0, reason in the JSON), config errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mocap.ingest import main
from mocap.types import CANONICAL_JOINTS, HumanMotion


@pytest.fixture(scope="module")
def demo_walk(tmp_path_factory) -> Path:
    from mocap.demo import write_demo_clip

    out = tmp_path_factory.mktemp("demo")
    write_demo_clip("walk_1.00", out / "walk_1.00.bvh", out / "walk_1.00.meta.json")
    return out / "walk_1.00.bvh"


def run(tmp_path: Path, source: Path, config: dict | None = None, clip: str = "x/clip"):
    npz, js = tmp_path / "out" / "clip.npz", tmp_path / "out" / "clip.json"
    argv = ["--input", str(source), "--clip", clip, "--out-npz", str(npz), "--out-json", str(js)]
    if config is not None:
        argv += ["--config", json.dumps(config)]
    code = main(argv)
    return code, npz, (json.loads(js.read_text()) if js.exists() else None)


def test_accepted_demo_clip(tmp_path, demo_walk):
    code, npz, summary = run(tmp_path, demo_walk)
    assert code == 0 and summary["status"] == "accepted", summary
    assert summary["synthetic"] is True and summary["sidecar"]["speed_mps"] == pytest.approx(1.0)
    assert summary["clip"] == "x/clip" and len(summary["sha256"]) == 64
    motion = HumanMotion.load(npz)
    assert motion.joint_names == CANONICAL_JOINTS and motion.fps == 120
    assert motion.meta["synthetic"] is True
    assert summary["root_speed_mean_mps"] == pytest.approx(1.0, rel=0.03)


def test_resample_setting(tmp_path, demo_walk):
    code, npz, summary = run(tmp_path, demo_walk, {"resample_fps": 50})
    assert code == 0 and summary["fps"] == 50 and HumanMotion.load(npz).fps == 50


def test_truncated_clip_is_rejected_with_reason(tmp_path, demo_walk):
    broken = tmp_path / "broken.bvh"
    broken.write_text("\n".join(demo_walk.read_text().splitlines()[:-30]) + "\n")
    code, npz, summary = run(tmp_path, broken)
    assert code == 0 and summary["status"] == "rejected"
    assert "broken.bvh" in summary["reason"]
    with np.load(npz, allow_pickle=False) as z:
        assert str(z["status"]) == "rejected"


def test_teleporting_root_is_rejected(tmp_path, demo_walk):
    lines = demo_walk.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Frame Time")) + 1
    k = start + 200
    values = lines[k].split()
    values[0] = str(float(values[0]) + 300.0)  # 3 m jump (file in centimetres) on one frame
    lines[k] = " ".join(values)
    bad = tmp_path / "teleport.bvh"
    bad.write_text("\n".join(lines) + "\n")
    code, _, summary = run(tmp_path, bad)
    assert code == 0 and summary["status"] == "rejected"
    assert "broken root trajectory" in summary["reason"], summary["reason"]


def test_unsupported_file_and_missing_file(tmp_path):
    other = tmp_path / "clip.fbx"
    other.write_bytes(b"\x00\x01")
    assert run(tmp_path, other)[2]["reason"].startswith("clip.fbx: unsupported file type")
    code, _, summary = run(tmp_path, tmp_path / "missing.bvh")
    assert code == 0 and summary["status"] == "rejected" and "missing.bvh" in summary["reason"]


def test_min_duration_gate(tmp_path, demo_walk):
    code, _, summary = run(tmp_path, demo_walk, {"min_duration_s": 1000.0})
    assert code == 0 and summary["status"] == "rejected" and "min_duration_s" in summary["reason"]


def test_bad_config_is_an_error(tmp_path, demo_walk, capsys):
    code, _, summary = run(tmp_path, demo_walk, {"unitz": "cm"})
    assert code == 2 and summary is None
    assert "unknown key" in capsys.readouterr().err
