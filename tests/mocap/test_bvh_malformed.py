"""Every kind of bad BVH input raises ClipError naming the file (and the line where relevant)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.bvh import parse_bvh, read_bvh
from mocap.types import ClipError

# A MotionBuilder-named human (metres, Y up), one line per joint: name, parent, offset.
_SKELETON = """\
Hips - 0 0 0
LeftUpLeg Hips 0.1 -0.05 0
LeftLeg LeftUpLeg 0 -0.42 0
LeftFoot LeftLeg 0 -0.42 0
LeftToeBase LeftFoot 0 -0.05 0.12
RightUpLeg Hips -0.1 -0.05 0
RightLeg RightUpLeg 0 -0.42 0
RightFoot RightLeg 0 -0.42 0
RightToeBase RightFoot 0 -0.05 0.12
Spine Hips 0 0.12 0
Spine1 Spine 0 0.12 0
Neck Spine1 0 0.25 0
Head Neck 0 0.1 0
LeftArm Spine1 0.18 0.2 0
LeftForeArm LeftArm 0.28 0 0
LeftHand LeftForeArm 0.25 0 0
RightArm Spine1 -0.18 0.2 0
RightForeArm RightArm -0.28 0 0
RightHand RightForeArm -0.25 0 0
"""
JOINTS = [line.split() for line in _SKELETON.splitlines()]
NUM_CHANNELS = 6 + 3 * (len(JOINTS) - 1)  # 60


def hierarchy(scale: float = 1.0, names: dict[str, str] | None = None) -> list[str]:
    names = names or {}
    children: dict[str, list[list[str]]] = {}
    for j in JOINTS:
        children.setdefault(j[1], []).append(j)
    out = ["HIERARCHY"]

    def emit(j: list[str], depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if j[1] == "-" else "JOINT"
        chans = "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if kind == "ROOT" \
            else "3 Zrotation Xrotation Yrotation"  # fmt: skip
        off = " ".join(f"{float(v) * scale:.6f}" for v in j[2:])
        out.extend([f"{pad}{kind} {names.get(j[0], j[0])}", f"{pad}{{", f"{pad}  OFFSET {off}",
                    f"{pad}  CHANNELS {chans}"])  # fmt: skip
        kids = children.get(j[0], [])
        for k in kids:
            emit(k, depth + 1)
        if not kids:
            out.extend(
                [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0.05 0", f"{pad}  }}"]
            )
        out.append(f"{pad}}}")

    emit(JOINTS[0], 0)
    return out


def frames(T: int = 30, scale: float = 1.0) -> list[str]:
    m = np.zeros((T, NUM_CHANNELS))
    m[:, 1] = 0.96 * scale
    m[:, 2] = np.arange(T) / 120.0 * scale
    return [" ".join(f"{v:.6f}" for v in row) for row in m]


def text(num_frames: int | None = None, rows: list[str] | None = None, **kw) -> list[str]:
    rows = frames(**kw) if rows is None else rows
    n = len(rows) if num_frames is None else num_frames
    return hierarchy(kw.get("scale", 1.0)) + ["MOTION", f"Frames: {n}", "Frame Time: 0.0083333"] \
        + rows  # fmt: skip


def put(tmp_path: Path, name: str, lines: list[str] | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())
    return path


FIRST_FRAME_LINE = len(text()) - 30 + 1  # 1-based line of frame 0


def test_valid_file_reads(tmp_path: Path) -> None:
    clip = read_bvh(put(tmp_path, "good.bvh", text()))
    assert clip.num_frames == 30
    assert parse_bvh(tmp_path / "good.bvh").frame_lines[0] == FIRST_FRAME_LINE


def test_truncated_file(tmp_path: Path) -> None:
    path = put(tmp_path, "trunc.bvh", text(num_frames=40))
    with pytest.raises(ClipError, match=r"^trunc\.bvh: truncated: 30 frame lines.*Frames: 40"):
        parse_bvh(path)


def test_truncated_mid_line(tmp_path: Path) -> None:
    lines = text()
    lines[-1] = " ".join(lines[-1].split()[:17])
    with pytest.raises(ClipError) as err:
        parse_bvh(put(tmp_path, "cut.bvh", lines))
    assert str(err.value).startswith(f"cut.bvh: line {FIRST_FRAME_LINE + 29}: has 17 values")
    assert "truncated" in str(err.value)


def test_wrong_value_count(tmp_path: Path) -> None:
    lines = text()
    k = FIRST_FRAME_LINE - 1 + 5
    lines[k] = " ".join(lines[k].split()[:-1])
    with pytest.raises(ClipError) as err:
        parse_bvh(put(tmp_path, "07_01.bvh", lines))
    assert str(err.value) == f"07_01.bvh: line {k + 1}: has 59 values, expected 60"


def test_extra_frame_lines(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^extra\.bvh: line \d+: 30 frame lines.*Frames: 20"):
        parse_bvh(put(tmp_path, "extra.bvh", text(num_frames=20)))


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_nan_and_inf_values(tmp_path: Path, bad: str) -> None:
    lines = text()
    k = FIRST_FRAME_LINE - 1 + 3
    vals = lines[k].split()
    vals[7] = bad
    lines[k] = " ".join(vals)
    with pytest.raises(ClipError) as err:
        parse_bvh(put(tmp_path, "nan.bvh", lines))
    msg = str(err.value)
    assert msg.startswith(f"nan.bvh: line {k + 1}: value 8 (LeftUpLeg Xrotation) is ")
    assert "nan" in msg or "inf" in msg


def test_non_numeric_value(tmp_path: Path) -> None:
    lines = text()
    k = FIRST_FRAME_LINE - 1 + 2
    lines[k] = lines[k].replace("0.000000", "zero", 1)
    with pytest.raises(ClipError, match=rf"^word\.bvh: line {k + 1}: value 1 .*'zero'"):
        parse_bvh(put(tmp_path, "word.bvh", lines))


def test_zero_frames(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^empty\.bvh: line \d+: zero frames"):
        parse_bvh(put(tmp_path, "empty.bvh", text(rows=[])))


def test_non_utf8_bytes(tmp_path: Path) -> None:
    data = ("\n".join(text()) + "\n").encode()
    data = data.replace(b"LeftArm", b"Left\xe9Arm", 1)
    line = data[: data.index(b"\xe9")].count(b"\n") + 1
    with pytest.raises(ClipError, match=rf"^latin1\.bvh: line {line}: not UTF-8 text"):
        parse_bvh(put(tmp_path, "latin1.bvh", data))


def test_binary_garbage(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ClipError, match=r"^noise\.bvh: "):
        parse_bvh(put(tmp_path, "noise.bvh", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()))


def test_missing_hierarchy(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^nohier\.bvh: line 1: missing HIERARCHY"):
        parse_bvh(put(tmp_path, "nohier.bvh", text()[1:]))


def test_missing_motion(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^nomotion\.bvh: missing MOTION"):
        parse_bvh(put(tmp_path, "nomotion.bvh", hierarchy()))


def test_unclosed_brace(tmp_path: Path) -> None:
    lines = text()
    lines.remove(lines[len(hierarchy()) - 1])  # drop the ROOT's closing brace
    with pytest.raises(ClipError, match=r"^open\.bvh: line \d+: unbalanced braces: '\{' of "
                                        r"joint 'Hips' opened at line 3"):  # fmt: skip
        parse_bvh(put(tmp_path, "open.bvh", lines))


def test_extra_closing_brace(tmp_path: Path) -> None:
    lines = text()
    lines.insert(len(hierarchy()), "}")
    with pytest.raises(ClipError, match=r"^close\.bvh: line \d+: unbalanced braces: '\}'"):
        parse_bvh(put(tmp_path, "close.bvh", lines))


def test_unknown_channel(tmp_path: Path) -> None:
    lines = text()
    k = next(i for i, s in enumerate(lines) if "CHANNELS 3" in s)
    lines[k] = lines[k].replace("Xrotation", "Wrotation")
    with pytest.raises(ClipError, match=rf"^chan\.bvh: line {k + 1}: unknown channel 'Wrotation'"):
        parse_bvh(put(tmp_path, "chan.bvh", lines))


def test_absurd_frame_count(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^huge\.bvh: line \d+: Frames: 2000000 .*absurd"):
        parse_bvh(put(tmp_path, "huge.bvh", text(num_frames=2_000_000)))


@pytest.mark.parametrize("scale", [1e5, 0.01])
def test_absurd_skeleton_size(tmp_path: Path, scale: float) -> None:
    path = put(tmp_path, "giant.bvh", text(scale=scale))
    with pytest.raises(ClipError, match=r"^giant\.bvh: absurd skeleton size"):
        read_bvh(path)


def test_unknown_skeleton_without_mapping(tmp_path: Path) -> None:
    names = {j[0]: f"bone{i}" for i, j in enumerate(JOINTS)}
    lines = hierarchy(names=names) + ["MOTION", "Frames: 30", "Frame Time: 0.0083333"] + frames()
    path = put(tmp_path, "robot.bvh", lines)
    with pytest.raises(ClipError) as err:
        read_bvh(path)
    msg = str(err.value)
    assert msg.startswith("robot.bvh: unknown skeleton")
    assert "pelvis" in msg and "left_wrist" in msg and "mocap.joint_map" in msg


def test_bad_frame_time(tmp_path: Path) -> None:
    lines = text()
    k = lines.index("Frame Time: 0.0083333")
    lines[k] = "Frame Time: 0"
    with pytest.raises(ClipError, match=rf"^ft\.bvh: line {k + 1}: Frame Time 0 s"):
        parse_bvh(put(tmp_path, "ft.bvh", lines))


def test_missing_file_is_a_clip_error(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"^absent\.bvh: cannot read file"):
        parse_bvh(tmp_path / "absent.bvh")
