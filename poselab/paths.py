"""Where poselab's own files are (``configs/``, ``checkpoints/``): never the current directory."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The poselab source tree: ``$POSELAB_HOME`` when set, else the folder above the package."""
    home = os.environ.get("POSELAB_HOME")
    return Path(home).expanduser() if home else Path(__file__).resolve().parents[1]


def project_path(*parts: str) -> Path:
    """A path inside the source tree, e.g. ``project_path("configs", "data", "synthetic.yaml")``."""
    return project_root().joinpath(*parts)


def checkpoint_path(model: str) -> Path:
    """The shipped checkpoint of a model (``checkpoints/<model>.ckpt`` of the source tree)."""
    return project_path("checkpoints", f"{model}.ckpt")
