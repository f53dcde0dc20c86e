"""Training through the CLI: smoke runs, test with inference_mode off, exact resume, DDP, clear errors."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from poselab.cli.errors import ConfigError
from poselab.cli.lightning import run_lightning_cli
from poselab.models import MODELS, CheckpointError, load_model

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def base_args(model: str, tmp: Path, trainer: str = "smoke") -> list[str]:
    """The composition `make train` uses, with every output redirected under ``tmp``."""
    return [
        "--config", str(ROOT / f"configs/model/{model}.yaml"),
        "--config", str(ROOT / "configs/data/synthetic.yaml"),
        "--config", str(ROOT / f"configs/trainer/{trainer}.yaml"),
        "--checkpoint.dirpath", str(tmp / "ckpt"),
        "--run.save_dir", str(tmp / "runs"),
        "--trainer.default_root_dir", str(tmp / "runs"),
    ]


@pytest.mark.parametrize("model", list(MODELS))
def test_smoke_fit_writes_checkpoints_wandb_and_images_then_tests(model, tmp_path):
    cli = run_lightning_cli(["fit", *base_args(model, tmp_path)], exit_on_error=False)
    assert cli.trainer.global_step > 0
    best, last = tmp_path / "ckpt" / f"{model}.ckpt", tmp_path / "ckpt" / f"{model}-last.ckpt"
    assert best.is_file() and last.is_file()
    assert "optimizer_states" not in torch.load(best, weights_only=True)  # small file to ship
    assert "optimizer_states" in torch.load(last, weights_only=True)  # enough to resume
    runs = list((tmp_path / "runs" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("run-*.wandb"))
    pngs = list((tmp_path / "runs" / "csv" / model).glob("version_*/val_images/epoch000.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 0
    metrics = list((tmp_path / "runs" / "csv" / model).glob("version_*/metrics.csv"))
    header = metrics[0].read_text().splitlines()[0].split(",")
    assert {"train/loss", "val/mpjpe", "val/pmpjpe"} <= set(header)
    if model == "triangulation":
        assert "val/jdr" in header
    # the shipped-checkpoint path: test with gradients allowed (as attacks need), then load for attacks
    cli = run_lightning_cli(["test", *base_args(model, tmp_path), "--trainer.inference_mode", "false",
                             "--run.wandb", "false", "--ckpt_path", str(best)], exit_on_error=False)
    value = cli.trainer.callback_metrics["test/mpjpe"].item()
    assert math.isfinite(value) and value > 0
    assert load_model(best, expected_model=model).name == model


def _final_weights(cli) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in cli.model.state_dict().items()}


class _Crash(pl.Callback):
    """Raise at the first batch of ``epoch`` (an interrupted run)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("simulated crash")


def test_resume_matches_straight_run(tmp_path):
    args = ["--trainer.max_epochs", "3", "--trainer.limit_train_batches", "3", "--run.wandb", "false"]
    straight = run_lightning_cli([*base_args("regression", tmp_path / "a"), *args], run=False,
                                 exit_on_error=False)
    straight.trainer.fit(straight.model, datamodule=straight.datamodule)
    want = _final_weights(straight)

    crashed = run_lightning_cli([*base_args("regression", tmp_path / "b"), *args], run=False,
                                exit_on_error=False)
    crashed.trainer.callbacks.append(_Crash(epoch=2))
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.trainer.fit(crashed.model, datamodule=crashed.datamodule)
    interrupted = _final_weights(crashed)
    assert any(not torch.equal(interrupted[k], want[k]) for k in want)  # it really stopped early

    resumed = run_lightning_cli(["fit", *base_args("regression", tmp_path / "b"), *args,
                                 "--ckpt_path", "last"], exit_on_error=False)
    assert resumed.trainer.current_epoch == 3
    got = _final_weights(resumed)
    for key in want:
        assert torch.allclose(got[key].float(), want[key].float(), atol=1e-6), key


