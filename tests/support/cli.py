"""Running ``poselab``: a tiny ``poselab test`` attack run's argv (the plug-in tests run it as a separate
process with and without their user module), and :func:`run_cli`, the entry point in this process."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def tiny_attack_test(tmp: Path, experiments: list[dict[str, Any]]) -> list[str]:
    """argv of ``python -m poselab.cli test``: the shipped regression checkpoint, 2 synthetic test samples,
    configs/attack/quick.yaml with ``experiments``, results in ``tmp/results``, no W&B."""
    attack_cfg = yaml.safe_load((ROOT / "configs/attack/quick.yaml").read_text())
    attack_cfg["attack_evaluation"]["init_args"].update(
        out_dir=str(tmp / "results"), max_samples=2, examples=0, experiments=experiments)
    (tmp / "attack.yaml").write_text(yaml.safe_dump(attack_cfg))
    configs = ["model/regression.yaml", "data/synthetic.yaml", "trainer/cpu.yaml"]
    return [sys.executable, "-m", "poselab.cli", "test",
            *[a for c in configs for a in ("--config", str(ROOT / "configs" / c))],
            "--config", str(tmp / "attack.yaml"),
            "--ckpt_path", str(ROOT / "checkpoints/regression.ckpt"),
            "--run.wandb", "false", "--run.save_dir", str(tmp / "runs"),
            "--trainer.default_root_dir", str(tmp / "runs"), "--trainer.limit_test_batches", "1",
            "--trainer.enable_progress_bar", "false", "--data.test_size", "2", "--data.val_batch_size", "2",
            "--data.num_workers", "0"]


def run_cli(argv: list[str]) -> subprocess.CompletedProcess:
    """``poselab <argv>`` in this process (``poselab.cli.main``): exit status and captured stdout/stderr.

    A ``[python, -m, poselab.cli, ...]`` argv (as :func:`tiny_attack_test` gives) is accepted as well."""
    from poselab.cli import main

    if argv[1:3] == ["-m", "poselab.cli"]:
        argv = argv[3:]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return subprocess.CompletedProcess(["poselab", *argv], code, out.getvalue(), err.getvalue())
