"""The canonical human motion every reader produces (DESIGN section 3).

Frames and units: positions in metres in a right-handed world frame with +Z up (the ground is
near z = 0 after ingestion); rotations are global unit quaternions (w, x, y, z), see
:mod:`mocap.quat`, expressed relative to the source skeleton's rest pose (identity = the joint's
orientation in the file's rest/offset pose), so they are comparable within one clip, not across
skeletons. Shapes: ``positions [T, J, 3]``, ``rotations [T, J, 4]``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mocap.fileio import save_npz

#: The canonical human joint set, in a fixed order; every reader maps onto it.
CANONICAL_JOINTS: tuple[str, ...] = (
    "pelvis",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_toe", "right_toe",
    "spine", "chest", "neck", "head",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)  # fmt: skip

#: Parent of each canonical joint (name), ``None`` for the root.
CANONICAL_PARENTS: dict[str, str | None] = {
    "pelvis": None,
    "left_hip": "pelvis", "right_hip": "pelvis",
    "left_knee": "left_hip", "right_knee": "right_hip",
    "left_ankle": "left_knee", "right_ankle": "right_knee",
    "left_toe": "left_ankle", "right_toe": "right_ankle",
    "spine": "pelvis", "chest": "spine", "neck": "chest", "head": "neck",
    "left_shoulder": "chest", "right_shoulder": "chest",
    "left_elbow": "left_shoulder", "right_elbow": "right_shoulder",
    "left_wrist": "left_elbow", "right_wrist": "right_elbow",
}  # fmt: skip

CANONICAL_PARENT_INDICES: np.ndarray = np.array(
    [-1 if CANONICAL_PARENTS[j] is None else CANONICAL_JOINTS.index(CANONICAL_PARENTS[j])
     for j in CANONICAL_JOINTS],
    dtype=np.int64,
)  # fmt: skip


class ClipError(ValueError):
    """A clip cannot be used; the message names the file and what is wrong (and the line for BVH).

    Readers raise it for bad input; the ingest CLI turns it into a ``status: rejected`` summary
    so the rest of the DAG goes on. Anything else is a bug and fails loudly.
    """


@dataclass
class HumanMotion:
    """A human motion clip on the canonical skeleton.

    fps: frames per second of ``positions``/``rotations``.
    joint_names: canonical joint names, normally :data:`CANONICAL_JOINTS`.
    parents: parent index of each joint, -1 for the root [J].
    positions: global joint positions, metres, world frame, +Z up [T, J, 3].
    rotations: global joint rotations (w, x, y, z) relative to the rest pose [T, J, 4], or None.
    source: path of the source file; sha256: hex digest of its bytes.
    meta: free-form provenance (format, units, up axis, trimmed frames, synthetic flag, ...).
    """

    fps: float
    joint_names: tuple[str, ...]
    parents: np.ndarray
    positions: np.ndarray
    rotations: np.ndarray | None = None
    source: str = ""
    sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.joint_names = tuple(self.joint_names)
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        J = len(self.joint_names)
        if self.positions.ndim != 3 or self.positions.shape[1:] != (J, 3):
            raise ValueError(f"positions must be [T, {J}, 3], got {self.positions.shape}")
        if self.parents.shape != (J,):
            raise ValueError(f"parents must be [{J}], got {self.parents.shape}")
        if self.rotations is not None:
            self.rotations = np.asarray(self.rotations, dtype=np.float64)
            if self.rotations.shape != (self.num_frames, J, 4):
                raise ValueError(
                    f"rotations must be [{self.num_frames}, {J}, 4], got {self.rotations.shape}"
                )
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps

    def index(self, joint: str) -> int:
        return self.joint_names.index(joint)

    def joint(self, name: str) -> np.ndarray:
        """Positions of one joint [T, 3]."""
        return self.positions[:, self.index(name)]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to ``path`` (.npz) atomically, without pickled objects."""
        arrays: dict[str, np.ndarray] = {
            "fps": np.float64(self.fps),
            "joint_names": np.array(self.joint_names, dtype=np.str_),
            "parents": self.parents,
            "positions": self.positions.astype(np.float32),
            "source": np.array(self.source, dtype=np.str_),
            "sha256": np.array(self.sha256, dtype=np.str_),
            "meta_json": np.array(json.dumps(self.meta, sort_keys=True), dtype=np.str_),
        }
        if self.rotations is not None:
            arrays["rotations"] = self.rotations.astype(np.float32)
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HumanMotion:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                fps=float(z["fps"]),
                joint_names=tuple(str(s) for s in z["joint_names"]),
                parents=z["parents"],
                positions=z["positions"].astype(np.float64),
                rotations=z["rotations"].astype(np.float64) if "rotations" in z else None,
                source=str(z["source"]),
                sha256=str(z["sha256"]),
                meta=json.loads(str(z["meta_json"])),
            )
