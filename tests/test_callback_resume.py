"""AttackEvaluation partial state: a crashed evaluation resumes where it stopped, with the same results."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from attack_toys import ToyDataset, ToyMonocular
from torch.utils.data import DataLoader

import poselab.evaluation.callback as callback_module
from poselab.evaluation.callback import AttackEvaluation
from poselab.experiments.state import load_metric_states, metric_states

GRID = [  # small: the whole module runs in seconds
    {"kind": "untargeted", "eps": [0, 8], "iterations": [1, 2]},
    {"kind": "rotation", "eps": [8], "iterations": [1], "angles": [30]},
]


class _Crashing(ToyMonocular):
    """Raises in ``test_step`` of batch ``crash_at`` (before the callback sees that batch)."""

    crash_at: int | None = None

    def test_step(self, batch: dict, batch_idx: int) -> None:
        if batch_idx == self.crash_at:
            raise RuntimeError("simulated crash")
        super().test_step(batch, batch_idx)


class _CrashAfter(pl.Callback):
    """Raises in ``on_test_batch_end`` of batch ``at``, after the attack callback handled it."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if batch_idx == self.at:
            raise RuntimeError("simulated crash")


def _model(crash_at: int | None = None) -> ToyMonocular:
    torch.manual_seed(0)
    model = _Crashing()
    model.crash_at = crash_at
    return model


def _run(out: Path, model: ToyMonocular, extra: list | None = None, **kwargs) -> AttackEvaluation:
    kwargs = {"examples": 0, **kwargs}
    cb = AttackEvaluation(GRID, out_dir=str(out), run_name="run", dataset_name="toy", max_batch=7,
                          print_tables=False, **kwargs)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[cb, *(extra or [])],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(model, dataloaders=DataLoader(ToyDataset(8), batch_size=2))  # 4 batches
    return cb


def _csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _same(a: Path, b: Path, value: str = "value") -> None:
    ra, rb = _csv(a), _csv(b)
    assert len(ra) == len(rb) > 0
    for x, y in zip(ra, rb):
        assert {k: v for k, v in x.items() if k != value} == {k: v for k, v in y.items() if k != value}
        assert float(x[value]) == pytest.approx(float(y[value]), rel=1e-9, abs=1e-9)


@pytest.fixture
def attacked(monkeypatch) -> list[int]:
    """First sample index of every batch the attack callback attacked (once per batch)."""
    seen: list[int] = []
    real = callback_module.run_experiment

    def spy(spec, batch, ctx):
        first = int(batch["index"][0])
        if not seen or seen[-1] != first:
            seen.append(first)
        return real(spec, batch, ctx)

    monkeypatch.setattr(callback_module, "run_experiment", spy)
    return seen


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """A straight (uninterrupted) run."""
    out = tmp_path_factory.mktemp("straight")
    _run(out, _model(), examples=1)
    assert not (out / "run" / ".partial").exists() and not (out / "run" / "results.partial.csv").exists()
    return out / "run"


@pytest.mark.parametrize(("crash", "done"), [("model", 2), ("callback", 3)])
def test_crash_then_resume_gives_the_straight_run_results(tmp_path: Path, straight: Path, attacked: list[int],
                                                          crash: str, done: int) -> None:
    out = tmp_path / "resumed" / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        if crash == "model":
            _run(tmp_path / "resumed", _model(crash_at=2), examples=1)
        else:
            _run(tmp_path / "resumed", _model(), extra=[_CrashAfter(2)], examples=1)
    assert attacked == [2 * i for i in range(done)]
    assert (out / ".partial" / "rank0.pt").exists() and not (out / "results.csv").exists()
    progress = _csv(out / "results.partial.csv")  # rows so far, local metrics
    clean = next(r for r in progress if r["attack"] == "clean" and r["metric"] == "mpjpe")
    assert int(clean["n"]) == 2 * done

    attacked.clear()
    cb = _run(tmp_path / "resumed", _model(), examples=1)  # the examples (batch 0) come from the state
    assert attacked == [2 * i for i in range(done, 4)]  # only the batches not done before the crash
    assert cb.resumed == {0: done} and cb.done == {0: 4}
    _same(out / "results.csv", straight / "results.csv")
    _same(out / "per_joint.csv", straight / "per_joint.csv", value="mpjpe")
    _same(out / "per_sample.csv", straight / "per_sample.csv")  # the per-sample values were kept too
    assert len(list((out / "examples").glob("*.png"))) == len(list((straight / "examples").glob("*.png"))) > 0
    assert not (out / ".partial").exists() and not (out / "results.partial.csv").exists()


