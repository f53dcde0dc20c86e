"""poselab: train 3D human pose estimators and measure their robustness to adversarial attacks."""

__version__ = "0.1.0"
