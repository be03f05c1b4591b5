"""A small, generic BVH writer (plus the Euler and forward-kinematics helpers it needs).

A skeleton is given by joint names, parent indices, rest offsets (parent frame, in the caller's
length unit), one rotation order per joint and optional End Sites. The root carries
``Xposition Yposition Zposition`` plus its rotation channels; every other joint carries rotation
channels only. Euler angles follow the BVH convention of :func:`mocap.quat.from_euler`: for order
``"ZXY"`` the channels are ``Zrotation Xrotation Yrotation`` and the local rotation is
``R = Rz @ Rx @ Ry`` (the first channel is the outermost rotation).

Shapes: ``root_pos [T, 3]`` (caller's length unit), ``local_euler_deg [T, J, 3]`` (degrees, the
three angles of joint ``j`` in the order ``rotation_orders[j]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mocap import quat
from mocap.fileio import atomic_path

_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


@dataclass(frozen=True, eq=False)
class BvhSkeleton:
    """A BVH joint hierarchy.

    names: joint names (no whitespace), unique [J].
    parents: parent index of each joint, -1 for the root (joint 0 only); ``parents[j] < j``.
    offsets: rest offset of each joint from its parent, parent frame, length unit of the caller
        [J, 3] (the root's offset is written as given, normally zero).
    rotation_orders: Euler order of each joint's rotation channels, e.g. ``"ZXY"`` [J].
    end_sites: End Site offset under each joint (its frame), or None for no End Site [J].
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    rotation_orders: tuple[str, ...]
    end_sites: tuple[tuple[float, float, float] | None, ...]

    def __post_init__(self) -> None:
        J = len(self.names)
        object.__setattr__(self, "offsets", np.asarray(self.offsets, dtype=np.float64))
        if len(set(self.names)) != J or any(
            not n or any(c.isspace() for c in n) for n in self.names
        ):
            raise ValueError(f"joint names must be unique and free of whitespace: {self.names}")
        if len(self.parents) != J or self.parents[0] != -1:
            raise ValueError("parents must have one entry per joint and parents[0] == -1")
        if any(not 0 <= p < j for j, p in enumerate(self.parents) if j > 0):
            raise ValueError(f"parents must satisfy 0 <= parents[j] < j for j > 0: {self.parents}")
        if self.offsets.shape != (J, 3):
            raise ValueError(f"offsets must be [{J}, 3], got {self.offsets.shape}")
        if len(self.rotation_orders) != J or len(self.end_sites) != J:
            raise ValueError("rotation_orders and end_sites need one entry per joint")
        for order in self.rotation_orders:
            if sorted(order.upper()) != ["X", "Y", "Z"]:
                raise ValueError(f"bad rotation order {order!r}: a permutation of XYZ is needed")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    def dfs_order(self) -> list[int]:
        """Joint indices in the order the HIERARCHY lists them (depth first, children by index)."""
        order: list[int] = []
        stack = [0]
        while stack:
            j = stack.pop()
            order.append(j)
            stack.extend(reversed(self.children(j)))
        return order


def euler_from_matrix(m: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (radians) [..., 3] of rotation matrices [..., 3, 3].

    Inverse of :func:`mocap.quat.from_euler` for Tait-Bryan orders (a permutation of ``XYZ``):
    ``R = R_order[0](a0) @ R_order[1](a1) @ R_order[2](a2)``, with ``a1`` in [-pi/2, pi/2].
    """
    order = order.upper()
    i, j, k = (_AXIS_INDEX[c] for c in order)
    sign = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    m = np.asarray(m, dtype=np.float64)
    a1 = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    a0 = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    a2 = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    return np.stack([a0, a1, a2], axis=-1)


def unwrap_euler_deg(euler_deg: np.ndarray) -> np.ndarray:
    """Remove +-360 degree jumps along time (axis 0) in each angle; the rotations do not change."""
    return np.rad2deg(np.unwrap(np.deg2rad(euler_deg), axis=0))


def forward_kinematics(
    skeleton: BvhSkeleton, root_pos: np.ndarray, local_euler_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global joint positions [T, J, 3] and rotations [T, J, 4] (w, x, y, z), file frame.

    Same length unit as ``offsets`` and ``root_pos``; the root sits at ``offsets[0] + root_pos``
    as in a BVH file.
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    euler = np.asarray(local_euler_deg, dtype=np.float64)
    T, J = euler.shape[0], skeleton.num_joints
    if euler.shape != (T, J, 3) or root_pos.shape != (T, 3):
        raise ValueError(f"need root_pos [T, 3] and local_euler_deg [T, {J}, 3], got "
                         f"{root_pos.shape} and {euler.shape}")  # fmt: skip
    pos = np.empty((T, J, 3))
    rot = np.empty((T, J, 4))
    for j in range(J):
        q_local = quat.from_euler(euler[:, j], skeleton.rotation_orders[j])
        p = skeleton.parents[j]
        if p < 0:
            rot[:, j] = q_local
            pos[:, j] = skeleton.offsets[j] + root_pos
        else:
            rot[:, j] = quat.mul(rot[:, p], q_local)
            pos[:, j] = pos[:, p] + quat.rotate(rot[:, p], skeleton.offsets[j])
    return pos, rot


def end_site_positions(
    skeleton: BvhSkeleton, positions: np.ndarray, rotations: np.ndarray
) -> dict[str, np.ndarray]:
    """Global End Site positions [T, 3] keyed by the joint they hang under."""
    out: dict[str, np.ndarray] = {}
    for j, end in enumerate(skeleton.end_sites):
        if end is not None:
            out[skeleton.names[j]] = positions[:, j] + quat.rotate(rotations[:, j], np.array(end))
    return out


def _fmt(values: np.ndarray) -> np.ndarray:
    """Compact text of numbers (``%.6g``, ``-0`` written as ``0``)."""
    values = np.where(values == 0.0, 0.0, values)  # no "-0"
    return np.char.mod("%.6g", values)


def _fmt_offset(v: np.ndarray) -> str:
    return " ".join(str(s) for s in _fmt(np.asarray(v, dtype=np.float64)))


def hierarchy_text(skeleton: BvhSkeleton, length_scale: float = 1.0) -> str:
    """The HIERARCHY block (offsets multiplied by ``length_scale``), tab indented."""
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        if skeleton.parents[j] < 0:
            lines.append(f"{pad}ROOT {skeleton.names[j]}")
        else:
            lines.append(f"{pad}JOINT {skeleton.names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET {_fmt_offset(skeleton.offsets[j] * length_scale)}")
        rot = " ".join(f"{c}rotation" for c in skeleton.rotation_orders[j].upper())
        if skeleton.parents[j] < 0:
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition {rot}")
        else:
            lines.append(f"{pad}\tCHANNELS 3 {rot}")
        for c in skeleton.children(j):
            emit(c, depth + 1)
        end = skeleton.end_sites[j]
        if end is not None:
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET {_fmt_offset(np.array(end) * length_scale)}")
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    emit(0, 0)
    return "\n".join(lines) + "\n"


def write_bvh(
    path: str | os.PathLike[str],
    skeleton: BvhSkeleton,
    root_pos: np.ndarray,
    local_euler_deg: np.ndarray,
    fps: float,
    *,
    length_scale: float = 1.0,
) -> None:
    """Write a BVH file atomically.

    root_pos: root translation [T, 3]; local_euler_deg: [T, J, 3] degrees, joint ``j``'s angles in
    the order ``skeleton.rotation_orders[j]``; fps: frames per second (``Frame Time`` = 1/fps,
    written with 9 significant digits); length_scale: file units per caller unit (100 to write
    metres as centimetres), applied to offsets, End Sites and root positions.
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    euler = np.asarray(local_euler_deg, dtype=np.float64)
    T, J = root_pos.shape[0], skeleton.num_joints
    if root_pos.shape != (T, 3) or euler.shape != (T, J, 3):
        raise ValueError(f"{path}: need root_pos [T, 3] and local_euler_deg [T, {J}, 3], got "
                         f"{root_pos.shape} and {euler.shape}")  # fmt: skip
    if T == 0:
        raise ValueError(f"{path}: no frames to write")
    if not (np.isfinite(root_pos).all() and np.isfinite(euler).all()):
        raise ValueError(f"{path}: non-finite values in the motion")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"{path}: fps must be positive, got {fps}")
    order = skeleton.dfs_order()
    columns = np.concatenate([root_pos * length_scale, euler[:, order].reshape(T, 3 * J)], axis=1)
    text = _fmt(columns)
    body = "\n".join(" ".join(row) for row in text)
    header = f"MOTION\nFrames: {T}\nFrame Time: {1.0 / fps:.9g}\n"
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(hierarchy_text(skeleton, length_scale))
        f.write(header)
        f.write(body)
        f.write("\n")
