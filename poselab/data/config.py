"""Datasets from YAML data configs (the ``data:`` sections that ``poselab fit/test`` compose), so that the
command-line analyses read the same configs as training."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from poselab.paths import project_path

#: the data the shipped CPU checkpoints were trained on (synthetic, 64 px crops), as absolute paths
DEFAULT_DATA_CONFIGS: tuple[str, ...] = (str(project_path("configs", "data", "synthetic.yaml")),
                                         str(project_path("configs", "trainer", "cpu.yaml")))


def data_kwargs(paths: Sequence[str | Path]) -> dict[str, Any]:
    """``PoseDataModule`` kwargs from the ``data:`` sections of YAML files, later files winning; a missing or
    malformed file raises ValueError naming it."""
    import yaml

    from poselab.yaml_limits import safe_load

    merged: dict[str, Any] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise ValueError(f"data config not found: {path}")
        try:
            cfg = safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"data config {path} is not valid YAML: {err}") from None
        if not isinstance(cfg, Mapping):
            raise ValueError(f"data config {path}: expected a mapping at the top level")
        data = cfg.get("data", {}) or {}
        if not isinstance(data, Mapping):
            raise ValueError(f"data config {path}: `data:` must be a mapping")
        merged.update(data.get("init_args", data))
    return merged


def is_config(spec: str) -> bool:
    """True when ``spec`` names a YAML config file (rather than a dataset class path)."""
    return spec.endswith((".yaml", ".yml"))


def build_dataset(specs: Sequence[str], overrides: Mapping[str, Any], split: str = "test") -> Dataset:
    """The ``split`` dataset of YAML data configs (merged in order, ``overrides`` last, ``num_workers`` 0),
    or ``overrides`` given to one dataset class named by its dotted path (``package.module.Class``)."""
    specs = list(specs)
    if not specs:
        raise ValueError("no data given: pass YAML data configs or a dataset class path")
    if all(is_config(s) for s in specs):
        from poselab.data.datamodule import PoseDataModule

        kwargs = {**data_kwargs(specs), "num_workers": 0, **overrides}
        try:
            return PoseDataModule(**kwargs).make_dataset(split)
        except TypeError as err:
            raise ValueError(f"bad data option in {', '.join(specs)} or overrides: {err}") from None
    if len(specs) != 1 or any(is_config(s) for s in specs):
        raise ValueError(f"give YAML data configs or one dataset class path, not {specs}")
    module, _, attr = specs[0].rpartition(".")
    if not module:
        raise ValueError(f"expected a YAML config or a dotted dataset class path, got {specs[0]!r}")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import dataset class {specs[0]!r}: {err}") from None
    return cls(**overrides)
