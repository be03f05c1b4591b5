"""Synthetic demo gaits: planted feet, exact speed/cadence/stride, BVH round trips, CLI."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from mocap import quat
from mocap.bvh_write import (
    BvhSkeleton,
    euler_from_matrix,
    forward_kinematics,
    write_bvh,
)
from mocap.demo import DEMO_CLIPS, DemoSpec, main, synthesize, write_demo_clip

ALL = sorted(DEMO_CLIPS)
REQUIRED = {"walk_0.30", "walk_0.40", "walk_0.50", "walk_0.75", "walk_1.00", "walk_1.25",
            "walk_1.50", "run_2.50", "turn_left_1.00", "turn_right_1.00", "stairs_up", "stairs_down"}  # fmt: skip


@cache
def clip_of(name: str):
    return synthesize(name)


def terrain(truth: dict, z: np.ndarray) -> np.ndarray:
    """Ground height (m) under forward coordinate z, rebuilt from the truth's stair geometry."""
    st = truth.get("stairs")
    if st is None:
        return np.zeros_like(z)
    sign = 1.0 if st["direction"] == "up" else -1.0
    return sign * st["rise_m"] * np.floor((z - st["tread0_start_z_m"]) / st["tread_m"])


def stance_segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame ranges of True runs."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


# ---------------------------------------------------------------------------------------------
# Catalogue and truth
# ---------------------------------------------------------------------------------------------


def test_catalogue_has_the_required_clips():
    assert REQUIRED <= set(DEMO_CLIPS)
    for name, spec in DEMO_CLIPS.items():
        assert spec.name == name
    with pytest.raises(ValueError, match="gait"):
        DemoSpec(name="x", gait="hop", speed_mps=1.0)
    with pytest.raises(KeyError, match="unknown demo clip"):
        synthesize("walk_9.99")


@pytest.mark.parametrize("name", ALL)
def test_truth_is_labelled_and_consistent(name):
    clip, truth = clip_of(name)
    assert truth["synthetic"] is True and truth["generator"] == "gaitforge.demo"
    assert "Winter" in truth["source"]
    assert truth["speed_mps"] == pytest.approx(
        truth["stride_length_m"] * truth["cadence_spm"] / 120.0, rel=1e-12
    )
    assert truth["frames"] == clip.num_frames
    assert truth["duration_s"] == pytest.approx(truth["n_cycles"] * truth["stride_time_s"])
    assert clip.times[-1] >= truth["duration_s"] - 1e-9
    assert 8.0 <= truth["duration_s"] <= 12.0
    json.dumps(truth, allow_nan=False)  # serialisable as the sidecar


def test_speed_relations_are_plausible():
    walks = [clip_of(f"walk_{v:.2f}")[1] for v in (0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5)]
    cad = [t["cadence_spm"] for t in walks]
    stride = [t["stride_length_m"] for t in walks]
    duty = [t["duty_factor"] for t in walks]
    assert np.all(np.diff(cad) > 0) and np.all(np.diff(stride) > 0) and np.all(np.diff(duty) < 0)
    assert 45 < cad[0] < 80 and 110 < cad[-1] < 130  # steps/min
    assert all(0.55 < d < 0.68 for d in duty)
    run = clip_of("run_2.50")[1]
    assert run["duty_factor"] < 0.5 and run["flight_phase"] and 150 < run["cadence_spm"] < 175


def test_deterministic():
    a, ta = synthesize("walk_1.25")
    b, tb = synthesize("walk_1.25")
    np.testing.assert_array_equal(a.local_euler_deg, b.local_euler_deg)
    np.testing.assert_array_equal(a.root_pos, b.root_pos)
    assert ta == tb


# ---------------------------------------------------------------------------------------------
# Planted feet and ground
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_stance_feet_do_not_slip(name):
    clip, truth = clip_of(name)
    ix = clip.skeleton.index
    for side, joint in ((0, "LeftToeBase"), (1, "RightToeBase")):
        toe_joint = clip.positions[:, ix(joint)]
        segments = stance_segments(clip.stance[:, side])
        assert len(segments) >= truth["n_cycles"]
        for a, b in segments:
            ground = clip.ground[a:b, side]
            assert np.ptp(ground) == 0.0
            heel_down = np.abs(clip.heel[a:b, side, 1] - ground) < 5e-4
            toes_down = np.abs(clip.toe_tip[a:b, side, 1] - ground) < 5e-4
            assert np.all(heel_down | toes_down), f"{name}: a stance frame without ground contact"
            for down, point in ((heel_down, clip.heel[a:b, side]),
                                (toes_down, toe_joint[a:b])):  # fmt: skip
                if down.sum() > 1:
                    spread = np.linalg.norm(point[down] - point[down][0], axis=-1).max()
                    assert spread < 1e-3, f"{name}: stance foot slips {spread * 1e3:.2f} mm"
        # The pivot reported by the generator is where forward kinematics puts the foot.
        st = clip.stance[:, side]
        d = np.minimum(
            np.linalg.norm(clip.heel[st, side] - clip.pivot[st, side], axis=-1),
            np.linalg.norm(toe_joint[st] - clip.pivot[st, side], axis=-1),
        )
        assert d.max() < 1e-6


