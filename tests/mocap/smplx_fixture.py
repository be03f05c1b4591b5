"""Tiny synthetic SMPL-X / SMPL-H body models and AMASS-style clips for the AMASS reader tests.

The real body models are licensed and cannot ship with the project, so the tests build files with
exactly the array layout that :mod:`smplx` reads (real vertex counts, because smplx hard-codes
vertex ids for landmarks and extra joints), but with a deliberately simple body:

- joint ``j`` is regressed from one dedicated vertex (vertex ``j``) placed at ``REST_JOINTS[j]``,
  a plausible adult rest skeleton (metres, model frame: +Y up, +X to the body's left, +Z forward);
- every vertex is skinned rigidly to one joint (vertex ``j`` to joint ``j``, the rest to the
  pelvis), so the posed vertex ``j`` coincides with the posed joint ``j``;
- shape component 0 scales the whole rest body by 10 % per unit of ``betas[0]``; every other
  shape, expression and pose corrective is zero.

So forward kinematics through smplx gives joint positions a test can compute by hand with
:func:`reference_fk`. Files are written to a temporary folder per test session, never committed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap import quat

#: Body joints shared by SMPL, SMPL-H and SMPL-X (first 22), in smplx order.
BODY_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)  # fmt: skip
BODY_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
)  # fmt: skip

#: Rest positions of the 22 body joints, metres, model frame (+Y up, +X left, +Z forward).
BODY_REST = np.array(
    [
        [0.00, -0.22, 0.03],  # pelvis
        [0.07, -0.31, 0.02], [-0.07, -0.31, 0.02],  # hips
        [0.00, -0.11, 0.00],  # spine1
        [0.10, -0.69, 0.02], [-0.10, -0.69, 0.02],  # knees
        [0.00, 0.02, 0.01],  # spine2
        [0.09, -1.09, -0.02], [-0.09, -1.09, -0.02],  # ankles
        [0.00, 0.07, 0.03],  # spine3
        [0.12, -1.15, 0.10], [-0.12, -1.15, 0.10],  # feet (toe bases)
        [0.00, 0.29, -0.01],  # neck
        [0.08, 0.19, -0.01], [-0.08, 0.19, -0.01],  # collars
        [0.00, 0.36, 0.04],  # head
        [0.20, 0.24, -0.02], [-0.20, 0.24, -0.02],  # shoulders
        [0.45, 0.22, -0.04], [-0.45, 0.22, -0.04],  # elbows
        [0.72, 0.23, -0.05], [-0.72, 0.23, -0.05],  # wrists
    ]
)  # fmt: skip

# Hand joints (15 per hand, MANO order index, middle, pinky, ring, thumb; 3 segments each),
# laid out from the wrist along +-x.
_FINGER_Z = (0.03, 0.01, -0.03, -0.01, 0.05)
_FINGER_X = ((0.09, 0.12, 0.145),) * 4 + ((0.03, 0.05, 0.07),)

#: Per model type: vertex count, face count, joint count, shape components in the file.
LAYOUTS: dict[str, dict[str, int]] = {
    "smplx": {"vertices": 10475, "faces": 20908, "joints": 55, "shape_dirs": 20},
    "smplh": {"vertices": 6890, "faces": 13776, "joints": 52, "shape_dirs": 16},
    "smpl": {"vertices": 6890, "faces": 13776, "joints": 24, "shape_dirs": 10},
}


def _hand(side: int, first_index: int) -> tuple[np.ndarray, list[int]]:
    """Rest positions [15, 3] and parents of one hand; ``first_index`` = index of its 1st joint."""
    wrist = 20 if side > 0 else 21
    rest, parents = [], []
    for f in range(5):
        for s in range(3):
            x = BODY_REST[wrist, 0] + side * _FINGER_X[f][s]
            rest.append([x, BODY_REST[wrist, 1], BODY_REST[wrist, 2] + _FINGER_Z[f]])
            parents.append(wrist if s == 0 else first_index + 3 * f + s - 1)
    return np.array(rest), parents


def skeleton(model_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Rest joints [J, 3] (model frame, metres) and parent indices [J] of the synthetic model."""
    if model_type == "smplx":
        face = np.array([[0.00, 0.30, 0.05], [0.03, 0.42, 0.09], [-0.03, 0.42, 0.09]])
        left, lp = _hand(+1, 25)
        right, rp = _hand(-1, 40)
        rest = np.concatenate([BODY_REST, face, left, right])
        parents = [*BODY_PARENTS, 15, 15, 15, *lp, *rp]
    elif model_type == "smplh":
        left, lp = _hand(+1, 22)
        right, rp = _hand(-1, 37)
        rest = np.concatenate([BODY_REST, left, right])
        parents = [*BODY_PARENTS, *lp, *rp]
    elif model_type == "smpl":  # one joint per hand (SMPL's left_hand, right_hand)
        hands = BODY_REST[[20, 21]] + [[0.08, 0.0, 0.0], [-0.08, 0.0, 0.0]]
        rest = np.concatenate([BODY_REST, hands])
        parents = [*BODY_PARENTS, 20, 21]
    else:
        raise ValueError(f"no synthetic layout for model type {model_type!r}")
    return rest, np.array(parents, dtype=np.int64)


