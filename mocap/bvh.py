"""BVH reader: a strict parser, vectorised forward kinematics and conversion to HumanMotion.

``parse_bvh`` reads the file as written (file units, file axes, every joint); ``read_bvh`` turns
it into a :class:`mocap.types.HumanMotion` on the canonical joints: metres, +Z up, floor at z = 0,
leading T-pose / blend-in frames trimmed, fps snapped to a standard rate.

BVH semantics used here:

* A joint's local rotation is the product of its rotation channels in the order listed,
  ``R = R(ch1) R(ch2) R(ch3)`` (intrinsic), see :func:`mocap.quat.from_euler`. A joint's global
  rotation is ``G = G_parent R``; in the rest (offset) pose, all channels zero, every ``G`` is the
  identity.
* A joint's local translation is its OFFSET; position channels, on the root or on any joint,
  *replace* the matching OFFSET components (they hold the joint's translation in the parent frame,
  as MotionBuilder, Blender and LAFAN1 write them; CMU files have zero root offsets, where this
  equals ``offset + channels``). Global position: ``p = p_parent + G_parent t``.
* End Sites are exposed as extra nodes named ``<joint>_end`` (``lFoot_end``), which is where the
  Daz skeleton keeps its toes.

Rotation output (``HumanMotion.rotations``): for canonical joint ``j`` mapped to source node
``n``, ``rotations[t, j] = Q G_n(t) Q^-1`` where ``G_n`` is the BVH global rotation above and
``Q`` the rotation from the file's axes to the Z-up world (identity for Z-up files,
:data:`mocap.quat.Y_UP_TO_Z_UP` for Y-up). So the rotation is relative to the file's rest pose
(identity = the pose drawn by the OFFSETs), expressed in world axes: any bone vector hanging
under the joint maps as ``bone_w(t) = rotate(rotations[t, j], bone_w(rest))``. End-site nodes
take their parent's rotation. Signs are made continuous over time.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap import quat
from mocap.fileio import sha256_file
from mocap.skeletons import detect_convention, end_site_name, resolve_mapping
from mocap.types import CANONICAL_JOINTS, CANONICAL_PARENT_INDICES, ClipError, HumanMotion

#: Hard limits beyond which a file is rejected as absurd rather than parsed.
MAX_FRAMES = 1_000_000
MAX_JOINTS = 1_000
MAX_FILE_BYTES = 2 * 1024**3

#: Standard capture / animation rates that :func:`round_fps` snaps to (frames per second).
STANDARD_RATES: tuple[float, ...] = (
    10, 12, 15, 20, 24, 25, 30, 48, 50, 60, 72, 90, 96, 100, 120, 144, 150, 180, 200, 240, 250,
    300, 360, 400, 480, 500, 960, 1000,
)  # fmt: skip

#: Length units a BVH file may use, as metres per file unit. ``cmu`` is the CMU ASF unit
#: (1 unit = 1/0.45 inch).
UNIT_SCALES: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "inch": 0.0254,
    "cmu": 0.0254 / 0.45,
}

#: Hip-to-ankle leg length (thigh + shank, metres) of a typical adult (about 0.49 x 1.75 m
#: stature, Drillis & Contini / Winter segment proportions); unit detection picks the unit that
#: brings the skeleton's leg closest to it (in log scale).
TYPICAL_LEG_M = 0.86
#: Leg lengths (metres) outside this range are not human-plausible: the clip is rejected.
PLAUSIBLE_LEG_M = (0.3, 1.6)
#: Ratio of hip-to-ankle leg length to standing height (hip joint 0.530 H, ankle 0.039 H).
LEG_TO_HEIGHT = 0.491
#: Height of joint centres above the sole for a TYPICAL_LEG_M person (metres): ankle (lateral
#: malleolus, ~0.039 H) and toe (metatarsophalangeal joint / toe end site).
ANKLE_ABOVE_SOLE_M = 0.07
TOE_ABOVE_SOLE_M = 0.025
#: Percentile of the per-frame lowest sole estimate that defines the floor.
FLOOR_PERCENTILE = 5.0
#: Seconds at the start of a clip whose standing feet give the first-stance floor estimate.
FLOOR_FIRST_STANCE_S = 0.5
#: A foot point slower than this (m/s horizontally, x body scale) is standing.
FLOOR_STILL_SPEED_MPS = 0.25
#: The first stance and the whole clip agree on the floor within this (m): the ground is flat.
FLOOR_FLAT_TOL_M = 0.05
#: A floor further than this (metres) from the file's zero height is noted in meta["warnings"].
FLOOR_SHIFT_WARN_M = 0.3
#: Standard gravity, m/s^2, for the ballistic frame-rate check.
GRAVITY = 9.81

_CHANNELS = {
    "xposition": "Xposition", "yposition": "Yposition", "zposition": "Zposition",
    "xrotation": "Xrotation", "yrotation": "Yrotation", "zrotation": "Zrotation",
}  # fmt: skip
_FRAMES_RE = re.compile(r"^\s*Frames\s*:\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME_RE = re.compile(r"^\s*Frame\s+Time\s*:\s*(\S+)\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EndSite:
    """An End Site: ``offset`` [3] (file units) from joint ``parent`` (index), named ``name``."""

    parent: int
    offset: np.ndarray
    name: str


@dataclass(frozen=True, eq=False)
class BvhFile:
    """A BVH file as written: file units, file axes, every joint.

    path: the file; name: its file name (used in error messages).
    joint_names: [J] joint names in file order (parents come before children).
    parents: [J] parent index, -1 for the root.
    offsets: [J, 3] OFFSET of each joint from its parent, file units.
    channels: per joint, its channel names in file order (normalised capitalisation, e.g.
        ``("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")``).
    channel_start: [J] column of each joint's first channel in ``motion``.
    end_sites: the End Sites, in file order.
    frame_time_text: the ``Frame Time`` value as written (``".0083333"``); frame_time: seconds.
    motion: [T, C] channel values (file units, degrees), float64.
    frame_lines: [T] 1-based line number of each frame in the file.
    hierarchy_lines: joint name -> 1-based line of its ROOT / JOINT keyword.
    """

    path: Path
    name: str
    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    channel_start: np.ndarray
    end_sites: tuple[EndSite, ...]
    frame_time_text: str
    frame_time: float
    motion: np.ndarray
    frame_lines: np.ndarray
    hierarchy_lines: dict[str, int] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def num_channels(self) -> int:
        return int(self.motion.shape[1])

    @property
    def fps_header(self) -> float:
        """Frame rate implied by the header's Frame Time (not rounded)."""
        return 1.0 / self.frame_time

    @property
    def node_names(self) -> tuple[str, ...]:
        """Joint names followed by End Site names."""
        return self.joint_names + tuple(e.name for e in self.end_sites)

    @property
    def node_parents(self) -> np.ndarray:
        """[J + E] parent index of every node (joints, then End Sites)."""
        return np.concatenate([self.parents, [e.parent for e in self.end_sites]]).astype(np.int64)

    @property
    def node_offsets(self) -> np.ndarray:
        """[J + E, 3] offsets of every node (joints, then End Sites), file units."""
        ends = [e.offset for e in self.end_sites]
        return np.concatenate([self.offsets, np.reshape(ends, (-1, 3))], axis=0)


