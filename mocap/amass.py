"""AMASS / SMPL / SMPL-H / SMPL-X ``.npz`` clips into the canonical :class:`HumanMotion`.

A clip holds body-model parameters, not joint positions: per frame axis-angle rotations of every
model joint (``poses`` [T, 72 | 156 | 165], or SMPL-X style ``root_orient`` [T, 3],
``pose_body`` [T, 63], ``pose_hand`` [T, 90], ``pose_jaw`` [T, 3], ``pose_eye`` [T, 6]), the root
translation ``trans`` [T, 3] (metres, world frame, Z up in AMASS), the shape ``betas`` [B], the
``gender`` and the frame rate (``mocap_framerate`` or ``mocap_frame_rate``). The body model
(loaded with :mod:`smplx` from the folder ``mocap.body_models``) turns the shape into rest joint
positions; the joints are then posed with smplx's own rigid-transform chain
(``batch_rigid_transform``, the joint part of ``lbs``; skinning the 10,475 vertices is skipped
because joints do not depend on it) and global rotations are composed along the kinematic tree
with :mod:`mocap.quat`.

Body-model files looked for under ``<body_models>/<type>/``: ``SMPLX_<GENDER>.npz|pkl``,
``SMPLH_<GENDER>.npz|pkl``, ``SMPL_<GENDER>.pkl|npz``, or the AMASS / human_body_prior layout
``<gender>/model.npz``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import zipfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mocap import quat
from mocap.bvh import LEG_TO_HEIGHT, TYPICAL_LEG_M, round_fps
from mocap.bvh import floor_height as _floor_height
from mocap.fileio import sha256_file
from mocap.types import CANONICAL_JOINTS, CANONICAL_PARENT_INDICES, ClipError, HumanMotion

MODEL_TYPES = ("smpl", "smplh", "smplx")
GENDERS = ("neutral", "male", "female")

#: Width of the full axis-angle pose vector of each model type (3 x joints).
POSE_DIMS = {"smpl": 72, "smplh": 156, "smplx": 165}

#: The first 22 joints, common to SMPL, SMPL-H and SMPL-X, in model order.
SMPL_BODY_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)  # fmt: skip

#: Canonical joint -> SMPL body joint it is read from.
SMPL_TO_CANONICAL: dict[str, str] = {
    "pelvis": "pelvis",
    "left_hip": "left_hip", "right_hip": "right_hip",
    "left_knee": "left_knee", "right_knee": "right_knee",
    "left_ankle": "left_ankle", "right_ankle": "right_ankle",
    "left_toe": "left_foot", "right_toe": "right_foot",
    "spine": "spine1", "chest": "spine3", "neck": "neck", "head": "head",
    "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder",
    "left_elbow": "left_elbow", "right_elbow": "right_elbow",
    "left_wrist": "left_wrist", "right_wrist": "right_wrist",
}  # fmt: skip
_CANONICAL_INDEX = np.array(
    [SMPL_BODY_JOINTS.index(SMPL_TO_CANONICAL[j]) for j in CANONICAL_JOINTS]
)

_MODEL_INFO = {
    "smplx": ("SMPL-X", "SMPLX", (".npz", ".pkl"), "https://smpl-x.is.tue.mpg.de"),
    "smplh": ("SMPL-H", "SMPLH", (".npz", ".pkl"),
              "https://mano.is.tue.mpg.de ('Extended SMPL+H model', as used by AMASS)"),
    "smpl": ("SMPL", "SMPL", (".pkl", ".npz"), "https://smpl.is.tue.mpg.de"),
}  # fmt: skip

FPS_KEYS = ("mocap_framerate", "mocap_frame_rate")
#: Frames posed per batch (bounds memory on long clips).
CHUNK_FRAMES = 4096


# --- reading and checking the clip ----------------------------------------------------------------


class _Archive(dict):
    """The plain arrays of a clip archive, keyed by name; ``pickled`` lists object arrays that
    were not loaded (``allow_pickle=False``)."""

    def __init__(self, arrays: dict[str, np.ndarray], pickled: set[str]) -> None:
        super().__init__(arrays)
        self.pickled = pickled


def _load_npz(path: Path) -> _Archive:
    """All plain arrays of the archive; ClipError when it is not a readable npz."""
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ClipError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ClipError(f"{path}: not a readable .npz archive ({e})") from None
    if not isinstance(z, Mapping):
        raise ClipError(f"{path}: not an .npz archive (a single .npy array)")
    arrays: dict[str, np.ndarray] = {}
    pickled: set[str] = set()
    with z:
        for key in z.files:
            try:
                arrays[key] = z[key]
            except ValueError:
                # Object arrays such as AMASS's 'markers_latent_vids' need pickle: never loaded.
                pickled.add(key)
            except (OSError, EOFError, zipfile.BadZipFile) as e:
                raise ClipError(f"{path}: array {key!r} is corrupt ({e})") from None
    return _Archive(arrays, pickled)


def _require(path: Path, data: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """``data[key]``; ClipError naming the key when it is missing or a pickled object array."""
    if key in data:
        return np.asarray(data[key])
    if key in getattr(data, "pickled", ()):
        raise ClipError(f"{path}: {key!r} is a pickled object array, which is not loaded")
    raise ClipError(f"{path}: missing array {key!r}")


def _scalar_str(path: Path, data: Mapping[str, np.ndarray], key: str) -> str:
    value = _require(path, data, key)
    if value.size != 1 or value.dtype.kind not in "SU":
        raise ClipError(f"{path}: {key!r} must be a string, got {value.dtype} {value.shape}")
    item = value.reshape(()).item()
    if isinstance(item, bytes):
        try:
            item = item.decode("utf-8")
        except UnicodeDecodeError:
            raise ClipError(f"{path}: {key!r} is not valid UTF-8") from None
    return str(item).strip()


def _float_array(path: Path, data: Mapping[str, np.ndarray], key: str, shape: tuple) -> np.ndarray:
    """``data[key]`` as float64, checked against ``shape`` (None = any size) and for NaN/inf."""
    arr = _require(path, data, key)
    if arr.dtype.kind not in "fiu":
        raise ClipError(f"{path}: {key!r} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
        want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
        raise ClipError(f"{path}: {key!r} has shape {list(arr.shape)}, expected {want}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ClipError(f"{path}: {key!r} has a non-finite value (NaN/inf) at index {bad.tolist()}")
    return arr


def detect_model_type(path: Path, data: Mapping[str, np.ndarray]) -> str:
    """Body-model type of a clip: ``surface_model_type`` if present, else from the pose layout."""
    for key in ("surface_model_type", "poses", "root_orient", "pose_body"):
        if key in getattr(data, "pickled", ()):
            _require(path, data, key)
    if "surface_model_type" in data:
        name = _scalar_str(path, data, "surface_model_type").lower().replace("+", "")
        aliases = {"smplx": "smplx", "smplh": "smplh", "smpl": "smpl", "smplx_locked_head": "smplx"}
        if name not in aliases:
            raise ClipError(f"{path}: unknown surface_model_type {name!r} (smpl, smplh, smplx)")
        return aliases[name]
    if "poses" in data:
        width = np.asarray(data["poses"]).shape[-1] if np.ndim(data["poses"]) == 2 else None
        for model_type, dim in POSE_DIMS.items():
            if width == dim:
                return model_type
        raise ClipError(
            f"{path}: 'poses' has shape {list(np.shape(data['poses']))}; expected [T, 72] (SMPL), "
            "[T, 156] (SMPL-H) or [T, 165] (SMPL-X)"
        )
    if "root_orient" in data and "pose_body" in data:
        return "smplx" if ("pose_jaw" in data or "pose_eye" in data) else "smplh"
    raise ClipError(f"{path}: no body pose: expected 'poses' or 'root_orient' + 'pose_body'")


def _full_pose(path: Path, data: Mapping[str, np.ndarray], model_type: str) -> np.ndarray:
    """Axis-angle pose of every model joint [T, POSE_DIMS[model_type]], radians."""
    dim = POSE_DIMS[model_type]
    if "poses" in data:
        poses = _float_array(path, data, "poses", (None, None))
        if poses.shape[1] != dim:
            raise ClipError(
                f"{path}: 'poses' has {poses.shape[1]} values per frame, a {model_type} clip "
                f"needs {dim}"
            )
        return poses
    if "root_orient" not in data or "pose_body" not in data:
        raise ClipError(f"{path}: no body pose: expected 'poses' or 'root_orient' + 'pose_body'")
    root = _float_array(path, data, "root_orient", (None, 3))
    T = root.shape[0]
    parts = {"root_orient": root, "pose_body": _float_array(path, data, "pose_body", (T, 63))}
    for key, width in (("pose_jaw", 3), ("pose_eye", 6), ("pose_hand", 90)):
        parts[key] = (
            _float_array(path, data, key, (T, width)) if key in data else np.zeros((T, width))
        )
    order = {
        "smplx": ("root_orient", "pose_body", "pose_jaw", "pose_eye", "pose_hand"),
        "smplh": ("root_orient", "pose_body", "pose_hand"),
        "smpl": ("root_orient", "pose_body"),
    }[model_type]
    poses = np.concatenate([parts[k] for k in order], axis=1)
    if model_type == "smpl":  # SMPL's two hand joints (22, 23) stay at rest
        poses = np.concatenate([poses, np.zeros((T, 6))], axis=1)
    return poses


def _fps(path: Path, data: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """(rounded fps, header fps) from ``mocap_framerate`` or ``mocap_frame_rate``."""
    key = next((k for k in FPS_KEYS if k in data), None)
    if key is None:
        raise ClipError(
            f"{path}: missing frame rate: expected 'mocap_framerate' or 'mocap_frame_rate'"
        )
    value = np.asarray(data[key])
    if value.size != 1 or value.dtype.kind not in "fiu":
        raise ClipError(f"{path}: {key!r} must be a number, got {value.dtype} {list(value.shape)}")
    header = float(value.reshape(()))
    if not math.isfinite(header) or header <= 0.0:
        raise ClipError(f"{path}: {key!r} = {header} is not a positive frame rate")
    return round_fps(header), header


# --- body model --------------------------------------------------------------------------------


def body_model_candidates(body_models: Path, model_type: str, gender: str) -> list[Path]:
    """Files that may hold the ``model_type`` model of ``gender``, in order of preference."""
    _, prefix, exts, _ = _MODEL_INFO[model_type]
    folder = body_models / model_type
    files = [folder / f"{prefix}_{gender.upper()}{ext}" for ext in exts]
    return [*files, folder / gender / "model.npz"]


def _missing_model_message(
    path: Path, body_models: Path | None, model_type: str, gender: str
) -> str:
    label, prefix, exts, url = _MODEL_INFO[model_type]
    fname = f"{prefix}_{gender.upper()}{exts[0]}"
    if body_models is None:
        return (
            f"{path}: {label} body model needed but mocap.body_models is not set: put {fname} "
            f"(from {url}) in <folder>/{model_type}/ and set mocap.body_models: <folder> in "
            "config/config.yaml"
        )
    return (
        f"{path}: {label} body model not found: put {fname} (from {url}) in "
        f"{body_models}/{model_type}/ and set mocap.body_models in config/config.yaml"
    )


@lru_cache(maxsize=4)
def _load_body_model(file: str, model_type: str, gender: str, num_betas: int, mtime_ns: int) -> Any:
    """smplx model of ``file`` (float64, flat hand mean, no PCA); cached per file version."""
    import smplx
    import torch

    del mtime_ns  # part of the cache key only
    kwargs: dict[str, Any] = {
        "gender": gender,
        "num_betas": num_betas,
        "batch_size": 1,
        "dtype": torch.float64,
    }
    ext = Path(file).suffix.lstrip(".")
    sink = io.StringIO()  # smplx prints shape-space warnings to stdout
    try:
        with contextlib.redirect_stdout(sink):
            if model_type == "smplx":
                return smplx.SMPLX(file, ext=ext, use_pca=False, flat_hand_mean=True, **kwargs)
            if model_type == "smplh":
                return smplx.SMPLH(file, ext=ext, use_pca=False, flat_hand_mean=True, **kwargs)
            if ext == "npz":
                arrays = {}
                with np.load(file, allow_pickle=False) as z:
                    for key in z.files:
                        with contextlib.suppress(ValueError):  # object arrays: not needed
                            arrays[key] = z[key]
                struct = smplx.utils.Struct(**arrays)
                return smplx.SMPL(file, data_struct=struct, **kwargs)
            return smplx.SMPL(file, **kwargs)
    except Exception as e:  # a broken install is not a clip problem: fail loudly, say which file
        raise RuntimeError(f"body model {file} could not be loaded by smplx: {e}") from e


def pose_joints(
    model: Any, betas: np.ndarray, poses: np.ndarray, chunk: int = CHUNK_FRAMES
) -> np.ndarray:
    """Posed joint positions of every model joint [T, J, 3] (model frame, before ``trans``).

    Rest joints come from the model's joint regressor applied to the shaped template
    (``v_template + shapedirs . betas``), then smplx's ``batch_rigid_transform`` poses them
    frame by frame in chunks; identical to the ``joints[:, :J]`` of ``model(...)`` minus ``transl``.
    """
    import torch
    from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

    dtype = model.shapedirs.dtype
    parents = model.parents
    n_joints = parents.shape[0]
    T = poses.shape[0]
    out = np.empty((T, n_joints, 3))
    with torch.no_grad():
        b = torch.as_tensor(betas[None, : model.num_betas], dtype=dtype)
        v_shaped = model.v_template[None] + blend_shapes(b, model.shapedirs)
        rest = vertices2joints(model.J_regressor, v_shaped)  # [1, J, 3]
        for start in range(0, T, chunk):
            p = torch.as_tensor(poses[start : start + chunk], dtype=dtype)
            n = p.shape[0]
            rot = batch_rodrigues(p.reshape(-1, 3)).reshape(n, n_joints, 3, 3)
            joints, _ = batch_rigid_transform(rot, rest.expand(n, -1, -1), parents, dtype=dtype)
            out[start : start + n] = joints.numpy()
    return out


# --- rotations ---------------------------------------------------------------------------------


def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    """Unit quaternions (w, x, y, z) [..., 4] of axis-angle vectors [..., 3] (radians)."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(half) / angle, with its Taylor series near zero
    small = angle < 1e-6
    k = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(half), k * aa], axis=-1)


