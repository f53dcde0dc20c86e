"""poselab._alloc: the glibc thresholds are applied on glibc Linux (large freed buffers are reused instead of
being page-faulted in again), and skipped gracefully when disabled, overridden by the user, or elsewhere."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import pytest

from poselab import _alloc

ON_GLIBC = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
MIB = 1 << 20

# A child process: allocate, touch and free a 48 MiB buffer 6 times (above glibc's 32 MiB cap of the dynamic
# mmap threshold, below poselab's 64 MiB); report the status and the minor page faults of calls 2..6.
CHILD = """
import ctypes, json, resource
from poselab._alloc import configure_allocator
status = configure_allocator()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def cycle(n=48 << 20):
    p = libc.malloc(n)
    ctypes.memset(p, 1, n)
    libc.free(p)
cycle()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    cycle()
print(json.dumps({"status": status, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0}))
"""


def _child(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in (_alloc.ENV_SWITCH, "LD_PRELOAD", "GLIBC_TUNABLES") and not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", CHILD], env={**clean, **env}, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.fixture
def fresh(monkeypatch):
    """A process state where configure_allocator() has not run yet, with none of the switches set."""
    monkeypatch.setattr(_alloc, "_status", None)
    for var in (_alloc.ENV_SWITCH, "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.mark.skipif(not ON_GLIBC, reason="glibc Linux only")
def test_applied_on_glibc_reuses_large_buffers_and_the_switch_turns_it_off():
    tuned, default = _child(), _child(**{_alloc.ENV_SWITCH: "0"})
    assert tuned["status"] == "mallopt: mmap_threshold=64 MiB trim_threshold=1024 MiB"
    assert default["status"] == f"mallopt skipped: disabled by {_alloc.ENV_SWITCH}"
    pages = 5 * 48 * MIB // os.sysconf("SC_PAGE_SIZE")
    assert default["faults"] > 0.8 * pages  # glibc: every 48 MiB buffer is a fresh mmap, zero-filled again
    assert tuned["faults"] < 0.05 * pages  # tuned: the freed buffer stays in the heap and is reused


@pytest.mark.skipif(not ON_GLIBC, reason="glibc Linux only")
def test_applied_once_and_mallopt_called_with_the_documented_values(fresh):
    calls = []

    class FakeLibc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

    fresh.setattr(_alloc, "_glibc", FakeLibc)
    fresh.setattr(_alloc, "_malloc_is_glibc", lambda libc: True)
    assert _alloc.configure_allocator().startswith("mallopt: ")
    assert _alloc.configure_allocator().startswith("mallopt: ")  # cached: mallopt not called again
    assert calls == [(_alloc.M_MMAP_THRESHOLD, 64 * MIB), (_alloc.M_TRIM_THRESHOLD, 1024 * MIB)]


@pytest.mark.parametrize(("var", "value", "reason"), [
    (_alloc.ENV_SWITCH, "off", "disabled by POSELAB_MALLOPT"),
    (_alloc.ENV_SWITCH, "False", "disabled by POSELAB_MALLOPT"),
    ("MALLOC_TRIM_THRESHOLD_", "0", "user setting kept (MALLOC_TRIM_THRESHOLD_)"),
    ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=4096", "user setting kept (glibc.malloc.mmap_threshold)"),
])
def test_switch_and_user_settings_leave_the_allocator_alone(fresh, var, value, reason):
    fresh.setenv(var, value)
    fresh.setattr(_alloc, "_glibc", lambda: pytest.fail("glibc must not be touched"))
    assert _alloc.configure_allocator() == f"mallopt skipped: {reason}"


def test_skipped_gracefully_off_linux_and_off_glibc(fresh):
    fresh.setattr(_alloc, "_glibc", lambda: pytest.fail("glibc must not be touched"))
    fresh.setattr(sys, "platform", "darwin")
    assert _alloc.configure_allocator() == "mallopt skipped: not Linux (darwin)"
    fresh.setattr(_alloc, "_status", None)
    fresh.setattr(sys, "platform", "linux")
    fresh.setattr(os, "confstr", lambda name: None)  # musl: no CS_GNU_LIBC_VERSION
    assert _alloc.configure_allocator() == "mallopt skipped: not glibc"


def test_unloadable_or_refusing_glibc_is_reported_not_raised(fresh):
    fresh.setattr(sys, "platform", "linux")
    fresh.setattr(os, "confstr", lambda name: "glibc 2.36")

    def missing() -> ctypes.CDLL:
        raise OSError("libc.so.6: cannot open shared object file")

    fresh.setattr(_alloc, "_glibc", missing)
    assert _alloc.configure_allocator().startswith("mallopt skipped: glibc not loadable (libc.so.6")

    class Refusing:
        def mallopt(self, param: int, value: int) -> int:
            return 0

    fresh.setattr(_alloc, "_status", None)
    fresh.setattr(_alloc, "_glibc", Refusing)
    fresh.setattr(_alloc, "_malloc_is_glibc", lambda libc: True)
    assert _alloc.configure_allocator() == "mallopt skipped: glibc rejected mallopt"


@pytest.mark.skipif(not (ON_GLIBC and ctypes.util.find_library("jemalloc")), reason="glibc Linux + jemalloc")
def test_preloaded_allocator_is_detected_and_left_alone():
    assert _child(LD_PRELOAD="libjemalloc.so.2")["status"] == \
        "mallopt skipped: malloc is not glibc's (LD_PRELOAD allocator)"


ENTRY_POINTS = ["poselab.cli", "poselab.evaluation.transfer", "studies.adv_compare.compare"]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_entry_points_configure_the_allocator_first(fresh, module):
    import importlib

    calls = []
    fresh.setattr(_alloc, "configure_allocator", lambda: calls.append(module) or "mallopt skipped: test")
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(["report", "--help"] if module == "poselab.cli" else ["--help"])
    assert exit_info.value.code == 0 and calls == [module]


def test_import_does_not_configure(fresh):
    code = "import poselab.attacks, poselab.models; from poselab import _alloc; print(_alloc._status)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "None"
