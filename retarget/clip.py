"""The retargeted-clip file ``results/retarget/{clip}.npz`` (DESIGN section 3): writer and reader.

Arrays (``allow_pickle=False``): ``fps`` (scalar, Hz), ``root_pos [T, 3]`` (m, world, pelvis
body origin), ``root_quat [T, 4]`` (w, x, y, z, world), ``dof_pos [T, 29]`` (rad, model joint
order), ``dof_names [29]`` (str), ``status`` ("accepted" or "rejected"), ``reason`` (str, empty
when accepted). A clip rejected before it was solved holds only ``status`` and ``reason`` (the
DAG's declared output must exist); a clip rejected by a quality gate keeps its motion so it can
be inspected. Files are written atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mocap.fileio import save_npz


class ClipFileError(ValueError):
    """A retargeted-clip file is missing arrays, has wrong shapes, or holds no motion."""


@dataclass
class RetargetedClip:
    """A G1 motion: fps (Hz), root_pos [T, 3] m, root_quat [T, 4] (w, x, y, z), dof_pos [T, 29]."""

    fps: float
    root_pos: np.ndarray
    root_quat: np.ndarray
    dof_pos: np.ndarray
    dof_names: tuple[str, ...]
    status: str = "accepted"
    reason: str = ""

    def __post_init__(self) -> None:
        self.root_pos = np.asarray(self.root_pos, dtype=np.float64)
        self.root_quat = np.asarray(self.root_quat, dtype=np.float64)
        self.dof_pos = np.asarray(self.dof_pos, dtype=np.float64)
        self.dof_names = tuple(str(n) for n in self.dof_names)
        T = self.dof_pos.shape[0]
        D = len(self.dof_names)
        if self.root_pos.shape != (T, 3) or self.root_quat.shape != (T, 4):
            raise ClipFileError(
                f"root_pos/root_quat must be [{T}, 3]/[{T}, 4], got "
                f"{self.root_pos.shape}/{self.root_quat.shape}"
            )
        if self.dof_pos.shape != (T, D):
            raise ClipFileError(f"dof_pos must be [{T}, {D}], got {self.dof_pos.shape}")
        if not self.fps > 0:
            raise ClipFileError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.dof_pos.shape[0])

    def qpos(self, root_qpos_adr: int, qpos_adr: np.ndarray, nq: int) -> np.ndarray:
        """MuJoCo qpos [T, nq] for a model with the given root and joint addresses."""
        q = np.zeros((self.num_frames, nq))
        q[:, root_qpos_adr : root_qpos_adr + 3] = self.root_pos
        q[:, root_qpos_adr + 3 : root_qpos_adr + 7] = self.root_quat
        q[:, np.asarray(qpos_adr)] = self.dof_pos
        return q


def save_clip(path: str | os.PathLike[str], clip: RetargetedClip) -> None:
    """Write a solved clip (accepted, or rejected by a gate with its motion kept)."""
    save_npz(
        path,
        fps=np.float64(clip.fps),
        root_pos=clip.root_pos.astype(np.float32),
        root_quat=clip.root_quat.astype(np.float32),
        dof_pos=clip.dof_pos.astype(np.float32),
        dof_names=np.array(clip.dof_names, dtype=np.str_),
        status=np.array(clip.status, dtype=np.str_),
        reason=np.array(clip.reason, dtype=np.str_),
    )


def save_rejected(path: str | os.PathLike[str], reason: str) -> None:
    """Write the minimal file of a clip rejected before solving (status and reason only)."""
    save_npz(path, status=np.array("rejected", dtype=np.str_), reason=np.array(reason, np.str_))


def read_status(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(status, reason)`` of a clip file."""
    with np.load(path, allow_pickle=False) as z:
        if "status" not in z:
            raise ClipFileError(f"{path}: no 'status' array; not a retargeted-clip file")
        return str(z["status"]), str(z["reason"]) if "reason" in z else ""


def load_clip(path: str | os.PathLike[str], allow_rejected: bool = False) -> RetargetedClip:
    """Read a clip file. Raises :class:`ClipFileError` for a rejected clip (unless
    ``allow_rejected`` and it holds a motion) or a malformed file."""
    with np.load(path, allow_pickle=False) as z:
        status = str(z["status"]) if "status" in z else "accepted"
        reason = str(z["reason"]) if "reason" in z else ""
        if status != "accepted" and not allow_rejected:
            raise ClipFileError(f"{path}: clip was rejected: {reason}")
        missing = [k for k in ("fps", "root_pos", "root_quat", "dof_pos", "dof_names") if k not in z]
        if missing:
            raise ClipFileError(f"{path}: missing arrays {missing} (status {status}: {reason})")
        try:
            return RetargetedClip(
                fps=float(z["fps"]),
                root_pos=z["root_pos"],
                root_quat=z["root_quat"],
                dof_pos=z["dof_pos"],
                dof_names=tuple(str(s) for s in z["dof_names"]),
                status=status,
                reason=reason,
            )
        except ClipFileError as e:
            raise ClipFileError(f"{path}: {e}") from e
