"""The 17-joint Human3.6M skeleton (VideoPose3D / common 17-joint order, pelvis first).

All poses in poselab use this joint order: tensors shaped (..., 17, 3) in millimetres or
(..., 17, 2) in pixels.
"""

from __future__ import annotations

NUM_JOINTS = 17

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",  # 0  root
    "r_hip",  # 1
    "r_knee",  # 2
    "r_ankle",  # 3
    "l_hip",  # 4
    "l_knee",  # 5
    "l_ankle",  # 6
    "spine",  # 7
    "thorax",  # 8  base of the neck
    "neck_nose",  # 9
    "head_top",  # 10
    "l_shoulder",  # 11
    "l_elbow",  # 12
    "l_wrist",  # 13
    "r_shoulder",  # 14
    "r_elbow",  # 15
    "r_wrist",  # 16
)

#: Parent of each joint (-1 for the root).
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

PELVIS = 0
NECK = 8  # the neck base (thorax) — JDR head size is |head_top - neck|
HEAD_TOP = 10

#: (child, parent) pairs, one per bone (16 bones).
BONES: tuple[tuple[int, int], ...] = tuple((j, p) for j, p in enumerate(PARENTS) if p >= 0)

#: Left/right joint pairs (left, right), used for flip augmentation and symmetric drawing.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16))

LEFT_JOINTS: tuple[int, ...] = tuple(left for left, _ in LEFT_RIGHT_PAIRS)
RIGHT_JOINTS: tuple[int, ...] = tuple(right for _, right in LEFT_RIGHT_PAIRS)

#: Index permutation that swaps left and right joints.
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    {**{a: b for a, b in LEFT_RIGHT_PAIRS}, **{b: a for a, b in LEFT_RIGHT_PAIRS}}.get(j, j)
    for j in range(NUM_JOINTS)
)


def joint_index(name: str) -> int:
    """Index of a joint by name; raises ``KeyError`` listing valid names."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown joint {name!r}; expected one of {', '.join(JOINT_NAMES)}") from None
