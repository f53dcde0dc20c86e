"""Common corruptions (ImageNet-C style) and body-part occlusion as batched torch functions.

``corrupt(images, name, severity, seed=..., samples=..., views=...)`` applies one corruption of
:data:`CORRUPTION_NAMES` at severity 1..5, on the images' device, deterministically per (seed, sample,
view). The corruption-error (mCE) metrics are :mod:`poselab.results.mce`; the experiment that runs them
is :mod:`poselab.experiments.corruption`.
"""

from poselab.corruptions.base import REFERENCE_SIZE, SEVERITIES
from poselab.corruptions.registry import (
           CORRUPTION_NAMES,
           CORRUPTIONS,
           CorruptionSpec,
           corrupt,
           get_corruption,
)

__all__ = ["CORRUPTIONS", "CORRUPTION_NAMES", "REFERENCE_SIZE", "SEVERITIES", "CorruptionSpec", "corrupt",
           "get_corruption"]
