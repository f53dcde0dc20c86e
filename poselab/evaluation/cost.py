"""The cost of an attack grid, told before it starts: model passes per attacked image, and a bound.

One attack step costs a forward and a backward pass per image row (eps x setting x sample); an attack run
records every requested iteration count of it, so its cost is its longest count. A grid beyond
:data:`MAX_PASSES_PER_IMAGE` is refused unless ``allow_long_grid`` is set: e.g. 1021 eps x 10000 iterations
is 10.2 million passes per image, days on a CPU for one batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from poselab.experiments.base import AttackConfigError, Experiment

#: Largest grid accepted without ``allow_long_grid``, in model passes per attacked image. The shipped grids
#: need at most 3,600 (strong: the ensemble counted as 7 passes per step; paper 1,572, quick 676).
MAX_PASSES_PER_IMAGE = 1_000_000


def check_cost(specs: Sequence[Experiment], allow_long_grid: bool = False) -> float:
    """Total passes per attacked image of ``specs`` (each kind's ``passes_per_image``);
    :class:`AttackConfigError` above the bound unless ``allow_long_grid``."""
    total = sum(s.passes_per_image() for s in specs)
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
