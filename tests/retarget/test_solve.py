"""``python -m retarget.solve`` main() on a small synthetic clip and on a rejected summary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mocap import quat
from mocap.fileio import write_json
from mocap.types import CANONICAL_JOINTS, CANONICAL_PARENT_INDICES, ClipError, HumanMotion
from retarget.clip import load_clip, read_status
from retarget.ik import keypoint_positions
from retarget.mapping import G1_MAPPING
from retarget.robot import load_robot
from retarget.solve import RetargetConfig, main, retarget_motion


def _synthetic_human(k: float = 1.3, seconds: float = 1.2, fps: float = 100.0) -> HumanMotion:
    """A 'human' k times the G1 standing still, swaying and waving its arms (feet planted)."""
    robot = load_robot(None)
    names = list(robot.dof_names)
    T = int(seconds * fps) + 1
    qs = np.empty((T, robot.model.nq))
    for t in range(T):
        s = t / fps
        q = robot.default_qpos()
        q[robot.qpos_adr[names.index("left_shoulder_pitch_joint")]] = 0.2 + 0.5 * np.sin(3 * s)
        q[robot.qpos_adr[names.index("right_shoulder_pitch_joint")]] = 0.2 - 0.5 * np.sin(3 * s)
        q[robot.qpos_adr[names.index("waist_yaw_joint")]] = 0.2 * np.sin(2 * s)
        q[3:7] = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.5)
        qs[t] = q
    kp = keypoint_positions(robot.model, qs, G1_MAPPING)
    order = [next(i for i, e in enumerate(G1_MAPPING) if e.human == j) for j in CANONICAL_JOINTS]
    pos = k * kp[:, order]
    pos[..., 2] -= pos[..., 2].min() - 0.04 * k  # soles near z = 0
    return HumanMotion(fps=fps, joint_names=CANONICAL_JOINTS, parents=CANONICAL_PARENT_INDICES,
                       positions=pos, source="synthetic", sha256="0" * 64)


def _inputs(tmp_path, motion: HumanMotion | None, summary: dict):
    npz, js = tmp_path / "in.npz", tmp_path / "in.json"
    if motion is not None:
        motion.save(npz)
    else:
        np.savez(npz, status=np.array("rejected"), reason=np.array(summary["reason"]))
    write_json(js, summary)
    out = tmp_path / "out"
    return ["--input", str(npz), "--summary", str(js), "--out-npz", str(out / "c.npz"),
            "--out-json", str(out / "c.json"), "--out-png", str(out / "c.png")], out


def test_main_on_synthetic_clip(tmp_path):
    summary = {"clip": "demo/sway", "status": "accepted", "sha256": "ab" * 32,
               "sidecar": {"speed_mps": 0.0}}
    argv, out = _inputs(tmp_path, _synthetic_human(), summary)
    assert main([*argv, "--config", json.dumps({"fps": 50, "ik": {"iterations": 2}})]) == 0
    report = json.loads((out / "c.json").read_text())
    assert report["status"] == "accepted", report["reason"]
    assert report["source_sha256"] == "ab" * 32
    assert report["settings"]["ik"]["iterations"] == 2
    m = report["metrics"]
    assert m["frames"] == 61 and m["keypoint_error_mean_m"] < 0.03
    assert m["foot_skating_mps"] < 0.01 and m["penetration_max_m"] <= 0.01
    assert m["airborne_fraction"] == 0.0 and report["timing"]["frames_per_s"] > 0
    clip = load_clip(out / "c.npz")
    assert clip.fps == 50.0 and clip.dof_pos.shape == (61, 29) and len(clip.dof_names) == 29
    np.testing.assert_allclose(np.linalg.norm(clip.root_quat, axis=1), 1.0, atol=1e-5)
    assert (out / "c.png").stat().st_size > 1000


def test_main_keeps_ingestion_rejection(tmp_path):
    summary = {"clip": "cmu/bad", "status": "rejected", "reason": "bad.bvh: broken root",
               "sha256": "cd" * 32}
    argv, out = _inputs(tmp_path, None, summary)
    assert main(argv) == 0
    report = json.loads((out / "c.json").read_text())
    assert report["status"] == "rejected"
    assert report["reason"] == "ingestion: bad.bvh: broken root"
    assert read_status(out / "c.npz") == ("rejected", report["reason"])
    assert (out / "c.png").is_file()


def test_bad_config_exits_2(tmp_path, capsys):
    argv, _ = _inputs(tmp_path, _synthetic_human(seconds=0.6), {"status": "accepted"})
    assert main([*argv, "--config", '{"fsp": 50}']) == 2
    assert "fsp" in capsys.readouterr().err


def test_gate_rejects_teleporting_root():
    motion = _synthetic_human(seconds=1.0)
    motion.positions[50:, :, 0] += 2.4  # the whole body jumps 2.4 m between two frames
    res = retarget_motion(motion, load_robot(None), RetargetConfig())
    assert res.metrics["root_speed_max_mps"] > RetargetConfig().gates.max_root_speed_mps
    bad = HumanMotion(fps=50, joint_names=("pelvis",), parents=[-1], positions=np.zeros((10, 1, 3)))
    with pytest.raises(ClipError, match="lacks joints"):
        retarget_motion(bad, load_robot(None), RetargetConfig())


@pytest.mark.parametrize("gait", ["stairs_up", "stairs_down"])
def test_demo_stairs_accepted_with_known_speed(tmp_path, gait):
    """Non-flat ground: the synthetic stairs (rise 0.15 m, tread 0.30 m) ingest (floor from the
    first stance) and retarget (contacts against the stance-height envelope) with the known
    speed, never airborne and no penetration of the treads they stand on."""
    from mocap.demo import write_demo_clip
    from mocap.ingest import main as ingest_main

    truth = write_demo_clip(gait, tmp_path / f"{gait}.bvh", fps=60.0)
    mocap = tmp_path / "mocap"
    assert ingest_main(["--input", str(tmp_path / f"{gait}.bvh"), "--clip", f"demo/{gait}",
                        "--out-npz", str(mocap / "c.npz"), "--out-json", str(mocap / "c.json")]) == 0
    summary = json.loads((mocap / "c.json").read_text())
    assert summary["status"] == "accepted", summary.get("reason")
    out = tmp_path / "out"
    assert main(["--input", str(mocap / "c.npz"), "--summary", str(mocap / "c.json"),
                 "--out-npz", str(out / "c.npz"), "--out-json", str(out / "c.json")]) == 0
    report = json.loads((out / "c.json").read_text())
    m = report["metrics"]
    assert report["status"] == "accepted", report["reason"]
    assert not m["ground_flat"] and m["support_height_range_m"] > 1.0
    assert abs(m["root_speed_error_rel"]) < 0.05
    assert m["known_speed_mps"] == pytest.approx(truth["speed_mps"])
    assert m["airborne_fraction"] < 0.05 and m["penetration_max_m"] <= 0.01
    assert m["keypoint_error_mean_m"] < 0.03 and m["foot_skating_mps"] < 0.02
    assert m["joint_limit_violations"] == 0
    clip = load_clip(out / "c.npz")
    climb = clip.root_pos[-1, 2] - clip.root_pos[0, 2]
    assert climb * (1 if gait == "stairs_up" else -1) > 1.0  # the root climbs / descends
