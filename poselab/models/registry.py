"""The four baseline models by name (:data:`MODELS`), and rebuilding one from a poselab checkpoint."""

from __future__ import annotations

from pathlib import Path

from poselab.models.base import PoseModel
from poselab.models.checkpoint import CheckpointError, checked_hyper_parameters, read_checkpoint
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


def load_model(path: str | Path, expected_model: str | None = None) -> PoseModel:
    """Rebuild a :class:`PoseModel` from a poselab checkpoint, on the CPU, in eval mode."""
    ckpt = read_checkpoint(path, expected_model)
    cls = MODELS.get(ckpt["poselab_model"])
    if cls is None:
        raise CheckpointError(f"checkpoint {path} holds unknown model {ckpt['poselab_model']!r}")
    hparams = checked_hyper_parameters(ckpt, path, cls, {f"poselab.models.{cls.__name__}"})
    if hparams.get("backbone_weights"):  # the checkpoint's own weights replace them; the file may be gone
        hparams["backbone_weights"] = None
    try:
        model = cls(**hparams)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has hyper-parameters unfit for {cls.__name__}: {err}") \
            from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {path} does not fit {cls.__name__}: {err}") from None
    return model.to("cpu").eval()
