"""examples/own_model.py at its tiny size: a torchvision ResNet-18 trained in plain PyTorch, then
poselab.evaluate writes its results folder and W&B run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_own_model_example_runs_end_to_end_at_tiny_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    pytest.importorskip("torchvision")
    spec = importlib.util.spec_from_file_location("own_model_example", ROOT / "examples" / "own_model.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.chdir(tmp_path)  # the offline W&B run goes to ./runs
    rows = example.main(["--tiny", "--out", str(tmp_path / "results")])
    folder = tmp_path / "results" / "resnet18_own-synthetic"
    meta = json.loads((folder / "results.json").read_text())
    assert meta["meta"]["model"] == "resnet18_own" and len(meta["rows"]) == len(rows)
    fgsm = [r for r in rows if r["attack"] == "fgsm" and r["metric"] == "mpjpe"]
    assert fgsm and all(r["value"] > 0 for r in fgsm) and (folder / "report.md").is_file()
    assert list((tmp_path / "runs" / "wandb").rglob("run-*.wandb"))
