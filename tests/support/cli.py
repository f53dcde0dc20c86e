"""A tiny ``poselab test`` attack run as a separate process (the plug-in tests run it with and without
their user module)."""

from __future__ import annotations

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
