"""AMASS / SMPL / SMPL-H / SMPL-X reader on synthetic body models and clips (smplx_fixture.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from smplx_fixture import (
    Z_UP_ROOT,
    make_body_model,
    make_smplh_model,
    make_smplx_model,
    reference_fk,
    skeleton,
    walking_poses,
    walking_trans,
    write_amass_clip,
)

from mocap import quat
from mocap.amass import read_amass
from mocap.types import CANONICAL_JOINTS, CANONICAL_PARENT_INDICES, ClipError

# Canonical joint -> SMPL joint index, written out independently of mocap.amass.
CANONICAL_FROM_SMPL = {
    "pelvis": 0, "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5,
    "left_ankle": 7, "right_ankle": 8, "left_toe": 10, "right_toe": 11, "spine": 3,
    "chest": 9, "neck": 12, "head": 15, "left_shoulder": 16, "right_shoulder": 17,
    "left_elbow": 18, "right_elbow": 19, "left_wrist": 20, "right_wrist": 21,
}  # fmt: skip
IDX = [CANONICAL_FROM_SMPL[j] for j in CANONICAL_JOINTS]
FPS_AMASS = 120.00004577636719


@pytest.fixture(scope="session")
def body_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Body-model root with synthetic SMPL-X (neutral, female) and SMPL-H (male) files."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("body_models")
    make_smplx_model(root, "neutral")
    make_smplx_model(root, "female")
    make_smplh_model(root, "male")
    return root


def expected(poses: np.ndarray, trans: np.ndarray, model_type: str, scale: float = 1.0):
    """Canonical positions [T, 19, 3] (before the floor shift) and rotations by plain FK."""
    rest, parents = skeleton(model_type)
    pos, rot = reference_fk(poses, trans, scale * rest, parents)
    return pos[:, IDX], rot[:, IDX]


def clip(tmp_path: Path, name: str = "walk.npz", frames: int = 121, **kw) -> Path:
    model_type = kw.pop("model_type", "smplx")
    poses = kw.pop("poses", walking_poses(frames, 120.0, model_type))
    trans = kw.pop("trans", walking_trans(frames, 120.0))
    return write_amass_clip(tmp_path / name, poses, trans, **kw)


def test_smplx_clip_matches_reference_fk(body_models: Path, tmp_path: Path) -> None:
    poses = walking_poses(121, 120.0, hip_rate=1.5)
    poses[:, 16 * 3 : 17 * 3] = [0.0, 0.0, -0.7]  # left shoulder lowered
    poses[:, 4 * 3 : 5 * 3] = [0.4, 0.0, 0.0]  # left knee bent
    trans = walking_trans(121, 120.0)
    path = write_amass_clip(tmp_path / "a.npz", poses, trans, fps=FPS_AMASS)
    m = read_amass(path, body_models)
    pos, rot = expected(poses, trans, "smplx")
    shift = m.meta["floor_shift_m"]
    assert m.joint_names == CANONICAL_JOINTS
    np.testing.assert_array_equal(m.parents, CANONICAL_PARENT_INDICES)
    assert m.positions.shape == (121, 19, 3) and m.rotations.shape == (121, 19, 4)
    np.testing.assert_allclose(m.positions, pos + [0.0, 0.0, shift], atol=1e-6)
    assert quat.angle_between(m.rotations, rot).max() < 1e-6
    assert m.meta["format"] == "amass" and m.meta["model_type"] == "smplx"
    assert m.meta["gender"] == "neutral" and m.meta["num_betas"] == 10
    assert m.source == str(path) and len(m.sha256) == 64


def test_root_speed_fps_and_floor(body_models: Path, tmp_path: Path) -> None:
    m = read_amass(clip(tmp_path, fps=FPS_AMASS), body_models)
    assert m.fps == 120.0 and m.meta["fps_header"] == FPS_AMASS
    vel = np.diff(m.joint("pelvis"), axis=0) * m.fps
    np.testing.assert_allclose(vel, np.tile([1.0, 0.0, 0.0], (120, 1)), atol=1e-9)
    # Floor from the feet as the BVH reader does: toe centres ~2.5 cm above the sole at z = 0.
    toes = m.positions[:, [m.index(j) for j in ("left_toe", "right_toe")], 2].min(axis=1)
    assert 0.015 < np.median(toes) < 0.035 and toes.min() > 0.0
    # The synthetic body: hip-ankle 0.38 + 0.40 m (plus small sideways offsets).
    assert m.meta["leg_length_m"] == pytest.approx(0.7834, abs=1e-3)
    # Standing at 0.9 m: pelvis ~0.93 m above the raw origin minus the feet, head well above.
    assert 0.8 < m.joint("pelvis")[0, 2] < 1.0 and m.joint("head")[0, 2] > 1.4


@pytest.mark.parametrize("fps_key", ["mocap_framerate", "mocap_frame_rate"])
@pytest.mark.parametrize(("header", "fps"), [(FPS_AMASS, 120.0), (60.0, 60.0), (59.97, 60.0)])
def test_fps_keys(body_models: Path, tmp_path: Path, fps_key: str, header: float, fps) -> None:
    m = read_amass(clip(tmp_path, frames=4, fps=header, fps_key=fps_key), body_models)
    assert m.fps == fps
    assert m.meta["fps_header"] == header


@pytest.mark.parametrize("gender", ["female", b"female", "Female", np.bytes_(b"female")])
def test_gender_str_or_bytes(body_models: Path, tmp_path: Path, gender) -> None:
    m = read_amass(clip(tmp_path, frames=3, gender=gender), body_models)
    assert m.meta["gender"] == "female"
    assert Path(m.meta["body_model"]).name == "SMPLX_FEMALE.npz"


def test_known_hip_rotation_hand_computed(body_models: Path, tmp_path: Path) -> None:
    """Left hip rotated -90 deg about the model x axis: the leg points straight forward.

    The model stands up by +90 deg about x (model +Y up -> world +Z, model +Z forward -> world
    -Y), so the rest offsets hip->knee (0.03, -0.38, 0) and knee->ankle (-0.01, -0.40, -0.04)
    become horizontal world offsets along -Y, and the knee and ankle stay at hip height.
    """
    poses = np.zeros((2, 165))
    poses[:, 0:3] = Z_UP_ROOT
    poses[:, 3:6] = [-np.pi / 2, 0.0, 0.0]
    trans = np.array([[0.0, 0.0, 0.9], [0.5, 0.0, 0.9]])
    m = read_amass(write_amass_clip(tmp_path / "hip.npz", poses, trans), body_models)
    hip, knee, ankle = (m.joint(j) for j in ("left_hip", "left_knee", "left_ankle"))
    np.testing.assert_allclose(knee - hip, [[0.03, -0.38, 0.0]] * 2, atol=1e-6)
    np.testing.assert_allclose(ankle - knee, [[-0.01, -0.40, -0.04]] * 2, atol=1e-6)
    # Pelvis = rest pelvis (0, -0.22, 0.03) + trans; hip = pelvis + R_root (0.07, -0.09, -0.01).
    np.testing.assert_allclose(m.joint("left_hip")[1] - m.joint("pelvis")[1], [0.07, 0.01, -0.09],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(m.joint("pelvis")[1] - m.joint("pelvis")[0], [0.5, 0, 0], atol=1e-9)
    # Rotations: the pelvis turns model +Y (up) to world +Z; the thigh's -90 deg undoes the
    # root's +90 deg, so its global rotation maps the rest offset onto itself (identity).
    q_pelvis = m.rotations[0, m.index("pelvis")]
    np.testing.assert_allclose(quat.rotate(q_pelvis, [0.0, 1.0, 0.0]), [0, 0, 1], atol=1e-12)
    q_hip = m.rotations[0, m.index("left_hip")]
    assert quat.angle_between(q_hip, quat.IDENTITY) < 1e-9
    assert quat.angle_between(m.rotations[0, m.index("left_knee")], q_hip) < 1e-9
    assert quat.angle_between(m.rotations[0, m.index("right_hip")], q_pelvis) < 1e-9


def test_matches_smplx_full_forward_with_shape(body_models: Path, tmp_path: Path) -> None:
    """Joint-only FK equals smplx's complete forward pass (lbs with vertices), betas included."""
    import smplx

    T = 5
    poses = walking_poses(T, 120.0, hip_rate=20.0)
    poses[:, 18 * 3 : 19 * 3] = [0.0, 0.3, 0.2]
    trans = walking_trans(T, 120.0)
    betas = np.zeros(16)
    betas[0] = 1.0  # the synthetic model's shape 0 scales the body by 1.1
    m = read_amass(write_amass_clip(tmp_path / "b.npz", poses, trans, betas=betas), body_models)
    model = smplx.create(str(body_models), model_type="smplx", gender="neutral", use_pca=False,
                         flat_hand_mean=True, num_betas=10, batch_size=T,
                         dtype=torch.float64)  # fmt: skip

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float64)

    with torch.no_grad():
        out = model(betas=t(betas[None, :10]).expand(T, -1), global_orient=t(poses[:, :3]),
                    body_pose=t(poses[:, 3:66]), jaw_pose=t(poses[:, 66:69]),
                    leye_pose=t(poses[:, 69:72]), reye_pose=t(poses[:, 72:75]),
                    left_hand_pose=t(poses[:, 75:120]), right_hand_pose=t(poses[:, 120:165]),
                    transl=t(trans))  # fmt: skip
    ref = out.joints.numpy()[:, :22][:, IDX]
    np.testing.assert_allclose(m.positions, ref + [0.0, 0.0, m.meta["floor_shift_m"]], atol=1e-6)
    pos, _ = expected(poses, trans, "smplx", scale=1.1)
    np.testing.assert_allclose(m.positions - [0, 0, m.meta["floor_shift_m"]], pos, atol=1e-6)


