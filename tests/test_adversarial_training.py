"""AdversarialTraining callback on a tiny model: runs, replaces the right samples, logs both errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml
from attack_toys import ToyDataset, ToyMonocular

from poselab.training.adversarial import AdversarialTraining


class Trainable(ToyMonocular):
    """ToyMonocular with a training step that records what it was fed."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.modes: list[tuple[bool, bool]] = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        images = batch["images"][:, :1].float()
        self.seen.append(batch["images"].detach().clone())
        self.modes.append((self.training, all(p.requires_grad for p in self.parameters())))
        sub = {**batch, "joints_cam": batch["joints_cam"][:, :1], "K": batch["K"][:, :1]}
        loss = (self(images, sub)["pose"] - self.pose_target(sub)).norm(dim=-1).mean()
        self.log("train/loss", loss)
        return loss


def fit(callback: AdversarialTraining, steps: int = 3) -> tuple[Trainable, pl.Trainer]:
    model = Trainable()
    loader = torch.utils.data.DataLoader(ToyDataset(8), batch_size=4, shuffle=False)
    trainer = pl.Trainer(
        max_steps=steps,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    trainer.fit(model, loader)
    return model, trainer


def test_adversarial_training_runs_and_logs_clean_and_adversarial_error():
    callback = AdversarialTraining(eps=8.0, steps=3, fraction=0.5, random_start=True)
    model, trainer = fit(callback)
    metrics = trainer.callback_metrics
    for key in ("train/clean_mpjpe", "train/adv_mpjpe", "train/loss"):
        assert key in metrics and torch.isfinite(metrics[key])
    # PGD against the current model raises its error on the replaced samples
    assert metrics["train/adv_mpjpe"] > metrics["train/clean_mpjpe"]
    assert metrics["train/adv_fraction"] == pytest.approx(0.5)
    # the step ran in train mode with trainable weights (restored after crafting)
    assert model.modes and all(m == (True, True) for m in model.modes)


def test_exactly_the_fraction_is_replaced_within_eps():
    callback = AdversarialTraining(eps=8.0, steps=2, fraction=0.25, random_start=True)
    model, _ = fit(callback, steps=2)
    clean = ToyDataset(8).batch["images"].float()
    for step, fed in enumerate(model.seen):
        ref = clean[4 * (step % 2) : 4 * (step % 2) + 4]
        changed = (fed - ref).flatten(1).abs().amax(dim=1)
        assert int((changed > 0).sum()) == 1  # round(0.25 * 4)
        assert float(changed.max()) <= 8.0 + 1e-4
        assert fed.min() >= 0 and fed.max() <= 255


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"fraction": 0.0}, {"fraction": 1.5}, {"steps": 0}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        AdversarialTraining(**kwargs)


def test_config_instantiates_the_callback():
    config = yaml.safe_load((Path(__file__).parents[1] / "configs" / "adv_train.yaml").read_text())
    spec = config["adversarial_training"]
    module, _, name = spec["class_path"].rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    callback = cls(**spec["init_args"])
    assert isinstance(callback, AdversarialTraining)
    assert (
        callback.attack.eps == spec["init_args"]["eps"] and callback.fraction == spec["init_args"]["fraction"]
    )


def test_plain_vs_adversarial_comparison_reaches_the_report(tmp_path):
    from poselab.models import RegressionModel
    from poselab.reporting.report import build_report
    from studies.adv_compare.compare import compare

    def make():
        return RegressionModel(backbone="tiny", backbone_width=8, hidden=32, num_val_images=0, warmup_steps=1)

    loader = torch.utils.data.DataLoader(ToyDataset(8), batch_size=4)
    plain, adv = compare(
        make,
        loader,
        loader,
        tmp_path / "results",
        name="regression",
        dataset="toy",
        steps=2,
        adv={"eps": 4.0, "steps": 1, "fraction": 0.5},
        eps=(8.0,),
        iterations=(1,),
        max_batches=1,
    )
    assert (plain / "results.csv").is_file() and (adv / "results.csv").is_file()
    report = build_report([tmp_path / "results"], tmp_path / "report")
    (robust,) = [t for t in report.tables if t.name == "robustness"]
    assert [r[0] for r in robust.rows] == ["regression/regression_adv", "regression/regression_plain"]
    assert all(r[3] == pytest.approx(r[2] - r[1]) for r in robust.rows)


def test_adv_compare_cli_fine_tunes_a_shipped_checkpoint_on_the_default_data(tmp_path):
    from studies.adv_compare.compare import main

    out = tmp_path / "results"
    common = ["--data-args", '{"train_size": 8, "test_size": 2}', "--steps", "2", "--batch-size", "4",
              "--adv-steps", "1", "--attack-eps", "2", "--attack-iterations", "1", "--max-batches", "1",
              "--out", str(out)]
    root = Path(__file__).resolve().parents[1]
    assert main(["--model", "regression", "--init", str(root / "checkpoints/regression.ckpt"), *common]) == 0
    for kind in ("plain", "adv"):
        with (out / f"regression_{kind}" / "results.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert {float(r["eps"]) for r in rows} == {0.0, 2.0}
    # another model's checkpoint is refused before any training
    wrong = ["--model", "regression", "--init", str(root / "checkpoints/volumetric.ckpt"), *common]
    assert main(wrong) == 2
