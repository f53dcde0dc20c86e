"""poselab: train 3D human pose estimators and measure their robustness to adversarial attacks."""

import os as _os

#: OpenMP threads sleep when idle instead of spinning (libgomp reads this when torch loads it, so it holds
#: where poselab is imported before torch: every poselab entry point, benchmark and DataLoader worker). A
#: spinning thread on a CPU that another process shares slows both down several-fold
#: (benchmarks/bench_shared_cpu.py). A value the user set, even an empty one, is left as it is.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

#: Public names resolved on first use (PEP 562), so that ``import poselab`` stays cheap (no torch, no
#: Lightning): the one place the package refers upwards, to the top of its layers (docs/ARCHITECTURE.md).
_LAZY = {"evaluate": "poselab.evaluation.api"}


def __getattr__(name: str):  # noqa: ANN202 - the attribute's own type
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'poselab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
