"""Distribution distances and smoothness/effort measures of motions (policy vs reference).

- :func:`frechet_distance`: Fréchet distance between Gaussian fits of two sets of feature
  vectors (the FID formula), ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, in squared
  feature units; 0 for identical distributions. :func:`feature_windows` stacks consecutive
  frames (e.g. AMP features) into windows and :func:`frechet_by_speed` compares windows at
  matched speed bands.
- :func:`wasserstein_per_joint`: Wasserstein-1 distance of each column's 1-D distribution (joint
  angles in rad, velocities in rad/s).
- :func:`dimensionless_jerk`: ``(T^3 / v_peak^2) * integral |d^3 p / dt^3|^2 dt`` of a path
  (Hogan & Sternad 2009), scale and duration invariant (a minimum-jerk point-to-point movement
  scores 720 / 1.875^2 = 204.8); :func:`windowed_dimensionless_jerk` averages it over windows so
  long rollouts stay comparable.
- :func:`action_rate`: RMS rate of change of the actions (action units / s).
- :func:`cost_of_transport`: mechanical cost of transport ``mean_t sum_j |tau_j qdot_j| / (m g v)``.
- :func:`discriminator_score`: mean style reward a frozen discriminator gives policy vs reference
  windows; :func:`discriminator_attribution` says which AMP features it tells them apart by
  (the policy's reward with one group of features swapped for the reference's).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.stats import wasserstein_distance

from rl.metrics import FrechetBand

GRAVITY = 9.81
"""m/s^2."""


class NaturalnessError(ValueError):
    """Inputs that cannot be compared (shape mismatch, too few samples)."""


# ----------------------------------------------------------------------------------------------
# Fréchet distance
# ----------------------------------------------------------------------------------------------
def gaussian_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (unbiased) of samples ``x`` [N, D], N >= 2."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise NaturalnessError(f"need samples [N>=2, D], got shape {x.shape}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance of N(mu_a, cov_a) and N(mu_b, cov_b) (squared feature units).

    Numerical care as in the FID reference code: if ``sqrtm(cov_a cov_b)`` is not finite
    (singular product: non-finite, or scipy warns), ``eps * I`` is added to both covariances; a small imaginary part from
    round-off is dropped; the result is clamped at 0.
    """
    mu_a, mu_b = np.atleast_1d(mu_a), np.atleast_1d(mu_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape:
        raise NaturalnessError(f"feature sizes differ: {mu_a.shape} vs {mu_b.shape}")
    diff = mu_a - mu_b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if caught or not np.all(np.isfinite(covmean)):
        off = eps * np.eye(cov_a.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            covmean = scipy.linalg.sqrtm((cov_a + off) @ (cov_b + off))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussian fits of samples ``a`` [N, D] and ``b`` [M, D]."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise NaturalnessError(f"samples must be [N, D] with equal D, got {a.shape}, {b.shape}")
    return frechet_from_stats(*gaussian_fit(a), *gaussian_fit(b), eps=eps)


def feature_windows(features: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Windows of ``window`` consecutive frames of ``features`` [T, F], oldest first, flattened:
    [N, window * F] with N = (T - window) // stride + 1 (0 when T < window)."""
    x = np.asarray(features)
    if window < 1 or stride < 1:
        raise NaturalnessError(f"window and stride must be >= 1, got {window}, {stride}")
    n = (x.shape[0] - window) // stride + 1 if x.shape[0] >= window else 0
    if n == 0:
        return np.zeros((0, window * x.shape[1]), dtype=x.dtype)
    idx = np.arange(n)[:, None] * stride + np.arange(window)[None, :]
    return x[idx].reshape(n, -1)


def window_speeds(root_lin_vel_w: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Mean planar root speed (m/s) of each window of :func:`feature_windows`: [N]."""
    speed = np.linalg.norm(np.asarray(root_lin_vel_w, dtype=np.float64)[:, :2], axis=-1)
    w = feature_windows(speed[:, None], window, stride)
    return w.mean(axis=1) if w.size else np.zeros(0)


def frechet_by_speed(
    policy: np.ndarray,
    policy_speed: np.ndarray,
    reference: np.ndarray,
    reference_speed: np.ndarray,
    bands: Sequence[tuple[float, float]],
    min_samples: int | None = None,
) -> list[FrechetBand]:
    """Fréchet distance of policy vs reference windows within each speed band (m/s).

    A band where either side has fewer than ``min_samples`` windows (default: feature size + 1,
    so the covariance can be full rank) gets NaN; its counts are still reported.
    """
    p, r = np.asarray(policy), np.asarray(reference)
    ps, rs = np.asarray(policy_speed), np.asarray(reference_speed)
    need = (p.shape[1] + 1) if min_samples is None else min_samples
    need = max(need, 2)
    rows: list[FrechetBand] = []
    for lo, hi in bands:
        mp, mr = (ps >= lo) & (ps < hi), (rs >= lo) & (rs < hi)
        n_p, n_r = int(mp.sum()), int(mr.sum())
        value = frechet_distance(p[mp], r[mr]) if min(n_p, n_r) >= need else math.nan
        rows.append(
            FrechetBand(
                speed_lo=float(lo), speed_hi=float(hi), n_policy=n_p, n_reference=n_r,
                frechet=value,
            )
        )  # fmt: skip
    return rows


# ----------------------------------------------------------------------------------------------
# Wasserstein
# ----------------------------------------------------------------------------------------------
def wasserstein_per_joint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wasserstein-1 distance per column of ``a`` [N, D] vs ``b`` [M, D]: [D] (column units)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) == 0:
        raise NaturalnessError(
            f"need non-empty [N, D] arrays with equal D, got {a.shape}, {b.shape}"
        )
    return np.array([wasserstein_distance(a[:, d], b[:, d]) for d in range(a.shape[1])])


# ----------------------------------------------------------------------------------------------
# Smoothness and effort
# ----------------------------------------------------------------------------------------------
def _derivative(x: np.ndarray, fps: float, order: int) -> np.ndarray:
    for _ in range(order):
        x = np.gradient(x, 1.0 / fps, axis=0)
    return x


def dimensionless_jerk(pos: np.ndarray, fps: float) -> float:
    """Dimensionless jerk ``(T^3 / v_peak^2) * integral |jerk|^2 dt`` of a path ``pos`` [T, 3]
    (or [T, ...]: trailing axes are flattened into the norm); lower is smoother.

    Derivatives by central finite differences (``np.gradient``); T is the duration (s), v_peak
    the highest speed. NaN for paths shorter than 5 frames or without motion.
    """
    x = np.asarray(pos, dtype=np.float64).reshape(len(pos), -1)
    if x.shape[0] < 5:
        return math.nan
    v = _derivative(x, fps, 1)
    j = _derivative(x, fps, 3)
    duration = (x.shape[0] - 1) / fps
    v_peak = float(np.max(np.linalg.norm(v, axis=-1)))
    if v_peak < 1e-9:
        return math.nan
    integral = float(np.trapezoid(np.sum(j**2, axis=-1), dx=1.0 / fps))
    return duration**3 / v_peak**2 * integral


def windowed_dimensionless_jerk(pos: np.ndarray, fps: float, window_s: float = 1.0) -> float:
    """Mean :func:`dimensionless_jerk` over consecutive non-overlapping windows of ``window_s``
    seconds (so the value does not grow with the rollout length); NaN when no window fits."""
    x = np.asarray(pos, dtype=np.float64)
    n = max(round(window_s * fps), 5)
    values = [dimensionless_jerk(x[s : s + n], fps) for s in range(0, len(x) - n + 1, n)]
    values = [v for v in values if math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def log_dimensionless_jerk(pos: np.ndarray, fps: float) -> float:
    """``-ln(dimensionless jerk)`` (Balasubramanian et al. 2012): higher is smoother."""
    dj = dimensionless_jerk(pos, fps)
    return -math.log(dj) if math.isfinite(dj) and dj > 0 else math.nan


def action_rate(actions: np.ndarray, fps: float) -> float:
    """RMS rate of change of the actions, ``sqrt(mean_{k,j} ((a[k+1,j] - a[k,j]) fps)^2)``, in
    action units per second (rad/s for joint-position targets). NaN with fewer than 2 steps."""
    a = np.asarray(actions, dtype=np.float64)
    if a.shape[0] < 2:
        return math.nan
    return float(np.sqrt(np.mean((np.diff(a, axis=0) * fps) ** 2)))


def cost_of_transport(
    torques: np.ndarray,
    dof_vel: np.ndarray,
    mass_kg: float,
    speed_mps: float,
    gravity: float = GRAVITY,
) -> float:
    """Mechanical cost of transport ``mean_t sum_j |tau_j qdot_j| / (m g v)`` (dimensionless).

    Args:
        torques: [T, J] joint torques (N m).
        dof_vel: [T, J] joint velocities (rad/s).
        mass_kg: robot mass (kg).
        speed_mps: mean forward speed over the same frames (m/s), e.g. distance / time.
    Returns NaN for a speed below 1 mm/s.
    """
    tau, qd = np.asarray(torques, dtype=np.float64), np.asarray(dof_vel, dtype=np.float64)
    if tau.shape != qd.shape:
        raise NaturalnessError(f"torques {tau.shape} and dof_vel {qd.shape} differ in shape")
    if speed_mps < 1e-3 or tau.size == 0:
        return math.nan
    power = float(np.mean(np.sum(np.abs(tau * qd), axis=-1)))
    return power / (mass_kg * gravity * speed_mps)


def mean_planar_speed(root_pos: np.ndarray, fps: float) -> float:
    """Net planar displacement / duration (m/s) of a root path [T, 3]."""
    p = np.asarray(root_pos, dtype=np.float64)
    if p.shape[0] < 2:
        return math.nan
    return float(np.linalg.norm(p[-1, :2] - p[0, :2]) * fps / (p.shape[0] - 1))


# ----------------------------------------------------------------------------------------------
# Frozen discriminator
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscriminatorScore:
    """Mean style reward of a frozen discriminator on policy and on reference windows."""

    policy: float
    reference: float

    @property
    def ratio(self) -> float:
        """policy / reference (1 = indistinguishable on average); NaN for a zero reference."""
        return self.policy / self.reference if self.reference != 0 else math.nan


def discriminator_score(
    style_reward: Callable[[np.ndarray], np.ndarray],
    policy_windows: np.ndarray,
    reference_windows: np.ndarray,
    batch_size: int = 4096,
) -> DiscriminatorScore:
    """Mean of ``style_reward(windows [B, W]) -> [B]`` over policy and reference windows, in
    batches of ``batch_size`` (the callable wraps the trained discriminator and its
    normaliser, e.g. ``rl.amp.style_reward`` under ``torch.no_grad``)."""
    return DiscriminatorScore(
        mean_style_reward(style_reward, policy_windows, batch_size),
        mean_style_reward(style_reward, reference_windows, batch_size),
    )


def mean_style_reward(
    style_reward: Callable[[np.ndarray], np.ndarray], windows: np.ndarray, batch_size: int = 4096
) -> float:
    """Mean of ``style_reward(windows [B, W]) -> [B]`` over ``windows`` [N, W] in batches of
    ``batch_size``; NaN for no window."""
    x = np.asarray(windows)
    if len(x) == 0:
        return math.nan
    total = 0.0
    for s in range(0, len(x), batch_size):
        r = np.asarray(style_reward(x[s : s + batch_size]), dtype=np.float64).reshape(-1)
        if r.size != min(batch_size, len(x) - s):
            raise NaturalnessError(f"style_reward returned {r.size} values for a batch")
        total += float(r.sum())
    return total / len(x)


# ----------------------------------------------------------------------------------------------
# What the discriminator looks at
# ----------------------------------------------------------------------------------------------
_BODY_PARTS = (
    ("legs", ("hip", "knee", "ankle")),
    ("waist", ("waist", "torso")),
    ("arms", ("shoulder", "elbow", "wrist", "hand")),
)


def amp_feature_groups(dof_names: Sequence[str], key_bodies: Sequence[str]) -> dict[str, list[int]]:
    """Columns of one AMP frame (``rl.amp_obs`` layout: root height 1, root orientation 6, root
    linear velocity 3, root angular velocity 3, key-body positions 3 K, joint positions J, joint
    velocities J) by what they describe: the feature kinds, then the joints of the legs / waist /
    arms (positions and velocities, by joint-name keywords; a part with no joint is left out).

    ``dof_names``: the J joints in the features (the environment's ``amp_dof_index``)."""
    J, K = len(dof_names), len(key_bodies)
    q0 = 13 + 3 * K
    groups = {
        "root height": [0],
        "root orientation": list(range(1, 7)),
        "root linear velocity": list(range(7, 10)),
        "root angular velocity": list(range(10, 13)),
        "key-body positions": list(range(13, q0)),
        "joint positions": list(range(q0, q0 + J)),
        "joint velocities": list(range(q0 + J, q0 + 2 * J)),
    }
    for part, words in _BODY_PARTS:
        joints = [j for j, n in enumerate(dof_names) if any(w in n.lower() for w in words)]
        if joints:
            groups[f"{part} (joints)"] = [q0 + j for j in joints] + [q0 + J + j for j in joints]
    return groups


def discriminator_attribution(
    style_reward: Callable[[np.ndarray], np.ndarray],
    policy_windows: np.ndarray,
    reference_windows: np.ndarray,
    groups: dict[str, Sequence[int]],
    frame_dim: int,
    seed: int = 0,
    max_windows: int = 4096,
) -> dict[str, float]:
    """Mean style reward of the policy windows [N, H * D] when the columns of one feature group
    (``groups``: name -> columns of one frame, D = ``frame_dim``; swapped in every frame of the
    window) come from a randomly drawn reference window instead; name -> reward. A group whose
    swap lifts the reward towards the reference's is one the discriminator tells the policy
    apart by. The swap also mixes two motions, which a discriminator may notice, so a small lift
    does not prove a group irrelevant. At most ``max_windows`` policy windows (a seeded sample)."""
    pol, ref = np.asarray(policy_windows), np.asarray(reference_windows)
    if pol.ndim != 2 or ref.ndim != 2 or pol.shape[1] != ref.shape[1]:
        raise NaturalnessError(
            f"policy windows {pol.shape} and reference windows {ref.shape}: [N, W] with one W "
            "expected"
        )
    if frame_dim <= 0 or pol.shape[1] % frame_dim:
        raise NaturalnessError(f"windows of {pol.shape[1]} values are not frames of {frame_dim}")
    if len(pol) == 0 or len(ref) == 0:
        return {name: math.nan for name in groups}
    rng = np.random.default_rng(seed)
    if len(pol) > max_windows:
        pol = pol[rng.choice(len(pol), max_windows, replace=False)]
    donors = ref[rng.integers(0, len(ref), len(pol))]
    frames = pol.shape[1] // frame_dim
    out = {}
    for name, cols in groups.items():
        c = np.asarray(cols, dtype=np.int64)
        if c.size and (c.min() < 0 or c.max() >= frame_dim):
            raise NaturalnessError(
                f"feature group {name!r}: columns outside a frame of {frame_dim}"
            )
        idx = (np.arange(frames)[:, None] * frame_dim + c[None, :]).reshape(-1)
        swapped = pol.copy()
        swapped[:, idx] = donors[:, idx]
        out[name] = mean_style_reward(style_reward, swapped)
    return out
