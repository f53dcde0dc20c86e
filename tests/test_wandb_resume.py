"""`make train RESUME=1` continues the W&B run of the interrupted training (same id), and the run config holds
each hyper-parameter once (the CLI's dotted keys, not Lightning's unprefixed copies). Offline runs, read back
from their files."""

from __future__ import annotations

from pathlib import Path

import torch
from support.wandb_offline import read_run
from test_training import base_args

from poselab.cli.lightning import run_lightning_cli
from poselab.wandb.resume import RUN_ID_KEY


def _folders(tmp: Path) -> set[Path]:
    return set((tmp / "runs" / "wandb" / "wandb").glob("offline-run-*"))


def _new_run(tmp: Path, before: set[Path]):
    """The one offline run written since ``before`` (folder names sort by start second, then by run id:
    runs started within the same second would not sort in start order)."""
    (folder,) = _folders(tmp) - before
    return read_run(folder, wait_s=20)


def test_resumed_training_continues_its_wandb_run_and_logs_each_hyper_parameter_once(tmp_path):
    args = [*base_args("regression", tmp_path), "--trainer.limit_train_batches", "2"]
    run_lightning_cli(["fit", *args], exit_on_error=False)
    ckpt = tmp_path / "ckpt"
    first = _new_run(tmp_path, set())
    assert torch.load(ckpt / "regression-last.ckpt", weights_only=True)[RUN_ID_KEY] == first.run_id
    assert RUN_ID_KEY not in torch.load(ckpt / "regression.ckpt", weights_only=True)  # weights-only: none

    before = _folders(tmp_path)
    cli = run_lightning_cli(
        ["fit", *args, "--ckpt_path", "last", "--trainer.max_epochs", "2"], exit_on_error=False
    )
    assert cli.trainer.current_epoch == 2
    second = _new_run(tmp_path, before)
    assert second.run_id == first.run_id and second.name == first.name and second.group == first.group
    steps = [[h["trainer/global_step"] for h in r.history if "train/loss" in h] for r in (first, second)]
    assert steps[0] and steps[1] and min(steps[1]) > max(steps[0])  # the second part continues the first

    for run in (first, second):
        assert run.config["model.init_args.lr"] == 0.001 and run.config["data.image_size"] == 32
        assert not {"lr", "backbone", "image_size", "batch_size", "_instantiator"} & set(run.config)

    before = _folders(tmp_path)
    run_lightning_cli(["test", *args, "--ckpt_path", "last"], exit_on_error=False)  # an evaluation: a new run
    third = _new_run(tmp_path, before)
    assert len(_folders(tmp_path)) == 3 and third.run_id != first.run_id and third.job_type == "attack"