def body_model_arrays(model_type: str = "smplx") -> dict[str, np.ndarray]:
    """The arrays of a synthetic ``SMPLX_*.npz`` / ``SMPLH_*.npz`` / ``SMPL_*.npz``, keyed as
    smplx reads them (SMPL has no hand PCA arrays)."""
    lay = LAYOUTS[model_type]
    n_v, n_j = lay["vertices"], lay["joints"]
    rest, parents = skeleton(model_type)
    assert rest.shape == (n_j, 3)
    v_template = np.zeros((n_v, 3), dtype=np.float32)
    v_template[:n_j] = rest
    j_regressor = np.zeros((n_j, n_v), dtype=np.float32)
    j_regressor[np.arange(n_j), np.arange(n_j)] = 1.0
    weights = np.zeros((n_v, n_j), dtype=np.float32)
    weights[np.arange(n_j), np.arange(n_j)] = 1.0
    weights[n_j:, 0] = 1.0
    shapedirs = np.zeros((n_v, 3, lay["shape_dirs"]), dtype=np.float32)
    shapedirs[:n_j, :, 0] = 0.1 * rest
    faces = (np.arange(lay["faces"])[:, None] + np.arange(3)[None, :]) % n_v
    kintree = np.stack([parents, np.arange(n_j)]).astype(np.int64)
    arrays: dict[str, np.ndarray] = {
        "v_template": v_template,
        "f": faces.astype(np.int32),
        "shapedirs": shapedirs,
        "posedirs": np.zeros((n_v, 3, 9 * (n_j - 1)), dtype=np.float32),
        "J_regressor": j_regressor,
        "kintree_table": kintree,
        "weights": weights,
    }
    if model_type in ("smplx", "smplh"):
        arrays.update(
            hands_componentsl=np.eye(45, dtype=np.float32),
            hands_componentsr=np.eye(45, dtype=np.float32),
            hands_meanl=np.zeros(45, dtype=np.float32),
            hands_meanr=np.zeros(45, dtype=np.float32),
        )
    if model_type == "smplx":
        bary = np.full((51, 3), 1.0 / 3.0, dtype=np.float32)
        arrays.update(
            lmk_faces_idx=np.arange(51, dtype=np.int64),
            lmk_bary_coords=bary,
            dynamic_lmk_faces_idx=np.zeros((79, 17), dtype=np.int64),
            dynamic_lmk_bary_coords=np.full((79, 17, 3), 1.0 / 3.0, dtype=np.float32),
        )
    return arrays


def make_body_model(body_models: Path, model_type: str = "smplx", gender: str = "neutral") -> Path:
    """Write ``body_models/<model_type>/<SMPLX|SMPLH|SMPL>_<GENDER>.npz``; return its path."""
    prefix = {"smplx": "SMPLX", "smplh": "SMPLH", "smpl": "SMPL"}[model_type]
    folder = Path(body_models) / model_type
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}_{gender.upper()}.npz"
    np.savez_compressed(path, **body_model_arrays(model_type))
    return path


def make_smplx_model(folder: Path, gender: str = "neutral") -> Path:
    """Synthetic SMPL-X model ``folder/smplx/SMPLX_<GENDER>.npz`` (``folder`` = body-model root)."""
    return make_body_model(folder, "smplx", gender)


def make_smplh_model(folder: Path, gender: str = "neutral") -> Path:
    """Synthetic SMPL-H model ``folder/smplh/SMPLH_<GENDER>.npz`` (``folder`` = body-model root)."""
    return make_body_model(folder, "smplh", gender)


# --- clips -------------------------------------------------------------------------------------

#: Root orientation that stands a +Y-up model up in the Z-up world (+90 degrees about x).
Z_UP_ROOT = np.array([np.pi / 2, 0.0, 0.0])

