"""`DATA=h36m` end to end through the real CLI (``poselab.cli.main``) on a tiny fake Human3.6M tree:
``fit`` writes a checkpoint with finite val metrics, then ``test`` with the attack callback evaluates it."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
import yaml
from test_data_h36m import build_tree  # plain function: the fake learnable-triangulation layout

from poselab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _args(tmp: Path, data_root: Path) -> list[str]:
    """`make train DATA=h36m TRAINER=smoke` composition, shrunk to the fake tree, outputs under ``tmp``."""
    return [
        "--config", str(ROOT / "configs/model/regression.yaml"),
        "--config", str(ROOT / "configs/data/h36m.yaml"),
        "--config", str(ROOT / "configs/trainer/smoke.yaml"),
        "--data.root", str(data_root),
        "--data.train_subjects", "[S1]", "--data.val_subjects", "[S9]", "--data.test_subjects", "[S9]",
        "--data.train_stride", "1", "--data.val_stride", "1", "--data.test_stride", "1",
        "--data.image_size", "32", "--data.num_workers", "0",
        "--checkpoint.dirpath", str(tmp / "ckpt"),
        "--run.save_dir", str(tmp / "runs"),
        "--trainer.default_root_dir", str(tmp / "runs"),
    ]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, Path]:
    """Fake tree (S1: train, S9: val/test; 2 actions x 2 frames x 4 cameras) and one smoke `fit` on it."""
    tmp = tmp_path_factory.mktemp("h36m_e2e")
    data_root = tmp / "human36m"
    build_tree(data_root)
    assert main(["fit", *_args(tmp, data_root), "--trainer.max_epochs", "2", "--trainer.max_steps", "2"]) == 0
    return tmp, data_root


def test_fit_on_h36m_writes_checkpoint_and_finite_val_metrics(fitted) -> None:
    tmp, _ = fitted
    best, last = tmp / "ckpt" / "regression.ckpt", tmp / "ckpt" / "regression-last.ckpt"
    assert best.is_file() and last.is_file()
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["global_step"] == 2
    assert ckpt["datamodule_hyper_parameters"]["dataset"] == "h36m"
    (metrics,) = (tmp / "runs" / "csv" / "regression").glob("version_*/metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    val = [float(r[k]) for r in rows for k in ("val/mpjpe", "val/pmpjpe") if r.get(k)]
    assert len(val) == 4 and all(math.isfinite(v) and v > 0 for v in val)  # 2 epochs x 2 metrics


def test_attack_test_on_h36m_writes_results_named_h36m(fitted, tmp_path: Path) -> None:
    tmp, data_root = fitted
    attack_cfg = yaml.safe_load((ROOT / "configs/attack/quick.yaml").read_text())
    init = attack_cfg["attack_evaluation"]["init_args"]
    init.update(out_dir=str(tmp_path / "results"), max_samples=2, examples=0, experiments=[
        {"kind": "untargeted", "eps": [0, 4], "iterations": [1, 2]},
    ])
    (tmp_path / "attack.yaml").write_text(yaml.safe_dump(attack_cfg))
    argv = ["test", *_args(tmp_path, data_root), "--config", str(tmp_path / "attack.yaml"),
            "--trainer.inference_mode", "false", "--run.wandb", "false",
            "--ckpt_path", str(tmp / "ckpt" / "regression.ckpt")]
    assert main(argv) == 0
    (out,) = (tmp_path / "results").iterdir()
    assert out.name == "regression-h36m"
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert rows and {r["dataset"] for r in rows} == {"h36m"} and {r["model"] for r in rows} == {"regression"}
    clean = [r for r in rows if r["attack"] == "clean" and r["metric"] == "mpjpe"]
    assert clean and all(math.isfinite(float(r["value"])) and float(r["value"]) > 0 for r in clean)
    assert all(int(r["n"]) == 2 for r in clean)  # max_samples of the 4 S9 test samples
    assert any(r["attack"] != "clean" and math.isfinite(float(r["value"])) for r in rows)
