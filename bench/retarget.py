"""Retargeting throughput over the CMU walking clips: ``python bench/retarget.py``.

Reads every clip of category ``locomotion_walk*`` in ../shared/data/mocap/manifest.csv (BVH
reading and ingestion are not timed), retargets each with the default settings on one thread,
and prints one JSON line last: ``frames_per_s_per_core`` (output frames solved per second of
retargeting wall time: resampling, scaling, contacts, IK, clean-up and quality metrics),
``frames``, ``clips``, ``wall_s``, plus the mean key-point error and foot skating.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# This file is named like the package it measures: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import csv
import json
import time

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


def walking_clips(manifest: Path) -> list[str]:
    """Clip stems of the walking categories in the manifest."""
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        if row.get("category", "").startswith("locomotion_walk"):
            out.append(Path(row.get("file") or row["path"]).stem)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="retarget each clip this often")
    args = parser.parse_args(argv)
    from mocap.ingest import IngestConfig, ingest
    from retarget.robot import load_robot
    from retarget.solve import RetargetConfig, retarget_motion

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    manifest = DATA / "mocap" / "manifest.csv"
    if not manifest.is_file():
        print(f"bench/retarget.py: {manifest} not found (set GAITFORGE_SHARED_DATA)", file=sys.stderr)
        return 1
    robot = load_robot(None)
    cfg = RetargetConfig()
    motions = []
    for stem in walking_clips(manifest):
        motion, summary = ingest(DATA / "mocap" / "cmu" / f"{stem}.bvh", stem, IngestConfig())
        if motion is None:
            print(f"skip {stem}: {summary['reason']}", file=sys.stderr)
            continue
        motions.append((stem, motion))
    frames, wall, errs, skates = 0, 0.0, [], []
    for _ in range(max(1, args.repeat)):
        for stem, motion in motions:
            t0 = time.perf_counter()
            res = retarget_motion(motion, robot, cfg, stem)
            wall += time.perf_counter() - t0
            frames += res.clip.num_frames
            errs.append(res.metrics["keypoint_error_mean_m"])
            skates.append(res.metrics["foot_skating_mps"])
            print(f"{stem}: {res.clip.num_frames} frames, {res.timing['frames_per_s']:.0f} frames/s,"
                  f" key-point error {errs[-1]:.3f} m, skating {skates[-1]:.3f} m/s", file=sys.stderr)
    print(json.dumps({
        "frames_per_s_per_core": round(frames / wall, 1) if wall > 0 else None,
        "frames": frames,
        "clips": len(motions),
        "wall_s": round(wall, 3),
        "keypoint_error_mean_m": round(float(np.mean(errs)), 4) if errs else None,
        "foot_skating_mean_mps": round(float(np.mean(skates)), 4) if skates else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
