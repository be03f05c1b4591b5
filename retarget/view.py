"""Replay a retargeted clip in the MuJoCo passive viewer: ``python -m retarget.view clip.npz``.

Needs a display (X11/Wayland on Linux; macOS needs ``mjpython``). Without one it says so and
exits with status 2 instead of crashing; use the PNG preview (:mod:`retarget.preview`) there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from retarget.clip import ClipFileError, load_clip


def has_display() -> bool:
    """True when a GUI window can be opened (macOS, Windows, or DISPLAY / WAYLAND_DISPLAY)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retarget.view", description=__doc__.split("\n")[0])
    parser.add_argument("clip", type=Path, help="results/retarget/{clip}.npz")
    parser.add_argument("--mjcf", default=None, help="robot MJCF (default: the built-in G1)")
    parser.add_argument("--loop", action="store_true", help="replay until the window closes")
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed factor")
    args = parser.parse_args(argv)
    try:
        clip = load_clip(args.clip, allow_rejected=True)
    except (ClipFileError, OSError, KeyError) as e:
        print(f"error: {args.clip}: {e}", file=sys.stderr)
        return 1
    if not has_display():
        print(
            f"retarget.view: no display found (DISPLAY/WAYLAND_DISPLAY unset), cannot open the "
            f"MuJoCo viewer for {args.clip}; look at the PNG preview beside it instead.",
            file=sys.stderr,
        )
        return 2
    import mujoco
    import mujoco.viewer

    from retarget.robot import load_robot

    robot = load_robot(args.mjcf)
    model = robot.model
    data = mujoco.MjData(model)
    qpos = clip.qpos(robot.root_qpos_adr, robot.qpos_adr, model.nq)
    dt = 1.0 / (clip.fps * max(args.speed, 1e-3))
    with mujoco.viewer.launch_passive(model, data) as viewer:
        while viewer.is_running():
            for t in range(clip.num_frames):
                if not viewer.is_running():
                    break
                start = time.perf_counter()
                data.qpos[:] = qpos[t]
                mujoco.mj_forward(model, data)
                viewer.sync()
                time.sleep(max(0.0, dt - (time.perf_counter() - start)))
            if not args.loop:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
