"""Offscreen rendering of a G1 motion (root pose + joint angles) to frames and animated images.

``render_motion`` poses the G1 model (built-in, or an official MJCF) frame by frame, optionally on
a terrain, and renders it with MuJoCo's OpenGL renderer from a camera that tracks the root;
``encode_animation`` turns the frames into an animated GIF or WebP (Pillow, a matplotlib
dependency), ready to inline in HTML as base64.

Headless OpenGL: the context is created directly from ``mujoco.egl`` or ``mujoco.osmesa`` (not
through ``mujoco.Renderer``, whose backend is fixed by ``MUJOCO_GL`` at ``import mujoco``), so
rendering works whatever ``MUJOCO_GL`` said when mujoco was first imported. ``MUJOCO_GL=egl`` or
``osmesa`` picks the backend; otherwise EGL is tried first, then OSMesa. Debian packages: EGL needs
``libegl1 libegl-mesa0 libgl1-mesa-dri``; OSMesa needs ``libosmesa6``. PyOpenGL binds one
platform per process, so after a failed EGL attempt OSMesa is only tried in a fresh process
(run with ``MUJOCO_GL=osmesa``). :func:`gl_backend` reports which backend works, or why none does.

CLI: ``python -m rl.video --motion rollouts.h5 --group rollouts/flat/000 --out flat.gif``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Self

import mujoco
import numpy as np

from retarget.robot import RobotModel, compile_scene, describe_robot, robot_spec


class VideoError(RuntimeError):
    """Rendering is impossible (no OpenGL backend) or the motion is unusable."""


class TerrainLike(Protocol):
    """Anything that can add itself to a spec (``rl.terrain.Terrain``)."""

    def add_to_spec(self, spec: mujoco.MjSpec, name: str = "terrain") -> None: ...


_BACKEND_CACHE: dict[str, tuple[Any, str]] = {}


def _try_backend(name: str) -> tuple[Any, str]:
    """(GLContext class or None, reason) for ``egl`` / ``osmesa``, probing a 16x16 context."""
    if name in _BACKEND_CACHE:
        return _BACKEND_CACHE[name]
    platform = os.environ.get("PYOPENGL_PLATFORM")
    if platform and platform.lower() != name:
        result: tuple[Any, str] = (
            None,
            (
                f"{name}: PyOpenGL already bound to {platform!r} in this process (start a new "
                f"process with MUJOCO_GL={name})"
            ),
        )
    else:
        try:
            module = importlib.import_module(f"mujoco.{name}")
            ctx = module.GLContext(16, 16)
            ctx.make_current()
            ctx.free()
            result = (module.GLContext, f"{name}: ok")
        except Exception as e:  # noqa: BLE001 - any failure means "this backend does not work"
            result = (None, f"{name}: {type(e).__name__}: {e}")
    _BACKEND_CACHE[name] = result
    return result


def gl_backend() -> tuple[str | None, str]:
    """(working backend name or None, explanation listing what was tried)."""
    wanted = os.environ.get("MUJOCO_GL", "").lower().strip()
    order = [wanted] if wanted in ("egl", "osmesa") else ["egl", "osmesa"]
    reasons = []
    for name in order:
        cls, why = _try_backend(name)
        if cls is not None:
            return name, why
        reasons.append(why)
    return None, "no headless OpenGL backend works: " + "; ".join(reasons)


def build_scene(
    mjcf: str | Path | None = None, terrain: TerrainLike | None = None
) -> tuple[mujoco.MjModel, RobotModel]:
    """The robot plus a checkered ground plane (or ``terrain``) and a light, compiled."""
    spec = robot_spec(mjcf)
    spec.add_texture(
        name="gf_ground",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        width=256,
        height=256,
        rgb1=[0.30, 0.36, 0.42],
        rgb2=[0.20, 0.25, 0.30],
    )
    material = spec.add_material(name="gf_ground", texrepeat=[1.0, 1.0], texuniform=True)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "gf_ground"
    if terrain is None:
        spec.worldbody.add_geom(
            name="gf_ground",
            type=mujoco.mjtGeom.mjGEOM_PLANE,
            size=[0.0, 0.0, 0.05],
            material="gf_ground",
        )
    else:
        terrain.add_to_spec(spec, name="gf_ground")
        spec.geom("gf_ground").material = "gf_ground"
    spec.worldbody.add_light(
        name="gf_sun",
        pos=[0.0, 0.0, 5.0],
        dir=[0.3, 0.2, -1.0],
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        castshadow=False,
    )
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 1280)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 720)
    model = compile_scene(spec)
    return model, describe_robot(model, source="video scene", override_gains=False)


@dataclass(frozen=True)
class CameraConfig:
    """Tracking camera: looks at the root (z fixed at ``lookat_height`` above the root's ground)."""

    distance: float = 3.2
    """m from the look-at point."""
    azimuth: float = 120.0
    """deg about world z (0 looks along +x)."""
    elevation: float = -15.0
    """deg (negative looks down)."""
    lookat_height: float = 0.6
    """m, height of the look-at point above the lowest root height of the motion."""
    smoothing: float = 0.1
    """Exponential smoothing factor of the look-at point per frame (1 = no smoothing)."""


class OffscreenRenderer:
    """An OpenGL context + MuJoCo render context for one model (use as a context manager)."""

    def __init__(self, model: mujoco.MjModel, width: int = 320, height: int = 240) -> None:
        name, why = gl_backend()
        if name is None:
            raise VideoError(why)
        cls, _ = _try_backend(name)
        self.backend = name
        self.width, self.height = width, height
        self._ctx = cls(width, height)
        self._ctx.make_current()
        self.model = model
        self.scene = mujoco.MjvScene(model, maxgeom=10000)
        self.context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.context)
        self.option = mujoco.MjvOption()
        self.perturb = mujoco.MjvPerturb()
        self.viewport = mujoco.MjrRect(0, 0, width, height)

    def render(self, data: mujoco.MjData, camera: mujoco.MjvCamera) -> np.ndarray:
        """[H, W, 3] uint8 image of ``data`` (already through ``mj_forward``)."""
        self._ctx.make_current()
        mujoco.mjv_updateScene(
            self.model, data, self.option, self.perturb, camera,
            mujoco.mjtCatBit.mjCAT_ALL, self.scene,
        )  # fmt: skip
        mujoco.mjr_render(self.viewport, self.scene, self.context)
        rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        mujoco.mjr_readPixels(rgb, None, self.viewport, self.context)
        return np.flipud(rgb).copy()

    def close(self) -> None:
        if self._ctx is not None:
            self.context.free()
            self._ctx.free()
            self._ctx = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_motion(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    dof_pos: np.ndarray,
    fps: float,
    *,
    out_fps: float = 20.0,
    max_seconds: float = 8.0,
    width: int = 320,
    height: int = 240,
    mjcf: str | Path | None = None,
    terrain: TerrainLike | None = None,
    camera: CameraConfig = CameraConfig(),
) -> np.ndarray:
    """Render a motion: [N, H, W, 3] uint8 frames at ``out_fps`` (frames picked by time).

    Args:
        root_pos: [T, 3] m, world; root_quat: [T, 4] (w, x, y, z); dof_pos: [T, 29] rad, model
            joint order; fps: frame rate of the motion.
        out_fps: frame rate of the output (<= fps); max_seconds: only the first seconds.
        mjcf: the robot (None = built-in G1); terrain: optional, else a flat checkered floor.
    Raises:
        VideoError: no OpenGL backend, or inconsistent shapes.
    """
    root_pos, root_quat = np.asarray(root_pos, float), np.asarray(root_quat, float)
    dof_pos = np.asarray(dof_pos, float)
    t = root_pos.shape[0]
    if root_quat.shape != (t, 4) or root_pos.shape != (t, 3) or dof_pos.shape[0] != t or t == 0:
        raise VideoError(
            f"motion shapes do not match: root_pos {root_pos.shape}, root_quat {root_quat.shape}, "
            f"dof_pos {dof_pos.shape}"
        )
    model, robot = build_scene(mjcf, terrain)
    if dof_pos.shape[1] != robot.num_dofs:
        raise VideoError(f"dof_pos has {dof_pos.shape[1]} joints, the model {robot.num_dofs}")
    n_out = max(1, math.floor(min(t / fps, max_seconds) * out_fps))
    frames_idx = np.minimum(np.round(np.arange(n_out) * fps / out_fps).astype(int), t - 1)
    data = mujoco.MjData(model)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.azimuth, cam.elevation = camera.distance, camera.azimuth, camera.elevation
    base_z = float(root_pos[:, 2].min()) - 0.75 + camera.lookat_height
    look = np.array([root_pos[0, 0], root_pos[0, 1], base_z])
    out = np.zeros((n_out, height, width, 3), dtype=np.uint8)
    a = robot.root_qpos_adr
    with OffscreenRenderer(model, width, height) as renderer:
        for i, k in enumerate(frames_idx):
            data.qpos[a : a + 3] = root_pos[k]
            data.qpos[a + 3 : a + 7] = root_quat[k] / np.linalg.norm(root_quat[k])
            data.qpos[robot.qpos_adr] = dof_pos[k]
            mujoco.mj_forward(model, data)
            target = np.array([root_pos[k, 0], root_pos[k, 1], base_z])
            look = look + camera.smoothing * (target - look) if i else target
            cam.lookat[:] = look
            out[i] = renderer.render(data, cam)
    return out


