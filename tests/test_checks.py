"""Sanity flags: each one raised by a purpose-built tiny model and quiet on a sound one; recorded in
results.json, printed once and shown in the run's report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from attack_toys import (
    ToyDataset,
    ToyMonocular,
    ToyTriangulation,
    make_batch,
    quiet_trainer,
    train_monocular,
)
from torch import Tensor, nn
from torch.utils.data import DataLoader

from poselab.attacks.base import attack_mode, clone_tensors
from poselab.evaluation.callback import AttackEvaluation
from poselab.evaluation.checks import FLAG_NAMES, row_checks, sanity_flags, start_checks
from poselab.experiments import build_experiments
from poselab.experiments.cells import CellMetrics
from poselab.experiments.runner import RunContext

UNTARGETED = [{"kind": "untargeted", "attack": ["fgsm", "igsm_u"], "eps": [0, 2, 8], "iterations": [1, 5]}]
ENSEMBLE = [{"kind": "untargeted", "attack": ["ensemble"], "eps": [0, 8], "iterations": [5]}]


class Quantised(ToyMonocular):
    """Rounds its input to 8 grey levels first: the input gradient is zero everywhere."""

    def forward(self, images: Tensor, batch: dict) -> dict:
        return super().forward(torch.round(images / 32) * 32, batch)


class ForcedDropout(ToyMonocular):
    """Dropout on its features that stays on: ``eval()`` cannot switch it off (``train`` overridden)."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def train(self, mode: bool = True) -> ForcedDropout:
        return super().train(True)

    def forward(self, images: Tensor, batch: dict) -> dict:
        return super().forward(self.drop(images), batch)


class NaNPose(ToyMonocular):
    """Returns NaN poses, on clean images or (``attacked_only``) only once the pixels leave whole values."""

    def __init__(self, attacked_only: bool = False) -> None:
        super().__init__()
        self.attacked_only = attacked_only

    def forward(self, images: Tensor, batch: dict) -> dict:
        out = super().forward(images, batch)
        off = (images != images.round()).flatten(2).any(-1) if self.attacked_only else torch.ones(
            images.shape[:2], dtype=torch.bool, device=images.device)
        nan = torch.full_like(out["pose"], float("nan"))
        out["pose"] = torch.where(off[..., None, None], nan, out["pose"])
        return out


class _Reverse(torch.autograd.Function):
    """Identity forward, negated gradient backward (an obfuscated gradient)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return -grad


class ReversedGradient(ToyMonocular):
    """Its gradient points the wrong way: gradient attacks lower its error, so the error shrinks with eps and
    the gradient-free Square attack gives the ensemble's worst cases."""

    def forward(self, images: Tensor, batch: dict) -> dict:
        return super().forward(_Reverse.apply(images), batch)


def _model(cls: type, *args) -> nn.Module:
    torch.manual_seed(0)
    return cls(*args)


@pytest.fixture(scope="module")
def trained() -> dict[str, Tensor]:
    """The weights of a briefly trained toy monocular model (an untrained one barely reacts to attacks)."""
    return train_monocular().state_dict()


def _trained(cls: type, weights: dict[str, Tensor]) -> nn.Module:
    model = cls()
    model.load_state_dict(weights)
    return model.eval()


def _start(model: nn.Module, experiments: list[dict] = UNTARGETED) -> dict[str, dict]:
    batch = make_batch(4)
    with attack_mode(model):
        flags = start_checks(model, clone_tensors(batch), build_experiments(experiments))
    return {f.flag: f.to_dict() for f in flags}


def _rows(model: nn.Module, experiments: list[dict], batch: dict | None = None) -> list[dict]:
    """The engine's rows of ``model`` under ``experiments`` on one toy batch (as the callback runs them)."""
    batch = make_batch(6) if batch is None else batch
    specs = build_experiments(experiments)
    multiview = model.multiview
    cells = CellMetrics(specs, multiview, batch["images"].shape[1])
    with attack_mode(model):
        ctx = RunContext(model=model, update=cells.update, max_batch=64)
        for spec in specs:
            if spec.applies_to(multiview):
                spec.run(clone_tensors(batch), ctx)
    rows, _ = cells.collect(None, 1, "toy", "toy")
    return rows


def _row_flags(model: nn.Module, experiments: list[dict], batch: dict | None = None) -> dict[str, dict]:
    return {f.flag: f.to_dict() for f in row_checks(_rows(model, experiments, batch))}


def test_zero_gradients_of_a_quantising_model_are_flagged() -> None:
    flag = _start(_model(Quantised))["zero_gradients"]
    assert flag["triggered"] and flag["zero_sample_share"] == 1.0 and flag["zero_pixel_share"] == 1.0
    sound = _start(_model(ToyMonocular))["zero_gradients"]
    assert not sound["triggered"] and sound["zero_sample_share"] == 0.0 and sound["samples"] == 4
    assert sound["zero_pixel_share"] < 0.5 and sound["non_finite_pixel_share"] == 0.0


def test_dropout_left_on_is_flagged_as_randomness() -> None:
    flag = _start(_model(ForcedDropout))["randomness"]
    assert flag["triggered"] and flag["max_pass_difference_mm"] > 1 and flag["training_modules"] >= 1
    assert "drop" in flag["detail"]
    sound = _start(_model(ToyMonocular))["randomness"]
    assert not sound["triggered"] and sound["max_pass_difference_mm"] == 0 and sound["training_modules"] == 0


