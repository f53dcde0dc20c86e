"""Checks of the attack evaluation's run options (each experiment kind checks its own options)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from poselab.experiments.base import AttackConfigError


def positive_finite(name: str, value: Any) -> float:
    """``value`` as a float when it is a finite number > 0 (NaN excluded), else :class:`AttackConfigError`."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value <= 0):
        raise AttackConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_folder_name(name: Any, what: str) -> Any:
    """``name`` when it is None or one plain folder name (not a path, ``..`` or empty), else
    :class:`AttackConfigError`."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(
            c in name for c in ("/", "\\", "\0")):
        raise AttackConfigError(f"{what} must be one folder name (no '/', '\\', '..'; results go to "
                                f"out_dir/{what}), got {name!r}")
    return name


def check_options(alpha_ratio: float, max_batch: Any, max_batches: int | None, max_samples: int | None,
                  save_every: int | None, examples: int) -> None:
    """Raise :class:`AttackConfigError` naming the first bad option (see ``AttackEvaluation``'s arguments)."""
    positive_finite("alpha_ratio", alpha_ratio)
    if max_batch is not None and max_batch != "auto" and (
            isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
        raise AttackConfigError(f"max_batch must be an integer >= 1, 'auto' or null, got {max_batch!r}")
    if max_batches is not None and max_batches < 1:
        raise AttackConfigError(f"max_batches must be >= 1, got {max_batches}")
    if max_samples is not None and max_samples < 1:
        raise AttackConfigError(f"max_samples must be >= 1, got {max_samples}")
    if save_every is not None and (isinstance(save_every, bool) or not isinstance(save_every, int)
                                   or save_every < 1):
        raise AttackConfigError(f"save_every must be an integer >= 1 or null, got {save_every!r}")
    if examples < 0:
        raise AttackConfigError(f"examples must be >= 0, got {examples}")

