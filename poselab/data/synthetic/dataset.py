"""``SyntheticMultiView``: the embedded calibrated 4-camera dataset (samples follow poselab.data.sample).

Index ``i`` is subject ``subjects[i % S]``, action ``actions[(i // S) % A]``, frame ``frame_offset +
(i // (S * A)) * frame_stride``; every pixel is a pure function of (seed, subject, action, frame, image size).
Motion ``cmu``: the shipped clip (:mod:`poselab.data.motion.cmu`) turned by a yaw from (seed, subject); its
one action is the clip's name and frames wrap round at its end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from poselab.data.errors import DataError
from poselab.data.synthetic.pose import ACTIONS, SUBJECTS, make_subject, pose_world
from poselab.data.synthetic.render import extra_points, lighting, part_colours, render_view
from poselab.data.synthetic.rig import h36m_like_rig
from poselab.geometry import crop_intrinsics, project, world_to_camera
from poselab.hashing import mix
from poselab.skeleton import NUM_JOINTS

#: Crop margin around the projected joints: a fraction of the box side, plus the body's half-width (mm).
BOX_MARGIN = 0.08
BODY_HALF_WIDTH = 160.0
MOTIONS = ("procedural", "cmu")


def golden_stride(n: int) -> int:
    """The stride coprime with ``n`` nearest to ``n / golden ratio``: ``(k * stride) % n`` visits every one
    of ``n`` frames once per ``n`` steps, and any run of consecutive k spreads evenly over them."""
    target = n * (np.sqrt(5) - 1) / 2
    return min((s for s in range(1, max(n, 2)) if np.gcd(s, n) == 1), key=lambda s: (abs(s - target), s))


def check_image_size(image_size: int) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size <= 0:
        raise DataError(f"image_size must be a positive integer (pixels), got {image_size!r}")
    return int(image_size)


def check_views(views: Sequence[int] | None, n_cameras: int, names: Sequence[str]) -> list[int]:
    """Camera indices (default all); raises naming the bad entry."""
    if views is None:
        return list(range(n_cameras))
    views = list(views)
    if not views:
        raise DataError("views must name at least one camera index")
    for v in views:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < n_cameras:
            raise DataError(f"unknown camera index {v!r} in views; expected integers in 0..{n_cameras - 1} "
                             f"({', '.join(names)})")
    return [int(v) for v in views]


def square_boxes(uv: torch.Tensor, depth: torch.Tensor, focal: torch.Tensor) -> torch.Tensor:
    """Square crop boxes (V, 4) ``(x0, y0, x1, y1)`` px around joints uv (V, J, 2) with a body margin."""
    lo, hi = uv.amin(-2), uv.amax(-2)
    centre = 0.5 * (lo + hi)
    pad = focal * BODY_HALF_WIDTH / depth.mean(-1)  # (V,)
    side = (hi - lo).amax(-1) + 2 * pad
    side = side * (1 + 2 * BOX_MARGIN)
    half = 0.5 * side.unsqueeze(-1)
    return torch.cat([centre - half, centre + half], dim=-1)


class SyntheticMultiView(Dataset):
    """Synthetic calibrated multi-view human dataset shaped like Human3.6M.

    ``random_view``: one view per sample chosen from (seed, index); ``actions``: procedural motion only
    (default all); ``frame_stride`` defaults to 7 (procedural) or :func:`golden_stride` of the clip (cmu).
    """

    def __init__(
        self,
        subjects: Sequence[str] = ("S1", "S5", "S6", "S7", "S8"),
        size: int = 1000,
        image_size: int = 256,
        views: Sequence[int] | None = None,
        random_view: bool = False,
        seed: int = 0,
        actions: Sequence[str] | None = None,
        frame_stride: int | None = None,
        frame_offset: int = 0,
        motion: str = "procedural",
    ) -> None:
        self.image_size = check_image_size(image_size)
        if motion not in MOTIONS:
            raise DataError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
        self.motion = motion
        self.subjects = [subjects] if isinstance(subjects, str) else list(subjects)
        if not self.subjects:
            raise DataError("subjects must name at least one subject")
        for s in self.subjects:
            if s not in SUBJECTS:
                raise DataError(f"unknown subject {s!r}; expected one of {', '.join(SUBJECTS)}")
        if motion == "cmu":
            if actions is not None:
                raise DataError("actions apply to procedural motion only; leave them unset with motion 'cmu'")
            from poselab.data.motion.cmu import CLIP_NAME, clip_joints

            self.actions, self.clip_frames = [CLIP_NAME], int(clip_joints().shape[0])
        else:
            self.actions, self.clip_frames = list(ACTIONS if actions is None else actions), 0
        for a in self.actions:
            if a not in ACTIONS and motion == "procedural":
                raise DataError(f"unknown action {a!r}; expected one of {', '.join(ACTIONS)}")
        if int(size) < 0:
            raise DataError(f"size must be >= 0, got {size!r}")
        self.size = int(size)
        self.rig = h36m_like_rig()
        self.camera_names = self.rig.names
        self.views = check_views(views, len(self.rig), self.rig.names)
        self.random_view = bool(random_view)
        self.seed = int(seed)
        default_stride = 7 if motion == "procedural" else golden_stride(self.clip_frames)
        self.frame_stride = int(default_stride if frame_stride is None else frame_stride)
        self.frame_offset = int(frame_offset)
        self._R, self._t, self._K, self._dist = map(torch.from_numpy, (self.rig.R, self.rig.t, self.rig.K,
                                                                      self.rig.dist))

    def __len__(self) -> int:
        return self.size

    def key(self, index: int) -> tuple[str, str, int]:
        """(subject, action, frame) of a dataset index."""
        n_s, n_a = len(self.subjects), len(self.actions)
        frame = self.frame_offset + (index // (n_s * n_a)) * self.frame_stride
        if self.motion == "cmu":
            frame %= self.clip_frames
        return self.subjects[index % n_s], self.actions[(index // n_s) % n_a], frame

    def pose(self, subject: str, action: str, frame: int) -> np.ndarray:
        """World joints (17, 3) float32 mm of (subject, action, frame) under this dataset's motion."""
        if self.motion == "procedural":
            return pose_world(self.seed, subject, action, frame)
        from poselab.data.motion.cmu import subject_clip
        from poselab.data.motion.retarget import yaw_about_origin

        yaw = 2 * np.pi * (mix(self.seed, SUBJECTS.index(subject), 23) % 2**32) / 2**32
        return yaw_about_origin(subject_clip(subject)[frame], yaw).astype(np.float32)

    def views_of(self, index: int) -> list[int]:
        """Camera indices returned for ``index`` (one of ``views`` when ``random_view``)."""
        if not self.random_view:
            return self.views
        return [self.views[mix(self.seed, index, 17) % len(self.views)]]

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for a dataset of {self.size} samples")
        subject, action, frame = self.key(index)
        return self.render(subject, action, frame, self.views_of(index), index=index)

    def render(self, subject: str, action: str, frame: int, views: Sequence[int], index: int = 0) -> dict:
        """The sample of (subject, action, frame) seen by cameras ``views`` (see poselab.data.sample)."""
        size = self.image_size
        joints = self.pose(subject, action, frame)
        world = torch.from_numpy(np.concatenate([joints, extra_points(joints)]))  # + render-only points
        idx = torch.as_tensor(list(views), dtype=torch.long)
        R, t, K, dist = self._R[idx], self._t[idx], self._K[idx], self._dist[idx]
        cam_all = world_to_camera(world, R, t)  # (V, J + extra, 3)
        full = project(cam_all[:, :NUM_JOINTS], K, dist)
        bbox = square_boxes(full, cam_all[:, :NUM_JOINTS, 2], K[:, 0, 0])
        K_crop = crop_intrinsics(K, bbox, (size, size))
        uv_all = project(cam_all, K_crop, dist)
        subj = make_subject(subject)
        colours = part_colours(subj)
        action_code = ACTIONS.index(action) if self.motion == "procedural" else len(ACTIONS)  # the clip's
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, SUBJECTS.index(subject), action_code,
                                     int(frame) & 0xFFFFFFFF, 5])
        # drawn for every rig camera, so a view's pixels never depend on which other views are rendered
        light = lighting(rng, len(self.rig))
        uv_np, z_np, f_np = uv_all.numpy(), cam_all[..., 2].numpy(), K_crop[:, 0, 0].numpy()
        images = np.stack([render_view(uv_np[v], z_np[v], float(f_np[v]), size, colours, subj.girth,
                                       light[cam_id], self.seed) for v, cam_id in enumerate(idx.tolist())])
        return {
            "images": torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))),
            "K": K_crop,
            "R": R.clone(),
            "t": t.clone(),
            "dist": dist.clone(),
            "joints_world": world[:NUM_JOINTS].clone(),
            "joints_cam": cam_all[:, :NUM_JOINTS].contiguous(),
            "joints_2d": uv_all[:, :NUM_JOINTS].contiguous(),
            "bbox": bbox,
            "camera_ids": idx,
            "subject": subject,
            "action": action,
            "frame": int(frame),
            "index": int(index),
        }
