"""Import of the reference implementation, imagecorruptions (bethgelab), for tests and benchmarks only.

imagecorruptions 1.1.2 (2020) predates numpy 2 and setuptools 81: it imports ``pkg_resources`` (used only
for its frost images, which poselab does not use) and calls ``np.float_`` (fog). ``load_reference()``
supplies both before importing it; nothing else of the package is changed. poselab itself never needs it
(it is in the ``dev`` extra).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any


def load_reference() -> Any:
    """The ``imagecorruptions`` module (compatibility shims applied); ImportError if not installed."""
    import numpy as np

    if not hasattr(np, "float_"):
        np.float_ = np.float64  # removed in numpy 2; used by imagecorruptions' plasma_fractal
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, resource: str) -> str:
            return str(Path(sys.modules[package].__file__).parent / resource)

        shim.resource_filename = resource_filename
        sys.modules["pkg_resources"] = shim
    try:
        import imagecorruptions
    except ImportError as err:
        raise ImportError("the reference needs imagecorruptions: pip install -e '.[dev]'") from err
    return imagecorruptions
