"""`make train RESUME=1` continues the W&B run of the interrupted training (same id), and the run config holds
each hyper-parameter once (the CLI's dotted keys, not Lightning's unprefixed copies). Offline runs, read back
from their files."""

from __future__ import annotations

from pathlib import Path

import torch
from test_training import base_args

from poselab.lightning_cli import run_lightning_cli
from poselab.wandb_offline import read_run
from poselab.wandb_resume import RUN_ID_KEY


def _runs(tmp: Path) -> list:
    return [read_run(f, wait_s=20) for f in sorted((tmp / "runs" / "wandb" / "wandb").glob("offline-run-*"))]


def test_resumed_training_continues_its_wandb_run_and_logs_each_hyper_parameter_once(tmp_path):
    args = [*base_args("regression", tmp_path), "--trainer.limit_train_batches", "2"]
    run_lightning_cli(["fit", *args], exit_on_error=False)
    ckpt = tmp_path / "ckpt"
    (first,) = _runs(tmp_path)
    assert torch.load(ckpt / "regression-last.ckpt", weights_only=True)[RUN_ID_KEY] == first.run_id
    assert RUN_ID_KEY not in torch.load(ckpt / "regression.ckpt", weights_only=True)  # weights-only: none

    cli = run_lightning_cli(
        ["fit", *args, "--ckpt_path", "last", "--trainer.max_epochs", "2"], exit_on_error=False
    )
    assert cli.trainer.current_epoch == 2
    first, second = _runs(tmp_path)
    assert second.run_id == first.run_id and second.name == first.name and second.group == first.group
    steps = [[h["trainer/global_step"] for h in r.history if "train/loss" in h] for r in (first, second)]
    assert steps[0] and steps[1] and min(steps[1]) > max(steps[0])  # the second part continues the first

    for run in (first, second):
        assert run.config["model.init_args.lr"] == 0.001 and run.config["data.image_size"] == 32
        assert not {"lr", "backbone", "image_size", "batch_size", "_instantiator"} & set(run.config)

    run_lightning_cli(["test", *args, "--ckpt_path", "last"], exit_on_error=False)  # an evaluation: a new run
    runs = _runs(tmp_path)
    assert len(runs) == 3 and runs[2].run_id != first.run_id and runs[2].job_type == "attack"
