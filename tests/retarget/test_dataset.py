"""The HDF5 reference-motion dataset: build, schema round trip, selection, mirroring, reader,
sampling statistics, validation of untrusted files, atomic writes and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import mujoco
import numpy as np
import pytest
import torch

from mocap import quat
from mocap.configs import ConfigError, canonical_json, from_dict
from retarget import dataset as D
from retarget import tags as T
from retarget.clip import RetargetedClip, save_clip, save_rejected
from retarget.robot import RobotModel, load_robot

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def robot() -> RobotModel:
    return load_robot()


def write_clip(
    folder: Path,
    clip_id: str,
    robot: RobotModel,
    *,
    fps: float = 50.0,
    frames: int = 150,
    speed: float = 1.0,
    yaw_rate: float = 0.0,
    climb: float = 0.0,
    swing: float = 0.25,
    bob: float = 0.02,
    roll: float = 0.03,
    status: str = "accepted",
    reason: str | None = None,
    dof_order: np.ndarray | None = None,
) -> Path:
    """A synthetic retargeted clip (npz + json, DESIGN §3): the root moves at ``speed`` (m/s)
    along its heading, turning at ``yaw_rate`` (rad/s), rising ``climb`` m in total; the legs
    swing sinusoidally (``swing`` rad) around the default pose, the root bobs ``bob`` m and
    rolls ``roll`` rad. Returns the json path."""
    json_path = folder / f"{clip_id}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "clip": clip_id,
        "status": status,
        "reason": reason,
        "source": f"data/mocap/{clip_id}.bvh",
        "source_sha256": "0" * 63 + "1",
        "metrics": {"keypoint_error_mean_m": 0.02, "foot_skating_mps": 0.01},
        "settings": {"ik_iters": 2, "smoothing": 0.5},
    }
    json_path.write_text(json.dumps(summary))
    if status != "accepted":
        save_rejected(json_path.with_suffix(".npz"), str(reason))
        return json_path
    t = np.arange(frames) / fps
    yaw = yaw_rate * t
    if abs(yaw_rate) > 1e-12:
        xy = speed / yaw_rate * np.stack([np.sin(yaw), 1.0 - np.cos(yaw)], -1)
    else:
        xy = speed * np.stack([t, 0.0 * t], -1)
    z = robot.default_root_height + bob * np.sin(2 * np.pi * 1.8 * t) + climb * t / t[-1]
    root_pos = np.concatenate([xy, z[:, None]], -1)
    root_quat = quat.mul(
        quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), yaw),
        quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), roll * np.sin(2 * np.pi * 0.9 * t)),
    )
    phase = np.where(np.arange(29) < 6, 0.0, np.pi)[None]
    dof_pos = robot.default_dof_pos + swing * np.sin(2 * np.pi * 0.9 * t[:, None] + phase)
    names = np.array(robot.dof_names)
    if dof_order is not None:
        names, dof_pos = names[dof_order], dof_pos[:, dof_order]
    save_clip(
        json_path.with_suffix(".npz"), RetargetedClip(fps, root_pos, root_quat, dof_pos, names)
    )
    return json_path


def simple_features(frames) -> torch.Tensor:
    """A small AMP feature function for tests: root height, body velocities, joint angles."""
    return torch.cat(
        [frames["root_pos"][:, 2:], frames["root_lin_vel_b"], frames["dof_pos"][:, :4]], dim=-1
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, robot: RobotModel) -> tuple[Path, list[Path]]:
    """A dataset of two walking clips (one at 120 fps), a rejected clip and excluded ones."""
    src = tmp_path_factory.mktemp("retarget")
    jsons = [
        write_clip(src, "cmu/walk_a", robot, speed=1.0, yaw_rate=0.4),
        write_clip(src, "cmu/walk_b", robot, fps=120.0, frames=300, speed=1.4),
        write_clip(src, "cmu/broken", robot, status="rejected", reason="root trajectory jumps"),
        write_clip(src, "cmu/short", robot, frames=20),
        write_clip(src, "lafan/dance", robot),
    ]
    out = tmp_path_factory.mktemp("dataset") / "motions.h5"
    cfg = D.DatasetConfig(
        exclude=("lafan/*",), tags={"cmu/walk_*": ("walk",)}, clip_weights={"cmu/walk_b": 2.0}
    )
    D.build_dataset(jsons, out, cfg)
    return out, jsons


# ------------------------------------------------------------------------------ schema


def test_round_trip_every_field(built: tuple[Path, list[Path]], robot: RobotModel) -> None:
    out, jsons = built
    cfg = D.DatasetConfig(
        exclude=("lafan/*",), tags={"cmu/walk_*": ("walk",)}, clip_weights={"cmu/walk_b": 2.0}
    )
    feet = D.foot_points(robot)
    with h5py.File(out, "r") as f:
        a = f.attrs
        assert a["schema_version"] == D.SCHEMA_VERSION
        assert a["robot"] == "builtin"
        assert tuple(a["dof_names"]) == robot.dof_names
        assert a["fps"] == 50.0
        assert tuple(a["key_bodies"]) == robot.key_bodies
        assert tuple(a["foot_bodies"]) == robot.foot_bodies
        assert json.loads(a["rejected_clips"]) == [
            {"clip": "cmu/broken", "reason": "root trajectory jumps"}
        ]
        excluded = {e["clip"]: e["reason"] for e in json.loads(a["excluded_clips"])}
        assert set(excluded) == {"cmu/short", "lafan/dance"}
        assert "min_duration_s" in excluded["cmu/short"]
        assert "lafan/*" in excluded["lafan/dance"]
        assert a["config"] == canonical_json(cfg)
        assert from_dict(D.DatasetConfig, json.loads(a["config"])) == cfg

        g = f["clips/cmu/walk_a"]
        clip = D.load_clip_arrays(D.read_clip_summary(jsons[0]), robot.dof_names)
        expect = D.derive_motion(
            robot, clip.root_pos, clip.root_quat, clip.dof_pos, 50.0, robot.key_bodies,
            cfg.contacts, feet,
        )  # fmt: skip
        for name in D.FIELDS:
            assert g[name].shape == expect[name].shape, name
            if name == "foot_contacts":
                assert g[name].dtype == np.bool_
                np.testing.assert_array_equal(g[name][()], expect[name])
            else:
                assert g[name].dtype == np.float32
                np.testing.assert_allclose(g[name][()], expect[name], atol=2e-6, err_msg=name)
        assert g.attrs["clip"] == "cmu/walk_a"
        assert g.attrs["source"] == "data/mocap/cmu/walk_a.bvh"
        assert g.attrs["sha256"] == "0" * 63 + "1"
        assert g.attrs["retarget_settings_hash"] == D.settings_hash(
            {"smoothing": 0.5, "ik_iters": 2}
        )
        assert g.attrs["weight"] == 1.0
        assert g.attrs["duration_s"] == pytest.approx(149 / 50)
        assert json.loads(g.attrs["tags"]) == ["walk"]
        assert json.loads(g.attrs["quality"]) == {
            "keypoint_error_mean_m": 0.02, "foot_skating_mps": 0.01
        }  # fmt: skip
        assert not g.attrs["mirrored"] and g.attrs["mirror_of"] == ""
        m = f["clips/cmu/walk_a.mirror"]
        assert m.attrs["mirrored"] and m.attrs["mirror_of"] == "cmu/walk_a"
        assert m.attrs["weight"] == 1.0 and json.loads(m.attrs["tags"]) == ["walk"]
        assert f["clips/cmu/walk_b"].attrs["weight"] == 2.0

    ds = D.MotionDataset(out, dof_names=robot.dof_names)
    assert ds.clip_names == ("cmu/walk_a", "cmu/walk_a.mirror", "cmu/walk_b", "cmu/walk_b.mirror")
    assert ds.fps == 50.0 and ds.robot_source == "builtin"
    assert ds.key_bodies == robot.key_bodies and ds.foot_bodies == robot.foot_bodies
    assert ds.rejected_clips == [{"clip": "cmu/broken", "reason": "root trajectory jumps"}]
    assert ds.config == json.loads(canonical_json(cfg))
    a0, n0 = int(ds.clip_start[0]), int(ds.clip_len[0])
    for name in D.STATE_FIELDS:
        assert ds.frames[name].dtype == torch.float32 and ds.frames[name].is_contiguous()
        np.testing.assert_allclose(
            ds.frames[name][a0 : a0 + n0].numpy(), expect[name], atol=2e-6, err_msg=name
        )
    assert ds.clip_weight.tolist() == [1.0, 1.0, 2.0, 2.0]
    s = ds.clip_summaries[0]
    assert (s.num_frames, s.tags, s.mirrored, s.source) == (150, ("walk",), False, g_src(jsons))
    assert s.mean_speed == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(ds.speeds, [1.0, 1.0, 1.4, 1.4], atol=0.02)


def g_src(jsons: list[Path]) -> str:
    return json.loads(jsons[0].read_text())["source"]


def test_resampled_clip_keeps_duration_and_speed(built: tuple[Path, list[Path]]) -> None:
    out, _ = built
    with h5py.File(out, "r") as f:
        g = f["clips/cmu/walk_b"]
        # 300 frames at 120 fps = 299/120 s -> floor(124.58) + 1 = 125 frames at 50 fps.
        assert g["dof_pos"].shape == (125, 29)
        assert g.attrs["source_fps"] == 120.0
        assert g.attrs["duration_s"] == pytest.approx(124 / 50)
        np.testing.assert_allclose(g["root_lin_vel"][:, 0], 1.4, atol=1e-4)
        np.testing.assert_allclose(g["root_lin_vel_b"][:, 1], 0.0, atol=0.1)


def test_velocities_of_synthetic_clip(tmp_path: Path, robot: RobotModel) -> None:
    """Turning walk: world velocity rotates with the heading, body velocity stays (v, 0, .),
    yaw rate about z, within 1e-3."""
    j = write_clip(tmp_path / "in", "demo/turn", robot, speed=1.2, yaw_rate=0.5, frames=200,
                   swing=0.03)  # fmt: skip
    out = tmp_path / "m.h5"
    D.build_dataset([j], out, D.DatasetConfig(mirror=False, tags={"*": ("walk",)}))
    with h5py.File(out, "r") as f:
        g = f["clips/demo/turn"]
        t = np.arange(200) / 50.0
        yaw = 0.5 * t
        v = g["root_lin_vel"][()]
        np.testing.assert_allclose(v[:, 0], 1.2 * np.cos(yaw), atol=1e-3)
        np.testing.assert_allclose(v[:, 1], 1.2 * np.sin(yaw), atol=1e-3)
        zdot = 0.02 * 2 * np.pi * 1.8 * np.cos(2 * np.pi * 1.8 * t)
        np.testing.assert_allclose(v[1:-1, 2], zdot[1:-1], atol=3e-3)  # 1.8 Hz bob, O(dt^2)
        w = g["root_ang_vel"][()]
        # Yaw rate about world z plus a small roll oscillation about the heading.
        roll_rate = 0.03 * 2 * np.pi * 0.9 * np.cos(2 * np.pi * 0.9 * t)
        np.testing.assert_allclose(w[:, 2], 0.5, atol=1e-3)
        np.testing.assert_allclose(w[:, 0], roll_rate * np.cos(yaw), atol=1e-3)
        np.testing.assert_allclose(w[:, 1], roll_rate * np.sin(yaw), atol=1e-3)
        q = g["root_quat"][()]
        np.testing.assert_allclose(g["root_ang_vel_b"][()], quat.rotate(quat.conj(q), w), atol=1e-5)
        dof_vel = 0.03 * 2 * np.pi * 0.9 * np.cos(2 * np.pi * 0.9 * t)
        np.testing.assert_allclose(g["dof_vel"][:, 0], dof_vel, atol=1e-3)


def test_key_body_positions_match_mujoco(built: tuple[Path, list[Path]], robot: RobotModel) -> None:
    out, _ = built
    model = robot.model
    data = mujoco.MjData(model)
    ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in robot.key_bodies]
    with h5py.File(out, "r") as f:
        for clip in ("cmu/walk_a", "cmu/walk_b.mirror"):
            g = f["clips"][clip]
            for k in (0, 37, g["dof_pos"].shape[0] - 1):
                data.qpos[:3] = g["root_pos"][k]
                data.qpos[3:7] = g["root_quat"][k]
                data.qpos[7:] = g["dof_pos"][k]
                mujoco.mj_kinematics(model, data)
                np.testing.assert_allclose(g["key_body_pos"][k], data.xpos[ids], atol=1e-5)


def test_official_mjcf_build(tmp_path: Path, g1_dir: Path) -> None:
    official = load_robot(g1_dir / "g1.xml")
    j = write_clip(tmp_path / "in", "demo/walk", official)
    out = tmp_path / "m.h5"
    D.build_dataset([j], out, D.DatasetConfig(mirror=False, tags={"*": ("walk",)}),
                    mjcf=g1_dir / "g1.xml")  # fmt: skip
    with h5py.File(out, "r") as f:
        assert f.attrs["robot"] == str(g1_dir / "g1.xml")
        g = f["clips/demo/walk"]
        data = mujoco.MjData(official.model)
        ids = [official.key_body_ids[i] for i in range(len(official.key_bodies))]
        k = 80
        data.qpos[:7] = np.concatenate([g["root_pos"][k], g["root_quat"][k]])
        data.qpos[official.qpos_adr] = g["dof_pos"][k]
        mujoco.mj_kinematics(official.model, data)
        np.testing.assert_allclose(g["key_body_pos"][k], data.xpos[ids], atol=1e-5)


def test_dof_names_reordered_from_clip(tmp_path: Path, robot: RobotModel) -> None:
    perm = np.random.default_rng(3).permutation(29)
    j1 = write_clip(tmp_path / "a", "x/c", robot)
    j2 = write_clip(tmp_path / "b", "x/c", robot, dof_order=perm)
    c1 = D.load_clip_arrays(D.read_clip_summary(j1), robot.dof_names)
    c2 = D.load_clip_arrays(D.read_clip_summary(j2), robot.dof_names)
    np.testing.assert_array_equal(c1.dof_pos, c2.dof_pos)
    bad = np.load(j1.with_suffix(".npz"))
    np.savez(j1.with_suffix(".npz"), **{**bad, "dof_names": np.array(["a"] * 29)})
    bad.close()
    with pytest.raises(D.DatasetError, match=r"c\.npz: dof_names do not match"):
        D.load_clip_arrays(D.read_clip_summary(j1), robot.dof_names)


def test_foot_contacts_standing_and_lifted(robot: RobotModel) -> None:
    feet = D.foot_points(robot)
    n = 60
    dof = np.tile(robot.default_dof_pos, (n, 1))
    q = np.tile(quat.IDENTITY, (n, 1))
    pos = np.tile([0.0, 0.0, robot.default_root_height], (n, 1))
    cfg = D.DatasetConfig().contacts
    stand = D.derive_motion(robot, pos, q, dof, 50.0, robot.key_bodies, cfg, feet)
    assert stand["foot_contacts"].all()
    hop = pos.copy()
    hop[20:40, 2] += 0.2  # both feet 20 cm up for 0.4 s
    flight = D.derive_motion(robot, hop, q, dof, 50.0, robot.key_bodies, cfg, feet)
    assert not flight["foot_contacts"][20:40].any()
    assert flight["foot_contacts"][:20].all()


# ------------------------------------------------------------------------------ mirroring


def test_mirror_twice_is_identity(tmp_path: Path, robot: RobotModel) -> None:
    j = write_clip(tmp_path, "demo/turn", robot, speed=1.1, yaw_rate=0.6)
    c = D.load_clip_arrays(D.read_clip_summary(j), robot.dof_names)
    feet = D.foot_points(robot)
    cfg = D.DatasetConfig().contacts
    arrays = D.derive_motion(robot, c.root_pos, c.root_quat, c.dof_pos, 50.0, robot.key_bodies,
                             cfg, feet)  # fmt: skip
    once = D.mirror_motion(robot, arrays, 50.0, robot.key_bodies, cfg, feet)
    twice = D.mirror_motion(robot, once, 50.0, robot.key_bodies, cfg, feet)
    for name in D.FIELDS:
        np.testing.assert_allclose(twice[name], arrays[name], atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(once["foot_contacts"], arrays["foot_contacts"][:, ::-1])
    # Key bodies: mirrored left foot = reflected original right foot.
    kp = robot.key_body_mirror_perm
    np.testing.assert_allclose(
        once["key_body_pos"], arrays["key_body_pos"][:, kp] * [1.0, -1.0, 1.0], atol=5e-5
    )  # the published G1 arm offsets are symmetric to 10 um


def test_mirrored_left_turn_turns_right(built: tuple[Path, list[Path]]) -> None:
    out, _ = built
    with h5py.File(out, "r") as f:
        yaw_rate = f["clips/cmu/walk_a/root_ang_vel"][:, 2]
        mirrored = f["clips/cmu/walk_a.mirror/root_ang_vel"][:, 2]
        assert np.all(yaw_rate > 0.3) and np.all(mirrored < -0.3)
        np.testing.assert_allclose(mirrored, -yaw_rate, atol=1e-5)
        y = f["clips/cmu/walk_a.mirror/root_pos"][:, 1]
        assert y[-1] < -0.5  # drifts to the right (-y) instead of the left


def test_mirror_id_collision_is_an_error(tmp_path: Path, robot: RobotModel) -> None:
    jsons = [write_clip(tmp_path, "a/b", robot), write_clip(tmp_path, "a/b.mirror", robot)]
    with pytest.raises(D.DatasetError, match=r"a/b\.mirror.*collides"):
        D.build_dataset(jsons, tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
    D.build_dataset(jsons, tmp_path / "m.h5", D.DatasetConfig(mirror=False, tags={"*": ["walk"]}))


def test_duplicate_clip_ids_are_an_error(tmp_path: Path, robot: RobotModel) -> None:
    jsons = [write_clip(tmp_path / "1", "a/b", robot), write_clip(tmp_path / "2", "a/b", robot)]
    with pytest.raises(D.DatasetError, match="also in"):
        D.build_dataset(jsons, tmp_path / "m.h5")


# ------------------------------------------------------------------------------ selection


def _stepping(touchdowns: list[tuple[int, int]], frames: int = 200, stance: int = 20) -> np.ndarray:
    """Foot contacts [frames, 2]: each (frame, foot) touchdown starts a ``stance``-frame stance."""
    c = np.zeros((frames, 2), dtype=bool)
    for frame, foot in touchdowns:
        c[frame : frame + stance, foot] = True
    return c


def test_measured_tags() -> None:
    t = np.arange(100) / 50.0
    contacts = np.ones((100, 2), dtype=bool)

    def motion(speed: float, climb: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        pos = np.stack([speed * t, 0 * t, 0.75 + climb * t / t[-1]], -1)
        return pos, np.gradient(pos, 1 / 50.0, axis=0)

    assert T.measure_tag(*motion(1.0), contacts) == "walk"
    assert T.measure_tag(*motion(2.5), contacts) == "run"
    assert T.measure_tag(*motion(0.2), contacts) == "walk"  # the G1 speed of demo walk_0.30
    assert T.measure_tag(*motion(0.1), contacts) == "other"
    assert T.measure_tag(*motion(0.8, climb=0.4), contacts) == "stairs"

    # Alternating steps every 15 frames: a stance of 10 frames leaves both feet airborne in 30 %
    # of the frames, one of 12 frames in 18 %.
    def gait(stance: int) -> np.ndarray:
        return _stepping([(15 * k, k % 2) for k in range(7)], frames=100, stance=stance)

    flight = gait(10)
    assert T.airborne_fraction(flight) == pytest.approx(0.30)
    assert T.measure_tag(*motion(1.2), flight) == "run"
    hover = gait(12)  # a walk whose retargeted foot hovers (CMU 07_01), still a walk
    assert T.airborne_fraction(hover) == pytest.approx(0.18)
    assert T.measure_tag(*motion(1.0), hover) == "walk"
    # The same flight share at 0.8 m/s: a hovering foot in a slow walk (CMU 08_04), not a run.
    assert T.measure_tag(*motion(0.8), flight) == "walk"
    assert T.config_tags("cmu/07_01", {"cmu/*": ["walk"], "*_01": ["a", "walk"]}) == ("walk", "a")
    assert T.config_tags("lafan/x", {"cmu/*": ["walk"]}) is None


def test_measured_tags_need_locomotion() -> None:
    t = np.arange(200) / 50.0
    pos = np.stack([1.0 * t, 0 * t, 0.75 + 0 * t], -1)
    vel = np.gradient(pos, 1 / 50.0, axis=0)
    # Alternating steps every 0.5 s: 8 touchdowns, all by the other foot.
    walk = _stepping([(25 * k + 5, k % 2) for k in range(8)])
    assert T.touchdown_alternation(walk, 50.0) == (1.0, 8)
    assert T.measure_tag(pos, vel, walk, 50.0) == "walk"
    # Two-footed landings (jumps): the second foot lands 1 frame (0.02 s) after the first.
    jumps = _stepping([(25 * k + 5 + f, f) for k in range(4) for f in (0, 1)])
    share, n = T.touchdown_alternation(jumps, 50.0)
    assert n == 8 and share == pytest.approx(3 / 7)  # only the landing-to-landing switches
    assert T.measure_tag(pos, vel, jumps, 50.0) == "other"
    # The same jumps counted at 200 fps: 1 frame is 0.005 s, still one two-footed landing.
    assert T.touchdown_alternation(jumps, 200.0)[0] == pytest.approx(3 / 7)
    # Back and forth at the same mean speed (dancing): alternating steps that go nowhere.
    x = 0.5 * np.sin(2 * np.pi * t / 1.0) / np.pi * 2
    sway = np.stack([x, 0 * t, 0.75 + 0 * t], -1)
    sway_vel = np.gradient(sway, 1 / 50.0, axis=0)
    assert T.path_efficiency(sway, 50.0) < 0.1
    assert T.path_efficiency(pos, 50.0) == pytest.approx(1.0)
    assert T.mean_horizontal_speed(sway_vel) > 0.3
    assert T.measure_tag(sway, sway_vel, walk, 50.0) == "other"
    # Too few touchdowns to judge the alternation: left to the speed rules.
    two = _stepping([(5, 0), (6, 1)])
    assert T.measure_tag(pos, vel, two, 50.0) == "walk"


def test_selection_and_weights(tmp_path: Path, robot: RobotModel) -> None:
    jsons = [
        write_clip(tmp_path, "cmu/walk", robot, speed=1.0),
        write_clip(tmp_path, "cmu/run", robot, speed=2.5),
        write_clip(tmp_path, "cmu/stand", robot, speed=0.0, swing=0.0, bob=0.0, roll=0.0),
        write_clip(tmp_path, "cmu/stairs", robot, speed=0.6, climb=0.5),
        write_clip(tmp_path, "mine/special", robot, speed=1.0),
        write_clip(tmp_path, "mine/bad", robot, status="rejected", reason="ik failed"),
    ]
    out = tmp_path / "m.h5"
    # Measured tags: the synthetic feet slide with the root, so moving clips count as airborne
    # ("run"); name the locomotion explicitly and let the stand/stairs clips be measured.
    cfg = D.DatasetConfig(
        tags={"cmu/walk": ["walk"], "mine/*": ["walk", "special"]},
        tag_weights={"walk": 1.0, "run": 0.5, "stairs": 1.5, "other": 0.0, "special": 3.0},
        clip_weights={"mine/*": 0.5},
        exclude_tags=["stairs"],
        mirror=False,
    )
    result = D.build_dataset(jsons, out, cfg)
    assert result.clips == ("cmu/walk", "cmu/run", "mine/special")
    excluded = {e["clip"]: e["reason"] for e in result.excluded}
    assert excluded == {
        "cmu/stand": "weight 0 (tags ['other'])",
        "cmu/stairs": "tag 'stairs' in exclude_tags",
    }
    assert result.rejected == ({"clip": "mine/bad", "reason": "ik failed"},)
    ds = D.MotionDataset(out)
    w = dict(zip(ds.clip_names, ds.clip_weight.tolist(), strict=True))
    assert w == {"cmu/walk": 1.0, "cmu/run": 0.5, "mine/special": 1.5}
    tags = {s.clip: s.tags for s in ds.clip_summaries}
    assert tags["cmu/run"] == ("run",) and tags["mine/special"] == ("walk", "special")

    only = D.build_dataset(jsons, out, D.DatasetConfig(include=["mine/*"], include_tags=["walk"],
                                                      tags={"*": ["walk"]}, mirror=False))  # fmt: skip
    assert only.clips == ("mine/special",)
    assert {e["clip"] for e in only.excluded} == {"cmu/walk", "cmu/run", "cmu/stand", "cmu/stairs"}


def test_config_is_strict() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(D.DatasetConfig, {"fsp": 50})
    with pytest.raises(ConfigError, match="contacts"):
        from_dict(D.DatasetConfig, {"contacts": {"height_onn": 0.1}})
    with pytest.raises(ConfigError, match="tag_weights"):
        from_dict(D.DatasetConfig, {"tag_weights": {"walk": -1.0}})
    cfg = from_dict(D.DatasetConfig, {"include": ["cmu/*"], "contacts": {"height_on": 0.02}})
    assert cfg.include == ("cmu/*",) and cfg.contacts.height_on == 0.02


def test_no_clip_left_is_an_error(tmp_path: Path, robot: RobotModel) -> None:
    j = write_clip(tmp_path, "a/b", robot, status="rejected", reason="bad")
    with pytest.raises(D.DatasetError, match="no clip left"):
        D.build_dataset([j], tmp_path / "m.h5")
    assert list(tmp_path.glob("*.h5")) == []


# ------------------------------------------------------------------------------ sampling


@pytest.fixture(scope="module")
def weighted(tmp_path_factory: pytest.TempPathFactory, robot: RobotModel) -> Path:
    src = tmp_path_factory.mktemp("weighted")
    jsons = [
        write_clip(src, "w/a", robot, frames=60),
        write_clip(src, "w/b", robot, frames=120),
        write_clip(src, "w/c", robot, frames=90),
        write_clip(src, "w/tiny", robot, frames=4),
    ]
    out = src / "m.h5"
    cfg = D.DatasetConfig(
        mirror=False, min_duration_s=0.0, tags={"*": ["walk"]},
        clip_weights={"w/b": 0.5, "w/c": 2.0},
    )  # fmt: skip
    D.build_dataset(jsons, out, cfg)
    return out


def test_sampling_frequencies_match_weights(weighted: Path) -> None:
    ds = D.MotionDataset(weighted, amp_feature_fn=simple_features)
    assert ds.clip_names == ("w/a", "w/b", "w/c", "w/tiny")
    g = torch.Generator().manual_seed(0)
    n = 200_000
    for history in (1, 10):
        s = ds.sample_frames(n, g, history)
        valid = (ds.clip_len - history + 1).clamp(min=0).double()
        p = ds.clip_weight * valid
        p = (p / p.sum()).numpy()
        freq = np.bincount(s.clip.numpy(), minlength=4) / n
        sigma = np.sqrt(p * (1 - p) / n)
        assert np.all(np.abs(freq - p) <= 5 * sigma + 1e-12), (history, freq, p)
        if history == 10:
            assert freq[3] == 0.0  # the 4-frame clip cannot hold a 10-frame window
        # Windows inside their clip; starts uniform over the valid range.
        offset = s.start - ds.clip_start[s.clip]
        assert bool((offset >= 0).all()) and bool((offset + history <= ds.clip_len[s.clip]).all())
        a = s.clip == 1
        assert int(offset[a].min()) == 0 and int(offset[a].max()) == 120 - history
        counts = np.bincount(offset[a].numpy(), minlength=121 - history)
        assert counts.std() / counts.mean() < 0.15
    # Same seed, same samples.
    s1 = ds.sample_frames(100, torch.Generator().manual_seed(7), 5)
    s2 = ds.sample_frames(100, torch.Generator().manual_seed(7), 5)
    assert torch.equal(s1.start, s2.start)


def test_sample_amp_obs_gathers_consecutive_frames(weighted: Path) -> None:
    ds = D.MotionDataset(weighted, amp_feature_fn=simple_features)
    assert ds.amp_feature_dim == 8
    feats = ds.amp_features
    obs = ds.sample_amp_obs(500, 3, torch.Generator().manual_seed(1))
    assert obs.shape == (500, 24) and obs.dtype == torch.float32
    # Each row is 3 consecutive frames of one clip: compare with a recomputed window.
    g = torch.Generator().manual_seed(1)
    start = ds.sample_frames(500, g, 3).start
    expect = torch.stack([feats[start], feats[start + 1], feats[start + 2]], 1).reshape(500, 24)
    assert torch.equal(obs, expect)
    with pytest.raises(D.DatasetError, match="no clip"):
        ds.sample_amp_obs(4, 1000, torch.Generator())
    no_feats = D.MotionDataset(weighted)
    with pytest.raises(D.DatasetError, match="amp_feature_fn"):
        no_feats.sample_amp_obs(4, 2, torch.Generator())


def test_sample_states(weighted: Path) -> None:
    ds = D.MotionDataset(weighted)
    states = ds.sample_states(64, torch.Generator().manual_seed(2))
    assert set(states) == set(D.STATE_FIELDS)
    shapes = {k: tuple(v.shape) for k, v in states.items()}
    assert shapes == {
        "root_pos": (64, 3), "root_quat": (64, 4), "root_lin_vel": (64, 3),
        "root_ang_vel": (64, 3), "dof_pos": (64, 29), "dof_vel": (64, 29),
    }  # fmt: skip
    start = ds.sample_frames(64, torch.Generator().manual_seed(2), 1).start
    assert torch.equal(states["dof_pos"], ds.frames["dof_pos"][start])


def test_reader_reads_only_needed_fields(weighted: Path) -> None:
    seen: list[str] = []

    def fn(frames) -> torch.Tensor:
        seen.extend(k for k in frames)  # iterating lists names without reading
        return frames["key_body_pos"].reshape(frames["key_body_pos"].shape[0], -1)

    ds = D.MotionDataset(weighted, amp_feature_fn=fn)
    assert set(seen) == set(D.FIELDS)
    assert ds.amp_feature_dim == 27
    assert set(ds.frames) == set(D.STATE_FIELDS)


# ------------------------------------------------------------------------------ validation


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_schema_version_mismatch_fails_clearly(weighted: Path, tmp_path: Path) -> None:
    p = _copy(weighted, tmp_path / "old.h5")
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 0
    with pytest.raises(D.DatasetError, match=r"old\.h5: schema_version 0.*reads 1.*rebuild"):
        D.MotionDataset(p)


def test_dof_names_mismatch_fails_clearly(weighted: Path, robot: RobotModel) -> None:
    names = list(robot.dof_names)
    names[3], names[4] = names[4], names[3]
    with pytest.raises(D.DatasetError, match=r"m\.h5: dof_names do not match the robot's"):
        D.MotionDataset(weighted, dof_names=names)
    with pytest.raises(D.DatasetError, match="dof_names"):
        D.MotionDataset(weighted, dof_names=names[:23])
    D.MotionDataset(weighted, dof_names=robot.dof_names)


def test_reader_rejects_bad_files(weighted: Path, tmp_path: Path) -> None:
    cases = {
        "nan": ("w/b", "dof_vel", lambda x: np.where(np.arange(x.shape[0])[:, None] == 5, np.nan,
                                                       x), r"clip w/b: dof_vel has non-finite"),
        "shape": ("w/a", "dof_pos", lambda x: x[:, :28], r"clip w/a: dof_pos has shape"),
        "length": ("w/c", "root_quat", lambda x: x[:-1], r"clip w/c: root_quat has shape"),
        "dtype": ("w/a", "foot_contacts", lambda x: x.astype(np.int8), "must be bool"),
        "quat": ("w/a", "root_quat", lambda x: 2 * x, "not unit norm"),
    }  # fmt: skip
    for name, (clip, field, edit, message) in cases.items():
        p = _copy(weighted, tmp_path / f"{name}.h5")
        with h5py.File(p, "a") as f:
            g = f["clips"][clip]
            data = edit(g[field][()])
            del g[field]
            g.create_dataset(field, data=data)
        with pytest.raises(D.DatasetError, match=message):
            D.MotionDataset(p)
    p = _copy(weighted, tmp_path / "weight.h5")
    with h5py.File(p, "a") as f:
        f["clips/w/a"].attrs["weight"] = -1.0
    with pytest.raises(D.DatasetError, match="weight"):
        D.MotionDataset(p)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(D.DatasetError, match=r"junk\.h5: not a readable HDF5"):
        D.MotionDataset(junk)
    with pytest.raises(D.DatasetError, match="not found"):
        D.MotionDataset(tmp_path / "missing.h5")


# ------------------------------------------------------------------------------ atomic writes


def test_killed_build_leaves_no_file(
    tmp_path: Path, robot: RobotModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    jsons = [write_clip(tmp_path / "in", f"c/{i}", robot) for i in range(3)]
    out = tmp_path / "out" / "motions.h5"
    real = D._write_clip
    calls = {"n": 0}

    def dying(group, record) -> None:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt("killed")
        real(group, record)

    monkeypatch.setattr(D, "_write_clip", dying)
    with pytest.raises(KeyboardInterrupt):
        D.build_dataset(jsons, out)
    assert list(out.parent.iterdir()) == []

    # An existing dataset survives a killed rebuild unchanged.
    monkeypatch.setattr(D, "_write_clip", real)
    cfg = D.DatasetConfig(tags={"*": ["walk"]})
    D.build_dataset(jsons[:1], out, cfg)
    before = out.read_bytes()
    calls["n"] = 0
    monkeypatch.setattr(D, "_write_clip", dying)
    with pytest.raises(KeyboardInterrupt):
        D.build_dataset(jsons, out, cfg)
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["motions.h5"]


# ------------------------------------------------------------------------------ CLI


def test_cli_build_and_info(
    built: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, jsons = built
    out = tmp_path / "cli.h5"
    config = json.dumps({"exclude": ["lafan/*"], "tags": {"cmu/walk_*": ["walk"]}})
    argv = ["build", "--clips", *map(str, jsons), "--out", str(out), "--config", config]
    assert D.main(argv) == 0
    assert D.main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for expected in ("cmu/walk_a", "cmu/walk_b.mirror", "schema_version 1", "robot builtin",
                     "cmu/broken: root trajectory jumps", "cmu/short: duration",
                     "lafan/dance: matched exclude pattern 'lafan/*'", "rejected clips (1)",
                     "excluded clips (2)"):  # fmt: skip
        assert expected in text, expected
    line = next(x for x in text.splitlines() if x.startswith("cmu/walk_b "))
    assert line.split()[1:5] == ["125", "2.48", "1.40", "1"]
    assert D.main(["build", "--clips", *map(str, jsons), "--out", str(out), "--config",
                   '{"mirorr": true}']) == 2  # fmt: skip
    assert D.main(["info", str(tmp_path / "nope.h5")]) == 1
    assert "not found" in capsys.readouterr().err


@pytest.mark.gpu
def test_sampling_on_cuda(weighted: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    ds = D.MotionDataset(weighted, device="cuda", amp_feature_fn=simple_features)
    g = torch.Generator(device="cuda").manual_seed(0)
    obs = ds.sample_amp_obs(1024, 4, g)
    assert obs.device.type == "cuda" and obs.shape == (1024, 32)
    states = ds.sample_states(16, g)
    assert all(v.device.type == "cuda" for v in states.values())
    cpu = D.MotionDataset(weighted, amp_feature_fn=simple_features)
    torch.testing.assert_close(ds.amp_features.cpu(), cpu.amp_features)


def test_bad_retargeted_clip_fails_naming_the_file(tmp_path: Path, robot: RobotModel) -> None:
    j = write_clip(tmp_path, "a/nan", robot)
    with np.load(j.with_suffix(".npz")) as z:
        arrays = dict(z)
    arrays["dof_pos"][3, 2] = np.nan
    np.savez(j.with_suffix(".npz"), **arrays)
    with pytest.raises(D.DatasetError, match=r"nan\.npz: dof_pos has non-finite"):
        D.build_dataset([j], tmp_path / "m.h5")
    j.with_suffix(".npz").unlink()
    with pytest.raises(D.DatasetError, match=r"nan\.npz"):
        D.build_dataset([j], tmp_path / "m.h5")
    j.write_text('{"clip": "../x", "status": "accepted"}')
    with pytest.raises(D.DatasetError, match=r"nan\.json: missing or invalid clip id"):
        D.build_dataset([j], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()


def test_with_the_env_amp_features(weighted: Path, robot: RobotModel) -> None:
    """rl.amp_obs's feature function plugs in as amp_feature_fn (the env's AMP layout)."""
    amp_obs_mod = pytest.importorskip("rl.amp_obs")

    def features(f) -> torch.Tensor:
        return amp_obs_mod.amp_obs(
            f["root_pos"], f["root_quat"], f["root_lin_vel"], f["root_ang_vel"], f["dof_pos"],
            f["dof_vel"], f["key_body_pos"],
        )  # fmt: skip

    ds = D.MotionDataset(weighted, dof_names=robot.dof_names, amp_feature_fn=features)
    assert ds.amp_feature_dim == amp_obs_mod.amp_obs_dim(29, len(robot.key_bodies))
    obs = ds.sample_amp_obs(256, 2, torch.Generator().manual_seed(0))
    assert obs.shape == (256, 2 * ds.amp_feature_dim) and bool(torch.isfinite(obs).all())
