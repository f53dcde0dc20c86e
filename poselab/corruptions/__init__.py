"""Common corruptions (ImageNet-C style) and body-part occlusion as batched torch functions
(docs/CORRUPTIONS.md); mCE metrics: :mod:`poselab.results.mce`."""

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
