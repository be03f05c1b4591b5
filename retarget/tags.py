"""Motion tags of a clip (walk / run / stairs / other): from config patterns or measured.

Measured rules (one tag per clip, checked in this order):

1. ``"stairs"``: the net root height change over the clip, ``|z[-1] - z[0]|``, exceeds 0.25 m;
2. ``"other"`` when the clip is not locomotion: its touchdowns do not alternate between the
   feet (fewer than 60 % of consecutive touchdowns are by the other foot, more than 0.06 s
   apart: jumps land on both feet), or it does not go anywhere (the median over 2 s windows of
   net root displacement / root path length is below 0.7: dancing, stepping back and forth).
   A clip with fewer than 6 touchdowns is not judged on alternation (too few steps to tell);
3. ``"run"``: mean horizontal root speed >= 1.6 m/s, or both feet are airborne in more than
   25 % of the frames at a speed of at least 1.0 m/s;
4. ``"walk"``: mean horizontal root speed in [0.15, 1.6) m/s;
5. ``"other"``: anything else (standing, turning on the spot, ...).

Speeds are the G1's (retargeted clips are about 0.76x the human's scale): human walks up to
~1.75 m/s land below 1.35 m/s, a 2.5 m/s human run at ~1.9 m/s. Walking has double support, so
a 25 % airborne share separates a run from a walk whose retargeted foot briefly hovers
(CMU 07_01 shows 17 %); a running gait with duty factor 0.36 is ~28 % airborne. Below 1.0 m/s
that share is a hovering foot in a slow walk (CMU 08_04, 0.80 m/s: 25 %), not a run. On the
CMU clips of ../shared/data the alternation rule rejects the playground jumps (01_01: 21 % of
25 touchdowns; the walks: 80-100 %) and the efficiency rule the salsa (60_10: 0.44 over 9.9 s;
the walks: >= 0.98, the demo turning walks 0.96).

Config tags: a mapping ``{clip-id pattern: [tags]}`` (``fnmatch`` patterns); a clip matched by
one or more patterns gets the union of their tags (in config order) and is not measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

import numpy as np

#: Tags produced by :func:`measure_tag`.
MEASURED_TAGS = ("walk", "run", "stairs", "other")

STAIRS_HEIGHT_M = 0.25  # |net root height change| above which a clip is "stairs"
RUN_SPEED_MPS = 1.6  # mean horizontal root speed from which a clip is "run"
WALK_SPEED_MPS = 0.15  # mean horizontal root speed from which a clip is "walk"
RUN_AIRBORNE_FRACTION = 0.25  # share of frames with both feet airborne above which: "run"
RUN_AIRBORNE_MIN_SPEED_MPS = 1.0  # ... at a mean horizontal root speed of at least this
MIN_ALTERNATION = 0.6  # share of consecutive touchdowns by the other foot, for locomotion
SIMULTANEOUS_S = 0.06  # touchdowns of both feet this close count as one two-footed landing
MIN_TOUCHDOWNS = 6  # fewer touchdowns: alternation is not judged
MIN_PATH_EFFICIENCY = 0.7  # median net displacement / path length over windows, for locomotion
EFFICIENCY_WINDOW_S = 2.0  # window of the path efficiency (s)
DEFAULT_FPS = 50.0  # frame rate of the arrays when not given (the dataset's default rate)


def mean_horizontal_speed(root_lin_vel: np.ndarray) -> float:
    """Mean over frames of the horizontal root speed (m/s); ``root_lin_vel`` [T, 3] world."""
    v = np.asarray(root_lin_vel, dtype=np.float64)
    if v.shape[0] == 0:
        return 0.0
    return float(np.linalg.norm(v[:, :2], axis=-1).mean())


def airborne_fraction(foot_contacts: np.ndarray) -> float:
    """Share of frames in which neither foot touches the ground; ``foot_contacts`` [T, 2] bool."""
    c = np.asarray(foot_contacts, dtype=bool)
    if c.shape[0] == 0:
        return 0.0
    return float(np.mean(~c.any(axis=-1)))


def touchdown_alternation(foot_contacts: np.ndarray, fps: float) -> tuple[float, int]:
    """``(share, touchdowns)``: the share of consecutive touchdowns (frames where a foot's
    contact begins) made by the other foot more than ``SIMULTANEOUS_S`` after the previous one,
    and the number of touchdowns; ``foot_contacts`` [T, 2] bool. NaN share below 2 touchdowns."""
    c = np.asarray(foot_contacts, dtype=bool)
    frames, feet = [], []
    for f in range(c.shape[1]):
        starts = np.flatnonzero(c[1:, f] & ~c[:-1, f]) + 1
        frames.append(starts)
        feet.append(np.full(starts.shape, f))
    t, foot = np.concatenate(frames), np.concatenate(feet)
    if t.size < 2:
        return math.nan, int(t.size)
    order = np.argsort(t, kind="stable")
    t, foot = t[order], foot[order]
    alternating = (foot[1:] != foot[:-1]) & (np.diff(t) > SIMULTANEOUS_S * fps)
    return float(alternating.mean()), int(t.size)


def path_efficiency(
    root_pos: np.ndarray, fps: float, window_s: float = EFFICIENCY_WINDOW_S
) -> float:
    """Median over windows of ``window_s`` (hop: a quarter window) of the horizontal root's net
    displacement / path length; the whole clip when shorter. 1 = a straight path; NaN when the
    root does not move."""
    xy = np.asarray(root_pos, dtype=np.float64)[:, :2]
    w = max(2, round(window_s * fps))
    starts = range(0, max(1, xy.shape[0] - w + 1), max(1, w // 4))
    ratios = []
    for s in starts:
        seg = xy[s : s + w]
        length = float(np.linalg.norm(np.diff(seg, axis=0), axis=-1).sum())
        if length > 1e-9:
            ratios.append(float(np.linalg.norm(seg[-1] - seg[0])) / length)
    return float(np.median(ratios)) if ratios else math.nan


def is_locomotion(root_pos: np.ndarray, foot_contacts: np.ndarray, fps: float) -> bool:
    """Alternating steps that go somewhere (rule 2 of the module docstring)."""
    share, touchdowns = touchdown_alternation(foot_contacts, fps)
    if touchdowns >= MIN_TOUCHDOWNS and share < MIN_ALTERNATION:
        return False
    efficiency = path_efficiency(root_pos, fps)
    return not efficiency < MIN_PATH_EFFICIENCY  # NaN (no motion): left to the speed rules


def measure_tag(
    root_pos: np.ndarray,
    root_lin_vel: np.ndarray,
    foot_contacts: np.ndarray,
    fps: float = DEFAULT_FPS,
) -> str:
    """The measured tag of a clip (rules in the module docstring).

    Args:
        root_pos: [T, 3] root position, world frame (m).
        root_lin_vel: [T, 3] root linear velocity, world frame (m/s).
        foot_contacts: [T, 2] bool, (left, right) foot on the ground.
        fps: frame rate of the arrays (Hz).
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    if root_pos.shape[0] and abs(root_pos[-1, 2] - root_pos[0, 2]) > STAIRS_HEIGHT_M:
        return "stairs"
    if not is_locomotion(root_pos, foot_contacts, fps):
        return "other"
    speed = mean_horizontal_speed(root_lin_vel)
    airborne = airborne_fraction(foot_contacts) > RUN_AIRBORNE_FRACTION
    if speed >= RUN_SPEED_MPS or (airborne and speed >= RUN_AIRBORNE_MIN_SPEED_MPS):
        return "run"
    if speed >= WALK_SPEED_MPS:
        return "walk"
    return "other"


def config_tags(clip_id: str, patterns: Mapping[str, Sequence[str]]) -> tuple[str, ...] | None:
    """Union of the tags of every pattern matching ``clip_id`` (config order), or None if none
    matches."""
    tags: list[str] = []
    matched = False
    for pattern, pattern_tags in patterns.items():
        if fnmatchcase(clip_id, pattern):
            matched = True
            tags.extend(t for t in pattern_tags if t not in tags)
    return tuple(tags) if matched else None


def clip_tags(
    clip_id: str,
    patterns: Mapping[str, Sequence[str]],
    root_pos: np.ndarray,
    root_lin_vel: np.ndarray,
    foot_contacts: np.ndarray,
    fps: float = DEFAULT_FPS,
) -> tuple[str, ...]:
    """Tags from config when a pattern matches ``clip_id``, else the one measured tag."""
    tags = config_tags(clip_id, patterns)
    if tags is not None:
        return tags
    return (measure_tag(root_pos, root_lin_vel, foot_contacts, fps),)
