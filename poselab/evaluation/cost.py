"""The cost of an attack grid, told before it starts: model passes per attacked image, and a bound.

One attack step costs a forward and a backward pass per image row (eps x setting x sample); an attack run
records every requested iteration count of it, so its cost is its longest count. A grid beyond
:data:`MAX_PASSES_PER_IMAGE` is refused unless ``allow_long_grid`` is set: e.g. 1021 eps x 10000 iterations
is 10.2 million passes per image, days on a CPU for one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from poselab.attacks.registry import get_attack
from poselab.evaluation.specs import AttackConfigError

#: Largest grid accepted without ``allow_long_grid``, in model passes per attacked image. The shipped grids
#: need at most 3,600 (strong: the ensemble counted as 7 passes per step; paper 1,572, quick 676).
MAX_PASSES_PER_IMAGE = 1_000_000


def passes_per_image(spec: Any) -> float:
    """Model passes (forward + backward) per attacked image of one experiment, at most."""
    if hasattr(spec, "work_units"):  # the corruption experiment: forward passes, in attack-step units
        return float(spec.work_units())
    eps = max(1, sum(1 for e in spec.eps if e > 0))
    settings = {"multiview": len(spec.attacked_views), "camera_swap": len(spec.target_cameras),
                "rotation": len(spec.angles)}.get(spec.kind, 1)
    steps = sum(max(max(record), 1) * get_attack(name).passes_per_step for name, record in spec.attack_plan())
    return float(eps * settings * max(steps, 1))


def check_cost(specs: Sequence[Any], allow_long_grid: bool = False) -> float:
    """Total passes per attacked image of ``specs``; :class:`AttackConfigError` above the bound unless
    ``allow_long_grid``."""
    total = sum(passes_per_image(s) for s in specs)
    if total > MAX_PASSES_PER_IMAGE and not allow_long_grid:
        raise AttackConfigError(
            f"the experiments need about {total:,.0f} model passes (forward + backward) per attacked image, "
            f"more than {MAX_PASSES_PER_IMAGE:,}: shrink eps/iterations/settings, or set "
            "allow_long_grid: true to run it anyway")
    return total


def cost_line(per_image: float, images: int | None) -> str:
    """``attack cost: ...`` printed before the first attack (``images``: attacked images, None unknown)."""
    total = f", about {per_image * images:,.0f} for {images:,} images" if images else ""
    return f"attack cost: {per_image:,.0f} model passes (forward + backward) per attacked image{total}"
