"""Gait-cycle analysis on synthetic gaits with exactly known cadence, stride, duty and symmetry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl import gait as G
from rl.metrics import Motion


def analyze(**kw: float) -> G.GaitAnalysis:
    fps = kw.pop("fps", 100.0)
    g = G.synthetic_gait(fps=fps, **kw)
    return G.analyze_gait(g["foot_contacts"], g["foot_pos"], fps)


def test_contact_events_and_cleaning() -> None:
    c = np.array([0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0], dtype=bool)
    td, lo = G.contact_events(c)
    assert td.tolist() == [1, 6, 8] and lo.tolist() == [4, 7, 11]
    cleaned = G.clean_contacts(c, min_frames=2)  # the one-frame contact at 6 is flicker
    td, lo = G.contact_events(cleaned)
    assert td.tolist() == [1, 8] and lo.tolist() == [4, 11]
    # Runs at the ends are kept even when short.
    assert G.clean_contacts(np.array([1, 0, 0, 0, 1], dtype=bool), 3).tolist() == [1, 0, 0, 0, 1]


def test_symmetric_walk_has_known_values() -> None:
    s = G.summarize_gait(analyze(speed=1.2, cadence=120.0, duty=0.6, clearance=0.08))
    assert s["n_strides"] >= 16
    assert s["cadence_spm"] == pytest.approx(120.0, rel=1e-6)
    assert s["stride_length_m"] == pytest.approx(1.2, rel=1e-6)
    assert s["stride_time_s"] == pytest.approx(1.0, rel=1e-6)
    assert s["speed_mps"] == pytest.approx(1.2, rel=1e-6)
    assert s["duty_factor"] == pytest.approx(0.6, abs=0.011)  # one frame at 100 fps
    assert s["double_support"] == pytest.approx(2 * (0.6 - 0.5), abs=0.011)
    assert s["flight"] == 0.0
    assert s["step_time_si"] == pytest.approx(0.0, abs=1e-6)
    assert s["step_length_si"] == pytest.approx(0.0, abs=1e-6)
    assert s["clearance_m"] == pytest.approx(0.08, abs=2e-3)
    assert s["slip_m"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("speed", "cadence"), [(0.8, 100.0), (1.5, 125.0), (2.0, 150.0)])
def test_cadence_and_stride_at_other_speeds(speed: float, cadence: float) -> None:
    s = G.summarize_gait(analyze(speed=speed, cadence=cadence, fps=50.0, duration=12.0))
    assert s["cadence_spm"] == pytest.approx(cadence, rel=0.02)
    assert s["stride_length_m"] == pytest.approx(speed * 120.0 / cadence, rel=0.02)


def test_running_gait_has_flight_and_no_double_support() -> None:
    s = G.summarize_gait(analyze(speed=3.0, cadence=170.0, duty=0.35))
    assert s["double_support"] == 0.0
    assert s["flight"] == pytest.approx(2 * (0.5 - 0.35), abs=0.02)
    assert s["duty_factor"] == pytest.approx(0.35, abs=0.02)


def test_limping_gait_scores_worse_on_symmetry() -> None:
    sym = G.summarize_gait(analyze(limp=0.0))
    limp = G.summarize_gait(analyze(limp=0.1))
    # Left step (0.5 - 0.1) Ts, right step (0.5 + 0.1) Ts: SI = 100 * 0.2 / 0.5 = 40 %.
    assert limp["step_time_si"] == pytest.approx(40.0, abs=0.5)
    assert limp["step_length_si"] == pytest.approx(40.0, abs=0.5)
    assert limp["step_time_si"] > sym["step_time_si"] + 30
    assert limp["cadence_spm"] == pytest.approx(120.0, rel=1e-6)  # same strides, uneven steps


def test_stance_slip_is_measured() -> None:
    s = G.summarize_gait(analyze(slip=0.02))
    assert s["slip_m"] == pytest.approx(0.02, abs=0.001)


def test_symmetry_index_hand_values() -> None:
    assert G.symmetry_index(1.0, 1.0) == 0.0
    assert G.symmetry_index(0.4, 0.6) == pytest.approx(40.0)
    assert math.isnan(G.symmetry_index(math.nan, 1.0))


def test_reference_interpolation_and_speed_bands() -> None:
    # Reference: cadence rises linearly with speed (100 at 0.8 m/s, 140 at 1.6 m/s).
    parts = []
    for v in (0.8, 1.2, 1.6):
        cad = 100.0 + (v - 0.8) * 50.0
        parts.append(analyze(speed=v, cadence=cad, fps=50.0, duration=12.0).strides)
    ref = G.Strides.concatenate(parts)
    curve = G.reference_curve(ref.speed, ref.cadence, bin_width=0.1)
    assert curve.speed.size == 3
    assert float(G.interp_reference(curve, 1.0)) == pytest.approx(110.0, rel=0.02)
    assert math.isnan(float(G.interp_reference(curve, 3.0)))  # no extrapolation
    policy = analyze(speed=1.0, cadence=90.0, fps=50.0, duration=12.0).strides
    rows = G.gait_by_speed(policy, ref)
    assert len(rows) == 1 and rows[0]["speed_lo"] <= 1.0 < rows[0]["speed_hi"]
    assert rows[0]["cadence_spm"] == pytest.approx(90.0, rel=0.02)
    assert rows[0]["ref_cadence_spm"] == pytest.approx(110.0, rel=0.03)
    assert rows[0]["ref_stride_length_m"] == pytest.approx(1.0 * 120 / 110, rel=0.05)
    assert math.isnan(G.gait_by_speed(policy, None)[0]["ref_cadence_spm"])


def test_cycle_normalize_maps_strides_to_phase() -> None:
    a = analyze()
    frames = np.arange(1000, dtype=np.float64)
    cycles = G.cycle_normalize(frames, a.strides, foot=0, n_points=11)
    left = a.strides.select(a.strides.foot == 0)
    assert cycles.shape == (len(left), 11, 1)
    np.testing.assert_allclose(cycles[:, 0, 0], left.start)
    np.testing.assert_allclose(cycles[:, -1, 0], left.end)
    np.testing.assert_allclose(np.diff(cycles[:, :, 0], axis=1), 10.0)  # 100 frames / 10


def test_analyze_motion_picks_feet_from_key_bodies() -> None:
    from retarget.g1_params import KEY_BODIES

    f = G.synthetic_frames(speed=1.0, cadence=110.0, duration=8.0)
    fps = float(f.pop("fps"))
    m = Motion(name="synthetic", fps=fps, **f)
    s = G.summarize_gait(G.analyze_motion(m, KEY_BODIES))
    assert s["cadence_spm"] == pytest.approx(110.0, rel=0.02)
    assert s["stride_length_m"] == pytest.approx(120.0 / 110.0, rel=0.02)
    with pytest.raises(G.GaitError, match="not among the key bodies"):
        G.foot_positions(f["key_body_pos"], ["a"] * len(KEY_BODIES))


def test_bad_shapes_are_reported() -> None:
    with pytest.raises(G.GaitError, match=r"foot_contacts must be \[T, 2\]"):
        G.analyze_gait(np.zeros((10, 3), bool), np.zeros((10, 2, 3)), 50.0)


def test_no_strides_gives_nan_summary() -> None:
    s = G.summarize_gait(G.analyze_gait(np.ones((50, 2), bool), np.zeros((50, 2, 3)), 50.0))
    assert s["n_strides"] == 0 and math.isnan(s["cadence_spm"]) and math.isnan(s["duty_factor"])


def test_simultaneous_touchdowns_are_not_steps():
    contacts = np.zeros((40, 2), dtype=bool)
    contacts[10:20] = True  # both feet land together (a fall or a jump)
    contacts[30:] = True
    feet = np.zeros((40, 2, 3))
    a = G.analyze_gait(contacts, feet, 50.0)
    assert np.all(a.steps.step_time > 0)
    G.summarize_gait(a)  # no division by zero


def test_steps_of_an_episode_without_strides_do_not_count():
    # A fall: the feet land a frame apart (two "steps" of 0.02 s) and the episode ends.
    contacts = np.zeros((30, 2), dtype=bool)
    contacts[10:, 0] = True
    contacts[11:, 1] = True
    fall = G.analyze_gait(contacts, np.zeros((30, 2, 3)), 50.0)
    assert len(fall.steps.step_time) and not len(fall.strides)
    assert math.isnan(G.summarize_gait(fall)["cadence_spm"])  # was 3000 steps/min
    walk = analyze(speed=1.0, cadence=110.0, fps=50.0, duration=8.0)
    pooled = G.summarize_gait([walk, fall])
    assert pooled["cadence_spm"] == pytest.approx(G.summarize_gait(walk)["cadence_spm"])
    assert pooled["cadence_spm"] == pytest.approx(110.0, rel=0.02)
