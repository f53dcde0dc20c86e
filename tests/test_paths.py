"""The package finds its own configs and checkpoints from any working directory, never from the cwd."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from poselab.data.config import DEFAULT_DATA_CONFIGS
from poselab.paths import checkpoint_path, project_path, project_root

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_point_into_the_source_tree_not_the_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSELAB_HOME", raising=False)
    assert project_root() == ROOT
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in DEFAULT_DATA_CONFIGS)
    assert checkpoint_path("regression") == ROOT / "checkpoints" / "regression.ckpt"
    monkeypatch.setenv("POSELAB_HOME", str(tmp_path))
    assert project_path("configs") == tmp_path / "configs"


def test_transfer_runs_from_another_folder_with_its_defaults(tmp_path) -> None:
    """The transfer CLI's default data configs and checkpoints folder are found from a foreign cwd."""
    env = {k: v for k, v in os.environ.items() if k != "POSELAB_HOME"}
    proc = subprocess.run([sys.executable, "-m", "poselab.evaluation.transfer", "--model", "regression",
                           "--eps", "2", "--steps", "1", "--batches", "1", "--batch-size", "2",
                           "--out", str(tmp_path / "out")],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "transfer.csv").is_file()


def _preview_out(*args: str) -> str:
    """The --out of the command `make -n preview` would run."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    proc = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "preview", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    return words[words.index("--out") + 1]


def _git_ignored(path: str) -> bool:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, timeout=60)
    assert proc.returncode in (0, 1), "git check-ignore failed"
    return proc.returncode == 0


def test_make_preview_writes_an_untracked_file_unless_docs_is_asked_for() -> None:
    """`make preview` never overwrites the README's tracked figure; `make preview DOCS=1` does."""
    default = _preview_out()
    assert default == "runs/preview.png" and _git_ignored(default)
    docs = _preview_out("DOCS=1")
    assert docs == "docs/preview.png" and not _git_ignored(docs)
    assert (ROOT / docs).is_file()
