"""What the standalone tools (transfer, corruptions, ``studies.adv_compare``) share: data options, models."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from torch import nn

from poselab.data.config import DEFAULT_DATA_CONFIGS


def add_data_arguments(parser: argparse.ArgumentParser, data_args_help: str) -> None:
    """``--data`` (YAML data configs merged in order, or a dataset class path) and ``--data-args`` (JSON)."""
    parser.add_argument("--data", action="append", default=None,
                        help=f"YAML data config, repeatable, merged in order (default: "
                        f"{' + '.join(DEFAULT_DATA_CONFIGS)}, the shipped checkpoints' 64 px synthetic "
                        "data), or a dataset class path")
    parser.add_argument("--data-args", default="{}", help=data_args_help)


def load_named_model(spec: str, checkpoints: str | Path, classes: bool = False) -> tuple[str, str, nn.Module]:
    """(name, checkpoint, model in eval mode) of ``NAME`` (``<checkpoints>/NAME.ckpt``), ``NAME=CKPT`` or,
    with ``classes``, ``NAME=package.Class[:CKPT]``."""
    from poselab.models import load_model

    name, sep, rest = spec.partition("=")
    if not name:
        forms = "NAME, NAME=CKPT or NAME=CLASS[:CKPT]" if classes else "NAME or NAME=CKPT"
        raise ValueError(f"--model expects {forms}, got {spec!r}")
    if not sep:
        path = str(Path(checkpoints) / f"{name}.ckpt")
        return name, path, load_model(path, expected_model=name).eval()
    if not classes or (rest.endswith(".ckpt") and ":" not in rest):
        return name, rest, load_model(rest).eval()
    cls_path, _, ckpt = rest.partition(":")
    module, _, attr = cls_path.rpartition(".")
    if not module:
        raise ValueError(f"expected a dotted class path, got {cls_path!r}")
    cls = getattr(importlib.import_module(module), attr)
    model = cls.load_from_checkpoint(ckpt, map_location="cpu") if ckpt else cls()
    return name, ckpt, model.eval()