def test_ddp_two_process_cpu_matches_single_process(tmp_path):
    """A 2-process gloo DDP fit, then its last checkpoint validated in one process: same val metrics."""
    args = [*base_args("heatmap_depth", tmp_path), "--run.wandb", "false", "--trainer.strategy", "ddp",
            "--trainer.devices", "2", "--trainer.accelerator", "cpu", "--data.val_size", "8",
            "--data.val_batch_size", "4", "--trainer.limit_val_batches", "null",
            "--trainer.limit_train_batches", "3", "--trainer.enable_progress_bar", "false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PL_DISABLE_FORK": "1"}
    proc = subprocess.run([PY, "-m", "poselab.cli", "fit", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader(next((tmp_path / "runs" / "csv").glob("*/version_*/metrics.csv")).open()))
    ddp = {k: float(r[k]) for r in rows for k in ("val/mpjpe", "val/pmpjpe", "val/jdr") if r.get(k)}
    assert set(ddp) == {"val/mpjpe", "val/pmpjpe", "val/jdr"}

    single = run_lightning_cli(["validate", *base_args("heatmap_depth", tmp_path / "single"),
                                "--run.wandb", "false", "--data.val_size", "8", "--data.val_batch_size", "4",
                                "--trainer.limit_val_batches", "null",
                                "--ckpt_path", str(tmp_path / "ckpt" / "heatmap_depth-last.ckpt")],
                               exit_on_error=False)
    for key, value in ddp.items():
        assert single.trainer.callback_metrics[key].item() == pytest.approx(value, rel=1e-4, abs=1e-4), key


def test_clear_errors_for_unknown_model_bad_key_and_wrong_checkpoint(tmp_path):
    proc = subprocess.run(["make", "-s", "train", "MODEL=mlp"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "unknown MODEL='mlp'; expected one of: regression volumetric heatmap_depth triangulation" \
        in proc.stderr

    with pytest.raises(ConfigError, match="Option 'bogus' is not accepted"):
        run_lightning_cli(["fit", *base_args("regression", tmp_path), "--model.init_args.bogus", "1"],
                          run=True, exit_on_error=False)
    with pytest.raises(ConfigError, match="unrecognized arguments: --trainer.max_stepz"):
        run_lightning_cli(["fit", *base_args("regression", tmp_path), "--trainer.max_stepz", "1"],
                          exit_on_error=False)

    wrong = tmp_path / "wrong.ckpt"
    torch.save({"state_dict": {}, "poselab_model": "volumetric", "hyper_parameters": {}}, wrong)
    with pytest.raises(CheckpointError, match="wrong.ckpt holds a 'volumetric' model, but the model "
                                              "config asks for a 'regr"):
        run_lightning_cli(["test", *base_args("regression", tmp_path), "--ckpt_path", str(wrong)],
                          exit_on_error=False)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"\x00garbage")
    # through the real entry point: one line on stderr, exit status 2, no traceback
    proc = subprocess.run([PY, "-m", "poselab.cli", "test", *base_args("regression", tmp_path),
                           "--ckpt_path", str(corrupt)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"poselab: error: checkpoint {corrupt} could not be loaded safely" in proc.stderr


def test_print_config_composes_configs_and_overrides_later_wins(capsys):
    """`poselab fit --config m --config d --config t --model.init_args.lr X --print_config`: later wins."""
    import yaml

    from poselab.cli import main

    configs = {part: yaml.safe_load((ROOT / f"configs/{part}").read_text())
               for part in ("model/regression.yaml", "data/synthetic.yaml", "trainer/smoke.yaml")}
    argv = ["fit", *[a for part in configs for a in ("--config", str(ROOT / "configs" / part))],
            "--model.init_args.lr", "0.123", "--print_config"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    smoke = configs["trainer/smoke.yaml"]
    assert printed["model"]["class_path"] == "poselab.models.RegressionModel"
    assert printed["model"]["init_args"]["lr"] == 0.123  # the command-line override beats regression.yaml
    for key, value in smoke["model"]["init_args"].items():  # the trainer config beats the model config
        assert printed["model"]["init_args"][key] == value, key
    assert printed["model"]["init_args"]["hidden"] == configs["model/regression.yaml"]["model"]["init_args"][
        "hidden"]
    assert printed["data"]["image_size"] == smoke["data"]["image_size"] == 32  # not synthetic.yaml's 256
    for key, value in smoke["data"].items():
        assert printed["data"][key] == value, key
    assert printed["data"]["train_subjects"] == configs["data/synthetic.yaml"]["data"]["train_subjects"]
    for key, value in smoke["trainer"].items():
        assert printed["trainer"][key] == value, key
    assert printed["seed_everything"] == smoke["seed_everything"]
    assert printed["checkpoint"]["dirpath"] == smoke["checkpoint"]["dirpath"]
