"""Real motion from the CMU Graphics Lab Motion Capture Database, retargeted to the synthetic subjects.

The shipped clip (:data:`CLIP_FILE`, licence and acknowledgement in ``data/README.md`` beside it) is CMU
subject 01, trial 01 (a playground sequence: forward jumps, turning round) as BVH, every 4th frame of the
120 Hz capture from frame 1 on (frame 0 of the conversion is the T-pose rest frame): 688 frames at 30 Hz.
Rebuild it from the full file with::

    python -m poselab.data.motion.cmu --source ../shared/data/cmu-mocap/01_01.bvh

Joint correspondences (:data:`CMU_MARKERS`; CMU rest pose: y up, facing +z, the character's left at +x):
pelvis is the midpoint of LeftUpLeg and RightUpLeg (the hip joints; CMU's ``Hips`` root sits about 100 mm
higher and further back); spine is Spine, thorax Neck1 (the base of the neck); neck_nose is Head and
head_top Head's end site, both moved 1 unit (about 56 mm) forward in the head's frame (the nose is in front
of the head-neck joint); the limbs' hip, knee, ankle, shoulder, elbow and wrist are {Right,Left}UpLeg, Leg,
Foot, Arm, ForeArm and Hand.

Bones then take the subject's lengths (:func:`poselab.data.motion.retarget.rescale_bones`), the root
trajectory is scaled by the subject's leg length over CMU's (thigh + shin), and the clip is centred on the
capture space with its feet on the floor (:func:`poselab.data.motion.retarget.place`).
"""

from __future__ import annotations

import argparse
import gzip
import io
from functools import cache
from pathlib import Path

import numpy as np

from poselab.data.errors import DataError
from poselab.data.motion.bvh import (
    BVH,
    BVHError,
    forward_kinematics,
    load_bvh,
    parse_bvh,
    read_text,
    subsample_text,
)
from poselab.data.motion.retarget import Y_UP_TO_Z_UP, Marker, marker_positions, place, rescale_bones
from poselab.data.synthetic.pose import ANKLE_HEIGHT, make_subject
from poselab.safe_io import atomic_write
from poselab.skeleton import JOINT_NAMES, joint_index

#: the shipped clip: CMU 01_01, every 4th frame (30 Hz) from frame 1
CLIP_FILE = Path(__file__).parent / "data" / "cmu_01_01_30hz.bvh.gz"
CLIP_NAME = "cmu_01_01"
SOURCE_STEP, SOURCE_START = 4, 1
#: Largest clip written (gzip bytes): 20x the shipped one (0.19 MB).
MAX_CLIP_BYTES = 4 * 2**20

_HEAD_FORWARD = (0.0, 0.0, 1.0)  # CMU units in the head's frame (rest pose faces +z)
_LIMBS = (("hip", "UpLeg"), ("knee", "Leg"), ("ankle", "Foot"), ("shoulder", "Arm"), ("elbow", "ForeArm"),
          ("wrist", "Hand"))
#: poselab joint name -> where it sits on the CMU skeleton (see the module docstring)
CMU_MARKERS: dict[str, Marker] = {
    "pelvis": Marker(("LeftUpLeg", "RightUpLeg")),
    "spine": Marker(("Spine",)),
    "thorax": Marker(("Neck1",)),
    "neck_nose": Marker(("Head",), _HEAD_FORWARD),
    "head_top": Marker(("Head_end",), _HEAD_FORWARD),
    **{f"{side[0].lower()}_{ours}": Marker((side + theirs,))
       for side in ("Right", "Left") for ours, theirs in _LIMBS},
}
_LEGS = [
    (joint_index(a), joint_index(b))
    for a, b in (("r_knee", "r_hip"), ("r_ankle", "r_knee"), ("l_knee", "l_hip"), ("l_ankle", "l_knee"))
]


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


def clip_bytes(source: str | Path) -> bytes:
    """The shipped clip's bytes built from ``source``, validated completely first: the whole source parses
    (every frame of its ``Frames:`` count, finite numbers, ASCII, at most ``MAX_BVH_BYTES``), the clip
    holds every :data:`SOURCE_STEP`-th frame of it and the CMU joints of :data:`CMU_MARKERS` with finite
    positions, and it compresses to at most :data:`MAX_CLIP_BYTES`. One :class:`DataError` per fault."""
    text = read_text(source)
    try:
        full = parse_bvh(text)
        clip = parse_bvh(subsample_text(text, SOURCE_STEP, SOURCE_START))
    except BVHError as err:
        raise BVHError(f"{source}: {err}") from None
    expected = len(range(SOURCE_START, full.num_frames, SOURCE_STEP))
    if clip.num_frames != expected or expected == 0:
        raise DataError(f"{source}: the clip would hold {clip.num_frames} frames, expected {expected} "
                        f"(every {SOURCE_STEP}th of the source's {full.num_frames} from frame "
                        f"{SOURCE_START})")
    try:
        joints = capture_joints(clip)
    except KeyError as err:
        raise DataError(f"{source}: not a CMU skeleton: {err.args[0]}") from None
    if not np.isfinite(joints).all():
        raise DataError(f"{source}: forward kinematics gives non-finite joint positions")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(subsample_text(text, SOURCE_STEP, SOURCE_START).encode("ascii"))
    data = buf.getvalue()
    if len(data) > MAX_CLIP_BYTES:
        raise DataError(f"{source}: the clip would take {len(data) / 2**20:.1f} MiB compressed, more than "
                        f"{MAX_CLIP_BYTES / 2**20:g} MiB (MAX_CLIP_BYTES; the shipped one takes 0.2 MiB)")
    return data


def write_clip(source: str | Path, out: str | Path = CLIP_FILE) -> Path:
    """Write the shipped clip: every :data:`SOURCE_STEP`-th frame of ``source`` from :data:`SOURCE_START`,
    gzip-compressed with a fixed timestamp (the same bytes on every run). Nothing is written unless the
    whole source is valid (:func:`clip_bytes`); the file is replaced atomically (a temporary file beside it,
    then a rename: :func:`poselab.safe_io.atomic_write`), so a failure leaves the old clip as it was."""
    return atomic_write(out, clip_bytes(source))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the shipped CMU clip from a full CMU BVH file.")
    parser.add_argument(
        "--source", required=True, help="the full 120 Hz BVH, e.g. ../shared/data/cmu-mocap/01_01.bvh"
    )
    parser.add_argument("--out", default=str(CLIP_FILE), help=f"output .bvh.gz (default {CLIP_FILE})")
    args = parser.parse_args(argv)
    try:
        out = write_clip(args.source, args.out)
    except DataError as err:
        parser.exit(2, f"error: {err}\n")
    except OSError as err:
        parser.exit(2, f"error: cannot write {args.out}: {err.strerror or err}\n")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, {clip_joints(str(out)).shape[0]} frames)")


if __name__ == "__main__":
    main()
