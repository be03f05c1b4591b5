"""Matplotlib (Agg) figures for the HTML report; each function returns PNG bytes.

Inputs are plain numbers (CSV rows as dicts of strings, numpy arrays); nothing here reads files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rl.gait import ReferenceCurve

_DPI = 90


def fig_to_png(fig: plt.Figure) -> bytes:
    """PNG bytes of a figure (closed afterwards)."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=_DPI)
    plt.close(fig)
    return buf.getvalue()


def numeric_columns(rows: Sequence[Mapping[str, str]]) -> dict[str, np.ndarray]:
    """Columns of CSV rows that parse as floats (empty cells -> NaN); others are dropped."""
    if not rows:
        return {}
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = []
        try:
            for r in rows:
                cell = (r.get(key) or "").strip()
                values.append(float(cell) if cell else math.nan)
        except ValueError:
            continue
        arr = np.asarray(values, dtype=np.float64)
        if np.isfinite(arr).any():
            out[key] = arr
    return out


def _x_axis(cols: Mapping[str, np.ndarray]) -> tuple[str, np.ndarray]:
    for key in ("env_steps", "iteration", "step"):
        if key in cols:
            return key, cols[key]
    n = len(next(iter(cols.values())))
    return "row", np.arange(n, dtype=np.float64)


def pick_training_keys(cols: Mapping[str, np.ndarray], limit: int = 9) -> list[str]:
    """The curves worth showing: total reward, episode return/length, tracking errors,
    style reward, curriculum level/stage, in that order (present ones only)."""
    wanted: list[str] = []
    order = (
        lambda k: k == "reward/total",
        lambda k: k.startswith("episode/") and ("return" in k or "length" in k),
        lambda k: "track" in k or "error" in k,
        lambda k: k in ("reward/style", "amp/acc_ref", "amp/acc_policy", "amp/no_signal_policy"),
        lambda k: "level" in k or "stage" in k or k.startswith("curriculum/"),
    )
    for rule in order:
        for k in cols:
            if rule(k) and k not in wanted:
                wanted.append(k)
    return wanted[:limit]


def plot_curves(
    cols: Mapping[str, np.ndarray], keys: Sequence[str], title: str, ncols: int = 3
) -> bytes:
    """Small multiples of ``keys`` against env steps (or iteration)."""
    xname, x = _x_axis(cols)
    keys = [k for k in keys if k in cols]
    if not keys:
        raise ValueError(f"{title}: no numeric columns to plot")
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.5 * nrows), squeeze=False)
    for ax, k in zip(axes.flat, keys, strict=False):
        y = cols[k]
        ok = np.isfinite(y)
        ax.plot(x[ok], y[ok], lw=1.2, color="C0")
        ax.set_title(k, fontsize=9)
        ax.set_xlabel(xname, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return fig_to_png(fig)


def plot_joint_cycles(
    names: Sequence[str],
    policy: np.ndarray,
    reference: np.ndarray | None,
    title: str = "joint angles over the gait cycle",
) -> bytes:
    """Mean +- std of joint angles over the normalised gait cycle, policy vs reference.

    ``policy`` / ``reference``: [C, P, D] cycles (C cycles, P phase samples, D = len(names)),
    angles in rad (plotted in degrees).
    """
    d = len(names)
    ncols = min(3, d)
    nrows = math.ceil(d / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.6 * nrows), squeeze=False)
    phase = np.linspace(0, 100, policy.shape[1])
    for j, ax in enumerate(axes.flat[:d]):
        for data, label, color in ((policy, "policy", "C0"), (reference, "reference", "C1")):
            if data is None or len(data) == 0:
                continue
            m, s = np.degrees(data[:, :, j].mean(0)), np.degrees(data[:, :, j].std(0))
            ax.plot(phase, m, color=color, lw=1.5, label=f"{label} (n={len(data)})")
            ax.fill_between(phase, m - s, m + s, color=color, alpha=0.2)
        ax.set_title(names[j], fontsize=9)
        ax.set_xlabel("% gait cycle (left touchdown)", fontsize=8)
        ax.set_ylabel("deg", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[d:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig_to_png(fig)


def plot_gait_vs_speed(
    policy: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray] | None,
    curves: Mapping[str, ReferenceCurve] | None = None,
) -> bytes:
    """Cadence (steps/min) and stride length (m) against stride speed (m/s): policy and
    reference strides as scatter, the reference curves (binned medians) as lines.

    ``policy`` / ``reference``: ``{"speed", "cadence", "stride_length"}`` arrays per stride.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4))
    for ax, key, label in (
        (axes[0], "cadence", "cadence (steps/min)"),
        (axes[1], "stride_length", "stride length (m)"),
    ):
        if reference is not None and len(reference["speed"]):
            ax.scatter(reference["speed"], reference[key], s=8, alpha=0.35, color="C1",
                       label="reference strides")  # fmt: skip
        if curves is not None and key in curves and curves[key].speed.size:
            ax.plot(curves[key].speed, curves[key].value, color="C1", lw=2, label="reference")
        if len(policy["speed"]):
            ax.scatter(policy["speed"], policy[key], s=10, alpha=0.6, color="C0",
                       label="policy strides")  # fmt: skip
        ax.set_xlabel("stride speed (m/s)", fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig_to_png(fig)


def plot_bars(
    names: Sequence[str], series: Mapping[str, np.ndarray], title: str, ylabel: str
) -> bytes:
    """Grouped bar chart of per-name values (e.g. per-joint Wasserstein distances)."""
    n = len(names)
    k = max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * n + 2), 3.4))
    x = np.arange(n)
    width = 0.8 / k
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (k - 1) / 2) * width, values, width=width, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels([s.removesuffix("_joint") for s in names], rotation=75, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    return fig_to_png(fig)
