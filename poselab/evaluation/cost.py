"""The cost of an attack grid in model passes (forward + backward) per attacked image, and its bound."""

from __future__ import annotations

from collections.abc import Sequence

from poselab.experiments.base import AttackConfigError, Experiment

#: Largest grid accepted without ``allow_long_grid``, in model passes per attacked image (shipped: <= 3,600).
MAX_PASSES_PER_IMAGE = 1_000_000


def check_cost(specs: Sequence[Experiment], allow_long_grid: bool = False) -> float:
    """Total passes per attacked image of ``specs``; :class:`AttackConfigError` above the bound."""
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
