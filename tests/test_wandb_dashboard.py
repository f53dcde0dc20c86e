"""W&B as a robustness dashboard: what the attack and report runs log (read back from the offline run files
with wandb's own protobuf), the report run's group, and the dashboard's panel spec. No network: runs are
offline, and the W&B report is built but not sent (its project lookup stubbed)."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
import wandb
from support.wandb_offline import OfflineRunError, read_records, read_run
from test_report import results_rows, write_results

from poselab.reporting.report import Report
from poselab.wandb import keys as wr
from poselab.wandb.log import log_run_report
from poselab.wandb.naming import DEFAULT_GROUP, group_of


def _offline_run(tmp: Path, name: str, group: str = "g") -> wandb.sdk.wandb_run.Run:
    run = wandb.init(
        project="poselab-test",
        group=group,
        job_type="attack",
        name=name,
        dir=str(tmp),
        mode="offline",
        reinit="create_new",
        settings=wandb.Settings(silent=True, x_disable_stats=True),
    )
    # what Lightning's WandbLogger defines first: every key against trainer/global_step
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def _read(run: wandb.sdk.wandb_run.Run):
    folder = Path(run.dir).parent
    run.finish()
    out = read_run(folder, wait_s=20)
    assert out.complete, "the offline run file was never completed"
    return out


# ----------------------------------------------------------------------------- keys and table (pure)
def test_keys_do_not_depend_on_the_model_and_tables_share_their_columns():
    mono = {m: results_rows(m, base) for m, base in (("regression", 60.0), ("volumetric", 45.0))}
    tri = results_rows("triangulation", 30.0, multiview=True)
    keys = {m: set(wr.step_definitions(rows)) for m, rows in mono.items()}
    assert keys["regression"] == keys["volumetric"]
    assert "untargeted/mpjpe/igsm_u_it10" in keys["regression"]
    assert "camera_swap/target_mpjpe/igsm_t_eps8_cam3" in keys["regression"]  # alignment MPJPE: own key
    assert {k for k in wr.step_definitions(tri) if "/jdr/" in k} == {
        f"multiview/jdr/igsm_u_it{it}_v{v}" for it in (1, 10) for v in (1, 2)
    }
    assert not any(
        m in k
        for rows in (*mono.values(), tri)
        for k in wr.step_definitions(rows)
        for m in ("regression", "volumetric", "triangulation")
    )
    columns = {tuple(wr.results_table(rows)[0]) for rows in (*mono.values(), tri)}
    assert columns == {wr.TABLE_COLUMNS}
    assert wr.TABLE_COLUMNS[:8] == (
        "model",
        "dataset",
        "experiment",
        "attack",
        "eps",
        "iterations",
        "attacked_views",
        "target",
    )


def test_series_start_at_the_clean_value_and_hold_the_input_values():
    rows = results_rows("regression", 60.0)
    series = {s.key: s for s in wr.series_of(rows)}
    s = series["untargeted/pmpjpe/igsm_u_it10"]
    clean = next(r["value"] for r in rows if r["attack"] == "clean" and r["metric"] == "pmpjpe")
    expected = [(0.0, clean)] + [
        (float(r["eps"]), r["value"])
        for r in rows
        if r["experiment"] == "untargeted"
        and r["metric"] == "pmpjpe"
        and r["attack"] == "igsm_u"
        and r["iterations"] == 10
    ]
    assert list(s.points) == sorted(expected) and s.step == "eps"
    rot = series["rotation/target_mpjpe/igsm_t_eps8_rot30"]
    assert rot.step == "iterations" and [x for x, _ in rot.points] == [10.0, 100.0]
    history = wr.history_rows(rows)
    eps_rows = [h for h in history if "eps" in h]
    assert [h["eps"] for h in eps_rows] == [0.0, 0.5, 1.0, 2.0]  # increasing, then the iteration rows
    assert all("iterations" not in h for h in eps_rows)
    assert history.index(eps_rows[-1]) < min(i for i, h in enumerate(history) if "iterations" in h)


def test_non_finite_values_are_gaps_and_numbers_stay_numbers():
    rows = results_rows("triangulation", 30.0, multiview=True)
    rows[5] = {**rows[5], "value": float("nan")}
    columns, data = wr.results_table(rows)
    for c, t in zip(columns, wr.column_types(columns)):
        values = [d[columns.index(c)] for d in data]
        if t is float:
            assert all(v is None or (isinstance(v, int | float) and math.isfinite(v)) for v in values), c
        else:
            assert all(isinstance(v, str) for v in values), c
    assert all(d[columns.index("target_mpjpe")] is None for d in data)  # no alignment rows in multiview
    key = wr.metric_key(rows[5]["experiment"], rows[5]["metric"], wr.series_label(rows[5]))
    s = next(s for s in wr.series_of(rows) if s.key == key)
    assert float(rows[5]["eps"]) not in [x for x, _ in s.points]


def test_an_experiment_can_bring_its_own_x_axis(monkeypatch):
    monkeypatch.setattr(wr, "_X_AXES", {})
    wr.register_x_axis("toy_sweep", "strength", "eps")
    rows = [
        {
            "model": "m",
            "dataset": "d",
            "experiment": "toy_sweep",
            "attack": "fgsm",
            "eps": float(s),
            "iterations": 1,
            "attacked_views": 1,
            "target": "",
            "metric": "mpjpe",
            "value": 50.0 + s,
            "n": 4,
        }
        for s in (1, 2, 3)
    ]
    (series,) = wr.series_of(rows)
    assert series.step == "strength" and series.points == ((1.0, 51.0), (2.0, 52.0), (3.0, 53.0))
    assert [h["strength"] for h in wr.history_rows(rows)] == [1.0, 2.0, 3.0]


# ----------------------------------------------------------------------------- read back from offline runs
def test_logged_history_step_metrics_and_table_read_back_from_the_offline_run(tmp_path):
    rows = results_rows("regression", 60.0) + results_rows("triangulation", 30.0, multiview=True)
    run = _offline_run(tmp_path, "regression-synthetic-attack")
    log_run_report(run, rows, Report(Path("."), []), "qiu2019")
    back = _read(run)
    assert back.summary["attack/jdr_definition"] == "qiu2019"
    assert (back.group, back.job_type, back.name) == ("g", "attack", "regression-synthetic-attack")
    steps = wr.step_definitions(rows)
    assert set(back.keys()) == {*steps, "eps", "iterations", wr.TABLE_KEY, "trainer/global_step"}
    for key, step in steps.items():
        assert back.step_metric(key) == step, key  # exact definitions beat Lightning's "*" glob
    assert back.metrics["eps"]["hidden"] and back.metrics["iterations"]["hidden"]
    for s in wr.series_of(rows):  # every point, at its x value, as logged
        got = [(h[s.step], h[s.key]) for h in back.history if s.key in h]
        assert got == list(s.points), s.key  # JSON keeps the float exactly
    assert all(
        isinstance(v, float | int)
        for h in back.history
        for k, v in h.items()
        if "/" in k and k != wr.TABLE_KEY
    )
    table = back.table(wr.TABLE_KEY)
    assert table["columns"] == list(wr.TABLE_COLUMNS)
    ours = {
        (
            r["experiment"],
            r["attack"],
            float(r["eps"]),
            int(r["iterations"]),
            int(r["attacked_views"]),
            r["target"],
            r["metric"],
        ): float(r["value"])
        for r in rows
    }
    c = table["columns"].index
    got = {
        (
            d[c("experiment")],
            d[c("attack")],
            d[c("eps")],
            d[c("iterations")],
            d[c("attacked_views")],
            d[c("target")],
            m,
        ): d[c(m)]
        for d in table["data"]
        for m in ("mpjpe", "pmpjpe", "jdr", "target_mpjpe", "failed")
        if d[c(m)] is not None
    }
    assert got == pytest.approx(ours)


def test_a_stand_in_run_takes_the_results_without_error():
    from pytorch_lightning.loggers.logger import DummyExperiment

    rows = results_rows("triangulation", 30.0, multiview=True)
    log_run_report(DummyExperiment(), rows, Report(Path("."), []), "qiu2019")  # W&B never started


def test_the_reader_refuses_other_files_and_corrupt_chunks(tmp_path):
    run = _offline_run(tmp_path, "x")
    run.log({"a": 1.0})
    path = next(Path(run.dir).parent.glob("run-*.wandb"))
    _read(run)
    assert sum(1 for _ in read_records(path)) > 5
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    (tmp_path / "bad.wandb").write_bytes(bytes(data))
    with pytest.raises(OfflineRunError, match="corrupt chunk"):
        list(read_records(tmp_path / "bad.wandb"))
    (tmp_path / "text.wandb").write_text("hello")
    with pytest.raises(OfflineRunError, match="not a W&B transaction log"):
        list(read_records(tmp_path / "text.wandb"))


# ----------------------------------------------------------------------------- the report run's group
def _with_group(folder: Path, group: str | None, project: str = "poselab") -> None:
    with (folder / "results.csv").open(newline="") as f:  # the same rows, as the writer keeps both files
        rows = list(csv.DictReader(f))
    data = {"meta": {"model": folder.name, "dataset": "synthetic", "config": {}}, "rows": rows}
    if group:
        data["meta"]["wandb"] = {"project": project, "group": group, "name": "x", "run_id": "abc"}
    (folder / "results.json").write_text(json.dumps(data))


def test_report_run_joins_the_group_of_the_runs_it_compares(tmp_path, monkeypatch, capsys):
    from poselab.cli.report import main

    monkeypatch.setenv("WANDB_MODE", "offline")
    for model, base, group in (("regression", 60.0, "sweep7"), ("volumetric", 45.0, "sweep7")):
        write_results(tmp_path / "res" / model, model, base, per_joint=False)
        _with_group(tmp_path / "res" / model, group)
    assert (
        main([str(tmp_path / "res"), "--out", str(tmp_path / "out"), "--wandb-dir", str(tmp_path / "w")]) == 0
    )
    (folder,) = (tmp_path / "w").rglob("offline-run-*")
    back = read_run(folder, wait_s=20)
    assert (back.group, back.job_type) == ("sweep7", "report")
    assert re.fullmatch(r"report-sweep7-\d{8}-\d{6}", back.name)  # the group, the time
    assert back.config["grid"] == "res" and "res" in back.tags  # the results' grid (their folder's parent)
    table = back.table("results")
    assert table["columns"] == ["run", *wr.TABLE_COLUMNS]
    assert {d[0] for d in table["data"]} == {"regression", "volumetric"}
    assert "warning" not in capsys.readouterr().err


def test_report_group_when_runs_disagree_or_record_none():
    assert group_of([{"wandb": {"group": "a"}}, {"wandb": {"group": "a"}}]) == ("a", None)
    group, warning = group_of(
        [{"wandb": {"group": "a"}}, {"wandb": {"group": "b"}}, {"wandb": {"group": "b"}}]
    )
    assert group == "b" and "['a', 'b']" in warning and "--group" in warning
    group, warning = group_of([{}, {"config": {}}])
    assert group == DEFAULT_GROUP and "no W&B group recorded" in warning


# ----------------------------------------------------------------------------- the dashboard spec
@pytest.fixture()
def results(tmp_path: Path) -> Path:
    from poselab.results.files import write_transfer_csv

    parent = tmp_path / "results"
    write_results(parent / "regression", "regression", 60.0, per_joint=False)
    write_results(parent / "volumetric", "volumetric", 45.0, per_joint=False)
    write_results(parent / "triangulation", "triangulation", 30.0, multiview=True, per_joint=False)
    _with_group(parent / "regression", "baselines", project="robust")
    write_transfer_csv(
        [
            {
                "source": s,
                "target": t,
                "eps": 8.0,
                "iterations": 10,
                "clean_mpjpe": 60.0,
                "adv_mpjpe": 90.0,
                "increase": 30.0,
                "n": 8,
            }
            for s in ("regression", "volumetric")
            for t in ("regression", "volumetric")
        ],
        parent / "transfer" / "transfer.csv",
    )
    return parent


def test_dashboard_panels_plot_exactly_the_logged_keys(results):
    from poselab.wandb.dashboard import build_dashboard, inputs_from_results

    inputs, metas = inputs_from_results([str(results)])
    dash = build_dashboard(inputs, "baselines", project="p")
    logged = {
        k: s
        for m in ("regression", "volumetric", "triangulation")
        for k, s in wr.step_definitions([r for r in inputs.rows if r["model"] == m]).items()
    }
    assert dash.keys() == set(logged)  # every logged series has a panel, every panel a logged key
    lines = [p for s in dash.sections for p in s.panels if p.kind == "line"]
    assert all(len(p.keys) == 1 and p.x == logged[p.keys[0]] and p.runs == "attack" for p in lines)
    names = [s.name for s in dash.sections]
    assert names[0].startswith("Untargeted") and names[1].startswith("Multi-view")
    assert any(n.startswith("Targeted camera swap") for n in names) and any("rotation" in n for n in names)
    untargeted = next(s for s in dash.sections if s.name.startswith("Untargeted"))
    assert {p.keys[0] for p in untargeted.panels} == {
        f"untargeted/{m}/igsm_u_it{it}" for m in ("mpjpe", "pmpjpe") for it in (1, 10)
    }
    swap = next(s for s in dash.sections if s.name.startswith("Targeted camera swap"))
    assert all(p.x == "iterations" and "/target_mpjpe/" in p.keys[0] for p in swap.panels)
    transfer = next(s for s in dash.sections if s.name.startswith("Transfer"))
    assert [p.keys[0] for p in transfer.panels] == ["tables/transfer_eps8_it10", "figures/transfer"]
    assert all(p.runs == "report" for p in transfer.panels)


def test_sections_for_new_experiments_appear_and_can_be_taken_over(results, monkeypatch):
    from poselab.wandb import dashboard as db

    inputs, _ = db.inputs_from_results([str(results)])
    extra = tuple({**r, "experiment": "ensemble"} for r in inputs.rows if r["experiment"] == "untargeted")
    inputs = db.Inputs(inputs.rows + extra, inputs.transfer)
    generic = next(s for s in db.build_dashboard(inputs, "g").sections if s.name.startswith("ensemble"))
    assert {p.keys[0].split("/")[0] for p in generic.panels} == {"ensemble"}
    monkeypatch.setattr(db, "_BUILDERS", list(db._BUILDERS))

    @db.register_section("ensemble")
    def ensemble(inp: db.Inputs) -> list[db.Section]:
        return db.experiment_section(inp, "ensemble", "Strong evaluation", ("mpjpe",))

    names = [s.name for s in db.build_dashboard(inputs, "g").sections]
    assert "Strong evaluation" in names and not any(n.startswith("ensemble") for n in names)


def test_dashboard_cli_prints_the_spec_offline_and_refuses_to_build_offline(
    results, monkeypatch, capsys, tmp_path
):
    from poselab.cli import main

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    assert main(["dashboard", str(results), "--dry-run"]) == 0
    out = capsys.readouterr()
    spec = json.loads(out.out)
    assert (spec["group"], spec["project"]) == ("baselines", "robust") and len(spec["sections"]) >= 5
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert main(["dashboard", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("poselab dashboard: error: WANDB_MODE=offline")
    monkeypatch.delenv("WANDB_MODE")
    assert main(["dashboard", str(results)]) == 2
    assert "no W&B API key" in capsys.readouterr().err
    assert main(["dashboard", str(tmp_path / "missing"), "--dry-run"]) == 2


def test_dashboard_becomes_a_wandb_report_with_group_filtered_line_plots(results, monkeypatch):
    pytest.importorskip("wandb_workspaces")
    import wandb_workspaces.reports.v2.interface as wi

    from poselab.wandb.dashboard import build_dashboard, inputs_from_results
    from poselab.wandb.publish import to_report

    monkeypatch.setattr(
        wi, "execute_graphql", lambda api, query, variables: {"project": {"internalId": "P1"}}
    )
    monkeypatch.setattr(wi, "_get_api", lambda: None)
    inputs, _ = inputs_from_results([str(results)])
    dash = build_dashboard(inputs, "baselines", project="p")
    spec = json.loads(
        to_report(dash, "me")._to_model().spec.model_dump_json(by_alias=True, exclude_none=True)
    )
    grids = [b for b in spec["blocks"] if b.get("type") == "panel-grid"]
    panels = [p for g in grids for p in g["metadata"]["panelBankSectionConfig"]["panels"]]
    lines = [p["config"] for p in panels if p["viewType"] == "Run History Line Plot"]
    assert {m for c in lines for m in c["metrics"]} == dash.keys()
    assert all(c["xAxis"] in ("eps", "iterations") for c in lines)
    for g in grids:
        (runset,) = g["metadata"]["runSets"]
        filters = {(f["key"]["name"], f["value"]) for f in runset["filters"]["filters"]}
        assert ("group", "baselines") in filters and filters & {("jobType", "attack"), ("jobType", "report")}


def test_stronger_attack_and_corruption_sections_plot_logged_keys():
    """The strong-evaluation view puts IGSM and APGD of the same iteration count in one panel; corruptions
    get their own section against the severity step; every plotted key is a logged one."""
    from poselab.wandb.dashboard import Inputs, build_dashboard

    def row(experiment, attack, eps, it, metric, value, corruption="", severity=0, views=1):
        return {"run": "m", "model": "m", "dataset": "d", "experiment": experiment, "attack": attack,
                "eps": eps, "iterations": it, "attacked_views": views, "target": "", "metric": metric,
                "value": value, "n": 4, "corruption": corruption, "severity": severity}

    rows = [row("untargeted", "clean", 0.0, 0, "mpjpe", 50.0)]
    rows += [row("untargeted", a, 8.0, 10, "mpjpe", v) for a, v in (("igsm_u", 300.0), ("apgd", 450.0))]
    rows += [row("corruption", "clean", 0.0, 0, "mpjpe", 50.0, views=0)]
    rows += [row("corruption", "clean", 0.0, 0, "mpjpe", 50.0 + 10 * s, "fog", s) for s in (1, 2)]
    dash = build_dashboard(Inputs(tuple(rows)), group="g", project="p")
    strong = next(sec for sec in dash.sections if sec.name.startswith("Stronger attacks"))
    assert [p.keys for p in strong.panels] == [("untargeted/mpjpe/apgd_it10", "untargeted/mpjpe/igsm_u_it10")]
    corr = next(sec for sec in dash.sections if sec.name.startswith("Common corruptions"))
    assert [(p.keys, p.x) for p in corr.panels] == [(("corruption/mpjpe/fog_v1",), "severity")]
    assert dash.keys() <= set(wr.step_definitions(rows))


def test_every_series_a_targeted_attack_logs_has_a_panel():
    """Targeted runs log the MPJPE to the ground truth beside the distance to the target: both get panels."""
    from poselab.results.schema import ResultKey, row_of
    from poselab.wandb.dashboard import Inputs, build_dashboard

    keys = [ResultKey(kind, "igsm_t", 8.0, it, 1, target, metric)
            for kind, target in (("camera_swap", "cam2"), ("rotation", "rot30"))
            for metric in ("target_mpjpe", "mpjpe") for it in (0, 10)]
    rows = [row_of("regression", "synthetic", k, 50.0 + k.iterations, 8) for k in keys]
    rows = [{**r, "run": "regression"} for r in rows]
    dash = build_dashboard(Inputs(tuple(rows)), "g", project="p")
    logged = set(wr.step_definitions(rows))
    assert {k.split("/")[1] for k in logged} == {"target_mpjpe", "mpjpe"}
    assert dash.keys() == logged