def test_partial_state_of_another_configuration_is_not_used(tmp_path: Path, attacked: list[int]) -> None:
    with pytest.raises(RuntimeError):
        _run(tmp_path / "res", _model(crash_at=2))
    _run(tmp_path / "fresh", _model(), alpha_ratio=0.25)

    attacked.clear()
    with pytest.warns(UserWarning, match="another configuration.*alpha_ratio"):
        cb = _run(tmp_path / "res", _model(), alpha_ratio=0.25)
    assert attacked == [0, 2, 4, 6] and cb.resumed == {}
    out = tmp_path / "res" / "run"
    _same(out / "results.csv", tmp_path / "fresh" / "run" / "results.csv")
    assert not (out / ".partial").exists()
    assert (out / ".partial-stale" / "rank0.pt").exists()  # kept aside, never resumed


def test_resume_false_and_save_every(tmp_path: Path, attacked: list[int]) -> None:
    with pytest.raises(RuntimeError):
        _run(tmp_path, _model(crash_at=3), save_every=2)
    assert attacked == [0, 2, 4]
    attacked.clear()
    cb = _run(tmp_path, _model(crash_at=None), resume=False)
    assert attacked == [0, 2, 4, 6] and cb.resumed == {}
    attacked.clear()
    with pytest.raises(RuntimeError):  # saved after batch 1 only: batch 2 is attacked again on resume
        _run(tmp_path, _model(crash_at=3), save_every=2)
    attacked.clear()
    cb = _run(tmp_path, _model())
    assert cb.resumed == {0: 2} and attacked == [4, 6]
    with pytest.raises(ValueError, match="save_every"):
        AttackEvaluation(GRID, save_every=0)


def test_metric_states_round_trip() -> None:
    from poselab.experiments.runner import make_metric

    torch.manual_seed(0)
    src, dst = torch.nn.ModuleDict(), torch.nn.ModuleDict()
    for name in ("mpjpe", "pmpjpe", "jdr", "failed"):
        src[name], dst[name] = make_metric(name), make_metric(name)
    pred, target = torch.randn(5, 17, 3) * 100, torch.randn(5, 17, 3) * 100
    valid = torch.tensor([True, True, False, True, True])
    for name, metric in src.items():
        if name == "failed":
            metric.update(valid, pred)
        elif name == "jdr":
            metric.update(pred[..., :2], target[..., :2], valid, image_size=256)
        else:
            metric.update(pred, target, valid, index=torch.arange(5))
    load_metric_states(dst, metric_states(src))
    for name in src:
        assert torch.equal(src[name].compute(), dst[name].compute())
        for a, b in zip(src[name].sorted_samples, dst[name].sorted_samples):  # per-sample values kept
            assert torch.equal(a, b)


def test_crash_within_a_batch_resumes_at_the_experiment_it_stopped_in(tmp_path: Path, straight: Path,
                                                                      monkeypatch) -> None:
    """The shipped grids attack one batch: a crash in its second experiment keeps the first one's metrics
    (saved after every experiment with save_every 1), and the resumed run attacks only what is left."""
    calls: list[tuple[int, str]] = []
    real = callback_module.run_experiment

    def run(spec, batch, ctx, crash: bool = False):
        calls.append((int(batch["index"][0]), spec.kind))
        if crash and calls[-1] == (2, "rotation"):
            raise RuntimeError("simulated crash")
        return real(spec, batch, ctx)

    monkeypatch.setattr(callback_module, "run_experiment", lambda *a: run(*a, crash=True))
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(tmp_path, _model(), examples=1)
    assert calls[-2:] == [(2, "untargeted"), (2, "rotation")]
    calls.clear()
    monkeypatch.setattr(callback_module, "run_experiment", run)
    cb = _run(tmp_path, _model(), examples=1)
    assert calls == [(2, "rotation"), (4, "untargeted"), (4, "rotation"), (6, "untargeted"), (6, "rotation")]
    assert cb.resumed == {0: 1} and cb.within == {}
    _same(tmp_path / "run" / "results.csv", straight / "results.csv")
    _same(tmp_path / "run" / "per_joint.csv", straight / "per_joint.csv", value="mpjpe")
    assert not (tmp_path / "run" / ".partial").exists()
