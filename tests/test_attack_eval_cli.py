"""`poselab attack-eval`: several models' `poselab test` runs and their report in one process."""

from __future__ import annotations

import sys

import pytest

import poselab.cli.attack_eval as attack_eval
from poselab.cli.attack_eval import model_args


def test_model_placeholder_is_replaced_in_every_argument():
    template = ["--config", "configs/model/{model}.yaml", "--ckpt_path", "c/{model}.ckpt", "--x", "1"]
    assert model_args(template, "volumetric") == ["--config", "configs/model/volumetric.yaml", "--ckpt_path",
                                                  "c/volumetric.ckpt", "--x", "1"]


def test_models_run_in_order_in_one_process_then_the_report(monkeypatch, tmp_path):
    import poselab.cli.lightning as lightning
    import poselab.cli.report as report

    calls: list = []
    monkeypatch.setattr(lightning, "run_lightning_cli", lambda argv: calls.append(("test", argv)))
    monkeypatch.setattr(report, "main", lambda argv: calls.append(("report", argv)) or 0)
    rc = attack_eval.main(["--model", "regression", "--model", "triangulation", "--report", f"{tmp_path}/r",
                           "--results", f"{tmp_path}/{{model}}-synthetic", "--report-arg=--print", "--",
                           "--config", "configs/model/{model}.yaml"])
    assert rc == 0 and "torch" in sys.modules
    assert calls == [("test", ["test", "--config", "configs/model/regression.yaml"]),
                     ("test", ["test", "--config", "configs/model/triangulation.yaml"]),
                     ("report", [f"{tmp_path}/regression-synthetic", f"{tmp_path}/triangulation-synthetic",
                                 "--out", f"{tmp_path}/r", "--print"])]


def test_the_first_failing_model_stops_the_rest(monkeypatch):
    import poselab.cli.lightning as lightning

    seen: list = []

    def run(argv):
        seen.append(argv[-1])
        if argv[-1] == "a":
            raise SystemExit(143)  # e.g. SIGTERM in the first run

    monkeypatch.setattr(lightning, "run_lightning_cli", run)
    with pytest.raises(SystemExit) as stop:
        attack_eval.main(["--model", "a", "--model", "b", "--", "{model}"])
    assert stop.value.code == 143 and seen == ["a"]
    with pytest.raises(SystemExit):
        attack_eval.main(["--model", "a", "--report", "x"])  # --report without --results: usage error
