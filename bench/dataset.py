"""Benchmark: AMP reference sampling from the HDF5 motion dataset (``retarget.dataset``), one core.

Builds a synthetic dataset of realistic size in a temporary folder through the real builder
(``--clips`` clips x ``--frames`` frames at 50 Hz, the built-in G1, no mirroring), loads it with
``MotionDataset`` and an AMP feature function of D = 96 per frame (root height, root
orientation, root-frame velocities, joint angles and velocities, key bodies in the root frame),
then times ``sample_amp_obs(batch, history)`` for history 2 and 10 and ``sample_states``.

Prints progress to stderr and one JSON object as the last stdout line:
``{"amp_transitions_per_s": {"history_2": ..., "history_10": ...}, "batch": 4096,
"states_per_s": ..., "feature_dim": 96, "clips": 20, "frames": 10000, "build_s": ...,
"load_s": ..., "threads": 1}``; one transition = one AMP observation (a window of ``history``
frames). Usage: ``python bench/dataset.py [--clips N] [--frames T] [--batch B] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

# Run as a script, sys.path[0] is bench/, where bench/retarget.py would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
import torch

from mocap import quat
from retarget.dataset import DatasetConfig, MotionDataset, build_dataset
from retarget.robot import RobotModel, load_robot


def amp_features(frames: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """A representative per-frame AMP feature [F, 96]: root height (1), root rotation matrix's
    first two columns (6), root-frame linear/angular velocity (6), joint angles and velocities
    (58), key bodies relative to the root in the root frame minus the torso (25 = 9 x 3 - 2)."""
    q = frames["root_quat"]
    w, x, y, z = q.unbind(-1)
    col0 = torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], -1)
    col1 = torch.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], -1)
    rel = frames["key_body_pos"] - frames["root_pos"][:, None]
    # Rotate into the root frame: R^T rel.
    rot = torch.stack([col0, col1, torch.linalg.cross(col0, col1)], -1)  # [F, 3, 3]
    rel_b = torch.einsum("fji,fkj->fki", rot, rel).reshape(rel.shape[0], -1)[:, :25]
    return torch.cat(
        [
            frames["root_pos"][:, 2:],
            col0,
            col1,
            frames["root_lin_vel_b"],
            frames["root_ang_vel_b"],
            frames["dof_pos"],
            frames["dof_vel"],
            rel_b,
        ],
        -1,
    )


def write_clips(folder: Path, robot: RobotModel, clips: int, frames: int) -> list[Path]:
    """Synthetic retargeted clips (npz + json): walks at 0.5-1.8 m/s, gentle turns, leg swing."""
    rng = np.random.default_rng(0)
    paths = []
    for c in range(clips):
        fps, t = 50.0, np.arange(frames) / 50.0
        speed, yaw_rate = rng.uniform(0.5, 1.8), rng.uniform(-0.3, 0.3)
        yaw = yaw_rate * t
        xy = np.cumsum(speed / fps * np.stack([np.cos(yaw), np.sin(yaw)], -1), 0)
        z = robot.default_root_height + 0.02 * np.sin(2 * np.pi * 1.8 * t)
        root_quat = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), yaw)
        phase = rng.uniform(0, 2 * np.pi, 29)
        dof = robot.default_dof_pos + 0.2 * np.sin(2 * np.pi * 0.9 * t[:, None] + phase)
        npz = folder / f"bench/clip_{c:03d}.npz"
        npz.parent.mkdir(parents=True, exist_ok=True)
        np.savez(npz, fps=np.array(fps), root_pos=np.concatenate([xy, z[:, None]], -1),
                 root_quat=root_quat, dof_pos=dof, dof_names=np.array(robot.dof_names))  # fmt: skip
        summary = {"clip": f"bench/clip_{c:03d}", "status": "accepted", "reason": None,
                   "source": "synthetic", "sha256": "", "quality": {}, "settings": {}}  # fmt: skip
        npz.with_suffix(".json").write_text(json.dumps(summary))
        paths.append(npz.with_suffix(".json"))
    return paths


def rate(fn, n_per_call: int, seconds: float) -> float:
    """Best items per second of ``fn()`` over 10 rounds of about ``seconds / 10`` each."""
    fn()
    best = 0.0
    for _ in range(10):
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 10:
            fn()
            calls += 1
        best = max(best, calls * n_per_call / elapsed)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    robot = load_robot()
    with tempfile.TemporaryDirectory() as tmp:
        jsons = write_clips(Path(tmp), robot, args.clips, args.frames)
        out = Path(tmp) / "motions.h5"
        start = time.perf_counter()
        cfg = DatasetConfig(mirror=False, tags={"*": ("walk",)})
        build_dataset(jsons, out, cfg)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        ds = MotionDataset(out, dof_names=robot.dof_names, amp_feature_fn=amp_features)
        load_s = time.perf_counter() - start
    print(f"built {ds.num_clips} clips / {ds.num_frames} frames in {build_s:.2f} s, "
          f"loaded in {load_s:.3f} s, D = {ds.amp_feature_dim}", file=sys.stderr)  # fmt: skip

    g = torch.Generator().manual_seed(0)
    amp = {}
    for history in (2, 10):
        r = rate(lambda h=history: ds.sample_amp_obs(args.batch, h, g), args.batch, args.seconds)
        amp[f"history_{history}"] = round(r)
        print(f"history {history}: {r / 1e6:.2f} M transitions/s", file=sys.stderr)
    states = rate(lambda: ds.sample_states(args.batch, g), args.batch, args.seconds)
    result = {
        "amp_transitions_per_s": amp,
        "batch": args.batch,
        "states_per_s": round(states),
        "feature_dim": ds.amp_feature_dim,
        "clips": ds.num_clips,
        "frames": ds.num_frames,
        "build_s": round(build_s, 3),
        "load_s": round(load_s, 4),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
