"""Distribution distances, smoothness and effort measures against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl import naturalness as N


def test_frechet_hand_case_1d() -> None:
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 sqrt(1 * 4) = 2.
    assert N.frechet_from_stats(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) == pytest.approx(
        2.0
    )


def test_frechet_identical_is_zero_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 6))
    assert N.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    b = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 6))  # other covariance
    same = rng.permutation(a)[:2000]
    assert N.frechet_distance(a, same) < 0.1
    shifts = [N.frechet_distance(a, a + d) for d in (0.5, 1.0, 2.0)]
    assert shifts == pytest.approx([6 * 0.25, 6 * 1.0, 6 * 4.0], rel=1e-6)  # |shift|^2 exactly
    assert N.frechet_distance(a, b) > 1.0


def test_frechet_singular_covariance_stays_finite() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    a = np.concatenate([x, x[:, :1]], axis=1)  # rank 2 in 3-D
    d = N.frechet_distance(a, a + 0.1)
    assert math.isfinite(d) and d == pytest.approx(0.03, abs=1e-3)
    with pytest.raises(N.NaturalnessError):
        N.frechet_distance(a, a[:, :2])


def test_feature_windows_and_speeds() -> None:
    x = np.arange(20, dtype=float).reshape(10, 2)
    w = N.feature_windows(x, window=3, stride=2)
    assert w.shape == (4, 6)
    np.testing.assert_array_equal(w[1], [4, 5, 6, 7, 8, 9])
    assert N.feature_windows(x, window=11).shape == (0, 22)
    v = np.zeros((10, 3))
    v[:, 0] = np.arange(10)
    np.testing.assert_allclose(N.window_speeds(v, 2, 4), [0.5, 4.5, 8.5])


def test_frechet_by_speed_compares_matched_bands() -> None:
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(3000, 2))
    ref_speed = np.repeat([0.5, 1.5], 1500)
    ref[ref_speed > 1] += 3.0  # fast windows look different from slow ones
    pol = rng.normal(size=(3000, 2))
    pol_speed = np.repeat([0.5, 1.5], 1500)
    pol[pol_speed > 1] += 3.0
    bands = [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    rows = N.frechet_by_speed(pol, pol_speed, ref, ref_speed, bands)
    assert [r["n_policy"] for r in rows] == [1500, 1500, 0]
    assert (
        rows[0]["frechet"] < 0.05 and rows[1]["frechet"] < 0.05 and math.isnan(rows[2]["frechet"])
    )
    # Pooled over speeds the same data still matches; a policy walking only slowly does not.
    assert N.frechet_distance(pol, ref) < 0.05
    assert N.frechet_distance(pol[pol_speed < 1], ref) > 2.0


def test_wasserstein_known_shifts() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5000, 3))
    w = N.wasserstein_per_joint(a, a + np.array([0.0, 0.1, 0.5]))
    np.testing.assert_allclose(w, [0.0, 0.1, 0.5], atol=1e-9)
    with pytest.raises(N.NaturalnessError):
        N.wasserstein_per_joint(a, a[:, :2])


def minimum_jerk(length: float, duration: float, fps: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, int(duration * fps) + 1)
    x = length * (10 * t**3 - 15 * t**4 + 6 * t**5)
    return np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=-1)


def test_dimensionless_jerk_of_minimum_jerk_profile() -> None:
    # Analytic value: 720 / 1.875^2 = 204.8, whatever the length and duration.
    for length, duration in ((1.0, 1.0), (0.3, 2.5)):
        dj = N.dimensionless_jerk(minimum_jerk(length, duration, 500.0), 500.0)
        assert dj == pytest.approx(204.8, rel=0.03)
    smooth = minimum_jerk(1.0, 1.0, 200.0)
    noisy = smooth + np.random.default_rng(4).normal(scale=1e-3, size=smooth.shape)
    assert N.dimensionless_jerk(noisy, 200.0) > 10 * N.dimensionless_jerk(smooth, 200.0)
    assert N.log_dimensionless_jerk(noisy, 200.0) < N.log_dimensionless_jerk(smooth, 200.0)
    assert math.isnan(N.dimensionless_jerk(np.zeros((20, 3)), 50.0))


def test_windowed_jerk_does_not_grow_with_length() -> None:
    fps = 50.0
    t = np.arange(0, 20, 1 / fps)
    path = np.stack([t, 0.05 * np.sin(2 * np.pi * t), np.zeros_like(t)], -1)
    short = N.windowed_dimensionless_jerk(path[: int(5 * fps)], fps)
    long = N.windowed_dimensionless_jerk(path, fps)
    assert long == pytest.approx(short, rel=0.05)


def test_action_rate_hand_value() -> None:
    a = np.outer(np.arange(11) * 0.02, np.ones(4))  # 0.02 per step at 50 Hz = 1 unit / s
    assert N.action_rate(a, 50.0) == pytest.approx(1.0)
    assert math.isnan(N.action_rate(a[:1], 50.0))


def test_cost_of_transport_hand_case() -> None:
    tau = np.tile([10.0, -10.0], (100, 1))  # N m
    qd = np.tile([2.0, 2.0], (100, 1))  # rad/s: |tau qd| sums to 40 W
    cot = N.cost_of_transport(tau, qd, mass_kg=10.0, speed_mps=1.0, gravity=10.0)
    assert cot == pytest.approx(40.0 / (10.0 * 10.0 * 1.0))
    assert math.isnan(N.cost_of_transport(tau, qd, 10.0, 0.0))
    assert N.mean_planar_speed(np.array([[0, 0, 0], [3, 4, 0.0]]), 1.0) == pytest.approx(5.0)


def test_discriminator_score_batches() -> None:
    def reward(x: np.ndarray) -> np.ndarray:
        return x[:, 0] * 0.0 + (x[:, 0] > 0)

    pol = np.concatenate([-np.ones((30, 2)), np.ones((10, 2))])
    ref = np.ones((25, 2))
    s = N.discriminator_score(reward, pol, ref, batch_size=7)
    assert s.policy == pytest.approx(0.25) and s.reference == 1.0 and s.ratio == pytest.approx(0.25)


def test_amp_feature_groups_cover_the_frame_layout() -> None:
    dofs = ["left_hip_pitch_joint", "left_knee_joint", "waist_yaw_joint", "left_elbow_joint"]
    g = N.amp_feature_groups(dofs, ["foot_l", "foot_r"])
    D = 13 + 2 * len(dofs) + 3 * 2
    kinds = [g[k] for k in ("root height", "root orientation", "root linear velocity",
                            "root angular velocity", "key-body positions", "joint positions",
                            "joint velocities")]  # fmt: skip
    assert sorted(c for cols in kinds for c in cols) == list(range(D))  # each column once
    q0 = 13 + 6
    assert g["legs (joints)"] == [q0, q0 + 1, q0 + 4, q0 + 5]
    assert g["waist (joints)"] == [q0 + 2, q0 + 6] and g["arms (joints)"] == [q0 + 3, q0 + 7]
    assert "arms (joints)" not in N.amp_feature_groups(dofs[:2], [])  # no arm joint: no group


def test_discriminator_attribution_names_the_group_the_reward_reads() -> None:
    # A "discriminator" that only looks at column 1 of each 3-value frame (2 frames a window):
    # the reference has it at 0, the policy at 2. Swapping that column in gives the reference's
    # reward; swapping the other columns changes nothing.
    def reward(x: np.ndarray) -> np.ndarray:
        return np.exp(-np.abs(x[:, 1]) - np.abs(x[:, 4]))

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 6))
    ref[:, [1, 4]] = 0.0
    pol = rng.normal(size=(40, 6)) + 5.0
    pol[:, [1, 4]] = 2.0
    out = N.discriminator_attribution(reward, pol, ref, {"b": [1], "a+c": [0, 2]}, frame_dim=3)
    assert out["b"] == pytest.approx(1.0)
    assert out["a+c"] == pytest.approx(math.exp(-4.0))
    # A subsample of 8 policy windows: the same mean here.
    assert N.discriminator_attribution(reward, pol, ref, {"b": [1]}, 3, max_windows=8) == {
        "b": pytest.approx(1.0)
    }
    with pytest.raises(N.NaturalnessError, match="frames of 4"):
        N.discriminator_attribution(reward, pol, ref, {"b": [1]}, frame_dim=4)
    with pytest.raises(N.NaturalnessError, match="outside a frame"):
        N.discriminator_attribution(reward, pol, ref, {"b": [3]}, frame_dim=3)
    assert math.isnan(N.discriminator_attribution(reward, pol[:0], ref, {"b": [1]}, 3)["b"])
