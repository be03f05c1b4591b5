"""Joint-name maps from BVH skeleton conventions to the canonical joints (data, not code).

Each convention maps every canonical joint (:data:`mocap.types.CANONICAL_JOINTS`) to an ordered
list of candidate source names; the first one present in a skeleton wins. The names were read
from the HIERARCHY blocks of the CMU conversions in ``../shared/data/mocap/cmu`` (raw amc2bvh,
cgspeed MotionBuilder / 3dsMax / Daz releases) and from the LAFAN1 skeleton.

The candidate picked for each canonical joint is the source joint whose *position* best matches
the anatomical joint, e.g. ``left_shoulder`` is the upper-arm joint (glenohumeral centre):
``LeftArm`` (MotionBuilder, LAFAN1), ``lShldr`` (Daz), ``lhumerus`` (CMU ASF), ``LeftShoulder``
(3dsMax, where ``LeftCollar`` is the clavicle). Zero-length helper joints (``LHipJoint``,
``lowerback``, ``lowerneck``, ``LeftCollar`` in 3dsMax) are never used, since they coincide with
their parent. Daz figures have no toe joint: their toe is the foot's End Site, which the BVH
reader names ``<joint>_end`` (see :func:`end_site_name`).

Spine levels (heights above the root in each rest pose, metres): CMU ASF upperback 0.12, thorax
0.24, upperneck 0.33, head 0.43; Daz abdomen 0.21, chest 0.32, neck 0.55, head 0.62; LAFAN1
Spine1 ~0.20, Spine2 ~0.32, Neck ~0.58, Head ~0.70. So ``spine`` is the lumbar joint ~0.1-0.2 m
above the pelvis, ``chest`` the thoracic joint near the arm roots, ``neck`` the neck joint just
above the shoulders and ``head`` the skull-base joint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mocap.types import CANONICAL_JOINTS, ClipError


def end_site_name(joint: str) -> str:
    """Name under which the BVH reader exposes the End Site hanging under ``joint``."""
    return f"{joint}_end"


def _sided(template: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Expand ``{"{s}_hip": ["{L}Thigh"]}`` templates to left/right entries.

    In a template, ``{L}`` becomes ``l``/``r``, ``{Side}`` becomes ``Left``/``Right`` and ``{S}``
    becomes ``L``/``R``.
    """
    out: dict[str, list[str]] = {}
    for key, names in template.items():
        if "{s}" not in key:
            out[key] = list(names)
            continue
        for side, low, word, cap in (("left", "l", "Left", "L"), ("right", "r", "Right", "R")):
            out[key.format(s=side)] = [n.format(L=low, Side=word, S=cap) for n in names]
    return out


#: Convention name -> canonical joint -> candidate source names (first present wins).
CONVENTIONS: dict[str, dict[str, list[str]]] = {
    # Raw amc2bvh output with the CMU ASF bone names (16_01.bvh).
    "cmu_asf": _sided({
        "pelvis": ["hip", "root", "Hips"],
        "{s}_hip": ["{L}femur"],
        "{s}_knee": ["{L}tibia"],
        "{s}_ankle": ["{L}foot"],
        "{s}_toe": ["{L}toes", end_site_name("{L}foot")],
        "spine": ["upperback"],
        "chest": ["thorax"],
        "neck": ["upperneck", "lowerneck"],
        "head": ["head"],
        "{s}_shoulder": ["{L}humerus"],
        "{s}_elbow": ["{L}radius"],
        "{s}_wrist": ["{L}wrist"],
    }),
    # cgspeed MotionBuilder-friendly release (01_01.bvh).
    "motionbuilder": _sided({
        "pelvis": ["Hips"],
        "{s}_hip": ["{Side}UpLeg"],
        "{s}_knee": ["{Side}Leg"],
        "{s}_ankle": ["{Side}Foot"],
        "{s}_toe": ["{Side}ToeBase", end_site_name("{Side}Foot")],
        "spine": ["Spine"],
        "chest": ["Spine1"],
        "neck": ["Neck1", "Neck"],
        "head": ["Head"],
        "{s}_shoulder": ["{Side}Arm"],
        "{s}_elbow": ["{Side}ForeArm"],
        "{s}_wrist": ["{Side}Hand"],
    }),
    # cgspeed 3dsMax-friendly release (131_01.bvh, 131_03.bvh, scaled_131_01.bvh).
    "3dsmax": _sided({
        "pelvis": ["Hips"],
        "{s}_hip": ["{Side}Hip"],
        "{s}_knee": ["{Side}Knee"],
        "{s}_ankle": ["{Side}Ankle"],
        "{s}_toe": ["{Side}Toe", end_site_name("{Side}Ankle")],
        "spine": ["Chest"],
        "chest": ["Chest2"],
        "neck": ["Neck", "lowerneck"],
        "head": ["Head"],
        "{s}_shoulder": ["{Side}Shoulder"],
        "{s}_elbow": ["{Side}Elbow"],
        "{s}_wrist": ["{Side}Wrist"],
    }),
    # cgspeed Daz-friendly release (the 0x_xx.bvh clips and 60_10_scaled.bvh): no toe joints.
    "daz": _sided({
        "pelvis": ["hip"],
        "{s}_hip": ["{L}Thigh"],
        "{s}_knee": ["{L}Shin"],
        "{s}_ankle": ["{L}Foot"],
        "{s}_toe": ["{L}Toe", end_site_name("{L}Foot")],
        "spine": ["abdomen"],
        "chest": ["chest"],
        "neck": ["neck"],
        "head": ["head"],
        "{s}_shoulder": ["{L}Shldr"],
        "{s}_elbow": ["{L}ForeArm"],
        "{s}_wrist": ["{L}Hand"],
    }),
    # Ubisoft LAFAN1 (22 joints, position channels on every joint).
    "lafan1": _sided({
        "pelvis": ["Hips"],
        "{s}_hip": ["{Side}UpLeg"],
        "{s}_knee": ["{Side}Leg"],
        "{s}_ankle": ["{Side}Foot"],
        "{s}_toe": ["{Side}Toe", end_site_name("{Side}Foot")],
        "spine": ["Spine1"],
        "chest": ["Spine2"],
        "neck": ["Neck"],
        "head": ["Head"],
        "{s}_shoulder": ["{Side}Arm"],
        "{s}_elbow": ["{Side}ForeArm"],
        "{s}_wrist": ["{Side}Hand"],
    }),
}  # fmt: skip