@pytest.mark.parametrize("layout", ["separate", "both"])
def test_smplx_separate_keys_layout(body_models: Path, tmp_path: Path, layout: str) -> None:
    poses = walking_poses(30, 120.0, hip_rate=2.0)
    poses[:, 66:69] = 0.2  # jaw: no effect on the body joints
    a = read_amass(clip(tmp_path, "a.npz", poses=poses[:, :165], trans=walking_trans(30, 120.0)),
                   body_models)  # fmt: skip
    b = read_amass(
        clip(tmp_path, "b.npz", poses=poses, trans=walking_trans(30, 120.0), layout=layout,
             surface_model_type="smplx", fps_key="mocap_frame_rate"),
        body_models,
    )  # fmt: skip
    assert b.meta["model_type"] == "smplx"
    np.testing.assert_allclose(a.positions, b.positions, atol=1e-12)
    np.testing.assert_allclose(a.rotations, b.rotations, atol=1e-12)


def test_smplh_clip(body_models: Path, tmp_path: Path) -> None:
    """156-dim SMPL+H poses (AMASS SMPL+H G) through a synthetic SMPL-H model (6890 vertices)."""
    poses = walking_poses(40, 120.0, "smplh", hip_rate=2.0)
    poses[:, 22 * 3 : 52 * 3] = 0.1  # finger joints: no effect on the body joints
    trans = walking_trans(40, 120.0, speed=1.3)
    path = write_amass_clip(tmp_path / "h.npz", poses, trans, gender=b"male", betas=np.zeros(16))
    m = read_amass(path, body_models)
    assert m.meta["model_type"] == "smplh" and m.meta["gender"] == "male"
    pos, rot = expected(poses, trans, "smplh")
    np.testing.assert_allclose(m.positions, pos + [0, 0, m.meta["floor_shift_m"]], atol=1e-6)
    assert quat.angle_between(m.rotations, rot).max() < 1e-6