def global_rotations(poses: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Global rotations [T, J, 4] of the first ``len(parents)`` joints of axis-angle ``poses``.

    ``parents[j] < j`` (topological order); the global rotation composes as ``q_parent * q_local``.
    """
    J = len(parents)
    local = axis_angle_to_quat(poses.reshape(poses.shape[0], -1, 3)[:, :J])
    glob = np.empty_like(local)
    for j, p in enumerate(parents):
        glob[:, j] = local[:, j] if p < 0 else quat.mul(glob[:, p], local[:, j])
    return quat.normalize(glob)


def leg_length(positions: np.ndarray) -> float:
    """Hip-to-ankle leg length (thigh + shank), metres, mean of both sides, from frame 0.

    ``positions`` [T, 19, 3] canonical; segment lengths of a body model are pose-independent.
    """
    ix = CANONICAL_JOINTS.index
    p = positions[0]
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (p[ix(f"{side}_{j}")] for j in ("hip", "knee", "ankle"))
        total += float(np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee))
    return total / 2.0


def floor_height(positions: np.ndarray, leg_m: float, fps: float) -> tuple[float, str]:
    """Height of the floor (metres, Z up) estimated from the feet, exactly as the BVH reader does
    (:func:`mocap.bvh.floor_height`, body scale ``leg_m / TYPICAL_LEG_M``): a low percentile of
    the sole estimates over the clip on flat ground, the first stance's on non-flat ground.
    Returns (floor, method).
    """
    return _floor_height(positions, fps, leg_m / TYPICAL_LEG_M)


# --- the reader --------------------------------------------------------------------------------


def read_amass(
    path: str | os.PathLike[str],
    body_models: str | os.PathLike[str] | None,
    *,
    model_type: str | None = None,
) -> HumanMotion:
    """Read an AMASS / SMPL / SMPL-H / SMPL-X ``.npz`` clip as a canonical HumanMotion.

    path: the clip; body_models: folder holding ``smplx/``, ``smplh/``, ``smpl/`` model files
    (``mocap.body_models``), or None; model_type: ``"smpl"``, ``"smplh"`` or ``"smplx"`` to
    override detection (``surface_model_type`` key, else the pose layout).

    Returns positions [T, 19, 3] metres, world frame Z up (AMASS's own frame), shifted
    vertically so the floor (estimated from the feet, see :func:`floor_height`) is at z = 0, and
    global rotations [T, 19, 4] relative to the model's rest (T) pose. ``meta``: format,
    model_type, gender, fps_header, num_betas (used by the model), num_betas_clip, body_model
    (file), floor_shift_m (added to z), leg_length_m, height_estimate_m, up_axis, units.
    Raises ClipError for a bad clip or a missing body model.
    """
    path = Path(path)
    data = _load_npz(path)
    if model_type is not None:
        if model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
    else:
        model_type = detect_model_type(path, data)
    poses = _full_pose(path, data, model_type)
    T = poses.shape[0]
    if T == 0:
        raise ClipError(f"{path}: clip has zero frames")
    trans = _float_array(path, data, "trans", (T, 3))
    betas = _require(path, data, "betas")
    if betas.ndim == 2 and betas.shape[0] == 1:
        betas = betas[0]
    betas = _float_array(path, {"betas": betas}, "betas", (None,))
    if "gender" not in data and "gender" not in data.pickled:
        raise ClipError(f"{path}: missing 'gender' (male, female or neutral)")
    gender = _scalar_str(path, data, "gender").lower()
    if gender not in GENDERS:
        raise ClipError(f"{path}: unknown gender {gender!r} (male, female or neutral)")
    fps, fps_header = _fps(path, data)

    root = Path(body_models) if body_models is not None else None
    found = None
    if root is not None:
        found = next(
            (f for f in body_model_candidates(root, model_type, gender) if f.is_file()), None
        )
    if found is None:
        raise ClipError(_missing_model_message(path, root, model_type, gender))
    num_betas = max(1, len(betas))
    model = _load_body_model(str(found), model_type, gender, num_betas, found.stat().st_mtime_ns)
    used = int(model.num_betas)
    b = np.zeros(used)
    b[: min(used, len(betas))] = betas[:used]

    joints = pose_joints(model, b, poses)[:, : len(SMPL_BODY_JOINTS)] + trans[:, None, :]
    parents = model.parents.numpy().astype(np.int64)[: len(SMPL_BODY_JOINTS)]
    parents[0] = -1
    rotations = global_rotations(poses, parents)
    positions = joints[:, _CANONICAL_INDEX]
    rotations = rotations[:, _CANONICAL_INDEX]
    leg_m = leg_length(positions)
    floor, floor_method = floor_height(positions, leg_m, fps)
    positions[..., 2] -= floor

    meta = {
        "format": "amass",
        "model_type": model_type,
        "gender": gender,
        "fps_header": fps_header,
        "num_betas": used,
        "num_betas_clip": len(betas),
        "body_model": str(found),
        "floor_shift_m": -floor,
        "floor_method": floor_method,
        "leg_length_m": leg_m,
        "height_estimate_m": leg_m / LEG_TO_HEIGHT,
        "up_axis": "z",
        "units": "m",
    }
    return HumanMotion(
        fps=fps,
        joint_names=CANONICAL_JOINTS,
        parents=CANONICAL_PARENT_INDICES.copy(),
        positions=positions,
        rotations=rotations,
        source=str(path),
        sha256=sha256_file(path),
        meta=meta,
    )
