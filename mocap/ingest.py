"""Ingest one MoCap clip into the canonical HumanMotion: ``python -m mocap.ingest``.

Outputs (DESIGN section 3), both written atomically:
- ``--out-npz``: the HumanMotion (:meth:`mocap.types.HumanMotion.save`). For a rejected clip it
  holds only ``status`` and ``reason`` so that the DAG's declared outputs exist.
- ``--out-json``: the clip summary: ``status`` (accepted / rejected), ``reason``, source path and
  sha256, fps, frames, duration, height, root speed, synthetic flag, reader metadata and, when a
  sidecar ``<clip>.meta.json`` lies beside the source file, its content under ``sidecar``
  (the demo gaits carry their exact speed, cadence and stride length this way).

Bad input (a :class:`~mocap.types.ClipError`) gives a rejected summary and exit code 0 so the
other clips go on; any other exception is a bug and fails the job loudly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mocap.configs import ConfigError, parse_json_arg, to_dict
from mocap.fileio import save_npz, sha256_file, write_json
from mocap.types import ClipError, HumanMotion

log = logging.getLogger("mocap.ingest")


@dataclass(frozen=True)
class IngestConfig:
    """Settings of one ingestion job (the Snakefile passes the clip's slice of ``mocap:``)."""

    units: Literal["auto", "m", "cm", "inch", "cmu"] = "auto"
    """BVH length unit; auto detects it from the skeleton's size."""
    up_axis: Literal["auto", "y", "z"] = "auto"
    """BVH up axis; auto detects it from the pelvis-to-head direction over the clip."""
    joint_map: dict[str, str] = field(default_factory=dict)
    """Canonical joint -> source joint name, for skeletons the built-in maps do not know."""
    fps: float | None = None
    """Frame rate to use instead of the file header's (e.g. a wrong amc2bvh header)."""
    resample_fps: float | None = None
    """Resample the clip to this rate (interpolation, slerp for rotations); null keeps it."""
    trim: bool = True
    """Detect and drop leading T-pose / blend-in padding frames."""
    body_models: str | None = None
    """Folder holding smplx/, smplh/, smpl/ body-model files, for AMASS clips."""
    min_duration_s: float = 0.5
    """Shorter clips are rejected."""
    max_root_speed_mps: float = 12.0
    """A root moving faster than this between two frames is a broken trajectory (rejected)."""
    max_floor_shift_m: float = 0.5
    """The feet's floor this far (m) from the file's zero height means a broken root (rejected)."""


def read_clip(path: Path, cfg: IngestConfig) -> HumanMotion:
    """Read a BVH or AMASS file into a HumanMotion (ClipError on bad input)."""
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        from mocap.bvh import read_bvh

        return read_bvh(
            path,
            units=cfg.units,
            up_axis=cfg.up_axis,
            fps=cfg.fps,
            mapping=cfg.joint_map or None,
            trim=cfg.trim,
        )
    if suffix == ".npz":
        from mocap.amass import read_amass

        return read_amass(path, cfg.body_models)
    raise ClipError(f"{path.name}: unsupported file type {suffix!r} (expected .bvh or .npz)")


def check_motion(motion: HumanMotion, cfg: IngestConfig, name: str) -> None:
    """Sanity gates every reader's output must pass; raises ClipError naming the problem."""
    if not np.all(np.isfinite(motion.positions)):
        raise ClipError(f"{name}: joint positions contain NaN or inf")
    if motion.duration < cfg.min_duration_s:
        raise ClipError(
            f"{name}: clip is {motion.duration:.2f} s long, shorter than "
            f"min_duration_s = {cfg.min_duration_s} s"
        )
    root = motion.positions[:, 0]
    step = np.linalg.norm(np.diff(root, axis=0), axis=-1) * motion.fps
    if step.size and step.max() > cfg.max_root_speed_mps:
        i = int(np.argmax(step))
        raise ClipError(
            f"{name}: broken root trajectory: the root moves {step[i] / motion.fps:.2f} m between "
            f"frames {i} and {i + 1} ({step[i]:.1f} m/s > max_root_speed_mps = "
            f"{cfg.max_root_speed_mps})"
        )
    shift = float(motion.meta.get("floor_shift_m", 0.0))
    if abs(shift) > cfg.max_floor_shift_m:
        raise ClipError(
            f"{name}: broken root trajectory: the feet's floor lies {-shift:+.2f} m from the "
            f"file's ground height (|shift| > max_floor_shift_m = {cfg.max_floor_shift_m} m); "
            "the root is below the ground or floating"
        )


def summarize(motion: HumanMotion) -> dict[str, Any]:
    """Plain-number summary of an accepted clip (for the JSON and the report)."""
    root_xy = motion.positions[:, 0, :2]
    dt = 1.0 / motion.fps
    speed = np.linalg.norm(np.diff(root_xy, axis=0), axis=-1) / dt
    head = motion.joint("head")[:, 2]
    return {
        "fps": float(motion.fps),
        "frames": motion.num_frames,
        "duration_s": float(motion.duration),
        "root_speed_mean_mps": float(speed.mean()) if speed.size else 0.0,
        "root_speed_median_mps": float(np.median(speed)) if speed.size else 0.0,
        "root_displacement_m": float(np.linalg.norm(root_xy[-1] - root_xy[0])),
        "pelvis_height_median_m": float(np.median(motion.joint("pelvis")[:, 2])),
        "head_height_median_m": float(np.median(head)),
    }


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The optional ``<stem>.meta.json`` beside a clip file (e.g. demo gait ground truth)."""
    sidecar = path.with_name(path.stem + ".meta.json")
    if not sidecar.is_file():
        return None
    try:
        data = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ClipError(f"{sidecar.name}: sidecar metadata is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ClipError(f"{sidecar.name}: sidecar metadata must be a JSON object")
    return data


def ingest(source: Path, clip_id: str, cfg: IngestConfig) -> tuple[HumanMotion | None, dict]:
    """Read, check and resample one clip. Returns ``(motion or None, summary)``."""
    summary: dict[str, Any] = {
        "clip": clip_id,
        "source": str(source),
        "settings": to_dict(cfg),
    }
    try:
        summary["sha256"] = sha256_file(source)
        sidecar = read_sidecar(source)
        if sidecar is not None:
            summary["sidecar"] = sidecar
        summary["synthetic"] = bool(sidecar and sidecar.get("synthetic", False))
        motion = read_clip(source, cfg)
        if cfg.resample_fps is not None and abs(cfg.resample_fps - motion.fps) > 1e-9:
            from mocap.resample import resample

            motion = resample(motion, cfg.resample_fps)
        check_motion(motion, cfg, source.name)
    except ClipError as e:
        summary.update(status="rejected", reason=str(e))
        return None, summary
    except OSError as e:
        summary.update(status="rejected", reason=f"{source.name}: cannot read file: {e}")
        return None, summary
    motion.meta["synthetic"] = summary["synthetic"]
    summary.update(status="accepted", reason=None, meta=motion.meta, **summarize(motion))
    return motion, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocap.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, type=Path, help="clip file (.bvh or .npz)")
    parser.add_argument("--clip", required=True, help="clip id, e.g. cmu/07_01")
    parser.add_argument("--out-npz", required=True, type=Path)
    parser.add_argument("--out-json", required=True, type=Path)
    parser.add_argument("--config", default="{}", help="IngestConfig as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = parse_json_arg(IngestConfig, args.config, "mocap (ingest)")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    motion, summary = ingest(args.input, args.clip, cfg)
    if motion is None:
        log.warning("%s rejected: %s", args.clip, summary["reason"])
        save_npz(args.out_npz, status=np.array("rejected"), reason=np.array(summary["reason"]))
    else:
        motion.save(args.out_npz)
        log.info(
            "%s accepted: %d frames at %g fps, %.2f s, root speed %.2f m/s",
            args.clip, motion.num_frames, motion.fps, motion.duration,
            summary["root_speed_median_mps"],
        )  # fmt: skip
    write_json(args.out_json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