def test_smpl_clip(tmp_path: Path) -> None:
    """72-dim SMPL poses through a synthetic SMPL model file (npz, 24 joints)."""
    root = tmp_path / "bm"
    make_body_model(root, "smpl", "female")
    poses = walking_poses(20, 60.0, "smpl", hip_rate=2.0)
    trans = walking_trans(20, 60.0)
    m = read_amass(write_amass_clip(tmp_path / "s.npz", poses, trans, fps=60.0,
                                    gender="female", betas=np.zeros(10)), root)  # fmt: skip
    assert m.meta["model_type"] == "smpl" and m.fps == 60.0
    pos, rot = expected(poses, trans, "smpl")
    np.testing.assert_allclose(m.positions, pos + [0, 0, m.meta["floor_shift_m"]], atol=1e-6)
    assert quat.angle_between(m.rotations, rot).max() < 1e-6


def test_human_body_prior_layout(tmp_path: Path) -> None:
    """AMASS's own body-model layout ``smplh/<gender>/model.npz`` is found too."""
    root = tmp_path / "bm"
    src = make_body_model(root, "smplh", "female")
    (root / "smplh" / "female").mkdir()
    src.rename(root / "smplh" / "female" / "model.npz")
    path = write_amass_clip(tmp_path / "h.npz", walking_poses(3, 120.0, "smplh"),
                            walking_trans(3, 120.0), gender="female")  # fmt: skip
    m = read_amass(path, root)
    assert m.meta["body_model"].endswith("smplh/female/model.npz")


def test_missing_body_model_says_what_to_install(tmp_path: Path) -> None:
    path = clip(tmp_path, frames=3, gender="female")
    with pytest.raises(ClipError) as e:
        read_amass(path, None)
    msg = str(e.value)
    assert str(path) in msg and "SMPLX_FEMALE.npz" in msg and "smpl-x.is.tue.mpg.de" in msg
    assert "mocap.body_models" in msg and "config/config.yaml" in msg
    empty = tmp_path / "models"
    empty.mkdir()
    with pytest.raises(ClipError, match=rf"put SMPLX_FEMALE\.npz .* in {empty}/smplx/"):
        read_amass(path, empty)
    h = write_amass_clip(tmp_path / "h.npz", np.zeros((3, 156)), np.zeros((3, 3)), gender="male")
    with pytest.raises(ClipError, match=r"SMPL-H body model .*SMPLH_MALE\.npz.*mano\.is\.tue"):
        read_amass(h, empty)


