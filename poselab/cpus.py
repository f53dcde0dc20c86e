"""How many CPUs this process may really use (``os.cpu_count()`` and torch count every core of the machine):
its affinity mask, capped by a cgroup CPU quota."""

from __future__ import annotations

import math
import os
from pathlib import Path

#: cgroup v2 (``cpu.max``: "<quota> <period>" or "max <period>") and v1 (``cpu.cfs_quota_us``, -1: none).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """The cgroup's CPU quota in CPUs (e.g. 1.5), or None when there is none or it cannot be read."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """CPUs worth a thread each: the affinity mask's size, capped by the cgroup quota (rounded up), >= 1."""
    limit = cgroup_cpu_limit(root)
    cpus = available_cpus()
    if limit is not None and limit > 0:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return max(1, cpus)
