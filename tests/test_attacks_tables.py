"""The paper tables from results rows: clean value at eps 0, '-' / '*' for failed triangulations, the JDR
definition in the title, and ``poselab report --print`` over several results folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from poselab.cli.report import main
from poselab.reporting.report import report_tables, tables_markdown
from poselab.results.reader import run_from_rows


def _row(experiment, attack, eps, it, views, target, metric, value, model="m"):
    return {"model": model, "dataset": "d", "experiment": experiment, "attack": attack, "eps": eps,
            "iterations": it, "attacked_views": views, "target": target, "metric": metric, "value": value,
            "n": 4}


def _markdown(rows, meta=None) -> list[str]:
    return tables_markdown(report_tables([run_from_rows(rows, meta or {}, label="m")])).splitlines()


def _write(folder: Path, rows, meta=None) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    if meta is not None:
        (folder / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}))  # as the writer does
    return folder


def test_untargeted_table_uses_clean_value_at_eps_zero_for_every_iteration_count() -> None:
    rows = [_row("untargeted", "clean", 0.0, 0, 1, "", "mpjpe", 50.0),
            _row("untargeted", "clean", 0.0, 0, 1, "", "pmpjpe", 40.0),
            _row("untargeted", "fgsm", 4.0, 1, 1, "", "mpjpe", 80.04),
            _row("untargeted", "fgsm", 4.0, 1, 1, "", "pmpjpe", 60.0),
            _row("untargeted", "igsm_u", 4.0, 10, 1, "", "mpjpe", 120.0),
            _row("untargeted", "igsm_u", 4.0, 10, 1, "", "pmpjpe", 90.0)]
    lines = _markdown(rows)
    i = lines.index("**Table 1a: untargeted, monocular, MPJPE P1 (mm)**")
    assert lines[i + 2] == "| eps | m it=1 | m it=10 |"
    assert lines[i + 4:i + 6] == ["| 0 | 50.0 | 50.0 |", "| 4 | 80.0 | 120.0 |"]
    j = lines.index("**Table 1b: untargeted, monocular, MPJPE P2 (mm)**")
    assert lines[j + 5] == "| 4 | 60.0 | 90.0 |"


def test_multiview_table_marks_failed_triangulations() -> None:
    # (attack, eps, iterations, views) -> (jdr, mpjpe, failed): 4 views all failed, 2 views one failed
    grid = {("clean", 0.0, 0, 0): (0.9, 30.0, 0.0), ("fgsm", 8.0, 1, 4): (0.25, float("nan"), 4.0),
            ("fgsm", 8.0, 1, 2): (0.5, 300.0, 1.0)}
    rows = [_row("multiview", *setting, "", metric, v) for setting, values in grid.items()
            for metric, v in zip(("jdr", "mpjpe", "failed"), values)]
    lines = _markdown(rows)
    jdr = lines.index("**Table 2a: untargeted, multi-view, JDR (fraction), definition head_thorax**")
    assert lines[jdr + 2] == "| eps | m it=1 views=2 | m it=1 views=4 |"
    assert lines[jdr + 5] == "| 8 | 0.500 | 0.250 |"  # JDR is never marked
    mpjpe = lines.index("**Table 2b: untargeted, multi-view, MPJPE (mm)**")
    assert lines[mpjpe + 4:mpjpe + 6] == ["| 0 | 30.0 | 30.0 |", "| 8 | 300.0* | - |"]
    assert lines[mpjpe + 7].startswith('"-": every triangulation failed')
    named = _markdown(rows, {"config": {"jdr_definition": "qiu2019"}})
    assert "**Table 2a: untargeted, multi-view, JDR (fraction), definition qiu2019**" in named


def test_report_prints_the_tables_of_several_folders(tmp_path: Path, capsys) -> None:
    for model in ("a", "b"):
        _write(tmp_path / "res" / model, [_row("rotation", "igsm_t", 8.0, it, 1, "rot10", "target_mpjpe", v,
                                               model=model) for it, v in ((10, 100.0), (100, 20.0))])
    assert main([str(tmp_path / "res"), "--out", str(tmp_path / "rep"), "--no-wandb", "--print"]) == 0
    out = capsys.readouterr().out
    assert "Table 4" in out and "| target | a it=10 | a it=100 | b it=10 | b it=100 |" in out
    assert "| rot10 | 100.0 | 20.0 | 100.0 | 20.0 |" in out
    assert (tmp_path / "rep" / "tables.md").read_text().strip() in out


def test_runs_of_different_jdr_definitions_are_each_named(tmp_path: Path, capsys) -> None:
    rows = [_row("multiview", "clean", 0.0, 0, 0, "", "jdr", 0.9),
            _row("multiview", "fgsm", 8.0, 1, 4, "", "jdr", 0.5)]
    new, old = [{**r, "model": "new"} for r in rows], [{**r, "model": "old"} for r in rows]
    _write(tmp_path / "res" / "new", new, {"config": {"jdr_definition": "qiu2019"}})
    _write(tmp_path / "res" / "old", old, {"config": {}})  # written before the option
    assert main([str(tmp_path / "res"), "--out", str(tmp_path / "rep"), "--no-wandb", "--print"]) == 0
    assert "definition new: qiu2019; old: head_thorax" in capsys.readouterr().out