def _poses(n: int = 5) -> np.ndarray:
    return walking_poses(n, 120.0)


MALFORMED = {
    "missing trans": ({"drop": ("trans",)}, "missing array 'trans'"),
    "missing poses": ({"drop": ("poses",)}, "no body pose"),
    "missing betas": ({"drop": ("betas",)}, "missing array 'betas'"),
    "missing gender": ({"drop": ("gender",)}, "missing 'gender'"),
    "missing fps": ({"drop": ("mocap_framerate",)}, "missing frame rate"),
    "trans shape": ({"trans": np.zeros((4, 3))}, r"'trans' has shape \[4, 3\], expected \[5, 3\]"),
    "poses width": ({"poses": np.zeros((5, 100))}, r"'poses' has shape \[5, 100\]"),
    "poses nan": ({"poses": np.where(np.eye(5, 165) > 0, np.nan, _poses())}, "NaN/inf"),
    "trans inf": ({"trans": np.full((5, 3), np.inf)}, "NaN/inf"),
    "zero frames": ({"poses": np.zeros((0, 165)), "trans": np.zeros((0, 3))}, "zero frames"),
    "unknown gender": ({"gender": "alien"}, "unknown gender 'alien'"),
    "gender number": ({"gender": np.array(3)}, "'gender' must be a string"),
    "fps negative": ({"fps": -120.0}, "not a positive frame rate"),
    "fps string": ({"mocap_framerate": np.array("fast")}, "must be a number"),
    "betas 2d": ({"betas": np.zeros((5, 16))}, r"'betas' has shape \[5, 16\]"),
    "surface type": ({"surface_model_type": "mano"}, "unknown surface_model_type"),
    "poses text": ({"poses": np.array([["a"] * 165] * 5)}, "must be numeric"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_clip_names_file(body_models: Path, tmp_path: Path, case: str) -> None:
    kw, message = MALFORMED[case]
    kw = {**kw}
    poses = kw.pop("poses", _poses())
    trans = kw.pop("trans", walking_trans(5, 120.0))
    path = write_amass_clip(tmp_path / f"bad_{case.replace(' ', '_')}.npz", poses, trans, **kw)
    with pytest.raises(ClipError, match=message) as e:
        read_amass(path, body_models)
    assert str(path) in str(e.value)


def test_not_an_npz(body_models: Path, tmp_path: Path) -> None:
    text = tmp_path / "text.npz"
    text.write_text("poses,trans\n1,2\n")
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros((5, 165)))
    good = clip(tmp_path, "good.npz", frames=5)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    for path, message in ((text, "not a readable .npz"), (npy, "single .npy array"),
                          (truncated, "npz"), (tmp_path / "absent.npz", "not found")):  # fmt: skip
        with pytest.raises(ClipError, match=message) as e:
            read_amass(path, body_models)
        assert str(path) in str(e.value)


def test_pickled_arrays_are_never_loaded(body_models: Path, tmp_path: Path) -> None:
    obj = np.empty(1, dtype=object)
    obj[0] = {"a": 1}
    # An extra pickled array (as AMASS SMPL-X N's 'markers_latent_vids') is ignored ...
    ok = clip(tmp_path, "ok.npz", frames=5, markers_latent_vids=obj)
    assert read_amass(ok, body_models).num_frames == 5
    # ... a pickled array where data is needed is a ClipError, not an unpickling.
    bad = clip(tmp_path, "bad.npz", frames=5, trans=obj)
    with pytest.raises(ClipError, match="'trans' is a pickled object array"):
        read_amass(bad, body_models)


def test_model_type_override(body_models: Path, tmp_path: Path) -> None:
    path = clip(tmp_path, frames=3)
    with pytest.raises(ClipError, match="a smplh clip needs 156"):
        read_amass(path, body_models, model_type="smplh")
    with pytest.raises(ValueError, match="model_type must be one of"):
        read_amass(path, body_models, model_type="mano")


def test_floor_estimate_is_shared_with_the_bvh_reader() -> None:
    from mocap import amass, bvh

    rng = np.random.default_rng(0)
    pos = rng.normal(0.0, 0.05, (90, len(CANONICAL_JOINTS), 3)) + [0.0, 0.0, 0.3]
    pos[45:, :, 2] -= 0.5  # a step down halfway: the first stance decides
    leg = 0.78
    got = amass.floor_height(pos, leg, 60.0)
    assert got == bvh.floor_height(pos, 60.0, leg / bvh.TYPICAL_LEG_M)
