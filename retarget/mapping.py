"""Human -> G1 correspondences, as data.

Every canonical human joint (:data:`mocap.types.CANONICAL_JOINTS`) has one entry: the G1 body it
corresponds to, a point in that body's frame (``offset_b``, metres, body frame, official G1 body
frames) and the weights of the position and orientation costs in the IK. A zero position weight
means the point is only used for scaling (it still defines the G1's proportions); a positive
orientation weight means the body also gets an orientation target, derived from the human's
joint positions (see :mod:`retarget.scaling`): the pelvis from the hip line, the torso from the
shoulder line and the spine -> neck direction; each foot from the human foot rotation calibrated
per clip (or, without rotations, from the ankle -> toe direction).

Points (G1 zero pose, pelvis frame at 0.793 m): ``pelvis`` is the midpoint between the two hip
joint centres (12 cm below the pelvis body origin), the hips are the hip-roll joint origins, the
knees the knee-joint origins, the ankles the ankle-roll joint origins (3.5 cm above the sole),
the toes the front sole spheres' midpoint, the shoulders the shoulder-roll origins, the elbows
the elbow origins, the wrists the wrist-yaw origins (where the rubber hand attaches), neck and
head points on the torso link.
"""

from __future__ import annotations

from dataclasses import dataclass

from mocap.types import CANONICAL_JOINTS

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class KeyPoint:
    """One human joint <-> one point on a G1 body."""

    human: str
    """Canonical human joint name."""
    body: str
    """Official G1 body name."""
    offset_b: Vec3
    """Point in the body frame (m)."""
    position_weight: float
    """IK cost of the position error (1/m); 0 = scaling reference only."""
    orientation_weight: float
    """IK cost of the body orientation error (1/rad); 0 = no orientation target."""


#: The mapping table (one entry per canonical joint, in CANONICAL_JOINTS order).
G1_MAPPING: tuple[KeyPoint, ...] = (
    KeyPoint("pelvis", "pelvis", (0.0, 0.0, -0.12), 2.0, 1.0),
    KeyPoint("left_hip", "left_hip_roll_link", (0.0, 0.0, 0.0), 1.0, 0.0),
    KeyPoint("right_hip", "right_hip_roll_link", (0.0, 0.0, 0.0), 1.0, 0.0),
    KeyPoint("left_knee", "left_knee_link", (0.0, 0.0, 0.0), 1.5, 0.0),
    KeyPoint("right_knee", "right_knee_link", (0.0, 0.0, 0.0), 1.5, 0.0),
    KeyPoint("left_ankle", "left_ankle_roll_link", (0.0, 0.0, 0.0), 3.0, 0.5),
    KeyPoint("right_ankle", "right_ankle_roll_link", (0.0, 0.0, 0.0), 3.0, 0.5),
    KeyPoint("left_toe", "left_ankle_roll_link", (0.12, 0.0, -0.03), 1.5, 0.0),
    KeyPoint("right_toe", "right_ankle_roll_link", (0.12, 0.0, -0.03), 1.5, 0.0),
    KeyPoint("spine", "pelvis", (0.0, 0.0, 0.0), 0.0, 0.0),
    KeyPoint("chest", "torso_link", (0.0, 0.0, 0.15), 0.0, 0.5),
    KeyPoint("neck", "torso_link", (0.0, 0.0, 0.30), 1.0, 0.0),
    KeyPoint("head", "torso_link", (0.0, 0.0, 0.40), 0.2, 0.0),
    KeyPoint("left_shoulder", "left_shoulder_roll_link", (0.0, 0.0, 0.0), 0.5, 0.0),
    KeyPoint("right_shoulder", "right_shoulder_roll_link", (0.0, 0.0, 0.0), 0.5, 0.0),
    KeyPoint("left_elbow", "left_elbow_link", (0.0, 0.0, 0.0), 0.7, 0.0),
    KeyPoint("right_elbow", "right_elbow_link", (0.0, 0.0, 0.0), 0.7, 0.0),
    KeyPoint("left_wrist", "left_wrist_yaw_link", (0.0, 0.0, 0.0), 0.7, 0.0),
    KeyPoint("right_wrist", "right_wrist_yaw_link", (0.0, 0.0, 0.0), 0.7, 0.0),
)

#: Segments whose length is scaled from the human (child joint, parent joint), along the chain
#: from the pelvis. Rigid groups (pelvis -> hips, neck -> shoulders) are placed with the G1's own
#: offsets in a frame estimated from the human instead (see :mod:`retarget.scaling`): pelvis ->
#: hips (pelvis frame), neck -> shoulders (torso frame), ankle -> toe (foot frame).
LIMB_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("left_knee", "left_hip"), ("right_knee", "right_hip"),
    ("left_ankle", "left_knee"), ("right_ankle", "right_knee"),
    ("spine", "pelvis"), ("chest", "pelvis"), ("neck", "pelvis"), ("head", "neck"),
    ("left_elbow", "left_shoulder"), ("right_elbow", "right_shoulder"),
    ("left_wrist", "left_elbow"), ("right_wrist", "right_elbow"),
)  # fmt: skip

#: Human joints that define the G1's stance feet: (heel-side point, toe point) per side.
FOOT_POINTS: dict[str, tuple[str, str]] = {
    "left": ("left_ankle", "left_toe"),
    "right": ("right_ankle", "right_toe"),
}


class MappingError(ValueError):
    """The mapping table does not fit the robot model (a body is missing, a joint unknown)."""


def mapping_index(name: str, mapping: tuple[KeyPoint, ...] = G1_MAPPING) -> int:
    """Index of the entry for human joint ``name``."""
    for i, kp in enumerate(mapping):
        if kp.human == name:
            return i
    raise MappingError(f"mapping has no entry for human joint {name!r}")


def check_mapping(model_body_names: set[str], mapping: tuple[KeyPoint, ...] = G1_MAPPING) -> None:
    """Raise :class:`MappingError` unless every canonical joint is mapped once to a model body."""
    humans = [kp.human for kp in mapping]
    if sorted(humans) != sorted(CANONICAL_JOINTS):
        missing = sorted(set(CANONICAL_JOINTS) - set(humans))
        extra = sorted(set(humans) - set(CANONICAL_JOINTS))
        dup = sorted({h for h in humans if humans.count(h) > 1})
        raise MappingError(f"mapping: missing {missing}, unknown {extra}, duplicated {dup}")
    for kp in mapping:
        if kp.body not in model_body_names:
            raise MappingError(f"mapping: body {kp.body!r} (for {kp.human}) is not in the model")
        if kp.position_weight < 0 or kp.orientation_weight < 0:
            raise MappingError(f"mapping: negative weight for {kp.human}")
