"""A fixed 4-camera rig shaped like Human3.6M's (sensor 1000 x 1000 px, focal ~1145 px, H36M-like distortion).

World frame: z up, mm, origin at the centre of the capture floor; OpenCV cameras, ``X_cam = R @ X_world + t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAMERA_NAMES = ("cam1", "cam2", "cam3", "cam4")

# Per camera: azimuth (deg, around z), distance from the centre (mm), height (mm),
# focal lengths (fx, fy) px, principal point (cx, cy) px, distortion (k1, k2, p1, p2, k3).
_SPEC = (
    (45.0, 5400.0, 1550.0, (1145.0, 1144.1), (512.5, 515.5), (-0.207, 0.247, -0.0014, -0.0009, -0.0031)),
    (135.0, 4800.0, 1450.0, (1149.7, 1147.6), (508.8, 508.1), (-0.194, 0.240, -0.0016, -0.0020, 0.0068)),
    (225.0, 5900.0, 1650.0, (1149.1, 1148.8), (519.8, 501.4), (-0.208, 0.255, 0.0003, 0.0008, -0.0025)),
    (315.0, 5100.0, 1500.0, (1145.5, 1144.8), (514.9, 501.9), (-0.198, 0.218, -0.0018, -0.0005, -0.0013)),
)
#: The point all cameras look at (mm): the centre of the capture space at mid-body height.
LOOK_AT = (0.0, 0.0, 900.0)


@dataclass(frozen=True)
class Rig:
    """Calibrated cameras: R (C, 3, 3), t (C, 3) mm, K (C, 3, 3) px, dist (C, 5), centres (C, 3) mm."""

    R: np.ndarray
    t: np.ndarray
    K: np.ndarray
    dist: np.ndarray
    names: tuple[str, ...]

    @property
    def centres(self) -> np.ndarray:
        """Camera centres in world coordinates (C, 3) mm: C = -R^T t."""
        return -np.einsum("cji,cj->ci", self.R, self.t)

    def __len__(self) -> int:
        return len(self.names)


def look_at(centre: np.ndarray, target: np.ndarray, up: tuple = (0.0, 0.0, 1.0)) -> np.ndarray:
    """World->camera rotation (3, 3) of an OpenCV camera at ``centre`` looking at ``target`` (z up)."""
    forward = target - centre
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, dtype=float))
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def h36m_like_rig() -> Rig:
    """The fixed synthetic rig (identical for every subject, like one Human3.6M session)."""
    cams = []  # (R, t, K, dist) per camera
    for azimuth, distance, height, (fx, fy), (cx, cy), dist in _SPEC:
        a = np.deg2rad(azimuth)
        centre = np.array([distance * np.cos(a), distance * np.sin(a), height])
        R, K = look_at(centre, np.array(LOOK_AT)), np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        cams.append((R, -R @ centre, K, np.array(dist)))
    return Rig(*(np.stack(arrays).astype(np.float32) for arrays in zip(*cams)), CAMERA_NAMES)