@pytest.mark.parametrize("name", ALL)
def test_feet_never_below_ground(name):
    clip, truth = clip_of(name)
    for pts in (clip.heel, clip.ball, clip.toe_tip):
        height = pts[..., 1] - terrain(truth, pts[..., 2])
        assert height.min() > -1e-6, f"{name}: a foot is {-height.min() * 1e3:.2f} mm underground"


@pytest.mark.parametrize("name", ALL)
def test_pelvis_speed_per_cycle_matches_truth(name):
    clip, truth = clip_of(name)
    T, n = truth["stride_time_s"], truth["n_cycles"]
    tb = np.arange(n + 1) * T
    root = np.stack([np.interp(tb, clip.times, clip.root_pos[:, i]) for i in (0, 2)], axis=-1)
    chord = np.linalg.norm(np.diff(root, axis=0), axis=-1)  # [n] per cycle
    half = 0.5 * abs(truth["yaw_rate_rps"]) * T
    arc = chord * (half / np.sin(half) if half > 0 else 1.0)
    if half == 0:
        np.testing.assert_allclose(arc / T, truth["speed_mps"], rtol=1e-5)
        np.testing.assert_allclose(arc, truth["stride_length_m"], rtol=1e-5)
    else:  # speed fluctuation on a curve: the chord is not exactly 2 R sin(omega T / 2)
        np.testing.assert_allclose(arc / T, truth["speed_mps"], rtol=5e-3)
    onsets = np.sort(np.concatenate([clip.times[1:][clip.stance[1:, s] & ~clip.stance[:-1, s]]
                                     for s in (0, 1)]))  # fmt: skip
    cadence = 60.0 * (onsets.size - 1) / (onsets[-1] - onsets[0])
    assert cadence == pytest.approx(truth["cadence_spm"], rel=2e-3)
    steps = np.diff(onsets)
    np.testing.assert_allclose(steps, 0.5 * T, atol=1.5 / clip.fps)


def test_running_has_flight_phases():
    clip, truth = clip_of("run_2.50")
    lowest = np.minimum(np.minimum(clip.heel[..., 1], clip.ball[..., 1]), clip.toe_tip[..., 1])
    airborne = ~clip.stance.any(axis=1)
    assert not clip.stance.all(axis=1).any()  # never double support
    inside = clip.times < truth["duration_s"] - 1e-9
    flight = 1.0 - 2.0 * truth["duty_factor"]
    assert airborne[inside].mean() == pytest.approx(flight, abs=2.5 / (clip.fps * 0.5 * truth[
        "stride_time_s"]))  # fmt: skip
    flights = stance_segments(airborne)
    assert len(flights) >= 2 * truth["n_cycles"] - 1
    for a, b in flights:
        assert (lowest[a:b] > -1e-9).all()  # no foot below the ground ...
        assert lowest[a:b].min(axis=1).max() > 0.01  # ... and clearly so mid-flight
    walk, _ = clip_of("walk_1.00")
    assert walk.stance.any(axis=1).all() and walk.stance.all(axis=1).any()  # double support


@pytest.mark.parametrize("name, sign", [("turn_left_1.00", 1.0), ("turn_right_1.00", -1.0)])
def test_turning_yaw_rate(name, sign):
    clip, truth = clip_of(name)
    assert np.sign(truth["yaw_rate_rps"]) == sign and abs(truth["yaw_rate_rps"]) == 0.5
    T, n = truth["stride_time_s"], truth["n_cycles"]
    tb = np.arange(n + 1) * T
    # Heading of the pelvis (root) from its global rotation, Y up: forward is +Z at yaw 0.
    fwd = quat.rotate(clip.rotations[:, 0], np.array([0.0, 0.0, 1.0]))
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    per_cycle = np.diff(np.interp(tb, clip.times, yaw)) / T
    np.testing.assert_allclose(per_cycle, truth["yaw_rate_rps"], rtol=1e-3)
    # Left turn: the walker's path bends toward its left (+X at the start).
    assert np.sign(clip.root_pos[-1, 0]) == sign


