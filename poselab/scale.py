"""Model *scales*: a backbone at a crop size, ``<backbone>-<image_size>`` (``tiny-64``, ``r18-128``), derived
from the model's ``backbone`` hyper-parameter and the data's ``image_size`` (px), never configured by hand."""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^(tiny|r\d+)-(\d+)$")


def scale_name(backbone: str, image_size: int) -> str:
    """``("resnet18", 128)`` -> ``"r18-128"``; ``("tiny", 64)`` -> ``"tiny-64"``."""
    if isinstance(image_size, bool) or int(image_size) <= 0:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size!r}")
    if backbone == "tiny":
        short = "tiny"
    elif re.fullmatch(r"resnet\d+", str(backbone)):
        short = "r" + str(backbone)[len("resnet"):]
    else:
        raise ValueError(f"unknown backbone {backbone!r}; expected tiny or resnet<depth>")
    return f"{short}-{int(image_size)}"


def parse_scale(name: str) -> tuple[str, int]:
    """``"r18-128"`` -> ``("resnet18", 128)`` (the inverse of :func:`scale_name`)."""
    match = _NAME.match(str(name))
    if not match:
        raise ValueError(f"scale {name!r} is not <tiny|r<depth>>-<image_size>, e.g. tiny-64, r18-128")
    short, size = match.groups()
    return ("tiny" if short == "tiny" else "resnet" + short[1:]), int(size)


def model_scale(model: Any, image_size: int | None) -> str | None:
    """The scale of a pose model (its ``hparams.backbone``) at ``image_size`` px; None if unknown."""
    hparams = getattr(model, "hparams", None) or {}
    backbone = hparams.get("backbone") if hasattr(hparams, "get") else None
    if backbone is None or image_size is None:
        return None
    try:
        return scale_name(backbone, image_size)
    except ValueError:
        return None


def scaled_name(name: str, scale: str | None) -> str:
    """The folder of a run's logs: ``name`` for the tiny CNN or an unknown scale, else ``<name>-<scale>``."""
    if scale is None or parse_scale(scale)[0] == "tiny":
        return name
    return f"{name}-{scale}"


def run_scale(model: Any, datamodule: Any) -> str | None:
    """A run's scale: ``model``'s backbone at the datamodule's ``hparams.image_size`` (None if unknown)."""
    hparams = getattr(datamodule, "hparams", None) or {}
    return model_scale(model, hparams.get("image_size") if hasattr(hparams, "get") else None)
