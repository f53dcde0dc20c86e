"""poselab: train 3D human pose estimators and measure their robustness to adversarial attacks."""

import os as _os

#: OpenMP threads sleep when idle instead of spinning on shared CPUs (read as torch loads; benchmarks.md).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

#: Public names resolved on first use (PEP 562): ``import poselab`` stays cheap (docs/ARCHITECTURE.md).
_LAZY = {"evaluate": "poselab.evaluation.api"}


def __getattr__(name: str):  # noqa: ANN202 - the attribute's own type
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'poselab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
