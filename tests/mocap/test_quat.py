"""Property tests of the quaternion convention (w, x, y, z) against scipy and invariants."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap import quat


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_quats(rng, n):
    return quat.normalize(rng.normal(size=(n, 4)))


def test_matrix_round_trip_and_scipy(rng):
    q = random_quats(rng, 200)
    m = quat.to_matrix(q)
    np.testing.assert_allclose(quat.from_matrix(m), q, atol=1e-12)
    np.testing.assert_allclose(m, Rotation.from_quat(q, scalar_first=True).as_matrix(), atol=1e-12)


def test_rotate_matches_matrix(rng):
    q = random_quats(rng, 50)
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(quat.rotate(q, v), np.einsum("nij,nj->ni", quat.to_matrix(q), v))


def test_mul_composes_like_matrices(rng):
    a, b = random_quats(rng, 30), random_quats(rng, 30)
    np.testing.assert_allclose(
        quat.to_matrix(quat.mul(a, b)), quat.to_matrix(a) @ quat.to_matrix(b), atol=1e-12
    )
    np.testing.assert_allclose(quat.mul(a, quat.conj(a)), np.tile(quat.IDENTITY, (30, 1)), atol=1e-12)


@pytest.mark.parametrize("order", ["ZXY", "ZYX", "XYZ", "YXZ"])
def test_euler_is_intrinsic_like_scipy(rng, order):
    angles = rng.uniform(-180, 180, size=(40, 3))
    expected = Rotation.from_euler(order, angles, degrees=True).as_quat(scalar_first=True)
    got = quat.from_euler(angles, order)
    np.testing.assert_allclose(quat.angle_between(got, expected), 0.0, atol=1e-6)


def test_euler_flip_gives_same_rotation():
    # (a, b, c) and (a+180, 180-b, c+180) are the same ZXY rotation.
    a = quat.from_euler(np.array([30.0, 20.0, -40.0]), "ZXY")
    b = quat.from_euler(np.array([210.0, 160.0, 140.0]), "ZXY")
    assert quat.angle_between(a, b) < 1e-9


def test_slerp_constant_rate():
    axis = np.array([0.0, 0.0, 1.0])
    q0 = quat.from_axis_angle(axis, 0.2)
    q1 = quat.from_axis_angle(axis, 1.4)
    for t in (0.0, 0.25, 0.5, 1.0):
        np.testing.assert_allclose(quat.slerp(q0, q1, t), quat.from_axis_angle(axis, 0.2 + 1.2 * t))


def test_slerp_takes_short_path():
    q0 = quat.from_axis_angle(np.array([0, 0, 1.0]), 0.1)
    q1 = -quat.from_axis_angle(np.array([0, 0, 1.0]), 0.3)  # same rotation, other sign
    mid = quat.slerp(q0, q1, 0.5)
    assert quat.angle_between(mid, quat.from_axis_angle(np.array([0, 0, 1.0]), 0.2)) < 1e-9


def test_make_continuous_and_yaw(rng):
    q = random_quats(rng, 20)
    q[1::2] *= -1
    c = quat.make_continuous(q)
    assert np.all(np.sum(c[1:] * c[:-1], axis=-1) >= 0)
    np.testing.assert_allclose(quat.angle_between(c, q), 0.0, atol=1e-6)
    assert quat.yaw(quat.from_axis_angle(np.array([0, 0, 1.0]), 0.7)) == pytest.approx(0.7)


def test_y_up_to_z_up():
    np.testing.assert_allclose(quat.rotate(quat.Y_UP_TO_Z_UP, [0, 1.0, 0]), [0, 0, 1.0], atol=1e-12)
    np.testing.assert_allclose(quat.rotate(quat.Y_UP_TO_Z_UP, [0, 0, 1.0]), [0, -1.0, 0], atol=1e-12)


def test_zero_quaternion_rejected():
    with pytest.raises(ValueError):
        quat.normalize(np.zeros(4))