def encode_animation(frames: np.ndarray, fps: float, fmt: Literal["gif", "webp"] = "gif") -> bytes:
    """Animated GIF or WebP bytes (looping) of frames [N, H, W, 3] uint8 at ``fps``."""
    from PIL import Image

    if frames.ndim != 4 or frames.shape[0] == 0:
        raise VideoError(f"frames must be [N>0, H, W, 3], got {frames.shape}")
    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    duration = round(1000.0 / fps)
    if fmt == "gif":
        images = [im.quantize(colors=128, method=Image.Quantize.MEDIANCUT) for im in images]
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                       duration=duration, loop=0, optimize=False)  # fmt: skip
    elif fmt == "webp":
        images[0].save(buf, format="WEBP", save_all=True, append_images=images[1:],
                       duration=duration, loop=0, quality=70, method=4)  # fmt: skip
    else:
        raise VideoError(f"unknown animation format {fmt!r} (gif, webp)")
    return buf.getvalue()


def mime_type(path: str | Path) -> str:
    """MIME type of a video / animated image by extension."""
    ext = Path(path).suffix.lower()
    types = {".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4",
             ".webm": "video/webm", ".png": "image/png"}  # fmt: skip
    if ext not in types:
        raise VideoError(f"{path}: unknown video type {ext!r}")
    return types[ext]


