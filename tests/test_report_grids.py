"""Reports compare like with like: runs are grouped by grid, and comparisons need two runs of one grid."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from poselab.reporting.report import build_report
from poselab.results.files import write_results
from poselab.results.runs import grid_names, grid_of
from poselab.results.schema import ResultKey, clean_key, row_of

ROOT = Path(__file__).resolve().parents[1]
QUICK = [{"kind": "untargeted", "attack": "igsm_u", "eps": [2.0, 8.0], "iterations": [1, 10],
          "input_views": [0]}]
STRONG = [{"kind": "untargeted", "attack": "apgd", "eps": [2.0, 8.0], "iterations": [100]}]
CORRUPT = [{"kind": "corruption", "corruptions": ["fog", "gaussian_noise"], "severities": [1, 2]}]


def _meta(model: str, experiments: list[dict]) -> dict:
    return {"model": model, "dataset": "synthetic", "checkpoint": "", "created": "now",
            "config": {"experiments": experiments, "alpha_ratio": 0.125, "random_start": False}}


def _untargeted(model: str, clean: float, attacks: dict[tuple[str, int], float]) -> list[dict]:
    rows = [row_of(model, "synthetic", clean_key("untargeted", m), clean, 16) for m in ("mpjpe", "pmpjpe")]
    for (attack, it), per_eps in attacks.items():
        for eps in (2.0, 8.0):
            for m in ("mpjpe", "pmpjpe"):
                rows.append(row_of(model, "synthetic", ResultKey("untargeted", attack, eps, it, 1, "", m),
                                   per_eps * eps, 16))
    return rows


def _corruption(model: str, clean: float) -> list[dict]:
    rows = [row_of(model, "synthetic", clean_key("corruption", m), clean, 16) for m in ("mpjpe", "pmpjpe")]
    for c, base in (("fog", 70.0), ("gaussian_noise", 90.0)):
        for s in (1, 2):
            keys = [ResultKey("corruption", "clean", 0.0, 0, 1, "", m, corruption=c, severity=s)
                    for m in ("mpjpe", "pmpjpe")]
            rows += [row_of(model, "synthetic", k, base + 10 * s, 16) for k in keys]
    return rows


def _write(root: Path, grid: str, model: str, rows: list[dict], experiments: list[dict]) -> Path:
    folder = root / f"attack-{grid}" / f"{model}-synthetic"
    folder.mkdir(parents=True)
    write_results(folder, rows, _meta(model, experiments))
    return folder


@pytest.fixture()
def one_model(tmp_path: Path) -> Path:
    """quick, strong and corruption results of one model, as `make attack-eval` lays them out."""
    root = tmp_path / "results"
    _write(root, "quick", "regression",
           _untargeted("regression", 60.0, {("igsm_u", 1): 10.0, ("igsm_u", 10): 20.0}), QUICK)
    _write(root, "strong", "regression", _untargeted("regression", 60.0, {("igsm_u", 100): 25.0,
                                                                         ("apgd", 100): 30.0}), STRONG)
    _write(root, "corruptions", "regression", _corruption("regression", 60.0), CORRUPT)
    return root


def test_grid_of_prefers_the_preset_then_the_config_then_the_folder():
    meta = _meta("regression", QUICK)
    assert grid_of({**meta, "preset": {"name": "paper", "version": 1}}) == "paper"
    fingerprint = grid_of(meta, "results/attack-quick/regression-synthetic")
    assert fingerprint.startswith("grid-") and len(fingerprint) == 13
    assert grid_of(_meta("volumetric", QUICK)) == fingerprint  # the model is not part of the grid
    assert grid_of(_meta("regression", STRONG)) != fingerprint
    assert grid_of({**meta, "config": {**meta["config"], "max_samples": 4, "threads": 2}}) == fingerprint
    assert grid_of({}, "results/attack-quick/regression-synthetic") == "quick"
    assert grid_of({}, "x") == "unknown"


def test_make_report_over_one_model_at_three_grids_gives_three_sections_and_no_self_comparison(one_model,
                                                                                               tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this source tree's poselab
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "report",
                           f"RESULTS={one_model}", f"REPORT_OUT={out}", "REPORT_ARGS=--no-wandb --print"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout
    assert f"wrote {out / 'report.md'} (3 grids (corruptions, quick, strong): " in printed
    report = build_report([one_model], tmp_path / "again")
    assert [s.grid for s in report.sections] == ["corruptions", "quick", "strong"]
    for s in report.sections:
        assert [r.label for r in s.runs] == ["regression"]  # never regression/attack-quick/... vs .../strong
        assert (out / s.grid / "report.md").is_file() and (out / s.grid / "tables.md").is_file()
        names = {t.name for t in s.tables}
        assert "strength_ranking" not in names and "corruption_vs_attack" not in names
        for t in s.tables:
            assert "mCE" not in t.columns and "rel. mCE" not in t.columns, t.name
        assert not any("Smallest" in line or "ranking" in line for line in s.findings)
    index = (out / "report.md").read_text()
    for grid in ("quick", "strong", "corruptions"):
        assert f"## Grid {grid}" in index and f"]({grid}/report.md)" in index
        assert printed.count(f"## Grid {grid}") == 1
    assert "Smallest MPJPE increase" not in index and "mCE" not in (out / "tables.md").read_text()
    # the quick section's Table 1 holds only quick rows, the strong one only strong rows
    with (out / "quick" / "tables" / "t1_untargeted_mpjpe.csv").open() as f:
        header = next(csv.reader(f))
    assert header == ["eps", "regression it=1", "regression it=10"]
    with (out / "strong" / "tables" / "strength_mpjpe.csv").open() as f:
        assert next(csv.reader(f))[3:5] == ["igsm_u 100", "apgd 100"]
    # every table printed once: Table 1 of quick and of strong, each under its grid
    assert printed.count("Table 1a") == 2
    # the clean error says what it covers, beside Lightning's test/mpjpe
    t1 = next(t for t in report.sections[1].tables if t.name == "t1_untargeted_mpjpe")
    assert "eps 0 = the clean error of the attacked inputs: regression camera 1, 16 samples" in t1.note
    assert "Lightning's test/mpjpe averages every view of every test batch" in t1.to_markdown()


def test_two_models_of_one_grid_are_compared_and_a_third_grid_stays_apart(one_model, tmp_path):
    _write(one_model, "quick", "volumetric", _untargeted("volumetric", 50.0, {("igsm_u", 1): 12.0,
                                                                             ("igsm_u", 10): 15.0}), QUICK)
    _write(one_model, "corruptions", "volumetric", _corruption("volumetric", 45.0), CORRUPT)
    report = build_report([one_model], tmp_path / "report")
    sections = {s.grid: s for s in report.sections}
    assert [r.label for r in sections["quick"].runs] == ["regression", "volumetric"]
    robust = next(t for t in sections["quick"].tables if t.name == "robustness")
    assert [r[0] for r in robust.rows] == ["regression", "volumetric"]
    corr = next(t for t in sections["corruptions"].tables if t.name == "corruption_mpjpe")
    assert "mCE" in corr.columns and "vs regression" in corr.title
    assert [r.label for r in sections["strong"].runs] == ["regression"]
    assert any("Smallest MPJPE increase" in line for line in
               (tmp_path / "report" / "quick" / "report.md").read_text().splitlines())


def test_grid_names_keep_folders_apart_when_their_configs_differ(tmp_path):
    from poselab.results.reader import load_runs

    root = tmp_path / "results"
    _write(root, "quick", "regression", _untargeted("regression", 60.0, {("igsm_u", 1): 10.0}), QUICK)
    other = root / "attack-quick" / "volumetric-synthetic"  # same folder, another grid config
    other.mkdir(parents=True)
    write_results(other, _untargeted("volumetric", 50.0, {("igsm_u", 1): 10.0}), _meta("volumetric", STRONG))
    names = list(grid_names(load_runs([root])))
    assert len(names) == 2 and all(n.startswith("grid-") for n in names)


def test_make_attack_eval_prints_each_table_once_and_logs_the_report_to_wandb():
    """The runs write their tables without printing them; the report step prints them all, once, and logs to
    W&B (in the group recorded in the runs' results: their grid)."""
    from test_scale import _make

    proc = _make("-n", "attack-eval", "MODEL=all", "ATTACK=quick")
    run = " ".join(proc.stdout.replace("\\\n", " ").split())
    assert proc.returncode == 0 and run.count("bin/poselab attack-eval ") == 1  # every model, one process
    test_args = run.split(" -- ", 1)[1]  # the per-model `poselab test` arguments
    assert "--attack_evaluation.init_args.print_tables false" in test_args
    report_args = run.split("bin/poselab attack-eval ", 1)[1].split(" -- ", 1)[0]
    assert "--report-arg=--print" in report_args and "--no-wandb" not in report_args
