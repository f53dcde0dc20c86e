"""Human3.6M reader for the preprocessed multi-view layout of learnable-triangulation-pytorch.

Layout, labels and protocol options: docs/CONFIGURATION.md (Human3.6M). The labels ``.npy`` is a dict with
``subject_names``, ``camera_names``, ``action_names``, ``cameras`` (n_subjects, n_cameras) with ``R`` (3, 3),
``t`` (3, 1) mm (``t = -R @ T``), ``K`` (3, 3) px, ``dist`` (5,) OpenCV order, and ``table`` (N,) with
``subject_idx``, ``action_idx``, ``frame_idx`` (0-based; file ``img_%06d.jpg % (frame_idx + 1)``),
``keypoints`` (17, 3) world mm and ``bbox_by_camera_tlbr`` (n_cameras, 4) px; an all-zero box marks a
missing view (kept as a black crop with ``view_valid`` False while enough chosen views remain).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from poselab.data.errors import DataError, DataNotFoundError
from poselab.data.safe_npy import UnsafePickleError, load_npy_restricted
from poselab.geometry import crop_intrinsics, project, world_to_camera
from poselab.hashing import mix

# learnable-triangulation's 17 keypoints (MPII order + neck/nose) and poselab's, among the 32 mocap joints
_LT_FROM_H36M32 = (3, 2, 1, 6, 7, 8, 0, 12, 13, 15, 27, 26, 25, 17, 18, 19, 14)
_POSELAB_FROM_H36M32 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
#: ``ours = theirs[LT_TO_POSELAB]`` along the joint axis.
LT_TO_POSELAB: tuple[int, ...] = tuple(_LT_FROM_H36M32.index(j) for j in _POSELAB_FROM_H36M32)

LABEL_KEYS = ("subject_names", "camera_names", "action_names", "cameras", "table")
TABLE_FIELDS = {"subject_idx": (), "action_idx": (), "frame_idx": (), "keypoints": (17, 3),
                "bbox_by_camera_tlbr": ("C", 4)}
CAMERA_FIELDS = {"R": ((3, 3),), "t": ((3, 1), (3,)), "K": ((3, 3),), "dist": ((5,),)}
DEFAULT_LABELS = "extra/human36m-multiview-labels-GTbboxes.npy"
#: Sequences with broken ground truth (left out unless ``with_damaged_actions``).
DAMAGED = {("S9", "Greeting-2"), ("S9", "SittingDown-2"), ("S9", "Waiting-1")}
IMAGE_FOLDERS = {False: "imageSequence", True: "imageSequence-undistorted"}
#: Crop resampling (see :func:`crop_image`).
RESAMPLING = ("linear", "area")


def image_path(root: str | Path, subject: str, action: str, camera: str, frame_idx: int,
               undistorted: bool = False) -> Path:
    """Path of one frame (``frame_idx`` 0-based, files are 1-based)."""
    folder = Path(root) / "processed" / subject / action / IMAGE_FOLDERS[bool(undistorted)] / camera
    return folder / f"img_{frame_idx + 1:06d}.jpg"


def load_labels(path: str | Path) -> dict:
    """Read and validate a labels ``.npy``; raise one clear error naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Human3.6M labels file not found: {path} (expected the .npy written by "
                                "learnable-triangulation's generate-labels-npy-multiview.py)")
    try:
        labels = load_npy_restricted(path)
    except UnsafePickleError as err:
        raise DataError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
        raise DataError(f"{path}: cannot be read as a numpy-saved labels dict ({err})") from None
    if not isinstance(labels, dict):
        raise DataError(f"{path}: expected a dict saved with np.save, got {type(labels).__name__}")
    for key in LABEL_KEYS:
        if key not in labels:
            raise DataError(f"{path}: labels are missing field {key!r}; "
                             f"expected fields {', '.join(LABEL_KEYS)}")
    names = {k: [str(n) for n in labels[k]] for k in ("subject_names", "camera_names", "action_names")}
    n_sub, n_cam = len(names["subject_names"]), len(names["camera_names"])

    table = labels["table"]
    if not isinstance(table, np.ndarray) or table.dtype.names is None or table.ndim != 1:
        raise DataError(f"{path}: field 'table' must be a 1-D structured array with fields "
                         f"{', '.join(TABLE_FIELDS)}")
    for field, shape in TABLE_FIELDS.items():
        if field not in table.dtype.names:
            raise DataError(f"{path}: field 'table' is missing column {field!r}; "
                             f"expected {', '.join(TABLE_FIELDS)}")
        want = tuple(n_cam if d == "C" else d for d in shape)
        got = table.dtype[field].shape
        if got != want:
            raise DataError(f"{path}: table[{field!r}] has per-row shape {got}, expected {want}")
    for field, kind in (("subject_idx", "subject_names"), ("action_idx", "action_names")):
        col, bound = table[field], len(names[kind])
        if len(col) and (col.min() < 0 or col.max() >= bound):
            raise DataError(f"{path}: table[{field!r}] holds values outside 0..{bound - 1} "
                             f"(the length of {kind})")
    bad = ~np.isfinite(table["keypoints"]).all(axis=(1, 2))
    if bad.any():
        row = int(np.nonzero(bad)[0][0])
        subject = names["subject_names"][table["subject_idx"][row]]
        action = names["action_names"][table["action_idx"][row]]
        raise DataError(f"{path}: table['keypoints'] has NaN/inf values in {int(bad.sum())} row(s), "
                         f"first row {row} ({subject}, {action}, frame {table['frame_idx'][row]}); "
                         "expected finite world coordinates in mm")

    cams = labels["cameras"]
    if not isinstance(cams, np.ndarray) or cams.dtype.names is None or cams.shape != (n_sub, n_cam):
        raise DataError(f"{path}: field 'cameras' must be a structured array of shape "
                         f"(n_subjects, n_cameras) = ({n_sub}, {n_cam}) with fields R, t, K, dist; got "
                         f"{getattr(cams, 'shape', type(cams).__name__)}")
    for field, shapes in CAMERA_FIELDS.items():
        if field not in cams.dtype.names:
            raise DataError(f"{path}: field 'cameras' is missing {field!r}; expected R, t, K, dist")
        if cams.dtype[field].shape not in shapes:
            raise DataError(f"{path}: cameras[{field!r}] has shape {cams.dtype[field].shape}, expected "
                             f"{' or '.join(str(s) for s in shapes)}")
        if not np.isfinite(cams[field]).all():
            raise DataError(f"{path}: cameras[{field!r}] has NaN/inf values")
    return {**labels, **names, "table": table, "cameras": cams}


