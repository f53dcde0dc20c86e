"""``poselab preview-data``: a PNG grid of a few samples (rows) x their views (columns), skeletons drawn over.

Right limbs orange, left limbs blue, spine and head white; each tile is labelled with subject, action, frame
and camera.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from poselab.skeleton import BONES, LEFT_JOINTS, RIGHT_JOINTS
from poselab.style import LIMB_RGB, put_label


def _colour(joint: int) -> tuple:
    side = "right" if joint in RIGHT_JOINTS else "left" if joint in LEFT_JOINTS else "centre"
    return LIMB_RGB[side]


def draw_skeleton(image: np.ndarray, joints_2d: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Draw a 17-joint skeleton (crop pixels (17, 2)) on an RGB uint8 (H, W, 3) image, in place."""
    import cv2

    pts = (np.asarray(joints_2d, dtype=np.float64) + 0.5) * scale - 0.5  # pixel centres stay at integers
    fixed = [tuple(int(round(v * 16)) for v in p[:2]) for p in pts]  # 4 fractional bits (shift 4)
    thick = max(1, int(round(image.shape[0] / 160)))
    for child, parent in BONES:
        cv2.line(image, fixed[child], fixed[parent], _colour(child), thick, cv2.LINE_AA, 4)
    for j, p in enumerate(fixed):
        cv2.circle(image, p, (thick + 1) * 12, _colour(j), -1, cv2.LINE_AA, 4)
    return image


def preview_grid(samples: list[dict], tile: int = 256) -> np.ndarray:
    """RGB uint8 grid (rows = samples, columns = views) of crops resized to ``tile`` with skeletons."""
    import cv2

    rows = []
    for s in samples:
        images, joints = s["images"].numpy(), s["joints_2d"].numpy()
        tiles = []
        for v in range(images.shape[0]):
            img = np.ascontiguousarray(images[v].transpose(1, 2, 0))
            scale = tile / img.shape[0]
            interp = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            img = cv2.resize(img, (tile, tile), interpolation=interp)
            img = cv2.addWeighted(img, 0.4, draw_skeleton(img.copy(), joints[v], scale), 0.6, 0.0)
            label = f"{s['subject']} {s['action']} f{s['frame']} cam{int(s['camera_ids'][v]) + 1}"
            put_label(img, label, (2, 2))  # one pass on a filled box: reads the same with any OpenCV
            tiles.append(np.pad(img, ((2, 2), (2, 2), (0, 0))))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


#: action -> (joint, +1 highest / -1 lowest): the frame shown is the one where that joint is most extreme
_SHOWCASE = {"crouching": (10, -1), "reaching": (16, 1), "sitting": (10, -1), "waving": (13, 1),
             "bending": (10, -1), "walking": (6, 1), "turning": (3, 1)}


def synthetic_showcase(dataset, n: int) -> list[dict]:
    """``n`` samples of a SyntheticMultiView: varied actions, each at its most telling frame (motion
    capture: frames spread evenly over the clip)."""
    if getattr(dataset, "motion", "procedural") != "procedural":
        frames = [(2 * i + 1) * dataset.clip_frames // (2 * n) for i in range(n)]
        return [dataset.render(dataset.subjects[i % len(dataset.subjects)], dataset.actions[0], frame,
                               dataset.views, index=i) for i, frame in enumerate(frames)]
    actions = [a for a in _SHOWCASE if a in dataset.actions] or list(dataset.actions)
    out = []
    for i in range(n):
        subject, action = dataset.subjects[i % len(dataset.subjects)], actions[i % len(actions)]
        joint, sign = _SHOWCASE.get(action, (10, 1))
        heights = {f: sign * dataset.pose(subject, action, f)[joint, 2] for f in range(0, 240, 6)}
        frame = max(heights, key=heights.__getitem__)
        out.append(dataset.render(subject, action, frame, dataset.views, index=i))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="poselab preview-data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--data", default=None, help="data config (`data:` section), default synthetic")
    parser.add_argument("--samples", type=int, default=3, help="number of samples (rows)")
    parser.add_argument("--image-size", type=int, default=None, help="crop size (default: the config's)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--tile", type=int, default=224, help="tile side in the PNG (px)")
    args = parser.parse_args(argv)
    try:
        from poselab.data.config import data_kwargs
        from poselab.data.datamodule import PoseDataModule

        if args.samples <= 0:
            raise ValueError(f"--samples must be positive, got {args.samples}")
        kwargs = data_kwargs([args.data]) if args.data is not None else {}
        kwargs.update(train_random_view=False, num_workers=0)
        if args.image_size is not None:
            kwargs["image_size"] = args.image_size
        dataset = PoseDataModule(**kwargs).make_dataset(args.split)
        n = len(dataset)
        if n == 0:
            raise ValueError(f"the {args.split} split is empty")
        if hasattr(dataset, "render"):  # synthetic: telling frames of varied actions
            samples = synthetic_showcase(dataset, args.samples)
        else:  # spread the rows over the split (a step coprime with the subject/action cycle varies both)
            step = 31 if n > 31 else 1
            samples = [dataset[(i * step) % n] for i in range(min(args.samples, n))]
        grid = preview_grid(samples, tile=args.tile)
    except (OSError, ValueError) as err:
        print(f"poselab preview-data: error: {err}", file=sys.stderr)
        return 2
    from poselab.safe_io import save_png

    out = Path(args.out)
    try:
        save_png(grid, out)
    except OSError as err:
        print(f"poselab preview-data: error: could not write {out} ({err})", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(samples)} samples x {grid.shape[1] // (args.tile + 4)} views)")
    return 0
