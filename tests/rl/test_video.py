"""Offscreen rendering of a G1 motion: frames are non-empty, not black, and change over time."""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
import pytest

from rl import video as V
from rl.gait import synthetic_frames


@pytest.fixture(scope="module")
def backend() -> str:
    name, why = V.gl_backend()
    if name is None:
        pytest.skip(why)
    return name


@pytest.fixture(scope="module")
def motion() -> dict[str, np.ndarray]:
    f = synthetic_frames(speed=1.0, duration=1.0, fps=50.0, root_height=0.78)
    return f


@pytest.fixture(scope="module")
def frames(backend: str, motion: dict[str, np.ndarray]) -> np.ndarray:
    return V.render_motion(
        motion["root_pos"], motion["root_quat"], motion["dof_pos"], float(motion["fps"]),
        out_fps=5.0, width=160, height=120,
    )  # fmt: skip


def test_frames_are_not_empty_and_not_black(frames: np.ndarray) -> None:
    assert frames.shape == (5, 120, 160, 3) and frames.dtype == np.uint8
    stats = V.frame_stats(frames)
    assert stats["mean"] > 10.0 and stats["varied_share"] == 1.0
    # The robot moves (legs swing, camera tracks): consecutive frames differ.
    assert all(np.abs(frames[i].astype(int) - frames[i + 1]).mean() > 0.1 for i in range(4))


def test_animation_encoding_round_trip(frames: np.ndarray) -> None:
    from PIL import Image

    for fmt in ("gif", "webp"):
        data = V.encode_animation(frames, 5.0, fmt)  # type: ignore[arg-type]
        im = Image.open(io.BytesIO(data))
        assert im.format == fmt.upper() and getattr(im, "n_frames", 1) == len(frames)
    with pytest.raises(V.VideoError):
        V.encode_animation(frames[:0], 5.0)


def test_bad_shapes_raise(backend: str, motion: dict[str, np.ndarray]) -> None:
    with pytest.raises(V.VideoError, match="shapes do not match"):
        V.render_motion(motion["root_pos"], motion["root_quat"][:-1], motion["dof_pos"], 50.0)


def test_cli_renders_a_rollout_group(
    backend: str, motion: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "rollouts.h5"
    with h5py.File(path, "w") as f:
        f.attrs["fps"] = 50.0
        g = f.create_group("rollouts/flat/000")
        for k, v in motion.items():
            if k != "fps":
                g[k] = v
    out = tmp_path / "flat.webp"
    rc = V.main(["--motion", str(path), "--out", str(out), "--seconds", "0.4", "--fps", "5",
                 "--size", "96x72"])  # fmt: skip
    assert rc == 0 and out.stat().st_size > 100
    assert V.main(["--motion", str(tmp_path / "none.h5"), "--out", str(out)]) == 1


def test_mime_types() -> None:
    assert V.mime_type("a/flat.webp") == "image/webp" and V.mime_type("x.MP4") == "video/mp4"
    with pytest.raises(V.VideoError):
        V.mime_type("x.avi")
