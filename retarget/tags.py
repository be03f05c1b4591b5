"""Motion tags of a clip (walk / run / stairs / other): from config patterns or measured.

Measured rules (one tag per clip, checked in this order):

1. ``"stairs"``: the net root height change over the clip, ``|z[-1] - z[0]|``, exceeds 0.25 m;
2. ``"run"``: mean horizontal root speed >= 1.6 m/s, or both feet are airborne in more than
   25 % of the frames;
3. ``"walk"``: mean horizontal root speed in [0.3, 1.6) m/s;

Speeds are the G1's (retargeted clips are about 0.76x the human's scale): human walks up to
~1.75 m/s land below 1.35 m/s, a 2.5 m/s human run at ~1.9 m/s. Walking has double support, so
a 25 % airborne share separates a run from a walk whose retargeted foot briefly hovers
(CMU 07_01 shows 17 %); a running gait with duty factor 0.36 is ~28 % airborne.
4. ``"other"``: anything else (standing, turning on the spot, ...).

Config tags: a mapping ``{clip-id pattern: [tags]}`` (``fnmatch`` patterns); a clip matched by
one or more patterns gets the union of their tags (in config order) and is not measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

import numpy as np

#: Tags produced by :func:`measure_tag`.
MEASURED_TAGS = ("walk", "run", "stairs", "other")

STAIRS_HEIGHT_M = 0.25  # |net root height change| above which a clip is "stairs"
RUN_SPEED_MPS = 1.6  # mean horizontal root speed from which a clip is "run"
WALK_SPEED_MPS = 0.3  # mean horizontal root speed from which a clip is "walk"
RUN_AIRBORNE_FRACTION = 0.25  # share of frames with both feet airborne above which: "run"


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


def measure_tag(root_pos: np.ndarray, root_lin_vel: np.ndarray, foot_contacts: np.ndarray) -> str:
    """The measured tag of a clip (rules in the module docstring).

    Args:
        root_pos: [T, 3] root position, world frame (m).
        root_lin_vel: [T, 3] root linear velocity, world frame (m/s).
        foot_contacts: [T, 2] bool, (left, right) foot on the ground.
    """
    root_pos = np.asarray(root_pos, dtype=np.float64)
    if root_pos.shape[0] and abs(root_pos[-1, 2] - root_pos[0, 2]) > STAIRS_HEIGHT_M:
        return "stairs"
    speed = mean_horizontal_speed(root_lin_vel)
    if speed >= RUN_SPEED_MPS or airborne_fraction(foot_contacts) > RUN_AIRBORNE_FRACTION:
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
) -> tuple[str, ...]:
    """Tags from config when a pattern matches ``clip_id``, else the one measured tag."""
    tags = config_tags(clip_id, patterns)
    if tags is not None:
        return tags
    return (measure_tag(root_pos, root_lin_vel, foot_contacts),)
