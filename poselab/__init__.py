"""poselab: train 3D human pose estimators and measure their robustness to adversarial attacks."""

import os as _os

#: OpenMP threads sleep when idle instead of spinning (libgomp reads this when torch loads it, so it holds
#: where poselab is imported before torch: every poselab entry point, benchmark and DataLoader worker). A
#: spinning thread on a CPU that another process shares slows both down several-fold
#: (benchmarks/bench_shared_cpu.py). A value the user set, even an empty one, is left as it is.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
