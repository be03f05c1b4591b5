"""Retargeting the CMU walking clips (shared data; skipped without it).

Targets (issue 3): mean key-point error <= 5 cm, stance foot skating <= 2 cm/s, no penetration
deeper than 1 cm, no joint-limit violation; 07_12 (broken root trajectory) rejected with a reason.
Each clip takes well under a second, so all of them run by default.
"""

from __future__ import annotations

import json

import pytest

from mocap.ingest import main as ingest_main
from retarget import dataset as D
from retarget.solve import main as retarget_main

WALKS = ["07_01", "02_01", "08_04", "07_04", "08_01", "07_11", "12_02", "08_07"]


def _retarget(cmu_dir, tmp_path, stem: str, mjcf: str | None = None) -> dict:
    mocap = tmp_path / "mocap"
    assert ingest_main(["--input", str(cmu_dir / f"{stem}.bvh"), "--clip", f"cmu/{stem}",
                        "--out-npz", str(mocap / f"{stem}.npz"),
                        "--out-json", str(mocap / f"{stem}.json")]) == 0
    out = tmp_path / "retarget"
    assert retarget_main(["--input", str(mocap / f"{stem}.npz"),
                          "--summary", str(mocap / f"{stem}.json"),
                          "--out-npz", str(out / f"{stem}.npz"),
                          "--out-json", str(out / f"{stem}.json"),
                          *(["--mjcf", mjcf] if mjcf else [])]) == 0
    return json.loads((out / f"{stem}.json").read_text())


def _check_walk(report: dict) -> None:
    m = report["metrics"]
    assert report["status"] == "accepted", report["reason"]
    assert m["keypoint_error_mean_m"] <= 0.05
    assert m["foot_skating_mps"] <= 0.02
    assert m["penetration_max_m"] <= 0.01
    assert m["joint_limit_violations"] == 0
    assert len(report["source_sha256"]) == 64


@pytest.mark.parametrize("stem", WALKS)
def test_walking_clip(cmu_dir, tmp_path, stem):
    _check_walk(_retarget(cmu_dir, tmp_path, stem))


def test_walking_clip_on_official_mjcf(cmu_dir, g1_dir, tmp_path):
    report = _retarget(cmu_dir, tmp_path, "07_01", mjcf=str(g1_dir / "g1.xml"))
    _check_walk(report)
    assert report["robot"]["mjcf"].endswith("g1.xml")


def test_broken_root_trajectory_rejected(cmu_dir, tmp_path):
    report = _retarget(cmu_dir, tmp_path, "07_12")
    assert report["status"] == "rejected"
    assert report["reason"]
    if not report["reason"].startswith("ingestion:"):
        assert "max_root_speed_mps" in report["failed_gates"]


def test_measured_tags_of_cmu_clips(cmu_dir, tmp_path):
    """The dataset's measured tags (no config tags) keep the walks and leave out what is not
    locomotion: the playground jumps (01_01) land on both feet, the salsa (60_10) goes nowhere.
    08_04, a slow walk whose retargeted foot hovers in 25 % of the frames, is a walk, not a run."""
    stems = ["08_04", "07_01", "01_01", "60_10_scaled"]
    for stem in stems:
        assert _retarget(cmu_dir, tmp_path, stem)["status"] == "accepted", stem
    jsons = [tmp_path / "retarget" / f"{stem}.json" for stem in stems]
    out = tmp_path / "motions.h5"
    result = D.build_dataset(jsons, out, D.DatasetConfig(mirror=False))
    assert result.clips == ("cmu/08_04", "cmu/07_01")
    excluded = {e["clip"]: e["reason"] for e in result.excluded}
    assert excluded == {
        "cmu/01_01": "weight 0 (tags ['other'])",
        "cmu/60_10_scaled": "weight 0 (tags ['other'])",
    }
    tags = {s.clip: s.tags for s in D.MotionDataset(out).clip_summaries}
    assert tags == {"cmu/08_04": ("walk",), "cmu/07_01": ("walk",)}
