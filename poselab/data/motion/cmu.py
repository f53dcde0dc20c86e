"""Real motion from the CMU Graphics Lab Motion Capture Database, retargeted to the synthetic subjects.

The shipped clip (:data:`CLIP_FILE`, licence in ``data/README.md`` beside it; rebuilt by ``studies/cmu_clip``)
is CMU 01_01 (forward jumps, turning round), every 4th frame of the 120 Hz capture from frame 1 on (frame 0
is the T-pose): 688 frames at 30 Hz. The root trajectory is scaled by the subject's leg length over CMU's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from poselab.data.errors import DataError
from poselab.data.motion.bvh import BVH, forward_kinematics, load_bvh
from poselab.data.motion.retarget import Y_UP_TO_Z_UP, Marker, marker_positions, place, rescale_bones
from poselab.data.synthetic.pose import ANKLE_HEIGHT, make_subject
from poselab.skeleton import BONES, JOINT_NAMES

CLIP_FILE = Path(__file__).parent / "data" / "cmu_01_01_30hz.bvh.gz"
CLIP_NAME = "cmu_01_01"

_HEAD_FORWARD = (0.0, 0.0, 1.0)  # CMU units in the head's frame (rest pose faces +z)
_LIMBS = (("hip", "UpLeg"), ("knee", "Leg"), ("ankle", "Foot"), ("shoulder", "Arm"), ("elbow", "ForeArm"),
          ("wrist", "Hand"))
#: poselab joint name -> where it sits on the CMU skeleton (rest pose: y up, facing +z). The pelvis is the
#: midpoint of the hip joints (CMU's ``Hips`` sits ~100 mm higher); the nose and head top are moved 1 unit
#: (~56 mm) forward in the head's frame.
CMU_MARKERS: dict[str, Marker] = {
    "pelvis": Marker(("LeftUpLeg", "RightUpLeg")),
    "spine": Marker(("Spine",)),
    "thorax": Marker(("Neck1",)),
    "neck_nose": Marker(("Head",), _HEAD_FORWARD),
    "head_top": Marker(("Head_end",), _HEAD_FORWARD),
    **{f"{side[0].lower()}_{ours}": Marker((side + theirs,))
       for side in ("Right", "Left") for ours, theirs in _LIMBS},
}
_LEGS = [(c, p) for c, p in BONES if JOINT_NAMES[c].endswith(("knee", "ankle"))]  # thighs and shins


def capture_joints(bvh: BVH) -> np.ndarray:
    """The 17 poselab joints (F, 17, 3) of a CMU BVH, in z-up axes and CMU length units."""
    positions, rotations = forward_kinematics(bvh)
    markers = [CMU_MARKERS[name] for name in JOINT_NAMES]
    return marker_positions(bvh.names, positions, rotations, markers) @ Y_UP_TO_Z_UP.T


@cache
def clip_joints(path: str = str(CLIP_FILE)) -> np.ndarray:
    """:func:`capture_joints` of a CMU BVH file (default: the shipped clip), read once per process."""
    joints = capture_joints(load_bvh(path))
    if joints.shape[0] == 0:
        raise DataError(f"{path}: the BVH holds no frames")
    joints.setflags(write=False)
    return joints


def leg_length(joints: np.ndarray) -> float:
    """Mean thigh + shin length over both legs and all frames of joints (F, 17, 3)."""
    diff = np.stack([joints[:, c] - joints[:, p] for c, p in _LEGS], axis=1)
    return float(np.linalg.norm(diff, axis=-1).mean() * 2)


@cache
def subject_clip(subject: str, path: str = str(CLIP_FILE)) -> np.ndarray:
    """The clip retargeted to ``subject`` (e.g. "S9"): world joints (F, 17, 3) mm, z up, floor z = 0,
    its bones exactly the subject's (:meth:`Subject.bone_lengths`), centred on the capture space."""
    body = make_subject(subject)
    capture = clip_joints(path)
    scale = (body.thigh + body.shin) / leg_length(capture)
    world = place(rescale_bones(capture, body.bone_lengths()), capture, scale, ANKLE_HEIGHT)
    world.setflags(write=False)
    return world
