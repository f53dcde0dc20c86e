"""A new experiment kind is one class plus its registration.

The brightness kind below is defined in a user module written by the test and registered there only; it then
runs through ``poselab test`` (``--run.plugins``), its rows are read by ``poselab report`` (``--plugin``) and
its table reaches both reports, without any other module changing.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from support.cli import run_cli, tiny_attack_test

from poselab.experiments import (
    AttackConfigError,
    Experiment,
    build_experiment,
    experiment_names,
    get_experiment,
    register_experiment,
    unregister_experiment,
)
from poselab.results.schema import is_clean

ROOT = Path(__file__).resolve().parents[1]

TOY_KIND = '''
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from poselab.data.sample import select_views
from poselab.experiments import Experiment, register_experiment
from poselab.experiments.keys import CLEAN, MPJPE, ResultKey
from poselab.experiments.runner import update_metrics


@register_experiment
@dataclass
class Brightness(Experiment):
    """The first view brightened by each of ``offsets`` px (clipped to 0..255); rows: attack clean, eps the
    offset (the clean row: offset 0)."""

    name: ClassVar[str] = "toy_brightness"
    axes: ClassVar[tuple[str, ...]] = ("eps",)
    kind: str = "toy_brightness"
    offsets: list[float] = field(default_factory=lambda: [16.0, 128.0])

    def applies_to(self, multiview):
        return not multiview

    def metric_names(self, multiview):
        return (MPJPE,)

    def keys(self, offset):
        return [ResultKey(self.kind, CLEAN, float(offset), 0, 1, "", MPJPE)]

    def cells(self, multiview, num_views):
        return [key for offset in (0.0, *self.offsets) for key in self.keys(offset)]

    @classmethod
    def is_clean_row(cls, get):
        return get("attack") == CLEAN and float(get("eps")) == 0

    def run(self, batch, ctx):
        sub = select_views(batch, [0])
        images = sub["images"].float()
        truth = ctx.model.pose_target(sub)
        with torch.no_grad():
            for offset in (0.0, *self.offsets):
                out = ctx.model((images + offset).clamp(0, 255), sub)
                update_metrics(ctx.update, self.keys(offset), out, truth, None, sub, images.shape[-1])
'''


@dataclass
class Toy(Experiment):
    name: ClassVar[str] = "toy_registry"
    kind: str = "toy_registry"


@pytest.fixture()
def registered():
    register_experiment(Toy)
    yield Toy
    unregister_experiment(Toy.name)


def test_registry_knows_the_new_kind_only_while_registered(registered) -> None:
    assert get_experiment("toy_registry") is Toy and experiment_names()[-1] == "toy_registry"
    assert build_experiment(kind="toy_registry") == Toy()
    with pytest.raises(ValueError, match="already registered"):
        register_experiment(type("Other", (Experiment,), {"name": "toy_registry"}))
    with pytest.raises(AttackConfigError, match=r"unknown experiment option\(s\) \['eps'\]"):
        build_experiment(kind="toy_registry", eps=[1])
    unregister_experiment("toy_registry")
    with pytest.raises(AttackConfigError, match="unknown experiment kind 'toy_registry'; expected one of "
                       "untargeted, multiview, camera_swap, rotation, corruption"):
        build_experiment(kind="toy_registry")
    register_experiment(Toy)


def test_clean_row_rule_is_the_kinds_own() -> None:
    row = {"experiment": "untargeted", "attack": "clean", "eps": 0.0, "corruption": ""}
    assert is_clean(row) and not is_clean({**row, "attack": "fgsm"})
    assert not is_clean({**row, "experiment": "corruption", "corruption": "fog"})
    assert get_experiment("untargeted").clean_covers(0.0, 10)
    assert not get_experiment("rotation").clean_covers(0.0, 0)  # targeted: no clean row
    assert get_experiment("multiview").clean_key("jdr").attacked_views == 0


def test_kind_of_a_user_module_runs_through_poselab_test_and_report(tmp_path: Path) -> None:
    """``poselab test`` and ``poselab report`` as their own processes, each importing the user's module."""
    (tmp_path / "my_kinds.py").write_text(TOY_KIND)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    test = tiny_attack_test(tmp_path, [{"kind": "toy_brightness", "offsets": [16, 128]},
                                       {"kind": "untargeted", "attack": "fgsm", "eps": [0, 8],
                                        "iterations": [1]}])
    unknown = run_cli(test)  # the refusal in this process (the plug-in is not imported here)
    assert unknown.returncode == 2 and "unknown experiment kind 'toy_brightness'" in unknown.stderr
    done = subprocess.run([*test, "--run.plugins", "[my_kinds]"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = (tmp_path / "results").iterdir()
    with open(folder / "results.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["experiment"] == "toy_brightness"]
    value = {float(r["eps"]): float(r["value"]) for r in rows}
    assert sorted(value) == [0.0, 16.0, 128.0] and {r["attack"] for r in rows} == {"clean"}
    assert value[128.0] > value[0.0]  # a strong brightness shift hurts the pose
    run_tables = (folder / "tables.md").read_text()
    assert "toy_brightness: MPJPE P1" in run_tables and "Table 1a" in run_tables

    report = [sys.executable, "-m", "poselab.cli", "report", str(folder), "--out", str(tmp_path / "rep"),
              "--no-wandb"]
    refused = subprocess.run(report, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "unknown experiment 'toy_brightness'" in refused.stderr
    ok = subprocess.run([*report, "--plugin", "my_kinds"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    tables = (tmp_path / "rep" / "tables.md").read_text()
    section = tables[tables.index("toy_brightness: MPJPE P1"):]
    assert [line.split("|")[1].strip() for line in section.splitlines()[4:7]] == ["0", "16", "128"]
