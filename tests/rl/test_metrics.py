"""Task metrics (tracking, falls, survival, distance, success, levels), rollout I/O, schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from mocap import quat
from rl import metrics as M
from rl.gait import synthetic_frames


def yaw_quat(psi: np.ndarray) -> np.ndarray:
    return quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.asarray(psi))


def episode(
    speed: float = 1.0, cmd: tuple[float, float, float] = (1.0, 0.0, 0.0), seconds: float = 6.0,
    fall_at: int | None = None, level: int = 0,
) -> M.Motion:  # fmt: skip
    f = synthetic_frames(speed=speed, duration=seconds, fps=50.0)
    fps = float(f.pop("fps"))
    n = f["root_pos"].shape[0]
    term = np.zeros(n, bool)
    if fall_at is not None:
        term[fall_at] = True
    return M.Motion(
        name="ep", fps=fps, commands=np.tile(cmd, (n, 1)), actions=np.zeros((n, 29)),
        torques=np.zeros((n, 29)), terminated=term, attrs={"level": level}, **f,
    )  # fmt: skip


def test_heading_frame_velocity_rotates_by_yaw() -> None:
    q = yaw_quat(np.array([np.pi / 2, 0.0]))
    v = np.array([[0.0, 1.0, 0.3], [0.5, -0.2, 0.0]])
    np.testing.assert_allclose(
        M.heading_frame_velocity(q, v), [[1.0, 0.0], [0.5, -0.2]], atol=1e-12
    )


def test_tracking_rmse_hand_values() -> None:
    n = 100
    q = yaw_quat(np.full(n, np.pi / 2))
    cmd = np.tile([1.0, 0.0, 0.5], (n, 1))
    v = np.tile([0.0, 1.0, 0.0], (n, 1))  # exactly the command, seen in the heading frame
    w = np.tile([0.0, 0.0, 0.5], (n, 1))
    assert M.velocity_tracking_rmse(q, v, w, cmd) == pytest.approx((0.0, 0.0), abs=1e-12)
    v2 = v + np.array([0.0, 0.1, 0.0])  # 0.1 m/s too fast forward
    w2 = w.copy()
    w2[::2, 2] += 0.2  # half the steps 0.2 rad/s off: RMSE = 0.2 / sqrt(2)
    lin, yaw = M.velocity_tracking_rmse(q, v2, w2, cmd)
    assert lin == pytest.approx(0.1) and yaw == pytest.approx(0.2 / math.sqrt(2))


def test_window_mean_squared_errors_hand_values() -> None:
    swing = 0.3 * np.sin(2 * np.pi * np.arange(100) / 50)  # one full period per 50 steps
    np.testing.assert_allclose(M.window_mean_squared_errors(swing, 50), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(M.window_mean_squared_errors(swing + 0.1, 50), [0.01, 0.01])
    err = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 4.0], [0.0, 2.0], [9.0, 9.0]])
    np.testing.assert_allclose(M.window_mean_squared_errors(err, 2), [4.0, 9.0])  # 5th left out
    assert M.window_mean_squared_errors(err, 6).shape == (0,)
    with pytest.raises(ValueError, match="steps_per_window"):
        M.window_mean_squared_errors(err, 0)


def test_windowed_rmse_ignores_the_swing_within_a_stride() -> None:
    """A yaw rate that swings 0.3 rad/s around the command has a per-step RMSE of 0.3/sqrt(2)
    but a windowed RMSE of zero; a constant 0.1 rad/s offset counts in both."""
    ep = episode(speed=1.0, cmd=(1.0, 0.0, 0.0), seconds=8.0)  # 400 steps at 50 fps
    n = ep.num_frames
    yaw_rate = 0.3 * np.sin(2 * np.pi * np.arange(n) / 50.0)  # one swing per second
    for offset, window_rmse in ((0.0, 0.0), (0.1, 0.1)):
        w = ep.root_ang_vel.copy()
        w[:, 2] = yaw_rate + offset
        e = M.episode_task_metrics(M.Motion(**{**ep.__dict__, "root_ang_vel": w}), 8.0)
        s = M.aggregate_task_metrics([e])
        assert e.num_windows == n // 100
        assert s["yaw_rate_rmse_radps"] == pytest.approx(math.hypot(0.3 / math.sqrt(2), offset),
                                                         rel=1e-3)  # fmt: skip
        assert s["yaw_rate_window_rmse_radps"] == pytest.approx(window_rmse, abs=1e-9)
    short = M.episode_task_metrics(ep, 8.0, window_s=0.5)
    assert short.num_windows == n // 25
    assert math.isnan(M.aggregate_task_metrics([])["yaw_rate_window_rmse_radps"])


def test_distance_along_command_straight_backwards_and_arc() -> None:
    n, dt = 501, 0.02
    t = np.arange(n) * dt
    pos = np.stack([1.0 * t, np.zeros(n), np.zeros(n)], -1)
    q = yaw_quat(np.zeros(n))
    fwd = np.tile([1.0, 0.0, 0.0], (n, 1))
    assert M.distance_along_command(pos, q, fwd) == pytest.approx(10.0)
    assert M.distance_along_command(pos, q, -fwd) == pytest.approx(-10.0)
    assert M.distance_along_command(pos, q, np.zeros((n, 3))) == 0.0
    # Arc: heading turns at 0.5 rad/s, walking 1 m/s along the heading: arc length v T.
    psi = 0.5 * t
    vel = np.stack([np.cos(psi), np.sin(psi)], -1)
    xy = np.concatenate([[[0.0, 0.0]], np.cumsum(vel[:-1] * dt, axis=0)])
    pos = np.concatenate([xy, np.zeros((n, 1))], -1)
    d = M.distance_along_command(pos, yaw_quat(psi), np.tile([1.0, 0.0, 0.5], (n, 1)))
    assert d == pytest.approx(10.0, rel=1e-6)


def test_falls_survival_success_levels() -> None:
    assert M.survival_time(None, 500, 50.0) == 10.0
    term = np.zeros(500, bool)
    term[99] = True
    assert M.survival_time(term, 500, 50.0) == pytest.approx(2.0)
    assert M.falls_per_minute(3, 90.0) == pytest.approx(2.0)
    assert math.isnan(M.falls_per_minute(1, 0.0))
    assert M.is_success(4.0, 8.0) and not M.is_success(3.99, 8.0)
    levels = [0, 0, 1, 1, 2, 2, 3]
    ok = [True, True, True, False, False, False, False]
    assert M.highest_level_passed(levels, ok) == 1
    assert M.highest_level_passed(levels, ok, min_success_rate=0.75) == 0
    assert M.highest_level_passed([0, 1], [False, False]) == -1


def test_episode_metrics_and_aggregation() -> None:
    good = episode(speed=1.0, seconds=6.0, level=2)  # 6 m along the command: success on 8 m tiles
    slow = episode(speed=0.5, seconds=6.0, fall_at=149, level=3)  # fell after 3 s
    e1, e2 = M.episode_task_metrics(good, 8.0), M.episode_task_metrics(slow, 8.0)
    assert e1.distance_m == pytest.approx(6.0 - 1.0 / 50, rel=1e-6) and e1.success
    assert not e2.success and e2.fell and e2.survival_time_s == pytest.approx(3.0)
    assert e1.lin_sq_err_sum == pytest.approx(0.0, abs=1e-12)
    s = M.aggregate_task_metrics([e1, e2])
    assert s["episodes"] == 2 and s["duration_s"] == pytest.approx(12.0)
    assert s["falls_per_min"] == pytest.approx(60.0 / 12.0)
    assert s["success_rate"] == 0.5 and s["highest_level_passed"] == 2
    assert s["lin_vel_rmse_mps"] == pytest.approx(math.sqrt(0.25 / 2))  # half the steps 0.5 off
    rows = M.per_command_rows([e1, e2])
    assert [r["level"] for r in rows] == [2, 3] and rows[0]["command"] == [1.0, 0.0, 0.0]
    assert M.aggregate_task_metrics([])["episodes"] == 0
    with pytest.raises(M.MetricsError, match="no 'commands'"):
        M.episode_task_metrics(M.Motion(**{**good.__dict__, "commands": None}), 8.0)


def write_episode(g: h5py.Group, m: M.Motion) -> None:
    for k in (*M.MOTION_FIELDS, *M.ROLLOUT_FIELDS):
        g[k] = getattr(m, k)
    g.attrs["level"] = m.attrs["level"]


def test_iter_motions_reads_nested_rollouts(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.h5"
    with h5py.File(path, "w") as f:
        f.attrs["fps"] = 50.0
        write_episode(f.create_group("rollouts/flat/000"), episode(level=1))
        write_episode(f.create_group("rollouts/stairs_up/000"), episode(fall_at=10))
        f["rollouts/stairs_up/000"].attrs["command"] = json.dumps([1.0, 0.0, 0.0])
    ms = list(M.iter_motions(path))
    assert [m.name for m in ms] == ["rollouts/flat/000", "rollouts/stairs_up/000"]
    assert ms[0].fps == 50.0 and ms[0].attrs["level"] == 1 and not ms[0].fell
    assert ms[1].fell and ms[1].attrs["command"] == [1.0, 0.0, 0.0]
    assert ms[0].foot_contacts.dtype == bool and ms[0].key_body_pos.shape[1:] == (9, 3)


def test_iter_motions_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["fps"] = 50.0
        f["clips/a/root_pos"] = np.zeros((5, 3))
    with pytest.raises(M.MetricsError, match=r"bad\.h5.*misses fields"):
        list(M.iter_motions(path, "/clips"))
    with pytest.raises(M.MetricsError, match="cannot open"):
        list(M.iter_motions(tmp_path / "missing.h5"))


def minimal_metrics() -> dict:
    s = M.aggregate_task_metrics([M.episode_task_metrics(episode(), 8.0)])
    return {
        "schema_version": M.METRICS_SCHEMA_VERSION,
        "experiment": "default",
        "terrains": {"flat": {"task": s, "per_command": [{**s, "command": [1, 0, 0], "level": 0}]}},
    }


def test_validate_eval_metrics(tmp_path: Path) -> None:
    obj = minimal_metrics()
    assert M.validate_eval_metrics(obj) is obj
    p = tmp_path / "metrics.json"
    p.write_text(json.dumps(obj))
    assert M.load_eval_metrics(p)["experiment"] == "default"
    del obj["terrains"]["flat"]["task"]["success_rate"]
    with pytest.raises(M.MetricsError, match=r"terrains\.flat\.task: missing \['success_rate'\]"):
        M.validate_eval_metrics(obj)
    with pytest.raises(M.MetricsError, match="missing key 'terrains'"):
        M.validate_eval_metrics({"schema_version": 1, "experiment": "x"})
    p.write_text("{not json")
    with pytest.raises(M.MetricsError, match="not valid JSON"):
        M.load_eval_metrics(p)


def test_nan_to_none_makes_strict_json() -> None:
    obj = {"a": math.nan, "b": [np.float32(1.5), np.inf], "c": np.array([1, 2]), "d": "x"}
    out = M.nan_to_none(obj)
    assert out == {"a": None, "b": [1.5, None], "c": [1, 2], "d": "x"}
    json.dumps(out, allow_nan=False)
