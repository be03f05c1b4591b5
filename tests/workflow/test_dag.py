"""The whole DAG on config/smoke.yaml in a temp dir, and the rerun contract (DESIGN section 1)."""

from __future__ import annotations

import json
import shutil

import pytest

# The demo gaits stay on when user clips are added, so adding one clip is the only change.
DEMO_ON = 'mocap:\n  demo: "on"\n'




def read_json(path):
    return json.loads(path.read_text())


def test_smoke_dag_and_rerun_contract(workflow_factory):
    wf = workflow_factory(DEMO_ON)
    work = wf.workdir
    wf.run()

    index = read_json(work / "results/index/clips.json")
    assert index["accepted"] == ["demo/run_2.50", "demo/walk_1.00"], index
    for clip in ("demo/run_2.50", "demo/walk_1.00"):
        retargeted = read_json(work / f"results/retarget/{clip}.json")
        assert retargeted["status"] == "accepted", retargeted
        assert abs(retargeted["metrics"]["root_speed_error_rel"]) < 0.05, retargeted["metrics"]
    import h5py

    with h5py.File(work / "results/dataset/motions.h5", "r") as h5:
        assert h5.attrs["schema_version"] == 1 and len(h5.attrs["dof_names"]) == 29
        assert {"walk_1.00", "walk_1.00.mirror", "run_2.50"} <= set(h5["clips/demo"].keys())
    walk = read_json(work / "results/mocap/demo/walk_1.00.json")
    assert walk["status"] == "accepted" and walk["synthetic"] is True
    assert walk["sidecar"]["speed_mps"] == pytest.approx(1.0)
    assert walk["root_speed_mean_mps"] == pytest.approx(1.0, rel=0.05)

    # Nothing changed: nothing to do.
    assert wf.planned_jobs() == {}

    # Adding a clip ingests that clip only; a broken clip is rejected and the DAG goes on.
    user = work / "data/mocap/user"
    user.mkdir(parents=True)
    shutil.copy(work / "results/demo/walk_1.00.bvh", user / "my_walk.bvh")
    text = (work / "results/demo/walk_1.00.bvh").read_text().splitlines()
    (user / "broken.bvh").write_text("\n".join(text[:-20]) + "\n")  # truncated motion
    before = (work / "results/mocap/demo/walk_1.00.npz").stat().st_mtime_ns
    planned = wf.planned_jobs()
    assert planned.get("ingest_clip") == 2, planned
    assert planned.get("retarget_clip") == 2, planned
    assert planned.get("build_dataset") == 1, planned
    assert "synthesize_demo_clip" not in planned, planned
    wf.run()
    assert (work / "results/mocap/demo/walk_1.00.npz").stat().st_mtime_ns == before
    assert read_json(work / "results/mocap/user/my_walk.json")["status"] == "accepted"
    broken = read_json(work / "results/mocap/user/broken.json")
    assert broken["status"] == "rejected" and "broken.bvh" in broken["reason"]
    broken = read_json(work / "results/retarget/user/broken.json")
    assert broken["status"] == "rejected" and broken["reason"].startswith("ingestion: ")
    index = read_json(work / "results/index/clips.json")
    assert "user/broken" in index["rejected"] and "user/my_walk" in index["accepted"]

    # Training ran and exported its policy; a training change retrains and touches nothing upstream.
    train = work / "results/train/default"
    for name in ("policy.pt", "policy.onnx", "discriminator.pt", "metrics.csv", "curriculum.csv"):
        assert (train / name).is_file(), name
    assert "curriculum/mean_level" in (train / "curriculum.csv").read_text().splitlines()[0]
    metrics = read_json(work / "results/eval/default/metrics.json")
    assert "flat" in metrics["terrains"], metrics.keys()
    html = (work / "results/report/default/index.html").read_text()
    for section in ("summary", "training", "curriculum", "task", "naturalness", "videos", "clips"):
        assert f'id="{section}"' in html, section
    assert "demo/walk_1.00" in html
    more = work.parent / "train_change.yaml"
    more.write_text("train:\n  runner:\n    ppo: {entropy_coef: 0.004}\n")
    wf.configfiles.append(str(more))
    planned = wf.planned_jobs()
    assert planned.get("train_policy") == 1, planned
    assert not {"ingest_clip", "retarget_clip", "build_dataset"} & set(planned), planned
    # An evaluation change reruns evaluation and report, not training.
    more.write_text("evaluate:\n  episode_length_s: 1.5\n")
    planned = wf.planned_jobs()
    assert planned.get("evaluate_policy") == 1 and planned.get("make_report") == 1, planned
    assert "train_policy" not in planned, planned
    wf.configfiles.pop()

    # A file whose name cannot be a clip id is reported by name, not dropped silently.
    shutil.copy(user / "my_walk.bvh", user / "bad name.bvh")
    wf.run()
    index = read_json(work / "results/index/clips.json")
    assert [f["file"] for f in index["invalid_files"]] == ["data/mocap/user/bad name.bvh"]


def test_ingest_setting_change_reruns_ingestion(workflow_factory):
    wf = workflow_factory('mocap:\n  demo_clips: ["walk_1.00"]\n')
    wf.run()
    assert wf.planned_jobs() == {}
    wf.configfiles.append(str(wf.workdir.parent / "more.yaml"))
    (wf.workdir.parent / "more.yaml").write_text("mocap:\n  min_duration_s: 0.25\n")
    planned = wf.planned_jobs()
    assert planned.get("ingest_clip") == 1 and "synthesize_demo_clip" not in planned, planned


def test_retarget_setting_change_reruns_retargeting_only(workflow_factory):
    wf = workflow_factory('mocap:\n  demo_clips: ["walk_1.00"]\n')
    wf.run()
    (wf.workdir.parent / "more.yaml").write_text("retarget:\n  smoothing_window_s: 0.12\n")
    wf.configfiles.append(str(wf.workdir.parent / "more.yaml"))
    planned = wf.planned_jobs()
    assert planned.get("retarget_clip") == 1 and "ingest_clip" not in planned, planned
    assert planned.get("build_dataset") == 1, planned
    # A typo in a stage section fails when the workflow loads, naming the key.
    (wf.workdir.parent / "more.yaml").write_text("retarget:\n  smoothing_windw_s: 0.12\n")
    proc = wf.run("--dry-run", check=False)
    assert proc.returncode != 0 and "smoothing_windw_s" in proc.stdout + proc.stderr