POSE_DIMS = {"smpl": 72, "smplh": 156, "smplx": 165}


def walking_poses(
    num_frames: int, fps: float, model_type: str = "smplx", hip_rate: float = 1.0
) -> np.ndarray:
    """Full poses [T, 3 * J]: root stood up (Z_UP_ROOT), left hip flexing about the model x axis
    at ``hip_rate`` rad/s from 0 (so its angle at frame k is ``hip_rate * k / fps``)."""
    poses = np.zeros((num_frames, POSE_DIMS[model_type]))
    poses[:, 0:3] = Z_UP_ROOT
    poses[:, 3:6] = np.array([1.0, 0.0, 0.0]) * (hip_rate * np.arange(num_frames) / fps)[:, None]
    return poses


def walking_trans(
    num_frames: int, fps: float, speed: float = 1.0, height: float = 0.9
) -> np.ndarray:
    """Root translation [T, 3]: along world +x at ``speed`` m/s, constant ``height`` m (Z up)."""
    t = np.arange(num_frames) / fps
    return np.stack([speed * t, np.zeros_like(t), np.full_like(t, height)], axis=1)


def write_amass_clip(
    path: Path,
    poses: np.ndarray,
    trans: np.ndarray,
    *,
    fps: float = 120.0,
    fps_key: str = "mocap_framerate",
    gender: str | bytes = "neutral",
    betas: np.ndarray | None = None,
    layout: str = "poses",
    surface_model_type: str | None = None,
    drop: tuple[str, ...] = (),
    **extra: np.ndarray,
) -> Path:
    """Write an AMASS-style ``.npz`` clip; returns ``path``.

    layout: ``"poses"`` (one ``poses`` array, as AMASS SMPL+H G), ``"separate"`` (SMPL-X style
    ``root_orient``/``pose_body``/``pose_jaw``/``pose_eye``/``pose_hand``, from a 165-dim pose)
    or ``"both"`` (as the AMASS SMPL-X N release). ``gender`` as ``str`` is stored as a unicode
    scalar, as ``bytes`` as a bytes scalar (both occur in AMASS). ``drop`` removes keys, ``extra``
    adds or replaces arrays (for malformed-file tests).
    """
    arrays: dict[str, np.ndarray] = {
        "trans": np.asarray(trans),
        "gender": np.array(gender),
        "betas": np.zeros(16) if betas is None else np.asarray(betas),
        fps_key: np.array(fps),
    }
    poses = np.asarray(poses)
    if layout in ("poses", "both"):
        arrays["poses"] = poses
    if layout in ("separate", "both"):
        if poses.shape[1] != 165:
            raise ValueError("separate keys are written from a 165-dim SMPL-X pose")
        arrays.update(
            root_orient=poses[:, :3],
            pose_body=poses[:, 3:66],
            pose_jaw=poses[:, 66:69],
            pose_eye=poses[:, 69:75],
            pose_hand=poses[:, 75:165],
        )
    if surface_model_type is not None:
        arrays["surface_model_type"] = np.array(surface_model_type)
    for key in drop:
        arrays.pop(key, None)
    arrays.update(extra)
    np.savez(path, **arrays)
    return Path(path)


# --- an independent oracle -----------------------------------------------------------------------


def axis_angle_quat(aa: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) [..., 4] of axis-angle vectors [..., 3] (radians)."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1)
    axis = np.where(angle[..., None] > 0, aa / np.maximum(angle, 1e-300)[..., None], [1.0, 0, 0])
    return quat.from_axis_angle(axis, angle)


def reference_fk(
    poses: np.ndarray, trans: np.ndarray, rest: np.ndarray, parents: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global joint positions [T, J, 3] and rotations [T, J, 4] by plain per-joint FK (no smplx).

    ``poses`` [T, 3 * J] axis-angle per joint, ``trans`` [T, 3]; the root rotates about its own
    rest position and translates by ``trans`` (the SMPL convention).
    """
    T, J = poses.shape[0], len(parents)
    local = axis_angle_quat(poses.reshape(T, -1, 3)[:, :J])
    rot = np.zeros((T, J, 4))
    pos = np.zeros((T, J, 3))
    for j in range(J):
        p = parents[j]
        if p < 0:
            rot[:, j] = local[:, j]
            pos[:, j] = rest[j] + trans
        else:
            rot[:, j] = quat.mul(rot[:, p], local[:, j])
            pos[:, j] = pos[:, p] + quat.rotate(rot[:, p], rest[j] - rest[p])
    return pos, rot