@pytest.mark.parametrize("name", ["stairs_up", "stairs_down"])
def test_stairs_feet_land_on_steps(name):
    clip, truth = clip_of(name)
    rise, sign = truth["step_height_m"], 1.0 if name == "stairs_up" else -1.0
    assert rise == 0.15 and truth["tread_m"] == 0.30
    landings = []
    for side in (0, 1):
        for a, b in stance_segments(clip.stance[:, side]):
            if a == 0 or b == clip.num_frames:
                continue  # cut by the clip's ends
            flat = np.abs(clip.heel[a:b, side, 1] - clip.ball[a:b, side, 1]) < 1e-6
            assert flat.any(), "every stance on a stair has a flat-foot phase"
            h = clip.heel[a:b, side, 1][flat]
            np.testing.assert_allclose(h, h[0], atol=1e-9)
            # Heel and ball lie on one tread at that tread's height (going down, the toes
            # reach over the nosing).
            for pts in (clip.heel, clip.ball):
                np.testing.assert_allclose(terrain(truth, pts[a:b, side, 2][flat]), h[0],
                                           atol=1e-9)  # fmt: skip
            landings.append((a, h[0]))
    heights = np.array([h for _, h in sorted(landings)])
    np.testing.assert_allclose(heights / rise, np.round(heights / rise), atol=1e-9)
    np.testing.assert_allclose(np.diff(heights), sign * rise, atol=1e-9)
    T, n = truth["stride_time_s"], truth["n_cycles"]
    rise_per_cycle = np.diff(np.interp(np.arange(n + 1) * T, clip.times, clip.root_pos[:, 1]))
    np.testing.assert_allclose(rise_per_cycle, sign * 2 * rise, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# BVH writer
# ---------------------------------------------------------------------------------------------


def parse_minimal_bvh(path: Path) -> tuple[list[str], list[int], np.ndarray, list[str], float,
                                           np.ndarray]:  # fmt: skip
    """Tiny independent BVH parser: names, parents, offsets, channel orders, fps, motion."""
    tokens = path.read_text().split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    orders: list[str] = []
    stack: list[int] = []
    i = 0
    in_end = False
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif tok == "End":
            in_end = True
            i += 2
        elif tok == "{":
            if not in_end:
                stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            if in_end:
                in_end = False
            else:
                stack.pop()
            i += 1
        elif tok == "OFFSET":
            if not in_end:
                offsets.append([float(x) for x in tokens[i + 1 : i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            chans = tokens[i + 2 : i + 2 + n]
            orders.append("".join(c[0] for c in chans if c.endswith("rotation")))
            i += 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.array([float(x) for x in tokens[i + 6 :]]).reshape(frames, -1)
    return names, parents, np.array(offsets), orders, 1.0 / frame_time, values


def test_euler_from_matrix_inverts_from_euler():
    rng = np.random.default_rng(7)
    for order in ("ZXY", "YXZ", "XYZ", "ZYX", "XZY", "YZX"):
        angles = rng.uniform(-85.0, 85.0, size=(50, 3))
        back = np.rad2deg(euler_from_matrix(quat.to_matrix(quat.from_euler(angles, order)), order))
        np.testing.assert_allclose(back, angles, atol=1e-9)


def test_writer_orders_columns_depth_first(tmp_path):
    # Joint order that is not depth first: root, A, B, A1 (child of A).
    skel = BvhSkeleton(
        names=("Root", "A", "B", "A1"), parents=(-1, 0, 0, 1),
        offsets=np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, -1, 0]], dtype=float),
        rotation_orders=("ZXY", "XYZ", "YXZ", "ZYX"),
        end_sites=(None, None, (0.0, 0.0, 1.0), (0.0, -0.5, 0.0)),
    )  # fmt: skip
    rng = np.random.default_rng(3)
    root = rng.normal(size=(5, 3))
    euler = rng.uniform(-60, 60, size=(5, 4, 3))
    path = tmp_path / "tiny.bvh"
    write_bvh(path, skel, root, euler, fps=30.0, length_scale=100.0)
    names, parents, offsets, orders, fps, motion = parse_minimal_bvh(path)
    assert names == ["Root", "A", "A1", "B"]
    assert parents == [-1, 0, 1, 0] and orders == ["ZXY", "XYZ", "ZYX", "YXZ"]
    assert fps == pytest.approx(30.0, rel=1e-8)
    perm = [0, 1, 3, 2]
    np.testing.assert_allclose(offsets, skel.offsets[perm] * 100.0)
    np.testing.assert_allclose(motion[:, :3], root * 100.0, rtol=1e-5)
    np.testing.assert_allclose(motion[:, 3:].reshape(5, 4, 3), euler[:, perm], atol=1e-3)
    with pytest.raises(ValueError, match="non-finite"):
        write_bvh(tmp_path / "bad.bvh", skel, root, np.full_like(euler, np.nan), fps=30.0)
    assert not (tmp_path / "bad.bvh").exists()


def test_demo_bvh_round_trip_with_own_parser(tmp_path):
    clip, truth = clip_of("walk_1.00")
    path = tmp_path / "walk_1.00.bvh"
    returned = write_demo_clip("walk_1.00", path)
    assert returned == truth
    meta = json.loads((tmp_path / "walk_1.00.meta.json").read_text())
    assert meta["synthetic"] is True and meta["speed_mps"] == truth["speed_mps"]
    text = path.read_text()
    assert re.search(r"Frame Time: 0\.00833333333\n", text)
    names, parents, offsets, orders, _, motion = parse_minimal_bvh(path)
    for required in ("Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "Spine",
                     "Spine1", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm",
                     "LeftHand", "RightUpLeg", "RightToeBase", "RightHand"):  # fmt: skip
        assert required in names
    order = [clip.skeleton.index(n) for n in names]
    J = len(names)
    assert motion.shape == (clip.num_frames, 6 + 3 * (J - 1))
    skel = BvhSkeleton(names=tuple(names), parents=tuple(parents), offsets=offsets / 100.0,
                       rotation_orders=tuple(orders), end_sites=(None,) * J)  # fmt: skip
    pos, _ = forward_kinematics(skel, motion[:, :3] / 100.0, motion[:, 3:].reshape(-1, J, 3))
    np.testing.assert_allclose(pos, clip.positions[:, order], atol=2e-4)  # m; %.6g text


# ---------------------------------------------------------------------------------------------
# Through the project's BVH reader
# ---------------------------------------------------------------------------------------------


def contact_onsets(positions: np.ndarray, fps: float, toe: int) -> np.ndarray:
    """Times (s) at which a toe joint comes to rest for at least 0.1 s (horizontal speed
    < 0.03 m/s; positions [T, J, 3], Z up)."""
    v = np.linalg.norm(np.diff(positions[:, toe, :2], axis=0), axis=-1) * fps
    runs = stance_segments(v < 0.03)
    return np.array([a / fps for a, b in runs if b - a >= 0.1 * fps and a > 0])


@pytest.mark.parametrize("name", ["walk_0.50", "walk_1.50", "run_2.50", "turn_left_1.00",
                                  "stairs_up"])  # fmt: skip
def test_round_trip_through_read_bvh(tmp_path, name):
    bvh = pytest.importorskip("mocap.bvh")
    from mocap.types import CANONICAL_JOINTS

    path = tmp_path / f"{name}.bvh"
    truth = write_demo_clip(name, path)
    motion = bvh.read_bvh(path)
    assert motion.fps == pytest.approx(truth["fps"])
    assert motion.num_frames == truth["frames"]
    ix = CANONICAL_JOINTS.index
    pelvis = motion.positions[:, ix("pelvis")]
    T, n = truth["stride_time_s"], truth["n_cycles"]
    t = np.arange(motion.num_frames) / motion.fps
    tb = np.arange(n + 1) * T
    xy = np.stack([np.interp(tb, t, pelvis[:, i]) for i in (0, 1)], axis=-1)
    chord = np.linalg.norm(np.diff(xy, axis=0), axis=-1)
    half = 0.5 * abs(truth["yaw_rate_rps"]) * T
    speed = np.mean(chord * (half / np.sin(half) if half > 0 else 1.0)) / T
    assert speed == pytest.approx(truth["speed_mps"], rel=0.01)
    onsets = np.sort(np.concatenate([contact_onsets(motion.positions, motion.fps, ix(j))
                                     for j in ("left_toe", "right_toe")]))  # fmt: skip
    cadence = 60.0 * (onsets.size - 1) / (onsets[-1] - onsets[0])
    assert cadence == pytest.approx(truth["cadence_spm"], rel=0.01)
    height = motion.positions[:, ix("head"), 2] - motion.positions[:, ix("left_ankle"), 2]
    assert 1.2 < np.median(height) < 1.7  # an upright human of ~1.75 m


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def test_cli_writes_clips_and_lists(tmp_path, capsys):
    assert main(["--out-dir", str(tmp_path), "--clips", "run_2.50", "stairs_down",
                 "--fps", "60"]) == 0  # fmt: skip
    for name in ("run_2.50", "stairs_down"):
        meta = json.loads((tmp_path / f"{name}.meta.json").read_text())
        assert meta["synthetic"] is True and meta["fps"] == 60.0 and meta["clip"] == name
        assert (tmp_path / f"{name}.bvh").read_text().startswith("HIERARCHY\nROOT Hips\n")
    assert "stairs" in meta and meta["stairs"]["direction"] == "down"
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in REQUIRED)
    with pytest.raises(SystemExit):
        main(["--out-dir", str(tmp_path), "--clips", "moonwalk"])
