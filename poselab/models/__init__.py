"""The four baseline pose models (LightningModules) and their registry (:mod:`poselab.models.registry`)."""

from __future__ import annotations

from poselab.models.base import PoseModel
from poselab.models.checkpoint import CheckpointError, read_checkpoint
from poselab.models.heatmap_depth import HeatmapDepthModel
from poselab.models.registry import MODELS, get_model_class, load_model
from poselab.models.regression import RegressionModel
from poselab.models.triangulation import TriangulationModel
from poselab.models.volumetric import VolumetricModel

__all__ = [
    "MODELS",
    "CheckpointError",
    "HeatmapDepthModel",
    "PoseModel",
    "RegressionModel",
    "TriangulationModel",
    "VolumetricModel",
    "get_model_class",
    "load_model",
    "read_checkpoint",
]
