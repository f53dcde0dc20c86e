"""W&B lineage, read back from the offline run files: a training run logs its checkpoints as a ``model``
artifact (aliases best, last), summarises ``val/mpjpe`` by its minimum and logs the learning rate; an
attack evaluation of that checkpoint uses the same artifact version (same digest) as its input and logs its
results folder as its output; each run lands in its grid's group."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from support.wandb_offline import read_run
from test_training import ROOT, base_args

from poselab.cli.lightning import run_lightning_cli


def _folders(tmp: Path) -> set[Path]:
    return set((tmp / "runs" / "wandb" / "wandb").glob("offline-run-*"))


def test_checkpoint_to_robustness_lineage_groups_and_summaries(tmp_path):
    args = [*base_args("regression", tmp_path), "--trainer.limit_train_batches", "2",
            "--trainer.max_epochs", "2"]
    run_lightning_cli(["fit", *args], exit_on_error=False)
    (folder,) = _folders(tmp_path)
    assert re.fullmatch(r"offline-run-\d{8}_\d{6}-[a-z0-9]+", folder.name)  # what docs/WANDB.md says
    train = read_run(folder, wait_s=20)
    assert train.group == "train-smoke" and train.job_type == "train" and "train-smoke" in train.tags
    assert re.fullmatch(r"regression-synthetic-train-\d{8}-\d{6}", train.name)
    assert train.metrics["val/mpjpe"]["summary"] == ["min"]
    assert train.metrics["val/mpjpe"]["step_metric"] == "trainer/global_step"
    best_val = min(h["val/mpjpe"] for h in train.history if "val/mpjpe" in h)
    assert train.summary["val/mpjpe"] == {"min": best_val}
    lrs = [h["lr-AdamW"] for h in train.history if "lr-AdamW" in h]
    assert len(lrs) >= 4 and len(set(lrs)) > 1  # warm-up + cosine: per step
    models = train.outputs("model")
    assert {a["name"] for a in models} == {"ckpt-regression-tiny-32"}
    assert sorted(alias for a in models for alias in a["aliases"] if alias != "latest") == ["best", "last"]
    best = next(a for a in models if "best" in a["aliases"])
    assert list(best["entries"]) == ["model.ckpt"] and best["metadata"]["file"] == "regression.ckpt"

    attack = yaml.safe_load((ROOT / "configs/attack/quick.yaml").read_text())
    init = attack["attack_evaluation"]["init_args"]
    init.pop("preset")  # a loose grid: named after its config file (a preset would name it)
    init.update(out_dir=str(tmp_path / "results"), max_samples=2, examples=0,
                experiments=[{"kind": "untargeted", "eps": [0, 4], "iterations": [1]}])
    (tmp_path / "attack").mkdir()
    (tmp_path / "attack" / "mini.yaml").write_text(yaml.safe_dump(attack))  # a grid named "mini"
    before = _folders(tmp_path)
    ckpt = tmp_path / "ckpt" / "regression.ckpt"
    run_lightning_cli(["test", *base_args("regression", tmp_path), "--config",
                       str(tmp_path / "attack" / "mini.yaml"), "--ckpt_path", str(ckpt)], exit_on_error=False)
    (folder,) = _folders(tmp_path) - before
    back = read_run(folder, wait_s=20)
    assert back.group == "mini" and back.job_type == "attack"
    assert "mini" in back.tags and back.config["grid"] == "mini"
    assert re.fullmatch(r"regression-synthetic-attack-\d{8}-\d{6}", back.name)
    (used,) = back.inputs()
    assert (used["type"], used["name"]) == ("model", "ckpt-regression-tiny-32")
    assert used["entries"] == {"model.ckpt": ckpt.resolve().as_uri()}  # by reference: nothing copied
    assert used["digest"] == best["digest"]  # the version the training run logged as best
    assert {a["type"] for a in back.outputs()} == {"results", "run_table"}  # run_table: W&B's own tables
    (results,) = back.outputs("results")
    out = tmp_path / "results" / "regression-synthetic"
    assert (results["type"], results["name"]) == ("results", "results-mini-regression-synthetic")
    files = {"results.csv", "results.json", "per_joint.csv", "report.md", "tables.md", "overview.png"}
    assert files <= set(results["entries"]) and not any(e.startswith(".partial") for e in results["entries"])
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["wandb"]["group"] == "mini" and meta["wandb"]["name"] == back.name

    before = _folders(tmp_path)  # the user's group: the grid stays in tags and config
    grid_config = str(tmp_path / "attack" / "mini.yaml")
    run_lightning_cli(["test", *base_args("regression", tmp_path), "--config", grid_config,
                       "--ckpt_path", str(ckpt), "--run.group", "mine"], exit_on_error=False)
    (folder,) = _folders(tmp_path) - before
    again = read_run(folder, wait_s=20)
    assert again.group == "mine" and "mini" in again.tags and again.config["grid"] == "mini"
    assert again.name != back.name  # unique per invocation
    assert [a["name"] for a in again.outputs("results")] == ["results-mini-regression-synthetic"]
