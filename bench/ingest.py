"""Benchmark: read every CMU BVH clip in ../shared/data/mocap/cmu with ``mocap.bvh.read_bvh``.

Prints progress to stderr and one JSON object as the last stdout line:
``{"frames_per_s": ..., "frames": ..., "clips": ..., "wall_s": ...}`` where ``frames`` counts
frames in the files (before trimming) and ``wall_s`` is the time spent in ``read_bvh`` (parse,
FK, units, axes, trimming, floor, fps check, sha256). With the data absent it prints
``{"skipped": "<reason>"}``. Usage: ``python bench/ingest.py [CMU_DIR] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from mocap.bvh import read_bvh

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(
    os.environ.get("GAITFORGE_SHARED_DATA", REPO.parent / "shared" / "data")
) / "mocap" / "cmu"  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cmu_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=3, help="passes; the fastest is reported")
    args = parser.parse_args(argv)

    files = sorted(args.cmu_dir.glob("*.bvh")) if args.cmu_dir.is_dir() else []
    if not files:
        print(json.dumps({"skipped": f"no BVH clips found in {args.cmu_dir}"}))
        return 0

    best_wall, frames = float("inf"), 0
    for rep in range(max(1, args.repeat)):
        frames, wall = 0, 0.0
        for path in files:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 16_01.bvh's fps correction warns by design
                clip = read_bvh(path)
            elapsed = time.perf_counter() - start
            wall += elapsed
            frames += int(clip.meta["frames_in_file"])
            print(f"[pass {rep + 1}] {path.name}: {clip.meta['frames_in_file']} frames in "
                  f"{elapsed * 1e3:.0f} ms", file=sys.stderr)  # fmt: skip
        best_wall = min(best_wall, wall)
    result = {
        "frames_per_s": round(frames / best_wall, 1),
        "frames": frames,
        "clips": len(files),
        "wall_s": round(best_wall, 4),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