def _err(name: str, msg: str, line: int | None = None) -> ClipError:
    return ClipError(f"{name}: line {line}: {msg}" if line is not None else f"{name}: {msg}")


def _decode(path: Path) -> str:
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _err(name, f"cannot read file ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise _err(name, f"file is {size / 1e9:.1f} GB, more than the {MAX_FILE_BYTES / 1e9:.0f} "
                         "GB limit for a BVH clip")  # fmt: skip
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _err(
            name,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "is this a BVH file?",
            line,
        ) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _err(name, "contains NUL bytes; is this a BVH file?", line)
    return text.removeprefix("\ufeff")


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their 1-based line numbers."""

    def __init__(self, name: str, lines: list[str], stop: int) -> None:
        self.name = name
        self.items: list[tuple[str, int]] = [
            (tok, i + 1) for i in range(stop) for tok in lines[i].split()
        ]
        self.pos = 0
        self.end_line = stop + 1

    def peek(self) -> tuple[str | None, int]:
        if self.pos < len(self.items):
            return self.items[self.pos]
        return None, self.end_line

    def next(self, what: str) -> tuple[str, int]:
        tok, line = self.peek()
        if tok is None:
            raise _err(self.name, f"unexpected end of HIERARCHY, expected {what}", line)
        self.pos += 1
        return tok, line

    def expect(self, word: str) -> int:
        tok, line = self.next(f"'{word}'")
        if tok.upper() != word.upper():
            raise _err(self.name, f"expected '{word}', found '{tok}'", line)
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise _err(self.name, f"{what}: '{tok}' is not a number", line) from None
        if not np.isfinite(value):
            raise _err(self.name, f"{what} is {tok}", line)
        return value


def _parse_hierarchy(name: str, lines: list[str], motion_line: int) -> dict:
    """Parse lines [0, motion_line) into joints, offsets, channels and end sites."""
    tokens = _Tokens(name, lines, motion_line)
    first, line = tokens.peek()
    if first is None or first.upper() != "HIERARCHY":
        raise _err(name, f"missing HIERARCHY (first word is '{first}')", line)
    tokens.next("HIERARCHY")

    joint_names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: list[EndSite] = []
    joint_line: dict[str, int] = {}
    # Stack of open blocks: (joint index or -1 for an End Site, line of its '{').
    stack: list[tuple[int, int]] = []

    def open_joint(kind: str, parent: int) -> None:
        jname, jline = tokens.next(f"{kind} name")
        if jname == "{":
            raise _err(name, f"{kind} without a name", jline)
        if jname in joint_line:
            raise _err(name, f"duplicate joint name '{jname}' (first at line "
                             f"{joint_line[jname]})", jline)  # fmt: skip
        if len(joint_names) >= MAX_JOINTS:
            raise _err(name, f"more than {MAX_JOINTS} joints: not a human skeleton", jline)
        brace = tokens.expect("{")
        joint_line[jname] = jline
        joint_names.append(jname)
        parents.append(parent)
        offsets.append([np.nan] * 3)
        channels.append(())
        stack.append((len(joint_names) - 1, brace))

    tok, line = tokens.peek()
    if tok is None or tok.upper() != "ROOT":
        raise _err(name, f"expected ROOT after HIERARCHY, found '{tok}'", line)
    tokens.next("ROOT")
    open_joint("ROOT", -1)
    while stack:
        tok, line = tokens.peek()
        if tok is None:
            j, brace = stack[-1]
            what = f"joint '{joint_names[j]}'" if j >= 0 else "End Site"
            raise _err(
                name,
                f"unbalanced braces: '{{' of {what} opened at line {brace} is never closed "
                f"(reached {'MOTION' if motion_line < len(lines) else 'end of file'})",
                line,
            )
        tokens.next("a keyword")
        word = tok.upper()
        j, _ = stack[-1]
        if word == "}":
            stack.pop()
        elif word == "OFFSET":
            off = [tokens.number(f"OFFSET {axis}") for axis in "xyz"]
            if j >= 0:
                offsets[j] = off
            else:
                end_sites[-1] = EndSite(end_sites[-1].parent, np.array(off), end_sites[-1].name)
        elif word == "CHANNELS":
            if j < 0:
                raise _err(name, "CHANNELS inside an End Site", line)
            count_tok, _ = tokens.next("channel count")
            if not count_tok.isdigit():
                raise _err(name, f"CHANNELS count '{count_tok}' is not an integer", line)
            count = int(count_tok)
            if count > 6:
                raise _err(name, f"joint '{joint_names[j]}' has {count} channels (at most 6)",
                           line)  # fmt: skip
            chans = []
            for _ in range(count):
                ch, ch_line = tokens.next("a channel name")
                norm = _CHANNELS.get(ch.lower())
                if norm is None:
                    raise _err(name, f"unknown channel '{ch}' for joint '{joint_names[j]}' "
                                     "(expected X/Y/Z position or rotation)", ch_line)  # fmt: skip
                if norm in chans:
                    raise _err(name, f"channel {norm} repeated for joint '{joint_names[j]}'",
                               ch_line)  # fmt: skip
                chans.append(norm)
            channels[j] = tuple(chans)
        elif word == "JOINT":
            if j < 0:
                raise _err(name, "JOINT inside an End Site", line)
            open_joint("JOINT", j)
        elif word == "END":
            if j < 0:
                raise _err(name, "End Site inside an End Site", line)
            tokens.expect("Site")
            brace = tokens.expect("{")
            end_sites.append(EndSite(j, np.full(3, np.nan), end_site_name(joint_names[j])))
            stack.append((-1, brace))
        elif word == "ROOT":
            raise _err(name, "a second ROOT: only one skeleton per file is supported", line)
        else:
            raise _err(name, f"unexpected '{tok}' in HIERARCHY", line)
    tok, line = tokens.peek()
    if tok is not None:
        if tok == "}":
            raise _err(name, "unbalanced braces: '}' without a matching '{'", line)
        raise _err(name, f"unexpected '{tok}' after the skeleton (expected MOTION)", line)

    for j, off in enumerate(offsets):
        if np.isnan(off).any():
            raise _err(name, f"joint '{joint_names[j]}' has no OFFSET", joint_line[joint_names[j]])
    for e in end_sites:
        if np.isnan(e.offset).any():
            raise _err(name, f"End Site of '{joint_names[e.parent]}' has no OFFSET")
    return {
        "joint_names": tuple(joint_names),
        "parents": np.array(parents, dtype=np.int64),
        "offsets": np.array(offsets, dtype=np.float64).reshape(-1, 3),
        "channels": tuple(channels),
        "end_sites": tuple(end_sites),
        "hierarchy_lines": joint_line,
    }


def _parse_header_value(name: str, lines: list[str], i: int, regex: re.Pattern, what: str) -> str:
    if i >= len(lines):
        raise _err(name, f"file ends before the '{what}' line", len(lines))
    m = regex.match(lines[i])
    if m is None:
        raise _err(name, f"expected '{what} <value>', found '{lines[i].strip()[:60]}'", i + 1)
    return m.group(1)


def _parse_motion(
    name: str, lines: list[str], start: int, num_frames: int, num_channels: int, chan_names: list
) -> tuple[np.ndarray, np.ndarray]:
    """Parse frame lines from index ``start``: ([T, C] values, [T] 1-based line numbers)."""
    body = [(i + 1, s) for i, s in enumerate(lines[start:], start) if s.strip()]
    line_no = np.fromiter((ln for ln, _ in body), dtype=np.int64, count=len(body))
    split = [s.split() for _, s in body]
    counts = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    bad = np.flatnonzero(counts != num_channels)
    if bad.size:
        k = int(bad[0])
        if k == len(body) - 1 and len(body) <= num_frames:
            raise _err(
                name,
                f"has {counts[k]} values, expected {num_channels}; the file is "
                f"truncated ({k} complete frames of {num_frames})",
                int(line_no[k]),
            )
        raise _err(name, f"has {counts[k]} values, expected {num_channels}", int(line_no[k]))
    if len(body) < num_frames:
        raise _err(name, f"truncated: {len(body)} frame lines, but the header says Frames: "
                         f"{num_frames}")  # fmt: skip
    if len(body) > num_frames:
        raise _err(name, f"{len(body)} frame lines, but the header says Frames: {num_frames}",
                   int(line_no[num_frames]))  # fmt: skip
    try:
        values = np.array(list(itertools.chain.from_iterable(split)), dtype=np.float64)
    except ValueError:
        for (ln, _), toks in zip(body, split, strict=True):
            for c, tok in enumerate(toks):
                try:
                    float(tok)
                except ValueError:
                    raise _err(name, f"value {c + 1} ({chan_names[c]}) '{tok[:30]}' is not a "
                                     "number", ln) from None  # fmt: skip
        raise
    values = values.reshape(num_frames, num_channels)
    finite = np.isfinite(values)
    if not finite.all():
        t, c = np.argwhere(~finite)[0]
        raise _err(name, f"value {c + 1} ({chan_names[c]}) is {values[t, c]}",
                   int(line_no[t]))  # fmt: skip
    return values, line_no


def parse_bvh(path: str | Path) -> BvhFile:
    """Parse a BVH file strictly; every problem raises ClipError naming the file (and the line).

    Handles CRLF / LF / CR line endings, tabs, a UTF-8 BOM, ``Frames:\\t317``, ``Frame Time:
    .0083333``, exponent notation, blank lines and trailing blank lines. Rejects non-UTF-8 bytes,
    missing HIERARCHY / MOTION, unbalanced braces, unknown channel names, zero frames, more than
    :data:`MAX_FRAMES` frames, truncated files, wrong value counts and NaN / inf values.
    """
    path = Path(path)
    name = path.name
    text = _decode(path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    motion_idx = next((i for i, s in enumerate(lines) if s.strip().upper() == "MOTION"), None)
    if motion_idx is None:
        first = next((s.strip() for s in lines if s.strip()), "")
        if first.upper() != "HIERARCHY":
            raise _err(name, f"missing HIERARCHY (first line is '{first[:40]}')", 1)
        raise _err(name, "missing MOTION section (no line reading 'MOTION')")
    h = _parse_hierarchy(name, lines, motion_idx)

    frames_tok = _parse_header_value(name, lines, motion_idx + 1, _FRAMES_RE, "Frames:")
    ft_tok = _parse_header_value(name, lines, motion_idx + 2, _FRAME_TIME_RE, "Frame Time:")
    try:
        num_frames = int(frames_tok)
    except ValueError:
        raise _err(name, f"Frames: '{frames_tok}' is not an integer", motion_idx + 2) from None
    if num_frames <= 0:
        raise _err(name, f"zero frames (Frames: {frames_tok})", motion_idx + 2)
    if num_frames > MAX_FRAMES:
        raise _err(name, f"Frames: {num_frames} is more than {MAX_FRAMES}: absurd size",
                   motion_idx + 2)  # fmt: skip
    try:
        frame_time = float(ft_tok)
    except ValueError:
        raise _err(name, f"Frame Time '{ft_tok}' is not a number", motion_idx + 3) from None
    if not (np.isfinite(frame_time) and 1e-4 <= frame_time <= 1.0):
        raise _err(name, f"Frame Time {ft_tok} s is outside 0.0001-1 s (1-10000 fps)",
                   motion_idx + 3)  # fmt: skip

    counts = [len(c) for c in h["channels"]]
    channel_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    num_channels = int(sum(counts))
    if num_channels == 0:
        raise _err(name, "the skeleton has no channels")
    chan_names = [f"{j} {c}" for j, cs in zip(h["joint_names"], h["channels"], strict=True)
                  for c in cs]  # fmt: skip
    motion, frame_lines = _parse_motion(
        name, lines, motion_idx + 3, num_frames, num_channels, chan_names
    )
    return BvhFile(
        path=path,
        name=name,
        joint_names=h["joint_names"],
        parents=h["parents"],
        offsets=h["offsets"],
        channels=h["channels"],
        channel_start=channel_start,
        end_sites=h["end_sites"],
        frame_time_text=ft_tok,
        frame_time=frame_time,
        motion=motion,
        frame_lines=frame_lines,
        hierarchy_lines=h["hierarchy_lines"],
    )


# --------------------------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------------------------


def rest_positions(bvh: BvhFile) -> np.ndarray:
    """[J + E, 3] node positions of the rest (offset) pose, file units and axes, root at its
    OFFSET."""
    parents = bvh.node_parents
    offsets = bvh.node_offsets
    pos = np.zeros_like(offsets)
    for j in range(len(parents)):
        pos[j] = offsets[j] if parents[j] < 0 else pos[parents[j]] + offsets[j]
    return pos


def local_rotations(bvh: BvhFile, joints: list[int] | None = None) -> np.ndarray:
    """[T, J, 4] local joint rotations (w, x, y, z) from the Euler channels.

    A joint with fewer than three rotation channels rotates about the listed axes only; joints
    sharing an Euler order are converted together (vectorised over frames and joints). With
    ``joints`` given, only those are computed and the others are left at the identity.
    """
    T, J = bvh.num_frames, len(bvh.joint_names)
    wanted = range(J) if joints is None else joints
    orders: dict[str, list[int]] = {}
    angles = np.zeros((T, J, 3))
    for j in wanted:
        chans = bvh.channels[j]
        rot = [(c, k) for k, c in enumerate(chans) if c.endswith("rotation")]
        axes = "".join(c[0] for c, _ in rot)
        for i, (_, k) in enumerate(rot):
            angles[:, j, i] = bvh.motion[:, bvh.channel_start[j] + k]
        orders.setdefault(axes + "".join(a for a in "XYZ" if a not in axes), []).append(j)
    q = np.zeros((T, J, 4))
    q[..., 0] = 1.0
    for order, idx in orders.items():
        q[:, idx] = quat.from_euler(angles[:, idx], order)
    return q


def local_translations(bvh: BvhFile) -> np.ndarray:
    """[T, J, 3] local joint translations: OFFSETs, with position channels replacing them."""
    T = bvh.num_frames
    trans = np.broadcast_to(bvh.offsets, (T,) + bvh.offsets.shape).copy()
    for j, chans in enumerate(bvh.channels):
        for k, c in enumerate(chans):
            if c.endswith("position"):
                trans[:, j, "XYZ".index(c[0])] = bvh.motion[:, bvh.channel_start[j] + k]
    return trans


def forward_kinematics(
    bvh: BvhFile, nodes: list[int] | None = None, local_q: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Global node positions [T, N, 3] (file units, file axes) and rotations [T, N, 4].

    Nodes are joints then End Sites (:attr:`BvhFile.node_names`). With ``nodes`` given, only those
    nodes and their ancestors are computed; the others are left NaN. ``local_q`` [T, J, 4] may
    pass precomputed :func:`local_rotations`. Vectorised over frames: the Python loop runs over
    joints only. End Sites take their parent's rotation.
    """
    parents = bvh.node_parents
    N = len(parents)
    need = np.zeros(N, dtype=bool)
    for n in range(N) if nodes is None else nodes:
        while n >= 0 and not need[n]:
            need[n] = True
            n = int(parents[n])
    J = len(bvh.joint_names)
    if local_q is None:
        local_q = local_rotations(bvh, [int(n) for n in np.flatnonzero(need[:J])])
    local_t = local_translations(bvh)
    T = bvh.num_frames
    pos = np.full((T, N, 3), np.nan)
    rot = np.full((T, N, 4), np.nan)
    for n in np.flatnonzero(need):
        p = int(parents[n])
        if n < J:
            if p < 0:
                pos[:, n] = local_t[:, n]
                rot[:, n] = local_q[:, n]
            else:
                pos[:, n] = pos[:, p] + quat.rotate(rot[:, p], local_t[:, n])
                rot[:, n] = quat.mul(rot[:, p], local_q[:, n])
        else:
            pos[:, n] = pos[:, p] + quat.rotate(rot[:, p], bvh.node_offsets[n])
            rot[:, n] = rot[:, p]
    return pos, rot


