"""AttackEvaluation callback: files, tables, W&B offline run, failures counted, DDP == single process."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from attack_toys import ToyDataset, ToyMonocular, ToyTriangulation
from support.wandb_offline import read_run
from torch.utils.data import DataLoader

from poselab.evaluation.callback import AttackEvaluation

QUICK = [
    {"kind": "untargeted", "eps": [0, 2, 8], "iterations": [1, 3]},
    {"kind": "multiview", "eps": [0, 2, 8], "iterations": [1, 3], "attacked_views": [1, 2, 4]},
    {"kind": "camera_swap", "eps": [8], "iterations": [0, 2, 4], "target_cameras": [2, 3]},
    {"kind": "rotation", "eps": [8], "iterations": [2, 4], "angles": [10, 30]},
]


def _run(model: pl.LightningModule, out: Path, data: torch.utils.data.Dataset, logger=False,
         **kwargs) -> AttackEvaluation:
    cb = AttackEvaluation(QUICK, out_dir=str(out), run_name="run", dataset_name="toy", max_batch=7,
                          print_tables=False, **kwargs)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=logger, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(model, dataloaders=DataLoader(data, batch_size=4))
    return cb


def _rows(path: Path) -> list[dict]:
    with open(path / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_monocular_results_files_tables_and_offline_wandb(tmp_path: Path) -> None:
    from pytorch_lightning.loggers import WandbLogger

    torch.manual_seed(0)
    model = ToyMonocular()
    logger = WandbLogger(project="poselab-test", save_dir=str(tmp_path / "wandb"), offline=True)
    cb = _run(model, tmp_path / "res", ToyDataset(8), logger=logger, examples=1, max_samples=3)
    logger.experiment.finish()
    out = tmp_path / "res" / "run"
    rows = _rows(out)
    meta = json.loads((out / "results.json").read_text())
    assert meta["meta"]["model"] == "toymono" and meta["meta"]["dataset"] == "toy"
    assert len(meta["rows"]) == len(rows) == len(cb.cells)
    assert {r["experiment"] for r in rows} == {"untargeted", "camera_swap", "rotation"}  # mono: no multiview
    assert set(rows[0]) == {"model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views",
                            "target", "metric", "value", "n", "ci_low", "ci_high"}
    clean = [r for r in rows if r["attack"] == "clean" and r["metric"] == "mpjpe"]
    assert len(clean) == 1 and int(clean[0]["n"]) == 6  # 2 batches x max_samples
    fgsm8 = next(r for r in rows if r["attack"] == "fgsm" and r["eps"] == "8.0" and r["metric"] == "mpjpe")
    assert float(fgsm8["value"]) > float(clean[0]["value"])
    tables = (out / "tables.md").read_text()
    assert "Table 1" in tables and "Table 3" in tables and "Table 4" in tables and "Table 2" not in tables
    assert "cam3" in tables and "rot30" in tables
    figures = {f.stem for f in (out / "figures").glob("*.png")}
    assert figures == {"untargeted_mpjpe", "camera_swap", "rotation", "per_joint"}
    assert (out / "report.md").is_file() and (out / "overview.png").is_file()  # the report of one run
    assert len(list((out / "examples").glob("*.png"))) == 3
    assert (out / "per_joint.csv").exists()
    (run_file,) = (tmp_path / "wandb").rglob("run-*.wandb")
    back = read_run(run_file, wait_s=20)  # what `wandb sync` would upload: the results.csv values, per eps
    p1 = {float(r["eps"]): float(r["value"]) for r in rows if r["experiment"] == "untargeted"
          and r["metric"] == "mpjpe" and (r["attack"] == "clean" or r["iterations"] == "3")}
    assert back.step_metric("untargeted/mpjpe/igsm_u_it3") == "eps"
    assert {h["eps"]: h["untargeted/mpjpe/igsm_u_it3"] for h in back.history
            if "untargeted/mpjpe/igsm_u_it3" in h} == pytest.approx(p1)
    assert back.step_metric("rotation/target_mpjpe/igsm_t_eps8_rot30") == "iterations"
    settings = {tuple(r[c] for c in ("experiment", "attack", "eps", "iterations", "target")) for r in rows}
    assert len(back.table("attack/results")["data"]) == len(settings)
    assert all(p.requires_grad for p in model.parameters())  # restored after the attacks
    assert all(p.grad is None for p in model.parameters())


class _Degenerate(ToyDataset):
    """Samples 0 and 5 have broken (all-zero) extrinsics: their triangulation is degenerate."""

    def __getitem__(self, i: int) -> dict:
        s = super().__getitem__(i)
        if i in (0, 5):
            s["R"] = torch.zeros_like(s["R"])
            s["t"] = torch.zeros_like(s["t"])
        return s


def test_multiview_failed_triangulations_are_counted_not_raised(tmp_path: Path) -> None:
    cb = _run(ToyTriangulation(), tmp_path, _Degenerate(8))
    rows = _rows(tmp_path / "run")
    assert {r["experiment"] for r in rows} == {"multiview", "rotation"}
    failed = [r for r in rows if r["metric"] == "failed"]
    assert failed and all(float(r["value"]) >= 2 for r in failed)
    assert all(int(r["n"]) == 8 for r in failed)
    mp = [r for r in rows if r["metric"] == "mpjpe" and r["experiment"] == "multiview"]
    assert all(int(r["n"]) <= 6 for r in mp)
    assert "*" in (tmp_path / "run" / "tables.md").read_text()  # some failed: marked, value of the rest
    assert cb.rows
    # the JDR definition (default: the published one) is recorded and named in the Table 2 header
    meta = json.loads((tmp_path / "run" / "results.json").read_text())["meta"]
    assert meta["config"]["jdr_definition"] == "qiu2019"
    tables = (tmp_path / "run" / "tables.md").read_text()
    assert "Table 2a: untargeted, multi-view, JDR (fraction), definition qiu2019" in tables


def _ddp_case(kind: str) -> tuple[pl.LightningModule, torch.utils.data.Dataset]:
    torch.manual_seed(0)
    if kind == "monocular":
        return ToyMonocular(), ToyDataset(8)
    return ToyTriangulation(), _Degenerate(8)  # multi-view, some triangulations fail


def _ddp_worker(out: str, kind: str) -> None:  # pragma: no cover - runs in spawned processes
    model, data = _ddp_case(kind)
    cb = AttackEvaluation(QUICK, out_dir=out, run_name="run", dataset_name="toy", max_batch=7,
                          print_tables=False, examples=0)
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(model, dataloaders=DataLoader(data, batch_size=2))


@pytest.mark.parametrize("kind", ["monocular", "multiview"])
def test_ddp_two_processes_give_the_same_tables(tmp_path: Path, kind: str) -> None:
    os.environ.setdefault("PL_DISABLE_FORK", "1")
    _ddp_worker(str(tmp_path / "ddp"), kind)
    model, data = _ddp_case(kind)
    cb = AttackEvaluation(QUICK, out_dir=str(tmp_path / "single"), run_name="run", dataset_name="toy",
                          max_batch=7, print_tables=False, examples=0)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(model, dataloaders=DataLoader(data, batch_size=2))
    ddp, single = _rows(tmp_path / "ddp" / "run"), _rows(tmp_path / "single" / "run")
    assert len(ddp) == len(single)
    floats = ("value", "ci_low", "ci_high")
    for a, b in zip(ddp, single):
        same = [k for k in a if k not in floats]
        assert [a[k] for k in same] == [b[k] for k in same]
        for k in floats:  # the CI resamples the per-sample values in one order (dataset index) on any ranks
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-5, abs=1e-6, nan_ok=True)
    ps_ddp, ps_single = (_csv(tmp_path / d / "run" / "per_sample.csv") for d in ("ddp", "single"))
    assert len(ps_ddp) == len(ps_single) > 0  # the same samples in the same order, gathered from 2 ranks
    for a, b in zip(ps_ddp, ps_single):
        assert {k: v for k, v in a.items() if k != "value"} == {k: v for k, v in b.items() if k != "value"}
        assert float(a["value"]) == pytest.approx(float(b["value"]), rel=1e-5, abs=1e-6)
    assert (tmp_path / "ddp" / "run" / "tables.md").read_text() == (
        tmp_path / "single" / "run" / "tables.md").read_text()
    if kind == "multiview":  # failures were counted across both processes, not only rank 0's
        failed = [r for r in ddp if r["metric"] == "failed"]
        assert failed and all(int(r["n"]) == 8 for r in failed) and any(float(r["value"]) > 0 for r in failed)
    pj_ddp, pj_single = (_csv(tmp_path / d / "run" / "per_joint.csv") for d in ("ddp", "single"))
    assert len(pj_ddp) == len(pj_single) > 0
    for a, b in zip(pj_ddp, pj_single):
        assert {k: v for k, v in a.items() if k != "mpjpe"} == {k: v for k, v in b.items() if k != "mpjpe"}
        assert float(a["mpjpe"]) == pytest.approx(float(b["mpjpe"]), rel=1e-6, abs=1e-6)


def _csv(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("experiments", "kwargs", "match"),
    [
        ([{"kind": "untargeted", "eps": [-1.0]}], {}, "eps"),
        ([{"kind": "fooling"}], {}, "unknown experiment kind"),
        ([{"kind": "multiview", "attacked_views": [0, 2]}], {}, "attacked views must be >= 1"),
        ([{"kind": "untargeted", "attack": "nope"}], {}, "unknown attack 'nope'"),
        ([{"kind": "camera_swap", "attack": ["igsm_u"]}], {}, "attack 'igsm_u' is untargeted"),
        ([{"kind": "untargeted", "attack": "fgsm", "iterations": [1, 10]}], {},
         r"iterations \[10\] are run by none"),
        ([{"kind": "camera_swap", "target_cameras": [0]}], {}, "target cameras"),
        ([{"kind": "untargeted"}], {"alpha_ratio": 0.0}, "alpha_ratio"),
        ([{"kind": "untargeted", "epsilon": [1]}], {}, "unknown experiment option"),
        ([], {}, "at least one experiment"),
        ([{"kind": "multiview"}], {"jdr_definition": "pck"}, "jdr_definition must be one of qiu2019"),
    ],
)
def test_bad_configuration_raises_one_clear_error(experiments, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        AttackEvaluation(experiments, **kwargs)


def test_poselab_test_cli_writes_results_tables_and_offline_wandb_run(tmp_path: Path) -> None:
    """`poselab test` composition of `make attack-eval` (smoke trainer, untrained tiny model)."""
    pytest.importorskip("poselab.data.datamodule")
    import yaml

    from poselab.cli.lightning import run_lightning_cli

    root = Path(__file__).resolve().parents[1]
    attack_cfg = yaml.safe_load((root / "configs/attack/quick.yaml").read_text())
    init = attack_cfg["attack_evaluation"]["init_args"]
    init.update(out_dir=str(tmp_path / "results"), max_samples=2, experiments=[
        {"kind": "untargeted", "eps": [0, 4], "iterations": [1, 2]},
        {"kind": "rotation", "eps": [4], "iterations": [2], "angles": [30]},
    ])
    (tmp_path / "attack.yaml").write_text(yaml.safe_dump(attack_cfg))
    args = [
        "test",
        "--config", str(root / "configs/model/regression.yaml"),
        "--config", str(root / "configs/data/synthetic.yaml"),
        "--config", str(root / "configs/trainer/smoke.yaml"),
        "--config", str(tmp_path / "attack.yaml"),
        "--checkpoint.dirpath", str(tmp_path / "ckpt"),
        "--run.save_dir", str(tmp_path / "runs"),
        "--trainer.default_root_dir", str(tmp_path / "runs"),
        "--run.allow_untrained", "true",  # no --ckpt_path: attacking an untrained network on purpose
    ]
    run_lightning_cli(args)
    folders = list((tmp_path / "results").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("regression-")
    out = folders[0]
    rows = _rows(out)
    assert {r["experiment"] for r in rows} == {"untargeted", "rotation"}
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["model"] == "regression" and meta["scale"] == "tiny-32"  # smoke: tiny CNN, 32 px
    assert "Table 1" in (out / "tables.md").read_text()
    tables = list((tmp_path / "runs").rglob("attack/results*.table.json"))
    assert tables, "no W&B table in the offline run"
    (run_file,) = (tmp_path / "runs").rglob("run-*.wandb")  # the results name their W&B run and group
    back = read_run(run_file, wait_s=20)
    recorded = json.loads((out / "results.json").read_text())["meta"]["wandb"]
    assert recorded == {"project": back.project, "group": "quick", "name": back.name,  # the preset's name
                        "run_id": back.run_id}
    assert back.group == "quick" and back.job_type == "attack" and back.name.startswith("regression-")


class _OOMTriangulation(ToyTriangulation):
    """Fails like a GPU out of memory above ``limit`` rows per forward pass."""

    limit = 6

    def forward(self, images, batch):
        if images.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return super().forward(images, batch)


def test_adaptive_max_batch_and_explicit_view_subsets_end_to_end(tmp_path: Path) -> None:
    from poselab.reporting.report import build_report
    from poselab.results.reader import read_run

    grid = [{"kind": "multiview", "eps": [0, 2, 8], "iterations": [1, 2], "attacked_views": [2, [3, 1]]},
            {"kind": "rotation", "eps": [8], "iterations": [2], "angles": [10, 30]}]
    results = {}
    for name, max_batch in (("fixed", 7), ("auto", "auto")):
        torch.manual_seed(0)
        model = _OOMTriangulation() if max_batch == "auto" else ToyTriangulation()
        cb = AttackEvaluation(grid, out_dir=str(tmp_path / "res"), run_name=name, dataset_name="toy",
                              max_batch=max_batch, print_tables=False, examples=1)
        trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                             enable_progress_bar=False, enable_model_summary=False,
                             enable_checkpointing=False)
        trainer.test(model, dataloaders=DataLoader(ToyDataset(8), batch_size=4))
        results[name] = cb
    auto = results["auto"].auto_batch
    assert auto is not None and auto.size is not None and auto.size <= _OOMTriangulation.limit
    assert results["fixed"].auto_batch is None
    rows = {name: _rows(tmp_path / "res" / name) for name in results}
    assert list(rows["auto"][0])[6:8] == ["attacked_views", "view_set"]
    key = lambda r: tuple(r[c] for c in ("experiment", "attack", "eps", "iterations", "view_set", "target",  # noqa: E731
                                         "metric"))
    fixed = {key(r): r for r in rows["fixed"]}
    assert set(fixed) == {key(r) for r in rows["auto"]}
    for r in rows["auto"]:  # chunking does not change the results (up to batch-size-dependent GEMM rounding;
        # jdr: one joint of 8 x 17 detections would be 0.007)
        tol = {"jdr": 0.01, "failed": 0.0}.get(r["metric"], 1e-2)
        assert float(r["value"]) == pytest.approx(float(fixed[key(r)]["value"]), rel=1e-3, abs=tol)
    subset = [r for r in rows["auto"] if r["view_set"]]
    assert subset and {(r["attacked_views"], r["view_set"]) for r in subset} == {("2", "1+3")}
    assert all(r["view_set"] == "" for r in rows["auto"] if r["experiment"] == "rotation" or
               r["attack"] == "clean")
    data = json.loads((tmp_path / "res" / "auto" / "results.json").read_text())
    assert data["meta"]["config"]["max_batch"] == "auto"
    assert {r["view_set"] for r in data["rows"]} == {"", "1+3"}
    assert "view_set" in _csv(tmp_path / "res" / "auto" / "per_joint.csv")[0]
    assert "set=1+3" in (tmp_path / "res" / "auto" / "tables.md").read_text()
    run = read_run(tmp_path / "res" / "auto")  # the subset rows are their own cells
    assert len(run.cells) == len(rows["auto"])
    assert {c.view_set for c in run.cells} == {"", "1+3"}
    report = build_report([tmp_path / "res" / "auto"], tmp_path / "report")
    assert report.warnings == [] and "set=1+3" in (tmp_path / "report" / "tables.md").read_text()


@pytest.mark.parametrize("max_batch", [0, -3, "big", 2.5])
def test_bad_max_batch_raises(max_batch) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        AttackEvaluation(QUICK, max_batch=max_batch)


def test_adaptive_max_batch_accepts_null_and_auto() -> None:
    for value in (None, "auto"):
        assert AttackEvaluation(QUICK, max_batch=value).auto_batch is not None
