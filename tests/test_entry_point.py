"""The shipped checkpoints give the same results.csv through poselab.evaluate (the adapter) as through
``make attack-eval``'s path (``poselab test`` with the AttackEvaluation callback), mono- and multi-view."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: every experiment kind of the quick grid, on a smaller eps/iteration grid
GRID = [
    {"kind": "untargeted", "attack": ["fgsm", "igsm_u"], "eps": [0, 8], "iterations": [1, 2]},
    {"kind": "multiview", "attack": ["fgsm", "igsm_u"], "eps": [0, 8], "iterations": [1, 2],
     "attacked_views": [1, 4]},
    {"kind": "camera_swap", "attack": ["fgsm", "igsm_t"], "eps": [8], "iterations": [0, 2],
     "target_cameras": [2]},
    {"kind": "rotation", "attack": ["fgsm", "igsm_t"], "eps": [8], "iterations": [2], "angles": [30]},
]
SAMPLES = 2
DATA = [str(ROOT / "configs/data/synthetic.yaml"), str(ROOT / "configs/trainer/cpu.yaml")]


def _rows(folder: Path) -> dict[tuple, float]:
    with open(folder / "results.csv", newline="") as f:
        return {tuple(v for k, v in r.items() if k not in ("value", "n")) + (r["n"],): float(r["value"])
                for r in csv.DictReader(f)}


def _callback_path(model: str, tmp_path: Path) -> Path:
    """``make attack-eval MODEL=<model>``'s command (quick preset, this grid), in this process."""
    from poselab.cli.lightning import run_lightning_cli

    cfg = yaml.safe_load((ROOT / "configs/attack/quick.yaml").read_text())
    cfg["attack_evaluation"]["init_args"].update(out_dir=str(tmp_path / "cli"), max_samples=SAMPLES,
                                                 experiments=GRID, print_tables=False)
    (tmp_path / "attack.yaml").write_text(yaml.safe_dump(cfg))
    run_lightning_cli(["test", "--config", str(ROOT / f"configs/model/{model}.yaml"), "--config", DATA[0],
                       "--config", DATA[1], "--config", str(tmp_path / "attack.yaml"),
                       "--ckpt_path", str(ROOT / f"checkpoints/{model}.ckpt"), "--data.num_workers", "0",
                       "--run.save_dir", str(tmp_path / "runs_cli"), "--run.wandb", "false",
                       "--trainer.default_root_dir", str(tmp_path / "runs_cli"),
                       "--trainer.enable_progress_bar", "false"], exit_on_error=False)
    return tmp_path / "cli" / f"{model}-synthetic"


@pytest.mark.parametrize("model", ["regression", "triangulation"])
def test_the_entry_point_gives_the_callback_paths_numbers(model: str, tmp_path: Path) -> None:
    import poselab

    expected = _rows(_callback_path(model, tmp_path))
    rows = poselab.evaluate(ROOT / f"checkpoints/{model}.ckpt", data=DATA, preset="quick",
                            out=tmp_path / "api",
                            data_options={"num_workers": 0}, wandb=False, save_dir=tmp_path / "runs_api",
                            max_samples=SAMPLES, experiments=GRID, print_tables=False,
                            trainer_options={"enable_progress_bar": False})
    got = _rows(tmp_path / "api" / f"{model}-synthetic")
    assert len(rows) == len(got) and got.keys() == expected.keys()
    assert {k[2] for k in got} >= ({"untargeted", "camera_swap", "rotation"} if model == "regression"
                                   else {"multiview", "rotation"})
    far = {k: (expected[k], got[k]) for k in got if not math.isclose(got[k], expected[k], rel_tol=1e-6,
                                                                     abs_tol=1e-6)}
    assert far == {}