def frame_stats(frames: np.ndarray) -> dict[str, float]:
    """Mean brightness (0-255) and share of frames that are not uniform (sanity checks)."""
    f = np.asarray(frames, dtype=np.float32)
    varied = [float(x.std()) > 1.0 for x in f]
    return {"mean": float(f.mean()), "varied_share": float(np.mean(varied)) if varied else 0.0}


def main(argv: Sequence[str] | None = None) -> int:
    """Render one motion group of an HDF5 file (dataset or rollouts) to a GIF/WebP."""
    from rl.metrics import MetricsError, iter_motions

    p = argparse.ArgumentParser(prog="python -m rl.video", description=main.__doc__)
    p.add_argument("--motion", required=True, type=Path, help="HDF5 file (dataset or rollouts)")
    p.add_argument("--group", default="/", help="group of the motion (default: the first found)")
    p.add_argument("--out", required=True, type=Path, help=".gif or .webp")
    p.add_argument("--mjcf", default=None, help="official G1 MJCF (default: built-in model)")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--fps", type=float, default=20.0)
    p.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    args = p.parse_args(argv)
    try:
        motion = next(iter_motions(args.motion, args.group), None)
        if motion is None:
            print(f"{args.motion}: no motion under {args.group}", file=sys.stderr)
            return 1
        width, height = (int(v) for v in args.size.split("x"))
        frames = render_motion(
            motion.root_pos, motion.root_quat, motion.dof_pos, motion.fps,
            out_fps=args.fps, max_seconds=args.seconds, width=width, height=height,
            mjcf=args.mjcf,
        )  # fmt: skip
        fmt = "webp" if args.out.suffix.lower() == ".webp" else "gif"
        data = encode_animation(frames, args.fps, fmt)
    except (VideoError, MetricsError, ValueError) as e:
        print(f"rl.video: {e}", file=sys.stderr)
        return 1
    from mocap.fileio import atomic_path

    with atomic_path(args.out) as tmp:
        Path(tmp).write_bytes(data)
    print(f"{args.out}: {len(frames)} frames, {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
