"""Every preset in config/ merges over the default config into a valid DAG (dry runs), and the
CMU preset finds the shared CMU clips from a working directory with ../shared beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, Workflow

PRESETS = sorted(p.name for p in (REPO / "config").glob("*.yaml") if p.name != "config.yaml")


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_plans_the_whole_dag(tmp_path, preset):
    wf = Workflow(tmp_path / "work")
    wf.workdir.mkdir()
    wf.configfiles = [str(REPO / "config" / preset)]
    jobs = wf.planned_jobs()
    for rule in ("build_dataset", "train_policy", "evaluate_policy", "make_report"):
        assert jobs.get(rule, 0) >= 1, (preset, jobs)


def test_cmu_preset_uses_the_shared_clips(tmp_path, cmu_dir: Path):
    # The preset's glob is ../shared/data/mocap/**/*.bvh, relative to the working directory.
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "mocap").symlink_to(cmu_dir.parent, target_is_directory=True)
    wf = Workflow(tmp_path / "work")
    wf.workdir.mkdir()
    wf.configfiles = [str(REPO / "config" / "cmu.yaml")]
    jobs = wf.planned_jobs()
    clips = sorted(cmu_dir.glob("*.bvh"))
    assert len(clips) >= 8
    assert jobs["ingest_clip"] == len(clips) and jobs["retarget_clip"] == len(clips)
    assert "synthesize_demo_clip" not in jobs  # real clips found: no demo gaits
    listing = wf.run("--dry-run").stdout
    assert "results/retarget/cmu/07_01.npz" in listing  # ids keep the cmu/ prefix
    assert "results/retarget/cmu/16_01.npz" in listing
