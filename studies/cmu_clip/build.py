"""Build the shipped CMU clip (``poselab/data/motion/data/cmu_01_01_30hz.bvh.gz``) from the full CMU BVH.

    python -m studies.cmu_clip.build --source ../shared/data/cmu-mocap/01_01.bvh
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import numpy as np

from poselab.data.errors import DataError
from poselab.data.motion.bvh import BVHError, parse_bvh, read_text
from poselab.data.motion.cmu import CLIP_FILE, capture_joints, clip_joints
from poselab.safe_io import atomic_write

SOURCE_STEP, SOURCE_START = 4, 1
#: Largest clip written (gzip bytes): 20x the shipped one (0.19 MB).
MAX_CLIP_BYTES = 4 * 2**20


def subsample_text(text: str, step: int, start: int = 0) -> str:
    """The BVH text keeping frames ``start, start + step, ...`` (lines copied verbatim, Frame Time x step)."""
    if step < 1 or start < 0:
        raise ValueError(f"step must be >= 1 and start >= 0, got step={step}, start={start}")
    head, sep, rest = text.partition("MOTION")
    if not sep:
        raise BVHError("BVH: no MOTION section")
    lines = [ln for ln in rest.splitlines() if ln.strip()]
    if len(lines) < 2 or not lines[0].startswith("Frames:") or not lines[1].startswith("Frame Time:"):
        raise BVHError("BVH: expected 'Frames:' and 'Frame Time:' lines after MOTION")
    frame_time = float(lines[1].split(":", 1)[1])
    kept = lines[2:][start::step]
    return "".join(
        [
            head,
            "MOTION\n",
            f"Frames: {len(kept)}\n",
            f"Frame Time: {frame_time * step:.7g}\n",
            *(ln.rstrip() + "\n" for ln in kept),
        ]
    )


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
