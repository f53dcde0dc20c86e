"""poselab.safe_io: umask-respecting atomic writes, writability check, tolerant saves, run locks."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from poselab import safe_io
from poselab.safe_io import LockedError, NotWritableError, RunLock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writers_respect_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        safe_io.atomic_write(tmp_path / "a" / "t.csv", "x,y\n")
        safe_io.atomic_write(tmp_path / "b.bin", b"\x00\x01")
        safe_io.atomic_save({"w": torch.ones(2)}, tmp_path / "s.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "t.csv").read_text() == "x,y\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert torch.load(tmp_path / "s.pt", weights_only=True)["w"].tolist() == [1.0, 1.0]
    for p in (tmp_path / "a" / "t.csv", tmp_path / "b.bin", tmp_path / "s.pt"):
        assert _mode(p) == expected, oct(_mode(p))
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["b.bin", "s.pt", "t.csv"]  # no temp files left


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    safe_io.atomic_write(path, "old\n")
    with pytest.raises(RuntimeError, match="disk full"), safe_io.atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_check_writable(tmp_path: Path) -> None:
    assert safe_io.check_writable(tmp_path / "new" / "deep") == tmp_path / "new" / "deep"
    assert list((tmp_path / "new" / "deep").iterdir()) == []  # the probe is gone
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(NotWritableError) as info:
        safe_io.check_writable(blocker / "results", "attack results folder")
    assert str(blocker / "results") in str(info.value) and "attack results folder" in str(info.value)


def test_try_save_turns_disk_full_into_a_warning() -> None:
    def full() -> None:
        raise RuntimeError("[enforce fail at inline_container.cc] PytorchStreamWriter failed writing file")

    with pytest.warns(UserWarning, match="could not save the partial state .*PytorchStreamWriter"):
        assert safe_io.try_save(full, "the partial state") is False
    with pytest.warns(UserWarning, match="No space left"):
        assert safe_io.try_save(lambda: (_ for _ in ()).throw(OSError(28, "No space left on device")), "x") \
            is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert safe_io.try_save(lambda: None, "x") is True
    with pytest.raises(ValueError):  # a bug is not a save failure
        safe_io.try_save(lambda: int("x"), "x")


def _holder(folder: Path) -> subprocess.Popen:
    """Another process holding the lock until its stdin closes."""
    code = ("import sys; from poselab.safe_io import RunLock; l = RunLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); sys.stdin.read(); l.release()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_run_lock_refuses_a_second_live_run_and_frees_on_release(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        owner = json.loads((tmp_path / ".lock").read_text())
        assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
        with pytest.raises(LockedError) as info:
            RunLock(tmp_path).acquire()
        msg = str(info.value)
        assert f"pid {proc.pid}" in msg and socket.gethostname() in msg and str(tmp_path / ".lock") in msg
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert not (tmp_path / ".lock").exists()
    with RunLock(tmp_path) as lock:
        assert lock.held and json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".lock").exists()


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / ".lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    with pytest.warns(UserWarning, match=f"stale lock .* dead pid {pid}"):
        lock = RunLock(tmp_path).acquire()
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    lock.release()
    # a lock from another host is never taken over (its pid cannot be checked from here)
    (tmp_path / ".lock").write_text(json.dumps({"pid": pid, "host": "elsewhere.example"}))
    with pytest.raises(LockedError, match="host elsewhere.example"):
        RunLock(tmp_path).acquire()


def _reserve_many(args: tuple[str, int]) -> list[int]:
    root, count = args
    return [safe_io.reserve_version(root) for _ in range(count)]


def test_reserve_version_takes_the_next_free_folder_and_never_gives_one_twice(tmp_path: Path) -> None:
    import multiprocessing

    root = tmp_path / "csv" / "regression"
    for name in ("version_0", "version_2", "version_x", "other_7"):
        (root / name).mkdir(parents=True)
    assert safe_io.reserve_version(root) == 3  # after the highest number; gaps and other names ignored
    assert (root / "version_3").is_dir()
    # four processes reserving at once (a training and attack evaluations of one model): all distinct
    with multiprocessing.get_context("fork").Pool(4) as pool:
        got = [n for part in pool.map(_reserve_many, [(str(root), 10)] * 4) for n in part]
    assert sorted(got) == list(range(4, 44))
    numbered = sorted(int(p.name[8:]) for p in root.glob("version_*") if p.name[8:].isdigit())
    assert numbered == [0, 2, *range(3, 44)]
