"""BVH reader on small hand-written files: syntax variants, FK, units, axes, trimming, fps."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from mocap import quat
from mocap.bvh import (
    detect_leading_padding,
    forward_kinematics,
    parse_bvh,
    read_bvh,
    round_fps,
)
from mocap.skeletons import CONVENTIONS, detect_convention, resolve_mapping
from mocap.types import CANONICAL_JOINTS, ClipError

# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------

# A MotionBuilder-named human in metres, Y up, facing +Z, T-pose rest: name, parent, offset.
HUMAN = [
    ("Hips", None, (0.0, 0.0, 0.0)),
    ("LeftUpLeg", "Hips", (0.1, -0.05, 0.0)),
    ("LeftLeg", "LeftUpLeg", (0.0, -0.42, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -0.42, 0.0)),
    ("LeftToeBase", "LeftFoot", (0.0, -0.05, 0.12)),
    ("RightUpLeg", "Hips", (-0.1, -0.05, 0.0)),
    ("RightLeg", "RightUpLeg", (0.0, -0.42, 0.0)),
    ("RightFoot", "RightLeg", (0.0, -0.42, 0.0)),
    ("RightToeBase", "RightFoot", (0.0, -0.05, 0.12)),
    ("Spine", "Hips", (0.0, 0.12, 0.0)),
    ("Spine1", "Spine", (0.0, 0.12, 0.0)),
    ("Neck", "Spine1", (0.0, 0.25, 0.0)),
    ("Head", "Neck", (0.0, 0.1, 0.0)),
    ("LeftArm", "Spine1", (0.18, 0.2, 0.0)),
    ("LeftForeArm", "LeftArm", (0.28, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (0.25, 0.0, 0.0)),
    ("RightArm", "Spine1", (-0.18, 0.2, 0.0)),
    ("RightForeArm", "RightArm", (-0.28, 0.0, 0.0)),
    ("RightHand", "RightForeArm", (-0.25, 0.0, 0.0)),
]
LEAVES = {"LeftToeBase", "RightToeBase", "Head", "LeftHand", "RightHand"}
STAND_HEIGHT = 0.96  # root height with the soles (toe joints 2 cm up) on the floor, metres
ROT = ("Zrotation", "Xrotation", "Yrotation")
POS = ("Xposition", "Yposition", "Zposition")


def bvh_text(
    skeleton: list[tuple[str, str | None, tuple[float, float, float]]],
    channels: dict[str, tuple[str, ...]],
    motion: np.ndarray,
    *,
    frame_time: str = "0.0083333",
    sep: str = " ",
    newline: str = "\n",
    fmt: str = "{:.6f}",
    scale: float = 1.0,
    leaves: set[str] | None = None,
    end_offset: tuple[float, float, float] = (0.0, 0.05, 0.0),
) -> str:
    """Write a BVH file: joints in list order (parents first), one End Site under each leaf."""
    leaves = leaves if leaves is not None else {n for n, _, _ in skeleton[-1:]}
    children: dict[str | None, list[int]] = {}
    for i, (_, parent, _) in enumerate(skeleton):
        children.setdefault(parent, []).append(i)
    out = ["HIERARCHY"]

    def emit(i: int, depth: int) -> None:
        name, parent, off = skeleton[i]
        pad = "\t" * depth
        out.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET " + " ".join(fmt.format(v * scale) for v in off))
        chans = channels.get(name, ())
        if chans:
            out.append(f"{pad}\tCHANNELS {len(chans)} " + " ".join(chans))
        for c in children.get(name, []):
            emit(c, depth + 1)
        if name in leaves:
            out.extend([f"{pad}\tEnd Site", f"{pad}\t{{",
                        f"{pad}\t\tOFFSET " + " ".join(fmt.format(v * scale) for v in end_offset),
                        f"{pad}\t}}"])  # fmt: skip
        out.append(f"{pad}}}")

    emit(0, 0)
    out += ["MOTION", f"Frames:{sep}{len(motion)}", f"Frame Time:{sep}{frame_time}"]
    out += [" ".join(fmt.format(v) for v in row) for row in np.atleast_2d(motion)]
    return newline.join(out) + newline


def human_channels() -> dict[str, tuple[str, ...]]:
    chans = {name: ROT for name, _, _ in HUMAN}
    chans["Hips"] = POS + ROT
    return chans


def walk_motion(T: int = 120, fps: float = 120.0, speed: float = 1.0) -> np.ndarray:
    """[T, 60] channels of a crude walk along +Z (Y up): legs swing about X, arms hang down."""
    t = np.arange(T) / fps
    cols = {name: i for i, (name, _, _) in enumerate(HUMAN)}
    m = np.zeros((T, 3 + 3 * len(HUMAN)))

    def rot(joint: str, axis: str) -> int:  # column of a rotation channel (Z X Y order)
        return 3 + 3 * cols[joint] + "ZXY".index(axis)

    m[:, 1] = STAND_HEIGHT
    m[:, 2] = speed * t
    phase = 2 * np.pi * 1.0 * t
    m[:, rot("LeftUpLeg", "X")] = 20 * np.sin(phase)
    m[:, rot("RightUpLeg", "X")] = -20 * np.sin(phase)
    m[:, rot("LeftLeg", "X")] = 15 * (1 - np.cos(phase))
    m[:, rot("RightLeg", "X")] = 15 * (1 - np.cos(phase + np.pi))
    m[:, rot("LeftArm", "Z")] = -75 + 5 * np.sin(phase)
    m[:, rot("RightArm", "Z")] = 75 + 5 * np.sin(phase)
    return m


def write(tmp_path: Path, name: str, text: str, newline: str = "") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def write_human(tmp_path: Path, name: str, motion: np.ndarray, **kw) -> Path:
    return write(tmp_path, name, bvh_text(HUMAN, human_channels(), motion, leaves=LEAVES, **kw))


def rot_matrix(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {
        "X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


# ---------------------------------------------------------------------------------------------
# Parsing and FK
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["ZXY", "ZYX", "XYZ"])
def test_channel_orders_match_hand_computed_matrices(tmp_path: Path, order: str) -> None:
    skel = [("A", None, (0.0, 0.0, 0.0)), ("B", "A", (1.0, 2.0, 3.0))]
    chans = {"A": POS + tuple(f"{a}rotation" for a in order), "B": ("Xrotation",)}
    angles = np.array([30.0, -50.0, 70.0])
    motion = np.array([[0.5, -1.0, 2.0, *angles, 0.0]])
    bvh = parse_bvh(write(tmp_path, f"{order}.bvh", bvh_text(skel, chans, motion)))
    assert bvh.channels[0][3:] == tuple(f"{a}rotation" for a in order)
    pos, rot = forward_kinematics(bvh)
    R = (
        rot_matrix(order[0], angles[0])
        @ rot_matrix(order[1], angles[1])
        @ rot_matrix(order[2], angles[2])
    )
    np.testing.assert_allclose(pos[0, 1], [0.5, -1.0, 2.0] + R @ [1.0, 2.0, 3.0], atol=1e-9)
    np.testing.assert_allclose(quat.to_matrix(rot[0, 0]), R, atol=1e-12)


def test_fk_chain_hand_computed(tmp_path: Path) -> None:
    # Root at (1, 2, 3) turned 90 deg about Z; child 1 up; grandchild turned 90 deg about X.
    skel = [("A", None, (0, 0, 0)), ("B", "A", (0, 1, 0)), ("C", "B", (0, 1, 0))]
    chans = {"A": POS + ("Zrotation",), "B": ("Xrotation",), "C": ("Yrotation",)}
    motion = np.array([[1, 2, 3, 90, 90, 0]], dtype=float)
    bvh = parse_bvh(write(tmp_path, "chain.bvh", bvh_text(skel, chans, motion)))
    pos, _ = forward_kinematics(bvh)
    np.testing.assert_allclose(pos[0, 0], [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(pos[0, 1], [0, 2, 3], atol=1e-12)  # Rz90 (0,1,0) = (-1,0,0)
    np.testing.assert_allclose(pos[0, 2], [0, 2, 4], atol=1e-12)  # Rz90 Rx90 (0,1,0) = (0,0,1)
    np.testing.assert_allclose(pos[0, 3], [0, 2, 4.05], atol=1e-12)  # End Site 0.05 further
    assert bvh.node_names[-1] == "C_end"


def test_syntax_variants_parse_identically(tmp_path: Path) -> None:
    motion = walk_motion(T=20)
    plain = parse_bvh(write_human(tmp_path, "plain.bvh", motion))
    variant_text = bvh_text(HUMAN, human_channels(), motion, leaves=LEAVES, sep="\t",
                            newline="\r\n", frame_time=".0083333", fmt="{:.6e}")  # fmt: skip
    variant = parse_bvh(write(tmp_path, "variant.bvh", variant_text + "\r\n\r\n  \r\n"))
    assert "e-" in variant_text or "e+" in variant_text
    assert variant.frame_time_text == ".0083333"
    assert variant.frame_lines[0] == plain.frame_lines[0]
    np.testing.assert_allclose(variant.motion, plain.motion, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(variant.offsets, plain.offsets, atol=1e-9)
    assert variant.joint_names == plain.joint_names


def test_position_channels_on_a_non_root_joint_replace_the_offset(tmp_path: Path) -> None:
    # LAFAN1 style: every joint has position channels holding its offset.
    skel = [("A", None, (5.0, 5.0, 5.0)), ("B", "A", (0.0, 1.0, 0.0))]
    chans = {"A": POS + ROT, "B": POS + ROT}
    motion = np.array([[1, 2, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0]], dtype=float)
    bvh = parse_bvh(write(tmp_path, "lafan_like.bvh", bvh_text(skel, chans, motion)))
    pos, _ = forward_kinematics(bvh)
    np.testing.assert_allclose(pos[0, 0], [1, 2, 3])
    np.testing.assert_allclose(pos[0, 1], [1, 4, 3])


def test_round_fps() -> None:
    assert round_fps(120.005) == 120.0
    assert round_fps(1 / 0.0083333) == 120.0
    assert round_fps(1 / 0.033333) == 30.0
    assert round_fps(59.94) == 60.0
    assert round_fps(1 / 0.00416667) == 240.0
    assert round_fps(100.6) == pytest.approx(100.6)  # 0.6% from 100: left alone
    with pytest.raises(ValueError):
        round_fps(0.0)


# ---------------------------------------------------------------------------------------------
# read_bvh: units, axes, floor, rotations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "scale"), [("m", 1.0), ("cm", 100.0), ("inch", 1 / 0.0254), ("cmu", 0.45 / 0.0254)]
)
def test_units_detected_from_leg_length(tmp_path: Path, unit: str, scale: float) -> None:
    motion = walk_motion(T=30)
    ref = read_bvh(write_human(tmp_path, "ref.bvh", motion), trim=False)
    scaled = motion.copy()
    scaled[:, :3] *= scale
    path = write_human(tmp_path, f"in_{unit}.bvh", scaled, scale=scale, fmt="{:.9g}")
    clip = read_bvh(path, trim=False)
    assert clip.meta["units"] == unit
    assert clip.meta["leg_length_m"] == pytest.approx(0.84, rel=1e-6)
    np.testing.assert_allclose(clip.positions, ref.positions, atol=1e-6)
    forced = read_bvh(path, trim=False, units=unit)
    np.testing.assert_allclose(forced.positions, clip.positions)


def test_y_up_and_z_up_files_give_the_same_world_positions(tmp_path: Path) -> None:
    # Only X rotations, which Y->Z (+90 deg about x) leaves unchanged; offsets and root move.
    motion = walk_motion(T=30)
    for j in range(len(HUMAN)):
        motion[:, 3 + 3 * j] = 0.0  # Z rotation
        motion[:, 5 + 3 * j] = 0.0  # Y rotation

    def y2z(v: tuple[float, float, float]) -> tuple[float, float, float]:
        return (v[0], -v[2], v[1])

    zskel = [(n, p, y2z(o)) for n, p, o in HUMAN]
    zmotion = motion.copy()
    zmotion[:, :3] = np.stack([motion[:, 0], -motion[:, 2], motion[:, 1]], axis=1)
    y_clip = read_bvh(write_human(tmp_path, "yup.bvh", motion), trim=False)
    z_path = write(tmp_path, "zup.bvh", bvh_text(zskel, human_channels(), zmotion, leaves=LEAVES,
                                                 end_offset=(0.0, 0.0, 0.05)))  # fmt: skip
    z_clip = read_bvh(z_path, trim=False)
    assert (y_clip.meta["up_axis"], z_clip.meta["up_axis"]) == ("y", "z")
    np.testing.assert_allclose(z_clip.positions, y_clip.positions, atol=1e-6)
    # Z up: head above pelvis; walking +Z in a Y-up file is -Y in the world.
    head, pelvis = z_clip.joint("head"), z_clip.joint("pelvis")
    assert np.all(head[:, 2] > pelvis[:, 2] + 0.4)
    assert pelvis[-1, 1] - pelvis[0, 1] < -0.2
    upside = zmotion.copy()
    upside[:, 3 + 1] = 180.0  # root turned upside down (X rotation) for the whole clip
    path = write(tmp_path, "upside.bvh", bvh_text(zskel, human_channels(), upside, leaves=LEAVES))
    with pytest.raises(ClipError, match="upside.bvh: cannot detect the up axis"):
        read_bvh(path, trim=False)


def test_floor_is_at_zero_and_shift_recorded(tmp_path: Path) -> None:
    motion = walk_motion(T=120)
    ref = read_bvh(write_human(tmp_path, "ref.bvh", motion), trim=False)
    lifted = motion.copy()
    lifted[:, 1] += 0.5
    clip = read_bvh(write_human(tmp_path, "lifted.bvh", lifted), trim=False)
    np.testing.assert_allclose(clip.positions, ref.positions, atol=1e-9)
    assert clip.meta["floor_shift_m"] == pytest.approx(ref.meta["floor_shift_m"] - 0.5)
    toes = clip.positions[:, [CANONICAL_JOINTS.index("left_toe"),
                              CANONICAL_JOINTS.index("right_toe")], 2]  # fmt: skip
    assert 0.0 <= toes.min() < 0.05  # toe joint centres just above the floor


def test_rotations_are_global_relative_to_rest_in_world_axes(tmp_path: Path) -> None:
    motion = walk_motion(T=40)
    motion[:, 5] = np.linspace(0, 170, 40)  # root yaw (Y rotation in this Y-up file)
    clip = read_bvh(write_human(tmp_path, "rot.bvh", motion), trim=False)
    assert clip.rotations is not None
    ix = CANONICAL_JOINTS.index
    # Rest-pose bone knee->ankle in world axes: (0, -0.42, 0) Y-up -> (0, 0, -0.42) Z-up.
    bone = clip.joint("left_ankle") - clip.joint("left_knee")
    np.testing.assert_allclose(quat.rotate(clip.rotations[:, ix("left_knee")], [0, 0, -0.42]),
                               bone, atol=1e-9)  # fmt: skip
    # Signs are continuous in time.
    dots = np.sum(clip.rotations[1:] * clip.rotations[:-1], axis=-1)
    assert dots.min() > 0


def test_euler_180_flips_have_no_effect(tmp_path: Path) -> None:
    motion = walk_motion(T=30)
    flipped = motion.copy()
    # Intrinsic Z X Y: Rz(a) Rx(b) Ry(c) = Rz(a + 180) Rx(180 - b) Ry(c + 180).
    for j in range(len(HUMAN)):
        z, x, y = 3 + 3 * j, 4 + 3 * j, 5 + 3 * j
        flipped[::2, z] += 180.0
        flipped[::2, x] = 180.0 - flipped[::2, x]
        flipped[::2, y] -= 180.0
    a = read_bvh(write_human(tmp_path, "a.bvh", motion), trim=False)
    b = read_bvh(write_human(tmp_path, "b.bvh", flipped), trim=False)
    np.testing.assert_allclose(b.positions, a.positions, atol=1e-9)
    assert np.degrees(quat.angle_between(a.rotations, b.rotations)).max() < 1e-6


# ---------------------------------------------------------------------------------------------
# Trimming and frame rate
# ---------------------------------------------------------------------------------------------


def test_leading_tpose_and_blend_in_are_trimmed(tmp_path: Path) -> None:
    motion = walk_motion(T=120)
    tpose = motion[0].copy()
    tpose[3:] = 0.0  # every joint at rest: arms out, legs straight
    blend = [tpose + w * (motion[0] - tpose) for w in (0.25, 0.5, 0.75)]
    padded = np.vstack([tpose, *blend, motion])
    clip = read_bvh(write_human(tmp_path, "padded.bvh", padded))
    assert clip.meta["trimmed_leading_frames"] == 4
    assert clip.num_frames == 120
    assert "frame 0" in clip.meta["trim_reason"]
    ref = read_bvh(write_human(tmp_path, "clean.bvh", motion))
    assert ref.meta["trimmed_leading_frames"] == 0
    np.testing.assert_allclose(clip.positions, ref.positions, atol=1e-9)
    untrimmed = read_bvh(write_human(tmp_path, "padded.bvh", padded), trim=False)
    assert untrimmed.num_frames == 124


def test_detect_leading_padding_scales_with_fps() -> None:
    # 4 deg/frame at 30 fps is normal motion (1 deg/frame at 120 fps), not padding.
    angles = np.radians(4.0) * np.arange(60)[:, None] * np.ones((1, 5))
    q = quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), angles)  # [60, 5, 4]
    q[0] = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(20.0))
    assert detect_leading_padding(q, fps=120.0)[0] == 1
    assert detect_leading_padding(q, fps=30.0)[0] == 0


def test_duplicated_last_frame_is_dropped(tmp_path: Path) -> None:
    motion = walk_motion(T=50)
    clip = read_bvh(write_human(tmp_path, "dup.bvh", np.vstack([motion, motion[-1:]])))
    assert clip.num_frames == 50
    assert clip.meta["dropped_duplicate_last_frame"] == 1


def test_fps_header_rounding_and_override(tmp_path: Path) -> None:
    motion = walk_motion(T=60)
    clip = read_bvh(write_human(tmp_path, "ft.bvh", motion, frame_time="0.008333"))
    assert clip.fps == 120.0
    assert clip.meta["fps_header"] == pytest.approx(120.005, abs=1e-3)
    slow = write_human(tmp_path, "slow.bvh", motion, frame_time="0.033333")
    assert read_bvh(slow).fps == 30.0  # no flight phase: nothing to contradict the header
    over = read_bvh(slow, fps=120)
    assert over.fps == 120.0 and over.meta["fps_source"] == "override"


def test_wrong_fps_header_is_corrected_by_ballistic_flight(tmp_path: Path) -> None:
    # Stand 0.5 s, jump (0.45 s of free fall at 120 fps, hip apex +25 cm), stand 0.5 s; the
    # header says 30 fps like 16_01.bvh.
    fps, g = 120.0, 9.81
    t_air = 0.45
    n_air = int(t_air * fps)
    t = np.arange(n_air) / fps
    rise = 0.04 + 0.5 * g * t * (t_air - t)  # feet leave the floor with 4 cm clearance
    lift = np.concatenate([np.zeros(60), rise, np.zeros(60)])
    motion = walk_motion(T=len(lift), speed=0.0)
    for j in range(1, len(HUMAN)):
        if HUMAN[j][0] not in ("LeftArm", "RightArm"):
            motion[:, 3 + 3 * j : 6 + 3 * j] = 0.0
    motion[:, 1] += lift
    path = write_human(tmp_path, "jump.bvh", motion, frame_time="0.033333")
    with pytest.warns(UserWarning, match="gravity"):
        clip = read_bvh(path)
    assert clip.fps == 120.0
    assert clip.meta["fps_source"] == "ballistic"
    assert clip.meta["fps_ballistic"] == pytest.approx(120.0, rel=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_bvh(path, fps=30).fps == 30.0  # an explicit override is obeyed
        assert read_bvh(path, check_fps=False).fps == 30.0


# ---------------------------------------------------------------------------------------------
# Name maps
# ---------------------------------------------------------------------------------------------


def test_every_convention_maps_all_canonical_joints() -> None:
    for convention, table in CONVENTIONS.items():
        assert set(table) == set(CANONICAL_JOINTS), convention
        names = [cands[0] for cands in table.values()]
        assert detect_convention(names) == convention
        assert set(resolve_mapping(names)) == set(CANONICAL_JOINTS)


def test_user_mapping_extends_an_unknown_skeleton(tmp_path: Path) -> None:
    renamed = {name: f"bone_{i}" for i, (name, _, _) in enumerate(HUMAN)}
    skel = [(renamed[n], renamed[p] if p else None, o) for n, p, o in HUMAN]
    chans = {renamed[k]: v for k, v in human_channels().items()}
    path = write(tmp_path, "custom.bvh", bvh_text(skel, chans, walk_motion(T=30),
                                                  leaves={renamed[n] for n in LEAVES}))  # fmt: skip
    with pytest.raises(ClipError, match="mocap.joint_map"):
        read_bvh(path)
    user = {c: next(renamed[n] for n in cands if n in renamed)
            for c, cands in CONVENTIONS["motionbuilder"].items()}  # fmt: skip
    clip = read_bvh(path, mapping=user, trim=False)
    ref = read_bvh(write_human(tmp_path, "ref.bvh", walk_motion(T=30)), trim=False)
    np.testing.assert_allclose(clip.positions, ref.positions, atol=1e-9)
    with pytest.raises(ValueError, match="not a canonical joint"):
        resolve_mapping(["a"], {"left_foot": "a"})


def test_read_bvh_output_contract(tmp_path: Path) -> None:
    path = write_human(tmp_path, "walk.bvh", walk_motion(T=60))
    clip = read_bvh(path)
    assert clip.joint_names == CANONICAL_JOINTS
    assert clip.positions.shape == (60, 19, 3) and clip.rotations.shape == (60, 19, 4)
    assert len(clip.sha256) == 64 and clip.source == str(path)
    for key in ("format", "convention", "units", "up_axis", "fps_header", "fps",
                "trimmed_leading_frames", "floor_shift_m", "scale_m_per_unit"):  # fmt: skip
        assert key in clip.meta
    assert clip.meta["convention"] == "motionbuilder"
    speed = np.linalg.norm(np.diff(clip.joint("pelvis")[:, :2], axis=0), axis=1) * clip.fps
    assert np.median(speed) == pytest.approx(1.0, rel=1e-4)
    clip.save(tmp_path / "out.npz")
    back = type(clip).load(tmp_path / "out.npz")
    assert back.meta == clip.meta


@pytest.mark.parametrize("gait", ["stairs_up", "stairs_down"])
def test_floor_on_stairs_is_the_first_stance(tmp_path: Path, gait: str) -> None:
    """On stairs the whole-clip floor estimate is meaningless (stairs_down's lowest tread lies
    ~2 m below the start): the floor is where the feet stand at the start, and the ingest floor
    gate accepts the clip."""
    from mocap.bvh import FLOOR_PERCENTILE, floor_height, sole_heights
    from mocap.demo import write_demo_clip
    from mocap.ingest import IngestConfig, check_motion

    write_demo_clip(gait, tmp_path / f"{gait}.bvh", fps=60.0)
    clip = read_bvh(tmp_path / f"{gait}.bvh")
    assert clip.meta["floor_method"] == "first_stance"
    assert abs(clip.meta["floor_shift_m"]) < 0.2  # within one riser of the file's zero
    scale = clip.meta["leg_length_m"] / 0.86
    soles = sole_heights(clip.positions, scale)
    assert -0.02 < np.percentile(soles[: int(0.5 * clip.fps)], FLOOR_PERCENTILE) < 0.02
    total = soles[-int(0.5 * clip.fps):].mean() - soles[: int(0.5 * clip.fps)].mean()
    assert total * (1 if gait == "stairs_up" else -1) > 1.0  # climbs / descends >1 m
    assert floor_height(clip.positions, clip.fps, scale) == (pytest.approx(0.0, abs=1e-9),
                                                             "first_stance")
    check_motion(clip, IngestConfig(), gait)  # the floor gate passes


def test_floor_on_flat_ground_is_the_whole_clip_estimate() -> None:
    from mocap.bvh import FLOOR_PERCENTILE, floor_height, sole_heights

    fps, T = 60.0, 120
    pos = np.zeros((T, len(CANONICAL_JOINTS), 3))
    ix = CANONICAL_JOINTS.index
    pos[:, ix("pelvis")] = [0.0, 0.0, 0.9]
    for side, y, phase in (("left", 0.1, 0.0), ("right", -0.1, np.pi)):
        lift = np.maximum(0.0, np.sin(2 * np.pi * np.arange(T) / 60 + phase)) * 0.1
        pos[:, ix(f"{side}_ankle")] = np.column_stack([np.zeros(T), np.full(T, y), 0.07 + lift])
        pos[:, ix(f"{side}_toe")] = np.column_stack([np.full(T, 0.12), np.full(T, y),
                                                     0.025 + lift])
    pos[..., 2] += 0.86  # a broken root: the whole clip floats, from the first frame
    floor, method = floor_height(pos, fps)
    assert method == "clip"
    assert floor == pytest.approx(np.percentile(sole_heights(pos), FLOOR_PERCENTILE))
    assert floor == pytest.approx(0.86, abs=1e-6)