def _resolve_views(views: Sequence[int | str] | None, camera_names: list[str], where: str) -> list[int]:
    if views is None:
        return list(range(len(camera_names)))
    out = []
    for v in list(views):
        if isinstance(v, str) and v in camera_names:
            out.append(camera_names.index(v))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < len(camera_names):
            out.append(int(v))
        else:
            raise DataError(f"unknown camera {v!r} in views; {where} has cameras "
                             f"{', '.join(f'{i}={n}' for i, n in enumerate(camera_names))}")
    if not out:
        raise DataError("views must name at least one camera")
    return out


def crop_image(image: np.ndarray, bbox: np.ndarray, size: int, resample: str = "linear") -> np.ndarray:
    """Crop box ``(x0, y0, x1, y1)`` of an (H, W, 3) image resized to (size, size); black outside.

    Mapping of :func:`poselab.geometry.crop_intrinsics`. ``resample`` "linear": one bilinear warp of the exact
    box; "area": learnable-triangulation's integer box (black padding) shrunk by ``cv2.resize(INTER_AREA)``.
    """
    import cv2

    if resample == "area":
        x0, y0, x1, y1 = (int(round(float(v))) for v in bbox)
        h, w = image.shape[:2]
        patch = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], image.dtype)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
        return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    if resample != "linear":
        raise DataError(f"resample must be one of {', '.join(RESAMPLING)}, got {resample!r}")
    x0, y0, x1, y1 = (float(v) for v in bbox)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    M = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]])
    return cv2.warpAffine(image, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


class Human36M(Dataset):
    """Human3.6M multi-view samples (poselab.data.sample contract) from the preprocessed layout.

    ``root`` holds ``processed/``; ``labels`` is absolute or relative to it; ``views`` are camera indices or
    names (default all); ``stride`` keeps every n-th frame; ``random_view`` returns one present view chosen
    from (seed, index); ``undistorted`` reads ``imageSequence-undistorted`` with zero distortion;
    ``resample``: one of :data:`RESAMPLING`.
    """

    def __init__(
        self,
        root: str | Path,
        labels: str | Path = DEFAULT_LABELS,
        subjects: Sequence[str] = ("S1", "S5", "S6", "S7", "S8"),
        image_size: int = 256,
        views: Sequence[int | str] | None = None,
        stride: int = 1,
        random_view: bool = False,
        seed: int = 0,
        actions: Sequence[str] | None = None,
        with_damaged_actions: bool = False,
        undistorted: bool = False,
        resample: str = "linear",
    ) -> None:
        from poselab.data.synthetic.dataset import check_image_size

        self.image_size = check_image_size(image_size)
        if root is None or not Path(root).is_dir():
            raise DataNotFoundError(f"Human3.6M root folder not found: {root} (expected a folder holding "
                                    "processed/S*/<action>/imageSequence/<camera>/img_%06d.jpg)")
        self.root = Path(root)
        self.labels_path = labels_path = self.root / labels  # an absolute ``labels`` stays as it is
        lab = load_labels(labels_path)
        if int(stride) <= 0:
            raise DataError(f"stride must be a positive integer, got {stride!r}")
        if resample not in RESAMPLING:
            raise DataError(f"resample must be one of {', '.join(RESAMPLING)}, got {resample!r}")
        self.undistorted = bool(undistorted)
        self.resample = resample
        self.subject_names, self.camera_names = lab["subject_names"], lab["camera_names"]
        self.action_names = lab["action_names"]
        self.views = _resolve_views(views, self.camera_names, str(labels_path))
        subjects = [subjects] if isinstance(subjects, str) else list(subjects)
        for kind, given, known in (("subject", subjects, self.subject_names),
                                   ("action", actions or (), self.action_names)):
            for name in given:
                if name not in known:
                    raise DataError(f"unknown {kind} {name!r}; {labels_path} has {', '.join(known)}")
        table = lab["table"]
        mask = np.isin(table["subject_idx"], [self.subject_names.index(s) for s in subjects])
        if actions is not None:
            mask &= np.isin(table["action_idx"], [self.action_names.index(a) for a in actions])
        if not with_damaged_actions:
            for subject, action in DAMAGED:
                if subject in self.subject_names and action in self.action_names:
                    mask &= ~((table["subject_idx"] == self.subject_names.index(subject))
                              & (table["action_idx"] == self.action_names.index(action)))
        boxes = table["bbox_by_camera_tlbr"][:, self.views]  # (N, V, 4)
        present = ((boxes[..., 2] - boxes[..., 0]) > 0) & ((boxes[..., 3] - boxes[..., 1]) > 0)  # (N, V)
        need = 1 if random_view or len(self.views) == 1 else 2  # views left to triangulate / to pick from
        rows = np.nonzero(mask & (present.sum(axis=1) >= need))[0][:: int(stride)]
        self.table = table[rows]
        self.present = present[rows]
        cams = lab["cameras"]
        self.R = torch.from_numpy(np.ascontiguousarray(cams["R"], dtype=np.float32))  # (S, C, 3, 3)
        self.t = torch.from_numpy(np.ascontiguousarray(cams["t"], dtype=np.float32).reshape(*cams.shape, 3))
        self.K = torch.from_numpy(np.ascontiguousarray(cams["K"], dtype=np.float32))
        self.dist = torch.from_numpy(np.ascontiguousarray(cams["dist"], dtype=np.float32))
        self.random_view = bool(random_view)
        self.seed = int(seed)
        triples = {(int(row["subject_idx"]), int(row["action_idx"]), c)
                   for row, here in zip(self.table, self.present) for c, p in zip(self.views, here) if p}
        for s_idx, a_idx, c in sorted(triples):
            folder = image_path(self.root, self.subject_names[s_idx], self.action_names[a_idx],
                                self.camera_names[c], 0, self.undistorted).parent
            if not folder.is_dir():
                raise DataNotFoundError(f"Human3.6M image folder not found: {folder} (expected processed/"
                                        f"<subject>/<action>/{IMAGE_FOLDERS[self.undistorted]}/<camera>/"
                                        "img_%06d.jpg)")

    def __len__(self) -> int:
        return len(self.table)

    def views_of(self, index: int) -> list[int]:
        """Camera indices of sample ``index``: the chosen views, or one present view from (seed, index)."""
        if not self.random_view:
            return self.views
        here = [c for c, p in zip(self.views, self.present[index]) if p]
        return [here[mix(self.seed, index, 17) % len(here)]]

    def read_image(self, path: Path) -> np.ndarray:
        """RGB uint8 (H, W, 3); raises naming the path when missing or unreadable."""
        import cv2

        if not path.is_file():
            raise DataNotFoundError(f"Human3.6M image not found: {path}")
        image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
        if image is None or image.size == 0:
            raise DataError(f"Human3.6M image is corrupt or not a readable JPEG: {path}")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def crop_box(self, tlbr: np.ndarray, K: torch.Tensor, present: bool) -> np.ndarray:
        """Crop box ``(x0, y0, x1, y1)`` of one view: the label box (top, left, bottom, right) squared about
        its centre; for "area" an integer square (corner rounded half up, side rounded, as learnable-
        triangulation's labels). A missing view gets the whole frame (from the principal point) so that its
        crop K stays finite."""
        if not present:
            cx, cy = float(K[0, 2]), float(K[1, 2])
            tlbr = np.array([0.0, 0.0, 2 * cy, 2 * cx])
        top, left, bottom, right = (float(v) for v in tlbr)
        cx, cy = 0.5 * (left + right), 0.5 * (top + bottom)
        half = 0.5 * max(right - left, bottom - top)
        box = np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)
        if self.resample != "area":
            return box
        x0, y0 = np.floor(box[:2].astype(np.float64) + 0.5)
        side = np.floor(float(box[2] - box[0]) + 0.5)
        return np.array([x0, y0, x0 + side, y0 + side], dtype=np.float32)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        row = self.table[index]
        s_idx, a_idx, frame = int(row["subject_idx"]), int(row["action_idx"]), int(row["frame_idx"])
        subject, action = self.subject_names[s_idx], self.action_names[a_idx]
        views = self.views_of(index)
        idx = torch.as_tensor(views, dtype=torch.long)
        R, t, K, dist = self.R[s_idx, idx], self.t[s_idx, idx], self.K[s_idx, idx], self.dist[s_idx, idx]
        if self.undistorted:
            dist = torch.zeros_like(dist)
        world = torch.from_numpy(np.asarray(row["keypoints"], dtype=np.float32)[list(LT_TO_POSELAB)])
        size = self.image_size
        present = self.present[index][[self.views.index(c) for c in views]]
        bbox = torch.from_numpy(np.stack([self.crop_box(row["bbox_by_camera_tlbr"][c], K[v], here)
                                          for v, (c, here) in enumerate(zip(views, present))]))
        images = np.zeros((len(views), 3, size, size), np.uint8)
        for v, c in enumerate(views):
            if present[v]:
                img = self.read_image(image_path(self.root, subject, action, self.camera_names[c], frame,
                                                 self.undistorted))
                images[v] = crop_image(img, bbox[v].numpy(), size, self.resample).transpose(2, 0, 1)
        K_crop = crop_intrinsics(K, bbox, (size, size))
        cam = world_to_camera(world, R, t)
        return {
            "images": torch.from_numpy(images),
            "K": K_crop,
            "R": R,
            "t": t,
            "dist": dist,
            "joints_world": world,
            "joints_cam": cam,
            "joints_2d": project(cam, K_crop, dist),
            "bbox": bbox,
            "camera_ids": idx,
            "view_valid": torch.from_numpy(present.copy()),
            "subject": subject,
            "action": action,
            "frame": frame,
            "index": index,
        }