#: Names that only one convention uses, used to break ties in :func:`detect_convention`.
_SIGNATURES: dict[str, frozenset[str]] = {
    "cmu_asf": frozenset({"lfemur", "ltibia", "lhumerus", "thorax", "upperback"}),
    "motionbuilder": frozenset({"LeftToeBase", "Neck1", "LowerBack", "LeftFingerBase"}),
    "3dsmax": frozenset({"LeftHip", "LeftKnee", "Chest2", "LeftCollar", "LeftElbow"}),
    "daz": frozenset({"lThigh", "lShin", "abdomen", "lShldr", "lButtock"}),
    "lafan1": frozenset({"LeftToe", "Spine2", "LeftUpLeg"}),
}


def _lookup(names: Iterable[str]) -> dict[str, str]:
    """Map each name, and its part after a namespace colon (``mixamorig:Hips``), to itself."""
    table: dict[str, str] = {}
    for name in names:
        table.setdefault(name, name)
        if ":" in name:
            table.setdefault(name.rsplit(":", 1)[1], name)
    return table


def _match(convention: str, table: Mapping[str, str]) -> dict[str, str]:
    """Canonical -> source names of ``convention`` that are present in ``table``."""
    found: dict[str, str] = {}
    for canonical, candidates in CONVENTIONS[convention].items():
        for cand in candidates:
            if cand in table:
                found[canonical] = table[cand]
                break
    return found


def detect_convention(joint_names: Iterable[str]) -> str:
    """The convention whose names cover most canonical joints, or ``"unknown"``.

    Ties (MotionBuilder and LAFAN1 share most names) are broken by signature names.
    Returns one of the keys of :data:`CONVENTIONS` or ``"unknown"`` when none matches a joint.
    """
    table = _lookup(joint_names)
    best, best_score = "unknown", (0, 0)
    for convention in CONVENTIONS:
        covered = len(_match(convention, table))
        signature = sum(1 for n in _SIGNATURES[convention] if n in table)
        score = (covered, signature)
        if covered > 0 and score > best_score:
            best, best_score = convention, score
    return best


def resolve_mapping(
    joint_names: Iterable[str],
    user_mapping: Mapping[str, str] | None = None,
    *,
    source: str = "",
) -> dict[str, str]:
    """Canonical joint -> source joint name for a skeleton with ``joint_names``.

    ``joint_names`` may include End Site names (:func:`end_site_name`). The detected convention's
    map is taken first; ``user_mapping`` (canonical -> source name, from config ``mocap.joint_map``)
    overrides and extends it. User entries whose source joint is not in this skeleton are ignored
    (one config map may serve several skeletons). ``source`` (a file name) prefixes error messages.

    Raises ValueError for a user key that is not a canonical joint (a config bug), and ClipError
    naming the canonical joints that stay unmapped.
    """
    names = list(joint_names)
    table = _lookup(names)
    convention = detect_convention(names)
    mapping = _match(convention, table) if convention != "unknown" else {}
    for canonical, src in (user_mapping or {}).items():
        if canonical not in CANONICAL_JOINTS:
            raise ValueError(
                f"mocap.joint_map: {canonical!r} is not a canonical joint; "
                f"expected one of {', '.join(CANONICAL_JOINTS)}"
            )
        if src in table:
            mapping[canonical] = table[src]
    missing = [j for j in CANONICAL_JOINTS if j not in mapping]
    if missing:
        prefix = f"{source}: " if source else ""
        raise ClipError(
            f"{prefix}unknown skeleton (convention {convention}): no source joint for "
            f"{', '.join(missing)}; add them to `mocap.joint_map` in the config "
            f"(canonical name -> joint name in the file)"
        )
    return {j: mapping[j] for j in CANONICAL_JOINTS}
