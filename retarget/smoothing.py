"""Zero-phase temporal smoothing (no lag) for targets and trajectories.

All filters work along axis 0 (time) of arrays shaped [T, ...] and are centred, so a feature
(a heel strike, a peak) stays at the frame where it happened.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import savgol_filter


def odd_window(window_s: float, fps: float, num_frames: int, min_frames: int = 3) -> int:
    """A window of about ``window_s`` seconds as an odd frame count in [min_frames, T] (0: none).

    Returns 0 when the clip is too short for a ``min_frames`` window or ``window_s`` is 0.
    """
    if window_s <= 0.0:
        return 0
    n = round(window_s * fps)
    n = max(n, min_frames)
    if n % 2 == 0:
        n += 1
    if n > num_frames:
        n = num_frames if num_frames % 2 == 1 else num_frames - 1
    return n if n >= min_frames else 0


def savgol(x: np.ndarray, window: int, order: int = 3) -> np.ndarray:
    """Centred Savitzky-Golay smoothing along time [T, ...]; polynomials up to ``order`` pass.

    ``window`` is an odd frame count (0 or 1: unchanged copy). Ends use polynomial fits
    (``mode="interp"``), so nothing is padded with reflected data. NaN entries are not allowed.
    """
    x = np.asarray(x, dtype=np.float64)
    if window <= 1 or x.shape[0] < window:
        return x.copy()
    order = min(order, window - 1)
    return savgol_filter(x, window, order, axis=0, mode="interp")


def upper_envelope(x: np.ndarray, window: int) -> np.ndarray:
    """Smooth curve >= ``x`` [T]: a running maximum followed by a running mean, both ``window``.

    Every value of the running mean's window is a maximum over a window that contains the centre
    frame, so the result never drops below ``x``; it is used to lift the root smoothly.
    """
    x = np.asarray(x, dtype=np.float64)
    if window <= 1 or x.size == 0:
        return x.copy()
    return uniform_filter1d(maximum_filter1d(x, window, mode="nearest"), window, mode="nearest")