def test_a_model_handed_in_train_mode_is_evaluated_in_eval_mode_and_not_flagged() -> None:
    model = _model(ToyMonocular).train()  # its BatchNorm would use batch statistics: attack_mode switches it
    assert not _start(model)["randomness"]["triggered"]


def test_non_finite_outputs_are_flagged_on_clean_images_and_under_attack() -> None:
    assert _start(_model(NaNPose))["non_finite"]["triggered"]
    assert not _start(_model(NaNPose, True))["non_finite"]["triggered"]  # clean pixels are whole numbers
    flag = _row_flags(_model(NaNPose, True), UNTARGETED)["non_finite"]
    assert flag["triggered"] and flag["short_cells"] >= 1 and "n=0" in flag["detail"]  # (fractional pixels)
    assert not _row_flags(_model(ToyMonocular), UNTARGETED)["non_finite"]["triggered"]


def test_an_error_shrinking_with_eps_is_flagged_as_non_monotonic(trained: dict[str, Tensor]) -> None:
    flag = _row_flags(_trained(ReversedGradient, trained), UNTARGETED)["non_monotonic"]
    assert flag["triggered"] and flag["falls"] >= 2 and "untargeted igsm_u it=5" in flag["detail"]
    sound = _row_flags(_trained(ToyMonocular, trained), UNTARGETED)["non_monotonic"]
    assert not sound["triggered"] and sound["steps"] == 4  # clean -> eps 2 -> eps 8 of FGSM and of IGSM


def test_square_beating_the_white_box_attacks_is_flagged(trained: dict[str, Tensor]) -> None:
    flag = _row_flags(_trained(ReversedGradient, trained), ENSEMBLE)["gradient_free_wins"]
    assert flag["triggered"] and flag["samples"] >= 1 and flag["of"] == 6 and "eps=8 it=5" in flag["detail"]
    sound = _row_flags(_trained(ToyMonocular, trained), ENSEMBLE)["gradient_free_wins"]
    assert not sound["triggered"] and sound["samples"] == 0 and sound["of"] == 6
    assert not _row_flags(_model(ToyMonocular), UNTARGETED)["gradient_free_wins"]["triggered"]  # no ensemble


def _degenerate_batch(size: int = 6) -> dict:
    batch = make_batch(size)
    batch["R"][:2] = 0  # broken extrinsics of samples 0 and 1: their triangulation fails
    batch["t"][:2] = 0
    return batch


def test_failed_triangulations_are_counted() -> None:
    multiview = [{"kind": "multiview", "eps": [0, 4], "iterations": [1], "attacked_views": [1, 4]}]
    flag = _row_flags(_model(ToyTriangulation), multiview, _degenerate_batch())["failed_triangulations"]
    assert flag["triggered"] and flag["clean_failed"] == 2 and flag["failed"] >= 6 and flag["cells"] == 3
    sound = _row_flags(_model(ToyTriangulation), multiview)["failed_triangulations"]
    assert not sound["triggered"] and sound["failed"] == 0
    assert not _row_flags(_model(ToyMonocular), UNTARGETED)["failed_triangulations"]["triggered"]


def test_every_flag_is_recorded_in_order_even_without_a_start_check() -> None:
    flags = sanity_flags(None, _rows(_model(ToyMonocular), UNTARGETED))
    assert [f["flag"] for f in flags] == list(FLAG_NAMES)
    assert flags[0]["detail"].startswith("not checked") and not any(f["triggered"] for f in flags)


def test_the_run_records_prints_and_reports_its_flags(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    class Degenerate(ToyDataset):
        def __getitem__(self, i: int) -> dict:
            s = super().__getitem__(i)
            if i in (0, 5):
                s["R"], s["t"] = torch.zeros_like(s["R"]), torch.zeros_like(s["t"])
            return s

    cb = AttackEvaluation([{"kind": "multiview", "eps": [0, 4], "iterations": [1], "attacked_views": [4]}],
                          out_dir=str(tmp_path), run_name="run", dataset_name="toy", examples=0,
                          print_tables=False)
    quiet_trainer(cb).test(_model(ToyTriangulation), dataloaders=DataLoader(Degenerate(8), batch_size=4))
    meta = json.loads((tmp_path / "run" / "results.json").read_text())["meta"]
    flags = {f["flag"]: f for f in meta["flags"]}
    assert list(flags) == list(FLAG_NAMES)
    assert flags["failed_triangulations"]["triggered"] and flags["failed_triangulations"]["clean_failed"] == 2
    assert not flags["zero_gradients"]["triggered"]
    assert flags["zero_gradients"]["samples"] == 3  # the first batch's 4 samples, 1 failed triangulation
    assert not flags["randomness"]["triggered"] and not flags["non_finite"]["triggered"]
    printed = capsys.readouterr().out
    assert printed.count("Sanity checks: 1 of 6 flags raised") == 1
    assert "[!] failed_triangulations: " in printed and "[ok] randomness: " in printed
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Sanity checks" in report
    assert f"- [!] failed_triangulations: {flags['failed_triangulations']['detail']}" in report
