"""Every CMU BVH in ../shared/data/mocap/cmu reads to a plausible human (skips without the data).

Each file is read once per session (module-scoped fixture); the whole module takes ~2 s.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

from mocap import quat
from mocap.bvh import parse_bvh, read_bvh
from mocap.types import CANONICAL_JOINTS, HumanMotion

# Median root (hip) speeds of the walking clips, m/s, from the table in
# ../shared/data/README.md section 2 ("root speed median"); manifest.csv has no speed column.
README_ROOT_SPEED = {
    "07_04": 0.88, "08_04": 1.04, "12_02": 0.82, "02_01": 1.13,
    "07_01": 1.31, "08_01": 1.58, "07_11": 1.62, "08_07": 1.74,
}  # fmt: skip
# 60_10_scaled.bvh was rescaled by its author to a small VRM avatar (hip ~0.64 m, README
# section 5 item 2): a child-sized figure, not the performer, so its height check is separate.
SMALL_AVATAR = "60_10_scaled"
# 07_12.bvh has a broken root trajectory (README section 5 item 8): kept as a rejection case.
BROKEN = "07_12"
IX = CANONICAL_JOINTS.index


@pytest.fixture(scope="module")
def manifest(manifest_path: Path) -> dict[str, dict[str, str]]:
    with open(manifest_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {Path(r["file"]).stem: r for r in rows if r["file"].endswith(".bvh")}


@pytest.fixture(scope="module")
def clips(cmu_dir: Path) -> dict[str, HumanMotion]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 16_01's fps correction warns by design
        for path in sorted(cmu_dir.glob("*.bvh")):
            out[path.stem] = read_bvh(path)
    assert out, f"no BVH files in {cmu_dir}"
    return out


def test_every_file_in_the_manifest_is_read(clips, manifest) -> None:
    assert set(clips) == set(manifest)
    for stem, clip in clips.items():
        row = manifest[stem]
        assert clip.sha256 == row["sha256"], stem
        assert clip.meta["frames_in_file"] == int(row["frames"]), stem
        assert clip.fps == 120.0, stem  # every take here was captured at 120 fps
        assert np.isfinite(clip.positions).all() and np.isfinite(clip.rotations).all()


def test_units_match_the_manifest(clips, manifest) -> None:
    expected = {"centimetres": "cm", "CMU ASF": "cmu", "metres": "m"}
    for stem, clip in clips.items():
        unit = next(u for k, u in expected.items() if manifest[stem]["length_unit"].startswith(k))
        assert clip.meta["units"] == unit, stem
        assert clip.meta["up_axis"] == "y", stem  # all files here are Y up


def test_conventions_detected(clips, manifest) -> None:
    for stem, clip in clips.items():
        conversion = manifest[stem]["conversion"]
        expected = ("daz" if "Daz" in conversion else "3dsmax" if "3dsMax" in conversion
                    else "motionbuilder" if "MotionBuilder" in conversion else "cmu_asf")  # fmt: skip
        assert clip.meta["convention"] == expected, stem


def test_plausible_standing_height(clips) -> None:
    for stem, clip in clips.items():
        height = clip.meta["height_estimate_m"]
        if stem == SMALL_AVATAR:
            assert 1.1 < height < 1.5, height  # the avatar, as the README describes
        else:
            assert 1.5 <= height <= 2.0, (stem, height)
    # The Daz HIERARCHY is one generic figure (README section 5 item 3): same size in every file.
    daz = {round(c.meta["leg_length_m"], 6) for s, c in clips.items()
           if c.meta["convention"] == "daz" and s != SMALL_AVATAR}  # fmt: skip
    assert len(daz) == 1


def test_upright_body(clips) -> None:
    for stem, clip in clips.items():
        scale = clip.meta["leg_length_m"] / 0.86
        pelvis, head = clip.joint("pelvis")[:, 2], clip.joint("head")[:, 2]
        assert 0.55 * scale < np.median(pelvis) < 1.15 * scale, stem
        if stem != BROKEN:
            assert np.median(head - pelvis) > 0.35 * scale, stem


def test_feet_near_the_ground(clips, manifest) -> None:
    for stem, clip in clips.items():
        if stem == BROKEN:
            continue
        toes = clip.positions[:, [IX("left_toe"), IX("right_toe")], 2].min(axis=1)
        ankles = clip.positions[:, [IX("left_ankle"), IX("right_ankle")], 2].min(axis=1)
        lowest = np.minimum(toes, ankles)  # joint centres: toe ~2-4 cm, ankle ~7 cm up in stance
        assert np.percentile(lowest, 5) < 0.06, stem
        if manifest[stem]["category"] == "locomotion_uneven_terrain":
            # 03_01 walks over obstacles: it starts ~25 cm up and ends ~8 cm below the main
            # floor level, so the ground is not flat and z = 0 is the ground the feet start on
            # (first stance): the first half second stands at z = 0, later feet go ~0.3 m lower.
            assert clip.meta["floor_method"] == "first_stance", stem
            start = lowest[: int(0.5 * clip.fps)]
            assert -0.03 < np.percentile(start, 5) < 0.06, stem
            assert -0.4 < np.percentile(lowest, 1) < -0.15, stem
            continue
        assert clip.meta["floor_method"] == "clip", stem  # flat ground: whole-clip estimate
        assert np.percentile(lowest, 1) > -0.03, stem  # no deep penetration
        assert np.median(lowest) < 0.12, stem  # a foot is on the ground most of the time


def test_broken_root_trajectory_is_visible(clips, cmu_dir: Path) -> None:
    # 07_12: the root is ~1 m below the file's floor and teleports ~2.4 m between frames 1 and 2
    # (inside the trimmed blend-in); the reader has to lift the clip by ~0.86 m and says so, and
    # a quality filter downstream rejects it.
    clip = clips[BROKEN]
    assert clip.meta["floor_shift_m"] > 0.5
    assert any("floor" in w for w in clip.meta["warnings"])
    root_cm = parse_bvh(cmu_dir / f"{BROKEN}.bvh").motion[:, :3]
    assert np.linalg.norm(root_cm[2] - root_cm[1]) > 200.0
    assert all(abs(c.meta["floor_shift_m"]) < 0.2 for s, c in clips.items() if s != BROKEN)


def test_walking_clips_move_forward_at_the_readme_speed(clips, manifest) -> None:
    walks = [s for s, r in manifest.items() if r["category"].startswith("locomotion_walk")]
    assert sorted(walks) == sorted(README_ROOT_SPEED)
    for stem in walks:
        clip = clips[stem]
        pelvis = clip.joint("pelvis")
        vel = np.diff(pelvis[:, :2], axis=0) * clip.fps
        speed = np.median(np.linalg.norm(vel, axis=1))
        assert speed == pytest.approx(README_ROOT_SPEED[stem], rel=0.15), stem
        # Forward = (left hip - right hip) x up, horizontal: walking goes that way.
        lateral = clip.joint("left_hip") - clip.joint("right_hip")
        forward = np.cross(lateral, [0.0, 0.0, 1.0])[:, :2]
        forward /= np.linalg.norm(forward, axis=1, keepdims=True)
        along = np.sum(vel * 0.5 * (forward[1:] + forward[:-1]), axis=1)
        assert np.median(along) > 0.8 * speed, stem


def test_trimming_matches_the_conversion(clips) -> None:
    for stem, clip in clips.items():
        trimmed = clip.meta["trimmed_leading_frames"]
        convention = clip.meta["convention"]
        if convention == "motionbuilder":
            assert trimmed == 1, stem  # the T-pose frame only
        elif convention == "daz":
            assert 3 <= trimmed <= 5, stem  # T-pose frame + blend-in
        else:
            assert trimmed == 0, stem  # 3dsMax and raw amc2bvh: no padding


def test_16_01_frame_rate_is_corrected_by_gravity(clips) -> None:
    clip = clips["16_01"]
    assert clip.meta["fps_header"] == pytest.approx(30.0, rel=1e-3)
    assert clip.meta["fps_source"] == "ballistic"
    assert clip.duration == pytest.approx(321 / 120)
    for stem in ("01_01", "02_04", "131_03"):  # real jumps confirm the 120 fps headers
        assert clips[stem].meta["fps_ballistic"] == pytest.approx(120.0, rel=0.05), stem


def test_scaled_131_01_matches_131_01(clips, cmu_dir: Path) -> None:
    a, b = clips["131_01"], clips["scaled_131_01"]
    assert b.meta["dropped_duplicate_last_frame"] == 1
    assert a.num_frames == b.num_frames
    assert np.abs(a.positions - b.positions).max() < 1e-3  # metres
    # The Euler triples differ by up to 180 degrees; the rotations do not.
    raw_a = parse_bvh(cmu_dir / "131_01.bvh").motion
    raw_b = parse_bvh(cmu_dir / "scaled_131_01.bvh").motion[:-1]
    assert np.abs(raw_a[:, 3:] - raw_b[:, 3:]).max() > 170.0
    assert np.degrees(quat.angle_between(a.rotations, b.rotations)).max() < 0.01
