"""Checks of a parsed ``poselab`` config before anything is instantiated: the accelerator, whether an
attack evaluation has a checkpoint, the checkpoint's image size, and the model class a config names."""

from __future__ import annotations

from typing import Any

import torch

from poselab.cli.errors import ConfigError


def check_image_size(ckpt: dict[str, Any], path: str, cfg: Any) -> None:
    """Refuse (``run.allow_image_size_mismatch``: warn about) a checkpoint trained on another crop size than
    ``data.image_size``."""
    trained = (ckpt.get("datamodule_hyper_parameters") or {}).get("image_size")
    data = cfg.get("data") or {}
    wanted = data.get("image_size") if hasattr(data, "get") else None
    if trained is None or wanted is None or int(trained) == int(wanted):
        return
    msg = (f"data.image_size is {wanted} px but checkpoint {path} was trained on {trained} px crops; pass "
           f"--data.image_size {trained} (or the trainer config it was trained with, e.g. TRAINER=cpu for "
           "the shipped checkpoints)")
    if (cfg.get("run") or {}).get("allow_image_size_mismatch"):
        import warnings

        warnings.warn(msg + " (allowed by run.allow_image_size_mismatch)", stacklevel=2)
        return
    raise ConfigError(msg + ", or --run.allow_image_size_mismatch true to evaluate it anyway")


def check_accelerator(trainer_cfg: Any) -> None:
    """``trainer.accelerator: gpu/cuda`` on a machine without a CUDA GPU is one clear error."""
    accel = trainer_cfg.get("accelerator") if hasattr(trainer_cfg, "get") else None
    if isinstance(accel, str) and accel.lower() in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator is {accel!r} but no CUDA GPU is available here; use the "
                          "CPU trainer config (TRAINER=cpu, configs/trainer/cpu.yaml) or "
                          "--trainer.accelerator cpu")


def has_attack_callback(cfg: Any) -> bool:
    """Whether the config sets the ``attack_evaluation`` callback or lists one under ``trainer.callbacks``."""
    if cfg.get("attack_evaluation") is not None:
        return True
    callbacks = (cfg.get("trainer") or {}).get("callbacks") or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    return any(str(getattr(c, "class_path", None) or (c.get("class_path") if hasattr(c, "get") else "")
                   ).endswith("AttackEvaluation") for c in callbacks)


def class_path_of(model_cfg: Any) -> str | None:
    """The ``class_path`` of a parsed ``model`` config."""
    return getattr(model_cfg, "class_path", None) or (model_cfg or {}).get("class_path")


def model_class_of(model_cfg: Any) -> type | None:
    """The model class of a parsed ``model`` config (None if it cannot be told)."""
    import importlib

    path = class_path_of(model_cfg)
    if not path:
        return None
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
