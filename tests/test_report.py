"""`poselab report` on small results folders written here following the schema of docs/RESULTS.md."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from poselab.cli.report import main
from poselab.reporting.report import build_report
from poselab.results.reader import PER_JOINT_COLUMNS, ResultsError, load_runs
from poselab.results.schema import COLUMNS as RESULT_COLUMNS
from poselab.skeleton import JOINT_NAMES

EPS = (0.5, 1.0, 2.0)


def value(base: float, experiment: str, metric: str, eps: float, it: int, views: int, target: str) -> float:
    """A distinct, reproducible value per setting (mm / fraction / count)."""
    if metric == "jdr":
        return round(0.9 - 0.01 * eps * (1 + it / 10) - 0.02 * views - base / 10000, 4)
    if metric == "failed":
        return float(int(eps * it))
    offset = {"pmpjpe": -20.0, "target_mpjpe": 100.0}.get(metric, 0.0) + (5.0 if target.endswith("3") else 0)
    return round(
        base + offset + 7.0 * eps + 0.5 * it + 3.0 * views + (0.25 if experiment == "rotation" else 0), 2
    )


def row(
    model: str,
    experiment: str,
    attack: str,
    eps: float,
    it: int,
    views: int,
    target: str,
    metric: str,
    v: float,
) -> dict:
    return {
        "model": model,
        "dataset": "synthetic",
        "experiment": experiment,
        "attack": attack,
        "eps": eps,
        "iterations": it,
        "attacked_views": views,
        "target": target,
        "metric": metric,
        "value": v,
        "n": 8,
    }


def results_rows(model: str, base: float, eps=EPS, iterations=(1, 10), multiview: bool = False) -> list[dict]:
    rows = []
    if multiview:
        for metric in ("jdr", "mpjpe", "failed"):
            rows.append(
                row(
                    model,
                    "multiview",
                    "clean",
                    0.0,
                    0,
                    0,
                    "",
                    metric,
                    value(base, "multiview", metric, 0, 0, 0, ""),
                )
            )
            for views in (1, 2):
                for it in iterations:
                    for e in eps:
                        rows.append(
                            row(
                                model,
                                "multiview",
                                "igsm_u",
                                e,
                                it,
                                views,
                                "",
                                metric,
                                value(base, "multiview", metric, e, it, views, ""),
                            )
                        )
        return rows
    for metric in ("mpjpe", "pmpjpe"):
        rows.append(
            row(model, "untargeted", "clean", 0.0, 0, 1, "", metric, value(base, "u", metric, 0, 0, 1, ""))
        )
        for it in iterations:
            for e in eps:
                rows.append(
                    row(
                        model,
                        "untargeted",
                        "igsm_u",
                        e,
                        it,
                        1,
                        "",
                        metric,
                        value(base, "u", metric, e, it, 1, ""),
                    )
                )
    for target in ("cam2", "cam3"):
        rows.append(
            row(
                model,
                "camera_swap",
                "clean",
                0.0,
                0,
                1,
                target,
                "target_mpjpe",
                value(base, "camera_swap", "target_mpjpe", 0, 0, 1, target),
            )
        )
        for it in (20, 100):
            rows.append(
                row(
                    model,
                    "camera_swap",
                    "igsm_t",
                    8.0,
                    it,
                    1,
                    target,
                    "target_mpjpe",
                    value(base, "camera_swap", "target_mpjpe", 8.0, it, 1, target),
                )
            )
    for target in ("rot10", "rot30"):
        for it in (10, 100):
            rows.append(
                row(
                    model,
                    "rotation",
                    "igsm_t",
                    8.0,
                    it,
                    1,
                    target,
                    "target_mpjpe",
                    value(base, "rotation", "target_mpjpe", 8.0, it, 1, target),
                )
            )
    return rows


def write_results(
    folder: Path, model: str, base: float, *, as_json: bool = False, per_joint: bool = True, **kwargs
) -> list[dict]:
    folder.mkdir(parents=True)
    rows = results_rows(model, base, **kwargs)
    if as_json:
        meta = {"model": model, "dataset": "synthetic", "checkpoint": "", "config": {}, "created": "now"}
        (folder / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    else:
        with (folder / "results.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
            w.writeheader()
            w.writerows(rows)
    if per_joint:
        with (folder / "per_joint.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=PER_JOINT_COLUMNS)
            w.writeheader()
            for j, name in enumerate(JOINT_NAMES):
                common = {
                    "model": model,
                    "dataset": "synthetic",
                    "experiment": "untargeted",
                    "attacked_views": 1,
                    "target": "",
                    "joint": name,
                }
                w.writerow({**common, "attack": "clean", "eps": 0, "iterations": 0, "mpjpe": base + j})
                w.writerow(
                    {
                        **common,
                        "attack": "igsm_u",
                        "eps": 2.0,
                        "iterations": 10,
                        "mpjpe": base + j + 3.0 * j + (50 if name == "l_wrist" else 0),
                    }
                )
    return rows


def read_table(out: Path, name: str) -> list[list[str]]:
    with (out / "tables" / f"{name}.csv").open() as f:
        return list(csv.reader(f))


def cell(table: list[list[str]], row_key: str, column: str) -> float:
    col = table[0].index(column)
    for r in table[1:]:
        if r[0] == row_key:
            return float(r[col])
    raise KeyError(row_key)


def table_values(table: list[list[str]]) -> set[float]:
    return {float(v) for r in table[1:] for v in r[1:] if v not in ("", "nan")}


def input_values(rows: list[dict], experiment: str, metric: str) -> set[float]:
    return {float(r["value"]) for r in rows if r["experiment"] == experiment and r["metric"] == metric}


@pytest.fixture()
def three_runs(tmp_path: Path) -> tuple[Path, dict[str, list[dict]]]:
    parent = tmp_path / "results"
    rows = {
        "regression": write_results(parent / "regression_run", "regression", 60.0),
        "volumetric": write_results(parent / "volumetric_run", "volumetric", 45.0, as_json=True),
        "triangulation": write_results(
            parent / "tri_run", "triangulation", 30.0, multiview=True, per_joint=False
        ),
    }
    return parent, rows


def test_report_from_parent_folder_has_every_table_and_figure_with_input_numbers(three_runs, tmp_path):
    parent, rows = three_runs
    report = build_report([parent], tmp_path / "report")
    out = report.out
    names = {t.name for t in report.tables}
    assert {
        "t1_untargeted_mpjpe",
        "t1_untargeted_pmpjpe",
        "t2_multiview_jdr",
        "t2_multiview_mpjpe",
        "t2_multiview_failed",
        "t3_camera_swap",
        "t4_rotation",
        "robustness",
        "per_joint_increase",
    } <= names
    assert set(report.figures) == {"untargeted_mpjpe", "multiview", "camera_swap", "rotation", "per_joint"}
    md = (out / "report.md").read_text()
    for path in report.figures.values():
        assert path.is_file() and path.stat().st_size > 1000
        assert f"]({path.relative_to(out).as_posix()})" in md
    assert report.warnings == []
    assert (out / "overview.png").stat().st_size > 10000
    assert "## Summary" in md

    # every number in each table is an input value and every input value appears
    pairs = {
        "t1_untargeted_mpjpe": ("untargeted", "mpjpe"),
        "t1_untargeted_pmpjpe": ("untargeted", "pmpjpe"),
        "t2_multiview_jdr": ("multiview", "jdr"),
        "t2_multiview_mpjpe": ("multiview", "mpjpe"),
        "t3_camera_swap": ("camera_swap", "target_mpjpe"),
        "t4_rotation": ("rotation", "target_mpjpe"),
    }
    all_rows = [r for rs in rows.values() for r in rs]
    for name, (exp, metric) in pairs.items():
        assert table_values(read_table(out, name)) == input_values(all_rows, exp, metric), name

    # spot checks: the right number sits in the right place
    t1 = read_table(out, "t1_untargeted_mpjpe")
    assert cell(t1, "2.0", "volumetric it=10") == value(45.0, "u", "mpjpe", 2.0, 10, 1, "")
    assert cell(t1, "0.0", "regression it=1") == value(60.0, "u", "mpjpe", 0, 0, 1, "")  # clean at eps 0
    t2 = read_table(out, "t2_multiview_jdr")
    assert cell(t2, "1.0", "triangulation it=10 views=2") == value(30.0, "multiview", "jdr", 1.0, 10, 2, "")
    t3 = read_table(out, "t3_camera_swap")
    assert cell(t3, "cam3", "regression it=100") == value(
        60.0, "camera_swap", "target_mpjpe", 8.0, 100, 1, "cam3"
    )
    assert cell(t3, "cam2", "volumetric it=0") == value(45.0, "camera_swap", "target_mpjpe", 0, 0, 1, "cam2")
    t4 = read_table(out, "t4_rotation")
    assert cell(t4, "rot30", "volumetric it=10") == value(
        45.0, "rotation", "target_mpjpe", 8.0, 10, 1, "rot30"
    )
    robust = read_table(out, "robustness")
    assert cell(robust, "regression", "clean") == value(60.0, "u", "mpjpe", 0, 0, 1, "")
    assert cell(robust, "regression", "attacked") == value(60.0, "u", "mpjpe", 2.0, 10, 1, "")
    # per joint: increase = attacked - clean = 3 j (+50 at the left wrist)
    pj = read_table(out, "per_joint_increase")
    assert cell(pj, "r_knee", "regression (igsm_u eps=2 it=10)") == pytest.approx(6.0)
    assert cell(pj, "l_wrist", "volumetric (igsm_u eps=2 it=10)") == pytest.approx(3.0 * 13 + 50)
    assert pj[-1][1].startswith("l_wrist")
    assert "Table 1a" in (out / "tables.md").read_text()


def test_mismatched_grids_are_aligned_with_a_warning_naming_what_was_dropped(tmp_path):
    write_results(tmp_path / "a", "regression", 60.0, eps=(0.5, 1.0, 2.0), iterations=(1, 10))
    write_results(tmp_path / "b", "heatmap_depth", 50.0, eps=(1.0, 2.0, 4.0), iterations=(1,))
    report = build_report([tmp_path / "a", tmp_path / "b"], tmp_path / "report")
    untargeted = [w for w in report.warnings if w.startswith("untargeted")]
    assert any("'regression'" in w and "eps 0.5" in w and "iterations 10" in w for w in untargeted)
    assert any("'heatmap_depth'" in w and "eps 4" in w for w in untargeted)
    t1 = read_table(report.out, "t1_untargeted_mpjpe")
    assert [r[0] for r in t1[1:]] == ["0.0", "1.0", "2.0"]
    assert t1[0] == ["eps", "regression it=1", "heatmap_depth it=1"]
    assert "Warnings" in (report.out / "report.md").read_text()


def test_runs_of_the_same_model_get_distinct_labels(tmp_path):
    write_results(tmp_path / "plain", "regression", 60.0)
    write_results(tmp_path / "adv", "regression", 70.0)
    labels = [r.label for r in load_runs([tmp_path])]
    assert sorted(labels) == ["regression/adv", "regression/plain"]


def test_cli_writes_report_and_logs_offline_wandb(three_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    parent, _ = three_runs
    out = tmp_path / "cli_report"
    wandb_dir = tmp_path / "wandb_runs"
    assert main([str(parent), "--out", str(out), "--group", "unit", "--wandb-dir", str(wandb_dir)]) == 0
    assert (out / "report.md").is_file()
    assert list(wandb_dir.glob("**/run-*.wandb")), "no offline W&B run written"


def test_missing_folder_error_names_it(tmp_path, capsys):
    missing = tmp_path / "nope"
    with pytest.raises(ResultsError, match="nope.*does not exist"):
        build_report([missing], tmp_path / "r")
    assert main([str(missing), "--out", str(tmp_path / "r"), "--no-wandb"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and str(missing) in err


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda f: (f / "results.csv").write_text("model,eps\nregression,1\n"), "missing columns"),
        (lambda f: (f / "results.csv").write_text(",".join(RESULT_COLUMNS) + "\n"), "no rows"),
        (lambda f: (f / "results.json").write_text("{not json"), "not valid JSON"),
        (
            lambda f: (f / "results.csv").write_text(
                ",".join(RESULT_COLUMNS) + "\nregression,synthetic,untargeted,igsm_u,abc,1,1,,mpjpe,3,1\n"
            ),
            "bad value",
        ),
        (
            lambda f: (f / "results.csv").write_text(
                ",".join(RESULT_COLUMNS) + "\nregression,synthetic,sideways,igsm_u,1,1,1,,mpjpe,3,1\n"
            ),
            "unknown experiment",
        ),
        (lambda f: (f / "notes.txt").write_text("hi"), "no results.csv"),
    ],
)
def test_malformed_folder_error_names_it(tmp_path, breakage, message):
    good = tmp_path / "good"
    write_results(good, "regression", 60.0)
    bad = tmp_path / "bad_run"
    bad.mkdir()
    breakage(bad)
    with pytest.raises(ResultsError) as info:
        build_report([good, bad], tmp_path / "r")
    assert "bad_run" in str(info.value) and message in str(info.value)


def test_report_reads_what_the_attack_callback_writes(tmp_path):
    """End to end: AttackEvaluation on toy models writes results folders; the report shows their numbers."""
    import torch
    from attack_toys import ToyDataset, ToyMonocular, ToyTriangulation, quiet_trainer
    from torch.utils.data import DataLoader

    from poselab.evaluation.callback import AttackEvaluation

    grid = [
        {"kind": "untargeted", "eps": [0, 2, 8], "iterations": [1, 2]},
        {"kind": "multiview", "eps": [0, 8], "iterations": [1], "attacked_views": [1, 2]},
        {"kind": "camera_swap", "eps": [8], "iterations": [0, 2], "target_cameras": [2]},
        {"kind": "rotation", "eps": [8], "iterations": [2], "angles": [10]},
    ]
    for name, model in (("mono_a", ToyMonocular()), ("mono_b", ToyMonocular()), ("tri", ToyTriangulation())):
        cb = AttackEvaluation(
            grid,
            out_dir=str(tmp_path / "results"),
            run_name=name,
            model_name=name,
            dataset_name="toy",
            print_tables=False,
            examples=0,
        )
        trainer = quiet_trainer(cb)
        trainer.test(model.eval(), dataloaders=DataLoader(ToyDataset(4), batch_size=4))
    torch.manual_seed(0)
    report = build_report([tmp_path / "results"], tmp_path / "report")
    assert report.warnings == []
    assert {"untargeted_mpjpe", "multiview", "camera_swap", "rotation", "per_joint"} <= set(report.figures)
    with (tmp_path / "results" / "mono_b" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    t1 = read_table(report.out, "t1_untargeted_mpjpe")
    for r in rows:
        if r["experiment"] == "untargeted" and r["metric"] == "mpjpe" and r["attack"] != "clean":
            assert cell(t1, f"{float(r['eps'])}", f"mono_b it={r['iterations']}") == pytest.approx(
                float(r["value"])
            )
    assert {"mono_a", "mono_b"} == {
        r[0] for r in read_table(report.out, "robustness")[1:]
    }  # tri: multiview only
    tri_rows = [
        r
        for r in csv.DictReader((tmp_path / "results" / "tri" / "results.csv").open())
        if r["experiment"] == "multiview" and r["metric"] == "jdr"
    ]
    assert table_values(read_table(report.out, "t2_multiview_jdr")) == {float(r["value"]) for r in tri_rows}


# ------------------------------------------------------------------------------------ W&B helpers
def test_wandb_run_kwargs_follow_the_conventions(tmp_path, monkeypatch):
    from poselab.wandb import naming as wu

    monkeypatch.delenv("WANDB_MODE", raising=False)
    kw = wu.run_kwargs(
        "attack",
        group="sweep1",
        model="regression",
        dataset="synthetic",
        config={"model": {"lr": 0.001, "layers": [1, 2]}, "seed": 3},
        save_dir=tmp_path / "w",
    )
    assert kw["group"] == "sweep1" and kw["job_type"] == "attack"
    assert kw["tags"] == ["regression", "synthetic", "sweep1"]  # the group is the grid unless told else
    assert re.fullmatch(r"regression-synthetic-attack-\d{8}-\d{6}", kw["name"])  # unique per invocation
    assert kw["config"] == {"model.lr": 0.001, "model.layers.0": 1, "model.layers.1": 2, "seed": 3,
                            "grid": "sweep1"}
    assert kw["mode"] == "offline" and (tmp_path / "w").is_dir()
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wu.run_kwargs("train", group="g", save_dir=tmp_path)["mode"] == "disabled"
    with pytest.raises(ValueError, match="job_type"):
        wu.run_kwargs("fit", group="g")
    with pytest.raises(ValueError, match="group"):
        wu.run_kwargs("train", group="")


def test_wandb_logger_is_grouped_and_offline(tmp_path, monkeypatch):
    from poselab.wandb import runs as wu

    monkeypatch.delenv("WANDB_MODE", raising=False)
    logger = wu.make_logger("train", group="exp", model="volumetric", dataset="h36m", save_dir=tmp_path)
    init = logger._wandb_init
    assert (init["group"], init["job_type"], init["mode"]) == ("exp", "train", "offline")
    assert init["tags"] == ["volumetric", "h36m", "exp"] and init["name"].startswith("volumetric-h36m-train-")


def test_wandb_failure_never_stops_a_run(tmp_path, monkeypatch):
    import wandb

    from poselab.wandb import runs as wu

    def broken(**kwargs):
        raise RuntimeError("no network")

    monkeypatch.setattr(wandb, "init", broken)
    with pytest.warns(UserWarning, match="no network"):
        assert wu.init_run("report", group="g", save_dir=tmp_path) is None
    wu.finish_run(None)


# ------------------------------------------------------------------------------------ per joint
def test_per_joint_rows_from_an_attack_match_the_csv_schema_and_the_metric(tmp_path):
    import torch
    from attack_toys import ToyMonocular, make_batch
    from support.per_joint import per_joint_rows

    from poselab.attacks.igsm import IGSMU
    from poselab.data.sample import select_views
    from poselab.metrics import MPJPE
    from poselab.safe_io import write_csv

    model = ToyMonocular().eval()
    batch = select_views(make_batch(3), [0])
    attack = IGSMU(eps=8.0, steps=2)
    rows = per_joint_rows(model, [batch], attack, model_name="toy", dataset="toy")
    assert len(rows) == 2 * len(JOINT_NAMES)
    clean = MPJPE()
    with torch.no_grad():
        clean.update(model(batch["images"].float(), batch)["pose"], model.pose_target(batch))
    got = [r["mpjpe"] for r in rows if r["attack"] == "clean"]
    assert got == pytest.approx(clean.compute_per_joint().tolist(), rel=1e-5)
    attacked = [r for r in rows if r["attack"] != "clean"]
    assert {(r["attack"], r["eps"], r["iterations"]) for r in attacked} == {("igsm_u", 8.0, 2)}
    folder = tmp_path / "run"
    write_results(folder, "toy", 50.0, per_joint=False)
    write_csv(folder / "per_joint.csv", rows, PER_JOINT_COLUMNS)
    (run,) = load_runs([folder])
    assert len(run.joints) == 2 * len(JOINT_NAMES)


def test_same_folder_name_under_two_parents_gets_unique_labels(tmp_path):
    write_results(tmp_path / "x" / "run", "regression", 60.0)
    write_results(tmp_path / "y" / "run", "regression", 61.0)
    labels = sorted(r.label for r in load_runs([tmp_path / "x", tmp_path / "y"]))
    assert labels == ["regression/x/run", "regression/y/run"]


def test_results_are_found_at_any_depth(tmp_path):
    write_results(tmp_path / "attack-quick" / "regression-synthetic", "regression", 60.0)
    write_results(tmp_path / "attack-quick" / "volumetric-synthetic", "volumetric", 50.0)
    (tmp_path / "attack-quick" / "volumetric-synthetic" / "plots" / "x").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    assert sorted(r.model for r in load_runs([tmp_path])) == ["regression", "volumetric"]


def test_wandb_curves_hold_the_input_values(three_runs, tmp_path):
    from poselab.reporting.report import curves

    parent, _ = three_runs
    report = build_report([parent], tmp_path / "report")
    xs, ys, keys = curves(report.cells)["untargeted_mpjpe_it10"]
    assert xs == [0.0, 0.5, 1.0, 2.0] and keys == ["regression", "volumetric"]
    assert ys[1] == [value(45.0, "u", "mpjpe", 0, 0, 1, "")] + [
        value(45.0, "u", "mpjpe", e, 10, 1, "") for e in EPS
    ]


def test_default_groups_name_the_grid():
    from poselab.wandb.naming import attack_group, train_group

    files = ["configs/model/regression.yaml", "configs/trainer/cpu.yaml", "configs/attack/strong.yaml"]
    assert attack_group("paper", files, "results/attack-quick") == "paper"  # the preset first
    assert attack_group(None, files, "results/attack-quick") == "strong"  # then the attack config
    assert attack_group(None, files[:2], "results/attack-quick") == "quick"  # then the results root
    assert attack_group(None, files[:2], "results") == "attack"
    assert train_group(files) == "train-cpu" and train_group(["configs/trainer/smoke.yaml"]) == "train-smoke"
    assert train_group([]) == "train"


def test_job_type_follows_the_subcommand():
    from poselab.wandb.naming import job_type_for

    assert [job_type_for(s) for s in ("fit", "test", "report")] == ["train", "attack", "report"]
    with pytest.raises(ValueError, match="sub-command"):
        job_type_for("dance")


def test_explicit_view_subsets_get_their_own_columns_never_merged(tmp_path):
    """A multi-view subset like views 1+3 has attacked_views 2, like "first 2 views": it must not overwrite
    that row; it is its own series (column "... views=2 set=1+3") next to the first-2-views one."""
    rows = write_results(tmp_path / "tri", "triangulation", 40.0, multiview=True, per_joint=False)
    first2 = [r for r in rows if r["experiment"] == "multiview" and int(r["attacked_views"]) == 2]
    assert first2
    subset = [{**r, "value": 9999.0, "view_set": "1+3"} for r in first2]
    with (tmp_path / "tri" / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*RESULT_COLUMNS, "view_set"])
        w.writeheader()
        w.writerows([{**r, "view_set": ""} for r in rows] + subset)
    report = build_report([tmp_path / "tri"], tmp_path / "report")
    assert report.warnings == []
    t2 = read_table(report.out, "t2_multiview_mpjpe")
    assert cell(t2, "1.0", "triangulation it=10 views=2 set=1+3") == 9999.0
    first2 = value(40.0, "multiview", "mpjpe", 1.0, 10, 2, "")
    assert cell(t2, "1.0", "triangulation it=10 views=2 set=first") == first2


# ------------------------------------------------------------------------------ damaged results files
def _both_files(folder: Path, rows: list[dict], meta: dict | None = None) -> None:
    """results.csv and results.json of the same rows, as the attack evaluation writes them."""
    from poselab.safe_io import write_csv

    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "results.csv", rows, RESULT_COLUMNS)
    meta = {"model": rows[0]["model"], "dataset": "synthetic", "config": {}, **(meta or {})}
    (folder / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}))


def test_a_cut_off_or_shifted_results_csv_is_refused_not_shown(tmp_path, capsys):
    rows = results_rows("regression", 60.0)
    rows[-1]["value"] = 959.4
    _both_files(tmp_path / "good", rows)
    assert build_report([tmp_path / "good"], tmp_path / "r").runs  # as written: read
    text = (tmp_path / "good/results.csv").read_text()
    cases = {
        # cut off inside the last value: 95 of 959.4 (with and without results.json beside it)
        "cut": (text[: text.rindex("959.4") + 2], "does not end with a newline: the file was cut off"),
        "cut_newline": (text[: text.rindex("959.4") + 2] + "\n", "row 24 has fewer fields than its header"),
        "edited": (text.replace("959.4", "95.0"), "row 24 value '95.0' differs from results.json's 959.4"),
        "extra": (text.replace("igsm_u,", "igsm_u,,", 1), "has more fields than its header (11)"),
        "fewer": (text.replace(",8\n", "\n", 1), "has fewer fields than its header"),
        "rows": (text[: text.rindex("regression,")], "results.csv has 23 rows but results.json 24"),
    }
    for name, (damaged, words) in cases.items():
        folder = tmp_path / name
        _both_files(folder, rows)
        (folder / "results.csv").write_text(damaged)
        if name == "cut":
            (folder / "results.json").unlink()
        with pytest.raises(ResultsError, match=re.escape(words)):
            build_report([folder], tmp_path / f"r-{name}")
        assert main([str(folder), "--out", str(tmp_path / f"m-{name}"), "--no-wandb"]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and words in err[0] and name in err[0]


def test_negative_and_duplicate_rows_are_refused_and_non_finite_values_flagged(tmp_path):
    rows = results_rows("regression", 60.0)
    negative = [dict(r) for r in rows]
    negative[3]["value"] = -5.0
    write_results(tmp_path / "neg", "regression", 60.0)
    (tmp_path / "neg/results.csv").unlink()
    (tmp_path / "neg/results.json").write_text(json.dumps({"meta": {}, "rows": negative}))
    with pytest.raises(ResultsError, match="results.json row 4: mpjpe value -5 / n 8 is negative"):
        load_runs([tmp_path / "neg"])
    _both_files(tmp_path / "dup", [*rows, rows[5]])
    with pytest.raises(ResultsError, match="results.csv row 25: the same cell as row 6"):
        load_runs([tmp_path / "dup"])
    nan_rows = [dict(r) for r in rows]
    nan_rows[5]["value"], nan_rows[6]["value"] = float("nan"), float("inf")
    write_results(tmp_path / "nan", "regression", 60.0)
    (tmp_path / "nan/results.csv").write_text(
        (tmp_path / "nan/results.csv").read_text().replace(f",{rows[5]['value']},8", ",nan,8", 1)
        .replace(f",{rows[6]['value']},8", ",inf,8", 1))
    report = build_report([tmp_path / "nan"], tmp_path / "r")
    assert any(w.startswith("regression: 2 value(s) are NaN or inf") for w in report.warnings)


def test_runs_of_different_scales_are_compared_with_a_warning(tmp_path):
    _both_files(tmp_path / "a", results_rows("regression", 60.0), {"scale": "tiny-64"})
    _both_files(tmp_path / "b", results_rows("volumetric", 50.0), {"scale": "r18-128"})
    report = build_report([tmp_path / "a", tmp_path / "b"], tmp_path / "r")
    assert ("the compared runs differ in scale (regression tiny-64, volumetric r18-128): their numbers are "
            "not comparable (poselab.scale)") in report.warnings
    same = build_report([tmp_path / "a"], tmp_path / "r1")
    assert not any("scale" in w for w in same.warnings)
