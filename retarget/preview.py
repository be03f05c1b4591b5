"""Small PNG preview of a retargeted clip (matplotlib, Agg backend; no display needed).

Left: the root path seen from above (x, y in metres, start marked), with the feet's contact
frames. Right: the leg and waist joint angles (rad) over time.
"""

from __future__ import annotations

import os

import numpy as np

from mocap.fileio import atomic_path
from retarget.clip import RetargetedClip

#: Joints drawn in the angle panel (model names); others are left out to keep the plot legible.
PLOT_JOINTS: tuple[str, ...] = (
    "left_hip_pitch_joint", "left_knee_joint", "left_ankle_pitch_joint",
    "right_hip_pitch_joint", "right_knee_joint", "right_ankle_pitch_joint",
    "waist_yaw_joint", "left_shoulder_pitch_joint", "right_shoulder_pitch_joint",
)  # fmt: skip


def _figure(width: float = 8.0, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=80)


def plot_clip(
    path: str | os.PathLike[str],
    clip: RetargetedClip,
    contacts: np.ndarray | None = None,
    title: str = "",
) -> None:
    """Write the preview PNG of ``clip`` to ``path`` (atomically).

    ``contacts`` [T, 4] (left heel, left toe, right heel, right toe) marks contact frames on the
    root path; optional.
    """
    plt, fig = _figure()
    ax0 = fig.add_subplot(1, 2, 1)
    xy = clip.root_pos[:, :2]
    ax0.plot(xy[:, 0], xy[:, 1], "k-", lw=1.0, label="root")
    ax0.plot(xy[:1, 0], xy[:1, 1], "go", ms=5, label="start")
    if contacts is not None and contacts.size:
        left = contacts[:, :2].any(axis=1)
        right = contacts[:, 2:].any(axis=1)
        ax0.plot(xy[left, 0], xy[left, 1], ".", color="tab:blue", ms=3, label="left contact")
        ax0.plot(xy[right, 0], xy[right, 1], ".", color="tab:red", ms=3, label="right contact")
    ax0.set_aspect("equal", adjustable="datalim")
    ax0.set_xlabel("x (m)")
    ax0.set_ylabel("y (m)")
    ax0.set_title("root path (top view)", fontsize=9)
    ax0.legend(fontsize=6, loc="best")
    ax1 = fig.add_subplot(1, 2, 2)
    t = np.arange(clip.num_frames) / clip.fps
    for name in PLOT_JOINTS:
        if name in clip.dof_names:
            ax1.plot(t, clip.dof_pos[:, clip.dof_names.index(name)], lw=0.8,
                     label=name.removesuffix("_joint"))
    ax1.set_xlabel("time (s)")
    ax1.set_ylabel("angle (rad)")
    ax1.set_title("joint angles", fontsize=9)
    ax1.legend(fontsize=5, ncol=2, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def plot_rejected(path: str | os.PathLike[str], clip_id: str, reason: str) -> None:
    """A placeholder PNG that states why the clip was rejected (the report still has a picture)."""
    import textwrap

    plt, fig = _figure(6.0, 1.6)
    fig.text(0.02, 0.75, f"{clip_id}: rejected", fontsize=11, weight="bold")
    fig.text(0.02, 0.1, "\n".join(textwrap.wrap(reason, 95)[:5]), fontsize=7, va="bottom")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
