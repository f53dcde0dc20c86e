"""The four baseline pose models (LightningModules) and their registry.

``MODELS`` maps the config / checkpoint name to the class; :func:`get_model_class` raises a clear
error for unknown names.
"""

from __future__ import annotations

from poselab.models.base import PoseModel
from poselab.models.checkpoint import CheckpointError, load_model, read_checkpoint
from poselab.models.heatmap_depth import HeatmapDepthModel
from poselab.models.regression import RegressionModel
from poselab.models.triangulation import TriangulationModel
from poselab.models.volumetric import VolumetricModel

MODELS: dict[str, type[PoseModel]] = {
    cls.name: cls for cls in (RegressionModel, VolumetricModel, HeatmapDepthModel, TriangulationModel)
}


def get_model_class(name: str) -> type[PoseModel]:
    """The model class registered under ``name``."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}") from None


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
