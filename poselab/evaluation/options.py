"""Checks of the attack evaluation's run options (each experiment kind checks its own options)."""

from __future__ import annotations

import math
from typing import Any

from poselab.experiments.base import AttackConfigError, is_real


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number (not a bool; NaN and infinities excluded)."""
    return is_real(value) and math.isfinite(value)


def check_folder_name(name: Any, what: str) -> None:
    """:class:`AttackConfigError` unless ``name`` is None or one folder name (not a path, ``..``, empty)."""
    if name is not None and (not isinstance(name, str) or not name.strip() or name in (".", "..") or any(
            c in name for c in ("/", "\\", "\0"))):
        raise AttackConfigError(f"{what} must be one folder name (no '/', '\\', '..'; results go to "
                                f"out_dir/{what}), got {name!r}")


def check_options(alpha_ratio: float, max_batch: Any, max_batches: int | None, max_samples: int | None,
                  save_every: int | None, examples: int) -> None:
    """Raise :class:`AttackConfigError` naming the first bad option (see ``AttackEvaluation``'s arguments)."""
    if not (is_number(alpha_ratio) and alpha_ratio > 0):
        raise AttackConfigError(f"alpha_ratio must be a finite number > 0, got {alpha_ratio!r}")
    if max_batch is not None and max_batch != "auto" and not (is_int(max_batch) and max_batch >= 1):
        raise AttackConfigError(f"max_batch must be an integer >= 1, 'auto' or null, got {max_batch!r}")
    if max_batches is not None and max_batches < 1:
        raise AttackConfigError(f"max_batches must be >= 1, got {max_batches}")
    if max_samples is not None and max_samples < 1:
        raise AttackConfigError(f"max_samples must be >= 1, got {max_samples}")
    if save_every is not None and not (is_int(save_every) and save_every >= 1):
        raise AttackConfigError(f"save_every must be an integer >= 1 or null, got {save_every!r}")
    if examples < 0:
        raise AttackConfigError(f"examples must be >= 0, got {examples}")

