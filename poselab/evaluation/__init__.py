"""Attack evaluation: the test-time callback, presets, sanity checks, ``poselab.evaluate``, tools."""