def _continuous(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs along axis 0 so consecutive ones have dot >= 0 (vectorised)."""
    if q.shape[0] < 2:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    sign = np.concatenate([np.ones((1,) + dots.shape[1:]), np.where(dots < 0, -1.0, 1.0)])
    return q * np.cumprod(sign, axis=0)[..., None]


# --------------------------------------------------------------------------------------------
# Frame rate, units, axes, floor, trimming
# --------------------------------------------------------------------------------------------


def round_fps(fps: float, tolerance: float = 0.005) -> float:
    """Snap ``fps`` to the nearest :data:`STANDARD_RATES` entry within ``tolerance`` (relative).

    ``Frame Time`` is often written with few digits (``0.008333`` -> 120.005 fps); this restores
    120. A rate with no standard rate within 0.5% is returned unchanged.
    """
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    rates = np.asarray(STANDARD_RATES, dtype=np.float64)
    k = int(np.argmin(np.abs(rates - fps) / rates))
    return float(rates[k]) if abs(rates[k] - fps) <= tolerance * rates[k] else float(fps)


def _chain_length(bvh: BvhFile, a: int, b: int) -> float:
    """Sum of offset lengths on the tree path from node ``a`` up/down to node ``b`` (file
    units)."""
    parents = bvh.node_parents
    offsets = bvh.node_offsets

    def ancestors(n: int) -> list[int]:
        out = [n]
        while parents[out[-1]] >= 0:
            out.append(int(parents[out[-1]]))
        return out

    up_a, up_b = ancestors(a), ancestors(b)
    common = next(n for n in up_a if n in set(up_b))
    path = up_a[: up_a.index(common)] + up_b[: up_b.index(common)]
    return float(sum(np.linalg.norm(offsets[n]) for n in path))


def leg_length(bvh: BvhFile, mapping: Mapping[str, str]) -> float:
    """Mean hip-knee-ankle bone length of both legs, file units (pose-independent)."""
    idx = {n: i for i, n in enumerate(bvh.node_names)}
    lengths = [
        _chain_length(bvh, idx[mapping[f"{s}_hip"]], idx[mapping[f"{s}_knee"]])
        + _chain_length(bvh, idx[mapping[f"{s}_knee"]], idx[mapping[f"{s}_ankle"]])
        for s in ("left", "right")
    ]
    return float(np.mean(lengths))


def detect_units(leg_file_units: float, name: str = "") -> str:
    """The unit of :data:`UNIT_SCALES` that makes the leg closest to :data:`TYPICAL_LEG_M`."""
    if not leg_file_units > 0:
        raise ClipError(f"{name}: the legs have zero length; cannot detect units")
    return min(
        UNIT_SCALES,
        key=lambda u: abs(np.log(leg_file_units * UNIT_SCALES[u] / TYPICAL_LEG_M)),
    )


def detect_up_axis(pelvis: np.ndarray, head: np.ndarray, name: str = "") -> str:
    """``"y"`` or ``"z"``: the file axis along which the head lies above the pelvis.

    Uses the median pelvis-to-head direction over all frames (so skeletons whose rest pose is not
    upright, such as LAFAN1, work). Raises ClipError when the body is not upright along +Y or +Z.
    """
    d = head - pelvis
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
    med = np.median(d, axis=0)
    k = int(np.argmax(np.abs(med)))
    if med[k] < 0.5 or k == 0:
        raise ClipError(
            f"{name}: cannot detect the up axis: the median pelvis-to-head direction is "
            f"{np.round(med, 2).tolist()} (expected +Y or +Z); set `up_axis` in the config"
        )
    return "yz"[k - 1]


def _axes_rotation(up_axis: str) -> np.ndarray:
    """Quaternion taking file axes to the Z-up world frame."""
    if up_axis == "z":
        return quat.IDENTITY.copy()
    if up_axis == "y":
        return quat.Y_UP_TO_Z_UP.copy()
    raise ValueError(f"up_axis must be 'auto', 'y' or 'z', got {up_axis!r}")


def sole_heights(positions: np.ndarray, body_scale: float = 1.0) -> np.ndarray:
    """[T] lowest estimated sole height per frame (metres) from canonical ankles and toes.

    Joint centres sit above the sole: ankles by :data:`ANKLE_ABOVE_SOLE_M`, toes by
    :data:`TOE_ABOVE_SOLE_M`, both scaled by ``body_scale`` (leg length / typical leg length).
    ``positions`` is [T, 19, 3] on :data:`CANONICAL_JOINTS`, Z up.
    """
    ix = CANONICAL_JOINTS.index
    ankles = (
        positions[:, [ix("left_ankle"), ix("right_ankle")], 2] - ANKLE_ABOVE_SOLE_M * body_scale
    )
    toes = positions[:, [ix("left_toe"), ix("right_toe")], 2] - TOE_ABOVE_SOLE_M * body_scale
    return np.minimum(ankles.min(axis=1), toes.min(axis=1))


def _point_soles(positions: np.ndarray, body_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Sole height estimates [T, 4] and the canonical joint indices [4] of both ankles and toes."""
    ix = CANONICAL_JOINTS.index
    joints = np.array([ix("left_ankle"), ix("left_toe"), ix("right_ankle"), ix("right_toe")])
    above = np.array([ANKLE_ABOVE_SOLE_M, TOE_ABOVE_SOLE_M] * 2) * body_scale
    return positions[:, joints, 2] - above, joints


def first_stance_floor(positions: np.ndarray, fps: float, body_scale: float = 1.0) -> float | None:
    """Floor height (metres) under the feet that stand at the start of the clip, or None.

    Over the first :data:`FLOOR_FIRST_STANCE_S` seconds, the sole estimates (as in
    :func:`sole_heights`) of the ankle and toe points that stand still (horizontal speed below
    :data:`FLOOR_STILL_SPEED_MPS` x ``body_scale``); their :data:`FLOOR_PERCENTILE` percentile
    is the floor. None when no point stands still there (the clip starts in the air or on a
    treadmill). ``positions`` [T, 19, 3] canonical, metres, Z up; ``fps`` frames per second.
    """
    T = positions.shape[0]
    if T < 2:
        return None
    soles, joints = _point_soles(positions, body_scale)
    n = min(T, max(2, round(FLOOR_FIRST_STANCE_S * fps) + 1))
    xy = positions[:n][:, joints, :2]
    speed = np.linalg.norm(np.gradient(xy, axis=0), axis=-1) * fps  # [n, 4]
    still = soles[:n][speed < FLOOR_STILL_SPEED_MPS * body_scale]
    if still.size < 3:
        return None
    return float(np.percentile(still, FLOOR_PERCENTILE))


def floor_height(positions: np.ndarray, fps: float, body_scale: float = 1.0) -> tuple[float, str]:
    """Height of the floor (metres, Z up) estimated from the feet, and how: ``"clip"`` or
    ``"first_stance"``.

    Flat ground: a low percentile (:data:`FLOOR_PERCENTILE`) of :func:`sole_heights` over the
    whole clip (robust to noise). That is meaningless where the ground is not flat (stairs: the
    lowest tread of the clip); so when the feet that stand at the start
    (:func:`first_stance_floor`) are more than :data:`FLOOR_FLAT_TOL_M` away from it, the floor
    is the first stance's: the ground the clip starts on is z = 0. A broken root that puts the
    feet far from the file's zero from the start (CMU 07_12) gives a large floor either way.
    Shared by the BVH and AMASS readers.
    """
    whole = float(np.percentile(sole_heights(positions, body_scale), FLOOR_PERCENTILE))
    first = first_stance_floor(positions, fps, body_scale)
    if first is None or abs(first - whole) <= FLOOR_FLAT_TOL_M:
        return whole, "clip"
    return first, "first_stance"


def detect_leading_padding(local_q: np.ndarray, fps: float) -> tuple[int, str]:
    """Number of leading synthetic frames (T-pose frame 0 + conversion blend-in), and why.

    cgspeed MotionBuilder and Daz conversions prepend a synthetic T-pose frame 0; the Daz ones
    then blend into the take over ~3 frames with 15-40 deg/frame jumps, while real motion moves a
    body joint a few degrees per frame at 120 fps (3dsMax and raw amc2bvh files have no padding).
    Detected from the data, not the file name, with ``jump[t]`` = the largest angle any body joint
    turns from frame t to t+1 (local rotations, so Euler wraps play no part) and ``m`` = the
    median jump after the first 10 frames:

    1. frame 0 is padding when ``jump[0] > max(15 deg, 4 m)`` (a pose far from the next one);
    2. then frames 1, 2, ... are padding while ``jump[t] > max(10 deg, 3 m)``, for at most 0.1 s.

    Degree thresholds are for 120 fps and scale with 120 / fps. ``local_q`` is [T, J, 4] local
    rotations of the body joints (root excluded). Returns (count, reason).
    """
    T = local_q.shape[0]
    if T < 12:
        return 0, ""
    jumps = np.degrees(quat.angle_between(local_q[1:], local_q[:-1]).max(axis=1))  # [T-1]
    per_frame = 120.0 / fps
    typical = float(np.median(jumps[10:]))
    if not jumps[0] > max(15.0 * per_frame, 4.0 * typical):
        return 0, ""
    reason = f"frame 0 is {jumps[0]:.0f} deg from frame 1 (median {typical:.1f} deg/frame)"
    threshold = max(10.0 * per_frame, 3.0 * typical)
    n = 1
    limit = min(max(1, round(0.1 * fps)), T - 2)
    while n < limit and jumps[n] > threshold:
        n += 1
    if n > 1:
        reason += f"; {n - 1} blend-in frames turn > {threshold:.0f} deg/frame"
    return n, reason


def ballistic_fps(
    positions: np.ndarray, fps: float, body_scale: float = 1.0, min_flight_s: float = 0.1
) -> tuple[float | None, int]:
    """Frame rate implied by gravity during flight phases, or None; and the number of flights.

    Candidate flights are runs of frames in which both feet are more than 4 cm (x ``body_scale``)
    above the floor, lasting at least ``min_flight_s`` at ``fps`` and 5 frames. Over a flight the
    pelvis height follows ``z(n) = A n^2 + B n + C`` in frame index ``n`` with
    ``A = -g dt^2 / 2``, so ``dt = sqrt(-2 A / g)``. Only unmistakable jumps count: the parabola
    fits (R^2 >= 0.97), the pelvis drops at least 5 cm from the apex over half the run, and the
    apex is at least 8 cm above the clip's median pelvis height (lengths x ``body_scale``). Walking
    (feet briefly both clear of a sloping floor), standing on a step, hanging and climbing fail
    these tests. The estimate is the median ``1 / dt`` over flights. The pelvis is not the centre
    of mass, so it is good to ~5-10% on the CMU jumps (116-121 fps for 120 fps takes), enough to
    catch a header that is off by 2-4x (16_01.bvh says 30 fps; gravity says 120).

    ``positions`` is [T, 19, 3] canonical, metres, Z up, floor at 0.
    """
    ix = CANONICAL_JOINTS.index
    feet = np.stack(
        [
            np.minimum(
                positions[:, ix(f"{s}_ankle"), 2] - ANKLE_ABOVE_SOLE_M * body_scale,
                positions[:, ix(f"{s}_toe"), 2] - TOE_ABOVE_SOLE_M * body_scale,
            )
            for s in ("left", "right")
        ],
        axis=1,
    )
    airborne = (feet > 0.04 * body_scale).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], airborne.astype(np.int8), [0]])))
    pelvis_z = positions[:, ix("pelvis"), 2]
    standing = float(np.median(pelvis_z))
    estimates: list[float] = []
    min_len = max(5, int(np.ceil(min_flight_s * fps)))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < min_len:
            continue
        z = pelvis_z[a:b]
        n = np.arange(b - a, dtype=np.float64)
        coef = np.polyfit(n, z, 2)
        ss_tot = float(np.sum((z - z.mean()) ** 2))
        r2 = 1.0 - float(np.sum((z - np.polyval(coef, n)) ** 2)) / max(ss_tot, 1e-12)
        drop = -coef[0] * (0.5 * (b - a)) ** 2
        if (
            coef[0] >= 0.0
            or r2 < 0.97
            or drop < 0.05 * body_scale
            or z.max() < standing + 0.08 * body_scale
        ):
            continue
        estimates.append(1.0 / np.sqrt(-2.0 * coef[0] / GRAVITY))
    if not estimates:
        return None, 0
    return float(np.median(estimates)), len(estimates)


