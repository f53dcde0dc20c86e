"""A new attack is one class plus its registration.

The momentum attack below is defined and registered here only; it then runs through ``poselab test``
(the AttackEvaluation callback), its rows are read by ``poselab report`` and its tables reach the
offline W&B run, without any other module changing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml
from support.cli import run_cli, tiny_attack_test
from torch import Tensor

from poselab.attacks import Attack, attack_names, get_attack, register_attack, unregister_attack
from poselab.attacks.base import Ball

ROOT = Path(__file__).resolve().parents[1]


class MomentumIGSM(Attack):
    """MI-FGSM (Dong et al.): gradient-sign steps along the accumulated L1-normalised gradient."""

    name = "toy_momentum"
    goal = False
    decay = 1.0

    def init(self, ball: Ball, mask: Tensor | None, generator: torch.Generator | None) -> Tensor:
        self.velocity = torch.zeros_like(ball.x0)
        return super().init(ball, mask, generator)

    def step(self, ball: Ball, x: Tensor, grad: Tensor, signed_alpha: Tensor) -> Tensor:
        l1 = grad.abs().flatten(1).mean(1).clamp_min(1e-12).reshape(-1, *([1] * (grad.dim() - 1)))
        self.velocity = self.decay * self.velocity + grad / l1
        return torch.addcmul(x, ball.direction(self.velocity.clone()), signed_alpha)


@pytest.fixture()
def registered():
    register_attack(MomentumIGSM)
    yield MomentumIGSM
    unregister_attack(MomentumIGSM.name)


def test_registry_knows_the_new_attack_only_while_registered(registered) -> None:
    assert get_attack("toy_momentum") is MomentumIGSM and "toy_momentum" in attack_names()
    with pytest.raises(ValueError, match="already registered"):
        register_attack(type("Other", (Attack,), {"name": "toy_momentum"}))
    unregister_attack("toy_momentum")
    with pytest.raises(ValueError, match="unknown attack 'toy_momentum'"):
        get_attack("toy_momentum")
    register_attack(MomentumIGSM)


def test_new_attack_runs_through_poselab_test_report_and_wandb(registered, tmp_path: Path) -> None:
    from poselab.cli import main
    from poselab.cli.lightning import run_lightning_cli

    attack_cfg = yaml.safe_load((ROOT / "configs/attack/quick.yaml").read_text())
    attack_cfg["attack_evaluation"]["init_args"].update(
        out_dir=str(tmp_path / "results"), max_samples=2,
        experiments=[{"kind": "untargeted", "attack": ["toy_momentum", "igsm_u"], "eps": [0, 8],
                      "iterations": [2]}])
    (tmp_path / "attack.yaml").write_text(yaml.safe_dump(attack_cfg))
    run_lightning_cli(["test", "--config", str(ROOT / "configs/model/regression.yaml"),
                       "--config", str(ROOT / "configs/data/synthetic.yaml"),
                       "--config", str(ROOT / "configs/trainer/smoke.yaml"),
                       "--config", str(tmp_path / "attack.yaml"),
                       "--checkpoint.dirpath", str(tmp_path / "ckpt"),
                       "--run.save_dir", str(tmp_path / "runs"),
                       "--trainer.default_root_dir", str(tmp_path / "runs"), "--run.allow_untrained", "true"])
    (out,) = (tmp_path / "results").iterdir()
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    value = {(r["attack"], r["metric"]): float(r["value"]) for r in rows}
    assert value[("toy_momentum", "mpjpe")] > value[("clean", "mpjpe")]  # the attack did its job
    assert value[("toy_momentum", "mpjpe")] != value[("igsm_u", "mpjpe")]  # and it is not IGSM-U
    tables = (out / "tables.md").read_text()
    assert "| eps | regression igsm_u it=2 | regression toy_momentum it=2 |" in tables  # two attacks, 2 it
    wandb_tables = list((tmp_path / "runs").rglob("attack/results*.table.json"))
    assert wandb_tables and "toy_momentum" in wandb_tables[0].read_text()

    report = tmp_path / "report"
    assert main(["report", str(out), "--out", str(report), "--wandb-dir", str(tmp_path / "wandb")]) == 0
    assert "toy_momentum" in (report / "tables.md").read_text()
    logged = list((tmp_path / "wandb").rglob("tables/t1_untargeted_mpjpe*.table.json"))
    assert logged and "toy_momentum" in json.dumps(json.loads(logged[0].read_text()))


def test_results_reader_rejects_unregistered_attack_names(tmp_path: Path) -> None:
    from poselab.results.reader import ResultsError, read_run
    from poselab.results.schema import COLUMNS

    folder = tmp_path / "run"
    folder.mkdir()
    row = dict(zip(COLUMNS, ["m", "d", "untargeted", "toy_momentum", 8.0, 2, 1, "", "mpjpe", 90.0, 2]))
    with open(folder / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerow(row)
    with pytest.raises(ResultsError, match="unknown attack 'toy_momentum'.*--plugin MODULE"):
        read_run(folder)
    register_attack(MomentumIGSM)
    try:
        assert read_run(folder).cells[0].attack == "toy_momentum"
    finally:
        unregister_attack("toy_momentum")


def test_attack_of_a_user_module_runs_in_separate_test_and_report_processes(tmp_path: Path) -> None:
    """``poselab test`` and ``poselab report`` run as their own processes: the user's module that registers
    the attack is imported with ``--run.plugins`` / ``--plugin`` (a results file never imports code)."""
    import os
    import subprocess
    import sys

    (tmp_path / "my_attacks.py").write_text(
        "from poselab.attacks import register_attack\n"
        "from poselab.attacks.igsm import IGSMU\n"
        "class Mine(IGSMU):\n    name = 'mine'\n"
        "register_attack(Mine)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    test = tiny_attack_test(tmp_path, [{"kind": "untargeted", "attack": "mine", "eps": [0, 8],
                                        "iterations": [2]}])
    unknown = run_cli(test)  # the refusals in this process (no plug-in imported here)
    assert unknown.returncode == 2 and "unknown attack 'mine'" in unknown.stderr, unknown.stderr[-2000:]
    missing = run_cli([*test, "--run.plugins", "[no_such_module]"])
    assert missing.returncode == 2 and "run.plugins" in missing.stderr and "no_such_module" in missing.stderr
    done = subprocess.run([*test, "--run.plugins", "[my_attacks]"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = (tmp_path / "results").iterdir()
    with open(folder / "results.csv", newline="") as f:
        assert "mine" in {r["attack"] for r in csv.DictReader(f)}

    report = [sys.executable, "-m", "poselab.cli", "report", str(folder), "--out", str(tmp_path / "rep"),
              "--no-wandb"]
    refused = subprocess.run(report, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "unknown attack 'mine'" in refused.stderr
    ok = subprocess.run([*report, "--plugin", "my_attacks"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "| eps | regression it=2 |" in (tmp_path / "rep" / "tables.md").read_text()
