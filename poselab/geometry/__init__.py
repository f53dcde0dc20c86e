"""Pure, batched, differentiable geometry: cameras, triangulation, Procrustes, rotations."""

from poselab.geometry.camera import (
    backproject,
    camera_to_world,
    crop_intrinsics,
    distort,
    pixels_from_normalized,
    project,
    project_world,
    projection_matrix,
    undistort,
    undistort_pixels,
    world_to_camera,
)
from poselab.geometry.procrustes import procrustes_align
from poselab.geometry.rotation import rotate_about_pelvis
from poselab.geometry.triangulation import triangulate_dlt

__all__ = [
    "backproject",
    "camera_to_world",
    "crop_intrinsics",
    "distort",
    "pixels_from_normalized",
    "procrustes_align",
    "project",
    "project_world",
    "projection_matrix",
    "rotate_about_pelvis",
    "triangulate_dlt",
    "undistort",
    "undistort_pixels",
    "world_to_camera",
]