def nearest_standard_rate(fps: float) -> float:
    """The :data:`STANDARD_RATES` entry closest to ``fps`` in log scale."""
    rates = np.asarray(STANDARD_RATES, dtype=np.float64)
    return float(rates[int(np.argmin(np.abs(np.log(rates / fps))))])


def _chain_joints(bvh: BvhFile, nodes: list[int]) -> list[int]:
    """Non-root joints that are ``nodes`` or their ancestors (End Sites map to their parent)."""
    parents = bvh.node_parents
    J = len(bvh.joint_names)
    out: set[int] = set()
    for n in nodes:
        n = int(parents[n]) if n >= J else n
        while parents[n] >= 0 and n not in out:
            out.add(n)
            n = int(parents[n])
    return sorted(out)


def _resolve_units(units: str | float, leg_units: float, name: str) -> tuple[str, float]:
    if isinstance(units, str):
        if units == "auto":
            units = detect_units(leg_units, name)
        if units not in UNIT_SCALES:
            raise ValueError(
                f"units must be 'auto', one of {sorted(UNIT_SCALES)} or metres per unit, "
                f"got {units!r}"
            )
        return units, UNIT_SCALES[units]
    scale = float(units)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"units (metres per file unit) must be positive, got {units}")
    return f"{scale:g} m", scale


