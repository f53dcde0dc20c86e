"""usable_cpus: the affinity mask capped by a cgroup v1/v2 CPU quota (files written in a temporary folder)."""

from __future__ import annotations

import os

import pytest

from poselab.cpus import available_cpus, cgroup_cpu_limit, usable_cpus


def test_no_cgroup_files_means_no_limit(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None
    assert usable_cpus(tmp_path) == available_cpus()


@pytest.mark.parametrize(("text", "limit"), [("150000 100000\n", 1.5), ("max 100000\n", None),
                                             ("100000 100000", 1.0), ("garbled", None)])
def test_cgroup_v2_quota(tmp_path, text, limit):
    (tmp_path / "cpu.max").write_text(text)
    assert cgroup_cpu_limit(tmp_path) == limit


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 0.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_quota_caps_the_affinity_mask_rounded_up_and_never_below_one(tmp_path):
    (tmp_path / "cpu.max").write_text("50000 100000")  # half a CPU: one thread
    assert usable_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{1000 * 100000} 100000")  # a quota above the mask: the mask
    assert usable_cpus(tmp_path) == available_cpus()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks on this platform")
def test_affinity_mask_is_counted():
    mask = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(mask)})
        assert available_cpus() == 1 == usable_cpus()
    finally:
        os.sched_setaffinity(0, mask)
