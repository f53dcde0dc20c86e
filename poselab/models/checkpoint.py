"""Safe checkpoint loading (``torch.load(weights_only=True)``) with one clear error per failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or holds another model."""


def read_checkpoint(path: str | Path, expected_model: str | None = None) -> dict[str, Any]:
    """Load a Lightning checkpoint safely (tensors and plain data only) onto the CPU.

    Raises:
        CheckpointError: naming the file, when it is missing, cannot be unpickled safely, is not a
            poselab checkpoint, or holds a model other than ``expected_model``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is one clear error
        raise CheckpointError(
            f"checkpoint {path} could not be loaded safely (corrupt or not a torch checkpoint): "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict')")
    found = ckpt.get("poselab_model")
    if found is None:
        raise CheckpointError(f"checkpoint {path} is not a poselab model checkpoint (no 'poselab_model')")
    if expected_model is not None and found != expected_model:
        raise CheckpointError(
            f"checkpoint {path} holds a {found!r} model, expected a {expected_model!r} model"
        )
    return ckpt


def load_model(path: str | Path, expected_model: str | None = None, map_location: str = "cpu"):
    """Rebuild a :class:`~poselab.models.base.PoseModel` from a poselab checkpoint, in eval mode."""
    from poselab.models import MODELS

    ckpt = read_checkpoint(path, expected_model)
    cls = MODELS.get(ckpt["poselab_model"])
    if cls is None:
        raise CheckpointError(f"checkpoint {path} holds unknown model {ckpt['poselab_model']!r}")
    hparams = dict(ckpt.get("hyper_parameters", {}))
    hparams.pop("_instantiator", None)
    hparams.pop("_class_path", None)
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
    return model.to(map_location).eval()