def read_bvh(
    path: str | Path,
    *,
    units: str | float = "auto",
    up_axis: str = "auto",
    fps: float | None = None,
    mapping: Mapping[str, str] | None = None,
    trim: bool = True,
    check_fps: bool = True,
) -> HumanMotion:
    """Read a BVH clip into a canonical :class:`HumanMotion` (metres, +Z up, floor at z = 0).

    units: ``"auto"`` (detected from the leg length, see :func:`detect_units`), a key of
        :data:`UNIT_SCALES` (``"m"``, ``"cm"``, ``"mm"``, ``"inch"``, ``"cmu"``) or metres per
        file unit.
    up_axis: ``"auto"`` (see :func:`detect_up_axis`), ``"y"`` or ``"z"``.
    fps: frame-rate override for files whose header is wrong; default: the header's rate
        snapped by :func:`round_fps`, then checked against gravity when ``check_fps`` (a header
        off by more than 1.5x from the ballistic estimate is corrected to the nearest standard
        rate, with a warning and ``meta["fps_source"] = "ballistic"``).
    mapping: canonical joint -> source joint name, overriding / extending the detected
        convention (config ``mocap.joint_map``).
    trim: drop leading T-pose / blend-in frames (:func:`detect_leading_padding`). An exactly
        duplicated last frame is always dropped.

    Positions are the canonical joints' global positions; rotations are defined in the module
    docstring (relative to the file's rest pose, world axes). Raises ClipError for bad input.
    """
    path = Path(path)
    bvh = parse_bvh(path)
    name = bvh.name
    convention = detect_convention(bvh.node_names)
    source_of = resolve_mapping(bvh.node_names, mapping, source=name)
    index = {n: i for i, n in enumerate(bvh.node_names)}
    nodes = [index[source_of[j]] for j in CANONICAL_JOINTS]

    leg_units = leg_length(bvh, source_of)
    unit_name, scale = _resolve_units(units, leg_units, name)
    leg_m = leg_units * scale
    if not PLAUSIBLE_LEG_M[0] <= leg_m <= PLAUSIBLE_LEG_M[1]:
        raise ClipError(
            f"{name}: absurd skeleton size: hip-to-ankle leg length {leg_units:.4g} file units "
            f"= {leg_m:.3g} m in {unit_name}, outside the human range {PLAUSIBLE_LEG_M[0]}-"
            f"{PLAUSIBLE_LEG_M[1]} m; set `units` in the config if the detection is wrong"
        )

    chain = _chain_joints(bvh, nodes)  # non-root joints the canonical joints hang from
    local_q = local_rotations(bvh, [0, *chain])
    pos_all, rot_all = forward_kinematics(bvh, nodes, local_q)
    pos_f, rot_f = pos_all[:, nodes], rot_all[:, nodes]
    ix = CANONICAL_JOINTS.index
    if up_axis == "auto":
        up = detect_up_axis(pos_f[:, ix("pelvis")], pos_f[:, ix("head")], name)
    else:
        up = up_axis.lower()
    q_axes = _axes_rotation(up)
    positions = quat.rotate(q_axes, pos_f) * scale
    rotations = quat.mul(quat.mul(q_axes, rot_f), quat.conj(q_axes))

    fps_header = bvh.fps_header
    fps_used = round_fps(fps_header) if fps is None else float(fps)
    if not (np.isfinite(fps_used) and fps_used > 0):
        raise ValueError(f"fps override must be positive, got {fps}")

    T = bvh.num_frames
    end = T - 1 if T >= 2 and np.array_equal(bvh.motion[-1], bvh.motion[-2]) else T
    start, trim_reason = 0, ""
    if trim:
        start, trim_reason = detect_leading_padding(local_q[:end, chain], fps_used)
    if end - start < 2:
        raise ClipError(f"{name}: only {end - start} frame(s) left after dropping "
                        f"{start} padding and {T - end} duplicated frame(s)")  # fmt: skip
    positions = positions[start:end]
    rotations = rotations[start:end]

    body_scale = leg_m / TYPICAL_LEG_M
    floor, floor_method = floor_height(positions, fps_used, body_scale)
    positions[..., 2] -= floor

    warn: list[str] = []
    if floor_method == "first_stance":
        low = float(np.percentile(sole_heights(positions, body_scale), FLOOR_PERCENTILE))
        warn.append(f"{name}: the ground is not flat (the feet's low level over the clip is "
                    f"{low:+.2f} m from where they start); z = 0 is the first stance's ground")
    if abs(floor) > FLOOR_SHIFT_WARN_M:
        warn.append(f"{name}: the feet's floor is {floor:+.2f} m from the file's zero height; "
                    "the root trajectory may be broken")  # fmt: skip

    fps_source = "override" if fps is not None else "header"
    fps_ballistic, flights = ballistic_fps(positions, fps_used, body_scale)
    if fps is None and check_fps and fps_ballistic is not None:
        ratio = fps_ballistic / fps_used
        if not 1 / 1.5 <= ratio <= 1.5:
            corrected = nearest_standard_rate(fps_ballistic)
            msg = (f"{name}: header says {fps_header:.4g} fps but the pelvis in {flights} "
                   f"flight phase(s) falls as under gravity at {fps_ballistic:.0f} fps; "
                   f"using {corrected:g} fps (pass fps= to override)")  # fmt: skip
            warnings.warn(msg, stacklevel=2)
            warn.append(msg)
            fps_used, fps_source = corrected, "ballistic"

    meta = {
        "format": "bvh",
        "convention": convention,
        "joint_map": dict(source_of),
        "units": unit_name,
        "scale_m_per_unit": scale,
        "up_axis": up,
        "fps_header": fps_header,
        "frame_time_text": bvh.frame_time_text,
        "fps": fps_used,
        "fps_source": fps_source,
        "fps_ballistic": fps_ballistic,
        "frames_in_file": T,
        "trimmed_leading_frames": start,
        "trim_reason": trim_reason,
        "dropped_duplicate_last_frame": T - end,
        "floor_shift_m": -floor,
        "floor_method": floor_method,
        "leg_length_m": leg_m,
        "height_estimate_m": leg_m / LEG_TO_HEIGHT,
        "warnings": warn,
    }
    return HumanMotion(
        fps=fps_used,
        joint_names=CANONICAL_JOINTS,
        parents=CANONICAL_PARENT_INDICES,
        positions=positions,
        rotations=_continuous(quat.normalize(rotations)),
        source=str(path),
        sha256=sha256_file(path),
        meta=meta,
    )
