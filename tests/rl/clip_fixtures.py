"""Synthetic retargeted clips for the rl tests (a tiny reference dataset without the pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mocap import quat
from retarget.clip import RetargetedClip, save_clip
from retarget.robot import RobotModel


def synthetic_clip(folder: Path, clip_id: str, robot: RobotModel, speed: float) -> Path:
    """A retargeted clip (json + npz) walking along +x at ``speed`` m/s: default pose with the
    legs and arms swinging in antiphase and a bobbing root. Returns the json path."""
    fps, frames = 50.0, 150
    t = np.arange(frames) / fps
    z = robot.default_root_height + 0.02 * np.sin(2 * np.pi * 1.8 * t)
    root_pos = np.stack([speed * t, np.zeros_like(t), z], axis=-1)
    root_quat = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.zeros_like(t))
    phase = np.where(np.arange(29) < 6, 0.0, np.pi)[None]
    dof_pos = robot.default_dof_pos + 0.25 * np.sin(2 * np.pi * 0.9 * t[:, None] + phase)
    path = folder / f"{clip_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"clip": clip_id, "status": "accepted", "source": "synthetic",
                                "source_sha256": "0" * 64, "metrics": {}, "settings": {}}))  # fmt: skip
    save_clip(
        path.with_suffix(".npz"),
        RetargetedClip(fps, root_pos, root_quat, dof_pos, robot.dof_names),
    )
    return path
